//! The training loop on a tiny BERT and synthetic data: the loss goes down, resume is bitwise
//! exact, gradient accumulation equals the big batch, freezing keeps frozen weights fixed, and
//! early stopping + best restore behave.
use ft_data::{Collator, Encoded, EncodedLabel, Loader, Sampler};
use ft_jobs::text::TextTask;
use ft_models::bert::{BertConfig, BertForTask, BertTask};
use ft_optim::loss::LossOptions;
use ft_train::{IntervalStrategy, Trainer, TrainingArgs};
use std::collections::BTreeMap;
use std::sync::Arc;
use tch::nn::VarStore;
use tch::Tensor;

/// Sequences over a 64-token vocabulary; class 1 iff token 7 occurs. Tokens per position get
/// tag `id % 3` (token task), with the second half of each row ignored (-100).
pub(crate) fn rows(n: usize, seed: u64, tokens: bool) -> Vec<Encoded> {
    let mut rng = ft_data::rng::PyRandom::new(seed);
    (0..n)
        .map(|i| {
            let len = 4 + rng.below(9) as usize;
            let mut ids: Vec<u32> = (0..len).map(|_| 8 + rng.below(56) as u32).collect();
            let positive = rng.below(2) == 1;
            if positive {
                ids[rng.below(len as u64) as usize] = 7;
            }
            let label = if tokens {
                EncodedLabel::Tokens(
                    ids.iter()
                        .enumerate()
                        .map(|(j, &t)| {
                            if j < len / 2 + 1 {
                                (t % 3) as i64
                            } else {
                                -100
                            }
                        })
                        .collect(),
                )
            } else {
                EncodedLabel::Class(positive as i64)
            };
            Encoded {
                type_ids: vec![0; ids.len()],
                input_ids: ids,
                word_ids: None,
                label,
                example: i,
                window: 0,
            }
        })
        .collect()
}

fn tiny_config(dropout: f64) -> BertConfig {
    let mut c = BertConfig::tiny();
    c.hidden_dropout_prob = dropout;
    c.attention_probs_dropout_prob = dropout;
    c
}

pub(crate) struct Setup {
    pub(crate) vs: VarStore,
    pub(crate) task: TextTask,
}

pub(crate) fn setup(tokens: bool, dropout: f64) -> Setup {
    tch::manual_seed(0);
    let vs = VarStore::new(tch::Device::Cpu);
    let kind = if tokens {
        BertTask::TokenClassification { num_labels: 3 }
    } else {
        BertTask::SequenceClassification { num_labels: 2 }
    };
    let model = BertForTask::new(&vs.root(), &tiny_config(dropout), kind).unwrap();
    let labels = if tokens {
        vec!["A", "B", "C"]
    } else {
        vec!["neg", "pos"]
    };
    let labels: Vec<String> = labels.into_iter().map(String::from).collect();
    let task = TextTask::new(model, labels, LossOptions::default());
    Setup { vs, task }
}

pub(crate) fn loader(data: &Arc<Vec<Encoded>>, sampler: Sampler, bs: usize) -> Loader {
    Loader::new(data.clone(), sampler, Collator::new(0), bs)
        .unwrap()
        .seed(42)
}

pub(crate) fn weights(vs: &VarStore) -> BTreeMap<String, Tensor> {
    vs.variables()
        .into_iter()
        .map(|(k, v)| (k, v.detach().copy()))
        .collect()
}

/// Copies the checkpoint `name` of the run in `from` into `to`: `to` is then the output
/// directory of a run interrupted right after that checkpoint.
pub(crate) fn copy_checkpoint(from: &std::path::Path, to: &std::path::Path, name: &str) {
    let (src, dst) = (from.join(name), to.join(name));
    std::fs::create_dir_all(&dst).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dst.join(entry.file_name())).unwrap();
    }
}

pub(crate) fn args(dir: &std::path::Path) -> TrainingArgs {
    TrainingArgs {
        output_dir: dir.to_path_buf(),
        learning_rate: 1e-3,
        per_device_train_batch_size: 8,
        per_device_eval_batch_size: 32,
        num_train_epochs: 3.0,
        weight_decay: 0.01,
        logging_steps: 5,
        quiet: true,
        ..Default::default()
    }
}

