//! The one error type of ft-optim: every message names the offending value and what was expected.

/// Errors of freezing plans, parameter-group configs, optimizers and their state, schedules and
/// loss options.
#[derive(Debug, thiserror::Error)]
pub enum OptimError {
    /// A freezing strategy that cannot be applied to this model's layer groups.
    #[error("freezing strategy {strategy}: {message}")]
    Freeze { strategy: String, message: String },
    /// A `--freeze`/`--unfreeze` pattern that does not parse.
    #[error("bad pattern `{pattern}`: {message}")]
    Pattern { pattern: String, message: String },
    /// Saved optimizer state that does not fit this optimizer or these parameters.
    #[error("optimizer state: {0}")]
    State(String),
    /// An invalid hyperparameter (learning-rate schedule, parameter groups, optimizer, loss).
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}
