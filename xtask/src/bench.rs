//! `cargo xtask bench`: ft against its PyTorch/transformers twin, in one run on one machine.
//!
//! Absolute times on a shared 2-core machine drift by tens of percent between runs, so a speed
//! claim only means something side by side: every case runs its sides alternately (A B A B …)
//! after one warm-up run of each, and the table reports medians and their ratio. Each side is a
//! small program (`benches/src/bin/*.rs`, `benches/python/*.py`) printing one JSON line with its
//! `value` and `peak_rss_mib`; the recipe case is timed from the outside (whole process).
use crate::cmd;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

#[derive(clap::Args, Debug, Default)]
pub struct BenchArgs {
    /// Cases to run (default: all). `--list` names them.
    pub cases: Vec<String>,
    /// A smoke run in under 10 minutes: fewer steps and pairs, one epoch of the recipe.
    #[arg(long)]
    pub quick: bool,
    /// Also write the report as JSON here (it is always written to target/bench/report.json).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// List the cases and exit.
    #[arg(long)]
    pub list: bool,
}

/// Where a side's number comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Measure {
    /// The `value` of its JSON line.
    Reported,
    /// The wall time of the whole process, in seconds.
    Wall,
}

#[derive(Debug, Clone)]
struct Side {
    label: String,
    ft: bool,
    program: Program,
    args: Vec<String>,
}