#[test]
fn loss_goes_down_and_accuracy_beats_chance_on_held_out_rows() {
    let _rng = ft_tests::torch_rng_lock();
    let s = setup(false, 0.1);
    let train = Arc::new(rows(256, 1, false));
    let held_out = Arc::new(rows(128, 2, false));
    let tmp = tempfile::tempdir().unwrap();
    let mut a = args(tmp.path());
    a.num_train_epochs = 12.0;
    a.learning_rate = 3e-3;
    a.warmup_ratio = 0.1;
    let mut trainer = Trainer::new(a, &s.task, &s.vs).unwrap();
    let eval = loader(&held_out, Sampler::Sequential, 32);
    let before = trainer.evaluate(&eval).unwrap().metrics["loss"];
    trainer
        .fit(&loader(&train, Sampler::Random, 8), None)
        .unwrap();
    let after = trainer.evaluate(&eval).unwrap();
    println!(
        "held-out loss {before:.4} -> {:.4}, accuracy {:.3}",
        after.metrics["loss"], after.metrics["accuracy"]
    );
    assert!(
        after.metrics["loss"] < before * 0.8,
        "loss {before} -> {}",
        after.metrics["loss"]
    );
    assert!(
        after.metrics["accuracy"] >= 0.75,
        "accuracy {}",
        after.metrics["accuracy"]
    );
    let log = std::fs::read_to_string(tmp.path().join("train_log.jsonl")).unwrap();
    assert!(log.lines().count() >= 10, "a record every 5 steps");
}

#[test]
fn resuming_from_a_checkpoint_gives_bitwise_the_same_weights() {
    let _rng = ft_tests::torch_rng_lock();
    let data = Arc::new(rows(72, 3, false)); // 9 batches of 8: checkpoints fall mid-epoch
    let run = |dir: &std::path::Path, resume: bool| {
        let s = setup(false, 0.1);
        let mut a = args(dir);
        a.gradient_accumulation_steps = 2;
        a.warmup_ratio = 0.2;
        a.save_strategy = IntervalStrategy::Steps;
        a.save_steps = 4;
        if resume {
            a.resume_from_checkpoint = Some("latest".into());
        }
        Trainer::new(a, &s.task, &s.vs)
            .unwrap()
            .fit(&loader(&data, Sampler::Random, 8), None)
            .unwrap();
        weights(&s.vs)
    };
    let straight = tempfile::tempdir().unwrap();
    let full = run(straight.path(), false);
    // An interrupted run is one whose output directory holds only what was saved before the
    // interruption: checkpoint-4 (mid-epoch, mid-schedule, half-way through dropout draws).
    let interrupted = tempfile::tempdir().unwrap();
    copy_checkpoint(straight.path(), interrupted.path(), "checkpoint-4");
    let resumed = run(interrupted.path(), true);
    let mut compared = 0;
    for (name, w) in &full {
        assert!(w.equal(&resumed[name]), "{name} differs after resume");
        compared += 1;
    }
    assert!(compared > 30);
    assert!(
        !full["classifier.weight"].equal(&setup(false, 0.1).vs.variables()["classifier.weight"]),
        "training moved the head"
    );
}

#[test]
fn gradient_accumulation_of_4x4_equals_one_batch_of_16_for_token_losses() {
    let _rng = ft_tests::torch_rng_lock();
    let data = Arc::new(rows(16, 4, true));
    let run = |bs: usize, accum: usize| {
        let s = setup(true, 0.0);
        let tmp = tempfile::tempdir().unwrap();
        let mut a = args(tmp.path());
        a.per_device_train_batch_size = bs;
        a.gradient_accumulation_steps = accum;
        a.max_steps = Some(1);
        a.max_grad_norm = 0.0;
        a.weight_decay = 0.0;
        // Sequential order: the same 16 rows in both runs.
        Trainer::new(a, &s.task, &s.vs)
            .unwrap()
            .fit(&loader(&data, Sampler::Sequential, bs), None)
            .unwrap();
        weights(&s.vs)
    };
    let big = run(16, 1);
    let small = run(4, 4);
    let mut worst = 0.0f64;
    for (name, w) in &big {
        let d = (w - &small[name]).abs().max().double_value(&[]);
        if d > 1e-6 {
            println!("{name}: {d:e}");
        }
        worst = worst.max(d);
    }
    println!("max |Δw| between 1x16 and 4x4: {worst:e}");
    assert!(worst < 1e-6, "accumulation differs by {worst}");
}

