//! Learning-rate schedules, equal to transformers' `get_*_schedule_with_warmup` and PyTorch's
//! `OneCycleLR` / `StepLR`.
//!
//! Steps count optimizer updates from 0: [`Schedule::lr_at`]`(t)` is the rate the `t`-th update
//! uses, i.e. `scheduler.get_last_lr()` after `t` calls of `scheduler.step()` in PyTorch. With a
//! warmup the first update therefore uses rate 0, exactly as transformers' Trainer does.
use crate::OptimError;
use std::f64::consts::PI;

/// How OneCycle anneals between its phases (`anneal_strategy` of `OneCycleLR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anneal {
    Cos,
    Linear,
}

/// The shape of a schedule. All but `OneCycle` scale the `base_lr` given to [`Schedule::new`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScheduleKind {
    /// `base_lr` throughout (warmup ignored, as transformers' `get_constant_schedule`).
    Constant,
    /// Linear warmup from 0, then `base_lr`.
    ConstantWithWarmup,
    /// Linear warmup, then linear decay to 0 at `total_steps`.
    Linear,
    /// Linear warmup, then a cosine over `cycles` periods (0.5, transformers' default, is a
    /// half-cosine from `base_lr` down to 0).
    Cosine { cycles: f64 },
    /// Linear warmup, then `cycles` half-cosines from `base_lr` to 0, each restarting at
    /// `base_lr`.
    CosineWithRestarts { cycles: usize },
    /// Smith's one-cycle policy as `torch.optim.lr_scheduler.OneCycleLR` (without momentum
    /// cycling): from `max_lr / div_factor` up to `max_lr` over the first `pct_start` of the
    /// steps, then down to `max_lr / div_factor / final_div_factor`. `base_lr` and the warmup are
    /// not used: `pct_start` is the warmup. PyTorch's defaults are `pct_start` 0.3,
    /// `div_factor` 25, `final_div_factor` 1e4, cos, two phases.
    OneCycle {
        max_lr: f64,
        pct_start: f64,
        div_factor: f64,
        final_div_factor: f64,
        anneal: Anneal,
        three_phase: bool,
    },
    /// `base_lr · gamma^⌊t / step_size⌋` as `StepLR` (steps are optimizer updates here; pass
    /// `step_size` in updates for per-epoch decay). With a warmup, the warmup's linear factor
    /// multiplies it during the first `warmup_steps`.
    Step { step_size: usize, gamma: f64 },
}

/// A schedule over `total_steps` optimizer updates.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    kind: ScheduleKind,
    base_lr: f64,
    warmup_steps: usize,
    total_steps: usize,
}

