//! The asset cache: where pretrained weights and datasets live on disk, and how a short name
//! such as `minilm-l6` or `rotten-tomatoes` resolves to a folder.
//!
//! `cargo xtask fetch-data` fills the cache from the manifest in `datasets/manifest.json`
//! (embedded here, so the `ft` binary knows every asset without reading the repository);
//! this module is the read side that the binary, the tests and xtask share.
//!
//! Layout: `$FT_HOME/models/<name>/...` and `$FT_HOME/datasets/<name>/...`, with `FT_HOME`
//! defaulting to `~/.cache/ft`.
//!
//! ```no_run
//! let cache = ft_data::assets::Cache::from_env();
//! let dir = cache.resolve("minilm-l6")?; // errors with "run `cargo xtask fetch-data minilm-l6`"
//! println!("{}", dir.join("tokenizer.json").display());
//! # Ok::<(), ft_data::assets::AssetError>(())
//! ```
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

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
/// machine can reach. Each variant names an exact, pinned version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A wheel from the Python package index, fetched with `pip download --no-deps`.
    Pypi { package: String, version: String },
    /// A Debian package, fetched with `apt-get download` and unpacked with `dpkg -x`.
    Debian { package: String, version: String },
}

impl Source {
    /// `package==version` (pip) or `package=version` (apt), as the client spells a pin.
    pub fn pinned(&self) -> String {
        match self {
            Source::Pypi { package, version } => format!("{package}=={version}"),
            Source::Debian { package, version } => format!("{package}={version}"),
        }
    }
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
    /// Path inside the asset's cache folder.
    pub path: String,
    /// Path inside the source package.
    pub from: String,
    /// sha256 of the cached file (after conversion, if any).
    pub sha256: String,
    /// Size in bytes of the cached file, for `--list` and disk planning.
    pub size: u64,
    /// sha256 of the extracted file before conversion; required when `convert` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convert: Option<Convert>,
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
                if !is_sha256_hex(&file.sha256) {
                    return Err(bad(format!(
                        "{where_}: sha256 must be 64 lowercase hex digits"
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

    /// The folder of a fetched asset. Cheap: checks that every file exists, not its hash
    /// (`cargo xtask fetch-data` verifies hashes); a missing file says how to fetch it.
    pub fn resolve(&self, name: &str) -> Result<PathBuf, AssetError> {
        let spec = self.manifest.get(name)?;
        let dir = self.asset_dir(spec);
        for file in &spec.files {
            let path = dir.join(&file.path);
            if !path.is_file() {
                return Err(AssetError::NotFetched {
                    name: name.to_string(),
                    missing: path,
                });
            }
        }
        Ok(dir)
    }

    /// Hashes every file of an asset and reports each one's state.
    pub fn check(&self, spec: &AssetSpec) -> Result<Vec<(FileSpec, FileState)>, AssetError> {
        let dir = self.asset_dir(spec);
        spec.files
            .iter()
            .map(|file| {
                let path = dir.join(&file.path);
                let state = if !path.is_file() {
                    FileState::Missing
                } else {
                    let actual = sha256_file(&path)?;
                    if actual == file.sha256 {
                        FileState::Valid
                    } else {
                        FileState::Corrupt {
                            actual_sha256: actual,
                        }
                    }
                };
                Ok((file.clone(), state))
            })
            .collect()
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
