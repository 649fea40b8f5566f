//! ft-optim: everything between a model's gradients and its next weights.
//!
//! * [`freeze`]: which parameters train (full, partial, linear probe, gradual unfreezing, name
//!   patterns) and which layer groups run in train mode.
//! * [`groups`]: parameter groups with their LR multipliers (layer-wise decay, discriminative
//!   rates) and weight decay (none on biases and norms).
//! * [`optimizer`]: AdamW, Adam and SGD over tch tensors, with state that saves and restores
//!   exactly (tch's optimizers cannot save theirs).
//! * [`schedule`]: learning-rate schedules equal to transformers'/PyTorch's.
//! * [`clip`], [`l2sp`], [`loss`]: gradient clipping, the L2-SP penalty, and cross-entropy with
//!   label smoothing and class weights as a sum plus a normaliser.
//!
//! A training step with these pieces:
//!
//! ```no_run
//! use ft_optim::{freeze::*, groups::*, optimizer::*, schedule::*};
//! # fn demo(vs: &tch::nn::VarStore, layer_groups: &[ft_models::LayerGroup]) -> Result<(), ft_optim::OptimError> {
//! let plan = FreezePlan::new(FreezeStrategy::Partial { layers: 2 }, layer_groups)?;
//! println!("{}", plan.apply(vs, 0));
//! let cfg = GroupConfig { weight_decay: 0.01, layerwise_lr_decay: Some(0.9), ..Default::default() };
//! let groups = param_groups(vs, layer_groups, &cfg);
//! let mut opt = AdamW::new(AdamWConfig::default());
//! let schedule = Schedule::new(ScheduleKind::Linear, 2e-5, Schedule::warmup_from_ratio(0.1, 1000), 1000);
//! for step in 0..1000 {
//!     // forward with plan.modes(epoch), loss.backward() ...
//!     let _norm = ft_optim::clip::clip_grad_norm(&groups, 1.0);
//!     opt.step(&groups, schedule.lr_at(step))?;
//!     opt.zero_grad(&groups);
//! }
//! # Ok(()) }
//! ```
pub mod clip;
mod error;
pub mod freeze;
pub mod groups;
pub mod l2sp;
pub mod loss;
pub mod optimizer;
pub mod pattern;
pub mod schedule;
pub mod vars;

pub use error::OptimError;
