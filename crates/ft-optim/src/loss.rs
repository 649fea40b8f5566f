//! Classification losses as a sum plus a normaliser, so a trainer can accumulate several batches
//! and divide once by the number of counted targets across all of them (per-token averaging that
//! does not depend on how the tokens were split into micro-batches).
use crate::OptimError;
use tch::{Kind, Reduction, Tensor};

/// Labels with this value are not counted (PyTorch's and transformers' convention).
pub const IGNORE_INDEX: i64 = -100;

/// Options every classification loss takes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LossOptions {
    /// ε of label smoothing: the target becomes `(1 − ε)·onehot + ε/C` (as PyTorch).
    pub label_smoothing: f64,
    /// One weight per class (as `cross_entropy(weight=…)`).
    pub class_weights: Option<Vec<f64>>,
}

/// Cross-entropy over `logits` `[N, C]` (or `[..., C]`) and `labels` `[N]` (or `[...]`, class
/// indices, [`IGNORE_INDEX`] skipped): returns the summed loss (a scalar tensor in the graph) and
/// its normaliser.
///
/// The sum equals PyTorch's `cross_entropy(logits, labels, weight, ignore_index=-100,
/// label_smoothing, reduction='sum')`. The normaliser is the number of counted targets, or with
/// class weights the sum of the weights of the counted targets' classes: that is what PyTorch's
/// `reduction='mean'` divides by, so `sum / normaliser` over one batch is exactly its mean, and
/// over an accumulated batch `Σ sums / Σ normalisers` is the mean of the whole batch.
///
/// Errors (never panics) when `class_weights` does not have one weight per class, when
/// `label_smoothing` is outside `[0, 1)`, or when libtorch refuses the inputs (a label outside
/// `0..C`, for instance). Check the options once at startup with [`ClassWeights::resolve`] and
/// [`LossOptions::check`] for a message before any work is done.
pub fn cross_entropy_sum(
    logits: &Tensor,
    labels: &Tensor,
    opts: &LossOptions,
) -> Result<(Tensor, f64), OptimError> {
    let classes = *logits.size().last().ok_or_else(|| {
        OptimError::Config("cross-entropy: the logits have no class dimension".into())
    })?;
    opts.check(classes as usize)?;
    let logits = logits.f_reshape([-1, classes])?;
    let labels = labels.f_reshape([-1])?;
    let weights = opts
        .class_weights
        .as_ref()
        .map(|w| {
            Tensor::from_slice(w)
                .f_to_kind(logits.kind())?
                .f_to_device(logits.device())
        })
        .transpose()?;
    let sum = logits.f_cross_entropy_loss(
        &labels,
        weights.as_ref(),
        Reduction::Sum,
        IGNORE_INDEX,
        opts.label_smoothing,
    )?;
    let counted = labels.f_ne(IGNORE_INDEX)?;
    let normaliser = match &weights {
        None => counted.f_sum(Kind::Int64)?.f_int64_value(&[])? as f64,
        Some(w) => {
            let safe = labels.f_where_scalarother(&counted, 0)?;
            let per_target = w.f_to_kind(Kind::Double)?.f_index_select(0, &safe)?;
            (per_target * counted.f_to_kind(Kind::Double)?)
                .f_sum(Kind::Double)?
                .f_double_value(&[])?
        }
    };
    Ok((sum, normaliser))
}

impl LossOptions {
    /// Checks the options for a loss over `classes` classes: label smoothing in `[0, 1)`, and
    /// when class weights are given, one finite weight >= 0 per class, not all zero. The
    /// messages name the option and the values.
    pub fn check(&self, classes: usize) -> Result<(), OptimError> {
        let ls = self.label_smoothing;
        if !(0.0..1.0).contains(&ls) {
            return Err(OptimError::Config(format!(
                "label_smoothing_factor must be in [0, 1), got {ls}"
            )));
        }
        if let Some(w) = &self.class_weights {
            if w.len() != classes {
                return Err(OptimError::Config(format!(
                    "class_weights: {} weights given for {classes} classes",
                    w.len()
                )));
            }
            if let Some(bad) = w.iter().find(|x| !(x.is_finite() && **x >= 0.0)) {
                return Err(OptimError::Config(format!(
                    "class_weights: weight {bad} is not a finite number >= 0"
                )));
            }
            if w.iter().all(|&x| x == 0.0) {
                return Err(OptimError::Config(
                    "class_weights: every weight is 0, so no target would count in the loss".into(),
                ));
            }
        }
        Ok(())
    }
}

/// The number of labels that are not [`IGNORE_INDEX`].
pub fn count_targets(labels: &Tensor) -> i64 {
    labels.ne(IGNORE_INDEX).sum(Kind::Int64).int64_value(&[])
}

/// scikit-learn's `compute_class_weight('balanced')`: `n_samples / (n_classes · count_c)`, from
/// the number of training examples (or counted tokens) of each class.
///
/// Errors when a class never occurs (its weight would be infinite; scikit-learn refuses too).
pub fn balanced_class_weights(label_counts: &[usize]) -> Result<Vec<f64>, OptimError> {
    if let Some(c) = label_counts.iter().position(|&n| n == 0) {
        return Err(OptimError::Config(format!(
            "class {c} has no examples in the training data, so its balanced weight would be \
             infinite; give explicit class weights ({} classes)",
            label_counts.len()
        )));
    }
    let total: usize = label_counts.iter().sum();
    let classes = label_counts.len() as f64;
    Ok(label_counts
        .iter()
        .map(|&n| total as f64 / (classes * n as f64))
        .collect())
}

