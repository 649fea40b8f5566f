//! The bad-input corpus (issue 15): `ft` run on every case of `tests/bad_inputs/cases.json`.
//!
//! Each case is a command line with placeholders, a few setup steps that build its inputs in a
//! case folder, and what must hold afterwards. For a bad input: a non-zero exit that is neither a
//! panic (101, `panicked at`) nor a signal, a message naming the file and the line / field /
//! tensor / flag (`stderr` substrings, matched case-insensitively; `a|b` means either), and every
//! file that was in the case folder before the run (an earlier run, the user's data, a marker)
//! byte-identical after it, with no new file left behind. Cases marked `"expect": "success"`
//! must exit 0 and print their `output` substrings instead (valid-but-unusual inputs such as a
//! BOM, and recoveries such as `latest` skipping a damaged checkpoint).
//!
//! Small input files are committed under `tests/bad_inputs/files/`; large or derived ones (a
//! 50 MB header line, image bombs, truncated images, long rows) are written by [`generate`]
//! below into `target/bad-inputs/gen/`. The text cases use `ft_tests::fixtures::tiny_text()`
//! (a seeded-random 2-layer BERT), the image cases a ResNet-18 config without weights (random
//! initialisation: the data errors come before any real training). Two short template runs
//! (one text, one image) are trained first and copied into the cases that need an earlier run.
//!
//! Every case runs, failures are collected and reported together at the end (one line each:
//! name, what was wrong, the first line of stderr), and the whole report is also written to
//! `target/bad-inputs/report.txt`. `FT_BAD_INPUTS=name1,name2` runs only those cases;
//! `FT_BAD_INPUTS_KEEP=1` keeps the case folders for inspection.
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Parallel `ft` processes: the corpus is sized for a 2-core machine, where a third process
/// still overlaps one's start-up with another's work.
const WORKERS: usize = 3;
/// No single case may take longer (a hang is a failure too, not a stuck CI job).
const CASE_TIMEOUT: Duration = Duration::from_secs(180);
/// Bump when a generated file changes: [`generate`] then rewrites them all.
const GEN_VERSION: &str = "v1";

#[derive(Deserialize)]
struct Manifest {
    presets: HashMap<String, Vec<String>>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// What kind of fix a failure points to (reader, cli, overwrite, model, resume, verbs, ...).
    group: String,
    /// Why the case exists, when the name does not say it (often the finding it reproduces).
    #[serde(default)]
    why: Option<String>,
    /// Arguments put before `args`; a flag given in `args` replaces the preset's.
    #[serde(default)]
    preset: Option<String>,
    /// Preset flags (with their values) to leave out.
    #[serde(default)]
    drop: Vec<String>,
    args: Vec<String>,
    #[serde(default)]
    setup: Vec<Value>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    cwd: Option<String>,
    #[serde(default)]
    stdin: Option<String>,
    /// `error` (default) or `success`.
    #[serde(default)]
    expect: Option<String>,
    /// Substrings the error message must contain (for `error` cases).
    #[serde(default)]
    stderr: Vec<String>,
    /// Substrings stdout + stderr must contain (for `success` cases).
    #[serde(default)]
    output: Vec<String>,
    #[serde(default)]
    max_stderr_bytes: Option<usize>,
    /// Only meaningful where no CUDA device exists (`--device cuda` must fail).
    #[serde(default)]
    needs_no_gpu: bool,
}

impl Case {
    fn expects_success(&self) -> bool {
        self.expect.as_deref() == Some("success")
    }
}

/// Where everything is; the values of the placeholders.
struct Env {
    ft: PathBuf,
    files: PathBuf,
    gen: PathBuf,
    templates: PathBuf,
    cases: PathBuf,
    model: PathBuf,
    train: PathBuf,
    image_model: PathBuf,
}

