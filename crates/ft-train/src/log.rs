//! `train_log.jsonl`: one JSON object per logging step and per evaluation, appended and flushed
//! as it happens so a crashed run keeps its history.
use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct JsonLog {
    path: PathBuf,
    file: std::fs::File,
}

impl JsonLog {
    /// Opens the log; `truncate` for a fresh run, append when resuming.
    pub fn open(output_dir: &Path, truncate: bool) -> Result<JsonLog> {
        let path = output_dir.join("train_log.jsonl");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(!truncate)
            .write(true)
            .truncate(truncate)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(JsonLog { path, file })
    }

    pub fn write(&mut self, record: &serde_json::Value) -> Result<()> {
        writeln!(self.file, "{record}")
            .and_then(|_| self.file.flush())
            .with_context(|| format!("writing {}", self.path.display()))
    }
}
