//! Which variables of a `VarStore` are parameters (as opposed to buffers).
//!
//! tch keeps BatchNorm running statistics in the same store as the weights, marked "not
//! trainable" at creation. Freezing must never turn `requires_grad` on for such a buffer, and
//! the optimizer must never see one, so everything here starts from the store's own trainable
//! list rather than from all named variables.
use std::collections::HashSet;
use tch::nn::VarStore;
use tch::Tensor;

/// The variables created as trainable (weights, biases), by name, sorted by name; whether
/// each currently requires a gradient is not considered.
pub fn parameters(vs: &VarStore) -> Vec<(String, Tensor)> {
    let vars = vs.variables_.lock().unwrap_or_else(|e| e.into_inner());
    // The trainable list holds shallow clones of the named tensors: the same TensorImpl, so the
    // same storage pointer. Matching on it is how the name of each trainable tensor is found.
    let trainable: HashSet<usize> = vars
        .trainable_variables
        .iter()
        .map(|v| identity(&v.tensor))
        .collect();
    let mut out: Vec<(String, Tensor)> = vars
        .named_variables
        .iter()
        .filter(|(_, t)| trainable.contains(&identity(t)))
        .map(|(n, t)| (n.clone(), t.shallow_clone()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The variables that currently require a gradient, sorted by name.
pub fn trainable_parameters(vs: &VarStore) -> Vec<(String, Tensor)> {
    parameters(vs)
        .into_iter()
        .filter(|(_, t)| t.requires_grad())
        .collect()
}

fn identity(t: &Tensor) -> usize {
    // `as_ptr` is the C++ tensor handle, which differs between shallow clones; the data pointer
    // is shared by them and unique per live variable (none of them are empty views).
    t.data_ptr() as usize
}
