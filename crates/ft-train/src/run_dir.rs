//! The output directory of a run, held for the length of the run: one writer at a time (a lock
//! file), what `--overwrite` may replace, and a run that fails before its first checkpoint
//! leaves the directory as it found it.
//!
//! `--overwrite` never deletes up front. The old run is renamed to a hidden sibling
//! (`.<name>.replaced-<pid>`) and deleted only once the new run has written its first checkpoint
//! or its final files; a run that fails before that gets the old one back. So a typo in a data
//! path, a bad value found late or a crash costs nothing, and nothing that the run reads — data,
//! model, the asset cache, the current directory — can be inside what is replaced (refused up
//! front).
use crate::args::TrainingArgs;
use crate::checkpoint;
use anyhow::{bail, Context, Result};
use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The lock file inside every run directory; empty, held with `flock` while a process writes.
pub const LOCK_FILE: &str = ".ft.lock";

/// `(run directory, where its old run was moved)` for each `--overwrite` in progress: the old
/// run is deleted at the new run's first checkpoint.
static REPLACED: Mutex<Vec<(PathBuf, PathBuf)>> = Mutex::new(Vec::new());

fn replaced() -> std::sync::MutexGuard<'static, Vec<(PathBuf, PathBuf)>> {
    REPLACED.lock().unwrap_or_else(|e| e.into_inner())
}

/// A directory counts as an ft run directory when it holds one of these.
pub fn is_run_dir(dir: &Path) -> bool {
    dir.join("training_args.json").is_file() || dir.join("run.json").is_file()
}

/// The output directory, claimed for this process. Call [`RunDir::finish`] with the run's
/// outcome; dropping it unfinished (a panic) counts as a failure.
pub struct RunDir {
    dir: PathBuf,
    /// The directory did not exist: a failed run removes it again.
    created: bool,
    /// What was in it when the run started: a failed run removes everything else.
    before: HashSet<OsString>,
    _lock: File,
    finished: bool,
}

/// `path` made absolute, with symbolic links and `..` resolved as far as the path exists.
fn absolute(path: &Path) -> Result<PathBuf> {
    let path = std::path::absolute(path)
        .with_context(|| format!("resolving the path {}", path.display()))?;
    let mut existing = path.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return Ok(path),
        }
    }
    let mut out = existing
        .canonicalize()
        .with_context(|| format!("resolving the path {}", existing.display()))?;
    out.extend(rest.iter().rev());
    Ok(out)
}

/// Why `--overwrite` must not replace `target`, if it must not.
fn overwrite_refusal(target: &Path, inputs: &[PathBuf]) -> Result<Option<String>> {
    let shown = target.display();
    let cwd = absolute(&std::env::current_dir().context("reading the current directory")?)?;
    if cwd.starts_with(target) {
        return Ok(Some(format!(
            "--output-dir {shown} is the current directory or contains it"
        )));
    }
    let cache = absolute(&ft_data::assets::ft_home())?;
    if cache.starts_with(target) || target.starts_with(&cache) {
        return Ok(Some(format!(
            "--output-dir {shown} is, contains or lies inside the asset cache {} ($FT_HOME)",
            cache.display()
        )));
    }
    for input in inputs {
        let input = absolute(input)?;
        if input.starts_with(target) {
            return Ok(Some(format!(
                "--output-dir {shown} holds {}, which this run reads",
                input.display()
            )));
        }
    }
    if !is_run_dir(target) {
        return Ok(Some(format!(
            "{shown} is not an ft run directory (it has neither training_args.json nor run.json), \
             and --overwrite only replaces ft runs"
        )));
    }
    Ok(None)
}

fn entries(dir: &Path) -> Result<HashSet<OsString>> {
    Ok(std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .filter(|n| n != LOCK_FILE)
        .collect())
}

