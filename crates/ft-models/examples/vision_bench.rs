//! Milliseconds per training step (forward, cross-entropy, backward) of ResNet-50 at batch 8,
//! 224x224, every group in train mode, on the CPU.
//!
//! `cargo run -p ft-models --example vision_bench [threads] [steps] [batch] [infer]`
//!
//! The torchvision figure to compare with, on the same threads:
//! ```text
//! .venv/bin/python -c "import torch,torchvision,time; torch.set_num_threads(2); \
//!   m=torchvision.models.resnet50(num_classes=2).train(); x=torch.randn(8,3,224,224); \
//!   y=torch.zeros(8,dtype=torch.long); step=lambda: torch.nn.functional.cross_entropy(m(x),y).backward(); \
//!   step(); t=time.time(); [step() for _ in range(3)]; print((time.time()-t)/3*1000,'ms')"
//! ```
use ft_models::vision::{ResNetConfig, VisionModel};
use ft_models::GroupModes;
use std::time::Instant;
use tch::{nn::VarStore, Kind, Reduction, Tensor};

fn main() -> Result<(), ft_models::ModelError> {
    let mut args = std::env::args().skip(1);
    let threads: i32 = args.next().map_or(2, |a| a.parse().expect("threads"));
    let steps: u32 = args.next().map_or(3, |a| a.parse().expect("steps"));
    let batch: i64 = args.next().map_or(8, |a| a.parse().expect("batch"));
    let infer = args.next().is_some_and(|a| a == "infer");
    tch::set_num_threads(threads);
    let vs = VarStore::new(tch::Device::Cpu);
    let model = VisionModel::new(&vs.root(), &ResNetConfig::new(50, 2).into())?;
    let modes = GroupModes::all(model.layer_groups().len(), true);
    let x = Tensor::randn([batch, 3, 224, 224], (Kind::Float, tch::Device::Cpu));
    let y = Tensor::zeros([batch], (Kind::Int64, tch::Device::Cpu));
    let eval = GroupModes::all(model.layer_groups().len(), false);
    let step = || {
        if infer {
            let _ = tch::no_grad(|| model.forward(&x, &eval));
            return;
        }
        let loss = model.forward(&x, &modes).cross_entropy_loss::<Tensor>(
            &y,
            None,
            Reduction::Mean,
            -100,
            0.0,
        );
        loss.backward();
    };
    step();
    let start = Instant::now();
    for _ in 0..steps {
        step();
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(steps);
    let what = if infer {
        "eval forward"
    } else {
        "forward+backward"
    };
    println!("resnet50 batch {batch} @224, {threads} threads: {ms:.0} ms per {what}");
    Ok(())
}
