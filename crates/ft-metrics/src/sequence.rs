//! Entity-level precision / recall / F1 for sequence labelling (NER), as
//! seqeval computes them, plus token accuracy.
//!
//! An entity counts as correct only when type, start and end all match.
//! Averages follow seqeval: micro (its `f1_score` default), macro, and
//! weighted by each type's number of reference entities.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::chunking::{entities, parse_tag, Entity, Mode, Tag};
use crate::input::check_same_len;
use crate::prf::{self, Counts, FFormula, Scores, ZeroDivision};
use crate::MetricError;

/// Streams tagged sentences and reports entity-level scores.
///
/// ```
/// use ft_metrics::{Mode, Scheme, SequenceAccumulator};
///
/// let mut acc = SequenceAccumulator::new(Mode::Strict(Scheme::Iob2));
/// acc.update(&[vec!["B-PER", "I-PER", "O"]], &[vec!["B-PER", "I-PER", "O"]])?;
/// assert_eq!(acc.compute()?.micro.f1, 1.0);
/// # Ok::<(), ft_metrics::MetricError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SequenceAccumulator {
    mode: Mode,
    zero_division: ZeroDivision,
    counts: BTreeMap<String, Counts>,
    sentences: u64,
    tokens: u64,
    correct_tokens: u64,
}

impl SequenceAccumulator {
    /// An empty accumulator reading entities under `mode`.
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            zero_division: ZeroDivision::Zero,
            counts: BTreeMap::new(),
            sentences: 0,
            tokens: 0,
            correct_tokens: 0,
        }
    }

    /// Sets the value of undefined ratios (default [`ZeroDivision::Zero`]).
    pub fn with_zero_division(mut self, zero_division: ZeroDivision) -> Self {
        self.zero_division = zero_division;
        self
    }

    /// Adds a batch of sentences: predicted tags and reference tags.
    ///
    /// Accepts anything shaped like `&[Vec<String>]`, `&[Vec<&str>]` or
    /// `&[&[&str]]`. Every sentence must have as many predicted tags as
    /// reference tags; every tag must parse (see [`Mode`]).
    pub fn update<S, P, R>(
        &mut self,
        predictions: &[P],
        references: &[R],
    ) -> Result<(), MetricError>
    where
        S: AsRef<str>,
        P: AsRef<[S]>,
        R: AsRef<[S]>,
    {
        check_same_len(
            "predictions",
            predictions.len(),
            "references",
            references.len(),
        )?;
        // Parse the whole batch before counting anything, so a bad tag leaves
        // the accumulator untouched.
        let mut parsed: Vec<(Vec<Entity>, Vec<Entity>)> = Vec::with_capacity(predictions.len());
        for (s, (p, r)) in predictions.iter().zip(references).enumerate() {
            let (p, r) = (p.as_ref(), r.as_ref());
            if p.len() != r.len() {
                return Err(MetricError::SentenceLengthMismatch {
                    sentence: s,
                    pred_len: p.len(),
                    ref_len: r.len(),
                });
            }
            let pe = self.sentence_entities("predictions", s, p)?;
            let re = self.sentence_entities("references", s, r)?;
            parsed.push((pe, re));
        }

        let mut batch: BTreeMap<&str, Counts> = BTreeMap::new();
        for (mut pe, mut re) in parsed {
            for e in &pe {
                batch.entry(e.kind).or_default().predicted += 1;
            }
            for e in &re {
                batch.entry(e.kind).or_default().actual += 1;
            }
            pe.sort_unstable();
            re.sort_unstable();
            let (mut i, mut j) = (0, 0);
            while i < pe.len() && j < re.len() {
                match pe[i].cmp(&re[j]) {
                    std::cmp::Ordering::Less => i += 1,
                    std::cmp::Ordering::Greater => j += 1,
                    std::cmp::Ordering::Equal => {
                        batch.entry(pe[i].kind).or_default().true_positives += 1;
                        i += 1;
                        j += 1;
                    }
                }
            }
        }
        for (kind, c) in batch {
            match self.counts.get_mut(kind) {
                Some(total) => total.add(c),
                None => {
                    self.counts.insert(kind.to_string(), c);
                }
            }
        }
        for (p, r) in predictions.iter().zip(references) {
            let (p, r) = (p.as_ref(), r.as_ref());
            self.tokens += p.len() as u64;
            self.correct_tokens += p
                .iter()
                .zip(r)
                .filter(|(a, b)| a.as_ref() == b.as_ref())
                .count() as u64;
        }
        self.sentences += predictions.len() as u64;
        Ok(())
    }

    fn sentence_entities<'a, S: AsRef<str>>(
        &self,
        argument: &'static str,
        sentence: usize,
        tags: &'a [S],
    ) -> Result<Vec<Entity<'a>>, MetricError> {
        let parsed = tags
            .iter()
            .enumerate()
            .map(|(position, t)| {
                parse_tag(t.as_ref(), self.mode).map_err(|reason| MetricError::InvalidTag {
                    argument,
                    sentence,
                    position,
                    tag: t.as_ref().to_string(),
                    reason,
                })
            })
            .collect::<Result<Vec<Tag>, _>>()?;
        Ok(entities(&parsed, self.mode))
    }

    /// Forgets everything accumulated; the configuration is kept.
    pub fn reset(&mut self) {
        self.counts.clear();
        self.sentences = 0;
        self.tokens = 0;
        self.correct_tokens = 0;
    }

    /// Entity scores over everything accumulated since `new` or `reset`.
    ///
    /// Errors with [`MetricError::Empty`] when no token was seen (token
    /// accuracy would be 0/0).
    pub fn compute(&self) -> Result<SequenceReport, MetricError> {
        if self.tokens == 0 {
            return Err(MetricError::Empty {
                metric: "sequence labelling",
            });
        }
        let zd = self.zero_division;
        let counts: Vec<Counts> = self.counts.values().copied().collect();
        let avgs = prf::averages(&counts, zd, FFormula::Harmonic);
        let per_type = self
            .counts
            .iter()
            .map(|(kind, c)| EntityScores {
                entity_type: kind.clone(),
                scores: prf::scores(*c, zd, FFormula::Harmonic),
                predicted: c.predicted,
                correct: c.true_positives,
            })
            .collect();
        Ok(SequenceReport {
            mode: self.mode,
            zero_division: zd,
            num_sentences: self.sentences,
            num_tokens: self.tokens,
            token_accuracy: self.correct_tokens as f64 / self.tokens as f64,
            per_type,
            micro: avgs.micro,
            macro_avg: avgs.macro_avg,
            weighted: avgs.weighted,
        })
    }
}

