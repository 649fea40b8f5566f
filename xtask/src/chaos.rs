//! `cargo xtask chaos [--runs N] [--seed S]`: the kill -9 crash loop at full size.
//!
//! The loop itself is the test `crates/ft-cli/tests/crash_loop.rs` (CI runs it with 3 runs as
//! part of `cargo test`); this runs it with `FT_CHAOS_RUNS=N` (default 20), passes its output
//! through, and succeeds only when its summary line says `N/N bitwise-identical resumes`, so a
//! test that silently ran fewer runs does not count as a pass.
use crate::cmd;
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct ChaosArgs {
    /// Interrupted runs, each killed several times and resumed until it finishes.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// Seed of the random kill moments and fault hits (default: the test's fixed seed).
    #[arg(long)]
    pub seed: Option<u64>,
}

pub fn run(args: &ChaosArgs) -> Result<()> {
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let mut test = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    test.current_dir(crate::workspace_root())
        // `--workspace`, not `-p ft-cli`: the features of the whole workspace, so the build
        // `cargo xtask test` left is reused instead of rebuilding dependencies for one package.
        .args([
            "test",
            "--workspace",
            "--test",
            "crash_loop",
            "--",
            "--nocapture",
        ])
        .env("FT_CHAOS_RUNS", args.runs.to_string())
        .stdout(Stdio::piped());
    if let Some(seed) = args.seed {
        test.env("FT_CHAOS_SEED", seed.to_string());
    }
    let line = cmd::describe(&test);
    println!(
        "=== xtask chaos: {} runs: FT_CHAOS_RUNS={} {line}",
        args.runs, args.runs
    );
    let started = Instant::now();
    let mut child = test
        .spawn()
        .with_context(|| format!("could not start `{line}`"))?;
    // Echo the test's output as it comes (stderr is inherited), keeping the summary line.
    let mut summary = None;
    for text in BufReader::new(child.stdout.take().context("the test's stdout")?).lines() {
        let text = text.context("reading the test's output")?;
        println!("{text}");
        if let Some(counts) = parse_summary(&text) {
            summary = Some(counts);
        }
    }
    let status = child.wait().context("waiting for the test")?;
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    match summary {
        Some((identical, total)) if identical == args.runs && total == args.runs => {
            if !status.success() {
                bail!("`{line}` failed ({status}) although {identical}/{total} resumes were identical");
            }
            println!(
                "=== xtask chaos: {identical}/{total} bitwise-identical resumes in {minutes:.1} min"
            );
            Ok(())
        }
        Some((identical, total)) => bail!(
            "crash loop: {identical}/{total} bitwise-identical resumes, {} wanted ({status}; details above)",
            args.runs
        ),
        None => bail!("`{line}` printed no `crash loop: X/N` summary ({status}; see above)"),
    }
}

/// `(X, N)` from the test's `crash loop: X/N bitwise-identical resumes …` line.
fn parse_summary(line: &str) -> Option<(usize, usize)> {
    let rest = line.trim().strip_prefix("crash loop: ")?;
    let (counts, tail) = rest.split_once(' ')?;
    if !tail.starts_with("bitwise-identical resumes") {
        return None;
    }
    let (x, n) = counts.split_once('/')?;
    Some((x.parse().ok()?, n.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::parse_summary;

    #[test]
    fn reads_the_crash_loop_summary_and_nothing_else() {
        assert_eq!(
            parse_summary("crash loop: 19/20 bitwise-identical resumes (kills: 61, at: random×20)"),
            Some((19, 20))
        );
        assert_eq!(
            parse_summary("crash loop: reference run 1.20 s; 20 interrupted runs"),
            None
        );
        assert_eq!(parse_summary("  run 3: identical (4 launches)"), None);
    }
}
