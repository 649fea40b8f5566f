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
    phase("setup", &mut setup_while_prebuilding)?;
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

/// `setup`, and on a machine where it has to install libtorch (minutes of downloading and
/// unpacking), the workspace build of everything that does not link libtorch at the same time:
/// `cargo build --tests` (the units `cargo test` builds, with the workspace's features) with
/// `--keep-going` past the crates that need libtorch, so the test phase finds the rest built.
fn setup_while_prebuilding() -> Result<()> {
    if crate::setup::installed() {
        return crate::setup::run();
    }
    let log_path = crate::workspace_root().join("target/xtask-prebuild.log");
    std::fs::create_dir_all(log_path.parent().expect("target/"))?;
    let log = std::fs::File::create(&log_path)?;
    println!(
        "setup: building what does not need libtorch while it installs (log: {})",
        log_path.display()
    );
    let mut prebuild = cargo()
        .args(["build", "--workspace", "--tests", "--keep-going"])
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    let setup = crate::setup::run();
    if setup.is_err() {
        let _ = prebuild.kill();
    }
    // Its failures (the libtorch crates, before the venv existed) are expected: the test phase
    // builds those and reports any real error.
    let _ = prebuild.wait();
    setup
}

/// The cargo that runs us, so toolchain overrides carry through.
fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(crate::workspace_root());
    c
}
