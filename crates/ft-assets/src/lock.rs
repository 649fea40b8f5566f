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
        Self::from_slice(text.as_bytes(), &path)
    }

    /// Parses the bytes of a lock file; `path` names it in errors. Anything but a JSON object
    /// of entries with a 64-digit hex `sha256`, a `size` and a `url` is an error (never a
    /// panic), with a hint that deleting the file starts a fresh record.
    pub fn from_slice(bytes: &[u8], path: &Path) -> Result<UpstreamLock, AssetError> {
        let bad = |message: String| AssetError::Manifest {
            origin: path.display().to_string(),
            message: format!(
                "{message} (delete the file to start a fresh trust-on-first-use record)"
            ),
        };
        let lock: UpstreamLock = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if lock.schema != 1 {
            return Err(bad(format!("schema {} is not 1", lock.schema)));
        }
        for (key, entry) in &lock.files {
            let hex =
                entry.sha256.len() == 64 && entry.sha256.bytes().all(|b| b.is_ascii_hexdigit());
            if !hex {
                return Err(bad(format!(
                    "entry `{}`: sha256 is not 64 hex digits",
                    key.chars().take(80).collect::<String>()
                )));
            }
        }
        Ok(lock)
    }

    /// Writes the lock atomically (temp file, fsync, rename): a crash never leaves half a lock.
    pub fn save(&self, root: &Path) -> Result<(), AssetError> {
        let path = Self::path(root);
        let tmp = root.join(format!(".{LOCK_FILE}.{}.tmp", std::process::id()));
        let json = serde_json::to_string_pretty(self).expect("a lock always serializes");
        let result = (|| {
            std::fs::create_dir_all(root)?;
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(json.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            drop(file);
            std::fs::rename(&tmp, &path)
        })();
        if result.is_err() {
            // Never leave a half-written temporary file behind.
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(|source| AssetError::Write { path, source })
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

    #[test]
    fn garbage_is_an_error_never_a_panic() {
        let p = Path::new("upstream.lock.json");
        for bad in [
            &b""[..],
            b"\xff\xfe",
            b"\"text\"",
            b"{\"schema\": 2}",
            b"{\"files\": {\"a/b\": {\"sha256\": \"zz\", \"size\": 1, \"url\": \"u\"}}}",
            b"{\"files\": {\"a/b\": {\"sha256\": 5}}}",
            b"{\"files\": 7}",
        ] {
            let err = UpstreamLock::from_slice(bad, p).unwrap_err().to_string();
            assert!(err.contains(LOCK_FILE), "{err}");
        }
        let ok = format!(
            "{{\"files\": {{\"a/b\": {{\"sha256\": \"{}\", \"size\": 1, \"url\": \"u\"}}}}}}",
            "ab".repeat(32)
        );
        assert_eq!(
            UpstreamLock::from_slice(ok.as_bytes(), p)
                .unwrap()
                .files
                .len(),
            1
        );
    }
}
