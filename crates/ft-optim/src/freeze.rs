//! Freezing strategies: which parameters train in which epoch, and which layer groups run in
//! train mode.
//!
//! Frozen means `requires_grad = false`: autograd computes no gradient for the parameter, so
//! [`crate::groups::param_groups`] leaves it out and the optimizer never allocates state for it.
//! A group whose parameters are all frozen also runs in eval mode ([`FreezePlan::modes`]): its
//! dropout is off and its BatchNorm running statistics stay what pretraining left.
use crate::pattern::NamePattern;
use crate::vars;
use crate::OptimError;
use ft_models::{GroupModes, LayerGroup};
use std::fmt;
use std::sync::Mutex;
use tch::nn::VarStore;

/// What to freeze. Groups are the model's [`LayerGroup`]s, bottom (embeddings) to top (head);
/// the last group is the head.
#[derive(Debug, Clone, PartialEq)]
pub enum FreezeStrategy {
    /// Everything trains.
    Full,
    /// The embeddings (group 0) and the `layers` groups above them are frozen; the rest trains.
    /// `layers = 0` freezes only the embeddings.
    Partial { layers: usize },
    /// Only the head (last group) trains.
    LinearProbe,
    /// ULMFiT/fastai gradual unfreezing: epoch 0 trains the head only, and every `every_epochs`
    /// epochs one more group from the top is unfrozen, until everything trains.
    Gradual { every_epochs: usize },
    /// Explicit name patterns (see [`NamePattern`]); a pattern may also name a whole layer group
    /// (`embeddings`, `encoder.layer.[0-5]`). A parameter is frozen when it matches a `freeze`
    /// pattern and no `unfreeze` pattern; with only `unfreeze` patterns, everything they do not
    /// match is frozen (as if `freeze` were `*`).
    Patterns {
        freeze: Vec<String>,
        unfreeze: Vec<String>,
    },
}

impl fmt::Display for FreezeStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FreezeStrategy::Full => write!(f, "full"),
            FreezeStrategy::Partial { layers } => write!(f, "partial (layers = {layers})"),
            FreezeStrategy::LinearProbe => write!(f, "linear-probe"),
            FreezeStrategy::Gradual { every_epochs } => {
                write!(f, "gradual (every {every_epochs} epochs)")
            }
            FreezeStrategy::Patterns { freeze, unfreeze } => write!(
                f,
                "patterns (freeze [{}], unfreeze [{}])",
                freeze.join(", "),
                unfreeze.join(", ")
            ),
        }
    }
}

/// A freezing strategy resolved against a model's layer groups.
#[derive(Debug)]
pub struct FreezePlan {
    strategy: FreezeStrategy,
    groups: Vec<LayerGroup>,
    freeze: Vec<NamePattern>,
    unfreeze: Vec<NamePattern>,
    /// Pattern strategies decide per parameter, so which groups still train is only known once
    /// the variable names are seen; `apply` records it here for `modes`.
    pattern_modes: Mutex<Option<Vec<bool>>>,
}

/// One row of the table printed at the start of training.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRow {
    pub name: String,
    /// Number of scalar parameters (elements) that train.
    pub trainable: usize,
    /// Number of scalar parameters that are frozen.
    pub frozen: usize,
}

/// Trainable and frozen parameter counts per layer group, as set by [`FreezePlan::apply`].
/// Parameters owned by no group are counted in a last row named `(other)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezeSummary {
    pub rows: Vec<GroupRow>,
}

impl FreezeSummary {
    pub fn trainable(&self) -> usize {
        self.rows.iter().map(|r| r.trainable).sum()
    }

    pub fn frozen(&self) -> usize {
        self.rows.iter().map(|r| r.frozen).sum()
    }
}

