//! The trust-on-first-use lock file: `$FT_HOME/upstream.lock.json`.
//!
//! Some upstream files (weights on the model hub) have no sha256 published anywhere we can
//! check from here. For those, the manifest leaves `sha256` out; the first download records
//! the hash it saw in this file, and every later download (and every cache check) must match
//! it. Deleting an entry (or the whole file) accepts whatever the next download brings.
//!
//! ```json
//! {"schema": 1, "files": {"gpt2/model.safetensors":
//!     {"sha256": "…", "size": 548105171, "url": "https://…/gpt2/resolve/main/model.safetensors"}}}
//! ```
use super::AssetError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// File name of the lock file inside the cache root.
pub const LOCK_FILE: &str = "upstream.lock.json";

/// What the first download of one file recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockEntry {
    pub sha256: String,
    pub size: u64,
    /// Where it came from, with any credentials stripped; informative only.
    pub url: String,
}

/// Recorded hashes, keyed by `asset/path` (not by URL, so a mirror serves the same entry).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamLock {
    #[serde(default = "schema_one")]
    pub schema: u32,
    #[serde(default)]
    pub files: BTreeMap<String, LockEntry>,
}

fn schema_one() -> u32 {
    1
}

impl UpstreamLock {
    /// Where the lock file of a cache root lives.
    pub fn path(root: &Path) -> PathBuf {
        root.join(LOCK_FILE)
    }

    /// The lock of a cache root; an absent file is an empty lock.
    pub fn load(root: &Path) -> Result<UpstreamLock, AssetError> {
        let path = Self::path(root);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(UpstreamLock {
                    schema: 1,
                    files: BTreeMap::new(),
                })
            }
            Err(source) => return Err(AssetError::Io { path, source }),
        };
        serde_json::from_str(&text).map_err(|e| AssetError::Manifest {
            origin: path.display().to_string(),
            message: format!("{e} (delete the file to start a fresh trust-on-first-use record)"),
        })
    }

    /// Writes the lock atomically (temp file, fsync, rename): a crash never leaves half a lock.
    pub fn save(&self, root: &Path) -> Result<(), AssetError> {
        let path = Self::path(root);
        let tmp = root.join(format!(".{LOCK_FILE}.{}.tmp", std::process::id()));
        let io = |source| AssetError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(root).map_err(io)?;
        let json = serde_json::to_string_pretty(self).expect("a lock always serializes");
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(json.as_bytes()).map_err(io)?;
        file.write_all(b"\n").map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }

    /// The key of one file of one asset.
    pub fn key(asset: &str, path: &str) -> String {
        format!("{asset}/{path}")
    }

    pub fn get(&self, asset: &str, path: &str) -> Option<&LockEntry> {
        self.files.get(&Self::key(asset, path))
    }

    pub fn record(&mut self, asset: &str, path: &str, entry: LockEntry) {
        self.files.insert(Self::key(asset, path), entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_absent_file_is_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let mut lock = UpstreamLock::load(tmp.path()).unwrap();
        assert!(lock.files.is_empty());
        lock.record(
            "gpt2",
            "model.safetensors",
            LockEntry {
                sha256: "a".repeat(64),
                size: 7,
                url: "https://example.test/x".into(),
            },
        );
        lock.save(tmp.path()).unwrap();
        let again = UpstreamLock::load(tmp.path()).unwrap();
        assert_eq!(again, lock);
        assert_eq!(again.get("gpt2", "model.safetensors").unwrap().size, 7);
    }

    #[test]
    fn a_broken_lock_names_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(UpstreamLock::path(tmp.path()), "{not json").unwrap();
        let err = UpstreamLock::load(tmp.path()).unwrap_err().to_string();
        assert!(err.contains(LOCK_FILE), "{err}");
    }
}
