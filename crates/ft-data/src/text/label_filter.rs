//! Renaming and dropping raw label values at read time.
//!
//! Data sets often carry more categories than the task needs, or names that are not the ones
//! the model should learn. The Rotten Tomatoes corpus, for instance, has
//! `category ∈ {fresh, rotten, plot}`; the sentiment task keeps `fresh → positive`,
//! `rotten → negative` and drops the `plot` rows. That is expressed with a filter, not with
//! special-case code:
//!
//! ```
//! use ft_data::text::LabelFilter;
//! let f = LabelFilter::parse("fresh=positive,rotten=negative,plot=").unwrap();
//! assert_eq!(f.apply("fresh"), Some(Some("positive")));
//! assert_eq!(f.apply("plot"), Some(None)); // dropped
//! assert_eq!(f.apply("meh"), None);        // not covered: the reader reports an error
//! ```

use crate::error::{DataError, Result};
use std::collections::BTreeMap;

/// What happens to each raw label value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelFilter {
    /// raw value → `Some(new name)` (keep, renamed) or `None` (drop the row).
    rules: BTreeMap<String, Option<String>>,
    /// Whether values without a rule are kept unchanged. Off by default so that a typo or an
    /// unexpected category in the data is an error rather than a silent extra class.
    keep_others: bool,
}

impl LabelFilter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps rows whose label is `raw`, relabelled as `name`.
    pub fn rename(mut self, raw: &str, name: &str) -> Self {
        self.rules.insert(raw.to_owned(), Some(name.to_owned()));
        self
    }

    /// Drops rows whose label is `raw`.
    pub fn drop(mut self, raw: &str) -> Self {
        self.rules.insert(raw.to_owned(), None);
        self
    }

    /// Keeps rows whose label has no rule, unchanged.
    pub fn keep_others(mut self) -> Self {
        self.keep_others = true;
        self
    }

    /// Parses the command-line form `raw=name,raw2=name2,dropped=` (empty name drops the row;
    /// a bare `raw` keeps it unchanged; a trailing `,*` keeps all other values).
    pub fn parse(spec: &str) -> Result<Self> {
        let mut f = LabelFilter::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "*" {
                f.keep_others = true;
                continue;
            }
            match part.split_once('=') {
                Some((raw, name)) if !raw.trim().is_empty() => {
                    let name = name.trim();
                    f.rules.insert(
                        raw.trim().to_owned(),
                        (!name.is_empty()).then(|| name.to_owned()),
                    );
                }
                Some(_) => {
                    return Err(DataError::Invalid(format!(
                        "label filter `{spec}`: `{part}` has no raw value before `=`"
                    )))
                }
                None => {
                    f.rules.insert(part.to_owned(), Some(part.to_owned()));
                }
            }
        }
        Ok(f)
    }

    /// `Some(Some(name))`: keep as `name`; `Some(None)`: drop the row; `None`: not covered.
    pub fn apply<'a>(&'a self, raw: &'a str) -> Option<Option<&'a str>> {
        match self.rules.get(raw) {
            Some(rule) => Some(rule.as_deref()),
            None if self.keep_others => Some(Some(raw)),
            None => None,
        }
    }

    /// Applies the filter to examples that already carry class labels (folder-per-class data,
    /// where the reader cannot filter as it goes): renames, drops, or fails on an uncovered
    /// class, naming it and where it was found.
    pub fn filter_examples(&self, examples: Vec<super::Example>) -> Result<Vec<super::Example>> {
        let mut kept = Vec::with_capacity(examples.len());
        for mut example in examples {
            if let super::Target::Class(raw) = &example.target {
                match self.apply(raw) {
                    Some(Some(name)) => example.target = super::Target::Class(name.to_owned()),
                    Some(None) => continue,
                    None => {
                        return Err(DataError::UnmappedLabel {
                            path: example.location.file.to_path_buf(),
                            line: example.location.line,
                            value: raw.clone(),
                            known: self.known(),
                        })
                    }
                }
            }
            kept.push(example);
        }
        Ok(kept)
    }

    /// The raw values with a rule, for error messages.
    pub fn known(&self) -> String {
        self.rules.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_builds_the_same_filter_as_the_builder() {
        let built = LabelFilter::new()
            .rename("fresh", "positive")
            .rename("rotten", "negative")
            .drop("plot");
        assert_eq!(
            LabelFilter::parse(" fresh=positive, rotten=negative ,plot=").unwrap(),
            built
        );
        let f = LabelFilter::parse("a,b=B,*").unwrap();
        assert_eq!(f.apply("a"), Some(Some("a")));
        assert_eq!(f.apply("b"), Some(Some("B")));
        assert_eq!(f.apply("zzz"), Some(Some("zzz")));
        assert!(LabelFilter::parse("=x").is_err());
    }

    #[test]
    fn filtering_folder_examples_renames_drops_and_names_uncovered_classes() {
        use crate::text::{Example, Location, Target, TextInput};
        let file: std::sync::Arc<std::path::Path> =
            std::sync::Arc::from(std::path::Path::new("train/unsup/1.txt"));
        let ex = |class: &str| Example {
            input: TextInput::Single("text".into()),
            target: Target::Class(class.into()),
            location: Location::new(file.clone(), 1),
        };
        let f = LabelFilter::parse("pos=positive,neg=negative,unsup=").unwrap();
        let kept = f
            .filter_examples(vec![ex("pos"), ex("unsup"), ex("neg")])
            .unwrap();
        let names: Vec<_> = kept.iter().map(|e| e.target.clone()).collect();
        assert_eq!(
            names,
            vec![
                Target::Class("positive".into()),
                Target::Class("negative".into())
            ]
        );
        let err = f
            .filter_examples(vec![ex("maybe")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("maybe") && err.contains("train/unsup/1.txt"),
            "{err}"
        );
    }
}
