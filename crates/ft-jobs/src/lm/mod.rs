//! GPT-2 causal language modelling: pretrain or fine-tune, perplexity, and generation.
pub mod generate;
pub mod run;
pub mod task;

pub use generate::{generate_text, Generator};
pub use task::LmTask;
