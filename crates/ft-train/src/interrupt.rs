//! Ctrl-C (SIGINT) and SIGTERM during training: finish the optimizer step in flight, save a
//! checkpoint, stop cleanly (exit status 130 or 143, as a shell reports a death by that signal).
//! A second signal exits at once. Opt-in ([`install_handler`]), since a library must not take
//! over its host program's signals.
//!
//! The handler only sets an atomic and writes a fixed message with write(2). The second signal
//! leaves with `_exit(2)`: `exit()` would run C++ static destructors while libtorch's worker
//! threads still use them, which is how a second Ctrl-C used to end in a segfault.
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, AtomicU8, Ordering};
use std::sync::OnceLock;

/// The first signal received (0: none).
static REQUESTED: AtomicI32 = AtomicI32::new(0);
static PHASE: AtomicU8 = AtomicU8::new(Phase::Preparing as u8);

/// Where the run stands, so the handler can say truthfully what a signal will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Reading data, building the model: nothing to save yet.
    Preparing = 0,
    /// In the training loop: the step in flight finishes and a checkpoint is saved.
    Training = 1,
    /// Training is over (final evaluation and files): there is nothing left to checkpoint.
    Finishing = 2,
}

/// Tells the handler which phase the run is in.
pub fn set_phase(phase: Phase) {
    PHASE.store(phase as u8, Ordering::SeqCst);
}

fn message(phase: u8) -> &'static [u8] {
    match phase {
        p if p == Phase::Training as u8 => {
            b"\ninterrupt: finishing this step and saving a checkpoint (press Ctrl-C again to exit now)\n"
        }
        p if p == Phase::Finishing as u8 => {
            b"\ninterrupt: training has finished, so no checkpoint is saved; writing the final files (press Ctrl-C again to exit now)\n"
        }
        _ => b"\ninterrupt: stopping before training starts; nothing to save (press Ctrl-C again to exit now)\n",
    }
}

extern "C" fn on_signal(signal: libc::c_int) {
    let write = |bytes: &[u8]| unsafe {
        libc::write(2, bytes.as_ptr().cast(), bytes.len());
    };
    if REQUESTED.swap(signal, Ordering::SeqCst) != 0 {
        write(b"\nsecond interrupt: exiting without saving\n");
        unsafe { libc::_exit(128 + signal) };
    }
    write(message(PHASE.load(Ordering::SeqCst)));
}

/// Installs the SIGINT and SIGTERM handlers (once per process; later calls do nothing), and
/// ignores SIGXFSZ so that a write past `ulimit -f` fails with an error we report and clean up
/// after, instead of killing the process with a half-written temporary file left behind.
pub fn install_handler() -> anyhow::Result<()> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            // SA_RESTART: blocking reads and writes elsewhere resume instead of failing with EINTR.
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            for signal in [libc::SIGINT, libc::SIGTERM] {
                if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
                    return Err(std::io::Error::last_os_error().to_string());
                }
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        })
        .clone()
        .map_err(|e| anyhow::anyhow!("cannot install the signal handlers: {e}"))
}

/// The signal that asked the run to stop, if any.
pub fn requested() -> Option<i32> {
    match REQUESTED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The error a run stopped by a signal returns: where its state was saved.
#[derive(Debug, Clone)]
pub struct Interrupted {
    pub step: usize,
    /// The checkpoint written on the way out; `None` when training had not started.
    pub checkpoint: Option<PathBuf>,
    /// SIGINT or SIGTERM.
    pub signal: i32,
}

impl Interrupted {
    /// The exit status a shell gives a process killed by this signal (130, 143).
    pub fn exit_code(&self) -> u8 {
        (128 + self.signal).clamp(0, 255) as u8
    }
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.checkpoint {
            Some(dir) => write!(
                f,
                "interrupted at global step {}; saved {} — continue with --resume-from-checkpoint latest",
                self.step,
                dir.display()
            ),
            None => write!(f, "interrupted before training started; nothing was saved"),
        }
    }
}

impl std::error::Error for Interrupted {}
