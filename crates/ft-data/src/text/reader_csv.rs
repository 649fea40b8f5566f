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
use crate::error::{name_list, quote, shorten, DataError, Result};
use crate::source;
use std::cell::Cell;
use std::io::{BufRead, Read};
use std::path::Path;
use std::rc::Rc;
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
    /// Already shortened for messages (a header cell can be megabytes long).
    name: String,
}

impl Resolved {
    /// `text (column 1)`: the name and the 1-based position a spreadsheet shows.
    fn describe(&self) -> String {
        format!("{} (column {})", self.name, self.index + 1)
    }
}

fn resolve(column: &Column, header: Option<&[String]>, path: &Path) -> Result<Resolved> {
    match (column, header) {
        (Column::Index(i), Some(h)) => Ok(Resolved {
            index: *i,
            name: h
                .get(*i)
                .map(|n| shorten(n))
                .unwrap_or_else(|| format!("#{i}")),
        }),
        (Column::Index(i), None) => Ok(Resolved {
            index: *i,
            name: format!("#{i}"),
        }),
        (Column::Name(n), Some(h)) => match h.iter().position(|c| c == n) {
            Some(index) => Ok(Resolved {
                index,
                name: shorten(n),
            }),
            None => Err(DataError::UnknownColumn {
                path: path.to_path_buf(),
                column: shorten(n),
                available: name_list(h.iter().map(String::as_str), 20),
            }),
        },
        (Column::Name(n), None) => Err(DataError::Invalid(format!(
            "{}: column `{}` is given by name but the file is read without a header",
            path.display(),
            shorten(n)
        ))),
    }
}

/// The quoting state of the raw bytes the CSV parser has consumed so far, kept by [`QuoteScan`].
///
/// The `csv` crate, like Python's, lets a quoted field run to the end of the file when its
/// closing quote is missing: every later row silently becomes part of one text. This state
/// machine follows the same rules as the parser (a quote opens a quoted field only at the
/// start of a field; `""` inside is a literal quote; after the closing quote the field goes on
/// unquoted) so that, at the end of the input, a still-open quote is reported with the line on
/// which it opened.
#[derive(Debug, Clone, Copy)]
struct QuoteState {
    line: u64,
    field_start: bool,
    quoted: bool,
    /// Inside a quoted field, just after a `"`: either a closing quote or half of `""`.
    after_quote: bool,
    open_line: u64,
    eof: bool,
}

impl QuoteState {
    fn new() -> Self {
        QuoteState {
            line: 1,
            field_start: true,
            quoted: false,
            after_quote: false,
            open_line: 0,
            eof: false,
        }
    }

    fn feed(&mut self, bytes: &[u8], delimiter: u8) {
        for &b in bytes {
            if self.quoted {
                if self.after_quote {
                    self.after_quote = false;
                    if b != b'"' {
                        self.quoted = false;
                        self.unquoted(b, delimiter);
                    }
                } else if b == b'"' {
                    self.after_quote = true;
                }
            } else {
                self.unquoted(b, delimiter);
            }
            if b == b'\n' {
                self.line += 1;
            }
        }
    }

    fn unquoted(&mut self, b: u8, delimiter: u8) {
        if b == b'"' && self.field_start {
            self.quoted = true;
            self.open_line = self.line;
            self.field_start = false;
        } else {
            self.field_start = b == delimiter || b == b'\n' || b == b'\r';
        }
    }

    /// Inside a quoted field (not just after a quote that may be its closing one).
    fn in_quotes(&self) -> bool {
        self.quoted && !self.after_quote
    }

    /// The line of a quote still open at the end of the input, once the input has ended.
    fn unclosed(&self) -> Option<u64> {
        (self.eof && self.quoted && !self.after_quote).then_some(self.open_line)
    }
}

/// A reader that passes bytes through to the CSV parser and keeps their [`QuoteState`].
///
/// It also turns `\r\n` into `\n`: the `csv` crate's line numbers drift on CRLF files, and
/// errors must name the right line. (A lone `\r` is kept.)
struct QuoteScan<R> {
    inner: R,
    delimiter: u8,
    state: Rc<Cell<QuoteState>>,
}

