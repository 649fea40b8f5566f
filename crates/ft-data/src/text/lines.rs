//! Numbered lines of any byte stream, for the line-based readers (JSONL, CoNLL).
//!
//! Over any [`BufRead`] rather than a path ([`crate::source::Lines`] is the file-backed one), so
//! that the readers also have in-memory entry points (the fuzz harness feeds them bytes).
//! A UTF-8 byte-order mark at the very start is dropped (Excel and Notepad write one), and
//! `\n` / `\r\n` are both line ends. Invalid UTF-8 is an error naming the line.

use crate::error::{DataError, Result};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Iterates `(line_number, text)`, 1-based, line ends removed.
pub struct NumberedLines<R> {
    path: PathBuf,
    reader: R,
    buf: Vec<u8>,
    line: u64,
}

impl<R: BufRead> NumberedLines<R> {
    /// `path` only names the stream in errors.
    pub fn new(reader: R, path: &Path) -> Self {
        NumberedLines {
            path: path.to_path_buf(),
            reader,
            buf: Vec::new(),
            line: 0,
        }
    }
}

impl<R: BufRead> Iterator for NumberedLines<R> {
    type Item = Result<(u64, String)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.buf.clear();
        match self.reader.read_until(b'\n', &mut self.buf) {
            Ok(0) => None,
            Ok(_) => {
                self.line += 1;
                if self.buf.last() == Some(&b'\n') {
                    self.buf.pop();
                    if self.buf.last() == Some(&b'\r') {
                        self.buf.pop();
                    }
                }
                let mut bytes = &self.buf[..];
                if self.line == 1 {
                    bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
                }
                Some(match std::str::from_utf8(bytes) {
                    Ok(s) => Ok((self.line, s.to_owned())),
                    Err(_) => Err(DataError::InvalidUtf8 {
                        path: self.path.clone(),
                        line: self.line,
                        field: None,
                    }),
                })
            }
            Err(e) => Some(Err(DataError::Io {
                path: self.path.clone(),
                source: e,
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_crlf_and_bad_utf8() {
        let data: &[u8] = b"\xEF\xBB\xBFa\r\nb\n\xff\n";
        let mut it = NumberedLines::new(data, Path::new("x.txt"));
        assert_eq!(it.next().unwrap().unwrap(), (1, "a".to_string()));
        assert_eq!(it.next().unwrap().unwrap(), (2, "b".to_string()));
        let err = it.next().unwrap().unwrap_err();
        assert!(err.to_string().contains("x.txt:3: invalid UTF-8"), "{err}");
    }
}
