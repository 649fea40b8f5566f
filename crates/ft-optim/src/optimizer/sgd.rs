//! Stochastic gradient descent with momentum and Nesterov momentum, as `torch.optim.SGD`.
use super::{fit_state, split_state_name, with_grads, Optimizer, Scratch};
use crate::groups::ParamGroup;
use crate::OptimError;
use std::collections::BTreeMap;
use tch::Tensor;

/// SGD hyperparameters; weight decay (L2, added to the gradient) comes from each group.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SgdConfig {
    pub momentum: f64,
    pub dampening: f64,
    pub nesterov: bool,
}

impl SgdConfig {
    pub fn validate(&self) -> Result<(), OptimError> {
        if !(self.momentum >= 0.0 && self.momentum.is_finite()) {
            return Err(OptimError::Config(format!(
                "SGD momentum must be finite and >= 0, got {}",
                self.momentum
            )));
        }
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(OptimError::Config(format!(
                "Nesterov momentum needs momentum > 0 and dampening 0, got momentum {} and \
                 dampening {}",
                self.momentum, self.dampening
            )));
        }
        Ok(())
    }
}

/// `torch.optim.SGD`: `b ← μ·b + (1 − τ)·g` (the first step sets `b ← g`), then
/// `θ ← θ − lr·(g + μ·b)` with Nesterov or `θ ← θ − lr·b` without.
#[derive(Debug)]
pub struct Sgd {
    config: SgdConfig,
    /// Momentum buffers by parameter name, and whether each was checked against its parameter.
    buffers: BTreeMap<String, (Tensor, bool)>,
    scratch: Scratch,
}

impl Sgd {
    pub fn new(config: SgdConfig) -> Sgd {
        Sgd {
            config,
            buffers: BTreeMap::new(),
            scratch: Scratch::default(),
        }
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, groups: &[ParamGroup], lr: f64) -> Result<(), OptimError> {
        self.config.validate()?;
        let _guard = tch::no_grad_guard();
        let SgdConfig {
            momentum,
            dampening,
            nesterov,
        } = self.config;
        for (lr, wd, name, param, grad) in with_grads(groups, lr) {
            let mut param = param.shallow_clone();
            let mut d_p = if wd != 0.0 {
                grad.g_add(&param.g_mul_scalar(wd))
            } else {
                grad
            };
            if momentum != 0.0 {
                match self.buffers.get_mut(name) {
                    None => {
                        self.buffers
                            .insert(name.clone(), (d_p.detach().copy(), true));
                    }
                    Some((buf, fitted)) => {
                        if !*fitted {
                            *buf = fit_state("momentum_buffer", name, buf, &param)?;
                            *fitted = true;
                        }
                        let _ = buf.g_mul_scalar_(momentum);
                        if dampening == 0.0 {
                            let _ = buf.g_add_(&d_p);
                        } else {
                            let scaled = self.scratch.like(&param);
                            let _ = d_p.mul_scalar_out(&scaled, 1.0 - dampening);
                            let _ = buf.g_add_(&scaled);
                        }
                    }
                }
                let buf = &self.buffers[name].0;
                d_p = if nesterov {
                    d_p.g_add(&buf.g_mul_scalar(momentum))
                } else {
                    buf.shallow_clone()
                };
            }
            let step = self.scratch.like(&param);
            let _ = d_p.mul_scalar_out(&step, -lr);
            let _ = param.g_add_(&step);
        }
        Ok(())
    }

    fn state(&self) -> Vec<(String, Tensor)> {
        self.buffers
            .iter()
            .map(|(n, (b, _))| (format!("momentum_buffer.{n}"), b.shallow_clone()))
            .collect()
    }

    fn load_state(&mut self, state: Vec<(String, Tensor)>) -> Result<(), OptimError> {
        let mut buffers = BTreeMap::new();
        for (key, tensor) in state {
            match split_state_name(&key)? {
                ("momentum_buffer", param) => {
                    buffers.insert(param.to_string(), (tensor, false));
                }
                (other, _) => {
                    return Err(OptimError::State(format!(
                        "entry `{key}`: `{other}` is not part of SGD's state (momentum_buffer)"
                    )))
                }
            }
        }
        self.buffers = buffers;
        Ok(())
    }
}
