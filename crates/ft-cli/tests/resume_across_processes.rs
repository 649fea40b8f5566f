//! Killed (SIGKILL) and interrupted (SIGINT) `ft train` runs, resumed with
//! `--resume-from-checkpoint latest`, end with bitwise the model of the run that was never
//! stopped: the real MiniLM and real reviews, at a tiny budget, across processes.
//!
//! Its own test binary, so that it runs alone. Run beside the other `ft` tests of `cli.rs` (a
//! transformers process, several `ft` runs, on 2 cores), a resumed process drifted from the
//! uninterrupted one in the last bits of the loss within a step or two of the resume, in about
//! half the runs, also on the tree before issue 16's callbacks; the same directories resumed again
//! on a quieter machine gave the right model. Cause not found yet (see the closing note of
//! issue 16); the crash loop (`crash_loop.rs`, `cargo xtask chaos`) checks the same guarantee.
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sha256(path: &Path) -> String {
    ft_data::assets::sha256_file(path).unwrap()
}

fn wait_for(path: &Path, child: &mut std::process::Child) {
    let start = std::time::Instant::now();
    while !path.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "ft exited before writing {}",
            path.display()
        );
        assert!(
            start.elapsed().as_secs() < 120,
            "timed out waiting for {}",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn killed_or_interrupted_runs_resume_to_bitwise_the_same_model() {
    let tmp = tempfile::tempdir().unwrap();
    let args = |dir: &Path| -> Vec<String> {
        [
            "train",
            "--recipe",
            "sentiment",
            "--train-size",
            "64",
            "--validation-size",
            "16",
            "--test-size",
            "16",
            "--max-length",
            "32",
            "--per-device-train-batch-size",
            "8",
            "--max-steps",
            "24",
            "--eval-strategy",
            "no",
            "--save-strategy",
            "steps",
            "--save-steps",
            "4",
            "--load-best-model-at-end",
            "false",
            "--device",
            "cpu",
            "--quiet",
            "--output-dir",
            dir.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let spawn = |dir: &Path, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ft"))
            .args(args(dir))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let straight = tmp.path().join("straight");
    let out = spawn(&straight, &[]).wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let want = sha256(&straight.join("model.safetensors"));
    let resume_to_the_end = |dir: &Path| {
        let out = spawn(dir, &["--resume-from-checkpoint", "latest"])
            .wait_with_output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let got = sha256(&dir.join("model.safetensors"));
        assert_eq!(got, want, "{} resumed != uninterrupted", dir.display());
    };

    // SIGKILL: nothing gets to run; the atomic checkpoints are all there is.
    let killed = tmp.path().join("killed");
    let mut child = spawn(&killed, &[]);
    wait_for(&killed.join("checkpoint-8"), &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !killed.join("model.safetensors").exists(),
        "the run was killed before finishing"
    );
    resume_to_the_end(&killed);

    // Ctrl-C: the step in flight finishes, a checkpoint is saved, exit code 130.
    let interrupted = tmp.path().join("interrupted");
    let mut child = spawn(&interrupted, &[]);
    wait_for(&interrupted.join("checkpoint-4"), &mut child);
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("interrupted at global step"),
        "{}",
        stderr(&out)
    );
    resume_to_the_end(&interrupted);
}
