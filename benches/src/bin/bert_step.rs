//! Full fine-tuning steps of a BERT-family sequence classifier (forward, loss, backward, AdamW),
//! the `minilm-step` and `bert-base-step` cases. Prints samples/s (median over the timed steps).
//!
//! Usage: bert_step MODEL BATCH SEQ STEPS [WARMUP=2], where MODEL is `minilm-l6` (real weights
//! from the cache) or a config.json path (random weights: speed does not depend on the values).
use anyhow::{Context, Result};
use ft_models::bert::{BertConfig, BertForTask, BertTask};
use ft_models::GroupModes;
use ft_optim::groups::{param_groups, GroupConfig};
use ft_optim::optimizer::{AdamW, AdamWConfig, Optimizer};
use std::path::Path;
use std::time::Instant;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

fn main() -> Result<()> {
    let threads = ft_bench::init_threads();
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or(default.into());
    let model = arg(1, "minilm-l6");
    let (batch, seq, steps): (i64, i64, usize) = (
        arg(2, "16").parse()?,
        arg(3, "128").parse()?,
        arg(4, "10").parse()?,
    );
    tch::manual_seed(0);
    let vs = VarStore::new(Device::Cpu);
    let (config, weights) = if Path::new(&model).is_file() {
        (BertConfig::from_file(Path::new(&model))?, None)
    } else {
        let dir = ft_data::assets::Cache::from_env()
            .resolve(&model)
            .with_context(|| format!("model {model}"))?;
        (
            BertConfig::from_dir(&dir)?,
            Some(dir.join("model.safetensors")),
        )
    };
    let net = BertForTask::new(
        &vs.root(),
        &config,
        BertTask::SequenceClassification { num_labels: 2 },
    )?;
    if let Some(w) = weights {
        net.load_pretrained(&vs, &w)?;
    }
    let groups = param_groups(
        &vs,
        net.layer_groups(),
        &GroupConfig {
            weight_decay: 0.01,
            ..GroupConfig::default()
        },
    );
    let mut opt = AdamW::new(AdamWConfig::default());
    let modes = GroupModes::all(net.layer_groups().len(), true);
    let ids = Tensor::randint_low(1000, 30000, [batch, seq], (Kind::Int64, Device::Cpu));
    let mask = Tensor::ones([batch, seq], (Kind::Int64, Device::Cpu));
    let labels = Tensor::randint(2, [batch], (Kind::Int64, Device::Cpu));
    let mut step = || -> Result<f64> {
        let t = Instant::now();
        let logits = net.forward(&ids, Some(&mask), None, &modes);
        net.loss(&logits, &labels).backward();
        opt.step(&groups, 2e-5)?;
        opt.zero_grad(&groups);
        Ok(t.elapsed().as_secs_f64())
    };
    let warmup: usize = arg(5, "2").parse()?;
    for _ in 0..warmup {
        step()?;
    }
    let mut times = (0..steps).map(|_| step()).collect::<Result<Vec<f64>>>()?;
    let s = ft_bench::median(&mut times);
    let params: i64 = vs.variables().values().map(|t| t.numel() as i64).sum();
    ft_bench::emit(
        batch as f64 / s,
        serde_json::json!({"step_s": s, "params": params, "threads": threads}),
    );
    Ok(())
}
