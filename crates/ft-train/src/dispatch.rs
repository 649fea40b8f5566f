//! The loop's side of its callbacks: dispatching an event to every callback in order and
//! handing on the messages they queue, the callbacks' parameters as optimizer groups, their
//! state into and out of checkpoints, and the second training loader's batches.
use crate::batch::TensorBatch;
use crate::callback::{Callback, CallbackState, Level};
use crate::checkpoint::{TrainerState, CALLBACKS_FILE};
use anyhow::{bail, Context as _, Result};
use ft_data::{BatchIter, Loader};
use ft_optim::groups::ParamGroup;
use std::cell::RefCell;
use std::path::Path;
use tch::{Device, Tensor};

/// The callbacks' JSON state by name, and their parameters and tensors as `<callback>.<name>`.
pub(crate) type SavedCallbacks = (
    std::collections::BTreeMap<String, serde_json::Value>,
    Vec<(String, Tensor)>,
);

/// The callbacks of one `fit`, with the messages they and the loop queue for them.
pub(crate) struct Callbacks<'a, 'm> {
    pub(crate) list: Vec<Box<dyn Callback + 'a>>,
    pub(crate) messages: &'m RefCell<Vec<(Level, String)>>,
}

impl Callbacks<'_, '_> {
    /// Calls `event` on every callback in order, then hands the messages it queued to all.
    pub(crate) fn each(
        &mut self,
        mut event: impl FnMut(&mut dyn Callback) -> Result<()>,
    ) -> Result<()> {
        for cb in &mut self.list {
            event(cb.as_mut())?;
        }
        self.flush();
        Ok(())
    }

    pub(crate) fn flush(&mut self) {
        let queued = std::mem::take(&mut *self.messages.borrow_mut());
        for (level, text) in queued {
            for cb in &mut self.list {
                cb.on_message(level, &text);
            }
        }
    }

    /// Each callback's parameters as one optimizer group (`callback:<name>`), named
    /// `<callback>.<parameter>`.
    pub(crate) fn param_groups(&self, weight_decay: f64) -> Vec<ParamGroup> {
        self.list
            .iter()
            .filter_map(|cb| {
                let mut params: Vec<(String, Tensor)> = cb
                    .parameters()
                    .into_iter()
                    .map(|(n, p)| (format!("{}.{n}", cb.name()), p))
                    .collect();
                params.sort_by(|a, b| a.0.cmp(&b.0));
                (!params.is_empty()).then(|| ParamGroup {
                    name: format!("callback:{}", cb.name()),
                    params,
                    lr_scale: 1.0,
                    weight_decay,
                })
            })
            .collect()
    }

    /// What a checkpoint keeps of the callbacks: JSON by name, and their parameters and tensor
    /// state as `<callback>.<name>`.
    pub(crate) fn save_state(&self) -> Result<SavedCallbacks> {
        let mut json = std::collections::BTreeMap::new();
        let mut tensors = Vec::new();
        for cb in &self.list {
            let name = cb.name();
            for (n, p) in cb.parameters() {
                tensors.push((format!("{name}.{n}"), p.detach().copy()));
            }
            if let Some(state) = cb.state()? {
                json.insert(name.to_string(), state.json);
                for (n, t) in state.tensors {
                    tensors.push((format!("{name}.{n}"), t));
                }
            }
        }
        Ok((json, tensors))
    }

    /// Puts back what [`Callbacks::save_state`] saved in the checkpoint `dir`.
    pub(crate) fn restore(&mut self, dir: &Path, state: &mut TrainerState) -> Result<()> {
        let file = dir.join(CALLBACKS_FILE);
        let mut tensors: Vec<(String, Tensor)> = if file.is_file() {
            ft_models::st::read(&file)?
        } else {
            Vec::new()
        };
        for cb in &mut self.list {
            let prefix = format!("{}.", cb.name());
            let mut mine: Vec<(String, Tensor)> = Vec::new();
            tensors.retain(|(n, t)| match n.strip_prefix(&prefix) {
                Some(rest) => {
                    mine.push((rest.to_string(), t.shallow_clone()));
                    false
                }
                None => true,
            });
            for (n, p) in cb.parameters() {
                let Some(i) = mine.iter().position(|(m, _)| *m == n) else {
                    bail!(
                        "{} has no `{prefix}{n}`, a parameter of the `{}` callback",
                        file.display(),
                        cb.name()
                    );
                };
                let (_, saved) = mine.remove(i);
                let mut p = p;
                if p.size() != saved.size() {
                    bail!(
                        "{}: `{prefix}{n}` has shape {:?}, the callback's parameter {:?}",
                        file.display(),
                        saved.size(),
                        p.size()
                    );
                }
                tch::no_grad(|| p.copy_(&saved));
            }
            let json = state.callbacks.remove(cb.name());
            if json.is_some() || !mine.is_empty() {
                cb.load_state(CallbackState {
                    json: json.unwrap_or_default(),
                    tensors: mine,
                })
                .with_context(|| {
                    format!(
                        "restoring the `{}` callback from {}",
                        cb.name(),
                        dir.display()
                    )
                })?;
            }
        }
        state.callbacks.clear();
        Ok(())
    }
}

/// The second training loader's batches, one per micro-batch, epoch after epoch.
pub(crate) struct Second<'l> {
    pub(crate) loader: &'l Loader,
    pub(crate) epoch: usize,
    pub(crate) done: usize,
    pub(crate) iter: Option<BatchIter>,
}

impl<'l> Second<'l> {
    pub(crate) fn next(&mut self, device: Device) -> Result<TensorBatch> {
        for _ in 0..2 {
            let iter = self
                .iter
                .get_or_insert_with(|| self.loader.epoch_from(self.epoch as u64, self.done));
            if let Some(host) = iter.next() {
                self.done += 1;
                return TensorBatch::from_host(&host?, device);
            }
            self.iter = None;
            self.epoch += 1;
            self.done = 0;
        }
        bail!("the second training loader yields no batch")
    }
}
