//! Folder-per-class reader: `root/<class>/*.txt`, one document per file.
//!
//! This is the IMDB `aclImdb` layout: `aclImdb/train/pos/0_9.txt`, `aclImdb/train/neg/...`.
//! Pass `aclImdb/train` as `root`. The class is the sub-folder name. Files directly under `root`
//! (IMDB's `urls_pos.txt`, `labeledBow.feat`) are ignored; so are sub-folders not listed in
//! `classes` when it is given (IMDB's `train/unsup` holds unlabelled reviews). Folders and files
//! are visited in byte order of their names so the example order never depends on the file
//! system.

use super::{Example, Location, Target, TextInput};
use crate::error::{DataError, Result};
use crate::source;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        out.push(entry.map_err(|e| DataError::io(dir, e))?.path());
    }
    out.sort();
    Ok(out)
}

/// Reads `root/<class>/*.txt` (also `*.txt.gz`/`*.txt.bz2`); `classes` restricts and checks the
/// sub-folders read (a listed class without a folder is an error).
pub fn read_class_folders(root: &Path, classes: Option<&[&str]>) -> Result<Vec<Example>> {
    let mut examples = Vec::new();
    let mut seen = Vec::new();
    for dir in sorted_entries(root)? {
        if !dir.is_dir() {
            continue;
        }
        let Some(class) = dir.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        if classes.is_some_and(|c| !c.contains(&class.as_str())) {
            continue;
        }
        seen.push(class.clone());
        for file in sorted_entries(&dir)? {
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let is_text = [".txt", ".txt.gz", ".txt.bz2"]
                .iter()
                .any(|ext| name.ends_with(ext));
            if !is_text || !file.is_file() {
                continue;
            }
            let text = source::read_to_string(&file)?;
            examples.push(Example {
                input: TextInput::Single(text),
                target: Target::Class(class.clone()),
                location: Location::new(Arc::from(file.as_path()), 1),
            });
        }
    }
    if let Some(wanted) = classes {
        if let Some(missing) = wanted.iter().find(|c| !seen.iter().any(|s| s == *c)) {
            return Err(DataError::EmptySplit {
                split: "input".into(),
                detail: format!("{} has no folder for class `{missing}`", root.display()),
            });
        }
    }
    if examples.is_empty() {
        return Err(DataError::EmptySplit {
            split: "input".into(),
            detail: format!("no `<class>/*.txt` file under {}", root.display()),
        });
    }
    Ok(examples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imdb_layout_is_read_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("train");
        for (class, file, text) in [
            ("pos", "1_9.txt", "loved it"),
            ("pos", "0_10.txt", "best film"),
            ("neg", "0_2.txt", "dull"),
            ("unsup", "0_0.txt", "no label"),
        ] {
            std::fs::create_dir_all(root.join(class)).unwrap();
            std::fs::write(root.join(class).join(file), text).unwrap();
        }
        std::fs::write(root.join("urls_pos.txt"), "http://x").unwrap();
        let ex = read_class_folders(&root, Some(&["neg", "pos"])).unwrap();
        let got: Vec<_> = ex
            .iter()
            .map(|e| match (&e.input, &e.target) {
                (TextInput::Single(t), Target::Class(c)) => (c.as_str(), t.as_str()),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            got,
            [("neg", "dull"), ("pos", "best film"), ("pos", "loved it")]
        );
        assert!(ex[1].location.file.ends_with("pos/0_10.txt"));
        assert_eq!(read_class_folders(&root, None).unwrap().len(), 4);
        let err = read_class_folders(&root, Some(&["pos", "neutral"])).unwrap_err();
        assert!(err.to_string().contains("class `neutral`"), "{err}");
    }
}
