//! Upstream assets: files fetched over HTTPS from the model hub or a dataset's own site.
//!
//! Where a file comes from: a `hub` source's files are `{hub}/{repo}/resolve/{revision}/{from}`
//! with `{hub}` the public model hub unless `HF_ENDPOINT` names another; a `url` source's are
//! `{base}/{from}`. `--mirror BASE` then rewrites EVERY upstream URL by replacing its
//! `scheme://host` with `BASE` (which may carry a path prefix and `user:password@`): a company
//! mirror serves the same paths as the originals, under its own address.
//!
//! Checks: a file whose sha256 the manifest knows must match it. A file whose hash nobody
//! publishes is trust-on-first-use: the first download records its hash in
//! `$FT_HOME/upstream.lock.json`, and later downloads must match that record.
use crate::archive;
use crate::http::{self, Auth, Http};
use anyhow::{bail, Context, Result};
use ft_assets::{
    sha256_file, AssetSpec, Cache, FileSpec, FileState, LockEntry, Source, UnpackStamp,
    UpstreamLock,
};
use std::path::{Path, PathBuf};

/// The model hub's public address, used unless `HF_ENDPOINT` or `--mirror` says otherwise.
pub const DEFAULT_HUB: &str = "https://huggingface.co";

/// Where upstream files are requested, and with which credentials.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Base of the model hub, without a trailing slash.
    pub hub: String,
    /// `--mirror`: replaces the scheme and host of every upstream URL.
    pub mirror: Option<String>,
    /// `HF_TOKEN`, sent as a bearer token to the hub (never to dataset sites or a mirror).
    pub hub_token: Option<String>,
}

impl Endpoints {
    /// From the environment (`HF_ENDPOINT`, `HF_TOKEN`) and the `--mirror` flag.
    pub fn from_env(mirror: Option<String>) -> Endpoints {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Endpoints {
            hub: var("HF_ENDPOINT").unwrap_or_else(|| DEFAULT_HUB.to_string()),
            mirror,
            hub_token: var("HF_TOKEN"),
        }
    }

    /// The URL of one file of a source (before credentials are split off).
    pub fn url(&self, source: &Source, from: &str) -> Result<String> {
        let original = match source {
            Source::Hub { repo, revision } => format!(
                "{}/{repo}/resolve/{revision}/{from}",
                self.hub.trim_end_matches('/')
            ),
            Source::Url { base } => format!("{}/{from}", base.trim_end_matches('/')),
            other => bail!("{} is not an upstream source", other.pinned()),
        };
        Ok(match &self.mirror {
            Some(mirror) => format!("{}{}", mirror.trim_end_matches('/'), path_of(&original)),
            None => original,
        })
    }

    /// Credentials for a URL: the mirror's or hub URL's own `user:password@`, else the hub
    /// token for hub files. The token never goes to a `--mirror`: that is another party, which
    /// gets only the credentials written into its own URL.
    fn auth(&self, source: &Source, url: &str) -> Auth {
        if let Some((user, password)) = http::userinfo(url) {
            return Auth::Basic { user, password };
        }
        match (source, &self.hub_token, &self.mirror) {
            (Source::Hub { .. }, Some(token), None) => Auth::Bearer(token.clone()),
            _ => Auth::None,
        }
    }
}

/// `scheme://host/path?q` → `/path?q`.
fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.find('/').map(|i| &rest[i..]).unwrap_or("")
}

/// Brings one upstream asset's cache folder to the manifest's state.
pub fn fetch_upstream(
    cache: &Cache,
    spec: &AssetSpec,
    client: &Http,
    endpoints: &Endpoints,
) -> Result<()> {
    let dir = cache.asset_dir(spec);
    let needed: Vec<FileSpec> = cache
        .check(spec)?
        .into_iter()
        .filter_map(|(file, state)| match state {
            FileState::Valid => None,
            FileState::Corrupt { actual_sha256 } => {
                println!(
                    "fetch-data: {}/{} does not match its sha256 (has {actual_sha256}): fetching it again",
                    spec.name, file.path
                );
                Some(file)
            }
            FileState::Missing | FileState::Unverified => Some(file),
        })
        .collect();
    if needed.is_empty() {
        println!(
            "fetch-data: {:<20} ok (cached, {} file(s) checked)",
            spec.name,
            spec.files.len()
        );
        return Ok(());
    }
    println!(
        "fetch-data: {:<20} fetching {} file(s) from {}",
        spec.name,
        needed.len(),
        http::redact(&endpoints.url(&spec.source, "")?)
    );
    // Partial downloads live outside the staging folder so that a failed run's bytes are
    // resumed by the next one.
    let partial_dir = cache.root().join(".partial").join(&spec.name);
    std::fs::create_dir_all(&partial_dir)
        .with_context(|| format!("cannot create {}", partial_dir.display()))?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for file in &needed {
        let url = endpoints.url(&spec.source, &file.from)?;
        let part = partial_dir.join(format!("{}.part", file.from.replace('/', "_")));
        let label = format!("{}/{}", spec.name, file.from);
        client.download(&url, &endpoints.auth(&spec.source, &url), &part, &label)?;
        let sha = check_download(cache, spec, file, &part, &url)?;
        match file.unpack {
            None => install(&part, &dir.join(&file.path))?,
            Some(format) => {
                unpack_into_cache(cache, spec, file, &part, format, &sha)?;
                let _ = std::fs::remove_file(&part);
            }
        }
    }
    let _ = std::fs::remove_dir(&partial_dir);
    Ok(())
}

