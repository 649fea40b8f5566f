//! CSV/TSV reader with a column mapping.
//!
//! A [`CsvSpec`] says which column holds the text (and optionally the second text of a sentence
//! pair) and which holds the label. Quoted fields may contain delimiters, doubled quotes and
//! newlines (the Rotten Tomatoes plot summaries do); the example's [`Location`] is the line on
//! which its record starts, plus the 0-based data row.
//!
//! Rotten Tomatoes, as the reference recipe reads it:
//!
//! ```no_run
//! use ft_data::text::{read_csv, CsvSpec, LabelFilter};
//! let spec = CsvSpec::new("text")
//!     .label("category")
//!     .filter(LabelFilter::parse("fresh=positive,rotten=negative,plot=").unwrap());
//! let examples = read_csv("rotten_tomatoes_corpus.csv.bz2".as_ref(), &spec).unwrap();
//! ```

use super::{Example, LabelFilter, Location, Target, TextInput};
use crate::error::{DataError, Result};
use crate::source;
use std::path::Path;
use std::sync::Arc;

/// A column, by header name or by 0-based position (for header-less files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Name(String),
    Index(usize),
}

impl From<&str> for Column {
    fn from(s: &str) -> Self {
        Column::Name(s.to_owned())
    }
}

impl From<usize> for Column {
    fn from(i: usize) -> Self {
        Column::Index(i)
    }
}

/// How the label column is interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabelKind {
    /// A class name (any string; numbers are kept as their text, e.g. `"0"`, `"1"`).
    #[default]
    Class,
    /// A floating-point regression target.
    Value,
}

/// The column mapping of a CSV/TSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvSpec {
    /// Field delimiter; `None` picks tab for `*.tsv[.gz|.bz2]` and comma otherwise.
    pub delimiter: Option<u8>,
    /// Whether the first record is a header. Needed for [`Column::Name`].
    pub has_headers: bool,
    pub text: Column,
    /// Second text of a sentence pair.
    pub text_pair: Option<Column>,
    /// Label column; `None` reads unlabelled examples (prediction input).
    pub label: Option<Column>,
    pub label_kind: LabelKind,
    /// Renames/drops class values (ignored for [`LabelKind::Value`]).
    pub label_filter: Option<LabelFilter>,
}

impl CsvSpec {
    /// A headed file with the text in `text`, no label yet.
    pub fn new(text: impl Into<Column>) -> Self {
        CsvSpec {
            delimiter: None,
            has_headers: true,
            text: text.into(),
            text_pair: None,
            label: None,
            label_kind: LabelKind::Class,
            label_filter: None,
        }
    }

    pub fn label(mut self, column: impl Into<Column>) -> Self {
        self.label = Some(column.into());
        self
    }

    pub fn pair(mut self, column: impl Into<Column>) -> Self {
        self.text_pair = Some(column.into());
        self
    }

    /// The label column holds numbers to regress on.
    pub fn regression(mut self) -> Self {
        self.label_kind = LabelKind::Value;
        self
    }

    pub fn filter(mut self, filter: LabelFilter) -> Self {
        self.label_filter = Some(filter);
        self
    }

    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = Some(delimiter);
        self
    }

    pub fn no_headers(mut self) -> Self {
        self.has_headers = false;
        self
    }

    fn delimiter_for(&self, path: &Path) -> u8 {
        if let Some(d) = self.delimiter {
            return d;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let stem = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".bz2"))
            .unwrap_or(&name);
        if stem.ends_with(".tsv") {
            b'\t'
        } else {
            b','
        }
    }
}

/// A resolved column: its index and a name for messages.
struct Resolved {
    index: usize,
    name: String,
}

fn resolve(column: &Column, header: Option<&[String]>, path: &Path) -> Result<Resolved> {
    match (column, header) {
        (Column::Index(i), Some(h)) => Ok(Resolved {
            index: *i,
            name: h.get(*i).cloned().unwrap_or_else(|| format!("#{i}")),
        }),
        (Column::Index(i), None) => Ok(Resolved {
            index: *i,
            name: format!("#{i}"),
        }),
        (Column::Name(n), Some(h)) => match h.iter().position(|c| c == n) {
            Some(index) => Ok(Resolved {
                index,
                name: n.clone(),
            }),
            None => Err(DataError::UnknownColumn {
                path: path.to_path_buf(),
                column: n.clone(),
                available: h.join(", "),
            }),
        },
        (Column::Name(n), None) => Err(DataError::Invalid(format!(
            "{}: column `{n}` is given by name but the file is read without a header",
            path.display()
        ))),
    }
}

