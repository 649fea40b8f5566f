//! `cargo xtask setup`: the project virtualenv that provides libtorch to tch.
//!
//! One venv per torch version lives in the cache (`$FT_HOME/venv-torch-2.13.0`, ~5 GB, ~3 min to
//! install) and every checkout links it as `.venv`, so fresh clones (CI makes one per run) reuse
//! it. `.venv/libtorch` links the venv's `torch/` package, which `.cargo/config.toml` hands to
//! tch's build as `LIBTORCH`. A stamp holding the requirements file's hash makes reruns instant.
use crate::cmd;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The libtorch version tch 0.26 is written against.
pub const TORCH_VERSION: &str = "2.13.0";

const STAMP: &str = ".ft-requirements.sha256";

/// The cache venv for [`TORCH_VERSION`].
pub fn venv_dir() -> PathBuf {
    ft_assets::ft_home().join(format!("venv-torch-{TORCH_VERSION}"))
}

/// The venv's interpreter, for reference scripts and conversions.
pub fn venv_python() -> PathBuf {
    venv_dir().join("bin").join("python")
}

/// Creates or checks the venv, then links it into the checkout.
pub fn run() -> Result<()> {
    let root = crate::workspace_root();
    let requirements = root.join("xtask").join("requirements.txt");
    let wanted = ft_assets::sha256_file(&requirements)?;
    let venv = venv_dir();

    if !is_current(&venv, &wanted) {
        std::fs::create_dir_all(venv.parent().unwrap()).with_context(|| {
            format!(
                "cannot create the cache folder {}",
                venv.parent().unwrap().display()
            )
        })?;
        // Two checkouts setting up at once (a developer and CI, say) must not pip into one venv
        // together: the second waits, then finds the work done.
        let lock_path = venv.with_file_name(format!("venv-torch-{TORCH_VERSION}.lock"));
        let lock = std::fs::File::create(&lock_path)
            .with_context(|| format!("cannot create {}", lock_path.display()))?;
        lock.lock()
            .with_context(|| format!("cannot lock {}", lock_path.display()))?;
        if !is_current(&venv, &wanted) {
            install(&venv, &requirements, &wanted)?;
        }
    }
    link_checkout(&root, &venv)?;
    println!(
        "setup: ok — torch {TORCH_VERSION} in {} (linked as .venv)",
        venv.display()
    );
    Ok(())
}

/// Whether the venv is installed and current, so [`run`] only has to link it.
pub fn installed() -> bool {
    let requirements = crate::workspace_root()
        .join("xtask")
        .join("requirements.txt");
    ft_assets::sha256_file(&requirements).is_ok_and(|sha| is_current(&venv_dir(), &sha))
}

fn is_current(venv: &Path, wanted_sha: &str) -> bool {
    let stamp = std::fs::read_to_string(venv.join(STAMP)).unwrap_or_default();
    stamp.trim() == wanted_sha && venv.join("libtorch/lib/libtorch_cpu.so").is_file()
}

fn install(venv: &Path, requirements: &Path, sha: &str) -> Result<()> {
    let python = venv.join("bin").join("python");
    if !python.is_file() {
        cmd::output(Command::new("python3").arg("--version")).context(
            "python3 is needed once, to install libtorch (torch 2.13.0) into a virtualenv. \
             Install Python 3.9 or newer (Debian/Ubuntu: apt-get install python3 python3-venv)",
        )?;
        println!("setup: creating the virtualenv {}", venv.display());
        cmd::output(Command::new("python3").args(["-m", "venv"]).arg(venv)).context(
            "python3 could not create a virtualenv: install its venv module \
             (Debian/Ubuntu: apt-get install python3-venv), then rerun `cargo xtask setup`",
        )?;
    }
    println!(
        "setup: installing {} into the venv (torch {TORCH_VERSION} and the reference packages; ~5 GB, a few minutes the first time)",
        requirements.display()
    );
    cmd::run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--disable-pip-version-check", "-r"])
            .arg(requirements),
    )
    .with_context(|| {
        format!(
            "pip could not install the pinned requirements. Check that the Python package index is \
             reachable and that ~6 GB are free under {}; if the venv is broken, delete that folder \
             and rerun `cargo xtask setup`",
            venv.display()
        )
    })?;

    let probe = cmd::output(Command::new(&python).args([
        "-c",
        "import os, torch; print(torch.__version__); print(os.path.dirname(torch.__file__))",
    ]))
    .context("the venv's torch does not import")?;
    let mut lines = probe.lines();
    let version = lines.next().unwrap_or_default();
    let torch_dir = PathBuf::from(lines.next().unwrap_or_default());
    if version.split('+').next() != Some(TORCH_VERSION) {
        bail!("the venv has torch {version}, but tch needs exactly {TORCH_VERSION}");
    }
    let relative = torch_dir.strip_prefix(venv).unwrap_or(&torch_dir);
    replace_symlink(relative, &venv.join("libtorch"))?;
    std::fs::write(venv.join(STAMP), sha)?;
    Ok(())
}

/// Makes `<checkout>/.venv` a link to the cache venv, refusing to clobber a real folder.
fn link_checkout(root: &Path, venv: &Path) -> Result<()> {
    let link = root.join(".venv");
    match std::fs::symlink_metadata(&link) {
        Ok(meta) if !meta.file_type().is_symlink() => bail!(
            "{} exists and is not a link to the project venv {}: move it away and rerun `cargo xtask setup`",
            link.display(),
            venv.display()
        ),
        Ok(_) if std::fs::read_link(&link)? == venv => Ok(()),
        _ => replace_symlink(venv, &link),
    }
}

fn replace_symlink(target: &Path, link: &Path) -> Result<()> {
    // Create beside, then rename over: the link is never absent for a concurrent build.
    let tmp = link.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)
        .with_context(|| format!("cannot create the link {}", tmp.display()))?;
    std::fs::rename(&tmp, link)
        .with_context(|| format!("cannot create the link {}", link.display()))
}