impl<R: BufRead> Read for QuoteScan<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut state = self.state.get();
        let avail = self.inner.fill_buf()?;
        if avail.is_empty() {
            state.eof = true;
            self.state.set(state);
            return Ok(0);
        }
        let (mut out, mut used) = (0usize, 0usize);
        let mut split_cr = false;
        while used < avail.len() && out < buf.len() {
            let b = avail[used];
            // Inside a quoted field a `\r\n` is text and stays as it is.
            if b == b'\r' && !state.in_quotes() {
                match avail.get(used + 1) {
                    Some(b'\n') => {
                        used += 1;
                        continue;
                    }
                    None => {
                        // The `\n` (if any) is in the next buffer.
                        split_cr = true;
                        break;
                    }
                    Some(_) => {}
                }
            }
            buf[out] = b;
            state.feed(&[b], self.delimiter);
            out += 1;
            used += 1;
        }
        self.inner.consume(used);
        if split_cr && out == 0 {
            self.inner.consume(1);
            let next_is_lf = self.inner.fill_buf()?.first() == Some(&b'\n');
            if next_is_lf {
                self.state.set(state);
                return self.read(buf);
            }
            buf[0] = b'\r';
            state.feed(b"\r", self.delimiter);
            out = 1;
        }
        self.state.set(state);
        Ok(out)
    }
}

/// Reads every example of a CSV/TSV file (plain, `.gz` or `.bz2`) according to `spec`.
///
/// Errors (never panics) on: a missing file, a column name not in the header, a row too short
/// for a mapped column or longer than the header, a quote that is never closed (naming the
/// line where it opened), invalid UTF-8 in a mapped field, an empty label, a label value not
/// covered by the filter, a regression target that is empty, not a number, NaN or infinite,
/// and a file with no example left. A UTF-8 byte-order mark is skipped; lines may end in
/// `\r\n`. Values quoted in messages are cut to [`crate::error::QUOTE_CHARS`] characters.
pub fn read_csv(path: &Path, spec: &CsvSpec) -> Result<Vec<Example>> {
    read_csv_from(source::open(path)?, path, spec)
}

/// [`read_csv`] on bytes already in memory; `name` stands for the file in errors and
/// locations (and picks the delimiter by its extension, as for a file).
pub fn read_csv_bytes(bytes: &[u8], name: &Path, spec: &CsvSpec) -> Result<Vec<Example>> {
    read_csv_from(bytes, name, spec)
}

/// [`read_csv`] on any buffered stream of (decompressed) bytes; `path` names it in errors.
pub fn read_csv_from<R: BufRead>(
    mut input: R,
    path: &Path,
    spec: &CsvSpec,
) -> Result<Vec<Example>> {
    // Excel writes a byte-order mark in front of the first header name.
    if input
        .fill_buf()
        .map_err(|e| DataError::io(path, e))?
        .starts_with(b"\xEF\xBB\xBF")
    {
        input.consume(3);
    }
    let delimiter = spec.delimiter_for(path);
    let state = Rc::new(Cell::new(QuoteState::new()));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(QuoteScan {
            inner: input,
            delimiter,
            state: Rc::clone(&state),
        });
    let unclosed = |line: u64| DataError::Syntax {
        path: path.to_path_buf(),
        line,
        message: "a quote opened on this line is never closed, so the rest of the file would be \
                  one field; close it, and write a quote inside a quoted field as \"\""
            .into(),
    };
    match parse_records(&mut reader, path, spec) {
        Ok(examples) => match state.get().unclosed() {
            Some(line) => Err(unclosed(line)),
            None => Ok(examples),
        },
        Err(e) => {
            // A row that fails its checks may be the one an unclosed quote swallowed the rest
            // of the file into: it is when no record follows it.
            let mut rest = csv::ByteRecord::new();
            let last = matches!(reader.read_byte_record(&mut rest), Ok(false));
            match state.get().unclosed() {
                Some(line) if last => Err(unclosed(line)),
                _ => Err(e),
            }
        }
    }
}

