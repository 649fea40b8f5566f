//! Callbacks: the seam where everything that is not the loop itself plugs into it, in the spirit
//! of transformers' `TrainerCallback`.
//!
//! The loop calls every [`Callback`] at fixed events — train begin / end, epoch begin / end,
//! step begin / end, after backward (before clipping), log, evaluate and save — with a
//! [`Context`] telling where it stands. A callback may
//! - add a term to the loss: per micro-batch ([`Callback::micro_batch_loss`], a sum normalised
//!   with the task's loss, seeing the batch, the task's pooled features and a batch of the second
//!   training loader) or once per optimizer step ([`Callback::step_loss`], a regulariser such as
//!   L2-SP or EWC);
//! - ask the loop to stop, evaluate or save through [`Control`];
//! - own parameters ([`Callback::parameters`], a domain discriminator, say), which join the
//!   optimizer and the checkpoints;
//! - keep state ([`Callback::state`]: named tensors and JSON) that checkpoints save and a resume
//!   restores, so a resumed run is bitwise the run that was not interrupted.
//!
//! Early stopping, the progress display, `train_log.jsonl` and L2-SP are callbacks the
//! [`Trainer`](crate::Trainer) adds itself from its [`TrainingArgs`]; jobs add their own.
use crate::args::TrainingArgs;
use crate::batch::TensorBatch;
use crate::checkpoint::TrainerState;
use crate::evaluation::EvalResult;
use crate::task::{LossSum, Task};
use anyhow::Result;
use ft_models::GroupModes;
use ft_optim::groups::ParamGroup;
use std::cell::RefCell;
use std::path::Path;
use tch::nn::VarStore;
use tch::Tensor;

/// What callbacks ask of the loop. The loop reads it after each event and clears what it acted on.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Control {
    /// End training after this step (the run counts as stopped early).
    pub should_stop: bool,
    /// Evaluate after this step, whatever `eval_strategy` says.
    pub should_evaluate: bool,
    /// Save a checkpoint after this step, whatever `save_strategy` says.
    pub should_save: bool,
}

/// How much a message matters: notices are always shown, details not in `quiet` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// "resuming from …", "early stopping: …".
    Notice,
    /// Log lines, evaluation results, the trainable-parameter tables.
    Detail,
}

/// Where the loop stands, as a callback sees it at an event.
pub struct Context<'c> {
    pub args: &'c TrainingArgs,
    pub state: &'c TrainerState,
    /// Optimizer steps of the whole run, and the epochs they span.
    pub total_steps: usize,
    pub epochs: usize,
    /// The epoch in progress (0-based).
    pub epoch: usize,
    /// Whether this run resumed from a checkpoint.
    pub resumed: bool,
    pub vs: &'c VarStore,
    pub task: &'c dyn Task,
    pub output_dir: &'c Path,
    messages: &'c RefCell<Vec<(Level, String)>>,
}

impl<'c> Context<'c> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        args: &'c TrainingArgs,
        state: &'c TrainerState,
        (total_steps, epochs, epoch): (usize, usize, usize),
        resumed: bool,
        vs: &'c VarStore,
        task: &'c dyn Task,
        output_dir: &'c Path,
        messages: &'c RefCell<Vec<(Level, String)>>,
    ) -> Context<'c> {
        Context {
            args,
            state,
            total_steps,
            epochs,
            epoch,
            resumed,
            vs,
            task,
            output_dir,
            messages,
        }
    }

    /// A message for the user; the loop hands it to every callback's
    /// [`Callback::on_message`] once the event is over (the progress display shows it).
    pub fn say(&self, level: Level, text: impl Into<String>) {
        self.messages.borrow_mut().push((level, text.into()));
    }
}

/// One training micro-batch, as [`Callback::micro_batch_loss`] sees it.
pub struct MicroBatch<'m> {
    pub batch: &'m TensorBatch,
    /// The task's loss on it; `features` holds the model's pooled features where the task
    /// gives them (see [`Task::features`] for other batches).
    pub loss: &'m LossSum,
    pub modes: &'m GroupModes,
    /// The batch of the second training loader drawn for this micro-batch
    /// ([`crate::Trainer::with_second_loader`]), if there is one.
    pub second: Option<&'m TensorBatch>,
    /// The micro-batch's index within its optimizer step.
    pub micro: usize,
}

/// What happened in an optimizer step, for [`Callback::on_step_end`].
#[derive(Debug, Clone, Copy)]
pub struct StepInfo {
    /// The mean loss of the step (the task's, per counted target).
    pub loss: f64,
    pub learning_rate: f64,
    /// Whether the optimizer applied it (fp16 skips steps whose gradients overflowed).
    pub applied: bool,
}