/// Verifies a finished download against the manifest or the lock, recording it in the lock on
/// first use. On a mismatch the download is deleted and the error names both hashes.
fn check_download(
    cache: &Cache,
    spec: &AssetSpec,
    file: &FileSpec,
    part: &Path,
    url: &str,
) -> Result<String> {
    let actual = sha256_file(part)?;
    let size = std::fs::metadata(part)?.len();
    let mut lock = UpstreamLock::load(cache.root())?;
    let lock_path = UpstreamLock::path(cache.root());
    let what = format!("{}/{} from {}", spec.name, file.path, http::redact(url));
    if let Some(expected) = &file.sha256 {
        if &actual != expected {
            let _ = std::fs::remove_file(part);
            bail!(
                "sha256 mismatch for {what}: the manifest expects {expected}, the download has {actual}; the file was not kept"
            );
        }
    } else if let Some(entry) = lock.get(&spec.name, &file.path) {
        if actual != entry.sha256 {
            let _ = std::fs::remove_file(part);
            bail!(
                "sha256 mismatch for {what}: the first download recorded {} in {}, this download has {actual}; the file was not kept. \
                 If the upstream file changed on purpose, delete the `{}` entry from that lock file (or the whole file) and rerun",
                entry.sha256,
                lock_path.display(),
                UpstreamLock::key(&spec.name, &file.path)
            );
        }
    } else {
        lock.record(
            &spec.name,
            &file.path,
            LockEntry {
                sha256: actual.clone(),
                size,
                url: http::redact(url),
            },
        );
        lock.save(cache.root())?;
        println!(
            "fetch-data: {}/{}: no published sha256; trusting this first download and recording {actual} in {}",
            spec.name,
            file.path,
            lock_path.display()
        );
    }
    Ok(actual)
}

/// Moves a verified file into place (synced, then renamed: never a torn file in the cache).
fn install(ready: &Path, target: &Path) -> Result<()> {
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::File::open(ready)?.sync_all()?;
    std::fs::rename(ready, target)
        .with_context(|| format!("cannot move {} into place", target.display()))
}

/// Unpacks into a staging folder inside the cache, renames the kept folder into place, and
/// only then writes the completion stamp: an interrupted unpack never looks complete.
fn unpack_into_cache(
    cache: &Cache,
    spec: &AssetSpec,
    file: &FileSpec,
    archive_path: &Path,
    format: ft_assets::Unpack,
    archive_sha256: &str,
) -> Result<()> {
    let staging: PathBuf =
        cache
            .root()
            .join(".staging")
            .join(format!("{}-{}", spec.name, std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let result = (|| {
        std::fs::create_dir_all(&staging)?;
        println!("fetch-data: {}: unpacking {}", spec.name, file.from);
        let report = archive::unpack(
            archive_path,
            format,
            &file.path,
            &staging,
            file.skip_corrupt_images,
        )?;
        let unpacked = staging.join(&file.path);
        if !unpacked.is_dir() {
            bail!(
                "{} has no `{}` folder: the archive does not look like the manifest says",
                file.from,
                file.path
            );
        }
        let stamp_path = cache.stamp_path(spec, file);
        let target = cache.asset_dir(spec).join(&file.path);
        // The stamp goes first: from here on the old folder no longer counts as complete.
        let _ = std::fs::remove_file(&stamp_path);
        if target.exists() {
            std::fs::remove_dir_all(&target)
                .with_context(|| format!("cannot remove the old {}", target.display()))?;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::rename(&unpacked, &target)
            .with_context(|| format!("cannot move the unpacked folder to {}", target.display()))?;
        let stamp = UnpackStamp {
            archive_sha256: archive_sha256.to_string(),
            files: report.files,
            skipped: report.skipped.clone(),
        };
        let tmp = staging.join("stamp.json");
        std::fs::write(&tmp, serde_json::to_string_pretty(&stamp)?)?;
        std::fs::rename(&tmp, &stamp_path)
            .with_context(|| format!("cannot write {}", stamp_path.display()))?;
        if report.skipped.is_empty() {
            println!("fetch-data: {}: {} files unpacked", spec.name, report.files);
        } else {
            println!(
                "fetch-data: {}: {} files unpacked, {} corrupt image(s) skipped (empty or not JPEG; listed in {})",
                spec.name,
                report.files,
                report.skipped.len(),
                stamp_path.display()
            );
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&staging);
    result
}

#[cfg(test)]
mod tests;
