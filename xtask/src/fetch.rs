//! `cargo xtask fetch-data`: fills the asset cache from the manifest, verifying every file.
//!
//! A file already in the cache with the right sha256 is kept (so a second run touches no
//! network); a missing or corrupt one is fetched again. Every new file is checked before it is
//! moved into place, so the cache never holds a file with a wrong hash.
//!
//! Registry assets come through the package registries' own clients (pip, apt). Upstream
//! assets (model hub, dataset sites: see [`crate::upstream`]) need the internet and are fetched
//! only when named or with `--all`: a bare `cargo xtask fetch-data` stays on the registries.
use crate::cmd;
use crate::http::{Http, RetryPolicy};
use crate::registry::{self, Package};
use crate::upstream::{self, Endpoints};
use anyhow::{bail, Context, Result};
use ft_assets::{
    sha256_file, AssetSpec, Cache, Convert, FileState, Manifest, Source, UpstreamLock,
};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(clap::Args, Default)]
pub struct FetchArgs {
    /// Assets to fetch (default: every registry asset; upstream ones only when named).
    names: Vec<String>,
    /// Fetch every asset, the upstream ones (model hub, dataset sites; needs internet) too.
    #[arg(long, conflicts_with = "names")]
    all: bool,
    /// Show every asset with its license, size, verification and cache state; fetch nothing.
    #[arg(long)]
    list: bool,
    /// Fetch upstream files from this mirror: it replaces the `scheme://host` of every
    /// upstream URL (the path is kept), e.g. `https://user:pass@mirror.corp/hub-proxy`.
    /// The model hub alone can also be redirected with the HF_ENDPOINT variable.
    #[arg(long, value_name = "URL")]
    mirror: Option<String>,
    /// Cache root [default: $FT_HOME, else ~/.cache/ft].
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Use this manifest instead of the built-in datasets/manifest.json.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
}

impl FetchArgs {
    /// Fetch just these assets into the default cache.
    pub fn only(names: &[&str]) -> FetchArgs {
        FetchArgs {
            names: names.iter().map(|n| n.to_string()).collect(),
            ..FetchArgs::default()
        }
    }
}

pub fn run(args: &FetchArgs) -> Result<()> {
    let manifest = match &args.manifest {
        Some(path) => Manifest::load(path)?,
        None => Manifest::builtin().clone(),
    };
    let root = args.cache.clone().unwrap_or_else(ft_assets::ft_home);
    let cache = Cache::new(root, manifest);
    if args.list {
        let specs = if args.names.is_empty() {
            cache.manifest().assets.clone()
        } else {
            plan(cache.manifest(), &args.names, false)?
        };
        return list(&cache, &specs);
    }
    let specs = plan(cache.manifest(), &args.names, args.all)?;
    let endpoints = Endpoints::from_env(args.mirror.clone());
    let client = Http::new(RetryPolicy::default(), true, true);
    for spec in &specs {
        if spec.source.is_upstream() {
            upstream::fetch_upstream(&cache, spec, &client, &endpoints)?;
        } else {
            fetch_asset(&cache, spec, &registry::download)?;
        }
    }
    let skipped = cache.manifest().assets.len() - specs.len();
    if args.names.is_empty() && skipped > 0 {
        println!(
            "fetch-data: {skipped} upstream asset(s) not fetched (they need internet): name them, or pass --all; see --list"
        );
    }
    println!(
        "fetch-data: {} asset(s) ready in {}",
        specs.len(),
        cache.root().display()
    );
    Ok(())
}

/// Which assets a run fetches: the named ones; with no names, every registry asset, plus the
/// upstream ones only with `--all`. A bare run therefore never leaves the package registries.
pub fn plan(manifest: &Manifest, names: &[String], all: bool) -> Result<Vec<AssetSpec>> {
    if !names.is_empty() {
        return Ok(names
            .iter()
            .map(|n| manifest.get(n).cloned())
            .collect::<Result<_, _>>()?);
    }
    Ok(manifest
        .assets
        .iter()
        .filter(|a| all || !a.source.is_upstream())
        .cloned()
        .collect())
}

