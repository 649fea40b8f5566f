//! Matching a checkpoint's tensors to a model's variables, and saying exactly what did not fit.
use crate::ModelError;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;
use tch::Tensor;

/// What happened to each name while loading a checkpoint into a model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Variables filled from the checkpoint.
    pub loaded: usize,
    /// Model variables the checkpoint lacks (an error unless they are newly initialised).
    pub missing: Vec<String>,
    /// Head variables the checkpoint lacks, left at their fresh initialisation.
    pub newly_initialised: Vec<String>,
    /// Checkpoint tensors with no variable of that name.
    pub unexpected: Vec<String>,
    /// Checkpoint tensors known not to belong to the model (pre-training heads, buffers).
    pub ignored: Vec<String>,
    /// `(name, model shape, checkpoint shape)` for tensors whose shapes differ.
    pub mismatched: Vec<(String, Vec<i64>, Vec<i64>)>,
}

impl LoadReport {
    pub fn is_ok(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.mismatched.is_empty()
    }

    /// For a checkpoint that must fill the whole model (a saved run, a phase-1 model): an error
    /// naming `path` and the variables it left at their fresh initialisation, if any.
    pub fn require_complete(&self, path: &Path) -> Result<(), ModelError> {
        if self.newly_initialised.is_empty() {
            return Ok(());
        }
        Err(ModelError::Invalid(format!(
            "{} does not hold the whole model: {} left untrained ({})",
            path.display(),
            self.newly_initialised.len(),
            self.newly_initialised.join(", ")
        )))
    }
}

fn list(f: &mut fmt::Formatter<'_>, title: &str, names: &[String]) -> fmt::Result {
    if !names.is_empty() {
        let shown: Vec<&str> = names.iter().take(12).map(String::as_str).collect();
        let more = names.len().saturating_sub(shown.len());
        write!(f, "\n  {title} ({}): {}", names.len(), shown.join(", "))?;
        if more > 0 {
            write!(f, ", … {more} more")?;
        }
    }
    Ok(())
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "loaded {} tensors", self.loaded)?;
        list(f, "missing from the checkpoint", &self.missing)?;
        list(
            f,
            "newly initialised (the new head)",
            &self.newly_initialised,
        )?;
        list(f, "unexpected in the checkpoint", &self.unexpected)?;
        list(f, "ignored (not part of this model)", &self.ignored)?;
        for (name, ours, theirs) in &self.mismatched {
            write!(
                f,
                "\n  shape mismatch for {name}: model {ours:?}, checkpoint {theirs:?}"
            )?;
        }
        Ok(())
    }
}

/// How a model family maps checkpoint names onto its variable names.
pub struct NameMap<'a> {
    /// Returns the variable name for a checkpoint name, or `None` if the tensor is to be ignored.
    pub rename: &'a dyn Fn(&str) -> Option<String>,
    /// Variables that may be absent from the checkpoint (a freshly added task head).
    pub may_be_missing: &'a dyn Fn(&str) -> bool,
}

/// Copies checkpoint tensors into `variables`, converting dtypes, and reports what did not fit.
/// Nothing is copied unless everything fits, so a failed load leaves the model untouched.
pub fn load_into(
    variables: &HashMap<String, Tensor>,
    checkpoint: Vec<(String, Tensor)>,
    names: &NameMap,
    path: &Path,
) -> Result<LoadReport, ModelError> {
    let mut report = LoadReport::default();
    let mut plan = Vec::new();
    let mut seen = BTreeSet::new();
    for (file_name, tensor) in checkpoint {
        let Some(var_name) = (names.rename)(&file_name) else {
            report.ignored.push(file_name);
            continue;
        };
        match variables.get(&var_name) {
            None => report.unexpected.push(file_name),
            Some(var) if var.size() != tensor.size() => {
                report
                    .mismatched
                    .push((var_name.clone(), var.size(), tensor.size()));
                seen.insert(var_name);
            }
            Some(var) => {
                seen.insert(var_name);
                plan.push((var.shallow_clone(), tensor));
            }
        }
    }
    let mut absent: Vec<&String> = variables.keys().filter(|n| !seen.contains(*n)).collect();
    absent.sort();
    for name in absent {
        if (names.may_be_missing)(name) {
            report.newly_initialised.push(name.clone());
        } else {
            report.missing.push(name.clone());
        }
    }
    report.unexpected.sort();
    report.ignored.sort();
    if !report.is_ok() {
        return Err(ModelError::Mismatch {
            path: path.to_path_buf(),
            report: Box::new(report),
        });
    }
    tch::no_grad(|| -> Result<(), ModelError> {
        for (mut var, tensor) in plan {
            var.f_copy_(&tensor)?;
        }
        Ok(())
    })?;
    report.loaded = seen.len();
    Ok(report)
}
