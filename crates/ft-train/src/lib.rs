//! ft-train: the fine-tuning loop.
//!
//! A [`Trainer`] runs a [`Task`] (model forward → summed loss, predictions → ft-metrics) over
//! ft-data loaders with the settings of [`TrainingArgs`] (HF `TrainingArguments` names):
//! freezing per epoch, gradient accumulation normalised by the whole accumulated batch,
//! clipping, LR schedule, evaluation and checkpoints by strategy, early stopping, best-model
//! restore and exact resume (checkpoints hold weights, optimizer state, the sampler position,
//! and per-step randomness is derived from `(seed, step)`).
//!
//! Output directory: `training_args.json`, `train_log.jsonl`, `checkpoint-<step>/`
//! (`model.safetensors`, `config.json`, `optimizer.safetensors`, `trainer_state.json`), and the
//! final model in the upstream layout.
pub mod amp;
pub mod args;
pub mod batch;
pub mod checkpoint;
pub mod early_stopping;
pub mod evaluation;
pub mod fault;
pub mod feature_cache;
pub mod generate;
pub mod image_grid;
pub mod image_run;
pub mod image_task;
pub mod interrupt;
pub mod lm_run;
pub mod lm_task;
pub mod log;
pub mod optim_setup;
pub mod progress;
pub mod provenance;
pub mod report;
pub mod run_config;
pub mod run_dir;
mod run_files;
pub mod saved_image_run;
pub mod saved_run;
pub mod task;
pub mod text_run;
pub mod text_task;
pub mod trainer;
pub mod transfer;
pub mod vae_run;
pub mod vae_task;

pub use args::{IntervalStrategy, TrainingArgs};
pub use batch::TensorBatch;
pub use evaluation::{EvalResult, Evaluation};
pub use generate::generate_text;
pub use lm_task::LmTask;
pub use run_config::{DataConfig, RunConfig, TaskKind};
pub use run_files::run_kind;
pub use saved_run::{Prediction, SavedRun};
pub use task::{LossSum, Task};
pub use text_run::{run_text, TextRunOutcome};
pub use text_task::TextTask;
pub use trainer::{summarize, TrainOutcome, Trainer};
pub use vae_task::VaeTask;
