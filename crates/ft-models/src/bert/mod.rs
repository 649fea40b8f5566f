//! BERT as transformers writes it: `BertModel` plus the sequence-classification,
//! token-classification and regression heads, with transformers' parameter names.
mod config;
mod encoder;
mod task;

pub use config::BertConfig;
pub use encoder::{BertModel, BertOutput};
pub use task::{BertForTask, BertTask};
