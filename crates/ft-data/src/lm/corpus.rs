//! Reading a language-modelling corpus and turning its documents into token ids.
use crate::error::{DataError, Result};
use crate::text::{read_csv, CsvSpec, Example, Location, Target, TextInput, Tokenizer};
use std::path::Path;
use std::sync::Arc;

/// The documents of a corpus file, one per example, empty texts dropped.
///
/// `.csv` / `.tsv` files (plain, `.gz` or `.bz2`) are read with `spec` (its label column, if any,
/// is kept so that callers can select documents, e.g. `fresh` reviews); any other file is plain
/// text with one document per non-empty line. Errors, naming the file, when no document is left.
pub fn read_documents(path: &Path, spec: &CsvSpec) -> Result<Vec<Example>> {
    let name = path.to_string_lossy().to_lowercase();
    let name = name.trim_end_matches(".gz").trim_end_matches(".bz2");
    let mut docs = if name.ends_with(".csv") || name.ends_with(".tsv") {
        read_csv(path, spec)?
    } else {
        let file: Arc<Path> = Arc::from(path);
        let mut docs = Vec::new();
        for line in crate::source::Lines::open(path)? {
            let (n, text) = line?;
            docs.push(Example {
                input: TextInput::Single(text),
                target: Target::None,
                location: Location::new(file.clone(), n),
            });
        }
        docs
    };
    docs.retain(|e| matches!(&e.input, TextInput::Single(t) if !t.trim().is_empty()));
    if docs.is_empty() {
        return Err(DataError::EmptySplit {
            split: "corpus".into(),
            detail: format!("{} has no non-empty text to train on", path.display()),
        });
    }
    Ok(docs)
}

/// Token ids of each document, without special tokens (the packer adds the EOS separators).
pub fn encode_documents(tokenizer: &Tokenizer, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
    let encodings = tokenizer
        .inner
        .encode_batch_fast(texts.to_vec(), false)
        .map_err(|e| DataError::Tokenizer {
            path: tokenizer.path().to_path_buf(),
            message: e.to_string(),
        })?;
    Ok(encodings.iter().map(|e| e.get_ids().to_vec()).collect())
}

/// Text of generated token ids (special tokens such as `<|endoftext|>` left out).
pub fn decode(tokenizer: &Tokenizer, ids: &[u32]) -> Result<String> {
    tokenizer
        .inner
        .decode(ids, true)
        .map_err(|e| DataError::Tokenizer {
            path: tokenizer.path().to_path_buf(),
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_has_one_document_per_line_and_an_empty_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("corpus.txt");
        std::fs::write(&path, "first review\n\n  \nsecond review\n").unwrap();
        let docs = read_documents(&path, &CsvSpec::new("text")).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].input, TextInput::Single("second review".into()));
        assert_eq!(docs[1].location.line, 4);

        std::fs::write(&path, "\n \n").unwrap();
        let err = read_documents(&path, &CsvSpec::new("text"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("corpus.txt") && err.contains("no non-empty text"),
            "{err}"
        );
        let csv = dir.path().join("empty.csv");
        std::fs::write(&csv, "text,category\n\"\",fresh\n").unwrap();
        let err = read_documents(&csv, &CsvSpec::new("text"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("empty.csv"), "{err}");
    }
}
