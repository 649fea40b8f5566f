//! Opening input files, with `.gz` and `.bz2` decompressed on the fly.
//!
//! Readers never look at the extension themselves: they call [`open`] and get plain bytes.
//! UTF-8 is checked line by line (not by `read_to_string`) so that an invalid byte is reported
//! with the line it sits on.

use crate::error::{DataError, Result};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// How a file is compressed, decided by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Bzip2,
}

impl Compression {
    /// `.gz` → gzip, `.bz2` → bzip2, anything else → none.
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("gz") => Compression::Gzip,
            Some(e) if e.eq_ignore_ascii_case("bz2") => Compression::Bzip2,
            _ => Compression::None,
        }
    }
}

/// Opens `path` for buffered reading, decompressing `.gz`/`.bz2` transparently.
///
/// The multi-stream decoders are used because `pbzip2`/`bgzip` style files are concatenated
/// streams, and the single-stream decoders would silently stop after the first one.
pub fn open(path: &Path) -> Result<Box<dyn BufRead + Send>> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let raw: Box<dyn Read + Send> = match Compression::from_path(path) {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file))),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(BufReader::new(file))),
    };
    Ok(Box::new(BufReader::with_capacity(1 << 16, raw)))
}

/// Reads a whole (possibly compressed) file as UTF-8; an invalid byte is reported with its line.
pub fn read_to_string(path: &Path) -> Result<String> {
    let mut bytes = Vec::new();
    open(path)?
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..valid]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        DataError::InvalidUtf8 {
            path: path.to_path_buf(),
            line,
            field: None,
        }
    })
}

/// Iterates over the lines of a (possibly compressed) file as `(line_number, text)`, 1-based,
/// with the trailing `\n` / `\r\n` and a leading byte-order mark removed.
pub type Lines = crate::text::lines::NumberedLines<Box<dyn BufRead + Send>>;

impl Lines {
    /// Opens `path`; see [`open`].
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Lines::new(open(path)?, path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gz_and_bz2_are_read_like_plain_text() {
        let dir = tempfile::tempdir().unwrap();
        let text = "a\tb\r\nc\n\nlast";
        let plain = dir.path().join("x.txt");
        std::fs::write(&plain, text).unwrap();
        let gz = dir.path().join("x.txt.gz");
        let mut e = flate2::write::GzEncoder::new(File::create(&gz).unwrap(), Default::default());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap();
        let bz = dir.path().join("x.txt.bz2");
        let mut e = bzip2::write::BzEncoder::new(File::create(&bz).unwrap(), Default::default());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap();
        for p in [&plain, &gz, &bz] {
            let lines: Vec<_> = Lines::open(p).unwrap().map(|l| l.unwrap()).collect();
            assert_eq!(
                lines,
                vec![
                    (1, "a\tb".to_string()),
                    (2, "c".to_string()),
                    (3, String::new()),
                    (4, "last".to_string())
                ]
            );
            assert_eq!(read_to_string(p).unwrap(), text);
        }
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.txt");
        std::fs::write(&p, b"ok\nstill ok\nbad \xff byte\n").unwrap();
        let err = Lines::open(&p)
            .unwrap()
            .find_map(|l| l.err())
            .expect("line 3 must fail");
        assert!(
            matches!(err, DataError::InvalidUtf8 { line: 3, .. }),
            "{err}"
        );
        let err = read_to_string(&p).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidUtf8 { line: 3, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("bad.txt:3"), "{err}");
    }

    #[test]
    fn missing_file_is_an_io_error_with_the_path() {
        let err = open(Path::new("/nonexistent/dir/f.csv.bz2")).err().unwrap();
        assert!(
            err.to_string().starts_with("/nonexistent/dir/f.csv.bz2:"),
            "{err}"
        );
    }
}
