//! Helpers of the vision tests: running the torchvision reference script with the venv python.
#![allow(dead_code)]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `<workspace>/.venv/bin/python`, or `None` after printing why the test is skipped.
/// The project venv's python; the references need torchvision, so its absence is a failure
/// (with the command that fixes it), never a silent pass.
pub fn python() -> PathBuf {
    let p = workspace_root().join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is absent: run `cargo xtask setup`",
        p.display()
    );
    p
}

pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/vision_reference.py")
}

/// `$CARGO_TARGET_DIR/ft-refs`, else `<workspace>/target/ft-refs`.
pub fn refs_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("ft-refs")
}

/// Runs the reference script, panicking with its stderr on failure; returns stdout.
pub fn run(python: &Path, args: &[&str]) -> String {
    let out = Command::new(python)
        .arg(script())
        .args(args)
        .output()
        .expect("starting the venv python");
    assert!(
        out.status.success(),
        "vision_reference.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The transforms reference file, generated once per script version (keyed by its hash).
pub fn transforms_reference() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let py = python();
        let text = std::fs::read(script()).expect("reading vision_reference.py");
        let mut h = DefaultHasher::new();
        text.hash(&mut h);
        let dir = refs_dir();
        std::fs::create_dir_all(&dir).expect("creating the refs dir");
        let out = dir.join(format!("vision_transforms-{:016x}.safetensors", h.finish()));
        if !out.exists() {
            run(&py, &["transforms", out.to_str().expect("UTF-8 path")]);
        }
        out
    })
    .clone()
}
