//! Checkpoints in HF's layout (`output_dir/checkpoint-<global_step>/`), written atomically: the
//! files go to a hidden temporary folder, are synced, and the folder is renamed into place, so a
//! crash or a full disk mid-save leaves every earlier checkpoint intact.
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::nn::VarStore;

/// Where the loop stands; enough, with the weights and optimizer state, to resume bitwise.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    pub global_step: usize,
    /// The epoch in progress (0-based).
    pub epoch: usize,
    /// Micro-batches of `epoch` already consumed.
    pub batches_done_in_epoch: usize,
    pub best_metric: Option<f64>,
    pub best_step: Option<usize>,
    pub evals_without_improvement: usize,
    /// Every logged record so far (training and eval), as in `train_log.jsonl`.
    pub log_history: Vec<serde_json::Value>,
}

pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
pub const STATE_FILE: &str = "trainer_state.json";
pub const MODEL_FILE: &str = "model.safetensors";

pub fn checkpoint_dir(output_dir: &Path, step: usize) -> PathBuf {
    output_dir.join(format!("checkpoint-{step}"))
}

/// The global step of a `checkpoint-<N>` folder name.
pub fn step_of(dir: &Path) -> Option<usize> {
    dir.file_name()?
        .to_str()?
        .strip_prefix("checkpoint-")?
        .parse()
        .ok()
}

/// Every complete checkpoint in `output_dir`, oldest first.
pub fn list(output_dir: &Path) -> Vec<(usize, PathBuf)> {
    let mut found: Vec<(usize, PathBuf)> = std::fs::read_dir(output_dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join(STATE_FILE).is_file())
                .filter_map(|p| step_of(&p).map(|s| (s, p)))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Writes a checkpoint: `write_files` fills a temporary folder, which becomes `checkpoint-<step>`.
pub fn save(
    output_dir: &Path,
    step: usize,
    write_files: impl FnOnce(&Path) -> Result<()>,
) -> Result<PathBuf> {
    let target = checkpoint_dir(output_dir, step);
    let tmp = output_dir.join(format!(".checkpoint-{step}.tmp"));
    let result = (|| -> Result<()> {
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(&tmp)?;
        write_files(&tmp)?;
        for entry in std::fs::read_dir(&tmp)? {
            std::fs::File::open(entry?.path())?.sync_all()?;
        }
        sync_dir(&tmp)?;
        if target.exists() {
            std::fs::remove_dir_all(&target)?;
        }
        std::fs::rename(&tmp, &target)?;
        sync_dir(output_dir)?;
        Ok(())
    })();
    if let Err(err) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        let previous = list(output_dir)
            .last()
            .map(|(_, p)| format!("the previous checkpoint {} is intact", p.display()))
            .unwrap_or_else(|| "no earlier checkpoint exists".into());
        return Err(err.context(format!("saving {} failed; {previous}", target.display())));
    }
    Ok(target)
}

/// Deletes the oldest checkpoints beyond `limit`, never the one at `keep` (the best).
pub fn rotate(output_dir: &Path, limit: usize, keep: Option<usize>) -> Result<()> {
    let all = list(output_dir);
    let mut excess = all.len().saturating_sub(limit.max(1));
    for (step, path) in all {
        if excess == 0 {
            break;
        }
        if Some(step) == keep {
            continue;
        }
        std::fs::remove_dir_all(&path)
            .with_context(|| format!("removing old {}", path.display()))?;
        excess -= 1;
    }
    Ok(())
}

/// Resolves `--resume-from-checkpoint`: `latest` (or `true`) or a path.
pub fn resolve_resume(output_dir: &Path, spec: &str) -> Result<PathBuf> {
    if spec == "latest" || spec == "true" {
        return match list(output_dir).pop() {
            Some((_, p)) => Ok(p),
            None => bail!("no checkpoint to resume from in {}", output_dir.display()),
        };
    }
    let path = PathBuf::from(spec);
    if !path.join(STATE_FILE).is_file() {
        bail!("{} is not a checkpoint (no {STATE_FILE})", path.display());
    }
    Ok(path)
}

/// Loads weights saved from this very model: every name must match, with the same shape.
pub fn load_weights_exact(vs: &VarStore, file: &Path) -> Result<()> {
    let tensors = ft_models::st::read(file)?;
    let mut vars = vs.variables();
    tch::no_grad(|| -> Result<()> {
        for (name, t) in tensors {
            let Some(mut var) = vars.remove(&name) else {
                bail!(
                    "{} holds `{name}`, which this model does not have",
                    file.display()
                );
            };
            if var.size() != t.size() {
                bail!(
                    "{}: `{name}` has shape {:?}, the model {:?}",
                    file.display(),
                    t.size(),
                    var.size()
                );
            }
            var.copy_(&t);
        }
        Ok(())
    })?;
    if let Some(name) = vars.keys().next() {
        bail!(
            "{} lacks `{name}` (and {} more)",
            file.display(),
            vars.len() - 1
        );
    }
    Ok(())
}

pub fn read_state(dir: &Path) -> Result<TrainerState> {
    let path = dir.join(STATE_FILE);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(dir: &Path, step: usize) {
        save(dir, step, |tmp| {
            std::fs::write(tmp.join(STATE_FILE), "{}")?;
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn rotation_keeps_the_newest_and_the_best() {
        let tmp = tempfile::tempdir().unwrap();
        for step in [10, 20, 30, 40] {
            fake(tmp.path(), step);
        }
        rotate(tmp.path(), 2, Some(10)).unwrap();
        let steps: Vec<usize> = list(tmp.path()).into_iter().map(|(s, _)| s).collect();
        assert_eq!(steps, vec![10, 40]);
        assert_eq!(
            resolve_resume(tmp.path(), "latest").unwrap(),
            checkpoint_dir(tmp.path(), 40)
        );
    }

    #[test]
    fn a_failed_save_leaves_no_partial_checkpoint_and_says_what_is_intact() {
        let tmp = tempfile::tempdir().unwrap();
        fake(tmp.path(), 5);
        let err = save(tmp.path(), 6, |_| anyhow::bail!("No space left on device")).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("checkpoint-6") && msg.contains("checkpoint-5 is intact"),
            "{msg}"
        );
        assert!(msg.contains("No space left"), "{msg}");
        assert_eq!(list(tmp.path()).len(), 1);
        assert!(!tmp.path().join(".checkpoint-6.tmp").exists());
    }
}
