//! What one kind of work supplies to the [driver](crate::driver): a [`Job`] turns a run config
//! into loaders and a model with its [`Task`], and may add files of its own at the end. Device,
//! seeding, the load report, the before / after and from-scratch comparison, fit, test and the
//! run directory's common files are the driver's, the same for every kind.
//!
//! To add a kind of work, copy the folder of the closest kind (`text/`, `image/`, `vae/`,
//! `lm/`), implement [`Job`] for it (and [`crate::saved::SavedJob`] for `ft eval` / `predict` /
//! `generate` on its runs), and give [`crate::driver::run`] and [`crate::saved::open`] one match
//! arm each.
use crate::config::RunConfig;
use anyhow::Result;
use ft_data::Loader;
use ft_models::Pretrained;
use ft_train::reporter::Reporter;
use ft_train::Callback;
use ft_train::{EvalResult, Task, TrainOutcome};
use std::path::PathBuf;
use std::sync::Arc;
use tch::nn::VarStore;
use tch::Device;

/// What a job sees of the run while it prepares: the config, the device and where messages go.
pub struct JobContext<'a> {
    pub config: &'a RunConfig,
    pub device: Device,
    reporter: Arc<dyn Reporter>,
}

impl<'a> JobContext<'a> {
    pub fn new(config: &'a RunConfig, device: Device, reporter: Arc<dyn Reporter>) -> Self {
        JobContext {
            config,
            device,
            reporter,
        }
    }

    /// A fresh VarStore on the run's device, with libtorch's generator seeded just before: every
    /// model of a run (the start and a from-scratch twin) is initialised from the same state,
    /// whatever the job did before (tokenizing, decoding) — which never draws from it.
    pub fn var_store(&self) -> VarStore {
        tch::manual_seed(self.config.training.seed as i64);
        VarStore::new(self.device)
    }

    /// A line for the user, always shown.
    pub fn say(&self, line: &str) {
        self.reporter.line(line);
    }

    /// A detail (tokenization reports, load reports) left out of `quiet` runs.
    pub fn detail(&self, line: &str) {
        if !self.config.training.quiet {
            self.reporter.line(line);
        }
    }

    pub fn reporter(&self) -> Arc<dyn Reporter> {
        self.reporter.clone()
    }
}

/// A model ready to train: its variables and its task.
pub struct Model<T: Task> {
    pub vs: VarStore,
    pub task: T,
    /// Whether it starts from pretrained weights (the comparison table says so).
    pub pretrained: bool,
}

/// The loaders of a run: training, and validation / test when the data has them.
pub struct Loaders {
    pub train: Loader,
    pub validation: Option<Loader>,
    pub test: Option<Loader>,
}

/// The generative showcases (section VI of the guide) measure one number on the held-out test
/// data before and after training, and optionally for the same architecture trained from
/// scratch: which number, and how the table is titled.
#[derive(Debug, Clone, Copy)]
pub struct Comparison {
    /// The metric read from the test evaluations (`perplexity`, `elbo`).
    pub metric: &'static str,
    /// Its column heading in the table.
    pub column: &'static str,
    pub title: &'static str,
}

/// What [`Job::prepare`] hands to the driver.
pub struct Prepared<T: Task> {
    pub model: Model<T>,
    pub loaders: Loaders,
    /// The config as resolved (the max_length used, the transforms built): what
    /// `run_config.json` records so `ft eval` / `ft predict` rebuild the same pipeline.
    pub resolved: RunConfig,
    /// Where the starting model came from, for `run.json` (the run directory itself for a
    /// model trained from scratch).
    pub source: PathBuf,
    /// Class names, for the confusion matrix in `report.png`.
    pub labels: Option<Vec<String>>,
    /// The load report of the pretrained weights, shown as `weights: …` (unless quiet).
    pub load_report: Option<String>,
    pub comparison: Option<Comparison>,
}

/// Where a run's starting model came from, for `run.json`: the directory of its weights, or the
/// run itself for a model built from scratch.
pub fn start_source(weights: Option<&std::path::Path>, output_dir: &std::path::Path) -> PathBuf {
    weights
        .and_then(std::path::Path::parent)
        .map_or_else(|| output_dir.to_path_buf(), std::path::Path::to_path_buf)
}

/// A model without a task head (GPT-2, the VAE) on `vs`: built from `config`, with every tensor
/// loaded from `weights` (none may stay fresh), or freshly initialised when there are no
/// weights (a start from scratch).
pub fn whole_model<M: Pretrained<Head = ()>>(
    vs: &VarStore,
    config: &M::Config,
    weights: Option<&std::path::Path>,
) -> Result<M> {
    let model = M::build(&vs.root(), config, ())?;
    if let Some(w) = weights {
        model.load_pretrained(vs, w)?.require_complete(w)?;
    }
    Ok(model)
}

/// One kind of work. See the module docs.
pub trait Job {
    type Task: Task;

    /// Reads and checks the data, resolves and loads the starting model on
    /// [`JobContext::var_store`], and builds the loaders.
    fn prepare(&mut self, ctx: &JobContext) -> Result<Prepared<Self::Task>>;

    /// The same architecture freshly initialised, for `compare_with_scratch`. Jobs without a
    /// comparison keep the default, none.
    fn scratch(&self, _ctx: &JobContext) -> Result<Option<Model<Self::Task>>> {
        Ok(None)
    }

    /// Callbacks this kind adds to the loop of `model` (the VAE's KL warm-up, log terms and
    /// grids); they run before the loop's own. Most kinds add none.
    fn callbacks<'m>(
        &self,
        _ctx: &JobContext,
        _model: &'m Model<Self::Task>,
    ) -> Vec<Box<dyn Callback + 'm>> {
        Vec::new()
    }

    /// Files of this kind beyond the common ones (tokenizer copies, samples, grids), written
    /// after the test evaluation and before `metrics.json`; what it returns joins the outcome's
    /// `extras`.
    fn finish(&mut self, _ctx: &JobContext, _model: &Model<Self::Task>) -> Result<Extras> {
        Ok(Extras::new())
    }
}

/// Kind-specific results (`feature_cache_seconds`, `samples`, `skipped_images`, …).
pub type Extras = serde_json::Map<String, serde_json::Value>;

/// One line of the comparison table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub model: String,
    pub value: f64,
}

/// What a run returns, whatever its kind.
pub struct JobOutcome {
    pub train: TrainOutcome,
    /// The test evaluation of the trained model.
    pub test: Option<EvalResult>,
    /// The before / after / from-scratch table of jobs with a [`Comparison`].
    pub comparison: Vec<Row>,
    pub output_dir: PathBuf,
    pub extras: Extras,
}
