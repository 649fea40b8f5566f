//! Adam and AdamW (Kingma & Ba; Loshchilov & Hutter), as `torch.optim.Adam`/`AdamW`.
use super::fused_cpu::{adam_step, AdamScalars};
use super::{fit_state, split_state_name, step_value, with_grads, Optimizer, Scratch};
use crate::groups::ParamGroup;
use crate::OptimError;
use std::collections::BTreeMap;
use tch::Tensor;

/// Hyperparameters shared by [`AdamW`] and [`Adam`]; weight decay comes from each
/// [`ParamGroup`], the learning rate from the schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWConfig {
    pub betas: (f64, f64),
    pub eps: f64,
    /// Normalise by the running maximum of the second moment (Reddi et al.).
    pub amsgrad: bool,
}

impl Default for AdamWConfig {
    /// PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, no AMSGrad.
    fn default() -> Self {
        AdamWConfig {
            betas: (0.9, 0.999),
            eps: 1e-8,
            amsgrad: false,
        }
    }
}

impl AdamWConfig {
    pub fn validate(&self) -> Result<(), OptimError> {
        let (b1, b2) = self.betas;
        for (name, b) in [("beta1", b1), ("beta2", b2)] {
            if !(0.0..1.0).contains(&b) {
                return Err(OptimError::Config(format!(
                    "Adam {name} must be in [0, 1), got {b}"
                )));
            }
        }
        if !(self.eps >= 0.0 && self.eps.is_finite()) {
            return Err(OptimError::Config(format!(
                "Adam eps must be finite and >= 0, got {}",
                self.eps
            )));
        }
        Ok(())
    }
}

/// Per-parameter state, as `torch.optim` keeps it.
#[derive(Debug)]
struct AdamState {
    step: i64,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    max_exp_avg_sq: Option<Tensor>,
    /// Whether the tensors were checked against and moved to the parameter (loaded state is
    /// checked at the parameter's first step after loading).
    fitted: bool,
}

/// Adam with decoupled weight decay: `θ ← θ·(1 − lr·wd)` before the Adam update, as
/// `torch.optim.AdamW`.
#[derive(Debug)]
pub struct AdamW(AdamCore);

/// Adam with L2 weight decay added to the gradient (`g ← g + wd·θ`), as `torch.optim.Adam`.
#[derive(Debug)]
pub struct Adam(AdamCore);

impl AdamW {
    pub fn new(config: AdamWConfig) -> AdamW {
        AdamW(AdamCore::new(config, true))
    }
}

impl Adam {
    pub fn new(config: AdamWConfig) -> Adam {
        Adam(AdamCore::new(config, false))
    }
}

/// Adam and AdamW share one core; only the weight-decay form differs.
macro_rules! optimizer_over_core {
    ($ty:ty) => {
        impl Optimizer for $ty {
            fn step(&mut self, groups: &[ParamGroup], lr: f64) -> Result<(), OptimError> {
                self.0.step(groups, lr)
            }
            fn state(&self) -> Vec<(String, Tensor)> {
                self.0.state()
            }
            fn load_state(&mut self, state: Vec<(String, Tensor)>) -> Result<(), OptimError> {
                self.0.load_state(state)
            }
        }
    };
}

optimizer_over_core!(AdamW);
optimizer_over_core!(Adam);

#[derive(Debug)]
struct AdamCore {
    config: AdamWConfig,
    decoupled: bool,
    states: BTreeMap<String, AdamState>,
    scratch: Scratch,
}

impl AdamCore {
    fn new(config: AdamWConfig, decoupled: bool) -> AdamCore {
        AdamCore {
            config,
            decoupled,
            states: BTreeMap::new(),
            scratch: Scratch::default(),
        }
    }

    fn step(&mut self, groups: &[ParamGroup], lr: f64) -> Result<(), OptimError> {
        self.config.validate()?;
        let _guard = tch::no_grad_guard();
        let (beta1, beta2) = self.config.betas;
        for (lr, wd, name, param, grad) in with_grads(groups, lr) {
            let state = state_for(&mut self.states, self.config.amsgrad, name, param)?;
            state.step += 1;
            if lr != 0.0 && state.max_exp_avg_sq.is_none() {
                let step = state.step as f64;
                let scalars = AdamScalars {
                    beta1: beta1 as f32,
                    beta2: beta2 as f32,
                    lr: lr as f32,
                    weight_decay: wd as f32,
                    decoupled: self.decoupled,
                    step_size: (lr / (1.0 - beta1.powf(step))) as f32,
                    bias_correction2_sqrt: (1.0 - beta2.powf(step)).sqrt() as f32,
                    eps: self.config.eps as f32,
                };
                if adam_step(param, &grad, &state.exp_avg, &state.exp_avg_sq, scalars) {
                    continue;
                }
            }
            let mut param = param.shallow_clone();
            let grad = if wd != 0.0 && !self.decoupled {
                grad.g_add(&param.g_mul_scalar(wd))
            } else {
                grad
            };
            if wd != 0.0 && self.decoupled {
                let _ = param.g_mul_scalar_(1.0 - lr * wd);
            }
            let _ = state.exp_avg.lerp_(&grad, 1.0 - beta1);
            // torch: exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2); tch's
            // addcmul_ has no `value`, and its kernel computes `(value·t1)·t2` anyway.
            let _ = state.exp_avg_sq.g_mul_scalar_(beta2);
            let scaled = self.scratch.like(&param);
            let _ = grad.mul_scalar_out(&scaled, 1.0 - beta2);
            let _ = state.exp_avg_sq.addcmul_(&scaled, &grad);

            // A zero learning rate (HF's linear warmup starts there) moves nothing, and the
            // step-size folding below would divide by zero: update the moments only.
            if lr == 0.0 {
                continue;
            }
            let step = state.step as f64;
            let bias_correction1 = 1.0 - beta1.powf(step);
            let bias_correction2 = 1.0 - beta2.powf(step);
            let step_size_neg = -(lr / bias_correction1);
            let bias_correction2_sqrt = bias_correction2.sqrt();
            let second = match &mut state.max_exp_avg_sq {
                Some(max) => {
                    let max: &Tensor = max;
                    let _ = max.maximum_out(max, &state.exp_avg_sq);
                    max
                }
                None => &state.exp_avg_sq,
            };
            // torch's own capturable form: fold −step_size into the denominator, because
            // addcdiv_ here has no `value` either.
            let mut denom = scaled;
            let _ = second.sqrt_out(&denom);
            let _ = denom.g_div_scalar_(bias_correction2_sqrt * step_size_neg);
            let _ = denom.g_add_scalar_(self.config.eps / step_size_neg);
            let _ = param.addcdiv_(&state.exp_avg, &denom);
        }
        Ok(())
    }

    fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(self.states.len() * 4);
        for (name, s) in &self.states {
            out.push((format!("step.{name}"), Tensor::from(s.step)));
            out.push((format!("exp_avg.{name}"), s.exp_avg.shallow_clone()));
            out.push((format!("exp_avg_sq.{name}"), s.exp_avg_sq.shallow_clone()));
            if let Some(m) = &s.max_exp_avg_sq {
                out.push((format!("max_exp_avg_sq.{name}"), m.shallow_clone()));
            }
        }
        out
    }

    fn load_state(&mut self, state: Vec<(String, Tensor)>) -> Result<(), OptimError> {
        #[derive(Default)]
        struct Parts {
            step: Option<i64>,
            exp_avg: Option<Tensor>,
            exp_avg_sq: Option<Tensor>,
            max_exp_avg_sq: Option<Tensor>,
        }
        let mut parts: BTreeMap<String, Parts> = BTreeMap::new();
        for (key, tensor) in state {
            let (kind, param) = split_state_name(&key)?;
            let entry = parts.entry(param.to_string()).or_default();
            match kind {
                "step" => entry.step = Some(step_value(&key, &tensor)?),
                "exp_avg" => entry.exp_avg = Some(tensor),
                "exp_avg_sq" => entry.exp_avg_sq = Some(tensor),
                "max_exp_avg_sq" => entry.max_exp_avg_sq = Some(tensor),
                other => {
                    return Err(OptimError::State(format!(
                        "entry `{key}`: `{other}` is not part of Adam's state (step, exp_avg, \
                         exp_avg_sq, max_exp_avg_sq)"
                    )))
                }
            }
        }
        let mut states = BTreeMap::new();
        for (param, p) in parts {
            let missing =
                |what: &str| OptimError::State(format!("`{param}` has no `{what}` entry"));
            states.insert(
                param.clone(),
                AdamState {
                    step: p.step.ok_or_else(|| missing("step"))?,
                    exp_avg: p.exp_avg.ok_or_else(|| missing("exp_avg"))?,
                    exp_avg_sq: p.exp_avg_sq.ok_or_else(|| missing("exp_avg_sq"))?,
                    max_exp_avg_sq: p.max_exp_avg_sq,
                    fitted: false,
                },
            );
        }
        self.states = states;
        Ok(())
    }
}

/// The state of `name`, created as zeros at its first step or checked after loading.
fn state_for<'a>(
    states: &'a mut BTreeMap<String, AdamState>,
    amsgrad: bool,
    name: &str,
    param: &Tensor,
) -> Result<&'a mut AdamState, OptimError> {
    let state = states.entry(name.to_string()).or_insert_with(|| AdamState {
        step: 0,
        exp_avg: param.zeros_like(),
        exp_avg_sq: param.zeros_like(),
        max_exp_avg_sq: amsgrad.then(|| param.zeros_like()),
        fitted: true,
    });
    if !state.fitted {
        state.exp_avg = fit_state("exp_avg", name, &state.exp_avg, param)?;
        state.exp_avg_sq = fit_state("exp_avg_sq", name, &state.exp_avg_sq, param)?;
        state.max_exp_avg_sq = match (&state.max_exp_avg_sq, amsgrad) {
            (Some(m), true) => Some(fit_state("max_exp_avg_sq", name, m, param)?),
            (None, false) => None,
            (Some(_), false) => {
                return Err(OptimError::State(format!(
                    "`{name}` has an AMSGrad maximum but this optimizer runs without amsgrad"
                )))
            }
            (None, true) => {
                return Err(OptimError::State(format!(
                    "`{name}` has no `max_exp_avg_sq` but this optimizer runs with amsgrad"
                )))
            }
        };
        state.fitted = true;
    }
    Ok(state)
}
