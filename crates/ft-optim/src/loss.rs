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
/// Panics when `class_weights` does not have one weight per class (check it once at startup
/// with [`ClassWeights::resolve`]).
pub fn cross_entropy_sum(logits: &Tensor, labels: &Tensor, opts: &LossOptions) -> (Tensor, f64) {
    let classes = *logits.size().last().expect("logits have a class dimension");
    let logits = logits.reshape([-1, classes]);
    let labels = labels.reshape([-1]);
    let weights = opts.class_weights.as_ref().map(|w| {
        assert_eq!(
            w.len() as i64,
            classes,
            "{} class weights given for {classes} classes",
            w.len()
        );
        Tensor::from_slice(w)
            .to_kind(logits.kind())
            .to_device(logits.device())
    });
    let sum = logits.cross_entropy_loss(
        &labels,
        weights.as_ref(),
        Reduction::Sum,
        IGNORE_INDEX,
        opts.label_smoothing,
    );
    let counted = labels.ne(IGNORE_INDEX);
    let normaliser = match &weights {
        None => counted.sum(Kind::Int64).int64_value(&[]) as f64,
        Some(w) => {
            let safe = labels.where_scalarother(&counted, 0);
            let per_target = w.to_kind(Kind::Double).index_select(0, &safe);
            (per_target * counted.to_kind(Kind::Double))
                .sum(Kind::Double)
                .double_value(&[])
        }
    };
    (sum, normaliser)
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

/// The value of `--class-weights`: `auto` or a comma-separated list.
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
        let weights = text
            .split(',')
            .map(|w| {
                let w = w.trim();
                w.parse::<f64>()
                    .ok()
                    .filter(|v| *v >= 0.0 && v.is_finite())
                    .ok_or_else(|| {
                        OptimError::Config(format!(
                            "class weight `{w}` in `{text}` is not a number >= 0 (expected \
                             `auto` or `w1,w2,...`)"
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ClassWeights::Explicit(weights))
    }

    /// The weights for a task whose training labels have these per-class counts.
    pub fn resolve(&self, label_counts: &[usize]) -> Result<Vec<f64>, OptimError> {
        match self {
            ClassWeights::Auto => balanced_class_weights(label_counts),
            ClassWeights::Explicit(w) if w.len() == label_counts.len() => Ok(w.clone()),
            ClassWeights::Explicit(w) => Err(OptimError::Config(format!(
                "{} class weights given for {} classes",
                w.len(),
                label_counts.len()
            ))),
        }
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
        assert!(e.contains("3 class weights given for 2 classes"), "{e}");
        let e = ClassWeights::parse("1,x").unwrap_err().to_string();
        assert!(e.contains("`x`"), "{e}");
    }

    #[test]
    fn ignored_labels_do_not_count_and_sum_is_per_target() {
        let logits = Tensor::from_slice(&[0.0f32, 0.0, 0.0, 0.0, 0.0, 0.0]).view([3, 2]);
        let labels = Tensor::from_slice(&[0i64, IGNORE_INDEX, 1]);
        let (sum, n) = cross_entropy_sum(&logits, &labels, &LossOptions::default());
        assert_eq!(n, 2.0);
        assert_eq!(count_targets(&labels), 2);
        // Uniform logits: ln 2 per counted target.
        assert!((sum.double_value(&[]) - 2.0 * 2f64.ln()).abs() < 1e-6);
    }
}
