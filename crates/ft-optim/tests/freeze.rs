//! Freezing strategies on a tiny BERT and a tiny BatchNorm model: frozen parameters stay bit for
//! bit, trainable ones move, the optimizer holds state only for trainable ones, and frozen
//! BatchNorm statistics do not change.
mod common;

use ft_models::bert::BertForTask;
use ft_models::{GroupModes, LayerGroup};
use ft_optim::freeze::{FreezePlan, FreezeStrategy};
use ft_optim::groups::{param_groups, GroupConfig};
use ft_optim::optimizer::{AdamW, AdamWConfig, Optimizer};
use ft_optim::vars;
use std::collections::{BTreeMap, BTreeSet};
use tch::nn::{self, Module, ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

fn tiny_bert() -> (VarStore, BertForTask) {
    common::tiny_bert(7, 3)
}

fn snapshot(vs: &VarStore) -> BTreeMap<String, Tensor> {
    vs.variables()
        .into_iter()
        .map(|(n, t)| (n, t.detach().copy()))
        .collect()
}

/// Trains `steps` AdamW steps under `plan` at `epoch`; returns the optimizer and the names of
/// the parameters that were trainable.
fn train(
    vs: &VarStore,
    model: &BertForTask,
    plan: &FreezePlan,
    epoch: usize,
    steps: usize,
) -> (AdamW, BTreeSet<String>) {
    plan.apply(vs, epoch);
    let groups = param_groups(
        vs,
        model.layer_groups(),
        &GroupConfig {
            weight_decay: 0.01,
            ..Default::default()
        },
    );
    let trainable: BTreeSet<String> = groups
        .iter()
        .flat_map(|g| g.params.iter().map(|(n, _)| n.clone()))
        .collect();
    let mut opt = AdamW::new(AdamWConfig::default());
    let input_ids = Tensor::from_slice(&[1i64, 5, 9, 2, 0, 3, 7, 7, 4, 2]).view([2, 5]);
    let labels = Tensor::from_slice(&[0i64, 2]);
    for _ in 0..steps {
        let logits = model.forward(&input_ids, None, None, &plan.modes(epoch));
        model.loss(&logits, &labels).backward();
        opt.step(&groups, 1e-2).unwrap();
        opt.zero_grad(&groups);
    }
    (opt, trainable)
}

/// Runs a strategy and checks its invariants; returns the trainable names.
fn check_strategy(strategy: FreezeStrategy, epoch: usize) -> BTreeSet<String> {
    let (vs, model) = tiny_bert();
    let plan = FreezePlan::new(strategy.clone(), model.layer_groups()).unwrap();
    plan.validate(&vs).unwrap();
    let before = snapshot(&vs);
    let (opt, trainable) = train(&vs, &model, &plan, epoch, 2);
    assert!(!trainable.is_empty(), "{strategy}: something must train");
    for (name, value) in vs.variables() {
        let same = value.equal(&before[&name]);
        if trainable.contains(&name) {
            assert!(!same, "{strategy}: trainable `{name}` did not change");
            assert!(value.requires_grad());
        } else {
            assert!(same, "{strategy}: frozen `{name}` changed");
            assert!(!value.requires_grad(), "{strategy}: `{name}` requires grad");
        }
    }
    let state_params: BTreeSet<String> = opt
        .state()
        .into_iter()
        .filter_map(|(k, _)| k.strip_prefix("exp_avg.").map(str::to_string))
        .collect();
    assert_eq!(state_params, trainable, "{strategy}: optimizer state");
    trainable
}

fn all_params() -> BTreeSet<String> {
    let (vs, _) = tiny_bert();
    vars::parameters(&vs).into_iter().map(|(n, _)| n).collect()
}

#[test]
fn full_trains_everything() {
    assert_eq!(check_strategy(FreezeStrategy::Full, 0), all_params());
}

#[test]
fn partial_freezes_embeddings_and_lowest_layers() {
    let trainable = check_strategy(FreezeStrategy::Partial { layers: 1 }, 0);
    assert!(trainable
        .iter()
        .all(|n| !n.starts_with("bert.embeddings.") && !n.starts_with("bert.encoder.layer.0.")));
    assert!(trainable.contains("bert.encoder.layer.1.output.dense.weight"));
    assert!(trainable.contains("bert.pooler.dense.weight"));
    assert!(trainable.contains("classifier.weight"));
}

#[test]
fn linear_probe_trains_only_the_head() {
    let trainable = check_strategy(FreezeStrategy::LinearProbe, 0);
    let expected: BTreeSet<String> = ["classifier.bias", "classifier.weight"]
        .map(String::from)
        .into();
    assert_eq!(trainable, expected);
}

#[test]
fn gradual_unfreezes_one_group_from_the_top_every_n_epochs() {
    // Groups: embeddings, layer.0, layer.1, pooler, head.
    let epoch0 = check_strategy(FreezeStrategy::Gradual { every_epochs: 2 }, 0);
    assert!(epoch0.iter().all(|n| n.starts_with("classifier.")));
    let epoch3 = check_strategy(FreezeStrategy::Gradual { every_epochs: 2 }, 3);
    assert!(epoch3.contains("bert.pooler.dense.bias"));
    assert!(!epoch3.iter().any(|n| n.starts_with("bert.encoder.")));
    let epoch4 = check_strategy(FreezeStrategy::Gradual { every_epochs: 2 }, 4);
    assert!(epoch4.contains("bert.encoder.layer.1.attention.self.query.weight"));
    assert!(!epoch4
        .iter()
        .any(|n| n.starts_with("bert.encoder.layer.0.")));
    assert_eq!(
        check_strategy(FreezeStrategy::Gradual { every_epochs: 2 }, 8),
        all_params()
    );

    let (_, model) = tiny_bert();
    let plan = FreezePlan::new(
        FreezeStrategy::Gradual { every_epochs: 2 },
        model.layer_groups(),
    )
    .unwrap();
    let changes: Vec<usize> = (0..12).filter(|&e| plan.changes_at(e)).collect();
    assert_eq!(changes, vec![2, 4, 6, 8]);
    assert_eq!(
        plan.modes(2).as_slice(),
        &[false, false, false, true, true],
        "frozen groups run in eval mode"
    );
}

#[test]
fn patterns_freeze_and_unfreeze_by_name_and_group() {
    let strategy = FreezeStrategy::Patterns {
        freeze: vec!["embeddings".into(), "*LayerNorm*".into()],
        unfreeze: vec![r"re:^bert\.encoder\.layer\.1\.output\.LayerNorm\.".into()],
    };
    let trainable = check_strategy(strategy, 0);
    assert!(!trainable.iter().any(|n| n.starts_with("bert.embeddings.")));
    assert!(!trainable.contains("bert.encoder.layer.0.output.LayerNorm.weight"));
    assert!(trainable.contains("bert.encoder.layer.1.output.LayerNorm.weight"));
    assert!(trainable.contains("bert.encoder.layer.0.attention.self.query.weight"));

    // Only --unfreeze: everything else is frozen.
    let only_head = FreezeStrategy::Patterns {
        freeze: vec![],
        unfreeze: vec!["classifier.*".into()],
    };
    let trainable = check_strategy(only_head, 0);
    assert_eq!(trainable.len(), 2);
}

#[test]
fn summary_counts_parameters_per_group() {
    let (vs, model) = tiny_bert();
    let plan = FreezePlan::new(FreezeStrategy::LinearProbe, model.layer_groups()).unwrap();
    let summary = plan.apply(&vs, 0);
    let names: Vec<&str> = summary.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "embeddings",
            "encoder.layer.0",
            "encoder.layer.1",
            "pooler",
            "head"
        ]
    );
    // hidden 16, 3 labels.
    assert_eq!(
        (summary.rows[4].trainable, summary.rows[4].frozen),
        (16 * 3 + 3, 0)
    );
    assert_eq!(
        (summary.rows[3].trainable, summary.rows[3].frozen),
        (0, 16 * 16 + 16)
    );
    let total: usize = vars::parameters(&vs).iter().map(|(_, t)| t.numel()).sum();
    assert_eq!(summary.trainable() + summary.frozen(), total);
    let table = summary.to_string();
    assert!(table.contains("head") && table.contains("51"), "{table}");
    assert!(
        table.lines().last().unwrap().starts_with("total"),
        "{table}"
    );
}

