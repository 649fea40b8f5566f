//! Getting a pinned package from a registry with its ordinary client, and files out of it.
//!
//! Wheels come from `pip download --no-deps`; Debian packages from `apt-get download`, unpacked
//! with `dpkg -x`. These are the only network paths a bare `cargo xtask fetch-data` takes.
use crate::cmd;
use anyhow::{bail, Context, Result};
use ft_assets::Source;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A downloaded package, ready for files to be taken out of it.
pub enum Package {
    /// A wheel: a zip archive, read in place.
    Wheel(PathBuf),
    /// An unpacked file tree (a Debian package after `dpkg -x`).
    Tree(PathBuf),
}

impl Package {
    fn describe(&self) -> String {
        match self {
            Package::Wheel(p) | Package::Tree(p) => p.display().to_string(),
        }
    }

    /// Copies the member `from` of the package to `dest`.
    pub fn extract(&self, from: &str, dest: &Path) -> Result<()> {
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        match self {
            Package::Wheel(wheel) => {
                let file = std::fs::File::open(wheel)
                    .with_context(|| format!("cannot open {}", wheel.display()))?;
                let mut zip = zip::ZipArchive::new(file)
                    .with_context(|| format!("{} is not a valid wheel", wheel.display()))?;
                let mut member = zip
                    .by_name(from)
                    .with_context(|| format!("`{from}` is not in {}", self.describe()))?;
                let mut out = std::fs::File::create(dest)?;
                std::io::copy(&mut member, &mut out)
                    .with_context(|| format!("cannot extract `{from}` to {}", dest.display()))?;
            }
            Package::Tree(root) => {
                let src = root.join(from);
                if !src.is_file() {
                    bail!("`{from}` is not in {}", self.describe());
                }
                std::fs::copy(&src, dest).with_context(|| {
                    format!("cannot copy {} to {}", src.display(), dest.display())
                })?;
            }
        }
        Ok(())
    }
}

/// Downloads the package a source names into `staging` (an empty folder).
pub fn download(source: &Source, staging: &Path) -> Result<Package> {
    let dl = staging.join("download");
    std::fs::create_dir_all(&dl)?;
    match source {
        Source::Pypi { .. } => {
            // The venv's pip when it exists (its interpreter decides which binary wheel fits);
            // the system one otherwise, since data-only wheels need no torch.
            let venv_python = crate::setup::venv_python();
            let python = if venv_python.is_file() {
                venv_python
            } else {
                PathBuf::from("python3")
            };
            cmd::run(
                Command::new(&python)
                    .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
                    .args(["--disable-pip-version-check", "--progress-bar", "off", "-d"])
                    .arg(&dl)
                    .arg(source.pinned()),
            )
            .context(
                "pip could not download the package: is the Python package index reachable?",
            )?;
            Ok(Package::Wheel(single_file(&dl, "whl")?))
        }
        Source::Debian { package, .. } => {
            let mut apt = Command::new("apt-get");
            apt.args(["download", &source.pinned()]).current_dir(&dl);
            if cmd::output(&mut apt).is_err() {
                // A fresh machine often has no package lists yet.
                println!("fetch-data: `apt-get download {package}` failed; running `apt-get update` once");
                cmd::run(Command::new("apt-get").arg("update").arg("-qq")).context(
                    "apt-get update failed (it needs root): run it yourself, then rerun fetch-data",
                )?;
                cmd::output(&mut apt)
                    .with_context(|| format!("apt-get could not download {}", source.pinned()))?;
            }
            let deb = single_file(&dl, "deb")?;
            let tree = staging.join("tree");
            cmd::output(Command::new("dpkg").arg("-x").arg(&deb).arg(&tree)).context(
                "dpkg -x could not unpack the package (dpkg is needed for Debian sources)",
            )?;
            Ok(Package::Tree(tree))
        }
        Source::Hub { .. } | Source::Url { .. } => bail!(
            "{} is an upstream source, not a package registry: it is fetched over HTTPS by the upstream path",
            source.pinned()
        ),
    }
}

fn single_file(dir: &Path, extension: &str) -> Result<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        n => bail!(
            "expected one .{extension} file in {}, found {n}",
            dir.display()
        ),
    }
}
