//! Shared by the integration tests: PyTorch reference values generated at test time by the
//! committed `optim_reference.py`, cached under `target/ft-refs/` by the hash of the script.
#![allow(dead_code)]
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use tch::Tensor;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// FNV-1a: a stable key for the cache (std's hasher may change between Rust releases).
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// The reference tensors by name (generated once per script version, then read from the cache).
pub fn reference() -> &'static HashMap<String, Tensor> {
    static CACHE: OnceLock<Refs> = OnceLock::new();
    &CACHE.get_or_init(|| Refs(load())).0
}

struct Refs(HashMap<String, Tensor>);
// tch::Tensor is Send but not Sync. The map is never mutated after creation and the tests only
// take shallow clones (`get`), whose refcounting libtorch makes thread-safe.
unsafe impl Sync for Refs {}

fn load() -> HashMap<String, Tensor> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/optim_reference.py");
    let text = std::fs::read(&script).expect("reading optim_reference.py");
    let dir = workspace_root()
        .join("target/ft-refs")
        .join(format!("optim_reference-{:016x}", fnv(&text)));
    let out = dir.join("ref.safetensors");
    // One process per test binary, several test threads: the OnceLock runs this once per
    // binary, and the rename makes concurrent binaries safe.
    if !out.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let tmp = dir.join(format!("ref.safetensors.tmp{}", std::process::id()));
        let python = workspace_root().join(".venv/bin/python");
        let result = Command::new(&python)
            .arg(&script)
            .arg(&tmp)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "running {} (run `cargo xtask setup`): {e}",
                    python.display()
                )
            });
        assert!(
            result.status.success(),
            "optim_reference.py failed:\n{}{}",
            String::from_utf8_lossy(&result.stdout),
            String::from_utf8_lossy(&result.stderr)
        );
        std::fs::rename(&tmp, &out).unwrap();
    }
    ft_models::st::read(&out).unwrap().into_iter().collect()
}

/// One reference tensor (a shallow clone).
pub fn get(name: &str) -> Tensor {
    reference()
        .get(name)
        .unwrap_or_else(|| panic!("reference `{name}` missing"))
        .shallow_clone()
}

/// `max|a − b| / max|b|` (max|b| floored at 1e-12): the relative difference the tests bound.
pub fn rel_diff(a: &Tensor, b: &Tensor) -> f64 {
    let a = a.to_kind(tch::Kind::Double);
    let b = b.to_kind(tch::Kind::Double);
    let diff = (&a - &b).abs().max().double_value(&[]);
    let scale = b.abs().max().double_value(&[]).max(1e-12);
    diff / scale
}

/// A tiny BERT with a fresh head, initialised from `seed`. The seed is process-wide and tests run
/// on parallel threads: the lock is held while the initialisation draws its random numbers.
pub fn tiny_bert(seed: i64, num_labels: i64) -> (tch::nn::VarStore, ft_models::bert::BertForTask) {
    use ft_models::bert::{BertConfig, BertForTask, BertTask};
    static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = INIT.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed(seed);
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let task = BertTask::SequenceClassification { num_labels };
    let model = BertForTask::new(&vs.root(), &BertConfig::tiny(), task).unwrap();
    (vs, model)
}
