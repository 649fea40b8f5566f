//! A seeded random generator that reproduces CPython's `random.Random(seed)`.
//!
//! The reference recipes shuffle with `random.Random(seed).shuffle(rows)`. Using the same
//! Mersenne Twister, the same integer seeding (`init_by_array` over the seed's 32-bit words) and
//! the same `_randbelow` rejection sampling makes our train/validation/test rows *identical* to
//! the reference's, so accuracies can be compared on the very same examples. It is also
//! small, dependency-free and stable across platforms, which the resumable samplers need.

const N: usize = 624;
const M: usize = 397;

/// CPython-compatible MT19937.
#[derive(Clone)]
pub struct PyRandom {
    mt: [u32; N],
    index: usize,
}

impl std::fmt::Debug for PyRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyRandom")
            .field("index", &self.index)
            .finish()
    }
}

impl PyRandom {
    /// Same state as Python's `random.Random(seed)` for a non-negative integer seed.
    pub fn new(seed: u64) -> Self {
        let key: Vec<u32> = if seed >> 32 == 0 {
            vec![seed as u32]
        } else {
            vec![seed as u32, (seed >> 32) as u32]
        };
        Self::from_key(&key)
    }

    /// Seeds from an arbitrary key (MT19937 `init_by_array`); equals `random.Random(n)` when
    /// `key` is `n`'s little-endian 32-bit words.
    pub fn from_key(key: &[u32]) -> Self {
        let key: &[u32] = if key.is_empty() { &[0] } else { key };
        let mut mt = [0u32; N];
        mt[0] = 19_650_218;
        for i in 1..N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        PyRandom { mt, index: N }
    }

    /// Python's `getrandbits(32)`.
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    fn twist(&mut self) {
        for i in 0..N {
            let y = (self.mt[i] & 0x8000_0000) | (self.mt[(i + 1) % N] & 0x7fff_ffff);
            let mut v = self.mt[(i + M) % N] ^ (y >> 1);
            if y & 1 != 0 {
                v ^= 0x9908_b0df;
            }
            self.mt[i] = v;
        }
        self.index = 0;
    }

    /// Python's `getrandbits(k)` for `1 <= k <= 64`: 32-bit words, least significant first,
    /// the last word shifted right to keep `k` bits.
    fn getrandbits(&mut self, k: u32) -> u64 {
        debug_assert!((1..=64).contains(&k));
        if k <= 32 {
            return u64::from(self.next_u32() >> (32 - k));
        }
        let low = u64::from(self.next_u32());
        let high = u64::from(self.next_u32() >> (64 - k));
        low | (high << 32)
    }

    /// Python's `_randbelow(n)`: uniform in `0..n` by rejection on `n.bit_length()` bits.
    pub fn below(&mut self, n: u64) -> u64 {
        if n <= 1 {
            return 0;
        }
        let k = 64 - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }

    /// Python's `random.shuffle(items)` (Fisher–Yates from the end).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values printed by CPython 3.11: `random.Random(s).shuffle(list(range(n)))`.
    #[test]
    fn shuffle_matches_cpython() {
        let mut x: Vec<u32> = (0..20).collect();
        PyRandom::new(42).shuffle(&mut x);
        assert_eq!(
            x,
            [19, 5, 14, 4, 9, 13, 15, 18, 6, 12, 17, 10, 1, 11, 2, 16, 7, 8, 0, 3]
        );
        let mut x: Vec<u32> = (0..4866).collect();
        PyRandom::new(42).shuffle(&mut x);
        assert_eq!(
            x[..10],
            [294, 1856, 2767, 3077, 1019, 2894, 1966, 2241, 2495, 2843]
        );
        assert_eq!(x[4863..], [2253, 204, 912]);
        let mut x: Vec<u32> = (0..10).collect();
        PyRandom::new((1 << 40) + 7).shuffle(&mut x);
        assert_eq!(x, [0, 5, 2, 3, 6, 1, 8, 4, 7, 9]);
        let mut x: Vec<u32> = (0..10).collect();
        PyRandom::new(0).shuffle(&mut x);
        assert_eq!(x, [7, 8, 1, 5, 3, 4, 2, 0, 9, 6]);
    }

    #[test]
    fn raw_words_match_cpython() {
        let mut r = PyRandom::new(42);
        assert_eq!(
            [r.next_u32(), r.next_u32(), r.next_u32()],
            [2_746_317_213, 478_163_327, 107_420_369]
        );
    }
}