/// The value of `--class-weights`: `auto` or a comma-separated list. In JSON it is that string
/// (`"auto"`, `"1,2.5"`), checked when read.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassWeights {
    /// Inverse class frequency, from the training labels ([`balanced_class_weights`]).
    Auto,
    Explicit(Vec<f64>),
}

impl ClassWeights {
    pub fn parse(text: &str) -> Result<ClassWeights, OptimError> {
        if text.trim() == "auto" {
            return Ok(ClassWeights::Auto);
        }
        let weights: Vec<f64> = text
            .split(',')
            .map(|w| {
                let w = w.trim();
                w.parse::<f64>()
                    .ok()
                    .filter(|v| *v >= 0.0 && v.is_finite())
                    .ok_or_else(|| {
                        OptimError::Config(format!(
                            "class_weights: `{w}` in `{text}` is not a finite number >= 0 \
                             (expected `auto` or `w1,w2,...`)"
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        // A loss whose every target weighs 0 divides 0 by 0.
        if weights.iter().all(|&x| x == 0.0) {
            return Err(OptimError::Config(format!(
                "class_weights `{text}`: every weight is 0, so no example would count in the loss"
            )));
        }
        Ok(ClassWeights::Explicit(weights))
    }

    /// The weights for a task whose training labels have these per-class counts.
    pub fn resolve(&self, label_counts: &[usize]) -> Result<Vec<f64>, OptimError> {
        match self {
            ClassWeights::Auto => balanced_class_weights(label_counts),
            ClassWeights::Explicit(w) if w.len() == label_counts.len() => Ok(w.clone()),
            ClassWeights::Explicit(w) => Err(OptimError::Config(format!(
                "class_weights: {} weights given for {} classes",
                w.len(),
                label_counts.len()
            ))),
        }
    }
}

impl std::fmt::Display for ClassWeights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClassWeights::Auto => f.write_str("auto"),
            ClassWeights::Explicit(w) => {
                let parts: Vec<String> = w.iter().map(f64::to_string).collect();
                f.write_str(&parts.join(","))
            }
        }
    }
}

impl std::str::FromStr for ClassWeights {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        ClassWeights::parse(text).map_err(|e| e.to_string())
    }
}

impl serde::Serialize for ClassWeights {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ClassWeights {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_weights_are_sklearns() {
        // sklearn: compute_class_weight('balanced', classes=[0,1,2], y=[0]*6+[1]*3+[2]) =
        // 10 / (3 · [6, 3, 1]).
        let w = balanced_class_weights(&[6, 3, 1]).unwrap();
        let want = [10.0 / 18.0, 10.0 / 9.0, 10.0 / 3.0];
        assert!(
            w.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12),
            "{w:?}"
        );
        let e = balanced_class_weights(&[4, 0]).unwrap_err().to_string();
        assert!(e.contains("class 1"), "{e}");
    }

    #[test]
    fn class_weights_parse_and_resolve() {
        assert_eq!(ClassWeights::parse("auto").unwrap(), ClassWeights::Auto);
        let w = ClassWeights::parse("1, 2.5,0").unwrap();
        assert_eq!(w, ClassWeights::Explicit(vec![1.0, 2.5, 0.0]));
        let e = w.resolve(&[3, 3]).unwrap_err().to_string();
        assert!(
            e.contains("class_weights: 3 weights given for 2 classes"),
            "{e}"
        );
        let e = ClassWeights::parse("1,x").unwrap_err().to_string();
        assert!(e.contains("class_weights: `x`"), "{e}");
        let e = ClassWeights::parse("1,nan").unwrap_err().to_string();
        assert!(e.contains("`nan`"), "{e}");
    }

    #[test]
    fn ignored_labels_do_not_count_and_sum_is_per_target() {
        let logits = Tensor::from_slice(&[0.0f32, 0.0, 0.0, 0.0, 0.0, 0.0]).view([3, 2]);
        let labels = Tensor::from_slice(&[0i64, IGNORE_INDEX, 1]);
        let (sum, n) = cross_entropy_sum(&logits, &labels, &LossOptions::default()).unwrap();
        assert_eq!(n, 2.0);
        assert_eq!(count_targets(&labels), 2);
        // Uniform logits: ln 2 per counted target.
        assert!((sum.double_value(&[]) - 2.0 * 2f64.ln()).abs() < 1e-6);
    }

    #[test]
    fn bad_options_are_errors_not_panics() {
        let logits = Tensor::from_slice(&[0.0f32, 0.0, 0.0, 0.0]).view([2, 2]);
        let labels = Tensor::from_slice(&[0i64, 1]);
        let loss = |opts: LossOptions| {
            cross_entropy_sum(&logits, &labels, &opts)
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        let e = loss(LossOptions {
            class_weights: Some(vec![1.0, 2.0, 3.0]),
            ..Default::default()
        });
        assert!(
            e.contains("class_weights: 3 weights given for 2 classes"),
            "{e}"
        );
        let e = loss(LossOptions {
            label_smoothing: 2.0,
            ..Default::default()
        });
        assert!(
            e.contains("label_smoothing_factor must be in [0, 1), got 2"),
            "{e}"
        );
        let e = loss(LossOptions {
            class_weights: Some(vec![0.0, 0.0]),
            ..Default::default()
        });
        assert!(e.contains("every weight is 0"), "{e}");
        let e = loss(LossOptions {
            class_weights: Some(vec![f64::NAN, 1.0]),
            ..Default::default()
        });
        assert!(e.contains("weight NaN"), "{e}");
        // A label outside 0..C is libtorch's error, returned rather than panicking.
        let out_of_range = Tensor::from_slice(&[0i64, 5]);
        assert!(cross_entropy_sum(&logits, &out_of_range, &LossOptions::default()).is_err());
    }
}