#[test]
fn impossible_strategies_are_errors_naming_the_numbers() {
    let (vs, model) = tiny_bert();
    let e = FreezePlan::new(FreezeStrategy::Partial { layers: 4 }, model.layer_groups())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("4 layer groups") && e.contains("5 groups") && e.contains("at most 3"),
        "{e}"
    );
    assert!(FreezePlan::new(FreezeStrategy::Partial { layers: 3 }, model.layer_groups()).is_ok());
    let e = FreezePlan::new(
        FreezeStrategy::Gradual { every_epochs: 0 },
        model.layer_groups(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("every_epochs"), "{e}");
    let typo = FreezePlan::new(
        FreezeStrategy::Patterns {
            freeze: vec!["bert.embedings.*".into()],
            unfreeze: vec![],
        },
        model.layer_groups(),
    )
    .unwrap();
    let e = typo.validate(&vs).unwrap_err().to_string();
    assert!(
        e.contains("bert.embedings.*") && e.contains("matches no parameter"),
        "{e}"
    );
}

/// Linear → BatchNorm → ReLU → Linear, in groups `body` and `head`, whose BatchNorm follows the
/// body's group mode.
struct BnNet {
    lin: nn::Linear,
    bn: nn::BatchNorm,
    head: nn::Linear,
}