impl fmt::Display for FreezeSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .rows
            .iter()
            .map(|r| r.name.len())
            .chain([5])
            .max()
            .unwrap_or(5);
        writeln!(
            f,
            "{:<width$}  {:>12}  {:>12}",
            "group", "trainable", "frozen"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:<width$}  {:>12}  {:>12}",
                r.name, r.trainable, r.frozen
            )?;
        }
        let (t, z) = (self.trainable(), self.frozen());
        let pct = if t + z == 0 {
            0.0
        } else {
            100.0 * t as f64 / (t + z) as f64
        };
        write!(
            f,
            "{:<width$}  {:>12}  {:>12}  ({pct:.1}% trainable)",
            "total", t, z
        )
    }
}

impl FreezePlan {
    /// Checks the strategy against the groups (there must be a head, and enough groups below it
    /// for `Partial`; patterns must parse).
    pub fn new(strategy: FreezeStrategy, groups: &[LayerGroup]) -> Result<FreezePlan, OptimError> {
        let err = |message: String| OptimError::Freeze {
            strategy: strategy.to_string(),
            message,
        };
        if groups.is_empty() {
            return Err(err("the model has no layer groups".into()));
        }
        let (mut freeze, mut unfreeze) = (Vec::new(), Vec::new());
        match &strategy {
            FreezeStrategy::Full | FreezeStrategy::LinearProbe => {}
            FreezeStrategy::Partial { layers } => {
                // Group 0 is the embeddings and the last the head, which must keep training.
                let available = groups.len().saturating_sub(2);
                if groups.len() < 2 || *layers > available {
                    return Err(err(format!(
                        "cannot freeze the embeddings and {layers} layer groups above them: the \
                         model has {} groups ({}), so at most {available} can be frozen above the \
                         embeddings while the head trains",
                        groups.len(),
                        names(groups)
                    )));
                }
            }
            FreezeStrategy::Gradual { every_epochs } => {
                if *every_epochs == 0 {
                    return Err(err("every_epochs must be at least 1".into()));
                }
            }
            FreezeStrategy::Patterns {
                freeze: f,
                unfreeze: u,
            } => {
                if f.is_empty() && u.is_empty() {
                    return Err(err(
                        "give at least one --freeze or --unfreeze pattern".into()
                    ));
                }
                freeze = f
                    .iter()
                    .map(|p| NamePattern::parse(p))
                    .collect::<Result<_, _>>()?;
                unfreeze = u
                    .iter()
                    .map(|p| NamePattern::parse(p))
                    .collect::<Result<_, _>>()?;
            }
        }
        Ok(FreezePlan {
            strategy,
            groups: groups.to_vec(),
            freeze,
            unfreeze,
            pattern_modes: Mutex::new(None),
        })
    }

    pub fn strategy(&self) -> &FreezeStrategy {
        &self.strategy
    }

    /// Whether group `index` trains in `epoch` under a group-level strategy (not patterns).
    fn group_trains(&self, index: usize, epoch: usize) -> bool {
        let n = self.groups.len();
        match &self.strategy {
            FreezeStrategy::Full => true,
            FreezeStrategy::Partial { layers } => index > *layers,
            FreezeStrategy::LinearProbe => index == n - 1,
            FreezeStrategy::Gradual { every_epochs } => {
                let unfrozen = 1 + epoch / every_epochs;
                index + unfrozen >= n
            }
            FreezeStrategy::Patterns { .. } => true,
        }
    }

    fn param_trains(&self, name: &str, group: Option<usize>, epoch: usize) -> bool {
        match &self.strategy {
            FreezeStrategy::Patterns { .. } => {
                let group_name = group.map(|g| self.groups[g].name.as_str());
                let hit =
                    |p: &NamePattern| p.is_match(name) || group_name.is_some_and(|g| p.is_match(g));
                if self.unfreeze.iter().any(hit) {
                    return true;
                }
                if self.freeze.is_empty() {
                    return false;
                }
                !self.freeze.iter().any(hit)
            }
            // Parameters outside every group only train when everything does.
            _ => match group {
                Some(g) => self.group_trains(g, epoch),
                None => matches!(self.strategy, FreezeStrategy::Full),
            },
        }
    }

