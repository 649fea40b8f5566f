//! Layer groups: the unit of freezing, of layer-wise learning rates and of train/eval mode.

/// A named slice of a model, bottom to top, owning the variables whose names start with one of
/// its prefixes (e.g. `bert.encoder.layer.3.`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerGroup {
    pub name: String,
    pub prefixes: Vec<String>,
}

impl LayerGroup {
    pub fn new(name: impl Into<String>, prefixes: &[&str]) -> LayerGroup {
        LayerGroup {
            name: name.into(),
            prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
        }
    }

    /// Whether variable `name` belongs to this group.
    pub fn owns(&self, name: &str) -> bool {
        self.prefixes.iter().any(|p| name.starts_with(p.as_str()))
    }
}

/// Train (true) or eval (false) mode per layer group, indexed like the model's groups.
///
/// A frozen group must keep dropout off and BatchNorm statistics fixed while the groups above
/// it train; one model-wide flag cannot express that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupModes(Vec<bool>);

impl GroupModes {
    /// Every group in the same mode.
    pub fn all(groups: usize, train: bool) -> GroupModes {
        GroupModes(vec![train; groups])
    }

    /// Modes from an explicit per-group list.
    pub fn from_vec(modes: Vec<bool>) -> GroupModes {
        GroupModes(modes)
    }

    /// Whether group `index` trains; groups past the end count as eval.
    pub fn is_train(&self, index: usize) -> bool {
        self.0.get(index).copied().unwrap_or(false)
    }

    pub fn set(&mut self, index: usize, train: bool) {
        if index >= self.0.len() {
            self.0.resize(index + 1, false);
        }
        self.0[index] = train;
    }

    pub fn as_slice(&self) -> &[bool] {
        &self.0
    }
}