fn parse_records<R: Read>(
    reader: &mut csv::Reader<R>,
    path: &Path,
    spec: &CsvSpec,
) -> Result<Vec<Example>> {
    let file: Arc<Path> = Arc::from(path);
    let mut record = csv::ByteRecord::new();
    let csv_err = |e: csv::Error| -> DataError {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        match e.into_kind() {
            csv::ErrorKind::Io(io) => DataError::io(path, io),
            other => DataError::Syntax {
                path: path.to_path_buf(),
                line,
                message: shorten(&format!("{other:?}")),
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
                field: Some(format!("header column {}", i + 1)),
            })?;
            // The BOM is skipped before parsing; this catches one inside a quoted first name.
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
        if let Some(h) = h {
            if record.len() > h.len() {
                return Err(DataError::Syntax {
                    path: path.to_path_buf(),
                    line,
                    message: format!(
                        "row {row} has {} fields but the header has {}; quote a text that \
                         contains the delimiter",
                        record.len(),
                        h.len()
                    ),
                });
            }
        }
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
                field: Some(col.describe()),
            })
        };
        let bad = |col: &Resolved, message: String| DataError::BadField {
            path: path.to_path_buf(),
            line,
            field: col.describe(),
            message,
        };
        let target = match &label_col {
            None => Target::None,
            Some(col) => {
                let raw = field(col)?;
                match spec.label_kind {
                    LabelKind::Value => Target::Value(parse_target(raw).map_err(|m| bad(col, m))?),
                    LabelKind::Class => {
                        let empty = || {
                            bad(
                                col,
                                "the label is empty; every row needs a label (or drop the \
                                 value with a label filter)"
                                    .into(),
                            )
                        };
                        match spec.label_filter.as_ref().map(|f| (f, f.apply(raw))) {
                            None if raw.trim().is_empty() => return Err(empty()),
                            None => Target::Class(raw.to_owned()),
                            Some((_, Some(Some(name)))) if name.trim().is_empty() => {
                                return Err(empty())
                            }
                            Some((_, Some(Some(name)))) => Target::Class(name.to_owned()),
                            Some((_, Some(None))) => {
                                row += 1;
                                continue;
                            }
                            Some((_, None)) if raw.trim().is_empty() => return Err(empty()),
                            Some((f, None)) => {
                                return Err(DataError::UnmappedLabel {
                                    path: path.to_path_buf(),
                                    line,
                                    value: shorten(raw),
                                    known: shorten(&f.known()),
                                })
                            }
                        }
                    }
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

/// A regression target: a finite number. Empty cells, `n/a`, `NaN` and `inf` (also numbers too
/// large for an `f32`, which become `inf`) are refused with a message saying which.
pub(crate) fn parse_target(raw: &str) -> std::result::Result<f32, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err("the regression target is empty".into());
    }
    let v = t
        .parse::<f32>()
        .map_err(|_| format!("cannot parse {} as a number", quote(raw)))?;
    if !v.is_finite() {
        return Err(format!(
            "the regression target {} is not a finite number (NaN and infinity cannot be \
             learned)",
            quote(t)
        ));
    }
    Ok(v)
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
            matches!(&err, DataError::InvalidUtf8 { line: 2, field: Some(f), .. } if f == "text (column 1)"),
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
        assert!(
            err.to_string().contains("reg.csv:3: field `y (column 2)`"),
            "{err}"
        );

        let p = write(&dir, "empty.csv", b"text,label\nhi,plot\n");
        let spec = CsvSpec::new("text")
            .label("label")
            .filter(LabelFilter::new().drop("plot"));
        assert!(matches!(
            read_csv(&p, &spec).unwrap_err(),
            DataError::EmptySplit { .. }
        ));
    }

    fn err_of(bytes: &[u8], name: &str, spec: &CsvSpec) -> String {
        read_csv_bytes(bytes, Path::new(name), spec)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn an_unclosed_quote_names_the_line_where_it_opened() {
        let spec = CsvSpec::new("text").label("label");
        let err = err_of(
            b"text,label\nok,a\n\"never closed,b\nmore,c\nand more,d\n",
            "q.csv",
            &spec,
        );
        assert!(err.starts_with("q.csv:3: a quote opened"), "{err}");
        // Without a label the merged row would be accepted: still an error.
        let err = err_of(b"text\nok\n\"open\nx\ny\n", "q.csv", &CsvSpec::new("text"));
        assert!(err.starts_with("q.csv:3: a quote opened"), "{err}");
        // Properly closed quoted newlines and doubled quotes stay legal.
        let ex = read_csv_bytes(
            b"text,label\n\"two\nlines \"\"q\"\"\",a\nx\"y,b\n",
            Path::new("q.csv"),
            &spec,
        )
        .unwrap();
        assert_eq!(ex.len(), 2);
        assert_eq!(text(&ex[1]), "x\"y");
    }

    #[test]
    fn empty_labels_and_bad_regression_targets_name_line_and_column() {
        let spec = CsvSpec::new("text").label("label");
        let err = err_of(b"text,label\nok,a\nhi,\n", "e.csv", &spec);
        assert!(
            err.starts_with("e.csv:3: field `label (column 2)`: the label is empty"),
            "{err}"
        );
        // A filter that explicitly drops the empty value is honoured.
        let spec_f = spec
            .clone()
            .filter(LabelFilter::new().rename("a", "pos").drop(""));
        assert_eq!(
            read_csv_bytes(b"text,label\nok,a\nhi,\n", Path::new("e.csv"), &spec_f)
                .unwrap()
                .len(),
            1
        );
        let reg = CsvSpec::new("text").label("y").regression();
        for (cell, says) in [
            ("NaN", "not a finite number"),
            ("inf", "not a finite number"),
            ("-Infinity", "not a finite number"),
            ("1e39", "not a finite number"),
            ("", "is empty"),
            ("  ", "is empty"),
        ] {
            let data = format!("text,y\nok,1\nhi,{cell}\n");
            let err = err_of(data.as_bytes(), "r.csv", &reg);
            assert!(
                err.starts_with("r.csv:3: field `y (column 2)`") && err.contains(says),
                "{cell:?}: {err}"
            );
        }
    }

    #[test]
    fn bom_crlf_ragged_rows_and_utf8() {
        let spec = CsvSpec::new("text").label("label");
        let ex = read_csv_bytes(
            b"\xEF\xBB\xBFtext,label\r\nhello,a\r\nworld,b\r\n",
            Path::new("w.csv"),
            &spec,
        )
        .unwrap();
        assert_eq!(ex.len(), 2);
        assert_eq!(text(&ex[1]), "world");
        assert_eq!(ex[1].target, Target::Class("b".into()));
        assert_eq!(ex[1].location.line, 3);
        // Without a header the BOM must not stick to the first cell either.
        let ex = read_csv_bytes(
            b"\xEF\xBB\xBFhello,a\n",
            Path::new("w.csv"),
            &CsvSpec::new(0).label(1).no_headers(),
        )
        .unwrap();
        assert_eq!(text(&ex[0]), "hello");

        let err = err_of(b"text,label\nok,a\nhello, world,b\n", "r.csv", &spec);
        assert!(
            err.starts_with("r.csv:3: row 1 has 3 fields but the header has 2"),
            "{err}"
        );
        let err = err_of(b"text,label\nok,a\nshort\n", "r.csv", &spec);
        assert!(err.starts_with("r.csv:3: row 1 has 1 field(s)"), "{err}");
        let err = err_of(b"text,label\nok,\xff\n", "u.csv", &spec);
        assert!(
            err.starts_with("u.csv:2: invalid UTF-8 in field `label (column 2)`"),
            "{err}"
        );
        let err = err_of(b"te\xffxt,label\nok,a\n", "u.csv", &spec);
        assert!(err.starts_with("u.csv:1: invalid UTF-8"), "{err}");
        let tsv = read_csv_bytes(b"text\tlabel\na, b\tc\n", Path::new("t.tsv"), &spec).unwrap();
        assert_eq!(text(&tsv[0]), "a, b");
    }

    #[test]
    fn huge_header_and_cells_give_short_messages() {
        let big = "h".repeat(50_000_000);
        let data = format!("{big},label\nx,y\n");
        let err = err_of(
            data.as_bytes(),
            "big.csv",
            &CsvSpec::new("text").label("label"),
        );
        assert!(err.len() < 1000, "{} bytes", err.len());
        assert!(
            err.contains("no column `text`") && err.contains("(50000000 bytes in all)"),
            "{}",
            &err[..err.len().min(400)]
        );
        let data = format!("text,label\nx,{big}\n");
        let spec = CsvSpec::new("text")
            .label("label")
            .filter(LabelFilter::parse("a=b").unwrap());
        let err = err_of(data.as_bytes(), "big.csv", &spec);
        assert!(
            err.len() < 1000 && err.starts_with("big.csv:2: label value"),
            "{}",
            &err[..err.len().min(400)]
        );
        let data = format!("text,y\nx,{big}\n");
        let err = err_of(
            data.as_bytes(),
            "big.csv",
            &CsvSpec::new("text").label("y").regression(),
        );
        assert!(
            err.len() < 1000 && err.contains("50000000 bytes"),
            "{}",
            &err[..err.len().min(400)]
        );
    }
}