fn list(cache: &Cache, specs: &[AssetSpec]) -> Result<()> {
    println!("cache: {}", cache.root().display());
    println!(
        "{:<18} {:<7} {:>10}  {:<10} {:<18} {:<44} license",
        "name", "kind", "size", "state", "sha256", "source"
    );
    let lock = UpstreamLock::load(cache.root())?;
    for spec in specs {
        let states = cache.check(spec)?;
        let bad = states
            .iter()
            .filter(|(_, s)| *s != FileState::Valid)
            .count();
        let state = match bad {
            0 => "cached".to_string(),
            n if n == states.len() => "missing".to_string(),
            n => format!("{n} to fetch"),
        };
        let kind = format!("{:?}", spec.kind).to_lowercase();
        let source = match &spec.source {
            Source::Pypi { .. } => format!("pypi {}", spec.source.pinned()),
            Source::Debian { .. } => format!("debian {}", spec.source.pinned()),
            Source::Hub { repo, revision } => {
                format!("hub {repo}@{}", &revision[..revision.len().min(12)])
            }
            Source::Url { base } => format!("url {}", host_of(base)),
        };
        println!(
            "{:<18} {:<7} {:>10}  {:<10} {:<18} {:<44} {}",
            spec.name,
            kind,
            size_of(spec),
            state,
            verification(spec, &lock),
            source,
            spec.license
        );
    }
    println!(
        "sha256: `verified` = every file is checked against a hash written in the manifest; `tofu k/n` = k of n \
         files have no published hash and are trust-on-first-use (`p pinned`: p of them recorded in {})",
        UpstreamLock::path(cache.root()).display()
    );
    Ok(())
}

/// `verified`, or `tofu k/n` (k trust-on-first-use files of n), with how many are recorded.
fn verification(spec: &AssetSpec, lock: &UpstreamLock) -> String {
    let tofu: Vec<_> = spec.files.iter().filter(|f| !f.is_verified()).collect();
    if tofu.is_empty() {
        return "verified".into();
    }
    let recorded = tofu
        .iter()
        .filter(|f| lock.get(&spec.name, &f.path).is_some())
        .count();
    let mut out = format!("tofu {}/{}", tofu.len(), spec.files.len());
    if recorded > 0 {
        out.push_str(&format!(", {recorded} pinned"));
    }
    out
}

/// `https://host/long/path` → `host`: enough to say where a dataset comes from in a table.
fn host_of(url: &str) -> String {
    let redacted = crate::http::redact(url);
    let rest = redacted
        .split_once("://")
        .map(|(_, r)| r.to_string())
        .unwrap_or(redacted.clone());
    rest.split('/').next().unwrap_or_default().to_string()
}

/// The known total, marked `+?` when some upstream sizes are unknown.
fn size_of(spec: &AssetSpec) -> String {
    let unknown = spec.files.iter().any(|f| f.size == 0);
    match (spec.size(), unknown) {
        (0, true) => "?".into(),
        (n, true) => format!("{}+?", human_size(n)),
        (n, false) => human_size(n),
    }
}

fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1u64 << 20) as f64),
        b => format!("{:.1} kB", b as f64 / 1024.0),
    }
}

/// What turns a source into a package on disk; tests substitute a local one.
pub type Downloader<'a> = &'a dyn Fn(&Source, &Path) -> Result<Package>;

