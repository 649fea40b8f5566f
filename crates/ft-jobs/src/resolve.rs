//! Where a run's inputs are: model names and directories (fetched cache models or paths), data
//! files (relative to a cache dataset), the device, and limits read from a model's config. It
//! knows no kind of job; every job resolves its inputs through it.
use crate::config::{DataConfig, RunConfig};
use anyhow::{bail, Context, Result};
use ft_train::DeviceSpec;
use std::path::{Path, PathBuf};

/// A model directory: `spec` itself when it exists, otherwise the fetched cache model it names.
pub fn resolve_dir(spec: &str) -> Result<PathBuf> {
    let path = Path::new(spec);
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    ft_data::assets::Cache::from_env()
        .resolve(spec)
        .with_context(|| format!("`{spec}` is neither a model directory nor a fetched cache model"))
}

/// A model directory from a cache name or a path, checked to hold `config.json`.
pub fn resolve_model(spec: &str) -> Result<PathBuf> {
    let dir = resolve_dir(spec)?;
    if !dir.join("config.json").is_file() {
        bail!(
            "{} has no config.json: not a model directory",
            dir.display()
        );
    }
    Ok(dir)
}

/// A data file's path: relative to the dataset's cache folder when the config names a dataset.
pub(crate) fn resolve_data_file(data: &DataConfig, file: &Path) -> Result<PathBuf> {
    let path = match &data.dataset {
        Some(name) if file.is_relative() => {
            ft_data::assets::Cache::from_env().resolve(name)?.join(file)
        }
        _ => file.to_path_buf(),
    };
    if !path.exists() {
        bail!("data file {} does not exist", path.display());
    }
    Ok(path)
}

/// The device `spec` names (`auto`, `cpu`, `cuda`, `cuda:N`). A CUDA device that is not there
/// is an error saying so (and how many there are), not a libtorch panic at the first tensor.
pub fn device(spec: DeviceSpec) -> Result<tch::Device> {
    match spec.device() {
        None => Ok(tch::Device::cuda_if_available()),
        Some(tch::Device::Cuda(n)) => {
            let count = if tch::Cuda::is_available() {
                tch::Cuda::device_count().max(0) as usize
            } else {
                0
            };
            if count == 0 {
                bail!(
                    "device `{spec}`: no CUDA device is visible (no GPU, no driver, or a CPU-only \
                     libtorch); use --device cpu or auto"
                );
            }
            if n >= count {
                bail!(
                    "device `{spec}`: there {} {count} CUDA device{} (cuda:0{})",
                    if count == 1 { "is" } else { "are" },
                    if count == 1 { "" } else { "s" },
                    if count == 1 {
                        String::new()
                    } else {
                        format!(" to cuda:{}", count - 1)
                    }
                );
            }
            Ok(tch::Device::Cuda(n))
        }
        Some(d) => Ok(d),
    }
}

/// The tokens per example of a run: `max_length` as given, refused (naming both numbers) when
/// it exceeds the model's position embeddings (`key` in `config.json`) — a longer row would
/// index past the position table in the middle of a run ("index out of range in self"); when
/// not given, [`DEFAULT_MAX_LENGTH`](crate::config::DEFAULT_MAX_LENGTH) capped at the
/// positions.
pub(crate) fn resolve_max_length(
    max_length: Option<usize>,
    positions: i64,
    key: &str,
    model_dir: &Path,
) -> Result<usize> {
    let positions_u = positions.max(0) as usize;
    match max_length {
        None => Ok(crate::config::DEFAULT_MAX_LENGTH.min(positions_u)),
        Some(n) if n > positions_u => bail!(
            "max_length {n} exceeds the {positions} positions of the model in {} ({key} in \
             its config.json): use --max-length {positions} or less",
            model_dir.display()
        ),
        Some(n) => Ok(n),
    }
}

/// Errors naming the depth when `freeze_strategy partial` asks to freeze more layer groups
/// above the embeddings than the model has (`depth`, described by `what`: where it comes from).
pub(crate) fn check_freeze_layers(
    args: &ft_train::TrainingArgs,
    depth: i64,
    what: &str,
    model_dir: &Path,
) -> Result<()> {
    if args.freeze_strategy == ft_train::FreezeStrategyKind::Partial
        && args.freeze_layers as i64 > depth
    {
        bail!(
            "freeze_layers {} exceeds the depth of the model in {}: it has {depth} layer \
             groups above the embeddings ({what}), and its head must train",
            args.freeze_layers,
            model_dir.display()
        );
    }
    Ok(())
}

/// The files and folders `config` reads, as far as they can be resolved now (a missing one is
/// reported by the job itself).
pub fn inputs_of(config: &RunConfig) -> Vec<PathBuf> {
    let mut inputs = Vec::new();
    if config.model != "scratch" {
        if let Ok(dir) = resolve_dir(&config.model) {
            inputs.push(dir);
        }
    }
    let data = &config.data;
    for file in [
        Some(&data.train_file),
        data.validation_file.as_ref(),
        data.test_file.as_ref(),
        data.labels_file.as_ref(),
        data.validation_labels_file.as_ref(),
        data.test_labels_file.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        if let Ok(path) = resolve_data_file(data, file) {
            inputs.push(path);
        }
    }
    inputs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_that_are_not_there_are_errors() {
        let device = |spec: &str| -> Result<tch::Device> {
            device(spec.parse::<DeviceSpec>().map_err(anyhow::Error::msg)?)
        };
        assert_eq!(device("cpu").unwrap(), tch::Device::Cpu);
        let e = device("gpu").unwrap_err().to_string();
        assert!(e.contains("device `gpu` is not one of"), "{e}");
        if tch::Cuda::is_available() {
            let n = tch::Cuda::device_count();
            let e = device("cuda:999").unwrap_err().to_string();
            assert!(e.contains(&format!("{n} CUDA device")), "{e}");
        } else {
            for spec in ["cuda", "cuda:1"] {
                let e = device(spec).unwrap_err().to_string();
                assert!(
                    e.contains(&format!("device `{spec}`: no CUDA device is visible")),
                    "{e}"
                );
            }
            assert_eq!(device("auto").unwrap(), tch::Device::Cpu);
        }
    }

    #[test]
    fn lengths_and_depths_past_the_model_are_named() {
        let dir = Path::new("models/tiny");
        let key = "max_position_embeddings";
        assert_eq!(resolve_max_length(Some(512), 512, key, dir).unwrap(), 512);
        assert_eq!(resolve_max_length(None, 512, key, dir).unwrap(), 128);
        assert_eq!(resolve_max_length(None, 64, key, dir).unwrap(), 64);
        let e = resolve_max_length(Some(2000), 512, key, dir)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("max_length 2000 exceeds the 512 positions of the model in models/tiny")
                && e.contains("max_position_embeddings"),
            "{e}"
        );
        let args = ft_train::TrainingArgs {
            freeze_strategy: ft_train::FreezeStrategyKind::Partial,
            freeze_layers: 99,
            ..Default::default()
        };
        let e = check_freeze_layers(&args, 6, "num_hidden_layers 6", dir)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("freeze_layers 99 exceeds the depth")
                && e.contains("it has 6 layer groups above the embeddings (num_hidden_layers 6)"),
            "{e}"
        );
        check_freeze_layers(
            &ft_train::TrainingArgs {
                freeze_layers: 99,
                ..Default::default()
            },
            6,
            "num_hidden_layers",
            dir,
        )
        .unwrap();
    }
}