impl Env {
    fn new() -> Env {
        let ws = ft_tests::workspace_root();
        let root = ws.join("target/bad-inputs");
        let tiny = ft_tests::fixtures::tiny_text();
        Env {
            ft: PathBuf::from(env!("CARGO_BIN_EXE_ft")),
            files: ws.join("tests/bad_inputs/files"),
            gen: root.join("gen"),
            templates: root.join("templates"),
            cases: root.join("cases"),
            model: tiny.model,
            train: tiny.train_csv,
            image_model: root.join("gen/image-model"),
        }
    }

    /// `s` with the placeholders of case folder `tmp` filled in.
    fn fill(&self, s: &str, tmp: &Path) -> String {
        let p = |p: &Path| p.display().to_string();
        s.replace("{model}", &p(&self.model))
            .replace("{train}", &p(&self.train))
            .replace("{image_model}", &p(&self.image_model))
            .replace("{files}", &p(&self.files))
            .replace("{gen}", &p(&self.gen))
            .replace("{out}", &p(&tmp.join("out")))
            .replace("{tmp}", &p(tmp))
    }
}

fn manifest() -> Manifest {
    let path = ft_tests::workspace_root().join("tests/bad_inputs/cases.json");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The preset's arguments, minus its flags that `args` gives again or `drop` names, then `args`.
fn command_line(case: &Case, presets: &HashMap<String, Vec<String>>) -> Vec<String> {
    let flag_name = |a: &str| a.split('=').next().unwrap_or(a).to_string();
    let given: Vec<String> = case
        .args
        .iter()
        .filter(|a| a.starts_with("--"))
        .map(|a| flag_name(a))
        .chain(case.drop.iter().cloned())
        .collect();
    let mut out = Vec::new();
    if let Some(name) = &case.preset {
        let preset = presets
            .get(name)
            .unwrap_or_else(|| panic!("case {}: no preset `{name}`", case.name));
        let mut skipping = false;
        for a in preset {
            // A value (or the verb before the first flag) goes with the flag before it.
            if a.starts_with("--") {
                skipping = given.contains(&flag_name(a));
            }
            if !skipping {
                out.push(a.clone());
            }
        }
    }
    out.extend(case.args.iter().cloned());
    out
}

#[test]
fn manifest_is_well_formed() {
    let m = manifest();
    assert!(m.cases.len() >= 60, "only {} cases", m.cases.len());
    let mut names = std::collections::HashSet::new();
    for c in &m.cases {
        assert!(names.insert(&c.name), "case {} twice", c.name);
        match c.expect.as_deref() {
            None | Some("error") => assert!(
                !c.stderr.is_empty(),
                "case {}: an error case says what the message must name",
                c.name
            ),
            Some("success") => assert!(
                !c.output.is_empty(),
                "case {}: a success case says what it must print",
                c.name
            ),
            Some(other) => panic!("case {}: expect `{other}`", c.name),
        }
        if let Some(p) = &c.preset {
            assert!(m.presets.contains_key(p), "case {}: preset {p}", c.name);
        }
        for step in &c.setup {
            let obj = step.as_object().expect("a setup step is an object");
            assert!(
                SETUP_OPS.iter().any(|op| obj.contains_key(*op)),
                "case {}: unknown setup step {step}",
                c.name
            );
        }
    }
    // The override rule: a case's flag replaces the preset's, `drop` removes one.
    let case: Case = serde_json::from_value(serde_json::json!({
        "name": "t", "group": "t", "preset": "p", "drop": ["--b"],
        "args": ["--a=2", "--c", "3"], "stderr": ["x"]
    }))
    .unwrap();
    let presets = HashMap::from([(
        "p".to_string(),
        ["train", "--a", "1", "--b", "1", "--flag", "--d", "4"]
            .map(String::from)
            .to_vec(),
    )]);
    assert_eq!(
        command_line(&case, &presets),
        ["train", "--flag", "--d", "4", "--a=2", "--c", "3"]
    );
}

#[test]
fn bad_inputs() {
    let started = Instant::now();
    let env = Env::new();
    generate(&env.gen).unwrap_or_else(|e| panic!("generating {}: {e}", env.gen.display()));
    let m = manifest();
    train_templates(&env, &m.presets);
    let prepared = started.elapsed();

    let only: Option<Vec<String>> = std::env::var("FT_BAD_INPUTS")
        .ok()
        .filter(|s| !s.is_empty())
        .map(|s| s.split(',').map(str::to_string).collect());
    let has_gpu = tch::Cuda::is_available();
    let cases: Vec<&Case> = m
        .cases
        .iter()
        .filter(|c| only.as_ref().is_none_or(|o| o.contains(&c.name)))
        .filter(|c| !(c.needs_no_gpu && has_gpu))
        .collect();
    let _ = std::fs::remove_dir_all(&env.cases);
    std::fs::create_dir_all(&env.cases).unwrap();

    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let r = run_case(&env, case, &m.presets);
                results.lock().unwrap().push(r);
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| (r.group.clone(), r.name.clone()));
    let report = report(&results, prepared, started.elapsed());
    println!("{report}");
    let path = ft_tests::workspace_root().join("target/bad-inputs/report.txt");
    std::fs::write(&path, &report).unwrap();
    let failed = results.iter().filter(|r| !r.problems.is_empty()).count();
    assert!(
        failed == 0,
        "{failed} of {} bad-input cases failed (report: {})",
        results.len(),
        path.display()
    );
}

