//! A finished run reopened: [`open`] reads the run's kind before anything kind-specific and
//! returns that kind's [`SavedJob`], whose `evaluate`, `predict` and `generate` either work or
//! say in one line that a run of this kind does not support the verb.
use crate::TaskKind;
use anyhow::{anyhow, bail, Context, Result};
use ft_data::Loader;
use ft_models::gpt2::GenerateOptions;
use ft_train::{EvalResult, Task, TrainingArgs};
use std::path::{Path, PathBuf};
use tch::nn::VarStore;

/// What `ft predict` reads for a run: texts (one per line) or image files and folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Texts,
    Images,
}

/// The inputs of one `predict` call.
pub enum PredictInputs<'a> {
    Texts(&'a [String]),
    Images(&'a [PathBuf]),
}

/// One prediction of a saved run, as `ft predict` prints it (one JSON object per input).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub enum Prediction {
    Text(crate::text::saved::Prediction),
    Image(crate::image::saved::ImagePrediction),
}

/// An evaluation of a saved run, with the class names its confusion matrix is in.
pub struct Evaluated {
    pub result: EvalResult,
    pub labels: Vec<String>,
}

/// A verb of a saved run.
#[derive(Debug, Clone, Copy)]
pub enum Verb {
    Eval,
    Predict,
    Generate,
}

/// A finished run of some kind, opened with its model. Each kind implements the verbs it
/// supports; the others keep the default, a one-line refusal naming the run's kind.
pub trait SavedJob {
    /// The run directory (or the model directory of a fetched model).
    fn dir(&self) -> &Path;
    fn kind(&self) -> TaskKind;

    /// Evaluates on `data` (a file or folder read with the run's data options) or on the run's
    /// own test split.
    fn evaluate(&self, _data: Option<&Path>) -> Result<Evaluated> {
        Err(self.unsupported(Verb::Eval))
    }

    /// What [`SavedJob::predict`] takes, or `None` when this kind has no predictions.
    fn predict_inputs(&self) -> Option<InputKind> {
        None
    }

    /// One prediction per input.
    fn predict(&self, _inputs: PredictInputs) -> Result<Vec<Prediction>> {
        Err(self.unsupported(Verb::Predict))
    }

    /// The continuation of `prompt` (without the prompt).
    fn generate(&self, _prompt: &str, _options: &GenerateOptions) -> Result<String> {
        Err(self.unsupported(Verb::Generate))
    }

    /// "runs/v1 is a `vae` run: `ft predict` …", the one line every unsupported verb gives.
    fn unsupported(&self, verb: Verb) -> anyhow::Error {
        let (name, needs) = match verb {
            Verb::Eval => ("eval", "a classification, regression, vae or causal-lm run"),
            Verb::Predict => (
                "predict",
                "a classification or regression run (seq-cls, token-cls, regression, image-cls)",
            ),
            Verb::Generate => ("generate", "a causal-lm run or a GPT-2 model"),
        };
        anyhow!(
            "{} is a `{}` run: `ft {name}` needs {needs}",
            self.dir().display(),
            self.kind()
        )
    }
}

/// Evaluates a saved run's model on `loader` with the run's own arguments, as training did.
pub(crate) fn evaluate_with(
    task: &dyn Task,
    vs: &VarStore,
    config: &crate::RunConfig,
    dir: &Path,
    loader: &Loader,
) -> Result<EvalResult> {
    let args = TrainingArgs {
        output_dir: dir.to_path_buf(),
        quiet: true,
        ..config.training.clone()
    };
    ft_train::Trainer::new(args, task, vs)?.evaluate(loader)
}

/// Opens the run in `dir`, whatever its kind.
pub fn open(dir: &Path, device: tch::Device) -> Result<Box<dyn SavedJob>> {
    Ok(match run_kind(dir)? {
        TaskKind::SeqCls | TaskKind::TokenCls | TaskKind::Regression => {
            Box::new(crate::text::saved::SavedRun::open(dir, device)?)
        }
        TaskKind::ImageCls => Box::new(crate::image::saved::SavedImageRun::open(dir, device)?),
        TaskKind::Vae => Box::new(crate::vae::saved::SavedVae::open(dir, device)?),
        TaskKind::CausalLm => Box::new(crate::lm::generate::Generator::open_dir(dir, device)?),
    })
}

/// What `ft generate` opens: a run directory of any kind (so another kind is refused naming
/// it), or a fetched GPT-2 named by its cache name or directory.
pub fn open_for_generation(spec: &str, device: tch::Device) -> Result<Box<dyn SavedJob>> {
    let dir = crate::resolve::resolve_dir(spec)?;
    if dir.join("run_config.json").exists() {
        return open(&dir, device);
    }
    Ok(Box::new(crate::lm::generate::Generator::open(
        spec, device,
    )?))
}

