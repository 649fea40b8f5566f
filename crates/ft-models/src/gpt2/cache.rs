//! The key/value cache of incremental decoding.
use tch::Tensor;

/// One layer's cached keys and values, `[B, heads, past, head_dim]` each.
#[derive(Default)]
pub struct LayerCache {
    kv: Option<(Tensor, Tensor)>,
}

impl LayerCache {
    /// Appends this step's keys and values and returns the whole sequence's.
    pub(crate) fn append(&mut self, k: Tensor, v: Tensor) -> (Tensor, Tensor) {
        let (k, v) = match self.kv.take() {
            Some((pk, pv)) => (Tensor::cat(&[pk, k], 2), Tensor::cat(&[pv, v], 2)),
            None => (k, v),
        };
        self.kv = Some((k.shallow_clone(), v.shallow_clone()));
        (k, v)
    }

    fn len(&self) -> i64 {
        self.kv.as_ref().map(|(k, _)| k.size()[2]).unwrap_or(0)
    }
}

/// Keys and values of every layer for the tokens seen so far, so that generating one more token
/// costs one token's forward pass instead of the whole sequence's.
///
/// Pass the same cache to successive [`super::Gpt2LMHeadModel::forward`] calls with only the new
/// tokens; positions continue from [`KvCache::len`].
pub struct KvCache {
    pub(crate) layers: Vec<LayerCache>,
}

impl KvCache {
    /// An empty cache for a model of `n_layer` blocks.
    pub fn new(n_layer: usize) -> KvCache {
        KvCache {
            layers: (0..n_layer).map(|_| LayerCache::default()).collect(),
        }
    }

    /// Tokens cached so far.
    pub fn len(&self) -> i64 {
        self.layers.first().map(LayerCache::len).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every cached token.
    pub fn clear(&mut self) {
        for layer in &mut self.layers {
            layer.kv = None;
        }
    }
}
