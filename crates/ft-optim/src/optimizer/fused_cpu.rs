//! Adam / AdamW in one pass over memory for float32 parameters on the CPU.
//!
//! The tensor-op path (one libtorch call per term, as `torch.optim`'s `foreach=False`) reads and
//! writes every element about nine times; this loop reads parameter, gradient and both moments
//! once and writes three of them back, split over rayon's threads — what `fused=True` does in
//! PyTorch. Same formula, same float32 arithmetic order per element as the single-tensor path,
//! so results agree to rounding (checked against torch in tests/reference.rs).
use rayon::prelude::*;
use tch::{Device, Kind, Tensor};

/// The per-step scalars of one parameter's update.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdamScalars {
    pub beta1: f32,
    pub beta2: f32,
    pub lr: f32,
    pub weight_decay: f32,
    /// AdamW (decay the weights) rather than Adam (add decay to the gradient).
    pub decoupled: bool,
    /// `lr / (1 − β1^t)`.
    pub step_size: f32,
    /// `sqrt(1 − β2^t)`.
    pub bias_correction2_sqrt: f32,
    pub eps: f32,
}

/// Elements per rayon task: large enough to amortise scheduling, small enough to balance.
const CHUNK: usize = 1 << 16;

fn fits(t: &Tensor, numel: usize) -> bool {
    t.device() == Device::Cpu && t.kind() == Kind::Float && t.is_contiguous() && t.numel() == numel
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The same loop compiled for AVX2: the default x86-64 target only vectorises 4 lanes wide, and
/// the square root and division per element make that the bottleneck.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn update_avx2(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: &AdamScalars) {
    update(p, g, m, v, s)
}

/// One chunk. Zipped iterators (no bounds checks) and the decay form decided outside the loop
/// let the compiler vectorise the body.
#[inline(always)]
fn update(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: &AdamScalars) {
    let decay = 1.0 - s.lr * s.weight_decay;
    let (one_minus_b1, one_minus_b2) = (1.0 - s.beta1, 1.0 - s.beta2);
    let step = |pi: f32, gi: f32, m: &mut f32, v: &mut f32| -> f32 {
        // lerp(m, g, 1 − β1) as libtorch computes it for weights below one half.
        let mi = *m + one_minus_b1 * (gi - *m);
        let vi = *v * s.beta2 + (gi * one_minus_b2) * gi;
        *m = mi;
        *v = vi;
        let denom = vi.sqrt() / s.bias_correction2_sqrt + s.eps;
        pi - s.step_size * (mi / denom)
    };
    let elements = p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut());
    if s.decoupled {
        for (((p, &g), m), v) in elements {
            *p = step(*p * decay, g, m, v);
        }
    } else {
        for (((p, &g), m), v) in elements {
            *p = step(*p, g + s.weight_decay * *p, m, v);
        }
    }
}

/// Applies the update in place when every tensor is a contiguous CPU float32 tensor of the same
/// size; returns false (touching nothing) otherwise, and the caller takes the tensor-op path.
pub(crate) fn adam_step(
    param: &Tensor,
    grad: &Tensor,
    exp_avg: &Tensor,
    exp_avg_sq: &Tensor,
    s: AdamScalars,
) -> bool {
    let n = param.numel();
    if !(fits(param, n) && fits(grad, n) && fits(exp_avg, n) && fits(exp_avg_sq, n)) {
        return false;
    }
    // SAFETY: the four tensors are contiguous float32 CPU tensors of `n` elements, so their data
    // pointers address `n` initialised f32s. They are four distinct allocations (a parameter, its
    // gradient and two state tensors created by `zeros_like`), so the mutable slices do not
    // alias, and nothing else touches them during the step (no_grad, one optimizer thread).
    let (p, g, m, v) = unsafe {
        (
            std::slice::from_raw_parts_mut(param.data_ptr() as *mut f32, n),
            std::slice::from_raw_parts(grad.data_ptr() as *const f32, n),
            std::slice::from_raw_parts_mut(exp_avg.data_ptr() as *mut f32, n),
            std::slice::from_raw_parts_mut(exp_avg_sq.data_ptr() as *mut f32, n),
        )
    };
    let avx2 = has_avx2();
    p.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(m.par_chunks_mut(CHUNK))
        .zip(v.par_chunks_mut(CHUNK))
        .for_each(|(((p, g), m), v)| {
            if avx2 {
                // SAFETY: the CPU supports AVX2 (checked at run time just above).
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    update_avx2(p, g, m, v, &s)
                }
            } else {
                update(p, g, m, v, &s)
            }
        });
    true
}