#[derive(Debug, Clone)]
enum Program {
    /// A binary of the ft-bench package.
    Bin(&'static str),
    /// A script in benches/python, run with the project venv.
    Python(&'static str),
}

#[derive(Debug, Clone)]
struct Case {
    name: &'static str,
    about: &'static str,
    unit: &'static str,
    higher_is_better: bool,
    measure: Measure,
    /// Rounds of alternating sides after the warm-up.
    rounds: usize,
    warmup: bool,
    /// FLOPs per unit of `value` (per sample for throughput cases), for the share of matmul peak.
    flops_per_unit: Option<f64>,
    sides: Vec<Side>,
}

fn side(label: &str, ft: bool, program: Program, args: &[&str]) -> Side {
    Side {
        label: label.into(),
        ft,
        program,
        args: args.iter().map(|s| s.to_string()).collect(),
    }
}

/// Training FLOPs per sample of a BERT encoder (forward ≈ 2 FLOPs per weight per token plus
/// attention's two s×s×h products; backward ≈ twice the forward).
fn bert_flops_per_sample(layers: f64, hidden: f64, inter: f64, seq: f64) -> f64 {
    let weights = layers * (4.0 * hidden * hidden + 2.0 * hidden * inter);
    3.0 * seq * (2.0 * weights + 4.0 * layers * seq * hidden)
}

fn cases(quick: bool) -> Vec<Case> {
    let q = |quick_v: &'static str, full_v: &'static str| if quick { quick_v } else { full_v };
    let rounds = 3;
    let tmp = bench_dir().join("runs");
    let tmp = |name: &str| tmp.join(name).to_string_lossy().into_owned();
    let (ft_run, hf_max, hf_dyn, hf_grouped) = (
        tmp("ft-sentiment"),
        tmp("hf-max"),
        tmp("hf-dyn"),
        tmp("hf-grouped"),
    );
    let epochs = q("1", "3");
    let recipe = crate::workspace_root()
        .join("crates/ft-cli/recipes/sentiment.json")
        .to_string_lossy()
        .into_owned();
    let bert_base = crate::workspace_root()
        .join("benches/configs/bert-base-uncased.json")
        .to_string_lossy()
        .into_owned();
    let tokenize_n = q("20000", "100000");
    let images = images_dir(quick).to_string_lossy().into_owned();
    let weights = bench_dir().join("resnet50").to_string_lossy().into_owned();
    let (probe_cached, probe_uncached) = (tmp("probe-cached"), tmp("probe-uncached"));
    vec![
        Case {
            name: "matmul-peak",
            about: "fp32 2048² matmul, GFLOP/s (the peak the model cases are measured against)",
            unit: "GFLOP/s",
            higher_is_better: true,
            measure: Measure::Reported,
            rounds: 1,
            warmup: false,
            flops_per_unit: None,
            sides: vec![
                side("ft (libtorch)", true, Program::Bin("matmul_peak"), &[]),
                side("pytorch", false, Program::Python("matmul_peak.py"), &[]),
            ],
        },
        Case {
            name: "minilm-step",
            about: "MiniLM-L6 full fine-tuning step, batch 16, seq 128",
            unit: "samples/s",
            higher_is_better: true,
            measure: Measure::Reported,
            rounds,
            warmup: true,
            flops_per_unit: Some(bert_flops_per_sample(6.0, 384.0, 1536.0, 128.0)),
            sides: vec![
                side(
                    "ft",
                    true,
                    Program::Bin("bert_step"),
                    &["minilm-l6", "16", "128", q("5", "10")],
                ),
                side(
                    "transformers",
                    false,
                    Program::Python("bert_step.py"),
                    &["minilm-l6", "16", "128", q("5", "10")],
                ),
            ],
        },
        Case {
            name: "bert-base-step",
            about: "BERT-base (random weights) full fine-tuning step, batch 16, seq 128",
            unit: "samples/s",
            higher_is_better: true,
            measure: Measure::Reported,
            rounds,
            warmup: !quick,
            flops_per_unit: Some(bert_flops_per_sample(12.0, 768.0, 3072.0, 128.0)),
            sides: vec![
                side(
                    "ft",
                    true,
                    Program::Bin("bert_step"),
                    &[&bert_base, "16", "128", q("1", "4"), q("1", "2")],
                ),
                side(
                    "transformers",
                    false,
                    Program::Python("bert_step.py"),
                    &[&bert_base, "16", "128", q("1", "4"), q("1", "2")],
                ),
            ],
        },
        Case {
            name: "sentiment-recipe",
            about: "the guide's Example 1 (`sentiment` recipe) end to end, whole-process wall time",
            unit: "s",
            higher_is_better: false,
            measure: Measure::Wall,
            rounds: if quick { 1 } else { 3 },
            warmup: false,
            flops_per_unit: None,
            sides: [
                vec![side(
                    "ft",
                    true,
                    Program::Bin("recipe"),
                    &[&recipe, &ft_run, epochs],
                )],
                // The guide's padding to 128 costs ~150 s a run even at one epoch: full run only.
                if quick {
                    vec![]
                } else {
                    vec![side(
                        "HF Trainer, padding=max_length (as the guide)",
                        false,
                        Program::Python("sentiment_hf.py"),
                        &["max_length", &hf_max, epochs],
                    )]
                },
                vec![
                    side(
                        "HF Trainer, dynamic padding",
                        false,
                        Program::Python("sentiment_hf.py"),
                        &["dynamic", &hf_dyn, epochs],
                    ),
                    // The same batching as ft's recipe (length-grouped training batches), so the
                    // table separates what the grouping buys from what ft itself does.
                    side(
                        "HF Trainer, dynamic padding + group_by_length",
                        false,
                        Program::Python("sentiment_hf.py"),
                        &["grouped", &hf_grouped, epochs],
                    ),
                ],
            ]
            .concat(),
        },
        Case {
            name: "tokenize",
            about: "tokenize + collate Rotten Tomatoes sentences (batches of 16, dynamic padding)",
            unit: "sentences/s",
            higher_is_better: true,
            measure: Measure::Reported,
            rounds,
            warmup: true,
            flops_per_unit: None,
            sides: vec![
                side("ft-data", true, Program::Bin("tokenize"), &[tokenize_n]),
                side(
                    "transformers fast tokenizer + DataCollatorWithPadding",
                    false,
                    Program::Python("tokenize_collate.py"),
                    &[tokenize_n],
                ),
            ],
        },
        Case {
            name: "resnet50-probe",
            about: "the guide's Example 2 loop (frozen ResNet-50, new fc, Adam, 5 epochs) on a fixed image folder, whole-process wall time",
            unit: "s",
            higher_is_better: false,
            measure: Measure::Wall,
            rounds: if quick { 1 } else { 3 },
            warmup: false,
            flops_per_unit: None,
            sides: vec![
                side(
                    "ft, feature cache, fixed transforms",
                    true,
                    Program::Bin("probe"),
                    &[&images, &weights, "5", "true", &probe_cached, "fixed"],
                ),
                // The same job without the cache: the cache's own speed-up (the head is equal).
                side(
                    "ft, no cache, fixed transforms",
                    false,
                    Program::Bin("probe"),
                    &[&images, &weights, "5", "false", &probe_uncached, "fixed"],
                ),
                side(
                    "ft, no cache, random crops (the guide's augmentation)",
                    true,
                    Program::Bin("probe"),
                    &[&images, &weights, "5", "false", &probe_uncached, "random"],
                ),
                side(
                    "torchvision, the guide's loop",
                    false,
                    Program::Python("resnet_probe.py"),
                    &[&images, &weights, "5"],
                ),
            ],
        },
        Case {
            name: "image-pipeline",
            about: "decode + RandomResizedCrop(224) + flip + normalise of 500x375 JPEGs, batch 32",
            unit: "images/s",
            higher_is_better: true,
            measure: Measure::Reported,
            rounds,
            warmup: true,
            flops_per_unit: None,
            sides: vec![
                side("ft-data", true, Program::Bin("image_pipeline"), &[&images, "32", "2"]),
                side(
                    "torchvision DataLoader(num_workers=2)",
                    false,
                    Program::Python("image_pipeline.py"),
                    &[&images, "32", "2"],
                ),
            ],
        },
        Case {
            name: "adamw-step",
            about: "one AdamW step over BERT-base's 110M parameters",
            unit: "ms",
            higher_is_better: false,
            measure: Measure::Reported,
            rounds,
            warmup: true,
            flops_per_unit: None,
            sides: vec![
                side("ft-optim", true, Program::Bin("adamw_step"), &[]),
                side(
                    "torch.optim.AdamW foreach",
                    false,
                    Program::Python("adamw_step.py"),
                    &["foreach"],
                ),
                side(
                    "torch.optim.AdamW fused",
                    false,
                    Program::Python("adamw_step.py"),
                    &["fused"],
                ),
            ],
        },
    ]
}

/// How many photos the image cases use (fewer in a quick run).
fn photo_count(quick: bool) -> usize {
    if quick {
        48
    } else {
        200
    }
}

/// The generated photo folder the image cases share, named by its size.
fn images_dir(quick: bool) -> PathBuf {
    bench_dir().join(format!("images-{}", photo_count(quick)))
}

/// Generates the image folder and the random ResNet-50 weights once (kept in target/bench).
fn prepare_images(quick: bool) -> Result<()> {
    let root = crate::workspace_root();
    let python = root.join(".venv/bin/python");
    let dir = images_dir(quick);
    if !dir.is_dir() {
        println!("=== xtask bench: generating {}", dir.display());
        let tmp = dir.with_extension("tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        cmd::run(
            Command::new(&python)
                .arg(root.join("benches/python/image_pipeline.py"))
                .arg("--make-folder")
                .arg(&tmp)
                .arg(photo_count(quick).to_string()),
        )?;
        std::fs::rename(&tmp, &dir)?;
    }
    let weights = bench_dir().join("resnet50");
    if !weights.join("model.safetensors").is_file() {
        cmd::run(
            Command::new(&python)
                .arg(root.join("benches/python/resnet_probe.py"))
                .arg("--make-weights")
                .arg(&weights),
        )?;
    }
    Ok(())
}

fn bench_dir() -> PathBuf {
    target_dir().join("bench")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target"))
}

/// One run's result.
#[derive(Debug, Clone)]
struct Sample {
    value: f64,
    rss_mib: f64,
    line: Value,
}

/// The last JSON object line of a program's stdout.
fn parse_result(stdout: &str) -> Result<Value> {
    stdout
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('{'))
        .context("the program printed no JSON result line")
        .and_then(|l| serde_json::from_str(l).context("its result line is not JSON"))
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// How many times faster `ft` is than `base` (above 1: ft wins), whatever the unit's direction.
fn speedup(ft: f64, base: f64, higher_is_better: bool) -> f64 {
    if higher_is_better {
        ft / base
    } else {
        base / ft
    }
}

fn run_side(case: &Case, side: &Side, threads: usize, log: &Path) -> Result<Sample> {
    let root = crate::workspace_root();
    let mut command = match side.program {
        Program::Bin(name) => Command::new(target_dir().join("release").join(name)),
        Program::Python(script) => {
            let mut c = Command::new(root.join(".venv/bin/python"));
            c.arg(root.join("benches/python").join(script));
            c
        }
    };
    command
        .args(&side.args)
        .current_dir(&root)
        .env("BENCH_THREADS", threads.to_string())
        .stdin(Stdio::null());
    let line = cmd::describe(&command);
    let start = Instant::now();
    let out = command
        .output()
        .with_context(|| format!("could not start `{line}`"))?;
    let wall = start.elapsed().as_secs_f64();
    std::fs::write(
        log,
        [&out.stdout[..], b"\n--- stderr\n", &out.stderr[..]].concat(),
    )?;
    if !out.status.success() {
        bail!(
            "{} / {}: `{line}` failed ({}); its output is in {}",
            case.name,
            side.label,
            out.status,
            log.display()
        );
    }
    let result = parse_result(&String::from_utf8_lossy(&out.stdout)).with_context(|| {
        format!(
            "{} / {} (output in {})",
            case.name,
            side.label,
            log.display()
        )
    })?;
    let value = match case.measure {
        Measure::Wall => wall,
        Measure::Reported => result["value"]
            .as_f64()
            .with_context(|| format!("{} / {}: no numeric `value`", case.name, side.label))?,
    };
    Ok(Sample {
        value,
        rss_mib: result["peak_rss_mib"].as_f64().unwrap_or(f64::NAN),
        line: result,
    })
}

/// The measured medians of one case.
#[derive(Debug, Clone, serde::Serialize)]
struct SideReport {
    label: String,
    ft: bool,
    median: f64,
    values: Vec<f64>,
    peak_rss_mib: f64,
    /// Median accuracy where the side reports one (the recipe case).
    accuracy: Option<f64>,
    /// Share of the measured libtorch matmul peak (model cases).
    peak_fraction: Option<f64>,
}

#[derive(Debug, Clone, serde::Serialize)]
struct CaseReport {
    name: String,
    about: String,
    unit: String,
    higher_is_better: bool,
    sides: Vec<SideReport>,
    /// `(ft side, baseline side, speed-up, peak-RSS ratio ft/baseline)`.
    ratios: Vec<(String, String, f64, f64)>,
}

fn run_case(case: &Case, threads: usize, peak_gflops: Option<f64>) -> Result<CaseReport> {
    let logs = bench_dir().join("logs");
    std::fs::create_dir_all(&logs)?;
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); case.sides.len()];
    let total = case.rounds + usize::from(case.warmup);
    for round in 0..total {
        let warm = case.warmup && round == 0;
        for (i, side) in case.sides.iter().enumerate() {
            let log = logs.join(format!("{}-{i}-{round}.log", case.name));
            let s = run_side(case, side, threads, &log)?;
            println!(
                "  {:<16} {:<52} {}{:>10.3} {}",
                case.name,
                side.label,
                if warm { "(warm-up) " } else { "" },
                s.value,
                case.unit
            );
            if !warm {
                samples[i].push(s);
            }
        }
    }
    let sides: Vec<SideReport> = case
        .sides
        .iter()
        .zip(&samples)
        .map(|(side, runs)| {
            let values: Vec<f64> = runs.iter().map(|s| s.value).collect();
            let med = median(&values);
            let acc: Vec<f64> = runs
                .iter()
                .filter_map(|s| s.line["accuracy"].as_f64())
                .collect();
            SideReport {
                label: side.label.clone(),
                ft: side.ft,
                median: med,
                peak_rss_mib: runs.iter().map(|s| s.rss_mib).fold(f64::NAN, f64::max),
                accuracy: (!acc.is_empty()).then(|| median(&acc)),
                peak_fraction: match (case.flops_per_unit, peak_gflops) {
                    (Some(f), Some(p)) => Some(med * f / 1e9 / p),
                    _ => None,
                },
                values,
            }
        })
        .collect();
    let mut ratios = Vec::new();
    for a in sides.iter().filter(|s| s.ft) {
        for b in sides.iter().filter(|s| !s.ft) {
            ratios.push((
                a.label.clone(),
                b.label.clone(),
                speedup(a.median, b.median, case.higher_is_better),
                a.peak_rss_mib / b.peak_rss_mib,
            ));
        }
    }
    Ok(CaseReport {
        name: case.name.into(),
        about: case.about.into(),
        unit: case.unit.into(),
        higher_is_better: case.higher_is_better,
        sides,
        ratios,
    })
}