/// Scores of one entity type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityScores {
    pub entity_type: String,
    #[serde(flatten)]
    pub scores: Scores,
    /// Entities of this type in the predictions.
    pub predicted: u64,
    /// Predicted entities of this type that match a reference exactly.
    pub correct: u64,
}

/// Everything [`SequenceAccumulator::compute`] reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceReport {
    pub mode: Mode,
    pub zero_division: ZeroDivision,
    pub num_sentences: u64,
    pub num_tokens: u64,
    /// Fraction of tokens whose predicted tag string equals the reference.
    pub token_accuracy: f64,
    /// One row per type found in references or predictions, sorted by name.
    pub per_type: Vec<EntityScores>,
    /// Over all entities; seqeval's default `precision/recall/f1_score`.
    pub micro: Scores,
    /// Mean over types; the zero-division value when there is no type at all.
    #[serde(rename = "macro")]
    pub macro_avg: Scores,
    pub weighted: Scores,
}

impl SequenceReport {
    /// Flat `name -> value` view: `entity_{precision,recall,f1}` (micro),
    /// `entity_{precision,recall,f1}_{macro,weighted}`, `token_accuracy`.
    pub fn scalars(&self) -> BTreeMap<String, f64> {
        let mut m = BTreeMap::new();
        for (suffix, s) in [
            ("", &self.micro),
            ("_macro", &self.macro_avg),
            ("_weighted", &self.weighted),
        ] {
            m.insert(format!("entity_precision{suffix}"), s.precision);
            m.insert(format!("entity_recall{suffix}"), s.recall);
            m.insert(format!("entity_f1{suffix}"), s.f1);
        }
        m.insert("token_accuracy".to_string(), self.token_accuracy);
        m
    }
}
