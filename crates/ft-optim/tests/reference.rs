//! ft-optim against PyTorch: optimizer steps, schedules, losses and clipping equal the values
//! `optim_reference.py` computes with torch.optim / transformers / torch.nn.functional.
mod common;

use common::{get, rel_diff};
use ft_optim::clip::clip_grad_norm;
use ft_optim::groups::ParamGroup;
use ft_optim::loss::{cross_entropy_sum, LossOptions};
use ft_optim::optimizer::{Adam, AdamW, AdamWConfig, Optimizer, Sgd, SgdConfig};
use ft_optim::schedule::{Anneal, Schedule, ScheduleKind};
use tch::{Kind, Tensor};

const STEPS: usize = 12;
const TOL: f64 = 1e-6;

fn lr_at(t: usize) -> f64 {
    0.01 * (1.0 - t as f64 / 20.0)
}

/// The fixed problem: p0, p1 in a group with (scale 1, wd_a); p2 with (scale 0.5, wd_b).
fn problem(wd_a: f64, wd_b: f64) -> Vec<ParamGroup> {
    let p = |i: usize| {
        let t = get(&format!("problem.init.p{i}"))
            .copy()
            .set_requires_grad(true);
        (format!("p{i}"), t)
    };
    vec![
        ParamGroup {
            name: "a".into(),
            params: vec![p(0), p(1)],
            lr_scale: 1.0,
            weight_decay: wd_a,
        },
        ParamGroup {
            name: "b".into(),
            params: vec![p(2)],
            lr_scale: 0.5,
            weight_decay: wd_b,
        },
    ]
}

/// Sets each parameter's gradient to the reference gradient of step `t`: the gradient of
/// `Σ p·g` is exactly `g`.
fn set_grads(groups: &[ParamGroup], t: usize) {
    for g in groups {
        for (name, p) in &g.params {
            let mut p = p.shallow_clone();
            p.zero_grad();
            let grad = get(&format!("problem.grad{t}.{name}"));
            (&p * grad).sum(Kind::Float).backward();
        }
    }
}

/// Runs `opt` on the problem and returns the largest relative difference to torch over every
/// parameter after every step.
fn replay(config: &str, opt: &mut dyn Optimizer, wd_a: f64, wd_b: f64) -> f64 {
    let groups = problem(wd_a, wd_b);
    let mut worst: f64 = 0.0;
    for t in 0..STEPS {
        set_grads(&groups, t);
        opt.step(&groups, lr_at(t)).unwrap();
        for g in &groups {
            for (name, p) in &g.params {
                let expected = get(&format!("{config}.step{t}.{name}"));
                worst = worst.max(rel_diff(p, &expected));
            }
        }
    }
    // The reference must actually move the parameters, or equality would prove nothing.
    let start = get("problem.init.p0");
    assert!(rel_diff(&groups[0].params[0].1, &start) > 1e-3);
    println!("{config}: max relative difference to torch.optim {worst:.3e}");
    worst
}

#[test]
fn adamw_matches_torch() {
    let cfg = AdamWConfig {
        betas: (0.9, 0.999),
        eps: 1e-8,
        amsgrad: false,
    };
    assert!(replay("adamw", &mut AdamW::new(cfg), 0.01, 0.0) < TOL);
}

#[test]
fn adamw_amsgrad_matches_torch() {
    let cfg = AdamWConfig {
        betas: (0.8, 0.99),
        eps: 1e-6,
        amsgrad: true,
    };
    assert!(replay("adamw_amsgrad", &mut AdamW::new(cfg), 0.1, 0.02) < TOL);
}

#[test]
fn adam_matches_torch() {
    let cfg = AdamWConfig::default();
    assert!(replay("adam", &mut Adam::new(cfg), 0.05, 0.0) < TOL);
    let cfg = AdamWConfig {
        betas: (0.9, 0.98),
        eps: 1e-8,
        amsgrad: true,
    };
    assert!(replay("adam_amsgrad", &mut Adam::new(cfg), 0.0, 0.01) < TOL);
}

#[test]
fn sgd_matches_torch() {
    let plain = SgdConfig::default();
    assert!(replay("sgd", &mut Sgd::new(plain), 0.01, 0.0) < TOL);
    let momentum = SgdConfig {
        momentum: 0.9,
        dampening: 0.1,
        nesterov: false,
    };
    assert!(replay("sgd_momentum", &mut Sgd::new(momentum), 0.01, 0.001) < TOL);
    let nesterov = SgdConfig {
        momentum: 0.9,
        dampening: 0.0,
        nesterov: true,
    };
    assert!(replay("sgd_nesterov", &mut Sgd::new(nesterov), 0.0, 0.01) < TOL);
}

fn check_schedule(name: &str, schedule: &Schedule) {
    let expected = get(&format!("sched.{name}"));
    let n = expected.size()[0] as usize;
    let mut worst: f64 = 0.0;
    for step in 0..n {
        let want = expected.double_value(&[step as i64]);
        let got = schedule.lr_at(step);
        let rel = (got - want).abs() / want.abs().max(1e-300);
        // Exact zeros (end of a decay, start of a warmup) must be exact.
        let rel = if want == 0.0 { got.abs() } else { rel };
        assert!(
            rel <= TOL,
            "{name} at step {step}: ours {got}, torch {want} (relative {rel:.3e})"
        );
        worst = worst.max(rel);
    }
    println!("schedule {name}: max relative difference {worst:.3e} over {n} steps");
}