/// Reads every example of a CSV/TSV file (plain, `.gz` or `.bz2`) according to `spec`.
///
/// Errors (never panics) on: a missing file, a column name not in the header, a row too short
/// for a mapped column, invalid UTF-8 in a mapped field, a label value not covered by the
/// filter, a non-numeric regression target, and a file with no example left.
pub fn read_csv(path: &Path, spec: &CsvSpec) -> Result<Vec<Example>> {
    let file: Arc<Path> = Arc::from(path);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(spec.delimiter_for(path))
        .has_headers(false)
        .flexible(true)
        .from_reader(source::open(path)?);
    let mut record = csv::ByteRecord::new();
    let csv_err = |e: csv::Error| -> DataError {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        match e.into_kind() {
            csv::ErrorKind::Io(io) => DataError::io(path, io),
            other => DataError::Syntax {
                path: path.to_path_buf(),
                line,
                message: format!("{other:?}"),
            },
        }
    };

    let header: Option<Vec<String>> = if spec.has_headers {
        if !reader.read_byte_record(&mut record).map_err(csv_err)? {
            return Err(DataError::EmptySplit {
                split: "input".into(),
                detail: format!("{} has no header and no rows", path.display()),
            });
        }
        let mut names = Vec::with_capacity(record.len());
        for (i, f) in record.iter().enumerate() {
            let s = std::str::from_utf8(f).map_err(|_| DataError::InvalidUtf8 {
                path: path.to_path_buf(),
                line: 1,
                field: Some(format!("header #{i}")),
            })?;
            // Excel writes a byte-order mark in front of the first header name.
            names.push(s.trim_start_matches('\u{feff}').to_owned());
        }
        Some(names)
    } else {
        None
    };
    let h = header.as_deref();
    let text_col = resolve(&spec.text, h, path)?;
    let pair_col = spec
        .text_pair
        .as_ref()
        .map(|c| resolve(c, h, path))
        .transpose()?;
    let label_col = spec
        .label
        .as_ref()
        .map(|c| resolve(c, h, path))
        .transpose()?;

    let mut examples = Vec::new();
    let mut row: u64 = 0;
    while reader.read_byte_record(&mut record).map_err(csv_err)? {
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let field = |col: &Resolved| -> Result<&str> {
            let bytes = record
                .get(col.index)
                .ok_or_else(|| DataError::MissingColumn {
                    path: path.to_path_buf(),
                    line,
                    row,
                    column: col.name.clone(),
                    found: record.len(),
                })?;
            std::str::from_utf8(bytes).map_err(|_| DataError::InvalidUtf8 {
                path: path.to_path_buf(),
                line,
                field: Some(col.name.clone()),
            })
        };
        let target = match &label_col {
            None => Target::None,
            Some(col) => {
                let raw = field(col)?;
                match spec.label_kind {
                    LabelKind::Value => {
                        let v = raw.trim().parse::<f32>().map_err(|_| DataError::BadField {
                            path: path.to_path_buf(),
                            line,
                            field: col.name.clone(),
                            message: format!("cannot parse {raw:?} as a number"),
                        })?;
                        Target::Value(v)
                    }
                    LabelKind::Class => match &spec.label_filter {
                        None => Target::Class(raw.to_owned()),
                        Some(f) => match f.apply(raw) {
                            Some(Some(name)) => Target::Class(name.to_owned()),
                            Some(None) => {
                                row += 1;
                                continue;
                            }
                            None => {
                                return Err(DataError::UnmappedLabel {
                                    path: path.to_path_buf(),
                                    line,
                                    value: raw.to_owned(),
                                    known: f.known(),
                                })
                            }
                        },
                    },
                }
            }
        };
        let text = field(&text_col)?.to_owned();
        let input = match &pair_col {
            None => TextInput::Single(text),
            Some(col) => TextInput::Pair(text, field(col)?.to_owned()),
        };
        examples.push(Example {
            input,
            target,
            location: Location {
                file: file.clone(),
                line,
                row: Some(row),
            },
        });
        row += 1;
    }
    if examples.is_empty() {
        return Err(DataError::EmptySplit {
            split: "input".into(),
            detail: format!(
                "{} has {row} data row(s) and none is left after the label filter",
                path.display()
            ),
        });
    }
    Ok(examples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn text(e: &Example) -> &str {
        match &e.input {
            TextInput::Single(s) => s,
            other => panic!("expected a single text, got {other:?}"),
        }
    }

    #[test]
    fn quoted_fields_with_newlines_filter_and_locations() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            &dir,
            "rt.csv",
            "\u{feff}category,text,movie\n\
             fresh,\"Great, \"\"really\"\"\nspanning two lines\",m1\n\
             plot,a plot,m2\n\
             rotten,bad,m3\n"
                .as_bytes(),
        );
        let spec = CsvSpec::new("text")
            .label("category")
            .filter(LabelFilter::parse("fresh=positive,rotten=negative,plot=").unwrap());
        let ex = read_csv(&p, &spec).unwrap();
        assert_eq!(ex.len(), 2);
        assert_eq!(text(&ex[0]), "Great, \"really\"\nspanning two lines");
        assert_eq!(ex[0].target, Target::Class("positive".into()));
        assert_eq!((ex[0].location.line, ex[0].location.row), (2, Some(0)));
        assert_eq!(text(&ex[1]), "bad");
        assert_eq!(ex[1].target, Target::Class("negative".into()));
        // Record 2 spans lines 2-3, the dropped plot row is line 4, so `bad` is on line 5.
        assert_eq!((ex[1].location.line, ex[1].location.row), (5, Some(2)));
        assert!(ex[1].location.to_string().ends_with("rt.csv:5 (row 2)"));
    }

    #[test]
    fn tsv_pairs_and_regression_by_index() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "nli.tsv", b"a cat\ta feline\t0.75\nx\ty\t-2\n");
        let spec = CsvSpec::new(0).pair(1).label(2).regression().no_headers();
        let ex = read_csv(&p, &spec).unwrap();
        assert_eq!(
            ex[0].input,
            TextInput::Pair("a cat".into(), "a feline".into())
        );
        assert_eq!(ex[0].target, Target::Value(0.75));
        assert_eq!(ex[1].target, Target::Value(-2.0));
    }

    #[test]
    fn bad_rows_are_errors_naming_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "short.csv", b"text,label\nok,1\nno label here\n");
        let err = read_csv(&p, &CsvSpec::new("text").label("label")).unwrap_err();
        assert!(
            matches!(&err, DataError::MissingColumn { line: 3, row: 1, column, found: 1, .. } if column == "label"),
            "{err}"
        );
        assert!(err.to_string().contains("short.csv:3"), "{err}");

        let p = write(&dir, "utf.csv", b"text,label\n\"caf\xe9\",1\n");
        let err = read_csv(&p, &CsvSpec::new("text").label("label")).unwrap_err();
        assert!(
            matches!(&err, DataError::InvalidUtf8 { line: 2, field: Some(f), .. } if f == "text"),
            "{err}"
        );

        let p = write(&dir, "cols.csv", b"sentence,label\nhi,1\n");
        let err = read_csv(&p, &CsvSpec::new("text").label("label")).unwrap_err();
        assert!(err
            .to_string()
            .contains("no column `text` (available: sentence, label)"));

        let p = write(&dir, "lab.csv", b"text,label\nhi,fresh\nho,meh\n");
        let spec = CsvSpec::new("text")
            .label("label")
            .filter(LabelFilter::new().rename("fresh", "positive"));
        let err = read_csv(&p, &spec).unwrap_err();
        assert!(
            matches!(&err, DataError::UnmappedLabel { line: 3, value, .. } if value == "meh"),
            "{err}"
        );

        let p = write(&dir, "reg.csv", b"text,y\nhi,1.5\nho,n/a\n");
        let err = read_csv(&p, &CsvSpec::new("text").label("y").regression()).unwrap_err();
        assert!(err.to_string().contains("reg.csv:3: field `y`"), "{err}");

        let p = write(&dir, "empty.csv", b"text,label\nhi,plot\n");
        let spec = CsvSpec::new("text")
            .label("label")
            .filter(LabelFilter::new().drop("plot"));
        assert!(matches!(
            read_csv(&p, &spec).unwrap_err(),
            DataError::EmptySplit { .. }
        ));
    }
}
