//! What keeps a CPU run's numbers the same from one process to the next, which exact resume
//! needs: a run resumed in a new process must compute what the uninterrupted one did.
//!
//! libtorch's matrix products go through MKL, whose *dynamic* threading (on by default) may run
//! a product on fewer threads than asked when the machine is busy. A product split another way
//! sums in another order, so a resumed run on a loaded machine drifted from the uninterrupted
//! one in the last bits (seen in `cargo test` runs, where test processes compete for 2 cores).
//! With dynamic threading off, MKL always uses its full thread count, as on an idle machine:
//! the numbers do not change, they only stop depending on the load.
//!
//! MKL reads `MKL_DYNAMIC` when libtorch first calls it, so a program sets `MKL_DYNAMIC=FALSE`
//! before its first tensor operation ([`pin_env`]; the `ft` binary does, first thing), which
//! is what made resumed runs bitwise again in our tests. [`pin_cpu_threads`], called by
//! `Trainer::new`, also turns it off through MKL's own call for programs that did not.
use std::sync::OnceLock;

/// Sets `MKL_DYNAMIC=FALSE` unless the environment already says otherwise. Call it at the start
/// of `main`, before any other thread exists and before the first tensor operation.
pub fn pin_env() {
    if std::env::var_os("MKL_DYNAMIC").is_none() {
        std::env::set_var("MKL_DYNAMIC", "FALSE");
    }
}

/// Turns MKL's dynamic threading off, once per process, when the libtorch in use has MKL;
/// returns whether it has. Looked up at run time: builds without MKL (ARM, say) have nothing
/// to turn off.
pub fn pin_cpu_threads() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| {
        // `MKL_Set_Dynamic(int)` is the C function behind MKL's `mkl_set_dynamic` macro; the
        // lower-case symbol is the Fortran interface, which takes a pointer.
        // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads the loaded
        // libraries' symbol tables, and the symbol found has that C signature.
        unsafe {
            let symbol = libc::dlsym(libc::RTLD_DEFAULT, c"MKL_Set_Dynamic".as_ptr());
            if symbol.is_null() {
                return false;
            }
            let set_dynamic: extern "C" fn(libc::c_int) = std::mem::transmute(symbol);
            set_dynamic(0);
            true
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_x86_libtorch_has_mkl_and_its_dynamic_threading_is_pinned() {
        let found = super::pin_cpu_threads();
        // PyPI's x86-64 torch links MKL; its ARM builds do not.
        assert_eq!(found, cfg!(target_arch = "x86_64"));
        // A second call is free and says the same.
        assert_eq!(super::pin_cpu_threads(), found);
    }
}