/// One case's outcome.
struct Outcome {
    name: String,
    group: String,
    why: Option<String>,
    problems: Vec<String>,
    first_stderr_line: String,
    seconds: f64,
}

fn report(results: &[Outcome], prepared: Duration, total: Duration) -> String {
    let failed: Vec<&Outcome> = results.iter().filter(|r| !r.problems.is_empty()).collect();
    let mut out = format!(
        "bad-input corpus: {} cases, {} pass, {} fail; {:.1} s in all ({:.1} s generating and training the templates)\n",
        results.len(),
        results.len() - failed.len(),
        failed.len(),
        total.as_secs_f64(),
        prepared.as_secs_f64()
    );
    let mut group = "";
    for r in &failed {
        if r.group != group {
            group = &r.group;
            let n = failed.iter().filter(|f| f.group == group).count();
            out.push_str(&format!("\n[{group}] {n} failing\n"));
        }
        out.push_str(&format!(
            "FAIL {}: {} | stderr: {}\n",
            r.name,
            r.problems.join("; "),
            r.first_stderr_line
        ));
        if let Some(why) = &r.why {
            out.push_str(&format!("     ({why})\n"));
        }
    }
    let mut slow: Vec<&Outcome> = results.iter().collect();
    slow.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
    out.push_str("\nslowest: ");
    for r in slow.iter().take(5) {
        out.push_str(&format!("{} {:.1} s, ", r.name, r.seconds));
    }
    out.push('\n');
    out
}

