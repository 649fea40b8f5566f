//! Signals during `ft train`, sent with `libc::kill` at moments made deterministic by the pause
//! hook (`FT_PAUSE=<point>:<ms>` sleeps at every hit of the point, see `ft_train::fault`):
//!
//! - SIGINT or SIGTERM mid-training: a clean exit (130 / 143, not a death by signal) naming the
//!   checkpoint it saved — "interrupted at global step N; saved <dir> — continue with
//!   --resume-from-checkpoint latest" — that checkpoint complete, and the resume bitwise
//!   identical to an uninterrupted run;
//! - a second SIGINT 0.1–1 s after the first: a prompt exit 130, never a crash (once 139);
//! - SIGINT after the training loop has ended: the run says truthfully that training has
//!   finished and nothing is saved for the signal, writes its final files and exits 0;
//! - kill -9 before any checkpoint, then the same command with `--resume-from-checkpoint latest`:
//!   it starts from the beginning, says so, and needs no `--overwrite`.
//!
//! Every run is the tiny seeded-random BERT on the tiny review CSV (a second or two each).
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Optimizer steps of the mid-training runs (176 rows in batches of 16: within one epoch).
const STEPS: usize = 8;

/// The `ft train` command line of [`STEPS`] steps that saves no checkpoint by itself.
fn train_args(out: &Path) -> Vec<String> {
    train_args_with(out, STEPS, &["--save-strategy", "no"])
}

/// The `ft train` command line: `steps` optimizer steps, `save` the checkpoint flags.
fn train_args_with(out: &Path, steps: usize, save: &[&str]) -> Vec<String> {
    let steps = steps.to_string();
    let mut extra = vec![
        "--train-size",
        "176",
        "--validation-size",
        "32",
        "--test-size",
        "32",
        "--max-steps",
        &steps,
        "--learning-rate",
        "1e-3",
        "--eval-strategy",
        "no",
        "--logging-steps",
        "1",
        "--seed",
        "7",
    ];
    extra.extend_from_slice(save);
    ft_tests::fixtures::tiny_train_args(out, &extra)
}

fn with_resume(mut args: Vec<String>) -> Vec<String> {
    args.extend(["--resume-from-checkpoint".into(), "latest".into()]);
    args
}

/// A running `ft`, its output collected by threads (so a full pipe never blocks it).
struct Ft {
    child: Child,
    stdout: JoinHandle<String>,
    stderr: JoinHandle<String>,
}

/// How a run ended.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

fn collect(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

impl Ft {
    fn start(args: &[String], pause: Option<&str>) -> Ft {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ft"));
        cmd.args(args)
            .env_remove("FT_FAULT")
            .env_remove("FT_PAUSE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(p) = pause {
            cmd.env("FT_PAUSE", p);
        }
        let mut child = cmd.spawn().expect("starting ft");
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Ft {
            child,
            stdout,
            stderr,
        }
    }

    /// Sends `signal`. The child is not reaped before [`Ft::wait`], so its pid cannot have been
    /// reused: at worst the signal reaches a zombie and does nothing.
    fn signal(&self, signal: libc::c_int) {
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(
            rc,
            0,
            "kill({}, {signal}): {}",
            self.child.id(),
            std::io::Error::last_os_error()
        );
    }

    /// Polls `ready` until it holds (true) or the process exits first (false).
    fn wait_until(&mut self, what: &str, limit: Duration, ready: impl Fn() -> bool) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if ready() {
                return true;
            }
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("ft did not reach {what} within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the exit, at most `limit` (then kills it and panics).
    fn wait(mut self, limit: Duration) -> Finished {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "ft did not exit within {limit:?}; its stderr: {}",
                    self.stderr.join().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Finished {
            status,
            stdout: self.stdout.join().unwrap(),
            stderr: self.stderr.join().unwrap(),
        }
    }
}

/// Runs `ft` to the end, without signals.
fn run(args: &[String]) -> Finished {
    Ft::start(args, None).wait(Duration::from_secs(300))
}

/// `exit 130` or `killed by signal 11`, for messages.
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => status.to_string(),
    }
}

