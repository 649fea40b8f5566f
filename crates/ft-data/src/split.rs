//! Deterministic train/validation/test selection.
//!
//! The rows are shuffled with [`PyRandom`] — the same algorithm as Python's
//! `random.Random(seed).shuffle(rows)` — and then cut in order: the first `train` rows, the next
//! `validation` rows, the next `test` rows. With counts 1000/1000/1000 and the reference's seed
//! this selects exactly the rows of the reference recipe (`rows[:1000]`, `rows[1000:2000]`,
//! `rows[2000:3000]`); rows beyond the three counts are not used, like `select(range(1000))`.
//!
//! With fractions the cut points are `floor(f_train·n)` and `floor((f_train+f_val)·n)`; when the
//! three fractions add up to 1 the test split takes every remaining row (`xs[int(.9*n):]`).

use crate::error::{DataError, Result};
use crate::rng::PyRandom;

/// How many rows each split gets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SplitSizes {
    /// Exact row counts (`--train-size 1000 --validation-size 1000 --test-size 1000`).
    Counts {
        train: usize,
        validation: usize,
        test: usize,
    },
    /// Shares of all rows, each in `[0, 1]`, adding up to at most 1.
    Fractions {
        train: f64,
        validation: f64,
        test: f64,
    },
}

/// The three splits.
#[derive(Debug, Clone, PartialEq)]
pub struct Splits<T> {
    pub train: Vec<T>,
    pub validation: Vec<T>,
    pub test: Vec<T>,
}

/// Shuffles `items` as `random.Random(seed).shuffle` would.
pub fn shuffle_seeded<T>(items: &mut [T], seed: u64) {
    PyRandom::new(seed).shuffle(items);
}

/// Shuffles with `seed` and cuts into train/validation/test.
///
/// Errors when counts exceed the rows available, fractions are out of range (or not numbers),
/// the training split would be empty (whatever was asked: nothing can train on it), or a
/// validation / test split that was asked for (non-zero size) ends up empty.
pub fn split_seeded<T>(mut items: Vec<T>, seed: u64, sizes: SplitSizes) -> Result<Splits<T>> {
    let n = items.len();
    let (b1, b2, b3) = match sizes {
        SplitSizes::Counts {
            train,
            validation,
            test,
        } => {
            let total = train + validation + test;
            if total > n {
                return Err(DataError::Invalid(format!(
                    "split sizes {train} + {validation} + {test} = {total} exceed the {n} rows available"
                )));
            }
            (train, train + validation, total)
        }
        SplitSizes::Fractions {
            train,
            validation,
            test,
        } => {
            let fs = [train, validation, test];
            // `contains` is false for NaN, so a NaN fraction is refused here too.
            if fs.iter().any(|f| !(0.0..=1.0).contains(f)) || fs.iter().sum::<f64>() > 1.0 + 1e-9 {
                return Err(DataError::Invalid(format!(
                    "split fractions {train}/{validation}/{test} must lie in [0, 1] and add up to at most 1"
                )));
            }
            let cut = |f: f64| ((f * n as f64).floor() as usize).min(n);
            let end = if (train + validation + test - 1.0).abs() < 1e-9 {
                n
            } else {
                cut(train + validation + test)
            };
            (cut(train), cut(train + validation), end)
        }
    };
    let asked = match sizes {
        SplitSizes::Counts {
            validation, test, ..
        } => [true, validation > 0, test > 0],
        SplitSizes::Fractions {
            validation, test, ..
        } => [true, validation > 0.0, test > 0.0],
    };
    for ((name, len), wanted) in ["train", "validation", "test"]
        .iter()
        .zip([b1, b2 - b1, b3 - b2])
        .zip(asked)
    {
        if wanted && len == 0 {
            return Err(DataError::EmptySplit {
                split: (*name).into(),
                detail: format!("{n} rows are too few for the requested sizes {sizes:?}"),
            });
        }
    }
    shuffle_seeded(&mut items, seed);
    items.truncate(b3);
    let test = items.split_off(b2);
    let validation = items.split_off(b1);
    Ok(Splits {
        train: items,
        validation,
        test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_consecutive_rows_of_the_python_shuffle() {
        let s = split_seeded(
            (0..20).collect::<Vec<u32>>(),
            42,
            SplitSizes::Counts {
                train: 5,
                validation: 5,
                test: 5,
            },
        )
        .unwrap();
        // random.Random(42).shuffle(list(range(20))) in CPython 3.11.
        assert_eq!(s.train, [19, 5, 14, 4, 9]);
        assert_eq!(s.validation, [13, 15, 18, 6, 12]);
        assert_eq!(s.test, [17, 10, 1, 11, 2]);
    }

    #[test]
    fn fractions_give_the_rest_to_test() {
        let s = split_seeded(
            (0..101).collect::<Vec<u32>>(),
            7,
            SplitSizes::Fractions {
                train: 0.8,
                validation: 0.1,
                test: 0.1,
            },
        )
        .unwrap();
        assert_eq!(
            (s.train.len(), s.validation.len(), s.test.len()),
            (80, 10, 11)
        );
        let mut all: Vec<u32> = [s.train, s.validation, s.test].concat();
        all.sort();
        assert_eq!(all, (0..101).collect::<Vec<_>>());
    }

    #[test]
    fn impossible_sizes_are_errors() {
        let too_many = SplitSizes::Counts {
            train: 8,
            validation: 2,
            test: 1,
        };
        assert!(split_seeded(vec![0; 10], 0, too_many).is_err());
        let tiny = SplitSizes::Fractions {
            train: 0.8,
            validation: 0.1,
            test: 0.1,
        };
        let err = split_seeded(vec![0; 5], 0, tiny).unwrap_err();
        assert!(
            matches!(&err, DataError::EmptySplit { split, .. } if split == "validation"),
            "{err}"
        );
        let bad = SplitSizes::Fractions {
            train: 0.9,
            validation: 0.2,
            test: 0.0,
        };
        assert!(split_seeded(vec![0; 100], 0, bad).is_err());
        let nan = SplitSizes::Fractions {
            train: f64::NAN,
            validation: 0.1,
            test: 0.1,
        };
        assert!(split_seeded(vec![0; 100], 0, nan).is_err());
    }

    #[test]
    fn an_empty_training_split_is_an_error() {
        let no_train = SplitSizes::Fractions {
            train: 0.0,
            validation: 0.5,
            test: 0.5,
        };
        let err = split_seeded(vec![0; 10], 0, no_train).unwrap_err();
        assert!(
            matches!(&err, DataError::EmptySplit { split, .. } if split == "train"),
            "{err}"
        );
        let counts = SplitSizes::Counts {
            train: 0,
            validation: 3,
            test: 3,
        };
        let err = split_seeded(vec![0; 10], 0, counts).unwrap_err();
        assert!(
            err.to_string().contains("the train split is empty"),
            "{err}"
        );
        // Fractions that floor to no training row at all on a tiny set.
        let tiny = SplitSizes::Fractions {
            train: 0.4,
            validation: 0.3,
            test: 0.3,
        };
        let err = split_seeded(vec![0; 2], 0, tiny).unwrap_err();
        assert!(err.to_string().contains("train split is empty"), "{err}");
    }
}
