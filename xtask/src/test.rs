//! `cargo xtask test`: the one command that CI runs (`.ci/run`) and the README promises.
use crate::cmd;
use anyhow::Result;
use std::process::Command;
use std::time::Instant;

pub fn run(full: bool) -> Result<()> {
    let mut timings = Vec::new();
    let mut phase = |name: &str, f: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        println!("\n=== xtask test: {name}");
        let start = Instant::now();
        f()?;
        timings.push((name.to_string(), start.elapsed().as_secs_f64()));
        Ok(())
    };
    phase("setup", &mut crate::setup::run)?;
    phase("fetch-data", &mut || {
        crate::fetch::run(&crate::fetch::FetchArgs::default())
    })?;
    phase("fmt", &mut || {
        cmd::run(cargo().args(["fmt", "--all", "--check"]))
    })?;
    phase("clippy", &mut || {
        cmd::run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    phase("test", &mut || {
        let mut test = cargo();
        test.args(["test", "--workspace"]);
        if full {
            // The long end-to-end recipe runs are #[ignore]d so that CI skips them.
            test.args(["--", "--include-ignored"]);
        }
        cmd::run(&mut test)
    })?;

    println!("\n=== xtask test: all phases passed");
    for (name, secs) in &timings {
        println!("  {name:<12} {secs:>7.1} s");
    }
    Ok(())
}

/// The cargo that runs us, so toolchain overrides carry through.
fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(crate::workspace_root());
    c
}
