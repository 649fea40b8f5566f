//! Shared helpers of the workspace tests: where the checkout, the venv and the asset cache are,
//! and PyTorch reference outputs produced by committed Python scripts at test time.
//!
//! Reference files are generated into `target/ft-refs/` and keyed by the hash of the script and
//! its arguments, so they are regenerated exactly when the script changes and never committed.
pub mod fixtures;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The project venv's interpreter (`cargo xtask setup` creates it).
pub fn venv_python() -> PathBuf {
    workspace_root().join(".venv/bin/python")
}

/// The folder of a fetched asset, or a panic saying how to fetch it.
pub fn asset(name: &str) -> PathBuf {
    ft_data::assets::Cache::from_env()
        .resolve(name)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `tests/python/<script>` with the venv's python as `script OUT args...` unless its output
/// for exactly this script text and these arguments already exists; returns OUT.
pub fn python_reference(script: &str, args: &[&str], out_name: &str) -> Result<PathBuf> {
    let script_path = workspace_root().join("tests/python").join(script);
    let text = std::fs::read(&script_path)
        .with_context(|| format!("reading {}", script_path.display()))?;
    let mut hasher = Sha256::new();
    hasher.update(&text);
    for a in args {
        hasher.update([0u8]);
        hasher.update(a.as_bytes());
    }
    let key = hex::encode(&hasher.finalize()[..8]);
    let dir = workspace_root()
        .join("target/ft-refs")
        .join(format!("{}-{key}", script.trim_end_matches(".py")));
    let out = dir.join(out_name);
    // Tests run on several threads and often want the same reference: generate it once.
    static GENERATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = GENERATING.lock().unwrap_or_else(|e| e.into_inner());
    if out.exists() {
        return Ok(out);
    }
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join(format!("{out_name}.tmp{}", std::process::id()));
    let output = Command::new(venv_python())
        .arg(&script_path)
        .arg(&tmp)
        .args(args)
        .output()
        .with_context(|| {
            format!(
                "running {} (run `cargo xtask setup` first)",
                venv_python().display()
            )
        })?;
    if !output.status.success() {
        bail!(
            "{script} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    std::fs::rename(&tmp, &out)?;
    Ok(out)
}

/// Runs a Python script once (no caching), returning its stdout.
pub fn python_run(script: &str, args: &[&Path]) -> Result<String> {
    let script_path = workspace_root().join("tests/python").join(script);
    let output = Command::new(venv_python())
        .arg(&script_path)
        .args(args)
        .output()?;
    if !output.status.success() {
        bail!(
            "{script} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `max|a − b| / max(1, max|b|)` over the positions where `mask` is 1 (broadcast over trailing
/// dims): the tolerance form the parity tests use.
pub fn rel_max_diff(a: &tch::Tensor, b: &tch::Tensor, mask: Option<&tch::Tensor>) -> f64 {
    let diff = (a - b).abs();
    let (diff, refs) = match mask {
        Some(m) => {
            let mut m = m.to_kind(tch::Kind::Float);
            while m.dim() < diff.dim() {
                m = m.unsqueeze(-1);
            }
            (diff * &m, b.abs() * m)
        }
        None => (diff, b.abs()),
    };
    let scale = refs.max().double_value(&[]).max(1.0);
    diff.max().double_value(&[]) / scale
}

/// libtorch's default generator is one per process, and the tests of a binary run on parallel
/// threads: a test that seeds it and relies on it (initialisation, dropout, VAE noise, the
/// trainer's per-step reseed) must hold this for its whole run, or another test's draws land
/// between its seed and its use.
static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn torch_rng_lock() -> std::sync::MutexGuard<'static, ()> {
    TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner())
}