impl BnNet {
    fn new(vs: &VarStore) -> BnNet {
        let body = vs.root() / "body";
        BnNet {
            lin: nn::linear(&body / "lin", 4, 8, Default::default()),
            bn: nn::batch_norm1d(&body / "bn", 8, Default::default()),
            head: nn::linear(vs.root() / "head", 8, 2, Default::default()),
        }
    }

    fn forward(&self, xs: &Tensor, modes: &GroupModes) -> Tensor {
        let h = self
            .bn
            .forward_t(&self.lin.forward(xs), modes.is_train(0))
            .relu();
        self.head.forward(&h)
    }
}

fn bn_run(strategy: FreezeStrategy) -> (Tensor, Tensor, Tensor, Tensor) {
    tch::manual_seed(3);
    let vs = VarStore::new(Device::Cpu);
    let net = BnNet::new(&vs);
    let groups = [
        LayerGroup::new("body", &["body."]),
        LayerGroup::new("head", &["head."]),
    ];
    let plan = FreezePlan::new(strategy, &groups).unwrap();
    plan.apply(&vs, 0);
    let pgroups = param_groups(&vs, &groups, &GroupConfig::default());
    let mut opt = AdamW::new(AdamWConfig::default());
    let (mean0, var0) = (net.bn.running_mean.copy(), net.bn.running_var.copy());
    let xs = Tensor::randn([16, 4], (Kind::Float, Device::Cpu)) * 3 + 1;
    let ys = Tensor::from_slice(&[0i64, 1]).repeat([8]);
    for _ in 0..3 {
        let loss = net
            .forward(&xs, &plan.modes(0))
            .cross_entropy_for_logits(&ys);
        loss.backward();
        opt.step(&pgroups, 1e-2).unwrap();
        opt.zero_grad(&pgroups);
    }
    // Buffers must never have been made trainable.
    assert!(!net.bn.running_mean.requires_grad());
    assert!(opt.state().iter().all(|(n, _)| !n.contains("running")));
    (
        mean0,
        var0,
        net.bn.running_mean.copy(),
        net.bn.running_var.copy(),
    )
}

#[test]
fn frozen_batchnorm_keeps_its_running_statistics() {
    let (mean0, var0, mean, var) = bn_run(FreezeStrategy::LinearProbe);
    assert!(mean.equal(&mean0) && var.equal(&var0));
    // Counter-check: when the body trains, the same run does move the statistics.
    let (mean0, _, mean, _) = bn_run(FreezeStrategy::Full);
    assert!(!mean.equal(&mean0));
}