/// A callback's checkpointed state: named tensors (saved in the checkpoint's
/// `callbacks.safetensors` as `<callback>.<name>`) and JSON (in `trainer_state.json`).
#[derive(Debug, Default)]
pub struct CallbackState {
    pub json: serde_json::Value,
    pub tensors: Vec<(String, Tensor)>,
}

/// One plug-in of the loop. Every method has a default that does nothing, so a callback writes
/// only the events it needs. The loop calls callbacks in the order they were added; its own
/// (L2-SP, early stopping, the progress display, the JSON log) come after a job's, so the log
/// writers see what other callbacks added to a record.
pub trait Callback {
    /// The callback's name: the key of its state in checkpoints, and the prefix of its
    /// parameters. Unique among a trainer's callbacks.
    fn name(&self) -> &str;

    /// Before the first step, after a resume restored the weights, the optimizer and this
    /// callback's state.
    fn on_train_begin(&mut self, _ctx: &Context) -> Result<()> {
        Ok(())
    }

    /// After the last step, before the final model is saved (not when a signal interrupts).
    fn on_train_end(&mut self, _ctx: &Context) -> Result<()> {
        Ok(())
    }

    fn on_epoch_begin(&mut self, _ctx: &Context) -> Result<()> {
        Ok(())
    }

    /// After an epoch's last step (`ctx.epoch` is the epoch that ended), before its evaluation.
    fn on_epoch_end(&mut self, _ctx: &Context, _control: &mut Control) -> Result<()> {
        Ok(())
    }

    /// Before the micro-batches of an optimizer step; `ctx.state.global_step` is the step's
    /// 0-based index.
    fn on_step_begin(&mut self, _ctx: &Context) -> Result<()> {
        Ok(())
    }

    /// A term added to the micro-batch's summed loss before backward, in the same units (it is
    /// divided by the step's target count with it). Domain-adversarial training adds its
    /// discriminator loss here.
    fn micro_batch_loss(&mut self, _ctx: &Context, _mb: &MicroBatch) -> Result<Option<Tensor>> {
        Ok(None)
    }

    /// A term added once per optimizer step after the micro-batches' gradients are normalised,
    /// before clipping: a regulariser on the weights (L2-SP, EWC).
    fn step_loss(&mut self, _ctx: &Context) -> Result<Option<Tensor>> {
        Ok(None)
    }

    /// Every gradient of the step is in (normalised, regularisers added), nothing is clipped or
    /// applied yet: where gradients are synchronised across processes. `groups` are the
    /// parameters the optimizer steps, callbacks' own included.
    fn on_after_backward(&mut self, _ctx: &Context, _groups: &[ParamGroup]) -> Result<()> {
        Ok(())
    }

    /// After the optimizer step; `ctx.state.global_step` counts it.
    fn on_step_end(
        &mut self,
        _ctx: &Context,
        _step: &StepInfo,
        _control: &mut Control,
    ) -> Result<()> {
        Ok(())
    }

    /// A log record: training (`loss`, `learning_rate`, …) every `logging_steps`, or an
    /// evaluation's (`eval_<metric>`). A callback may add values to it before it is written.
    fn on_log(&mut self, _ctx: &Context, _record: &mut serde_json::Value) -> Result<()> {
        Ok(())
    }

    /// After an evaluation on the validation data (its record was logged just before).
    fn on_evaluate(
        &mut self,
        _ctx: &Context,
        _result: &EvalResult,
        _control: &mut Control,
    ) -> Result<()> {
        Ok(())
    }

    /// After a checkpoint was written to `checkpoint`.
    fn on_save(&mut self, _ctx: &Context, _checkpoint: &Path) -> Result<()> {
        Ok(())
    }

    /// A message from the loop or a callback (see [`Context::say`]).
    fn on_message(&mut self, _level: Level, _text: &str) {}

    /// Parameters the callback owns, named without its prefix: they join the optimizer (one
    /// group, `callback:<name>`, at the base learning rate) and are saved in checkpoints.
    fn parameters(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }

    /// What a checkpoint keeps of the callback (parameters are saved apart).
    fn state(&self) -> Result<Option<CallbackState>> {
        Ok(None)
    }

    /// Restores what [`Callback::state`] returned at the checkpoint a run resumes from.
    fn load_state(&mut self, _state: CallbackState) -> Result<()> {
        Ok(())
    }
}
