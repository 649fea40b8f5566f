//! L2-SP (Li et al., 2018): a penalty pulling fine-tuned weights toward the pretrained ones,
//! against catastrophic forgetting.
use crate::groups::ParamGroup;
use crate::vars;
use tch::nn::VarStore;
use tch::{Kind, Tensor};

/// `α/2 · Σ ‖θ − θ*‖²` over the parameters that currently train, with θ* the values when the
/// penalty was created (the pretrained weights: create it right after loading them).
///
/// Frozen parameters are excluded (they cannot move, and their gradient is not wanted); a freshly
/// initialised head has nothing to stay close to, so pass its prefix to
/// [`L2Sp::from_var_store`] to exclude it.
#[derive(Debug)]
pub struct L2Sp {
    alpha: f64,
    /// (name, live parameter, detached copy of its starting value).
    anchors: Vec<(String, Tensor, Tensor)>,
}

impl L2Sp {
    /// Anchors every parameter of `groups` (which hold only trainable parameters).
    pub fn new(groups: &[ParamGroup], alpha: f64) -> L2Sp {
        let anchors = groups
            .iter()
            .flat_map(|g| g.params.iter())
            .map(|(n, p)| (n.clone(), p.shallow_clone(), p.detach().copy()))
            .collect();
        L2Sp { alpha, anchors }
    }

    /// Anchors every parameter of `vs` (frozen ones too, so parameters that gradual unfreezing
    /// releases later are covered) except those whose name starts with one of `exclude`.
    pub fn from_var_store(vs: &VarStore, alpha: f64, exclude: &[&str]) -> L2Sp {
        let anchors = vars::parameters(vs)
            .into_iter()
            .filter(|(n, _)| !exclude.iter().any(|e| n.starts_with(e)))
            .map(|(n, p)| {
                let anchor = p.detach().copy();
                (n, p, anchor)
            })
            .collect();
        L2Sp { alpha, anchors }
    }

    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Names of the anchored parameters.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.anchors.iter().map(|(n, _, _)| n.as_str())
    }

    /// The penalty as a scalar (float32) tensor connected to the graph: add it to the loss.
    pub fn penalty(&self) -> Tensor {
        let mut total: Option<Tensor> = None;
        for (_, p, anchor) in &self.anchors {
            if !p.requires_grad() {
                continue;
            }
            let term = (p - anchor).square().sum(Kind::Float);
            total = Some(match total {
                Some(t) => t + term,
                None => term,
            });
        }
        match total {
            Some(t) => t * (self.alpha / 2.0),
            None => Tensor::zeros([], (Kind::Float, self.device())),
        }
    }

    fn device(&self) -> tch::Device {
        self.anchors
            .first()
            .map(|(_, p, _)| p.device())
            .unwrap_or(tch::Device::Cpu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn penalty_is_half_alpha_squared_distance_of_trainable_params() {
        let vs = VarStore::new(tch::Device::Cpu);
        let a = vs.root().ones("a", &[3]);
        let frozen = vs.root().ones("frozen", &[2]);
        let head = (vs.root() / "head").ones("w", &[2]);
        let l2sp = L2Sp::from_var_store(&vs, 0.1, &["head."]);
        assert_eq!(l2sp.names().collect::<Vec<_>>(), ["a", "frozen"]);
        let _ = frozen.set_requires_grad(false);
        tch::no_grad(|| {
            let _ = a.shallow_clone().g_add_scalar_(2.0);
            let _ = frozen.shallow_clone().g_add_scalar_(5.0);
            let _ = head.shallow_clone().g_add_scalar_(7.0);
        });
        let p = l2sp.penalty();
        // 0.1/2 · 3·2² = 0.6; the frozen and the excluded parameters do not count.
        assert!((p.double_value(&[]) - 0.6).abs() < 1e-6);
        p.backward();
        // d/da = α(a − a*) = 0.2.
        let g: Vec<f32> = Vec::try_from(a.grad()).unwrap();
        assert!(g.iter().all(|v| (v - 0.2).abs() < 1e-6), "{g:?}");
    }
}
