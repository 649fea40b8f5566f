//! One AdamW step over BERT-base's parameter shapes (110M float32 parameters), the `adamw-step`
//! case: ms per step (median of 10 after 2 warm-up steps). Its twin is `python/adamw_step.py`
//! (torch.optim.AdamW, foreach and fused).
use ft_optim::groups::ParamGroup;
use ft_optim::optimizer::{AdamW, AdamWConfig, Optimizer};
use std::time::Instant;
use tch::{Device, Kind, Tensor};

/// BERT-base (hidden 768, 12 layers, intermediate 3072, vocab 30522) plus a 2-label head.
fn bert_base_shapes() -> Vec<(String, Vec<i64>)> {
    let (h, i, layers) = (768, 3072, 12);
    let mut s: Vec<(String, Vec<i64>)> = vec![
        ("embeddings.word".into(), vec![30522, h]),
        ("embeddings.position".into(), vec![512, h]),
        ("embeddings.token_type".into(), vec![2, h]),
        ("embeddings.LayerNorm.weight".into(), vec![h]),
        ("embeddings.LayerNorm.bias".into(), vec![h]),
    ];
    for l in 0..layers {
        let p = format!("layer.{l}");
        for m in ["query", "key", "value", "attention.output"] {
            s.push((format!("{p}.{m}.weight"), vec![h, h]));
            s.push((format!("{p}.{m}.bias"), vec![h]));
        }
        s.push((format!("{p}.attention.LayerNorm.weight"), vec![h]));
        s.push((format!("{p}.attention.LayerNorm.bias"), vec![h]));
        s.push((format!("{p}.intermediate.weight"), vec![i, h]));
        s.push((format!("{p}.intermediate.bias"), vec![i]));
        s.push((format!("{p}.output.weight"), vec![h, i]));
        s.push((format!("{p}.output.bias"), vec![h]));
        s.push((format!("{p}.output.LayerNorm.weight"), vec![h]));
        s.push((format!("{p}.output.LayerNorm.bias"), vec![h]));
    }
    s.push(("pooler.weight".into(), vec![h, h]));
    s.push(("pooler.bias".into(), vec![h]));
    s.push(("classifier.weight".into(), vec![2, h]));
    s.push(("classifier.bias".into(), vec![2]));
    s
}

fn main() {
    ft_bench::init_threads();
    tch::manual_seed(0);
    let params: Vec<(String, Tensor)> = bert_base_shapes()
        .into_iter()
        .map(|(n, shape)| {
            let p = (Tensor::randn(shape.as_slice(), (Kind::Float, Device::Cpu)) * 0.02)
                .set_requires_grad(true);
            (n, p)
        })
        .collect();
    let count: i64 = params.iter().map(|(_, p)| p.numel() as i64).sum();
    for (_, p) in &params {
        (p * 1e-3).sum(Kind::Float).backward();
    }
    let groups = [ParamGroup {
        name: "all".into(),
        params,
        lr_scale: 1.0,
        weight_decay: 0.01,
    }];
    let mut opt = AdamW::new(AdamWConfig::default());
    for _ in 0..2 {
        opt.step(&groups, 1e-4).unwrap();
    }
    let mut times: Vec<f64> = (0..10)
        .map(|_| {
            let start = Instant::now();
            opt.step(&groups, 1e-4).unwrap();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ft_bench::emit(
        ft_bench::median(&mut times),
        serde_json::json!({ "params": count }),
    );
}
