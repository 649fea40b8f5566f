//! ft-train: the fine-tuning loop.
//!
//! A [`Trainer`] runs a [`Task`] (model forward → summed loss, predictions → ft-metrics) over
//! ft-data loaders with the settings of [`TrainingArgs`] (HF `TrainingArguments` names):
//! freezing per epoch, gradient accumulation normalised by the whole accumulated batch,
//! clipping, LR schedule, evaluation and checkpoints by strategy, early stopping, best-model
//! restore and exact resume (checkpoints hold weights, optimizer state, the sampler position,
//! callbacks' state, and per-step randomness is derived from `(seed, step)`). Everything beyond
//! the loop itself plugs in as a [`Callback`].
//!
//! Output directory: `training_args.json`, `train_log.jsonl`, `checkpoint-<step>/`
//! (`model.safetensors`, `config.json`, `optimizer.safetensors`, `trainer_state.json` with the
//! callbacks' JSON state, and `callbacks.safetensors` when callbacks keep tensors or own
//! parameters), and the final model in the upstream layout.
pub mod amp;
pub mod args;
pub mod batch;
pub mod callback;
pub mod checkpoint;
pub mod choice;
mod dispatch;
pub mod early_stopping;
pub mod evaluation;
pub mod fault;
pub mod interrupt;
pub mod keyed;
pub mod l2sp;
pub mod log;
pub mod optim_setup;
pub mod progress;
pub mod reporter;
pub mod run_dir;
pub mod task;
pub mod trainer;

pub use args::{
    DeviceSpec, FreezeStrategyKind, IntervalStrategy, LrSchedulerType, Optim, TrainingArgs,
};
pub use batch::TensorBatch;
pub use callback::{
    Callback, CallbackState, Context as CallbackContext, Control, Level, MicroBatch, StepInfo,
};
pub use evaluation::{EvalResult, Evaluation};
pub use reporter::Reporter;
pub use task::{LossSum, Task};
pub use trainer::{summarize, TrainOutcome, Trainer};
