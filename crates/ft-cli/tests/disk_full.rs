//! A disk that fills up mid-run: the failed save names the file and the cause, keeps the last
//! good checkpoint (and an --overwritten run's final model), leaves no temporary files and no
//! `metrics.json` claiming success — and once there is room again, `--resume-from-checkpoint
//! latest` finishes with the same model, bit for bit, as a run that never failed.
//!
//! The full disk is a small tmpfs (this needs root, which the dev machines and CI have; where
//! mounting is refused that test says so and checks nothing). A file-size limit (`ulimit -f`)
//! is checked everywhere.
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sha(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// The tiny run: a checkpoint (~12 MB: weights + Adam moments) after each of 4 steps.
fn args(out: &Path) -> Vec<String> {
    ft_tests::fixtures::tiny_train_args(
        out,
        &[
            "--max-steps",
            "4",
            "--save-strategy",
            "steps",
            "--save-steps",
            "1",
            "--save-total-limit",
            "2",
            "--seed",
            "3",
        ],
    )
}

fn ft(args: &[String], file_limit_kib: Option<u64>) -> Output {
    let mut cmd = match file_limit_kib {
        Some(kib) => {
            let mut c = Command::new("bash");
            c.args(["-c", &format!("ulimit -f {kib}; exec \"$0\" \"$@\"")])
                .arg(env!("CARGO_BIN_EXE_ft"));
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_ft")),
    };
    cmd.args(args).output().expect("running ft")
}

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .is_ok_and(|o| o.status.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }

    /// Bytes in use, as `df` counts them.
    fn used(&self) -> u64 {
        let out = Command::new("df")
            .args(["--output=used", "-B1"])
            .arg(&self.0)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines().nth(1).unwrap().trim().parse().unwrap()
    }

    fn resize(&self, size: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).output();
    }
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn assert_complete_checkpoint(dir: &Path) {
    for f in [
        "model.safetensors",
        "optimizer.safetensors",
        "trainer_state.json",
    ] {
        assert!(dir.join(f).is_file(), "{} lacks {f}", dir.display());
    }
}

#[test]
fn a_full_disk_loses_nothing_and_the_run_resumes_bitwise() {
    let tmp = tempfile::tempdir().unwrap();
    // The reference: the same run with room to spare.
    let reference = tmp.path().join("reference");
    let out = ft(&args(&reference), None);
    assert!(out.status.success(), "{}", stderr(&out));

    let mount = tmp.path().join("small-disk");
    let Some(disk) = Tmpfs::mount(&mount, "30m") else {
        // `a_file_size_limit_loses_nothing` covers what can be checked without one.
        eprintln!("mounting a tmpfs was refused: the full-disk case is not checked here");
        return;
    };
    // 30 MB: two checkpoints fit, the third does not.
    let run = mount.join("run");
    let out = ft(&args(&run), None);
    let msg = stderr(&out);
    assert!(!out.status.success(), "the run cannot have fitted: {msg}");
    assert!(!msg.contains("panicked at"), "{msg}");
    assert!(
        msg.contains("No space left on device") && msg.contains("checkpoint-3"),
        "the error names the save and the cause: {msg}"
    );
    assert!(
        msg.contains("checkpoint-2 is intact"),
        "the error says what is kept: {msg}"
    );
    assert_eq!(
        files_under(&run)
            .into_iter()
            .filter(|n| n.starts_with("checkpoint-") || n.starts_with('.') && n != ".ft.lock")
            .collect::<Vec<_>>(),
        ["checkpoint-1", "checkpoint-2"],
        "the last good checkpoints stay, no temporary folder is left"
    );
    assert_complete_checkpoint(&run.join("checkpoint-2"));
    assert!(
        !run.join("metrics.json").exists(),
        "nothing claims the run succeeded"
    );

    // Room again: the resume finishes with the model of the run that never failed.
    disk.resize("64m");
    let mut resume = args(&run);
    resume.extend(["--resume-from-checkpoint".into(), "latest".into()]);
    let out = ft(&resume, None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        sha(&run.join("model.safetensors")),
        sha(&reference.join("model.safetensors")),
        "the resumed run ends bitwise where the uninterrupted one did"
    );
    assert!(run.join("metrics.json").is_file());

    // An --overwrite of that finished run on a disk too small for the new one's first
    // checkpoint: the old run, final model included, is left as it was.
    let before: Vec<(String, String)> = ["model.safetensors", "metrics.json", "run.json"]
        .iter()
        .map(|f| (f.to_string(), sha(&run.join(f))))
        .collect();
    // Room for the new run's small files but not for its first checkpoint's 12 MB.
    disk.resize(&format!("{}k", disk.used() / 1024 + 6 * 1024));
    let mut again = args(&run);
    again.push("--overwrite".into());
    let out = ft(&again, None);
    let msg = stderr(&out);
    assert!(!out.status.success(), "{msg}");
    assert!(msg.contains("No space left on device"), "{msg}");
    for (f, hash) in before {
        assert_eq!(sha(&run.join(&f)), hash, "{f} of the earlier run changed");
    }
    assert!(
        !files_under(&mount).iter().any(|n| n.contains("replaced")),
        "the run moved aside by --overwrite is back in place: {:?}",
        files_under(&mount)
    );
}

/// A per-file limit (`ulimit -f`, SIGXFSZ ignored by ft) below the optimizer state's size makes
/// the first checkpoint fail: an --overwritten finished run must come back untouched, and no
/// temporary file may stay behind.
#[test]
fn a_file_size_limit_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let run = tmp.join("limited");
    let out = ft(&args(&run), None);
    assert!(out.status.success(), "{}", stderr(&out));
    let model = sha(&run.join("model.safetensors"));
    let mut again = args(&run);
    again.push("--overwrite".into());
    let out = ft(&again, Some(6 * 1024));
    let msg = stderr(&out);
    assert!(!out.status.success(), "{msg}");
    assert!(!msg.contains("panicked at"), "{msg}");
    assert!(
        msg.contains("optimizer.safetensors") && msg.contains("File too large"),
        "the error names the file and the cause: {msg}"
    );
    assert_eq!(sha(&run.join("model.safetensors")), model);
    assert!(run.join("metrics.json").is_file());
    assert!(
        !files_under(tmp).iter().any(|n| n.contains("replaced")),
        "{:?}",
        files_under(tmp)
    );
    let leftovers: Vec<String> = files_under(&run)
        .into_iter()
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