fn run_case(env: &Env, case: &Case, presets: &HashMap<String, Vec<String>>) -> Outcome {
    let t = Instant::now();
    let tmp = env.cases.join(&case.name);
    let mut outcome = Outcome {
        name: case.name.clone(),
        group: case.group.clone(),
        why: case.why.clone(),
        problems: Vec::new(),
        first_stderr_line: String::new(),
        seconds: 0.0,
    };
    if let Err(e) = std::fs::create_dir_all(&tmp)
        .map_err(|e| e.to_string())
        .and_then(|_| setup(env, case, &tmp))
    {
        outcome.problems.push(format!("setup failed: {e}"));
        return outcome;
    }
    let before = snapshot(&tmp);

    let args: Vec<String> = command_line(case, presets)
        .iter()
        .map(|a| env.fill(a, &tmp))
        .collect();
    let cwd = case
        .cwd
        .as_ref()
        .map(|c| PathBuf::from(env.fill(c, &tmp)))
        .unwrap_or_else(|| tmp.clone());
    let mut cmd = Command::new(&env.ft);
    cmd.args(&args)
        .current_dir(&cwd)
        // A case that resolves a name through the cache (or an `--overwrite` that would delete
        // it) meets an empty cache of its own, never the shared one.
        .env("FT_HOME", tmp.join(".ft-home"))
        .env("RUST_BACKTRACE", "0");
    for (k, v) in &case.env {
        cmd.env(k, env.fill(v, &tmp));
    }
    let run = run_with_timeout(cmd, case.stdin.as_deref());
    outcome.seconds = t.elapsed().as_secs_f64();
    let (status, stdout, stderr) = match run {
        Ok(r) => r,
        Err(e) => {
            outcome.problems.push(e);
            return outcome;
        }
    };
    outcome.first_stderr_line = stderr
        .lines()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.chars().take(240).collect())
        .unwrap_or_else(|| "(empty)".into());
    let p = &mut outcome.problems;

    if let Some(sig) = status.signal() {
        p.push(format!("killed by signal {sig}"));
    }
    if stderr.contains("panicked at") {
        p.push("panicked".into());
    }
    let lower = |s: &str| s.to_lowercase();
    let contains = |hay: &str, item: &str| {
        let hay = lower(hay);
        item.split('|').any(|alt| hay.contains(&lower(alt)))
    };
    if case.expects_success() {
        match status.code() {
            Some(0) => {}
            Some(c) => p.push(format!("exit {c}, expected success")),
            None => {}
        }
        let all = format!("{stdout}\n{stderr}");
        for item in &case.output {
            if !contains(&all, item) {
                p.push(format!("output lacks `{item}`"));
            }
        }
    } else {
        match status.code() {
            Some(0) => p.push("exit 0: the bad input was accepted".into()),
            Some(101) => p.push("exit 101 (a panic)".into()),
            Some(c) if c >= 128 => p.push(format!("exit {c} (a signal's code)")),
            _ => {}
        }
        if status.code() != Some(0) {
            for item in &case.stderr {
                if !contains(&stderr, item) {
                    p.push(format!("stderr lacks `{item}`"));
                }
            }
        }
        if let Some(max) = case.max_stderr_bytes {
            if stderr.len() > max {
                p.push(format!("stderr is {} bytes (at most {max})", stderr.len()));
            }
        }
        let after = snapshot(&tmp);
        p.extend(compare(&before, &after));
    }
    if p.is_empty() && std::env::var_os("FT_BAD_INPUTS_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    outcome
}

type RunResult = (std::process::ExitStatus, String, String);

fn run_with_timeout(mut cmd: Command, stdin: Option<&str>) -> Result<RunResult, String> {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("cannot start ft: {e}"))?;
    if let Some(text) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().unwrap();
        let _ = pipe.write_all(text.as_bytes());
    }
    let read = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = read(Box::new(child.stdout.take().unwrap()));
    let err = read(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > CASE_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("still running after {} s", CASE_TIMEOUT.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for ft: {e}")),
        }
    };
    Ok((status, out.join().unwrap(), err.join().unwrap()))
}

