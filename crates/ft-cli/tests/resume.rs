//! Resuming on the tiny fixture: from the final checkpoint (no extra step), an L2-SP run (its
//! anchors are the pretrained weights, which no checkpoint holds), and a resume whose data
//! changed since the checkpoint (refused, naming the file).
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Command, Output};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sha(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// `ft train` on the tiny fixture, `extra` appended; `train` replaces its CSV.
fn train(out: &Path, train: Option<&Path>, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut args = ft_tests::fixtures::tiny_train_args(
        out,
        &[
            "--save-strategy",
            "steps",
            "--save-steps",
            "2",
            "--seed",
            "5",
        ],
    );
    if let Some(csv) = train {
        let i = args.iter().position(|a| a == "--train-file").unwrap() + 1;
        args[i] = csv.display().to_string();
    }
    Command::new(env!("CARGO_BIN_EXE_ft"))
        .args(&args)
        .args(extra)
        .envs(env.iter().copied())
        .output()
        .expect("running ft")
}

fn global_step(run: &Path) -> u64 {
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    m["global_step"].as_u64().unwrap()
}

#[test]
fn resuming_from_the_final_checkpoint_takes_no_extra_step() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    // 4 steps end mid-epoch (12 batches of 16 per epoch); a constant LR would show an extra step.
    for run in [&a, &b] {
        let out = train(run, None, &["--max-steps", "4"], &[]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    std::fs::remove_file(b.join("model.safetensors")).unwrap();
    let out = train(
        &b,
        None,
        &["--max-steps", "4", "--resume-from-checkpoint", "latest"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(global_step(&b), 4);
    assert_eq!(
        sha(&b.join("model.safetensors")),
        sha(&a.join("model.safetensors"))
    );
    assert_eq!(
        std::fs::read_to_string(b.join("train_log.jsonl"))
            .unwrap()
            .lines()
            .count(),
        std::fs::read_to_string(a.join("train_log.jsonl"))
            .unwrap()
            .lines()
            .count(),
        "no repeated log records"
    );
}

#[test]
fn an_l2sp_run_resumes_bitwise() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let args = ["--max-steps", "6", "--l2sp-alpha", "0.1"];
    let out = train(&a, None, &args, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Killed (SIGKILL) after step 3, one step past checkpoint-2.
    let out = train(&b, None, &args, &[("FT_FAULT", "step-end:3")]);
    assert!(!out.status.success());
    assert!(b.join("checkpoint-2").is_dir());
    let mut resume = args.to_vec();
    resume.extend(["--resume-from-checkpoint", "latest"]);
    let out = train(&b, None, &resume, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        sha(&b.join("model.safetensors")),
        sha(&a.join("model.safetensors")),
        "the resumed L2-SP run ends where the uninterrupted one did"
    );
}

#[test]
fn a_resume_with_other_data_is_refused_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("reviews.csv");
    std::fs::copy(ft_tests::fixtures::tiny_text().train_csv, &data).unwrap();
    let run = tmp.path().join("run");
    let out = train(
        &run,
        Some(&data),
        &["--max-steps", "3"],
        &[("FT_FAULT", "step-end:3")],
    );
    assert!(!out.status.success());
    let log = std::fs::read(run.join("train_log.jsonl")).unwrap();

    let mut text = std::fs::read_to_string(&data).unwrap();
    text.push_str("one more great film,positive\n");
    std::fs::write(&data, text).unwrap();
    let out = train(
        &run,
        Some(&data),
        &["--max-steps", "3", "--resume-from-checkpoint", "latest"],
        &[],
    );
    let msg = stderr(&out);
    assert!(!out.status.success(), "{msg}");
    assert!(
        msg.contains("reviews.csv has changed"),
        "names the file: {msg}"
    );
    assert_eq!(std::fs::read(run.join("train_log.jsonl")).unwrap(), log);
    assert!(!run.join("model.safetensors").exists());
}

#[test]
fn a_run_killed_before_its_first_checkpoint_restarts_with_latest() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let out = train(
        &run,
        None,
        &["--max-steps", "3"],
        &[("FT_FAULT", "step-end:1")],
    );
    assert!(!out.status.success());
    assert!(
        run.join("training_args.json").is_file(),
        "the kill left files"
    );
    let out = train(
        &run,
        None,
        &["--max-steps", "3", "--resume-from-checkpoint", "latest"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("starting from the beginning"),
        "says so"
    );
    assert_eq!(global_step(&run), 3);
}
