//! The VAE's additions to the loop, as one callback: the KL warm-up follows the global step,
//! training log records carry the loss terms, and each epoch leaves its sample and
//! reconstruction grids. The log terms' running window is checkpointed, so a resumed run logs
//! the same averages as one that was not interrupted.
use crate::vae::task::VaeTask;
use anyhow::{Context as _, Result};
use ft_train::callback::{Callback, CallbackState, Context, Control};
use serde_json::json;

pub struct VaeHooks<'t> {
    task: &'t VaeTask,
}

impl<'t> VaeHooks<'t> {
    pub fn new(task: &'t VaeTask) -> VaeHooks<'t> {
        VaeHooks { task }
    }
}

impl Callback for VaeHooks<'_> {
    fn name(&self) -> &str {
        "vae"
    }

    fn on_step_begin(&mut self, ctx: &Context) -> Result<()> {
        self.task.set_step(ctx.state.global_step);
        Ok(())
    }

    fn on_log(&mut self, _: &Context, record: &mut serde_json::Value) -> Result<()> {
        // Training records only: evaluations report their own terms.
        if record.get("loss").is_some() {
            for (name, value) in self.task.take_log_values() {
                record[name] = json!(value);
            }
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, ctx: &Context, _: &mut Control) -> Result<()> {
        self.task
            .write_grids(ctx.output_dir, &format!("epoch-{}", ctx.epoch + 1))
    }

    fn state(&self) -> Result<Option<CallbackState>> {
        let (r, k, n) = self.task.log_window();
        Ok(Some(CallbackState {
            json: json!({"log_window": [r, k, n]}),
            tensors: Vec::new(),
        }))
    }

    fn load_state(&mut self, state: CallbackState) -> Result<()> {
        let window: (f64, f64, f64) = serde_json::from_value(state.json["log_window"].clone())
            .context("the VAE callback's `log_window`")?;
        self.task.set_log_window(window);
        Ok(())
    }
}
