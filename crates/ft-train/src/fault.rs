//! Test-only fault injection, so the crash loop can kill a run at exact places instead of
//! hoping a random `kill -9` lands there.
//!
//! `FT_FAULT=<point>` (or `<point>:<n>`) makes the process SIGKILL itself the first (n-th) time
//! the code reaches [`point`]`(<point>)`. Unset — the only state outside the tests — it costs
//! one relaxed load. Points: `checkpoint-write` (files written into the temporary folder, not yet
//! renamed), `checkpoint-rename` (renamed, parent not yet synced), `checkpoint-rotate` (between
//! deletions of old checkpoints), `evaluate` (inside an evaluation, after its first batch),
//! `final-save` (hit 1: the final model written, the run files not yet; hit 2: the run files
//! written but `metrics.json`), `step-end` (an optimizer step
//! done, before its logging, evaluation and saving), `training-finished` (the loop has ended,
//! the final files are not written yet).
//!
//! `FT_PAUSE=<point>:<ms>` sleeps that long at every hit of the point instead, so a test can send
//! a signal at a known moment (mid-training at `step-end`, after training at `training-finished`).
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The configured point and the hit that kills, parsed once.
fn target() -> &'static Option<(String, usize)> {
    static TARGET: OnceLock<Option<(String, usize)>> = OnceLock::new();
    TARGET.get_or_init(|| {
        let spec = std::env::var("FT_FAULT").ok()?;
        let (name, n) = match spec.split_once(':') {
            Some((name, n)) => (name.to_string(), n.trim().parse().unwrap_or(1)),
            None => (spec, 1),
        };
        Some((name.trim().to_string(), n.max(1)))
    })
}

/// `FT_PAUSE`'s point and milliseconds, parsed once.
fn pause() -> &'static Option<(String, u64)> {
    static PAUSE: OnceLock<Option<(String, u64)>> = OnceLock::new();
    PAUSE.get_or_init(|| {
        let spec = std::env::var("FT_PAUSE").ok()?;
        let (name, ms) = spec.split_once(':')?;
        Some((name.trim().to_string(), ms.trim().parse().ok()?))
    })
}

/// Marks a place where a crash must lose nothing; see the module docs.
pub fn point(name: &str) {
    static HITS: AtomicUsize = AtomicUsize::new(0);
    if let Some((wanted, ms)) = pause() {
        if wanted == name {
            std::thread::sleep(std::time::Duration::from_millis(*ms));
        }
    }
    let Some((wanted, n)) = target() else { return };
    if wanted != name {
        return;
    }
    if HITS.fetch_add(1, Ordering::SeqCst) + 1 == *n {
        eprintln!("FT_FAULT: killing the process at `{name}` (hit {n})");
        // SIGKILL, not abort(): no handler, no core dump, nothing flushed — a real `kill -9`.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}
