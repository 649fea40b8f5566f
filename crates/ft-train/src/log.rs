//! `train_log.jsonl` as a callback: one JSON object per logging step and per evaluation,
//! appended and flushed as it happens so a crashed run keeps its history. A resumed run first
//! rewrites the file as the checkpoint's history, so records a killed run wrote after its last
//! checkpoint are not kept twice.
use crate::callback::{Callback, Context};
use anyhow::{Context as _, Result};
use std::io::Write;
use std::path::PathBuf;

#[derive(Default)]
pub struct JsonLog {
    open: Option<(PathBuf, std::fs::File)>,
}

impl JsonLog {
    pub fn new() -> JsonLog {
        JsonLog::default()
    }
}

impl Callback for JsonLog {
    fn name(&self) -> &str {
        "json_log"
    }

    fn on_train_begin(&mut self, ctx: &Context) -> Result<()> {
        let path = ctx.output_dir.join("train_log.jsonl");
        if ctx.resumed {
            let text: String = ctx
                .state
                .log_history
                .iter()
                .map(|r| format!("{r}\n"))
                .collect();
            ft_models::st::write_file_atomic(&path, text.as_bytes())
                .with_context(|| format!("restoring {}", path.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(ctx.resumed)
            .write(true)
            .truncate(!ctx.resumed)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        self.open = Some((path, file));
        Ok(())
    }

    fn on_log(&mut self, _: &Context, record: &mut serde_json::Value) -> Result<()> {
        if let Some((path, file)) = &mut self.open {
            writeln!(file, "{record}")
                .and_then(|_| file.flush())
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }
}
