//! Checkpoints in HF's layout (`output_dir/checkpoint-<global_step>/`), written atomically: the
//! files go to a hidden temporary folder, are synced, and the folder is renamed into place, so a
//! crash or a full disk mid-save leaves every earlier checkpoint intact. Rotation renames a
//! folder away before deleting it, so a `checkpoint-N` folder is always whole or absent; `latest`
//! still checks the files it will read and skips a damaged one, saying so.
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
    /// Every logged record so far (training and eval), as in `train_log.jsonl`.
    pub log_history: Vec<serde_json::Value>,
    /// The training losses of the steps since the last log record (their mean is the next
    /// record's `loss`), so a resumed run logs the same numbers.
    #[serde(default)]
    pub unlogged_loss_sum: f64,
    #[serde(default)]
    pub unlogged_steps: usize,
    /// Where the second training loader stands: its epoch and the batches of it drawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_loader: Option<(usize, usize)>,
    /// Each callback's JSON state, by callback name (its tensors are in [`CALLBACKS_FILE`]).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub callbacks: std::collections::BTreeMap<String, serde_json::Value>,
}

pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
pub const STATE_FILE: &str = "trainer_state.json";
pub const MODEL_FILE: &str = "model.safetensors";
/// Callbacks' parameters and tensor state, as `<callback>.<name>`; absent when they have none.
pub const CALLBACKS_FILE: &str = "callbacks.safetensors";

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

/// Every checkpoint folder in `output_dir` (complete or not), oldest first.
pub fn list(output_dir: &Path) -> Vec<(usize, PathBuf)> {
    let mut found: Vec<(usize, PathBuf)> = std::fs::read_dir(output_dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .filter_map(|p| step_of(&p).map(|s| (s, p)))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// Why `dir` cannot be resumed from, or `Ok` when every file a resume reads is there and whole.
/// Saves are atomic, so an incomplete checkpoint means outside damage (a file deleted or
/// truncated, a copy cut short).
pub fn check_complete(dir: &Path) -> Result<()> {
    read_state(dir)?;
    for name in [MODEL_FILE, OPTIMIZER_FILE] {
        let path = dir.join(name);
        if !path.is_file() {
            bail!("{} is missing", path.display());
        }
        ft_models::st::check_file(&path)?;
    }
    let callbacks = dir.join(CALLBACKS_FILE);
    if callbacks.is_file() {
        ft_models::st::check_file(&callbacks)?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// The hidden names a save or a rotation works under; what a killed process leaves of them is
/// never a checkpoint and is removed by [`remove_leftovers`].
fn is_leftover(name: &str) -> bool {
    name.starts_with(".checkpoint-") && (name.ends_with(".tmp") || name.ends_with(".deleting"))
}

/// Removes the temporary folders of saves and rotations that a killed process left behind.
/// Only call it while holding the output directory (no other process writes there).
pub fn remove_leftovers(output_dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(output_dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        if is_leftover(&entry.file_name().to_string_lossy()) {
            let path = entry.path();
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("removing the leftover {}", path.display()))?;
        }
    }
    Ok(())
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
        let io = |what: &str, path: &Path| format!("{what} {}", path.display());
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).with_context(|| io("removing", &tmp))?;
        }
        std::fs::create_dir_all(&tmp).with_context(|| io("creating", &tmp))?;
        write_files(&tmp)?;
        for entry in std::fs::read_dir(&tmp).with_context(|| io("listing", &tmp))? {
            let path = entry?.path();
            std::fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .with_context(|| io("syncing", &path))?;
        }
        sync_dir(&tmp).with_context(|| io("syncing", &tmp))?;
        crate::fault::point("checkpoint-write");
        if target.exists() {
            // Only an incomplete checkpoint of this step can be here (`latest` skipped it):
            // move it out of the way first, so no moment leaves a half-deleted one in place.
            retire(&target)?;
        }
        std::fs::rename(&tmp, &target).with_context(|| io("renaming into", &target))?;
        crate::fault::point("checkpoint-rename");
        sync_dir(output_dir).with_context(|| io("syncing", output_dir))?;
        Ok(())
    })();
    if let Err(err) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        let previous = list(output_dir)
            .into_iter()
            .rev()
            .find(|(_, p)| check_complete(p).is_ok())
            .map(|(_, p)| format!("the previous checkpoint {} is intact", p.display()))
            .unwrap_or_else(|| "no earlier checkpoint exists".into());
        return Err(err.context(format!("saving {} failed; {previous}", target.display())));
    }
    crate::run_dir::checkpoint_written(output_dir);
    Ok(target)
}