/// Steps of the training records logged so far (a line being written is skipped).
fn logged_steps(out: &Path) -> Vec<usize> {
    std::fs::read_to_string(out.join("train_log.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r.get("loss").is_some())
        .filter_map(|r| r["step"].as_u64().map(|s| s as usize))
        .collect()
}

/// `checkpoint-*` entries of a run directory, sorted by name.
fn checkpoints(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(out)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("checkpoint-"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The files a checkpoint must hold that are missing from `dir`.
fn missing_checkpoint_files(dir: &Path) -> Vec<&'static str> {
    [
        "model.safetensors",
        "optimizer.safetensors",
        "trainer_state.json",
    ]
    .into_iter()
    .filter(|f| !dir.join(f).is_file())
    .collect()
}

/// The uninterrupted run's `model.safetensors` for [`train_args`], trained
/// once per test process.
fn reference_model() -> &'static [u8] {
    static MODEL: OnceLock<Vec<u8>> = OnceLock::new();
    MODEL.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("reference");
        let done = run(&train_args(&out));
        assert!(
            done.status.success(),
            "the uninterrupted reference run failed ({}): {}",
            describe(done.status),
            done.stderr
        );
        std::fs::read(out.join("model.safetensors")).unwrap()
    })
}

fn assert_same_model(out: &Path, what: &str) {
    let model = std::fs::read(out.join("model.safetensors")).unwrap_or_else(|e| {
        panic!(
            "{what}: cannot read {}/model.safetensors: {e}",
            out.display()
        )
    });
    assert!(
        model == reference_model(),
        "{what}: model.safetensors differs from the uninterrupted run's ({} vs {} bytes)",
        model.len(),
        reference_model().len()
    );
}

/// Parses "interrupted at global step N; saved DIR — continue with --resume-from-checkpoint
/// latest" out of stderr.
fn interrupted_message(stderr: &str) -> Option<(usize, PathBuf)> {
    let rest = &stderr[stderr.find("interrupted at global step ")? + 27..];
    let (step, rest) = rest.split_once("; saved ")?;
    let (dir, _) = rest.split_once(" — continue with --resume-from-checkpoint latest")?;
    Some((step.trim().parse().ok()?, PathBuf::from(dir.trim())))
}

/// A signal mid-training: exit `code`, the named checkpoint complete, the resume bitwise equal.
fn stop_mid_training(signal: libc::c_int, name: &str, code: i32) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let args = train_args(&out);
    // 300 ms at every step's end: the signal lands within a step, long before the last one.
    let mut ft = Ft::start(&args, Some("step-end:300"));
    let training = ft.wait_until("its first logged step", Duration::from_secs(120), || {
        !logged_steps(&out).is_empty()
    });
    assert!(training, "{name}: ft exited before logging its first step");
    ft.signal(signal);
    let done = ft.wait(Duration::from_secs(60));
    assert_eq!(
        done.status.code(),
        Some(code),
        "{name} mid-training: expected a clean exit {code}, got {}; stderr:\n{}",
        describe(done.status),
        done.stderr
    );
    let (step, dir) = interrupted_message(&done.stderr).unwrap_or_else(|| {
        panic!(
            "{name}: stderr does not say \"interrupted at global step N; saved <dir> — continue with \
             --resume-from-checkpoint latest\":\n{}",
            done.stderr
        )
    });
    assert!(
        (1..STEPS).contains(&step),
        "{name}: interrupted at step {step}, expected mid-training (1..{STEPS})"
    );
    assert_eq!(
        dir,
        out.join(format!("checkpoint-{step}")),
        "{name}: the message names another directory than the step's checkpoint"
    );
    let missing = missing_checkpoint_files(&dir);
    assert!(
        missing.is_empty(),
        "{name}: {} lacks {missing:?}",
        dir.display()
    );

    let resumed = run(&with_resume(args));
    assert!(
        resumed.status.success(),
        "{name}: the resume failed ({}): {}",
        describe(resumed.status),
        resumed.stderr
    );
    assert_same_model(&out, &format!("{name} at step {step}, then resumed"));
}

#[test]
fn sigint_mid_training_saves_a_checkpoint_exits_130_and_resumes_bitwise() {
    stop_mid_training(libc::SIGINT, "SIGINT", 130);
}

#[test]
fn sigterm_mid_training_saves_a_checkpoint_exits_143_and_resumes_bitwise() {
    stop_mid_training(libc::SIGTERM, "SIGTERM", 143);
}

