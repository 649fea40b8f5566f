//! Image classification on ResNet / EfficientNet, with the frozen-backbone feature cache.
pub mod feature_cache;
pub mod model;
pub mod run;
pub mod saved;
pub mod task;

pub use task::ImageTask;