/// Removes a checkpoint folder by first renaming it to a hidden name: a crash mid-way leaves a
/// leftover, never a `checkpoint-N` with some of its files gone.
fn retire(dir: &Path) -> Result<()> {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    let doomed = dir.with_file_name(format!(".{}.deleting", name.unwrap_or_default()));
    if doomed.exists() {
        std::fs::remove_dir_all(&doomed)
            .with_context(|| format!("removing {}", doomed.display()))?;
    }
    std::fs::rename(dir, &doomed).with_context(|| format!("removing {}", dir.display()))?;
    std::fs::remove_dir_all(&doomed).with_context(|| format!("removing {}", doomed.display()))
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
        retire(&path).with_context(|| format!("rotating out the old {}", path.display()))?;
        crate::fault::point("checkpoint-rotate");
        excess -= 1;
    }
    Ok(())
}

/// The newest complete checkpoint of `output_dir`, with a line for each newer one that was
/// skipped as incomplete (and why).
pub fn latest_complete(output_dir: &Path) -> (Option<PathBuf>, Vec<String>) {
    let mut skipped = Vec::new();
    for (_, dir) in list(output_dir).into_iter().rev() {
        match check_complete(&dir) {
            Ok(()) => return (Some(dir), skipped),
            Err(e) => skipped.push(format!("skipping the incomplete {}: {e:#}", dir.display())),
        }
    }
    (None, skipped)
}

