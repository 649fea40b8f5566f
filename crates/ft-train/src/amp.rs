//! Mixed precision: fp16 autocast on CUDA with a dynamic loss scaler, as `torch.cuda.amp`.
//!
//! fp16 gradients underflow unless the loss is multiplied by a large scale before `backward`;
//! the gradients are divided by it again before the optimizer sees them. A step whose gradients
//! overflowed is skipped and the scale halved; after `growth_interval` clean steps it doubles.
use crate::args::TrainingArgs;
use anyhow::{bail, Result};
use tch::Device;

/// Checks the precision flags against the device, with the message a user needs.
pub fn check(args: &TrainingArgs, device: Device) -> Result<()> {
    if args.bf16 {
        bail!("bf16 autocast is not reachable through tch 0.26 (its autocast is fp16-only): use --fp16 on CUDA, or neither");
    }
    if args.fp16 && !device.is_cuda() {
        bail!("--fp16 mixed precision runs on CUDA only, and this run's device is the CPU: drop --fp16 (CPU training is fp32) or use --device cuda");
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct LossScaler {
    pub scale: f64,
    growth_interval: usize,
    clean_steps: usize,
}

impl Default for LossScaler {
    /// torch's defaults: 2^16, ×2 every 2000 clean steps, ×0.5 on overflow.
    fn default() -> Self {
        LossScaler {
            scale: 65536.0,
            growth_interval: 2000,
            clean_steps: 0,
        }
    }
}

impl LossScaler {
    /// Records the gradient norm of a step; returns whether the step may be applied.
    pub fn update(&mut self, grad_norm: f64) -> bool {
        if !grad_norm.is_finite() {
            self.scale *= 0.5;
            self.clean_steps = 0;
            return false;
        }
        self.clean_steps += 1;
        if self.clean_steps == self.growth_interval {
            self.scale *= 2.0;
            self.clean_steps = 0;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_halves_and_clean_steps_double_the_scale() {
        let mut s = LossScaler::default();
        assert!(!s.update(f64::INFINITY));
        assert!(!s.update(f64::NAN));
        assert_eq!(s.scale, 16384.0);
        for _ in 0..1999 {
            assert!(s.update(1.0));
        }
        assert_eq!(s.scale, 16384.0);
        assert!(s.update(1.0));
        assert_eq!(s.scale, 32768.0);
    }

    #[test]
    fn precision_flags_on_the_cpu_are_refused_with_a_reason() {
        let args = TrainingArgs {
            fp16: true,
            ..Default::default()
        };
        let err = check(&args, Device::Cpu).unwrap_err().to_string();
        assert!(err.contains("CUDA only") && err.contains("CPU"), "{err}");
        let args = TrainingArgs {
            bf16: true,
            ..Default::default()
        };
        assert!(check(&args, Device::Cpu)
            .unwrap_err()
            .to_string()
            .contains("bf16"));
        assert!(check(&TrainingArgs::default(), Device::Cpu).is_ok());
    }
}
