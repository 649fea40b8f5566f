//! The convolutional VAE: pretrain, fine-tune, per-epoch sample and reconstruction grids.
pub mod grid;
pub mod hooks;
pub mod run;
pub mod saved;
pub mod task;

pub use task::VaeTask;
