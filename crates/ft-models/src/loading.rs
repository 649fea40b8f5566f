//! Matching a checkpoint's tensors to a model's variables, and saying exactly what did not fit.
use crate::ModelError;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;
use tch::{Kind, Tensor};

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
    /// `(name, why)` for tensors of the right shape that still cannot be loaded: a dtype of
    /// another class than the variable's (integers into a float parameter), or NaN/inf values.
    pub refused: Vec<(String, String)>,
}

impl LoadReport {
    pub fn is_ok(&self) -> bool {
        self.missing.is_empty()
            && self.unexpected.is_empty()
            && self.mismatched.is_empty()
            && self.refused.is_empty()
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
        for (name, why) in &self.refused {
            write!(f, "\n  refused {name}: {why}")?;
        }
        Ok(())
    }
}

/// The dtype classes a checkpoint tensor may be cast between: a float tensor (F16, BF16, F32,
/// F64) loads into any float variable, an integer one into any integer variable, a bool into a
/// bool; anything else would reinterpret numbers as something they are not.
fn class_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Half | Kind::BFloat16 | Kind::Float | Kind::Double => "float",
        Kind::Bool => "bool",
        Kind::ComplexHalf | Kind::ComplexFloat | Kind::ComplexDouble => "complex",
        _ => "integer",
    }
}

/// Why `tensor` cannot be copied into `var` (same shape assumed), or `Ok`: its dtype class
/// differs from the variable's (see [`class_of`]), or it is a float tensor holding NaN or
/// infinite values (a diverged or damaged checkpoint, which would train to NaN at once).
fn check_values(var: &Tensor, tensor: &Tensor) -> Result<(), String> {
    let (ours, theirs) = (var.kind(), tensor.kind());
    if class_of(ours) != class_of(theirs) {
        return Err(format!(
            "the checkpoint holds {} ({theirs:?}) values for a {} ({ours:?}) variable;              casting them would give a garbage model",
            class_of(theirs),
            class_of(ours)
        ));
    }
    if class_of(theirs) == "float" && tensor.numel() > 0 {
        let finite = tensor
            .f_isfinite()
            .and_then(|t| t.f_all())
            .and_then(|t| t.f_int64_value(&[]))
            .map_err(|e| format!("cannot check its values: {e}"))?;
        if finite == 0 {
            let nan = tensor
                .f_isnan()
                .and_then(|t| t.f_sum(Kind::Int64))
                .and_then(|t| t.f_int64_value(&[]))
                .unwrap_or(-1);
            return Err(format!(
                "it holds non-finite values ({nan} NaN, the rest of the non-finite ones infinite)                  of {}: a diverged or damaged checkpoint",
                tensor.numel()
            ));
        }
    }
    Ok(())
}

/// Whether checkpoint tensor `tensor` can be loaded into the variable `var` called `name`:
/// the same shape, a dtype of the same class (float/integer/bool, see the module), and, for
/// floats, no NaN or infinite value. The error names the tensor. For loaders that copy
/// tensors themselves (a trainer's exact reload of its own checkpoint).
pub fn check_tensor_compatible(name: &str, var: &Tensor, tensor: &Tensor) -> Result<(), String> {
    if var.size() != tensor.size() {
        return Err(format!(
            "tensor `{name}` has shape {:?}, the model's variable {:?}",
            tensor.size(),
            var.size()
        ));
    }
    check_values(var, tensor).map_err(|why| format!("tensor `{name}`: {why}"))
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
                if let Err(why) = check_values(var, &tensor) {
                    report.refused.push((var_name.clone(), why));
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> (impl Fn(&str) -> Option<String>, impl Fn(&str) -> bool) {
        (|n: &str| Some(n.to_string()), |_: &str| false)
    }

    #[test]
    fn integer_tensors_and_nan_weights_are_refused_by_name() {
        let var = Tensor::zeros([2, 2], (Kind::Float, tch::Device::Cpu));
        let vars: HashMap<String, Tensor> = [("w".to_string(), var.shallow_clone())].into();
        let (rename, missing) = names();
        let map = NameMap {
            rename: &rename,
            may_be_missing: &missing,
        };
        let path = Path::new("ckpt.safetensors");
        let ints = Tensor::ones([2, 2], (Kind::Int, tch::Device::Cpu));
        let err = load_into(&vars, vec![("w".into(), ints)], &map, path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("ckpt.safetensors") && err.contains("refused w: the checkpoint holds integer (Int) values for a float (Float) variable"), "{err}");
        let nan = Tensor::from_slice(&[1.0f32, f32::NAN, f32::INFINITY, 0.0]).reshape([2, 2]);
        let err = load_into(&vars, vec![("w".into(), nan.shallow_clone())], &map, path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("refused w: it holds non-finite values (1 NaN"),
            "{err}"
        );
        // Nothing was copied.
        assert_eq!(var.abs().sum(Kind::Float).double_value(&[]), 0.0);
        let err = check_tensor_compatible("w", &var, &nan).unwrap_err();
        assert!(err.starts_with("tensor `w`: it holds non-finite"), "{err}");
        let half = Tensor::ones([2, 2], (Kind::Half, tch::Device::Cpu));
        assert!(check_tensor_compatible("w", &var, &half).is_ok());
        let err = check_tensor_compatible(
            "w",
            &var,
            &Tensor::ones([3], (Kind::Float, tch::Device::Cpu)),
        )
        .unwrap_err();
        assert!(err.contains("tensor `w` has shape [3]"), "{err}");
        let report = load_into(&vars, vec![("w".into(), half)], &map, path).unwrap();
        assert_eq!(report.loaded, 1);
    }
}