/// Every regular file under `dir`: its path relative to `dir`, and a hash of its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, u64)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, (u64, u64)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                walk(root, &path, out);
            } else if kind.is_file() {
                let bytes = std::fs::read(&path).unwrap_or_default();
                let mut h = std::collections::hash_map::DefaultHasher::new();
                bytes.hash(&mut h);
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, (bytes.len() as u64, h.finish()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// What a failed run did to the case folder: files changed, removed or left behind.
fn compare(
    before: &BTreeMap<PathBuf, (u64, u64)>,
    after: &BTreeMap<PathBuf, (u64, u64)>,
) -> Vec<String> {
    let list = |v: Vec<&PathBuf>| {
        let n = v.len();
        let mut s: Vec<String> = v.iter().take(4).map(|p| p.display().to_string()).collect();
        if n > 4 {
            s.push(format!("and {} more", n - 4));
        }
        s.join(", ")
    };
    let mut problems = Vec::new();
    let removed: Vec<&PathBuf> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    let changed: Vec<&PathBuf> = before
        .iter()
        .filter(|(k, v)| after.get(*k).is_some_and(|a| a != *v))
        .map(|(k, _)| k)
        .collect();
    let added: Vec<&PathBuf> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    if !removed.is_empty() {
        problems.push(format!(
            "DELETED {} file(s): {}",
            removed.len(),
            list(removed)
        ));
    }
    if !changed.is_empty() {
        problems.push(format!("changed {}", list(changed)));
    }
    if !added.is_empty() {
        problems.push(format!("left behind {}", list(added)));
    }
    problems
}

/// The setup steps a case may use (one key of each step object names it).
const SETUP_OPS: [&str; 11] = [
    "template",
    "copy",
    "write",
    "mkdir",
    "remove",
    "truncate",
    "json_set",
    "st_edit",
    "st_header_len",
    "st_garble_header",
    "st_fill_nan",
];

fn setup(env: &Env, case: &Case, tmp: &Path) -> Result<(), String> {
    for step in &case.setup {
        let s = |key: &str| -> Result<PathBuf, String> {
            step.get(key)
                .and_then(Value::as_str)
                .map(|v| PathBuf::from(env.fill(v, tmp)))
                .ok_or_else(|| format!("step {step}: no string `{key}`"))
        };
        let r = if let Some(name) = step.get("template").and_then(Value::as_str) {
            copy_all(&env.templates.join(name), &s("to")?)
        } else if step.get("copy").is_some() {
            copy_all(&s("copy")?, &s("to")?)
        } else if step.get("write").is_some() {
            let path = s("write")?;
            let text = env.fill(step["text"].as_str().unwrap_or(""), tmp);
            create_parent(&path).and_then(|_| std::fs::write(&path, text))
        } else if step.get("mkdir").is_some() {
            std::fs::create_dir_all(s("mkdir")?)
        } else if step.get("remove").is_some() {
            let path = s("remove")?;
            if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            }
        } else if step.get("truncate").is_some() {
            let path = s("truncate")?;
            let f = step["keep_fraction"].as_f64().unwrap_or(0.5);
            std::fs::metadata(&path).and_then(|m| {
                let keep = (m.len() as f64 * f) as u64;
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)?
                    .set_len(keep)
            })
        } else if step.get("json_set").is_some() {
            let path = s("json_set")?;
            let key = step["key"].as_str().unwrap_or_default();
            json_set(&path, key, step["value"].clone())
        } else if step.get("st_edit").is_some() {
            st_edit(&s("st_edit")?, step)
        } else if step.get("st_header_len").is_some() {
            let v = step["value"].as_u64().unwrap_or(u64::MAX);
            let path = s("st_header_len")?;
            std::fs::read(&path).and_then(|mut b| {
                b[..8].copy_from_slice(&v.to_le_bytes());
                std::fs::write(&path, b)
            })
        } else if step.get("st_garble_header").is_some() {
            let path = s("st_garble_header")?;
            std::fs::read(&path).and_then(|mut b| {
                // Keep the length and the opening brace; what follows is not JSON.
                for x in &mut b[9..80] {
                    *x = b'#';
                }
                std::fs::write(&path, b)
            })
        } else if step.get("st_fill_nan").is_some() {
            st_fill_nan(&s("st_fill_nan")?, step)
        } else {
            return Err(format!("unknown step {step}"));
        };
        r.map_err(|e| format!("step {step}: {e}"))?;
    }
    Ok(())
}

fn create_parent(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(p) => std::fs::create_dir_all(p),
        None => Ok(()),
    }
}