fn markdown(reports: &[CaseReport], header: &str) -> String {
    let mut md = format!(
        "{header}\n\n| case | side | median | unit | peak RSS MiB | accuracy | share of matmul peak |\n|---|---|---:|---|---:|---:|---:|\n"
    );
    for r in reports {
        for s in &r.sides {
            md += &format!(
                "| {} | {} | {:.3} | {} | {:.0} | {} | {} |\n",
                r.name,
                s.label,
                s.median,
                r.unit,
                s.peak_rss_mib,
                s.accuracy.map(|a| format!("{a:.3}")).unwrap_or_default(),
                s.peak_fraction
                    .map(|f| format!("{:.0}%", f * 100.0))
                    .unwrap_or_default()
            );
        }
    }
    md += "\n| case | ft side | against | speed-up (×, above 1: ft faster) | peak RSS ft / theirs |\n|---|---|---|---:|---:|\n";
    for r in reports {
        for (a, b, x, m) in &r.ratios {
            md += &format!("| {} | {a} | {b} | {x:.2} | {m:.2} |\n", r.name);
        }
    }
    md
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let all = cases(args.quick);
    if args.list {
        for c in &all {
            println!("{:<18} {}", c.name, c.about);
        }
        return Ok(());
    }
    for name in &args.cases {
        if !all.iter().any(|c| c.name == name) {
            bail!(
                "unknown bench case `{name}` (known: {})",
                all.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
            );
        }
    }
    crate::setup::run()?;
    // The photo folder of the image cases is cut from sklearn's sample photos.
    crate::fetch::run(&crate::fetch::FetchArgs::only(&[
        "minilm-l6",
        "rotten-tomatoes",
        "sklearn-digits",
    ]))?;
    println!("\n=== xtask bench: building the release binaries");
    cmd::run(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .current_dir(crate::workspace_root())
            .args(["build", "--release", "-p", "ft-bench", "--bins"]),
    )?;
    let wanted = |name: &str| args.cases.is_empty() || args.cases.iter().any(|n| n == name);
    if wanted("resnet50-probe") || wanted("image-pipeline") {
        prepare_images(args.quick)?;
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    // The peak is always measured: the model cases are reported as a share of it.
    let mut selected: Vec<&Case> = all
        .iter()
        .filter(|c| {
            args.cases.is_empty()
                || c.name == "matmul-peak"
                || args.cases.iter().any(|n| n == c.name)
        })
        .collect();
    selected.sort_by_key(|c| c.name != "matmul-peak");
    println!(
        "\n=== xtask bench: {} case(s), {threads} threads each side",
        selected.len()
    );
    let mut reports = Vec::new();
    let mut peak = None;
    for case in selected {
        let r = run_case(case, threads, peak)?;
        if case.name == "matmul-peak" {
            peak = r.sides.iter().find(|s| s.ft).map(|s| s.median);
        }
        reports.push(r);
    }
    let header = format!(
        "ft bench{} on {} ({threads} threads), {}; {:.0} s",
        if args.quick { " --quick" } else { "" },
        machine(),
        today(),
        started.elapsed().as_secs_f64()
    );
    let md = markdown(&reports, &header);
    println!("\n{md}");
    let dir = bench_dir();
    let report =
        json!({ "header": header, "quick": args.quick, "threads": threads, "cases": reports });
    let text = serde_json::to_string_pretty(&report)?;
    std::fs::write(dir.join("report.json"), &text)?;
    std::fs::write(dir.join("report.md"), &md)?;
    if let Some(path) = &args.json {
        std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "written: {} and report.md",
        dir.join("report.json").display()
    );
    Ok(())
}

fn machine() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn today() -> String {
    Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_line_is_the_last_json_object() {
        let out = "loading...\n{\"value\": 1.0}\nnoise\n{\"value\": 2.5, \"peak_rss_mib\": 10}\n";
        assert_eq!(parse_result(out).unwrap()["value"], 2.5);
        assert!(parse_result("no json here").is_err());
    }

    #[test]
    fn medians_and_speedups() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        // Throughput: 30 vs 20 samples/s is 1.5x; time: 10 s vs 20 s is 2x.
        assert_eq!(speedup(30.0, 20.0, true), 1.5);
        assert_eq!(speedup(10.0, 20.0, false), 2.0);
    }

    #[test]
    fn bert_base_flops_are_about_six_per_weight_per_token() {
        // 85M encoder weights: ≈ 6 · 85e6 · 128 ≈ 65 GFLOP per sample, plus attention.
        let f = bert_flops_per_sample(12.0, 768.0, 3072.0, 128.0);
        assert!((6.5e10..7.5e10).contains(&f), "{f}");
    }

    #[test]
    fn every_case_has_an_ft_side_and_a_baseline() {
        for quick in [true, false] {
            for c in cases(quick) {
                assert!(c.sides.iter().any(|s| s.ft), "{}", c.name);
                assert!(c.sides.iter().any(|s| !s.ft), "{}", c.name);
                assert!(c.rounds >= 1);
            }
        }
    }

    #[test]
    fn the_markdown_table_lists_every_ratio() {
        let r = CaseReport {
            name: "x".into(),
            about: String::new(),
            unit: "ms".into(),
            higher_is_better: false,
            sides: vec![],
            ratios: vec![("ft".into(), "torch".into(), 1.25, 0.8)],
        };
        let md = markdown(&[r], "h");
        assert!(md.contains("| x | ft | torch | 1.25 | 0.80 |"), "{md}");
    }
}