#[test]
fn a_second_sigint_exits_promptly_with_130_and_never_crashes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (i, gap_ms) in [100u64, 350, 650, 1000].into_iter().enumerate() {
        let out = tmp.path().join(format!("run-{i}"));
        // Long pauses: the second signal comes while the first is still being handled.
        let mut ft = Ft::start(&train_args(&out), Some("step-end:1500"));
        let training = ft.wait_until("its first logged step", Duration::from_secs(120), || {
            !logged_steps(&out).is_empty()
        });
        assert!(training, "try {i}: ft exited before logging its first step");
        ft.signal(libc::SIGINT);
        std::thread::sleep(Duration::from_millis(gap_ms));
        ft.signal(libc::SIGINT);
        let second = Instant::now();
        let done = ft.wait(Duration::from_secs(60));
        let secs = second.elapsed().as_secs_f64();
        let what = format!(
            "try {i} (second SIGINT {gap_ms} ms after the first): {} {secs:.2} s after it",
            describe(done.status)
        );
        println!("{what}");
        if done.status.code() != Some(130) {
            failures.push(format!(
                "{what}: expected exit 130; stderr:\n{}",
                done.stderr
            ));
        } else if secs > 5.0 {
            failures.push(format!("{what}: expected a prompt exit (under 5 s)"));
        }
        if done.stderr.contains("panicked at") {
            failures.push(format!("{what}: panicked:\n{}", done.stderr));
        }
        // Whatever it managed to save must be complete: a checkpoint is there whole or not at all.
        for name in checkpoints(&out) {
            let missing = missing_checkpoint_files(&out.join(&name));
            if !missing.is_empty() {
                failures.push(format!("{what}: {name} lacks {missing:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn sigint_after_training_has_finished_saves_nothing_says_so_and_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    // Six steps, a checkpoint at step 4 only: a checkpoint-6 would be the signal's doing.
    let args = train_args_with(&out, 6, &["--save-strategy", "steps", "--save-steps", "4"]);
    let mut ft = Ft::start(&args, Some("training-finished:1500"));
    // The last step's record is written just before the loop ends and the 1.5 s pause begins.
    let ended = ft.wait_until(
        "the end of its training loop",
        Duration::from_secs(120),
        || logged_steps(&out).contains(&6),
    );
    assert!(ended, "ft exited before logging its last step");
    std::thread::sleep(Duration::from_millis(300));
    ft.signal(libc::SIGINT);
    let done = ft.wait(Duration::from_secs(60));
    assert!(
        done.status.success(),
        "SIGINT after training: expected the run to complete (exit 0), got {}; stderr:\n{}",
        describe(done.status),
        done.stderr
    );
    assert!(
        done.stderr.contains("training has finished"),
        "SIGINT after training: stderr does not say that training has finished:\n{}",
        done.stderr
    );
    assert!(
        !done.stderr.contains("saving a checkpoint"),
        "SIGINT after training: stderr claims a checkpoint is being saved:\n{}",
        done.stderr
    );
    assert_eq!(
        checkpoints(&out),
        vec!["checkpoint-4".to_string()],
        "SIGINT after training: a checkpoint appeared for the signal"
    );
    for file in ["model.safetensors", "metrics.json", "run.json"] {
        assert!(
            out.join(file).is_file(),
            "SIGINT after training: the run has no {file}"
        );
    }
}

#[test]
fn resume_latest_before_any_checkpoint_starts_from_the_beginning_without_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let args = train_args(&out);
    let mut ft = Ft::start(&args, Some("step-end:300"));
    let training = ft.wait_until("its first logged step", Duration::from_secs(120), || {
        !logged_steps(&out).is_empty()
    });
    assert!(training, "ft exited before logging its first step");
    ft.signal(libc::SIGKILL);
    let killed = ft.wait(Duration::from_secs(30));
    assert_eq!(killed.status.signal(), Some(libc::SIGKILL));
    // The premise: a non-empty output directory (the log is there) without any checkpoint.
    assert!(out.join("train_log.jsonl").is_file());
    assert_eq!(checkpoints(&out), Vec::<String>::new());

    let resumed = run(&with_resume(args));
    assert!(
        resumed.status.success(),
        "--resume-from-checkpoint latest with no checkpoint yet must start over (without \
         --overwrite), got {}; stderr:\n{}",
        describe(resumed.status),
        resumed.stderr
    );
    let said = format!("{}\n{}", resumed.stdout, resumed.stderr).to_lowercase();
    assert!(
        said.contains("no checkpoint")
            && (said.contains("beginning") || said.contains("from scratch")),
        "the resume does not say that it found no checkpoint and starts from the beginning:\n{said}"
    );
    assert_same_model(&out, "kill -9 before any checkpoint, then resume latest");
}