/// The task of the run in `dir`, from the `task` key of its `run_config.json` alone (so a run of
/// any kind answers, before anything kind-specific is parsed). A directory without that file is
/// "not an ft run directory"; each message is one line naming the directory or the file.
pub fn run_kind(dir: &Path) -> Result<TaskKind> {
    let path = dir.join("run_config.json");
    if !dir.is_dir() {
        bail!(
            "{} is not a directory (an ft run directory expected)",
            dir.display()
        );
    }
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound && ft_train::run_dir::is_run_dir(dir) =>
        {
            bail!(
                "{} is an ft run that has not finished (no run_config.json yet): complete it \
                 with `ft train ... --resume-from-checkpoint latest`",
                dir.display()
            )
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "{} is not an ft run directory (no run_config.json)",
            dir.display()
        ),
        Err(e) => bail!("cannot read {}: {e}", path.display()),
    };
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{} is not valid JSON: {e}", path.display()))?;
    let task = value
        .get("task")
        .and_then(serde_json::Value::as_str)
        .with_context(|| format!("{} has no `task` string", path.display()))?;
    task.parse::<TaskKind>()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Errors in one line naming the run's kind unless the run in `dir` is of one of `kinds`
/// (`what` names them for the message, e.g. "a text run (seq-cls, token-cls or regression)").
pub(crate) fn require_kind(dir: &Path, kinds: &[TaskKind], what: &str) -> Result<TaskKind> {
    let kind = run_kind(dir)?;
    if !kinds.contains(&kind) {
        bail!("{} is a `{kind}` run, not {what}", dir.display());
    }
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A directory holding only a `run_config.json` of `task` (the kind check comes first, so
    /// nothing else is needed to see the message).
    fn fake_run(root: &Path, name: &str, task: &str) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("run_config.json"),
            format!(r#"{{"task": "{task}", "model": "scratch", "data": {{"train_file": "x"}}}}"#),
        )
        .unwrap();
        dir
    }

    fn message<T>(r: Result<T>) -> String {
        format!("{:#}", r.err().expect("an error"))
    }

    #[test]
    fn openers_refuse_runs_of_another_kind_in_one_line() {
        let tmp = tempfile::tempdir().unwrap();
        let vae = fake_run(tmp.path(), "vae1", "vae");
        let e = message(crate::text::saved::SavedRun::open(&vae, tch::Device::Cpu));
        assert_eq!(
            e,
            format!(
                "{} is a `vae` run, not a text run (seq-cls, token-cls or regression)",
                vae.display()
            )
        );
        let text = fake_run(tmp.path(), "s1", "seq-cls");
        let e = message(crate::image::saved::SavedImageRun::open(
            &text,
            tch::Device::Cpu,
        ));
        assert_eq!(
            e,
            format!(
                "{} is a `seq-cls` run, not an image-cls run",
                text.display()
            )
        );
        let e = message(crate::lm::generate::Generator::open(
            text.to_str().unwrap(),
            tch::Device::Cpu,
        ));
        assert!(
            e.starts_with(&format!(
                "{} is a `seq-cls` run, not a causal-lm run",
                text.display()
            )),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");

        let empty = tmp.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let e = message(crate::text::saved::SavedRun::open(&empty, tch::Device::Cpu));
        assert_eq!(
            e,
            format!(
                "{} is not an ft run directory (no run_config.json)",
                empty.display()
            )
        );
        let e = message(crate::image::saved::SavedImageRun::open(
            &empty,
            tch::Device::Cpu,
        ));
        assert!(
            e.ends_with("is not an ft run directory (no run_config.json)"),
            "{e}"
        );
        let e = message(crate::lm::generate::Generator::open(
            empty.to_str().unwrap(),
            tch::Device::Cpu,
        ));
        assert!(
            e.contains("no run_config.json") && e.contains("no config.json"),
            "{e}"
        );

        // A fetched-style model directory that is not GPT-2.
        let bert = tmp.path().join("bert");
        std::fs::create_dir_all(&bert).unwrap();
        std::fs::write(bert.join("config.json"), r#"{"model_type": "bert"}"#).unwrap();
        let e = message(crate::lm::generate::Generator::open(
            bert.to_str().unwrap(),
            tch::Device::Cpu,
        ));
        assert!(e.contains("`bert`") && e.contains("not a GPT-2"), "{e}");

        let bad = fake_run(tmp.path(), "bad", "translation");
        let e = message(run_kind(&bad));
        assert!(
            e.contains("run_config.json") && e.contains("translation"),
            "{e}"
        );
    }
}
