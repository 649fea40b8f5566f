//! Parameter groups: which parameters get which learning-rate multiplier and weight decay.
use crate::vars;
use crate::OptimError;
use ft_models::LayerGroup;
use tch::nn::VarStore;
use tch::Tensor;

/// Parameters sharing one learning-rate multiplier and one weight decay.
///
/// Optimizers use `lr * lr_scale` for the group, where `lr` is the schedule's value at the step.
#[derive(Debug)]
pub struct ParamGroup {
    pub name: String,
    /// `(variable name, variable)`, sorted by name. The tensors are shallow clones of the
    /// `VarStore`'s variables, so updating them updates the model.
    pub params: Vec<(String, Tensor)>,
    pub lr_scale: f64,
    pub weight_decay: f64,
}

/// How to split parameters into groups.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupConfig {
    /// Weight decay of the decayed parameters.
    pub weight_decay: f64,
    /// Layer-wise LR decay (timm, ELECTRA): group `i` of `G` gets `decay^(G - 1 - i)`, so the head
    /// keeps the full rate and each group below gets `decay` times the one above.
    pub layerwise_lr_decay: Option<f64>,
    /// fastai's discriminative rates, `slice(lowest, highest)` as multipliers of the base rate:
    /// geometrically spaced from `lowest` (group 0) to `highest` (the head), as fastai's
    /// `even_mults`. If both this and `layerwise_lr_decay` are set, both multipliers apply.
    pub discriminative_lr: Option<(f64, f64)>,
    /// Exempt biases and normalisation weights (every parameter of at most one dimension or
    /// whose name ends in `bias`) from weight decay, as transformers' Trainer and timm do.
    pub no_decay_for_bias_and_norm: bool,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            weight_decay: 0.0,
            layerwise_lr_decay: None,
            discriminative_lr: None,
            no_decay_for_bias_and_norm: true,
        }
    }
}

impl GroupConfig {
    /// Checks the values a user can get wrong on the command line.
    pub fn validate(&self) -> Result<(), OptimError> {
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return Err(OptimError::Config(format!(
                "weight decay must be a finite number >= 0, got {}",
                self.weight_decay
            )));
        }
        if let Some(d) = self.layerwise_lr_decay {
            if !(d > 0.0 && d <= 1.0) {
                return Err(OptimError::Config(format!(
                    "layer-wise LR decay must be in (0, 1], got {d}"
                )));
            }
        }
        if let Some((lo, hi)) = self.discriminative_lr {
            if !(lo > 0.0 && hi > 0.0 && lo.is_finite() && hi.is_finite()) {
                return Err(OptimError::Config(format!(
                    "discriminative LR multipliers must be finite and > 0, got ({lo}, {hi})"
                )));
            }
        }
        Ok(())
    }

    /// The LR multiplier of layer group `index` among `count` groups (bottom to top).
    pub fn lr_scale(&self, index: usize, count: usize) -> f64 {
        let top = count.saturating_sub(1);
        let mut scale = 1.0;
        if let Some(decay) = self.layerwise_lr_decay {
            scale *= decay.powi((top - index.min(top)) as i32);
        }
        if let Some((lo, hi)) = self.discriminative_lr {
            scale *= if top == 0 {
                hi
            } else {
                // fastai's even_mults: lo * (hi/lo)^(i/(n-1)).
                lo * (hi / lo).powf(index as f64 / top as f64)
            };
        }
        scale
    }
}

/// Whether a parameter is exempt from weight decay under the bias/norm rule.
pub fn is_no_decay(name: &str, tensor: &Tensor) -> bool {
    tensor.dim() <= 1 || name.ends_with("bias")
}

