//! The kill -9 crash loop: ft's promise that a crash loses nothing, checked the hard way.
//!
//! A small run that checkpoints every step is first trained once without interruption (the
//! reference). Then each of `FT_CHAOS_RUNS` runs (default 3, the CI size; `cargo xtask chaos`
//! runs 20) starts fresh in its own directory and is killed with SIGKILL several times — at random
//! moments (a seeded random 50–1500 ms after the process starts) and at named points reached
//! deterministically through the fault hook (`FT_FAULT=<point>:<n>`, see
//! `ft_train::fault`) — and is resumed after every kill with `--resume-from-checkpoint latest`
//! (the same arguments otherwise) until it exits 0. The finished run must equal the reference:
//!
//! - `model.safetensors` bitwise;
//! - `metrics.json` once the timing keys (`train_runtime`, anything `*samples_per_second`) are
//!   set aside and the output directory's own path is masked;
//! - `train_log.jsonl` line by line once `samples_per_second` is set aside (no repeated or
//!   missing records);
//! - `test_report.txt` byte for byte;
//! - the same top-level entries (checkpoints aside), and the same newest checkpoint;
//! - every `checkpoint-*` directory complete (model, optimizer and trainer state present).
//!
//! Temporary files: a finished run may hold NO temporary entry (a hidden `.…tmp…` name, whether a
//! half-written checkpoint folder or a half-written file) anywhere in its output directory. A
//! kill leaves one behind by design (that is what makes the writes atomic), but the run that
//! finishes the job must clean up what its killed predecessors left: a real run's leftovers are
//! hundreds of megabytes each.
//!
//! The test prints `crash loop: X/N bitwise-identical resumes (kills: K, at: random×a, …)`, which
//! `cargo xtask chaos` checks, then every failing run's kills, launches and differences.
//! `FT_CHAOS_SEED` changes the random draws (the default is fixed, so CI is reproducible).
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Optimizer steps of the run: 176 training rows in batches of 16 are 11 steps an epoch, so the
/// run ends two steps into its second epoch — the case where a resume from the final checkpoint
/// once ran an extra step.
const MAX_STEPS: usize = 13;
/// Evaluations at every third step: 3, 6, 9, 12.
const EVAL_STEPS: usize = 3;
/// `--save-total-limit`: rotation deletes a checkpoint at every save from the third on.
const SAVE_LIMIT: usize = 2;

/// The named places the fault hook can kill at (`ft_train::fault`).
const POINTS: [&str; 5] = [
    "checkpoint-write",
    "checkpoint-rename",
    "checkpoint-rotate",
    "evaluate",
    "final-save",
];

/// The fixed `ft train` command line of every run, the reference included.
fn train_args(out: &Path) -> Vec<String> {
    let (steps, eval_steps, limit) = (
        MAX_STEPS.to_string(),
        EVAL_STEPS.to_string(),
        SAVE_LIMIT.to_string(),
    );
    ft_tests::fixtures::tiny_train_args(
        out,
        &[
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
            "steps",
            "--eval-steps",
            &eval_steps,
            "--save-strategy",
            "steps",
            "--save-steps",
            "1",
            "--save-total-limit",
            &limit,
            "--logging-steps",
            "2",
            "--seed",
            "7",
        ],
    )
}

/// splitmix64: a seeded generator good enough to pick kill moments, without a crate for it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 31)
    }

    /// Heads or tails.
    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// One kill a run plans; its exact moment is drawn when the process is launched, from what the
/// previous launches left on disk.
#[derive(Clone, Copy, Debug)]
enum Planned {
    Random,
    Fault(&'static str),
}

/// What one launch of `ft` did.
struct Launch {
    /// `FT_FAULT=…` or `random@<ms>` or `finish` (no kill planned).
    kill: String,
    status: ExitStatus,
    secs: f64,
    stderr: PathBuf,
    /// The newest complete checkpoint after this launch ended.
    latest_after: Option<usize>,
}

impl Launch {
    fn killed(&self) -> bool {
        self.status.signal() == Some(libc::SIGKILL)
    }

