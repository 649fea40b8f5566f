//! Text jobs on BERT-family encoders: sequence classification, token classification (NER) and
//! regression.
pub mod data;
pub mod run;
pub mod saved;
pub mod task;

pub use task::TextTask;