impl Schedule {
    /// A schedule; panics with the reason on values [`Schedule::try_new`] rejects.
    pub fn new(
        kind: ScheduleKind,
        base_lr: f64,
        warmup_steps: usize,
        total_steps: usize,
    ) -> Schedule {
        Schedule::try_new(kind, base_lr, warmup_steps, total_steps)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A schedule, or why these values make none.
    pub fn try_new(
        kind: ScheduleKind,
        base_lr: f64,
        warmup_steps: usize,
        total_steps: usize,
    ) -> Result<Schedule, OptimError> {
        let bad = |m: String| Err(OptimError::Config(format!("learning-rate schedule: {m}")));
        if !(base_lr >= 0.0 && base_lr.is_finite()) {
            return bad(format!(
                "base learning rate must be finite and >= 0, got {base_lr}"
            ));
        }
        if total_steps == 0 {
            return bad("the number of training steps is 0".into());
        }
        if warmup_steps > total_steps {
            return bad(format!(
                "{warmup_steps} warmup steps exceed the {total_steps} training steps"
            ));
        }
        match kind {
            ScheduleKind::Cosine { cycles } if !(cycles > 0.0 && cycles.is_finite()) => {
                return bad(format!("cosine cycles must be > 0, got {cycles}"))
            }
            ScheduleKind::CosineWithRestarts { cycles: 0 } => {
                return bad("cosine with restarts needs at least 1 cycle".into())
            }
            ScheduleKind::Step { step_size: 0, .. } => {
                return bad("step schedule needs step_size >= 1".into())
            }
            ScheduleKind::OneCycle {
                max_lr,
                pct_start,
                div_factor,
                final_div_factor,
                three_phase,
                ..
            } => {
                if !(max_lr >= 0.0 && max_lr.is_finite()) {
                    return bad(format!(
                        "one-cycle max_lr must be finite and >= 0, got {max_lr}"
                    ));
                }
                if !(0.0..=1.0).contains(&pct_start) {
                    return bad(format!(
                        "one-cycle pct_start must be in [0, 1], got {pct_start}"
                    ));
                }
                if !(div_factor > 0.0 && final_div_factor > 0.0) {
                    return bad(format!(
                        "one-cycle div factors must be > 0, got {div_factor} and {final_div_factor}"
                    ));
                }
                // Every phase must span at least one step, or its interpolation divides by 0.
                let up = pct_start * total_steps as f64 - 1.0;
                let phases_ok = if three_phase {
                    up > 0.0 && 2.0 * up < total_steps as f64 - 1.0
                } else {
                    up > 0.0 && up < total_steps as f64 - 1.0
                };
                if !phases_ok {
                    return bad(format!(
                        "one-cycle with pct_start {pct_start} over {total_steps} steps leaves a \
                         phase without steps"
                    ));
                }
            }
            _ => {}
        }
        Ok(Schedule {
            kind,
            base_lr,
            warmup_steps,
            total_steps,
        })
    }

    /// Warmup steps from a ratio of the total, as transformers' `get_warmup_steps`:
    /// `ceil(ratio · total)`.
    pub fn warmup_from_ratio(ratio: f64, total_steps: usize) -> usize {
        (ratio * total_steps as f64).ceil().max(0.0) as usize
    }

    pub fn kind(&self) -> ScheduleKind {
        self.kind
    }

    pub fn total_steps(&self) -> usize {
        self.total_steps
    }

    pub fn warmup_steps(&self) -> usize {
        self.warmup_steps
    }

    /// The learning rate of update `step` (0-based).
    pub fn lr_at(&self, step: usize) -> f64 {
        let (w, total) = (self.warmup_steps, self.total_steps);
        // transformers' lambdas, written as they are so the values match to the last bit.
        let warm = || step as f64 / (w.max(1)) as f64;
        let progress = || (step - w) as f64 / (total.saturating_sub(w).max(1)) as f64;
        let factor = match self.kind {
            ScheduleKind::Constant => 1.0,
            ScheduleKind::ConstantWithWarmup => {
                if step < w {
                    warm()
                } else {
                    1.0
                }
            }
            ScheduleKind::Linear => {
                if step < w {
                    warm()
                } else {
                    (total as f64 - step as f64).max(0.0) / (total.saturating_sub(w).max(1)) as f64
                }
            }
            ScheduleKind::Cosine { cycles } => {
                if step < w {
                    warm()
                } else {
                    (0.5 * (1.0 + (PI * cycles * 2.0 * progress()).cos())).max(0.0)
                }
            }
            ScheduleKind::CosineWithRestarts { cycles } => {
                if step < w {
                    warm()
                } else {
                    let p = progress();
                    if p >= 1.0 {
                        0.0
                    } else {
                        (0.5 * (1.0 + (PI * ((cycles as f64 * p) % 1.0)).cos())).max(0.0)
                    }
                }
            }
            ScheduleKind::OneCycle { .. } => return self.one_cycle(step),
            ScheduleKind::Step { step_size, gamma } => {
                // StepLR multiplies the previous rate at each boundary; so do we, for the
                // same rounding.
                let mut lr = self.base_lr;
                for _ in 0..step / step_size {
                    lr *= gamma;
                }
                return if step < w { lr * warm() } else { lr };
            }
        };
        self.base_lr * factor
    }

    fn one_cycle(&self, step: usize) -> f64 {
        let ScheduleKind::OneCycle {
            max_lr,
            pct_start,
            div_factor,
            final_div_factor,
            anneal,
            three_phase,
        } = self.kind
        else {
            unreachable!("one_cycle is only called for OneCycle")
        };
        let total = self.total_steps as f64;
        let initial = max_lr / div_factor;
        let min = initial / final_div_factor;
        let phases: Vec<(f64, f64, f64)> = if three_phase {
            vec![
                (pct_start * total - 1.0, initial, max_lr),
                (2.0 * pct_start * total - 2.0, max_lr, initial),
                (total - 1.0, initial, min),
            ]
        } else {
            vec![
                (pct_start * total - 1.0, initial, max_lr),
                (total - 1.0, max_lr, min),
            ]
        };
        let step = step.min(self.total_steps) as f64;
        let mut start_step = 0.0;
        for (i, &(end_step, start, end)) in phases.iter().enumerate() {
            if step <= end_step || i == phases.len() - 1 {
                let pct = (step - start_step) / (end_step - start_step);
                return match anneal {
                    Anneal::Cos => end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0),
                    Anneal::Linear => (end - start) * pct + start,
                };
            }
            start_step = end_step;
        }
        unreachable!("the last phase always matches")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_ratio_rounds_up_like_transformers() {
        assert_eq!(Schedule::warmup_from_ratio(0.1, 1000), 100);
        assert_eq!(Schedule::warmup_from_ratio(0.06, 1001), 61);
        assert_eq!(Schedule::warmup_from_ratio(0.0, 10), 0);
    }

    #[test]
    fn invalid_schedules_say_why() {
        let e = Schedule::try_new(ScheduleKind::Linear, 1e-3, 20, 10).unwrap_err();
        assert!(
            e.to_string().contains("20 warmup steps exceed the 10"),
            "{e}"
        );
        let e = Schedule::try_new(
            ScheduleKind::Step {
                step_size: 0,
                gamma: 0.1,
            },
            1.0,
            0,
            5,
        )
        .unwrap_err();
        assert!(e.to_string().contains("step_size"), "{e}");
    }

    #[test]
    fn step_schedule_warms_up_then_steps() {
        let s = Schedule::new(
            ScheduleKind::Step {
                step_size: 4,
                gamma: 0.1,
            },
            1.0,
            2,
            20,
        );
        let lrs: Vec<f64> = (0..6).map(|t| s.lr_at(t)).collect();
        assert_eq!(lrs[..4], [0.0, 0.5, 1.0, 1.0]);
        assert!((lrs[4] - 0.1).abs() < 1e-15);
    }
}