#[test]
fn schedules_match_transformers_and_torch() {
    let (total, warmup) = (50, 7);
    let s = |kind| Schedule::new(kind, 0.1, warmup, total);
    check_schedule("constant", &s(ScheduleKind::Constant));
    check_schedule("constant_warmup", &s(ScheduleKind::ConstantWithWarmup));
    check_schedule("linear", &s(ScheduleKind::Linear));
    check_schedule(
        "linear_nowarmup",
        &Schedule::new(ScheduleKind::Linear, 0.1, 0, total),
    );
    check_schedule("cosine", &s(ScheduleKind::Cosine { cycles: 0.5 }));
    check_schedule("cosine_1.5", &s(ScheduleKind::Cosine { cycles: 1.5 }));
    check_schedule(
        "cosine_restarts_3",
        &s(ScheduleKind::CosineWithRestarts { cycles: 3 }),
    );
    check_schedule(
        "step_10_0.5",
        &Schedule::new(
            ScheduleKind::Step {
                step_size: 10,
                gamma: 0.5,
            },
            0.1,
            0,
            total,
        ),
    );
    check_schedule(
        "onecycle_cos",
        &Schedule::new(
            ScheduleKind::OneCycle {
                max_lr: 0.3,
                pct_start: 0.3,
                div_factor: 25.0,
                final_div_factor: 1e4,
                anneal: Anneal::Cos,
                three_phase: false,
            },
            0.1,
            0,
            total,
        ),
    );
    check_schedule(
        "onecycle_linear_3phase",
        &Schedule::new(
            ScheduleKind::OneCycle {
                max_lr: 0.2,
                pct_start: 0.25,
                div_factor: 10.0,
                final_div_factor: 100.0,
                anneal: Anneal::Linear,
                three_phase: true,
            },
            0.1,
            0,
            total,
        ),
    );
}

#[test]
fn cross_entropy_sum_matches_torch() {
    let logits = get("loss.logits");
    let labels = get("loss.labels");
    let weights: Vec<f64> = Vec::try_from(get("loss.weights")).unwrap();
    let mut worst: f64 = 0.0;
    for ls in ["0", "0.1"] {
        let smoothing: f64 = ls.parse().unwrap();
        let tag = format!("ls{}", if ls == "0" { "0.0" } else { ls });
        let plain = LossOptions {
            label_smoothing: smoothing,
            class_weights: None,
        };
        let (sum, count) = cross_entropy_sum(&logits, &labels, &plain).unwrap();
        assert_eq!(count, 7.0, "7 of the 9 labels are not -100");
        worst = worst.max(rel_diff(&sum, &get(&format!("loss.{tag}.sum"))));
        worst = worst.max(rel_diff(&(sum / count), &get(&format!("loss.{tag}.mean"))));

        let weighted = LossOptions {
            label_smoothing: smoothing,
            class_weights: Some(weights.clone()),
        };
        let (sum, norm) = cross_entropy_sum(&logits, &labels, &weighted).unwrap();
        // Counted labels 0,3,1,1,2,3,0 → 0.5+3+2+2+1+3+0.5.
        assert!((norm - 12.0).abs() < 1e-12, "weighted count {norm}");
        worst = worst.max(rel_diff(&sum, &get(&format!("loss.{tag}.w.sum"))));
        worst = worst.max(rel_diff(&(sum / norm), &get(&format!("loss.{tag}.w.mean"))));
    }
    println!("cross-entropy: max relative difference {worst:.3e}");
    assert!(worst < 1e-12, "float64 losses differ by {worst}");
}

#[test]
fn clip_grad_norm_matches_torch() {
    let params: Vec<(String, Tensor)> = (0..3)
        .map(|i| {
            let p = get(&format!("problem.init.p{i}"))
                .zeros_like()
                .set_requires_grad(true);
            let grad = get(&format!("clip.grad.p{i}"));
            (&p * grad).sum(Kind::Float).backward();
            (format!("p{i}"), p)
        })
        .collect();
    let groups = vec![ParamGroup {
        name: "all".into(),
        params,
        lr_scale: 1.0,
        weight_decay: 0.0,
    }];
    let norm = clip_grad_norm(&groups, 2.0);
    let want = get("clip.norm").double_value(&[0]);
    assert!(want > 2.0, "the reference must actually clip");
    assert!(
        ((norm - want) / want).abs() < TOL,
        "norm {norm} vs torch {want}"
    );
    let mut worst: f64 = 0.0;
    for (i, (_, p)) in groups[0].params.iter().enumerate() {
        worst = worst.max(rel_diff(&p.grad(), &get(&format!("clip.clipped.p{i}"))));
    }
    println!("clip_grad_norm: norm {norm} (torch {want}), clipped grads max rel {worst:.3e}");
    assert!(worst < TOL);
}