    fn describe(&self) -> String {
        let end = match (self.status.code(), self.status.signal()) {
            (_, Some(libc::SIGKILL)) => "killed".to_string(),
            (Some(c), _) => format!("exit {c}"),
            (None, Some(s)) => format!("signal {s}"),
            (None, None) => format!("{}", self.status),
        };
        let latest = self.latest_after.map_or("no checkpoint".to_string(), |s| {
            format!("latest checkpoint-{s}")
        });
        format!("{} → {end} after {:.2} s, {latest}", self.kill, self.secs)
    }
}

/// One interrupted run's story.
struct RunReport {
    index: usize,
    launches: Vec<Launch>,
    /// Kills that actually happened, by where (`random` or the point).
    kills: Vec<String>,
    /// Everything that broke the contract; empty means identical to the reference.
    failures: Vec<String>,
    secs: f64,
}

/// What a complete checkpoint holds (at least).
const CHECKPOINT_FILES: [&str; 3] = [
    "model.safetensors",
    "optimizer.safetensors",
    "trainer_state.json",
];

/// `checkpoint-<N>` directories (complete or not) by step.
fn checkpoint_dirs(out: &Path) -> Vec<(usize, PathBuf)> {
    let mut found: Vec<(usize, PathBuf)> = std::fs::read_dir(out)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let step = name.strip_prefix("checkpoint-")?.parse().ok()?;
                    Some((step, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

fn is_complete(dir: &Path) -> bool {
    CHECKPOINT_FILES.iter().all(|f| dir.join(f).is_file())
}

/// The newest checkpoint a resume can use, and how many complete ones there are.
fn checkpoint_state(out: &Path) -> (Option<usize>, usize) {
    let complete: Vec<usize> = checkpoint_dirs(out)
        .into_iter()
        .filter(|(_, p)| is_complete(p))
        .map(|(s, _)| s)
        .collect();
    (complete.last().copied(), complete.len())
}

/// The `n` of `FT_FAULT=<point>:<n>` drawn so that the launch surely reaches it, given the newest
/// checkpoint `done` (0: none) and the number of complete checkpoints on disk; `None` when what
/// is left of the run never passes that point (a kill already went past it).
fn reachable_hit(rng: &mut Rng, point: &str, done: usize, existing: usize) -> Option<usize> {
    let saves_left = MAX_STEPS - done.min(MAX_STEPS);
    let hits = match point {
        "checkpoint-write" | "checkpoint-rename" => saves_left,
        "checkpoint-rotate" => {
            // Deletions still to come: each save adds one checkpoint, rotation trims to the limit.
            let (mut count, mut deletions) = (existing, 0);
            for _ in 0..saves_left {
                count += 1;
                if count > SAVE_LIMIT {
                    deletions += count - SAVE_LIMIT;
                    count = SAVE_LIMIT;
                }
            }
            deletions
        }
        // Validation evaluations after `done`, plus the test evaluation at the end.
        "evaluate" => {
            (done + 1..=MAX_STEPS)
                .filter(|s| s % EVAL_STEPS == 0)
                .count()
                + 1
        }
        // After the final model, and before `metrics.json` (the run files are written between).
        "final-save" => 2,
        other => panic!("unknown fault point {other}"),
    };
    (hits > 0).then(|| rng.range(1, hits.min(3) as u64) as usize)
}

/// Runs `ft` once with `kill` applied; returns how it ended.
fn launch(
    args: &[String],
    out: &Path,
    log_dir: &Path,
    number: usize,
    kill: &str,
    fault: Option<&str>,
    random_ms: Option<u64>,
) -> Launch {
    let stderr = log_dir.join(format!("launch-{number}.stderr"));
    let stdout = log_dir.join(format!("launch-{number}.stdout"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ft"));
    cmd.args(args)
        .env_remove("FT_FAULT")
        .env_remove("FT_PAUSE")
        .stdin(Stdio::null())
        // Files, not pipes: nobody reads a pipe while the process runs, so it could fill up.
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap());
    if let Some(spec) = fault {
        cmd.env("FT_FAULT", spec);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("starting ft");
    let status = match random_ms {
        Some(ms) => {
            let deadline = started + Duration::from_millis(ms);
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                if Instant::now() >= deadline {
                    // Killing a child that exited a moment ago but is not reaped is harmless.
                    let _ = child.kill();
                    break child.wait().unwrap();
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        None => child.wait().unwrap(),
    };
    Launch {
        kill: kill.to_string(),
        status,
        secs: started.elapsed().as_secs_f64(),
        stderr,
        latest_after: checkpoint_state(out).0,
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n    ")
}

/// The kills run `index` plans: two fault points (taking turns over all of them, so three runs
/// cover every point) and one or two random kills. Half the runs take a random kill first, in the
/// fresh launch (often before any checkpoint exists); then come the faults, `final-save` last
/// (the run is over once it passes it); then the remaining random kills. That order makes every
/// planned fault reachable, so the points a run covers do not depend on the machine's speed.
fn plan(rng: &mut Rng, index: usize) -> Vec<Planned> {
    let mut faults = [
        POINTS[(2 * index) % POINTS.len()],
        POINTS[(2 * index + 1) % POINTS.len()],
    ];
    if rng.coin() {
        faults.swap(0, 1);
    }
    faults.sort_by_key(|p| *p == "final-save");
    let randoms = 1 + (rng.next() % 2) as usize;
    let first = rng.coin() as usize;
    let mut kills = vec![Planned::Random; first];
    kills.extend(faults.map(Planned::Fault));
    kills.extend(vec![Planned::Random; randoms - first]);
    kills
}

/// One interrupted run, from a fresh directory to a finished run compared with the reference.
/// What every interrupted run shares.
struct Setup {
    seed: u64,
    root: PathBuf,
    reference: PathBuf,
    /// How long the uninterrupted run took: on a loaded machine random kills are spread over
    /// that (see [`random_window`]) rather than only over the process start.
    reference_secs: f64,
}

fn interrupted_run(index: usize, setup: &Setup) -> RunReport {
    let started = Instant::now();
    let mut rng = Rng(setup.seed ^ (index as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    let planned = plan(&mut rng, index);
    // A random kill can come after the launch has already finished (the machine was faster
    // than the reference run suggested). When planned faults remain, the run starts over with
    // random delays drawn from a window half as long, so that every planned fault still lands.
    let mut shrink = 1;
    loop {
        match attempt(index, setup, &planned, &mut rng, shrink) {
            Some(mut report) => {
                report.secs = started.elapsed().as_secs_f64();
                return report;
            }
            None if shrink < 16 => {
                println!(
                    "  run {index}: a random kill came after the launch had finished, with faults still planned; starting over with shorter delays"
                );
                shrink *= 2;
            }
            None => {
                return RunReport {
                    index,
                    launches: Vec::new(),
                    kills: Vec::new(),
                    failures: vec!["random kills kept coming after the run had finished".into()],
                    secs: started.elapsed().as_secs_f64(),
                }
            }
        }
    }
}

/// The longest random delay for a launch that starts from checkpoint `done`: 1.5 s for the
/// fresh launch, so that it is not over before the faults planned after it; later, up to 80%
/// of the reference run's time scaled to what is left (at least 1.5 s).
fn random_window(setup: &Setup, fresh: bool, done: usize, shrink: u64) -> u64 {
    let ms = if fresh {
        1500
    } else {
        let left = (MAX_STEPS - done.min(MAX_STEPS)) as f64 / MAX_STEPS as f64;
        ((setup.reference_secs * 1000.0 * (0.2 + 0.6 * left)) as u64).max(1500)
    };
    (ms / shrink).max(100)
}

/// One go at run `index` in a fresh directory; `None` when a random kill missed while planned
/// faults remained (the caller starts over).
fn attempt(
    index: usize,
    setup: &Setup,
    planned: &[Planned],
    rng: &mut Rng,
    shrink: u64,
) -> Option<RunReport> {
    let dir = setup.root.join(format!("run-{index}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    let out = dir.join("out");
    std::fs::create_dir_all(&dir).unwrap();
    let fresh = train_args(&out);
    let mut resume = fresh.clone();
    resume.extend(["--resume-from-checkpoint".into(), "latest".into()]);

    let mut report = RunReport {
        index,
        launches: Vec::new(),
        kills: Vec::new(),
        failures: Vec::new(),
        secs: 0.0,
    };
    let mut finished = false;
    // The planned kills, then one launch without a kill to finish; a fault that the run no
    // longer reaches is skipped.
    for (position, step) in planned.iter().map(Some).chain([None]).enumerate() {
        let (done, existing) = checkpoint_state(&out);
        let (label, fault, random_ms) = match step {
            Some(Planned::Random) => {
                let window =
                    random_window(setup, report.launches.is_empty(), done.unwrap_or(0), shrink);
                let ms = rng.range(50, window);
                (format!("random@{ms}ms"), None, Some(ms))
            }
            Some(Planned::Fault(point)) => {
                match reachable_hit(rng, point, done.unwrap_or(0), existing) {
                    Some(n) => {
                        let spec = format!("{point}:{n}");
                        (format!("FT_FAULT={spec}"), Some(spec), None)
                    }
                    None => {
                        println!(
                            "  run {index}: skipping {point}: what is left of the run (from checkpoint-{}) never reaches it",
                            done.unwrap_or(0)
                        );
                        continue;
                    }
                }
            }
            None => ("finish".to_string(), None, None),
        };
        let args = if report.launches.is_empty() {
            &fresh
        } else {
            &resume
        };
        let l = launch(
            args,
            &out,
            &dir,
            report.launches.len() + 1,
            &label,
            fault.as_deref(),
            random_ms,
        );
        let killed = l.killed();
        let ok = l.status.success();
        let what = l.describe();
        let stderr = l.stderr.clone();
        report.launches.push(l);
        if killed {
            report.kills.push(match step {
                Some(Planned::Fault(point)) => point.to_string(),
                _ => "random".to_string(),
            });
            continue;
        }
        if ok {
            let faults_left = planned
                .iter()
                .skip(position + 1)
                .any(|k| matches!(k, Planned::Fault(_)));
            if random_ms.is_some() && faults_left {
                return None;
            }
            if let Some(spec) = &fault {
                report.failures.push(format!(
                    "FT_FAULT={spec} was never reached: the run finished instead (is the fault point `{}` wired in?)",
                    spec.split(':').next().unwrap_or(spec)
                ));
            }
            finished = true;
            break;
        }
        report.failures.push(format!(
            "launch {} ({what}) failed; its stderr ends:\n    {}",
            report.launches.len(),
            tail(&stderr, 6)
        ));
        break;
    }
    if finished {
        if report.kills.is_empty() {
            report
                .failures
                .push("no kill landed: the run was never interrupted, so it proves nothing".into());
        }
        report.failures.extend(compare(&setup.reference, &out));
    } else if report.failures.is_empty() {
        report
            .failures
            .push("the run never finished (every launch was killed)".into());
    }
    Some(report)
}

/// Drops every key that holds a timing; masks the output directory's path in strings (it is in
/// `best_checkpoint`).
fn normalize(value: &mut Value, out: &str) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| k != "train_runtime" && !k.ends_with("samples_per_second"));
            for v in map.values_mut() {
                normalize(v, out);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| normalize(v, out)),
        Value::String(s) if s.contains(out) => *s = s.replace(out, "<output_dir>"),
        _ => {}
    }
}

/// Where two JSON values differ, as `path: left ≠ right` lines (at most `limit`).
fn json_diff(a: &Value, b: &Value, path: &str, found: &mut Vec<String>, limit: usize) {
    if found.len() >= limit {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let child = format!("{path}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(l), Some(r)) => json_diff(l, r, &child, found, limit),
                    (l, r) => found.push(format!(
                        "{child}: {} ≠ {}",
                        l.map_or("(absent)".into(), |v| v.to_string()),
                        r.map_or("(absent)".into(), |v| v.to_string())
                    )),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (l, r)) in x.iter().zip(y).enumerate() {
                json_diff(l, r, &format!("{path}[{i}]"), found, limit);
            }
        }
        _ if a != b => found.push(format!("{path}: {a} ≠ {b}")),
        _ => {}
    }
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}

/// `train_log.jsonl` records with their timing set aside.
fn read_log(path: &Path, out: &Path) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let mut v: Value = serde_json::from_str(line)
                .map_err(|e| format!("{} line {}: not JSON ({e})", path.display(), i + 1))?;
            normalize(&mut v, &out.display().to_string());
            Ok(v)
        })
        .collect()
}

/// `2 3e 4 6 6e …`: a log's records by step, `e` marking evaluations.
fn log_outline(records: &[Value]) -> String {
    records
        .iter()
        .map(|r| {
            let eval = r
                .as_object()
                .is_some_and(|o| o.keys().any(|k| k.starts_with("eval_")));
            format!("{}{}", r["step"], if eval { "e" } else { "" })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Hidden temporary entries anywhere under `dir` (`.checkpoint-7.tmp`, `.model.safetensors.tmp123`).
fn temporaries(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in rd.filter_map(|e| e.ok()) {
        if is_temporary(&entry.file_name().to_string_lossy()) {
            found.push(entry.path());
        } else if entry.path().is_dir() {
            temporaries(&entry.path(), found);
        }
    }
}

/// A hidden temporary name, as the atomic writes use.
fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains("tmp")
}

/// Top-level entry names, checkpoints and temporaries aside (those are checked on their own).
fn top_level(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with("checkpoint-") && !is_temporary(n))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Every way the finished run `out` differs from the reference run.
fn compare(reference: &Path, out: &Path) -> Vec<String> {
    let mut failures = Vec::new();

    let (a, b) = (
        std::fs::read(reference.join("model.safetensors")).unwrap(),
        std::fs::read(out.join("model.safetensors")),
    );
    match b {
        Err(e) => failures.push(format!("model.safetensors: cannot read it: {e}")),
        Ok(b) if a != b => {
            let first = a.iter().zip(&b).position(|(x, y)| x != y);
            failures.push(format!(
                "model.safetensors differs from the reference ({} vs {} bytes, first difference at byte {})",
                b.len(),
                a.len(),
                first.map_or("(one is a prefix of the other)".into(), |p| p.to_string())
            ));
        }
        Ok(_) => {}
    }

    match (
        read_json(&reference.join("metrics.json")),
        read_json(&out.join("metrics.json")),
    ) {
        (Ok(mut r), Ok(mut o)) => {
            normalize(&mut r, &reference.display().to_string());
            normalize(&mut o, &out.display().to_string());
            let mut diffs = Vec::new();
            json_diff(&r, &o, "metrics", &mut diffs, 8);
            if !diffs.is_empty() {
                failures.push(format!(
                    "metrics.json differs (reference ≠ resumed):\n    {}",
                    diffs.join("\n    ")
                ));
            }
        }
        (r, o) => failures.extend([r.err(), o.err()].into_iter().flatten()),
    }

    match (
        read_log(&reference.join("train_log.jsonl"), reference),
        read_log(&out.join("train_log.jsonl"), out),
    ) {
        (Ok(r), Ok(o)) => {
            if let Some(i) = (0..r.len().max(o.len())).find(|&i| r.get(i) != o.get(i)) {
                let show = |v: Option<&Value>| v.map_or("(absent)".into(), |v| v.to_string());
                failures.push(format!(
                    "train_log.jsonl differs; records by step (e: an evaluation):\n    reference {}\n    resumed   {}\n    first difference at line {}:\n    reference {}\n    resumed   {}",
                    log_outline(&r),
                    log_outline(&o),
                    i + 1,
                    show(r.get(i)),
                    show(o.get(i))
                ));
            }
        }
        (r, o) => failures.extend([r.err(), o.err()].into_iter().flatten()),
    }

    if std::fs::read(reference.join("test_report.txt")).ok()
        != std::fs::read(out.join("test_report.txt")).ok()
    {
        failures.push("test_report.txt differs from the reference (or is missing)".into());
    }

    let (names_r, names_o) = (top_level(reference), top_level(out));
    if names_r != names_o {
        let missing: Vec<&String> = names_r.iter().filter(|n| !names_o.contains(n)).collect();
        let extra: Vec<&String> = names_o.iter().filter(|n| !names_r.contains(n)).collect();
        failures.push(format!(
            "the output directory's files differ from the reference's: missing {missing:?}, extra {extra:?}"
        ));
    }

    let checkpoints = checkpoint_dirs(out);
    for (_, dir) in &checkpoints {
        let missing: Vec<&str> = CHECKPOINT_FILES
            .into_iter()
            .filter(|f| !dir.join(f).is_file())
            .collect();
        if !missing.is_empty() {
            failures.push(format!(
                "{} is incomplete: no {}",
                dir.display(),
                missing.join(", ")
            ));
        }
    }
    let newest = |d: &Path| checkpoint_dirs(d).last().map(|(s, _)| *s);
    if newest(reference) != newest(out) {
        failures.push(format!(
            "the newest checkpoint is {:?}, the reference's {:?}",
            newest(out),
            newest(reference)
        ));
    }

    let mut tmps = Vec::new();
    temporaries(out, &mut tmps);
    if !tmps.is_empty() {
        failures.push(format!(
            "temporary entries left behind by killed launches, not cleaned up by the run that finished: {}",
            tmps.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    failures
}

#[test]
fn kill_minus_nine_at_random_moments_and_named_points_then_resume_is_bitwise_identical() {
    let runs: usize = std::env::var("FT_CHAOS_RUNS")
        .ok()
        .map(|v| {
            v.trim()
                .parse()
                .unwrap_or_else(|_| panic!("FT_CHAOS_RUNS=`{v}` is not a count"))
        })
        .unwrap_or(3);
    let seed: u64 = std::env::var("FT_CHAOS_SEED")
        .ok()
        .map(|v| {
            v.trim()
                .parse()
                .unwrap_or_else(|_| panic!("FT_CHAOS_SEED=`{v}` is not a number"))
        })
        .unwrap_or(20261201);
    // Generated (the first time) before the reference run is timed.
    ft_tests::fixtures::tiny_text();
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();

    let reference = tmp.path().join("reference");
    let args = train_args(&reference);
    let out = Command::new(env!("CARGO_BIN_EXE_ft"))
        .args(&args)
        .env_remove("FT_FAULT")
        .env_remove("FT_PAUSE")
        .output()
        .expect("running ft");
    assert!(
        out.status.success(),
        "the uninterrupted reference run failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let reference_secs = started.elapsed().as_secs_f64();
    println!(
        "crash loop: reference run {reference_secs:.2} s; {runs} interrupted runs, seed {seed}; ft {}",
        args.join(" ")
    );

    // Runs in parallel where there are cores to spare: each `ft` is mostly one busy thread.
    let jobs = std::env::var("FT_CHAOS_JOBS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() / 2))
        .clamp(1, runs.max(1));
    let setup = Setup {
        seed,
        root: tmp.path().to_path_buf(),
        reference,
        reference_secs,
    };
    println!(
        "crash loop: {jobs} at a time; random kills 50–1500 ms after the start of a fresh run, up to {} ms into a resume",
        random_window(&setup, false, 0, 1)
    );
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut reports: Vec<RunReport> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        if index >= runs {
                            return done;
                        }
                        let report = interrupted_run(index, &setup);
                        println!(
                            "  run {}: {} ({} launches, {:.1} s): {}",
                            report.index,
                            if report.failures.is_empty() {
                                "identical"
                            } else {
                                "DIFFERS"
                            },
                            report.launches.len(),
                            report.secs,
                            report
                                .launches
                                .iter()
                                .map(Launch::describe)
                                .collect::<Vec<_>>()
                                .join("; ")
                        );
                        done.push(report);
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a crash-loop worker panicked"))
            .collect()
    });
    reports.sort_by_key(|r| r.index);

    let identical = reports.iter().filter(|r| r.failures.is_empty()).count();
    let mut at: BTreeMap<&str, usize> = BTreeMap::new();
    for kill in reports.iter().flat_map(|r| &r.kills) {
        *at.entry(kill.as_str()).or_default() += 1;
    }
    let total: usize = at.values().sum();
    // `random` first, then the points in the order the run reaches them.
    let order = std::iter::once("random").chain(POINTS);
    let at_list: Vec<String> = order
        .filter_map(|k| at.get(k).map(|n| format!("{k}×{n}")))
        .collect();
    println!(
        "crash loop: {identical}/{runs} bitwise-identical resumes (kills: {total}, at: {}) in {:.1} s",
        if at_list.is_empty() {
            "none".to_string()
        } else {
            at_list.join(", ")
        },
        started.elapsed().as_secs_f64()
    );
    let missing: Vec<&str> = POINTS
        .iter()
        .filter(|p| !at.contains_key(*p))
        .copied()
        .collect();
    if runs >= 3 && !missing.is_empty() {
        println!("crash loop: no kill landed at {}", missing.join(", "));
    }

    let failed: Vec<String> = reports
        .iter()
        .filter(|r| !r.failures.is_empty())
        .map(|r| {
            format!(
                "run {} (kills planned and launched: {}):\n  - {}",
                r.index,
                r.launches
                    .iter()
                    .map(|l| l.kill.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                r.failures.join("\n  - ")
            )
        })
        .collect();
    for f in &failed {
        println!("{f}");
    }
    assert!(
        failed.is_empty(),
        "crash loop: {}/{runs} runs differ from the uninterrupted run:\n{}",
        failed.len(),
        failed.join("\n")
    );
    // Every named point must have been exercised, or the loop proves less than it claims.
    assert!(
        runs < 3 || missing.is_empty(),
        "crash loop: no kill landed at {missing:?}"
    );
}