/// Copies a file, or a folder recursively.
fn copy_all(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        for e in std::fs::read_dir(from)? {
            let e = e?;
            copy_all(&e.path(), &to.join(e.file_name()))?;
        }
        Ok(())
    } else {
        create_parent(to)?;
        std::fs::copy(from, to).map(|_| ())
    }
}

fn json_set(path: &Path, key: &str, value: Value) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let mut v: Value = serde_json::from_str(&text).map_err(std::io::Error::other)?;
    v[key] = value;
    std::fs::write(path, serde_json::to_string_pretty(&v)?)
}

/// A safetensors file's header and data section.
fn st_read(path: &Path) -> std::io::Result<(serde_json::Map<String, Value>, Vec<u8>)> {
    let bytes = std::fs::read(path)?;
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).map_err(std::io::Error::other)?;
    let header = header.as_object().cloned().unwrap_or_default();
    Ok((header, bytes[8 + n..].to_vec()))
}

fn st_write(
    path: &Path,
    header: &serde_json::Map<String, Value>,
    data: &[u8],
) -> std::io::Result<()> {
    let mut h = serde_json::to_vec(header)?;
    while h.len() % 8 != 0 {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    std::fs::write(path, out)
}

/// Replaces the header fields (`dtype`, `shape`, `data_offsets`) of one tensor, leaving its bytes.
fn st_edit(path: &Path, step: &Value) -> std::io::Result<()> {
    let (mut header, data) = st_read(path)?;
    let name = step["tensor"].as_str().unwrap_or_default();
    let entry = header
        .get_mut(name)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| std::io::Error::other(format!("no tensor {name}")))?;
    for key in ["dtype", "shape", "data_offsets"] {
        if let Some(v) = step.get(key) {
            entry.insert(key.to_string(), v.clone());
        }
    }
    st_write(path, &header, &data)
}

/// Sets every value of one F32 tensor to NaN.
fn st_fill_nan(path: &Path, step: &Value) -> std::io::Result<()> {
    let (header, mut data) = st_read(path)?;
    let name = step["tensor"].as_str().unwrap_or_default();
    let offsets = header
        .get(name)
        .and_then(|t| t.get("data_offsets"))
        .and_then(Value::as_array)
        .ok_or_else(|| std::io::Error::other(format!("no tensor {name}")))?;
    let (a, b) = (
        offsets[0].as_u64().unwrap() as usize,
        offsets[1].as_u64().unwrap() as usize,
    );
    for chunk in data[a..b].chunks_exact_mut(4) {
        chunk.copy_from_slice(&f32::NAN.to_le_bytes());
    }
    st_write(path, &header, &data)
}

