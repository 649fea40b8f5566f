//! `run.json`: what produced a result — versions, device, seed and the sha256 of every data and
//! weight file — so it can be traced and repeated.
use crate::run_config::RunConfig;
use anyhow::Result;
use serde_json::json;
use std::path::Path;

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
        if let Ok(h) = ft_data::assets::sha256_file(&f) {
            map.insert(f.display().to_string(), json!(h));
        }
    }
    map
}

pub fn write_run_json(out: &Path, config: &RunConfig, model_dir: &Path) -> Result<()> {
    let mut data_files = serde_json::Map::new();
    for file in [
        Some(&config.data.train_file),
        config.data.validation_file.as_ref(),
        config.data.test_file.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        let path = crate::text_run::resolve_data_file(&config.data, file)?;
        data_files.extend(hashes_under(&path));
    }
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
    std::fs::write(out.join("run.json"), serde_json::to_string_pretty(&run)?)?;
    Ok(())
}
