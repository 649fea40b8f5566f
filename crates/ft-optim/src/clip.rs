//! Gradient clipping, as `torch.nn.utils.clip_grad_norm_` / `clip_grad_value_`.
use crate::groups::ParamGroup;
use tch::{Kind, Tensor};

fn grads(groups: &[ParamGroup]) -> Vec<Tensor> {
    groups
        .iter()
        .flat_map(|g| g.params.iter())
        .map(|(_, p)| p.grad())
        .filter(|g| g.defined())
        .collect()
}

/// Scales all gradients so that their global L2 norm is at most `max_norm` and returns the norm
/// before clipping (for logging). Like PyTorch, the scale is `max_norm / (norm + 1e-6)` clamped
/// to 1, and the norm is the norm of the per-tensor norms.
///
/// Unlike PyTorch, a non-finite norm leaves the gradients untouched (PyTorch would multiply them
/// by NaN); the caller sees the returned norm and should skip the step.
pub fn clip_grad_norm(groups: &[ParamGroup], max_norm: f64) -> f64 {
    let grads = grads(groups);
    if grads.is_empty() {
        return 0.0;
    }
    let _guard = tch::no_grad_guard();
    let norms: Vec<Tensor> = grads.iter().map(|g| g.norm()).collect();
    let total = Tensor::stack(&norms, 0).norm();
    let total_norm = total.to_kind(Kind::Double).double_value(&[]);
    if !total_norm.is_finite() {
        return total_norm;
    }
    // PyTorch computes the coefficient from the float32 norm tensor, in float32.
    let coef = (max_norm as f32 / (total_norm as f32 + 1e-6_f32)).min(1.0);
    if coef < 1.0 {
        for g in grads {
            let mut g = g;
            let _ = g.g_mul_scalar_(f64::from(coef));
        }
    }
    total_norm
}

/// Clamps every gradient element to `[-clip, clip]`.
pub fn clip_grad_value(groups: &[ParamGroup], clip: f64) {
    let _guard = tch::no_grad_guard();
    for g in grads(groups) {
        let mut g = g;
        let _ = g.clamp_(-clip, clip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_clipping_clamps_each_element() {
        let p = Tensor::zeros([4], tch::kind::FLOAT_CPU).set_requires_grad(true);
        let g = Tensor::from_slice(&[-3.0f32, -0.5, 0.25, 9.0]);
        (&p * &g).sum(Kind::Float).backward();
        let groups = [ParamGroup {
            name: "g".into(),
            params: vec![("p".into(), p.shallow_clone())],
            lr_scale: 1.0,
            weight_decay: 0.0,
        }];
        clip_grad_value(&groups, 1.0);
        let got: Vec<f32> = Vec::try_from(p.grad()).unwrap();
        assert_eq!(got, [-1.0, -0.5, 0.25, 1.0]);
        // Below the limit, the norm clipping leaves the gradients as they are.
        let norm = clip_grad_norm(&groups, 10.0);
        assert!((norm - (1.0f64 + 0.25 + 0.0625 + 1.0).sqrt()).abs() < 1e-6);
        let again: Vec<f32> = Vec::try_from(p.grad()).unwrap();
        assert_eq!(again, got);
    }
}
