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

    /// Rewrites the log as `history` (a checkpoint's records, atomically), then appends to it.
    pub fn restore(output_dir: &Path, history: &[serde_json::Value]) -> Result<JsonLog> {
        let path = output_dir.join("train_log.jsonl");
        let text: String = history.iter().map(|r| format!("{r}\n")).collect();
        ft_models::st::write_file_atomic(&path, text.as_bytes())
            .with_context(|| format!("restoring {}", path.display()))?;
        JsonLog::open(output_dir, false)
    }

    pub fn write(&mut self, record: &serde_json::Value) -> Result<()> {
        writeln!(self.file, "{record}")
            .and_then(|_| self.file.flush())
            .with_context(|| format!("writing {}", self.path.display()))
    }
}
