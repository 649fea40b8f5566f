//! Optimizers whose state can be saved and restored exactly.
//!
//! tch's own optimizers cannot save their state, so resuming a run would restart Adam's moments
//! from zero. These keep their state as named tensors (see [`Optimizer::state`]) that go to a
//! safetensors file and come back bit for bit. Updates follow `torch.optim`'s single-tensor
//! (`foreach=False`) formulas parameter by parameter, in place with one scratch buffer the size of
//! the largest parameter, so a step never allocates memory proportional to the whole model.
//! Adam/AdamW on contiguous float32 CPU tensors run as one fused pass over memory.
mod adamw;
mod fused_cpu;
mod sgd;

pub use adamw::{Adam, AdamW, AdamWConfig};
pub use sgd::{Sgd, SgdConfig};

use crate::groups::ParamGroup;
use crate::OptimError;
use tch::{Device, Kind, Tensor};

/// A first-order optimizer over [`ParamGroup`]s.
pub trait Optimizer: Send {
    /// One update of every parameter that has a gradient. `lr` is the schedule's base rate at this
    /// step; group `g` uses `lr * g.lr_scale` and its own weight decay. Parameters without a
    /// gradient (unused in the forward pass) are skipped and keep their state, as in PyTorch.
    fn step(&mut self, groups: &[ParamGroup], lr: f64) -> Result<(), OptimError>;

    /// Zeroes the gradients of every parameter in `groups` (tch cannot reset a gradient to
    /// `None`, so it is zeroed in place; the next backward pass accumulates into it).
    fn zero_grad(&mut self, groups: &[ParamGroup]) {
        for g in groups {
            for (_, p) in &g.params {
                let mut p = p.shallow_clone();
                p.zero_grad();
            }
        }
    }

    /// The state as named tensors: `<kind>.<parameter name>` per parameter (e.g.
    /// `exp_avg.bert.embeddings.word_embeddings.weight`, `step.classifier.bias`). The tensors
    /// alias the live state: save them before the next step.
    fn state(&self) -> Vec<(String, Tensor)>;

    /// Replaces the state with one returned by [`Optimizer::state`] (possibly read back from a
    /// file). Shapes are checked against the parameters at their next step.
    fn load_state(&mut self, state: Vec<(String, Tensor)>) -> Result<(), OptimError>;
}

/// One reusable buffer per (device, kind), grown to the largest parameter seen, for the
/// per-parameter temporaries of an update.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    buffers: Vec<(Device, Kind, Tensor)>,
}

impl Scratch {
    /// A tensor of `like`'s shape (contiguous) backed by the shared buffer; its values are
    /// garbage until written.
    pub(crate) fn like(&mut self, like: &Tensor) -> Tensor {
        let (device, kind, numel) = (like.device(), like.kind(), like.numel() as i64);
        let slot = self
            .buffers
            .iter()
            .position(|(d, k, _)| *d == device && *k == kind);
        let slot = match slot {
            Some(i) if self.buffers[i].2.numel() as i64 >= numel => i,
            Some(i) => {
                self.buffers[i].2 = Tensor::empty([numel], (kind, device));
                i
            }
            None => {
                self.buffers
                    .push((device, kind, Tensor::empty([numel], (kind, device))));
                self.buffers.len() - 1
            }
        };
        self.buffers[slot]
            .2
            .narrow(0, 0, numel)
            .view(like.size().as_slice())
    }
}

/// Splits a state name `<kind>.<parameter>` into its two halves.
pub(crate) fn split_state_name(name: &str) -> Result<(&str, &str), OptimError> {
    name.split_once('.')
        .ok_or_else(|| OptimError::State(format!("entry `{name}` is not `<kind>.<parameter>`")))
}

/// A saved state tensor moved to the parameter's device and kind, after checking its shape.
pub(crate) fn fit_state(
    what: &str,
    param_name: &str,
    saved: &Tensor,
    param: &Tensor,
) -> Result<Tensor, OptimError> {
    if saved.size() != param.size() {
        return Err(OptimError::State(format!(
            "`{what}.{param_name}` has shape {:?} but the parameter has shape {:?}",
            saved.size(),
            param.size()
        )));
    }
    Ok(saved
        .to_device(param.device())
        .to_kind(param.kind())
        .contiguous())
}

/// The scalar step counter of a state entry.
pub(crate) fn step_value(name: &str, t: &Tensor) -> Result<i64, OptimError> {
    if t.numel() != 1 {
        return Err(OptimError::State(format!(
            "`{name}` should be a single step count, has shape {:?}",
            t.size()
        )));
    }
    let v = t.to_kind(Kind::Double).reshape([-1]).double_value(&[0]);
    if !(v >= 0.0 && v.fract() == 0.0) {
        return Err(OptimError::State(format!(
            "`{name}` should be a whole step count >= 0, is {v}"
        )));
    }
    Ok(v as i64)
}

/// Every parameter that has a gradient, with its group's learning rate (`lr × lr_scale`) and
/// weight decay: the loop all optimizers run.
pub(crate) fn with_grads<'a>(
    groups: &'a [ParamGroup],
    lr: f64,
) -> impl Iterator<Item = (f64, f64, &'a String, &'a Tensor, Tensor)> + 'a {
    groups.iter().flat_map(move |group| {
        group.params.iter().filter_map(move |(name, param)| {
            let grad = param.grad();
            grad.defined()
                .then_some((lr * group.lr_scale, group.weight_decay, name, param, grad))
        })
    })
}