/// Splits the parameters that currently require a gradient into groups: per layer group (bottom
/// to top), a decayed group named after it and a `<name>.no_decay` group, each with the layer
/// group's LR multiplier. Parameters outside every layer group go to `(other)` with multiplier 1.
/// Empty groups are left out; names are sorted within a group, so the order is deterministic.
pub fn param_groups(
    vs: &VarStore,
    layer_groups: &[LayerGroup],
    cfg: &GroupConfig,
) -> Vec<ParamGroup> {
    let n = layer_groups.len();
    // Per layer group (and one more for parameters outside all groups): (decayed, not decayed).
    type Named = Vec<(String, Tensor)>;
    let mut buckets: Vec<(Named, Named)> = (0..=n).map(|_| (Vec::new(), Vec::new())).collect();
    for (name, tensor) in vars::trainable_parameters(vs) {
        let g = layer_groups.iter().position(|g| g.owns(&name)).unwrap_or(n);
        if cfg.no_decay_for_bias_and_norm && is_no_decay(&name, &tensor) {
            buckets[g].1.push((name, tensor));
        } else {
            buckets[g].0.push((name, tensor));
        }
    }
    let mut out = Vec::new();
    for (g, (decay, no_decay)) in buckets.into_iter().enumerate() {
        let (name, lr_scale) = if g < n {
            (layer_groups[g].name.clone(), cfg.lr_scale(g, n))
        } else {
            ("(other)".to_string(), 1.0)
        };
        if !decay.is_empty() {
            out.push(ParamGroup {
                name: name.clone(),
                params: decay,
                lr_scale,
                weight_decay: cfg.weight_decay,
            });
        }
        if !no_decay.is_empty() {
            out.push(ParamGroup {
                name: format!("{name}.no_decay"),
                params: no_decay,
                lr_scale,
                weight_decay: 0.0,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ft_models::bert::{BertConfig, BertForTask, BertTask};

    fn bert() -> (VarStore, BertForTask) {
        let vs = VarStore::new(tch::Device::Cpu);
        let task = BertTask::TokenClassification { num_labels: 3 };
        let model = BertForTask::new(&vs.root(), &BertConfig::tiny(), task).unwrap();
        (vs, model)
    }

    #[test]
    fn biases_and_layernorms_get_no_weight_decay() {
        let (vs, model) = bert();
        let cfg = GroupConfig {
            weight_decay: 0.05,
            ..Default::default()
        };
        let groups = param_groups(&vs, model.layer_groups(), &cfg);
        // embeddings, layer.0, layer.1, head; each with a decayed and a no-decay half.
        let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names[..2], ["embeddings", "embeddings.no_decay"]);
        assert_eq!(names.len(), 8);
        for g in &groups {
            for (n, _) in &g.params {
                let exempt = n.ends_with(".bias") || n.contains("LayerNorm");
                assert_eq!(g.weight_decay == 0.0, exempt, "{n} in {}", g.name);
            }
            let sorted = g.params.windows(2).all(|w| w[0].0 < w[1].0);
            assert!(sorted, "{} is not sorted", g.name);
        }
        let total: usize = groups.iter().map(|g| g.params.len()).sum();
        assert_eq!(total, vars::parameters(&vs).len());
    }

    #[test]
    fn layerwise_decay_and_discriminative_rates() {
        let cfg = GroupConfig {
            layerwise_lr_decay: Some(0.5),
            ..Default::default()
        };
        let scales: Vec<f64> = (0..4).map(|i| cfg.lr_scale(i, 4)).collect();
        assert_eq!(scales, [0.125, 0.25, 0.5, 1.0]);
        let cfg = GroupConfig {
            discriminative_lr: Some((1e-3, 1e-1)),
            ..Default::default()
        };
        let scales: Vec<f64> = (0..3).map(|i| cfg.lr_scale(i, 3)).collect();
        for (got, want) in scales.iter().zip([1e-3, 1e-2, 1e-1]) {
            assert!((got / want - 1.0).abs() < 1e-12, "{scales:?}");
        }
        let (vs, model) = bert();
        let cfg = GroupConfig {
            layerwise_lr_decay: Some(0.5),
            ..Default::default()
        };
        let groups = param_groups(&vs, model.layer_groups(), &cfg);
        let head = groups.iter().find(|g| g.name == "head").unwrap();
        let emb = groups.iter().find(|g| g.name == "embeddings").unwrap();
        assert_eq!((head.lr_scale, emb.lr_scale), (1.0, 0.125));
        assert!(GroupConfig {
            layerwise_lr_decay: Some(1.5),
            ..Default::default()
        }
        .validate()
        .unwrap_err()
        .to_string()
        .contains("1.5"));
    }

    #[test]
    fn frozen_parameters_are_left_out() {
        let (vs, model) = bert();
        for (n, t) in vars::parameters(&vs) {
            if !n.starts_with("classifier.") {
                let _ = t.set_requires_grad(false);
            }
        }
        let groups = param_groups(&vs, model.layer_groups(), &GroupConfig::default());
        let names: Vec<&str> = groups
            .iter()
            .flat_map(|g| g.params.iter().map(|(n, _)| n.as_str()))
            .collect();
        assert_eq!(names, ["classifier.weight", "classifier.bias"]);
    }
}
