//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// `$FT_HOME`, else `~/.cache/ft`: where `cargo xtask fetch-data` puts models and datasets.
pub fn ft_home() -> PathBuf {
    match std::env::var_os("FT_HOME").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
            .join(".cache/ft"),
    }
}

/// The asset file, or `None` after printing why the test is skipped.
pub fn asset(rel: &str) -> Option<PathBuf> {
    let p = ft_home().join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "SKIP: {} is absent (run `cargo xtask fetch-data`)",
            p.display()
        );
        None
    }
}
