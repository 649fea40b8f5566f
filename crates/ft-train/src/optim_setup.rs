//! From `TrainingArgs` to ft-optim's pieces: the freezing plan, parameter groups, optimizer,
//! schedule and L2-SP term. Kept apart from the loop so a library user can build them alike.
use crate::args::{FreezeStrategyKind, LrSchedulerType, Optim, TrainingArgs};
use anyhow::{bail, Result};
use ft_models::LayerGroup;
use ft_optim::freeze::{FreezePlan, FreezeStrategy};
use ft_optim::groups::ParamGroup;
use ft_optim::groups::{param_groups as build_groups, GroupConfig};
use ft_optim::l2sp::L2Sp;
use ft_optim::loss::ClassWeights;
use ft_optim::optimizer::{Adam, AdamW, AdamWConfig, Optimizer, Sgd, SgdConfig};
use ft_optim::schedule::{Schedule, ScheduleKind};
use tch::nn::VarStore;

/// The explicit class weights of `weights` for a task with these classes (in id order), or an
/// error naming the number given and the classes (`auto` gives `None`: the job computes it from
/// the label counts).
pub fn class_weights_for(weights: &ClassWeights, classes: &[String]) -> Result<Option<Vec<f64>>> {
    match weights {
        ClassWeights::Auto => Ok(None),
        ClassWeights::Explicit(w) if w.len() == classes.len() => Ok(Some(w.clone())),
        ClassWeights::Explicit(w) => bail!(
            "class_weights `{weights}` gives {} weights but the task has {} classes ({}): give \
             one weight per class, in this order",
            w.len(),
            classes.len(),
            classes.join(", ")
        ),
    }
}

pub fn freeze_plan(args: &TrainingArgs, groups: &[LayerGroup]) -> Result<FreezePlan> {
    let strategy = match args.freeze_strategy {
        FreezeStrategyKind::Full => FreezeStrategy::Full,
        FreezeStrategyKind::Partial => FreezeStrategy::Partial {
            layers: args.freeze_layers,
        },
        FreezeStrategyKind::LinearProbe => FreezeStrategy::LinearProbe,
        FreezeStrategyKind::Gradual => FreezeStrategy::Gradual {
            every_epochs: args.unfreeze_every_epochs.unwrap_or(1),
        },
    };
    let strategy = if args.freeze.is_empty() && args.unfreeze.is_empty() {
        strategy
    } else if strategy == FreezeStrategy::Full {
        FreezeStrategy::Patterns {
            freeze: args.freeze.clone(),
            unfreeze: args.unfreeze.clone(),
        }
    } else {
        bail!("--freeze / --unfreeze patterns combine only with freeze_strategy full");
    };
    Ok(FreezePlan::new(strategy, groups)?)
}

pub fn param_groups(
    args: &TrainingArgs,
    vs: &VarStore,
    groups: &[LayerGroup],
) -> Result<Vec<ParamGroup>> {
    let config = GroupConfig {
        weight_decay: args.weight_decay,
        layerwise_lr_decay: args.layerwise_lr_decay,
        ..GroupConfig::default()
    };
    Ok(build_groups(vs, groups, &config))
}

pub fn optimizer(args: &TrainingArgs) -> Result<Box<dyn Optimizer>> {
    let betas = (args.adam_beta1, args.adam_beta2);
    Ok(match args.optim {
        Optim::AdamW => Box::new(AdamW::new(AdamWConfig {
            betas,
            eps: args.adam_epsilon,
            ..AdamWConfig::default()
        })),
        Optim::Adam => Box::new(Adam::new(AdamWConfig {
            betas,
            eps: args.adam_epsilon,
            ..AdamWConfig::default()
        })),
        Optim::Sgd => Box::new(Sgd::new(SgdConfig {
            momentum: args.momentum,
            ..SgdConfig::default()
        })),
    })
}

pub fn schedule(args: &TrainingArgs, total_steps: usize) -> Result<Schedule> {
    let kind = match args.lr_scheduler_type {
        LrSchedulerType::Constant => ScheduleKind::Constant,
        LrSchedulerType::ConstantWithWarmup => ScheduleKind::ConstantWithWarmup,
        LrSchedulerType::Linear => ScheduleKind::Linear,
        LrSchedulerType::Cosine => ScheduleKind::Cosine { cycles: 0.5 },
        LrSchedulerType::CosineWithRestarts => ScheduleKind::CosineWithRestarts { cycles: 1 },
    };
    let warmup = if args.warmup_steps > 0 {
        args.warmup_steps
    } else {
        Schedule::warmup_from_ratio(args.warmup_ratio, total_steps)
    };
    Ok(Schedule::try_new(
        kind,
        args.learning_rate,
        warmup,
        total_steps,
    )?)
}

/// L2-SP anchored at the weights the run starts from, over every parameter except the new head
/// (pulling a freshly initialised head back to its random start would only fight learning).
/// Groups that gradual unfreezing releases later are anchored too; the penalty counts only
/// parameters that currently train.
pub fn l2sp(vs: &VarStore, groups: &[LayerGroup], alpha: f64) -> L2Sp {
    let head: Vec<&str> = groups
        .last()
        .map(|g| g.prefixes.iter().map(String::as_str).collect())
        .unwrap_or_default();
    L2Sp::from_var_store(vs, alpha, &head)
}

/// Multiplies every gradient by `factor` (the 1/count normalisation of accumulated sums).
pub fn scale_grads(groups: &[ParamGroup], factor: f64) {
    tch::no_grad(|| {
        for group in groups {
            for (_, p) in &group.params {
                let mut g = p.grad();
                if g.defined() {
                    let _ = g.f_mul_scalar_(factor);
                }
            }
        }
    });
}
