//! Ctrl-C during training: finish the optimizer step in flight, save a checkpoint, stop cleanly.
//! A second Ctrl-C exits at once. Opt-in ([`install_handler`]), since a library must not take
//! over its host program's signals.
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Installs the SIGINT handler (once per process; later calls do nothing).
pub fn install_handler() -> anyhow::Result<()> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            ctrlc::set_handler(|| {
                if REQUESTED.swap(true, Ordering::SeqCst) {
                    eprintln!("\nsecond interrupt: exiting without saving");
                    std::process::exit(130);
                }
                eprintln!("\ninterrupt: finishing this step and saving a checkpoint (Ctrl-C again to exit now)");
            })
            .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| anyhow::anyhow!("cannot install the Ctrl-C handler: {e}"))
}

pub(crate) fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// The error a run stopped by Ctrl-C returns: where its state was saved.
#[derive(Debug, Clone)]
pub struct Interrupted {
    pub step: usize,
    pub checkpoint: PathBuf,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "interrupted at global step {}; saved {} — continue with --resume-from-checkpoint latest",
            self.step,
            self.checkpoint.display()
        )
    }
}

impl std::error::Error for Interrupted {}