/// Brings one asset's cache folder to the manifest's state.
pub fn fetch_asset(cache: &Cache, spec: &AssetSpec, download: Downloader) -> Result<()> {
    let dir = cache.asset_dir(spec);
    let mut needed = Vec::new();
    for (file, state) in cache.check(spec)? {
        match state {
            FileState::Valid => {}
            FileState::Missing | FileState::Unverified => needed.push(file),
            FileState::Corrupt { actual_sha256 } => {
                println!(
                    "fetch-data: {} is corrupt (sha256 {actual_sha256}, expected {}): fetching it again",
                    dir.join(&file.path).display(),
                    file.sha256.as_deref().unwrap_or("?")
                );
                needed.push(file);
            }
        }
    }
    if needed.is_empty() {
        println!(
            "fetch-data: {:<20} ok (cached, {} file(s) verified)",
            spec.name,
            spec.files.len()
        );
        return Ok(());
    }
    println!(
        "fetch-data: {:<20} fetching {} from {}",
        spec.name,
        plural(needed.len()),
        spec.source.pinned()
    );

    // Staging lives inside the cache root so that the final rename never crosses filesystems.
    let staging =
        cache
            .root()
            .join(".staging")
            .join(format!("{}-{}", spec.name, std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    let result = (|| {
        let package = download(&spec.source, &staging)?;
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        for file in &needed {
            // Extracted under its package path: converters may dispatch on the file's name.
            let mut ready = staging.join("files").join(&file.from);
            package.extract(&file.from, &ready)?;
            if let Some(convert) = file.convert {
                let expected = file
                    .from_sha256
                    .as_deref()
                    .expect("validated by Manifest::parse");
                verify(
                    &ready,
                    expected,
                    &format!("`{}` in {}", file.from, spec.source.pinned()),
                )?;
                let converted = staging.join("converted").join(&file.path);
                std::fs::create_dir_all(converted.parent().unwrap())?;
                run_conversion(convert, &ready, &converted)?;
                ready = converted;
            }
            let target = dir.join(&file.path);
            let expected = file
                .sha256
                .as_deref()
                .expect("registry files have a sha256 (checked by Manifest::parse)");
            verify(&ready, expected, &target.display().to_string())?;
            install(&ready, &target)?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&staging);
    result
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 file".into()
    } else {
        format!("{n} files")
    }
}

/// Fails, naming the file and both hashes, unless `path` hashes to `expected`.
fn verify(path: &Path, expected: &str, what: &str) -> Result<()> {
    let actual = sha256_file(path)?;
    if actual != expected {
        bail!(
            "sha256 mismatch for {what}: expected {expected}, got {actual}; the file was not kept"
        );
    }
    Ok(())
}

/// Moves a verified file into the cache: synced first, then renamed, so a crash leaves either
/// the old state or the complete new file, never a torn one.
fn install(ready: &Path, target: &Path) -> Result<()> {
    std::fs::File::open(ready)?.sync_all()?;
    std::fs::rename(ready, target)
        .with_context(|| format!("cannot move {} into place", target.display()))?;
    if let Some(parent) = target.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

fn run_conversion(convert: Convert, input: &Path, output: &Path) -> Result<()> {
    match convert {
        Convert::TorchPickleToSafetensors => {
            let python = crate::setup::venv_python();
            if !python.is_file() {
                bail!("converting a PyTorch checkpoint needs the project venv: run `cargo xtask setup` first");
            }
            let script = crate::workspace_root().join("xtask/scripts/pth_to_safetensors.py");
            cmd::output(Command::new(python).arg(script).arg(input).arg(output))
                .context("converting the pickled checkpoint to safetensors failed")?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const HELLO_SHA: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    fn manifest(sha: &str) -> Manifest {
        let json = format!(
            r#"{{"schema": 1, "assets": [{{"name": "tiny", "kind": "dataset", "license": "MIT",
            "description": "d", "source": {{"pypi": {{"package": "tiny", "version": "1"}}}},
            "files": [{{"path": "a.txt", "from": "tiny/data/a.txt", "sha256": "{sha}", "size": 5}}]}}]}}"#
        );
        Manifest::parse(&json, "test").unwrap()
    }

    /// A downloader that writes a one-member wheel and counts its calls.
    fn fake_wheel(calls: &std::cell::Cell<u32>) -> impl Fn(&Source, &Path) -> Result<Package> + '_ {
        move |_, staging| {
            calls.set(calls.get() + 1);
            let path = staging.join("tiny-1-py3-none-any.whl");
            let mut zip = zip::ZipWriter::new(std::fs::File::create(&path)?);
            zip.start_file("tiny/data/a.txt", zip::write::SimpleFileOptions::default())?;
            zip.write_all(b"hello")?;
            zip.finish()?;
            Ok(Package::Wheel(path))
        }
    }

    #[test]
    fn fetches_skips_valid_and_refetches_corrupt_files() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().to_path_buf(), manifest(HELLO_SHA));
        let spec = cache.manifest().get("tiny").unwrap().clone();
        let calls = std::cell::Cell::new(0);
        let dl = fake_wheel(&calls);
        let target = tmp.path().join("datasets/tiny/a.txt");

        fetch_asset(&cache, &spec, &dl).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"hello");
        assert_eq!(calls.get(), 1);

        fetch_asset(&cache, &spec, &dl).unwrap();
        assert_eq!(
            calls.get(),
            1,
            "a valid cached file must not be downloaded again"
        );

        std::fs::write(&target, b"hellO").unwrap();
        fetch_asset(&cache, &spec, &dl).unwrap();
        assert_eq!(calls.get(), 2, "a corrupt file must be fetched again");
        assert_eq!(std::fs::read(&target).unwrap(), b"hello");
        assert!(!tmp
            .path()
            .join(".staging/tiny-".to_string() + &std::process::id().to_string())
            .exists());
    }

    #[test]
    fn wrong_checksum_names_both_hashes_and_keeps_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let bogus = "0".repeat(64);
        let cache = Cache::new(tmp.path().to_path_buf(), manifest(&bogus));
        let spec = cache.manifest().get("tiny").unwrap().clone();
        let calls = std::cell::Cell::new(0);
        let err = fetch_asset(&cache, &spec, &fake_wheel(&calls))
            .unwrap_err()
            .to_string();
        assert!(err.contains(&bogus) && err.contains(HELLO_SHA), "{err}");
        assert!(err.contains("a.txt"), "{err}");
        assert!(!tmp.path().join("datasets/tiny/a.txt").exists());
    }

    #[test]
    fn bare_plan_selects_no_upstream_asset() {
        let m = Manifest::builtin();
        let bare = plan(m, &[], false).unwrap();
        assert!(!bare.is_empty());
        assert!(
            bare.iter().all(|a| !a.source.is_upstream()),
            "a bare run must stay offline"
        );
        let all = plan(m, &[], true).unwrap();
        assert_eq!(all.len(), m.assets.len());
        let named = plan(m, &["gpt2".to_string()], false).unwrap();
        assert_eq!(named.len(), 1);
        assert!(named[0].source.is_upstream());
    }

    #[test]
    fn list_marks_verified_and_trust_on_first_use_entries() {
        let m = Manifest::builtin();
        let lock = UpstreamLock::default();
        assert_eq!(verification(m.get("minilm-l6").unwrap(), &lock), "verified");
        assert_eq!(verification(m.get("imdb").unwrap(), &lock), "verified");
        assert_eq!(verification(m.get("gpt2").unwrap(), &lock), "tofu 1/5");
        assert_eq!(size_of(m.get("cats-vs-dogs").unwrap()), "?");
    }

    #[test]
    fn missing_member_names_the_package() {
        let tmp = tempfile::tempdir().unwrap();
        let mut m = manifest(HELLO_SHA);
        m.assets[0].files[0].from = "tiny/data/b.txt".into();
        let cache = Cache::new(tmp.path().to_path_buf(), m);
        let spec = cache.manifest().get("tiny").unwrap().clone();
        let calls = std::cell::Cell::new(0);
        let err = fetch_asset(&cache, &spec, &fake_wheel(&calls))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`tiny/data/b.txt` is not in"), "{err}");
    }
}
