//! Seeded standard-normal noise generated on the host, so that samples from the prior and
//! evaluation ELBOs are the same on every device and do not touch libtorch's global generator
//! (which the trainer reseeds per step for the training noise).
use tch::{Device, Tensor};

/// `n` standard-normal draws from `seed` (splitmix64 + Box–Muller), as an f32 tensor of `shape`.
pub fn seeded_normal(shape: &[i64], seed: u64, device: Device) -> Tensor {
    let n: i64 = shape.iter().product();
    let mut state = seed;
    let mut next_unit = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut x = state;
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
        // 53 random bits in (0, 1]: never 0, so the logarithm below is finite.
        ((x >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    };
    let mut values = Vec::with_capacity(n as usize);
    while values.len() < n as usize {
        let (u1, u2) = (next_unit(), next_unit());
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = 2.0 * std::f64::consts::PI * u2;
        values.push((r * theta.cos()) as f32);
        values.push((r * theta.sin()) as f32);
    }
    values.truncate(n as usize);
    Tensor::from_slice(&values).view(shape).to_device(device)
}
