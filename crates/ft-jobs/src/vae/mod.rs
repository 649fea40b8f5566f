//! The convolutional VAE: pretrain, fine-tune, per-epoch sample and reconstruction grids.
pub mod grid;
pub mod run;
pub mod task;

pub use task::VaeTask;
