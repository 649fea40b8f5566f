//! `run.json`: what produced a result — versions, device, seed and the sha256 of every data and
//! weight file — so it can be traced and repeated. It is written when a run starts (so a resume
//! can check that it continues with the same data and weights) and again when it ends.
use crate::config::RunConfig;
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// sha256 of a file, computed once per process for each (path, length, mtime): a run hashes its
/// inputs when it starts and again in its final `run.json`.
fn sha256_cached(path: &Path) -> Option<String> {
    type Key = (PathBuf, u64, Option<SystemTime>);
    static CACHE: Mutex<Option<HashMap<Key, String>>> = Mutex::new(None);
    let meta = std::fs::metadata(path).ok()?;
    let key = (path.to_path_buf(), meta.len(), meta.modified().ok());
    if let Some(hash) = CACHE.lock().ok()?.get_or_insert_default().get(&key) {
        return Some(hash.clone());
    }
    let hash = ft_data::assets::sha256_file(path).ok()?;
    CACHE
        .lock()
        .ok()?
        .get_or_insert_default()
        .insert(key, hash.clone());
    Some(hash)
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn hashes_under(path: &Path) -> serde_json::Map<String, serde_json::Value> {
    let mut map = serde_json::Map::new();
    let files: Vec<std::path::PathBuf> = if path.is_dir() {
        let mut v: Vec<_> = std::fs::read_dir(path)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    } else {
        vec![path.to_path_buf()]
    };
    for f in files {
        if let Some(h) = sha256_cached(&f) {
            map.insert(f.display().to_string(), json!(h));
        }
    }
    map
}

/// The sha256 of every data file the config names.
fn data_hashes(config: &RunConfig) -> Result<serde_json::Map<String, serde_json::Value>> {
    let mut data_files = serde_json::Map::new();
    for file in [
        Some(&config.data.train_file),
        config.data.validation_file.as_ref(),
        config.data.test_file.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        let path = crate::resolve::resolve_data_file(&config.data, file)?;
        data_files.extend(hashes_under(&path));
    }
    Ok(data_files)
}

pub fn write_run_json(out: &Path, config: &RunConfig, model_dir: &Path) -> Result<()> {
    let data_files = data_hashes(config)?;
    let run = json!({
        "ft_version": env!("CARGO_PKG_VERSION"),
        "git_commit": git_commit(),
        "libtorch_version": "2.13.0",
        "device": config.training.device,
        "threads": tch::get_num_threads(),
        "seed": config.training.seed,
        "model_dir": model_dir,
        "weights": hashes_under(&model_dir.join("model.safetensors")),
        "data": data_files,
    });
    ft_train::checkpoint::write_json(&out.join("run.json"), &run)
}

/// The model directory a config starts from, when it names one (`scratch` does not).
fn start_dir(config: &RunConfig) -> Option<PathBuf> {
    (config.model != "scratch")
        .then(|| crate::resolve::resolve_dir(&config.model).ok())
        .flatten()
}

/// `run.json` as a starting run knows it. Call it once the output directory is claimed.
pub fn write_run_json_at_start(config: &RunConfig) -> Result<()> {
    let out = &config.training.output_dir;
    let model_dir = start_dir(config).unwrap_or_else(|| out.clone());
    write_run_json(out, config, &model_dir)
}

/// Refuses a resume whose data files or starting weights are not those the run recorded in its
/// `run.json` when it started, naming the file. A run without `run.json` (ft before 0.1) is
/// not checked.
pub fn check_same_inputs(config: &RunConfig) -> Result<()> {
    let path = config.training.output_dir.join("run.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let saved: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let empty = serde_json::Map::new();
    let saved_data = saved["data"].as_object().unwrap_or(&empty);
    let data = data_hashes(config)?;
    let mut changed: Vec<String> = Vec::new();
    for (file, hash) in &data {
        match saved_data.get(file) {
            Some(old) if old == hash => {}
            Some(_) => changed.push(format!("{file} has changed")),
            None => changed.push(format!("{file} was not a data file of that run")),
        }
    }
    for file in saved_data.keys().filter(|f| !data.contains_key(*f)) {
        changed.push(format!("{file} was a data file of that run and is not now"));
    }
    let weights = start_dir(config)
        .map(|d| hashes_under(&d.join("model.safetensors")))
        .unwrap_or_default();
    let saved_weights = saved["weights"].as_object().unwrap_or(&empty);
    let hashes = |m: &serde_json::Map<String, serde_json::Value>| -> Vec<String> {
        m.values().map(|v| v.to_string()).collect()
    };
    if !weights.is_empty() && !saved_weights.is_empty() && hashes(&weights) != hashes(saved_weights)
    {
        changed.push(format!(
            "the starting weights {} are not those of that run",
            weights.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if !changed.is_empty() {
        bail!(
            "cannot resume in {}: {} (recorded in {}). Resume with that run's data and model, \
             or start a new run in another --output-dir",
            config.training.output_dir.display(),
            changed.join("; "),
            path.display()
        );
    }
    Ok(())
}
