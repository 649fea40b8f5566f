use std::path::PathBuf;

/// Errors of model construction, loading and saving.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing (or renaming into place) failed: a full disk, a read-only directory, a size limit.
    #[error("writing {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid model config {}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    #[error("{} is not a valid safetensors file: {message}", path.display())]
    Safetensors { path: PathBuf, message: String },
    #[error("the weights in {} do not fit this model:\n{report}", path.display())]
    Mismatch {
        path: PathBuf,
        report: Box<crate::loading::LoadReport>,
    },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}
