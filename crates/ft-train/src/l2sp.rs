//! L2-SP as a callback: a once-per-step penalty pulling the weights toward those the run started
//! from. Its anchors are the weights when the callback is made — the pretrained ones, which the
//! job has just loaded — so a resume, which replaces them with a checkpoint's, keeps them.
use crate::callback::{Callback, Context};
use anyhow::Result;
use ft_optim::l2sp::L2Sp;
use tch::Tensor;

pub struct L2SpCallback(pub L2Sp);

impl Callback for L2SpCallback {
    fn name(&self) -> &str {
        "l2sp"
    }

    fn step_loss(&mut self, _: &Context) -> Result<Option<Tensor>> {
        Ok(Some(self.0.penalty()))
    }
}