/// Trains the template runs the cases copy: a text run with checkpoints at steps 2 and 4 (the
/// `text-template` preset, which the resume cases repeat), and a one-step image run.
fn train_templates(env: &Env, presets: &HashMap<String, Vec<String>>) {
    let _ = std::fs::remove_dir_all(&env.templates);
    for (name, preset) in [
        ("text-run", "text-template"),
        ("image-run", "image-template"),
    ] {
        let dir = env.templates.join(name);
        let mut args: Vec<String> = presets[preset]
            .iter()
            .map(|a| env.fill(a, &env.templates))
            .collect();
        args.extend(["--output-dir".to_string(), dir.display().to_string()]);
        let out = Command::new(&env.ft)
            .args(&args)
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the template run {name} failed: ft {}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Generated inputs: too large to commit, or derived from another file.

/// Writes the generated inputs into `gen` unless this [`GEN_VERSION`] already did.
fn generate(gen: &Path) -> std::io::Result<()> {
    let stamp = gen.join(format!("generated-{GEN_VERSION}"));
    if stamp.is_file() {
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(gen);
    std::fs::create_dir_all(gen)?;

    // One 50 MB column name and no `text` column: the error must not quote it whole.
    let mut big = vec![b'x'; 50 * 1024 * 1024];
    big.extend_from_slice(b"\nsome text\n");
    std::fs::write(gen.join("big_header.csv"), big)?;

    // Rows of ~2000 tokens for --max-length past the fixture's 64 positions.
    let mut long = String::from("text,label\n");
    for i in 0..20 {
        let label = if i % 2 == 0 { "positive" } else { "negative" };
        long.push_str(&"a great film ".repeat(700));
        long.push_str(&format!(",{label}\n"));
    }
    std::fs::write(gen.join("long_rows.csv"), long)?;

    // Two classes of small noisy PNGs.
    let mut rng = 20261201u64;
    for (class, tint) in [("cat", [200u8, 60, 60]), ("dog", [60, 60, 200])] {
        let dir = gen.join("images/ok").join(class);
        std::fs::create_dir_all(&dir)?;
        for i in 0..6 {
            let mut px = Vec::with_capacity(16 * 16 * 3);
            for _ in 0..16 * 16 {
                for t in tint {
                    rng = rng
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    px.push(t.saturating_add((rng >> 59) as u8 * 4));
                }
            }
            std::fs::write(dir.join(format!("{i}.png")), png(16, 16, &px))?;
        }
    }
    let ok_png = std::fs::read(gen.join("images/ok/cat/0.png"))?;
    std::fs::write(gen.join("truncated.png"), &ok_png[..ok_png.len() * 6 / 10])?;

    // A PNG whose header claims 100000 x 100000 RGB pixels (30 GB) over a 1 KB stream.
    std::fs::write(gen.join("bomb.png"), png_claiming(100_000, 100_000))?;

    let jpg = std::fs::read(ft_tests::workspace_root().join("tests/bad_inputs/files/ok.jpg"))?;
    std::fs::write(gen.join("truncated.jpg"), &jpg[..jpg.len() * 6 / 10])?;
    // The same JPEG with its frame header (SOF0) saying 65500 x 65500.
    let mut bomb = jpg.clone();
    let sof = bomb
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("ok.jpg has a baseline frame header");
    bomb[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xDC, 0xFF, 0xDC]);
    std::fs::write(gen.join("bomb.jpg"), bomb)?;

    // A ResNet-18 with no weights: ft trains it from a random initialisation.
    let model = gen.join("image-model");
    std::fs::create_dir_all(&model)?;
    std::fs::write(
        model.join("config.json"),
        r#"{"model_type": "resnet", "depth": 18, "num_classes": 2}"#,
    )?;

    std::fs::write(stamp, "")
}

/// An 8-bit RGB PNG, its image data in stored (uncompressed) deflate blocks.
fn png(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let mut raw = Vec::new();
    for row in rgb.chunks(width as usize * 3) {
        raw.push(0); // filter: none
        raw.extend_from_slice(row);
    }
    assert_eq!(raw.len(), (height * (width * 3 + 1)) as usize);
    png_file(width, height, &zlib_stored(&raw, true))
}

/// A PNG header claiming `width` x `height` over a short, valid, unfinished stream of zeros.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    png_file(width, height, &zlib_stored(&[0u8; 1024], false))
}

fn png_file(width: u32, height: u32, idat: &[u8]) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, adaptive filter, no interlace
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", &ihdr[..]), (b"IDAT", idat), (b"IEND", &[][..])] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    out
}

/// A zlib stream of stored blocks; `finish`: with the final block and the checksum.
fn zlib_stored(data: &[u8], finish: bool) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = data.chunks(65535).collect();
    for (i, c) in chunks.iter().enumerate() {
        let last = finish && i + 1 == chunks.len();
        out.push(last as u8);
        out.extend_from_slice(&(c.len() as u16).to_le_bytes());
        out.extend_from_slice(&(!(c.len() as u16)).to_le_bytes());
        out.extend_from_slice(c);
    }
    if finish {
        let (mut a, mut b) = (1u32, 0u32);
        for &x in data {
            a = (a + x as u32) % 65521;
            b = (b + a) % 65521;
        }
        out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    }
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
