//! Build script shared by every crate whose binaries or tests link libtorch (`build = "../libtorch_link.rs"`).
//!
//! torch-sys links libtorch but adds no rpath to our executables, and rustc's default
//! `--as-needed` drops `libtorch.so` (the shim that pulls in `libtorch_cuda.so`) because no symbol
//! of it is referenced, which silently hides CUDA. So: an rpath to the resolved libtorch `lib/`
//! (the cache venv, not the checkout's `.venv` link, so binaries survive the checkout), and
//! `libtorch.so` kept as a needed library.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let Some(root) = std::env::var_os("LIBTORCH") else {
        return;
    };
    let lib = PathBuf::from(root).join("lib");
    let lib = std::fs::canonicalize(&lib).unwrap_or(lib);
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    println!(
        "cargo:rustc-link-arg=-Wl,--no-as-needed,-L{},-ltorch,--as-needed",
        lib.display()
    );
}
