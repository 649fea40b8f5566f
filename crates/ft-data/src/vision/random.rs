//! Augmentation randomness: one small generator per image, seeded from `(seed, epoch, row)`.
//!
//! Seeding per image (not per thread or per worker) is what makes augmentation independent
//! of how rayon schedules the batch and lets a resumed epoch redraw the same crops. The
//! generator is SplitMix64: tiny state, good enough statistics for crops and flips, and
//! trivially reproducible. It does not reproduce torch's RNG (nobody needs bitwise equality of
//! random crops with torchvision, only the same distribution).

use super::pixels::{round_half_even, Rect};

/// A SplitMix64 stream.
#[derive(Debug, Clone)]
pub struct AugRng {
    state: u64,
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl AugRng {
    pub fn new(seed: u64) -> Self {
        AugRng { state: seed }
    }

    /// The generator of one image: each of `seed`, `epoch`, `row` is hashed in turn, so
    /// neighbouring rows or epochs get unrelated streams.
    pub fn for_row(seed: u64, epoch: u64, row: u64) -> Self {
        let h = mix(mix(mix(seed ^ 0x6a09_e667_f3bc_c908) ^ epoch) ^ row);
        AugRng { state: h }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.state)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)` (`torch.empty(1).uniform_(lo, hi)`).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in `0..n` (`n >= 1`), unbiased by rejection.
    pub fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let r = self.next_u64();
            if r < zone {
                return r % n;
            }
        }
    }

    /// A random order of `0..n` (`torch.randperm(n)`).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            p.swap(i, self.below(i as u64 + 1) as usize);
        }
        p
    }
}

/// `RandomResizedCrop.get_params`, step for step: ten tries of an area fraction uniform in
/// `scale` and a log-uniform aspect ratio in `ratio`, keeping the first box that fits; otherwise
/// the central crop with the ratio clamped into range (or the whole image).
pub fn random_resized_crop_params(
    width: usize,
    height: usize,
    scale: [f64; 2],
    ratio: [f64; 2],
    rng: &mut AugRng,
) -> Rect {
    let area = (width * height) as f64;
    let log_ratio = [ratio[0].ln(), ratio[1].ln()];
    for _ in 0..10 {
        let target_area = area * rng.uniform(scale[0], scale[1]);
        let aspect = rng.uniform(log_ratio[0], log_ratio[1]).exp();
        let w = round_half_even((target_area * aspect).sqrt()) as usize;
        let h = round_half_even((target_area / aspect).sqrt()) as usize;
        if 0 < w && w <= width && 0 < h && h <= height {
            let top = rng.below((height - h + 1) as u64) as usize;
            let left = rng.below((width - w + 1) as u64) as usize;
            return Rect::new(left, top, w, h);
        }
    }
    let in_ratio = width as f64 / height as f64;
    let (lo, hi) = (ratio[0].min(ratio[1]), ratio[0].max(ratio[1]));
    let (w, h) = if in_ratio < lo {
        (width, round_half_even(width as f64 / lo) as usize)
    } else if in_ratio > hi {
        (round_half_even(height as f64 * hi) as usize, height)
    } else {
        (width, height)
    };
    Rect::new((width - w) / 2, (height - h) / 2, w, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_by_row_and_repeat_by_key() {
        let a: Vec<u64> = (0..4)
            .map(|_| AugRng::for_row(1, 0, 5).next_u64())
            .collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            AugRng::for_row(1, 0, 5).next_u64(),
            AugRng::for_row(1, 0, 6).next_u64()
        );
        assert_ne!(
            AugRng::for_row(1, 0, 5).next_u64(),
            AugRng::for_row(1, 1, 5).next_u64()
        );
        let mut p = AugRng::new(3).permutation(4);
        p.sort();
        assert_eq!(p, [0, 1, 2, 3]);
    }
}