#[test]
fn linear_probe_keeps_every_non_head_weight_bit_identical() {
    let _rng = ft_tests::torch_rng_lock();
    let s = setup(false, 0.1);
    let before = weights(&s.vs);
    let tmp = tempfile::tempdir().unwrap();
    let mut a = args(tmp.path());
    a.freeze_strategy = ft_train::FreezeStrategyKind::LinearProbe;
    a.num_train_epochs = 1.0;
    let data = Arc::new(rows(64, 5, false));
    Trainer::new(a, &s.task, &s.vs)
        .unwrap()
        .fit(&loader(&data, Sampler::Random, 8), None)
        .unwrap();
    let after = weights(&s.vs);
    for (name, w) in &before {
        let same = w.equal(&after[name]);
        if name.starts_with("classifier.") {
            assert!(!same, "{name} should have trained");
        } else {
            assert!(same, "{name} changed under linear-probe");
        }
    }
}

#[test]
fn best_model_is_restored_and_checkpoints_rotate() {
    let _rng = ft_tests::torch_rng_lock();
    let s = setup(false, 0.1);
    let tmp = tempfile::tempdir().unwrap();
    let mut a = args(tmp.path());
    a.eval_strategy = IntervalStrategy::Epoch;
    a.save_strategy = IntervalStrategy::Epoch;
    a.load_best_model_at_end = true;
    a.metric_for_best_model = Some("eval_loss".into());
    a.save_total_limit = Some(1);
    a.num_train_epochs = 4.0;
    let train = Arc::new(rows(64, 6, false));
    let eval = Arc::new(rows(32, 7, false));
    let outcome = Trainer::new(a, &s.task, &s.vs)
        .unwrap()
        .fit(
            &loader(&train, Sampler::Random, 8),
            Some(&loader(&eval, Sampler::Sequential, 32)),
        )
        .unwrap();
    let losses: Vec<f64> = outcome
        .evaluations
        .iter()
        .map(|e| e["eval_loss"].as_f64().unwrap())
        .collect();
    assert_eq!(losses.len(), 4);
    let best = losses.iter().cloned().fold(f64::INFINITY, f64::min);
    assert_eq!(outcome.best_metric, Some(best));
    let best_dir = outcome.best_checkpoint.clone().unwrap();
    // The best checkpoint survives rotation, next to at most one other.
    let kept = ft_train::checkpoint::list(tmp.path());
    assert!(
        kept.iter().any(|(_, p)| *p == best_dir) && kept.len() <= 2,
        "{kept:?}"
    );
    // The weights in memory (and saved at the top level) are the best checkpoint's.
    let saved = ft_models::st::read(&best_dir.join("model.safetensors")).unwrap();
    let now = s.vs.variables();
    for (name, t) in saved {
        assert!(now[&name].equal(&t), "{name} is not the best checkpoint's");
    }
}

#[test]
fn l2sp_holds_the_encoder_near_its_start_but_not_the_new_head() {
    let _rng = ft_tests::torch_rng_lock();
    let data = Arc::new(rows(64, 8, false));
    let drift = |alpha: Option<f64>| {
        let s = setup(false, 0.0);
        let start = weights(&s.vs);
        let tmp = tempfile::tempdir().unwrap();
        let mut a = args(tmp.path());
        a.num_train_epochs = 2.0;
        a.weight_decay = 0.0;
        a.l2sp_alpha = alpha;
        Trainer::new(a, &s.task, &s.vs)
            .unwrap()
            .fit(&loader(&data, Sampler::Random, 8), None)
            .unwrap();
        let now = weights(&s.vs);
        let moved = |prefix: &str| -> f64 {
            start
                .iter()
                .filter(|(n, _)| n.starts_with(prefix))
                .map(|(n, w)| {
                    (w - &now[n])
                        .square()
                        .sum(tch::Kind::Double)
                        .double_value(&[])
                })
                .sum::<f64>()
                .sqrt()
        };
        (moved("bert."), moved("classifier."))
    };
    let (enc_free, head_free) = drift(None);
    let (enc_l2sp, head_l2sp) = drift(Some(100.0));
    println!(
        "encoder drift {enc_free:.4} -> {enc_l2sp:.4}; head drift {head_free:.4} -> {head_l2sp:.4}"
    );
    assert!(
        enc_l2sp < 0.5 * enc_free,
        "L2-SP should hold the encoder back"
    );
    assert!(head_l2sp > 0.5 * head_free, "the new head is not anchored");
}