/// Resolves `--resume-from-checkpoint`: `latest` (or `true`) or a path. `Ok(None)`: `latest`
/// found no checkpoint, so the run starts from the beginning. Skipped incomplete checkpoints
/// are reported through `note`.
pub fn resolve_resume(
    output_dir: &Path,
    spec: &str,
    note: &mut dyn FnMut(&str),
) -> Result<Option<PathBuf>> {
    if spec == "latest" || spec == "true" {
        let (found, skipped) = latest_complete(output_dir);
        for line in &skipped {
            note(line);
        }
        if let Some(dir) = &found {
            if !skipped.is_empty() {
                note(&format!("resuming from {} instead", dir.display()));
            }
        }
        return Ok(found);
    }
    let path = PathBuf::from(spec);
    if !path.join(STATE_FILE).is_file() {
        bail!("{} is not a checkpoint (no {STATE_FILE})", path.display());
    }
    check_complete(&path).with_context(|| format!("{} cannot be resumed from", path.display()))?;
    Ok(Some(path))
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
            ft_models::loading::check_tensor_compatible(&name, &var, &t)
                .map_err(|why| anyhow::anyhow!("{}: {why}", file.display()))?;
            var.f_copy_(&t)
                .with_context(|| format!("{}: copying `{name}`", file.display()))?;
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

/// Settings that may differ between a run and its resume: where it is and what it prints.
const RESUME_MAY_CHANGE: [&str; 4] = ["output_dir", "resume_from_checkpoint", "quiet", "device"];

/// Refuses to resume `dir` with other training arguments than the run that wrote it: a resume
/// continues that run (the same schedule, batches and randomness), it does not start another.
pub fn check_same_args(dir: &Path, args: &crate::TrainingArgs) -> Result<()> {
    let path = dir.join("training_args.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(()); // written by an older ft; nothing to compare
    };
    let saved: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    // Each saved value read back through TrainingArgs where it still parses, so an alias the
    // old run was given (`adamw_torch`, `linear_probe`) compares as the name it stands for.
    // Only the keys the file has are compared as saved; a missing one stays missing.
    let saved = match serde_json::from_value::<crate::TrainingArgs>(saved.clone())
        .ok()
        .and_then(|a| serde_json::to_value(a).ok())
    {
        Some(serde_json::Value::Object(mut read)) => {
            read.retain(|k, _| saved.get(k).is_some());
            serde_json::Value::Object(read)
        }
        _ => saved,
    };
    let now = serde_json::to_value(args)?;
    let (Some(saved), Some(now)) = (saved.as_object(), now.as_object()) else {
        bail!("{} does not hold an object", path.display());
    };
    let null = serde_json::Value::Null;
    let mut changed: Vec<String> = now
        .iter()
        .filter(|(k, _)| !RESUME_MAY_CHANGE.contains(&k.as_str()))
        .filter(|(k, v)| saved.get(*k).unwrap_or(&null) != *v)
        .map(|(k, v)| format!("{k} was {} and is now {v}", saved.get(k).unwrap_or(&null)))
        .collect();
    changed.extend(
        saved
            .keys()
            .filter(|k| !now.contains_key(*k))
            .map(|k| format!("{k} is no longer known")),
    );
    if !changed.is_empty() {
        bail!(
            "cannot resume from {}: it was written with other training arguments ({}). \
             Resume with the arguments of that run, or start a new run in another --output-dir",
            dir.display(),
            changed.join("; ")
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

/// Writes `value` as pretty JSON to `path`, atomically (temporary file, fsync, rename).
pub fn write_json<T: serde::Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    ft_models::st::write_file_atomic(path, text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resume_compares_aliases_as_the_names_they_stand_for() {
        let tmp = tempfile::tempdir().unwrap();
        let args = crate::TrainingArgs::default();
        let mut saved = serde_json::to_value(&args).unwrap();
        saved["optim"] = "adamw_torch".into();
        std::fs::write(tmp.path().join("training_args.json"), saved.to_string()).unwrap();
        check_same_args(tmp.path(), &args).unwrap();
        saved["optim"] = "sgd".into();
        std::fs::write(tmp.path().join("training_args.json"), saved.to_string()).unwrap();
        let e = check_same_args(tmp.path(), &args).unwrap_err().to_string();
        assert!(e.contains("optim was \"sgd\" and is now \"adamw\""), "{e}");
    }

    /// A checkpoint with every file a resume reads (empty tensor files).
    fn fake(dir: &Path, step: usize) {
        save(dir, step, |tmp| {
            let state = TrainerState {
                global_step: step,
                ..Default::default()
            };
            std::fs::write(tmp.join(STATE_FILE), serde_json::to_string(&state)?)?;
            for name in [MODEL_FILE, OPTIMIZER_FILE] {
                ft_models::st::write_atomic(&tmp.join(name), &[])?;
            }
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn latest_skips_a_damaged_checkpoint_and_says_why() {
        let tmp = tempfile::tempdir().unwrap();
        fake(tmp.path(), 2);
        fake(tmp.path(), 4);
        let optimizer = checkpoint_dir(tmp.path(), 4).join(OPTIMIZER_FILE);
        let bytes = std::fs::read(&optimizer).unwrap();
        std::fs::write(&optimizer, &bytes[..bytes.len() / 2]).unwrap();
        let mut notes = Vec::new();
        let found =
            resolve_resume(tmp.path(), "latest", &mut |l| notes.push(l.to_string())).unwrap();
        assert_eq!(found, Some(checkpoint_dir(tmp.path(), 2)));
        let notes = notes.join("\n");
        assert!(
            notes.contains("checkpoint-4") && notes.contains(OPTIMIZER_FILE),
            "{notes}"
        );
        assert!(
            notes.contains("resuming from") && notes.contains("checkpoint-2"),
            "{notes}"
        );

        std::fs::remove_file(checkpoint_dir(tmp.path(), 2).join(MODEL_FILE)).unwrap();
        let found = resolve_resume(tmp.path(), "latest", &mut |_| {}).unwrap();
        assert_eq!(
            found, None,
            "no complete checkpoint: start from the beginning"
        );
    }

    #[test]
    fn leftovers_of_killed_saves_and_rotations_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        fake(tmp.path(), 3);
        for name in [".checkpoint-4.tmp", ".checkpoint-1.deleting"] {
            std::fs::create_dir_all(tmp.path().join(name).join("x")).unwrap();
        }
        std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
        remove_leftovers(tmp.path()).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["checkpoint-3", "notes.txt"]);
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
            list(tmp.path()).last().map(|(_, p)| p.clone()),
            Some(checkpoint_dir(tmp.path(), 40))
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
