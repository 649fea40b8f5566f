//! A finished VAE run opened again: `ft eval` reports the held-out ELBO of its test images (or
//! of the images given); a VAE has no predictions and no text to generate.
use crate::config::{RunConfig, TaskKind};
use crate::saved::{Evaluated, SavedJob};
use crate::vae::task::VaeTask;
use anyhow::{bail, Result};
use ft_data::vision::ImageSource;
use ft_data::{Loader, Sampler};
use ft_models::vae::ConvVae;
use ft_models::Pretrained;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tch::nn::VarStore;

pub struct SavedVae {
    dir: PathBuf,
    config: RunConfig,
    task: VaeTask,
    vs: VarStore,
}

impl SavedVae {
    /// Opens a vae run directory; a run of another kind is refused in one line naming it.
    pub fn open(dir: &Path, device: tch::Device) -> Result<SavedVae> {
        crate::saved::require_kind(dir, &[TaskKind::Vae], "a vae run")?;
        let config = crate::run_files::read_run_config(dir)?;
        let vs = VarStore::new(device);
        let (model, _) = ConvVae::open_saved(&vs, dir)?;
        Ok(SavedVae {
            dir: dir.to_path_buf(),
            config,
            task: VaeTask::new(model),
            vs,
        })
    }
}

impl SavedJob for SavedVae {
    fn dir(&self) -> &Path {
        &self.dir
    }

    fn kind(&self) -> TaskKind {
        TaskKind::Vae
    }

    /// The ELBO of the images of `data` (read like the run's training images), or of the run's
    /// held-out test images.
    fn evaluate(&self, data: Option<&Path>) -> Result<Evaluated> {
        let dataset = match data {
            Some(file) => crate::image_data::read_dataset(&self.config.data, file, None, None)?,
            None => {
                let (_, _, test) = crate::image_data::load_image_splits(&self.config)?;
                if test.is_empty() {
                    bail!("the run has no test split: pass images to evaluate on");
                }
                test
            }
        };
        let transform = crate::vae::run::transform(&self.config)?;
        let source = ImageSource::new(Arc::new(dataset), transform);
        let loader = Loader::from_source(
            Arc::new(source),
            Sampler::Sequential,
            self.config.training.per_device_eval_batch_size,
        )?;
        let result =
            crate::saved::evaluate_with(&self.task, &self.vs, &self.config, &self.dir, &loader)?;
        Ok(Evaluated {
            result,
            labels: Vec::new(),
        })
    }
}
