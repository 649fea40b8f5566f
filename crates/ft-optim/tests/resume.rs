//! Saving the optimizer state to safetensors and loading it into a fresh optimizer continues
//! training bit for bit as if it had never stopped.
mod common;

use ft_models::bert::BertForTask;
use ft_models::GroupModes;
use ft_optim::groups::{param_groups, GroupConfig};
use ft_optim::optimizer::{Adam, AdamW, AdamWConfig, Optimizer, Sgd, SgdConfig};
use tch::nn::VarStore;
use tch::{Device, Tensor};

fn model() -> (VarStore, BertForTask) {
    common::tiny_bert(11, 2)
}

fn steps(vs: &VarStore, model: &BertForTask, opt: &mut dyn Optimizer, range: std::ops::Range<i64>) {
    let cfg = GroupConfig {
        weight_decay: 0.1,
        layerwise_lr_decay: Some(0.8),
        ..Default::default()
    };
    let groups = param_groups(vs, model.layer_groups(), &cfg);
    // Dropout off so both runs see the same forward passes.
    let modes = GroupModes::all(model.layer_groups().len(), false);
    for step in range {
        let ids = Tensor::arange_start(step, step + 8, (tch::Kind::Int64, Device::Cpu))
            .remainder(60)
            .view([2, 4]);
        let labels = Tensor::from_slice(&[step % 2, (step + 1) % 2]);
        let logits = model.forward(&ids, None, None, &modes);
        model.loss(&logits, &labels).backward();
        opt.step(&groups, 1e-3 * (1.0 + step as f64)).unwrap();
        opt.zero_grad(&groups);
    }
}

fn check_resume(make: &dyn Fn() -> Box<dyn Optimizer>) {
    let dir = tempfile::tempdir().unwrap();
    // Uninterrupted: 8 steps.
    let (vs_a, model_a) = model();
    let mut opt_a = make();
    steps(&vs_a, &model_a, opt_a.as_mut(), 0..8);

    // Interrupted after 4: save weights and optimizer state, rebuild everything, load, go on.
    let (vs_b, model_b) = model();
    let mut opt_b = make();
    steps(&vs_b, &model_b, opt_b.as_mut(), 0..4);
    let weights: Vec<(String, Tensor)> = vs_b.variables().into_iter().collect();
    ft_models::st::write_atomic(&dir.path().join("model.safetensors"), &weights).unwrap();
    ft_models::st::write_atomic(&dir.path().join("optimizer.safetensors"), &opt_b.state()).unwrap();
    drop((vs_b, model_b, opt_b));

    let (vs_c, model_c) = model();
    let saved = ft_models::st::read(&dir.path().join("model.safetensors")).unwrap();
    tch::no_grad(|| {
        let vars = vs_c.variables();
        for (name, t) in &saved {
            vars[name].shallow_clone().copy_(t);
        }
    });
    let mut opt_c = make();
    opt_c
        .load_state(ft_models::st::read(&dir.path().join("optimizer.safetensors")).unwrap())
        .unwrap();
    steps(&vs_c, &model_c, opt_c.as_mut(), 4..8);

    let a = vs_a.variables();
    let mut moved = false;
    for (name, t) in vs_c.variables() {
        assert!(t.equal(&a[&name]), "`{name}` differs after resuming");
        moved |= !t.equal(&saved.iter().find(|(n, _)| n == &name).unwrap().1);
    }
    assert!(moved, "the continued steps must change the weights");
    // And the state itself is the same.
    let state_a = opt_a.state();
    let state_c = opt_c.state();
    assert_eq!(state_a.len(), state_c.len());
    for ((na, ta), (nc, tc)) in state_a.iter().zip(&state_c) {
        assert_eq!(na, nc);
        assert!(ta.equal(tc), "state `{na}` differs");
    }
}

#[test]
fn adamw_amsgrad_resumes_bitwise() {
    check_resume(&|| {
        Box::new(AdamW::new(AdamWConfig {
            amsgrad: true,
            ..Default::default()
        }))
    });
}

#[test]
fn adam_and_sgd_resume_bitwise() {
    check_resume(&|| Box::new(Adam::new(AdamWConfig::default())));
    check_resume(&|| {
        Box::new(Sgd::new(SgdConfig {
            momentum: 0.9,
            dampening: 0.0,
            nesterov: true,
        }))
    });
}

#[test]
fn mismatched_state_is_rejected_with_names() {
    let (vs, model) = model();
    let mut opt = AdamW::new(AdamWConfig::default());
    let bad = vec![
        ("step.classifier.bias".to_string(), Tensor::from(3i64)),
        (
            "exp_avg.classifier.bias".to_string(),
            Tensor::zeros([5], tch::kind::FLOAT_CPU),
        ),
        (
            "exp_avg_sq.classifier.bias".to_string(),
            Tensor::zeros([5], tch::kind::FLOAT_CPU),
        ),
    ];
    opt.load_state(bad).unwrap();
    let groups = param_groups(&vs, model.layer_groups(), &GroupConfig::default());
    let ids = Tensor::from_slice(&[1i64, 2, 3]).view([1, 3]);
    let logits = model.forward(&ids, None, None, &GroupModes::all(5, false));
    model.loss(&logits, &Tensor::from_slice(&[1i64])).backward();
    let e = opt.step(&groups, 1e-3).unwrap_err().to_string();
    assert!(
        e.contains("exp_avg.classifier.bias") && e.contains("[5]") && e.contains("[2]"),
        "{e}"
    );

    let e = AdamW::new(AdamWConfig::default())
        .load_state(vec![("momentum_buffer.x".into(), Tensor::from(1.0))])
        .unwrap_err()
        .to_string();
    assert!(e.contains("momentum_buffer.x"), "{e}");
    let e = AdamW::new(AdamWConfig::default())
        .load_state(vec![("exp_avg.x".into(), Tensor::from(1.0))])
        .unwrap_err()
        .to_string();
    assert!(e.contains("`x` has no `step`"), "{e}");
}