fn lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("creating the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another ft process is writing to {} (it holds {}): wait for it to finish, or use \
             another --output-dir",
            dir.display(),
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

impl RunDir {
    /// Claims `args.output_dir` for this run, refusing to mix a new run into an old one's
    /// files. With `args.resume_from_checkpoint`, the directory is a run to continue; with
    /// `overwrite`, a finished or failed ft run to replace (see the module docs) — never one
    /// that is or holds one of `inputs`, the files and folders the run reads.
    pub fn claim(args: &TrainingArgs, inputs: &[PathBuf], overwrite: bool) -> Result<RunDir> {
        let given = &args.output_dir;
        let dir = absolute(given)?;
        let resume = args.resume_from_checkpoint.is_some();
        if overwrite && resume {
            bail!(
                "--overwrite replaces a run and --resume-from-checkpoint continues one: give one of them"
            );
        }
        if dir.exists() && !dir.is_dir() {
            bail!(
                "--output-dir {} is a file, not a directory",
                given.display()
            );
        }
        let mut created = false;
        let mut moved_aside = false;
        let before = if dir.is_dir() {
            entries(&dir)?
        } else {
            HashSet::new()
        };
        if !before.is_empty() && !resume {
            if !overwrite {
                bail!(
                    "the output directory {} is not empty: pass --overwrite to replace it, \
                     --resume-from-checkpoint latest to continue it, or another --output-dir",
                    given.display()
                );
            }
            if let Some(why) = overwrite_refusal(&dir, inputs)? {
                bail!("refusing --overwrite: {why}; nothing was deleted");
            }
            let _old_lock = lock(&dir)?;
            let name = dir.file_name().unwrap_or_default().to_string_lossy();
            let aside = dir.with_file_name(format!(".{name}.replaced-{}", std::process::id()));
            std::fs::rename(&dir, &aside).with_context(|| {
                format!(
                    "moving the old run {} aside to {} (it is deleted once this run has its \
                     first checkpoint)",
                    dir.display(),
                    aside.display()
                )
            })?;
            replaced().push((dir.clone(), aside));
            moved_aside = true;
        }
        if resume && !before.is_empty() && !is_run_dir(&dir) {
            bail!(
                "{} is not an ft run directory (it has neither training_args.json nor run.json): \
                 there is nothing to resume",
                given.display()
            );
        }
        if !dir.exists() {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("creating the output directory {}", given.display()))?;
            created = true;
        }
        let lock = lock(&dir)?;
        checkpoint::remove_leftovers(&dir)?;
        Ok(RunDir {
            dir,
            created: created || moved_aside,
            before: if moved_aside { HashSet::new() } else { before },
            _lock: lock,
            finished: false,
        })
    }

    /// The claimed directory, absolute.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Ends the claim. A failed run that wrote no checkpoint leaves the directory as it was
    /// found (and gets a replaced run back); a run with a checkpoint stays, to be resumed.
    pub fn finish(mut self, succeeded: bool) -> Result<()> {
        self.finished = true;
        if succeeded {
            checkpoint_written(&self.dir);
            return Ok(());
        }
        self.undo()
    }

    fn undo(&self) -> Result<()> {
        if !checkpoint::list(&self.dir).is_empty() {
            return Ok(());
        }
        if self.created {
            std::fs::remove_dir_all(&self.dir)
                .with_context(|| format!("removing {}", self.dir.display()))?;
        } else {
            for name in entries(&self.dir)?.difference(&self.before) {
                let path = self.dir.join(name);
                let removed = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                removed.with_context(|| format!("removing {}", path.display()))?;
            }
        }
        let aside = {
            let mut all = replaced();
            let i = all.iter().position(|(dir, _)| dir == &self.dir);
            i.map(|i| all.remove(i).1)
        };
        if let Some(aside) = aside {
            std::fs::rename(&aside, &self.dir).with_context(|| {
                format!(
                    "putting the replaced run {} back at {}",
                    aside.display(),
                    self.dir.display()
                )
            })?;
        }
        Ok(())
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if !self.finished {
            if let Err(e) = self.undo() {
                eprintln!("warning: {e:#}");
            }
        }
    }
}

/// A run in `output_dir` has a checkpoint (or its final files): the run an `--overwrite`
/// replaced there is deleted now.
pub(crate) fn checkpoint_written(output_dir: &Path) {
    let Ok(output_dir) = absolute(output_dir) else {
        return;
    };
    let done: Vec<PathBuf> = {
        let mut all = replaced();
        let (done, keep) = all
            .drain(..)
            .partition::<Vec<_>, _>(|(dir, _)| output_dir.starts_with(dir));
        *all = keep;
        done.into_iter().map(|(_, aside)| aside).collect()
    };
    for aside in done {
        if let Err(e) = std::fs::remove_dir_all(&aside) {
            eprintln!(
                "warning: could not delete the replaced run {}: {e}",
                aside.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(out: &Path) -> TrainingArgs {
        TrainingArgs {
            output_dir: out.to_path_buf(),
            ..Default::default()
        }
    }

    fn claim_for(out: &Path, input: &Path, overwrite: bool) -> Result<RunDir> {
        RunDir::claim(&args(out), &[input.to_path_buf()], overwrite)
    }

    #[test]
    fn overwrite_refuses_a_dir_holding_an_input_and_a_non_run_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("C");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("data.csv"), "text,label\n").unwrap();
        std::fs::write(out.join("training_args.json"), "{}").unwrap();
        let err = claim_for(&out, &out.join("data.csv"), true).err().unwrap();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("data.csv") && msg.contains("nothing was deleted"),
            "{msg}"
        );
        assert!(out.join("data.csv").is_file());

        let other = tmp.path().join("photos");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("cat.jpg"), "x").unwrap();
        let err = claim_for(&other, &out.join("data.csv"), true)
            .err()
            .unwrap();
        assert!(
            format!("{err:#}").contains("not an ft run directory"),
            "{err:#}"
        );
        assert!(other.join("cat.jpg").is_file());
    }

    #[test]
    fn a_failed_overwrite_gets_the_old_run_back_and_a_new_dir_disappears() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data.csv");
        std::fs::write(&data, "text,label\n").unwrap();
        let out = tmp.path().join("run");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("run.json"), "old").unwrap();
        let claim = claim_for(&out, &data, true).unwrap();
        assert!(
            !out.join("run.json").exists(),
            "the old run is out of the way"
        );
        std::fs::write(out.join("train_log.jsonl"), "new").unwrap();
        claim.finish(false).unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("run.json")).unwrap(),
            "old"
        );
        assert!(!out.join("train_log.jsonl").exists());

        let fresh = tmp.path().join("fresh");
        let claim = claim_for(&fresh, &data, false).unwrap();
        std::fs::write(fresh.join("training_args.json"), "{}").unwrap();
        drop(claim);
        assert!(
            !fresh.exists(),
            "a run that failed at once leaves no directory"
        );
    }

    #[test]
    fn a_second_writer_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data.csv");
        std::fs::write(&data, "").unwrap();
        let out = tmp.path().join("run");
        let _first = claim_for(&out, &data, false).unwrap();
        let mut second = args(&out);
        second.resume_from_checkpoint = Some("latest".into());
        std::fs::write(out.join("run.json"), "{}").unwrap();
        let err = RunDir::claim(&second, &[data], false).err().unwrap();
        assert!(format!("{err:#}").contains("another ft process"), "{err:#}");
    }
}