    /// Whether the set of trainable parameters differs between `epoch - 1` and `epoch` (the
    /// trainer then re-applies the plan and rebuilds its parameter groups).
    pub fn changes_at(&self, epoch: usize) -> bool {
        match self.strategy {
            FreezeStrategy::Gradual { every_epochs } => {
                epoch > 0
                    && epoch.is_multiple_of(every_epochs)
                    && epoch / every_epochs < self.groups.len()
            }
            _ => false,
        }
    }

    /// Sets `requires_grad` on every parameter of `vs` for this epoch (buffers such as BatchNorm
    /// running statistics are never touched) and returns the per-group counts.
    pub fn apply(&self, vs: &VarStore, epoch: usize) -> FreezeSummary {
        let mut rows: Vec<GroupRow> = self
            .groups
            .iter()
            .map(|g| GroupRow {
                name: g.name.clone(),
                trainable: 0,
                frozen: 0,
            })
            .collect();
        let mut other = GroupRow {
            name: "(other)".into(),
            trainable: 0,
            frozen: 0,
        };
        let mut group_has_trainable = vec![false; self.groups.len()];
        for (name, tensor) in vars::parameters(vs) {
            let group = self.groups.iter().position(|g| g.owns(&name));
            let trains = self.param_trains(&name, group, epoch);
            let _ = tensor.set_requires_grad(trains);
            let row = match group {
                Some(g) => {
                    group_has_trainable[g] |= trains;
                    &mut rows[g]
                }
                None => &mut other,
            };
            let numel = tensor.numel();
            if trains {
                row.trainable += numel;
            } else {
                row.frozen += numel;
            }
        }
        if other.trainable + other.frozen > 0 {
            rows.push(other);
        }
        if matches!(self.strategy, FreezeStrategy::Patterns { .. }) {
            *self.pattern_modes.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(group_has_trainable);
        }
        FreezeSummary { rows }
    }

    /// Checks a plan against the actual variables before training: every pattern must match at
    /// least one parameter or group (a typo would otherwise silently freeze nothing), and at least
    /// one parameter must train in epoch 0.
    pub fn validate(&self, vs: &VarStore) -> Result<(), OptimError> {
        let params = vars::parameters(vs);
        let err = |message: String| OptimError::Freeze {
            strategy: self.strategy.to_string(),
            message,
        };
        for p in self.freeze.iter().chain(&self.unfreeze) {
            let used = params.iter().any(|(n, _)| p.is_match(n))
                || self.groups.iter().any(|g| p.is_match(&g.name));
            if !used {
                return Err(err(format!(
                    "pattern `{}` matches no parameter and no layer group (groups: {})",
                    p.as_str(),
                    names(&self.groups)
                )));
            }
        }
        let any_trains = params.iter().any(|(n, _)| {
            let group = self.groups.iter().position(|g| g.owns(n));
            self.param_trains(n, group, 0)
        });
        if !any_trains {
            return Err(err(format!(
                "no parameter would train (out of {} parameters)",
                params.len()
            )));
        }
        Ok(())
    }

    /// Train/eval mode per group for this epoch: a group trains when any of its parameters does,
    /// so fully frozen groups run with dropout off and fixed BatchNorm statistics. For pattern
    /// strategies this reflects the last [`FreezePlan::apply`] (every group trains before it).
    pub fn modes(&self, epoch: usize) -> GroupModes {
        if matches!(self.strategy, FreezeStrategy::Patterns { .. }) {
            let recorded = self
                .pattern_modes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            return match recorded {
                Some(modes) => GroupModes::from_vec(modes),
                None => GroupModes::all(self.groups.len(), true),
            };
        }
        GroupModes::from_vec(
            (0..self.groups.len())
                .map(|g| self.group_trains(g, epoch))
                .collect(),
        )
    }
}

fn names(groups: &[LayerGroup]) -> String {
    let all: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    if all.len() <= 6 {
        all.join(", ")
    } else {
        format!(
            "{}, … , {}",
            all[..3].join(", "),
            all[all.len() - 3..].join(", ")
        )
    }
}
