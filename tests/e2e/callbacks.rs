//! The loop's callback seam on a tiny BERT: a callback adds a loss term on the task's pooled
//! features and on batches of a second loader, owns a parameter that the optimizer trains and
//! checkpoints keep, keeps state that a resume restores bitwise, and steers the loop (evaluate,
//! save, stop) through `Control`.
use crate::train_loop::{args, copy_checkpoint, loader, rows, setup, weights};
use anyhow::Result;
use ft_data::Sampler;
use ft_train::callback::{Callback, CallbackState, Context, Control, MicroBatch, StepInfo};
use ft_train::{IntervalStrategy, Trainer};
use serde_json::json;
use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;
use tch::{Kind, Tensor};

/// A domain-classifier term in the manner of domain-adversarial training: a logistic probe `w`
/// on the pooled features tells the training rows (domain 1) from the second loader's
/// (domain 0). Its counters live outside so a test can read them after the trainer is gone.
struct Probe<'t> {
    w: &'t Tensor,
    steps: &'t Cell<usize>,
    second_rows: &'t Cell<usize>,
}

impl Callback for Probe<'_> {
    fn name(&self) -> &str {
        "probe"
    }

    fn on_step_begin(&mut self, ctx: &Context) -> Result<()> {
        assert_eq!(
            ctx.state.global_step,
            self.steps.get(),
            "steps and state agree"
        );
        self.steps.set(self.steps.get() + 1);
        Ok(())
    }

    fn micro_batch_loss(&mut self, ctx: &Context, mb: &MicroBatch) -> Result<Option<Tensor>> {
        let source = mb
            .loss
            .features
            .as_ref()
            .expect("the text task gives its features");
        assert_eq!(source.size(), [mb.batch.size as i64, 16]);
        let second = mb.second.expect("a second loader was given");
        let target = ctx.task.features(second, mb.modes)?;
        self.second_rows.set(self.second_rows.get() + second.size);
        let (s, t) = (source.matmul(self.w), target.matmul(self.w));
        // −log σ(s) − log(1 − σ(t)), summed: the units of the task's summed loss.
        let term = s.neg().softplus().sum(Kind::Float) + t.softplus().sum(Kind::Float);
        Ok(Some(term * 0.1))
    }

    fn parameters(&self) -> Vec<(String, Tensor)> {
        vec![("w".into(), self.w.shallow_clone())]
    }

    fn state(&self) -> Result<Option<CallbackState>> {
        Ok(Some(CallbackState {
            json: json!({"steps": self.steps.get()}),
            tensors: vec![(
                "second_rows".into(),
                Tensor::from(self.second_rows.get() as i64),
            )],
        }))
    }

    fn load_state(&mut self, state: CallbackState) -> Result<()> {
        self.steps
            .set(state.json["steps"].as_u64().unwrap() as usize);
        let (name, rows) = &state.tensors[0];
        assert_eq!(name, "second_rows");
        self.second_rows.set(rows.int64_value(&[]) as usize);
        Ok(())
    }
}

struct Outcome {
    weights: std::collections::BTreeMap<String, Tensor>,
    w: Tensor,
    steps: usize,
    second_rows: usize,
}

/// Two epochs of 9 micro-batches (accumulated by 2) with the probe; the second loader has 5
/// batches an epoch, so it wraps around mid-step.
fn run_with_probe(dir: &Path, resume: bool) -> Outcome {
    let data = Arc::new(rows(72, 3, false));
    let other = Arc::new(rows(40, 9, false));
    let s = setup(false, 0.1);
    let mut a = args(dir);
    a.num_train_epochs = 2.0;
    a.gradient_accumulation_steps = 2;
    a.save_strategy = IntervalStrategy::Steps;
    a.save_steps = 4;
    if resume {
        a.resume_from_checkpoint = Some("latest".into());
    }
    let w = Tensor::zeros([16], (Kind::Float, tch::Device::Cpu)).set_requires_grad(true);
    let (steps, second_rows) = (Cell::new(0), Cell::new(0));
    let (train, second) = (
        loader(&data, Sampler::Random, 8),
        loader(&other, Sampler::Random, 8),
    );
    let mut trainer = Trainer::new(a, &s.task, &s.vs)
        .unwrap()
        .with_second_loader(&second);
    trainer.add_callback(Box::new(Probe {
        w: &w,
        steps: &steps,
        second_rows: &second_rows,
    }));
    trainer.fit(&train, None).unwrap();
    drop(trainer);
    Outcome {
        weights: weights(&s.vs),
        w: w.detach().copy(),
        steps: steps.get(),
        second_rows: second_rows.get(),
    }
}

#[test]
fn a_callback_trains_its_own_parameter_on_pooled_features_and_a_second_loader() {
    let _rng = ft_tests::torch_rng_lock();
    let dir = tempfile::tempdir().unwrap();
    let out = run_with_probe(dir.path(), false);
    // 2 epochs of 9 batches, by 2: 5 optimizer steps an epoch.
    assert_eq!(out.steps, 10);
    assert_eq!(out.second_rows, 18 * 8, "one second batch per micro-batch");
    assert!(
        out.w.abs().sum(Kind::Float).double_value(&[]) > 1e-4,
        "the optimizer stepped the callback's parameter"
    );
    let checkpoint = dir.path().join("checkpoint-4");
    let saved = ft_models::st::read(&checkpoint.join("callbacks.safetensors")).unwrap();
    let mut names: Vec<&str> = saved.iter().map(|(n, _)| n.as_str()).collect();
    names.sort();
    assert_eq!(names, ["probe.second_rows", "probe.w"]);
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(checkpoint.join("trainer_state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["callbacks"]["probe"]["steps"], 4);
    assert_eq!(
        state["second_loader"],
        json!([1, 3]),
        "8 batches drawn: epoch 1, 3 in"
    );
    let optimizer = ft_models::st::read(&checkpoint.join("optimizer.safetensors")).unwrap();
    assert!(
        optimizer.iter().any(|(n, _)| n.contains("probe.w")),
        "the optimizer keeps moments for the callback's parameter"
    );
}

#[test]
fn a_resumed_run_restores_callback_state_parameters_and_the_second_loader_bitwise() {
    let _rng = ft_tests::torch_rng_lock();
    let straight = tempfile::tempdir().unwrap();
    let full = run_with_probe(straight.path(), false);
    let interrupted = tempfile::tempdir().unwrap();
    copy_checkpoint(straight.path(), interrupted.path(), "checkpoint-4");
    let resumed = run_with_probe(interrupted.path(), true);
    assert!(full.w.equal(&resumed.w), "the callback's parameter differs");
    assert_eq!(
        (full.steps, full.second_rows),
        (resumed.steps, resumed.second_rows)
    );
    for (name, w) in &full.weights {
        assert!(
            w.equal(&resumed.weights[name]),
            "{name} differs after resume"
        );
    }
}

/// Asks for an evaluation and a checkpoint after step 2 and a stop after step 3.
struct Steer;

impl Callback for Steer {
    fn name(&self) -> &str {
        "steer"
    }

    fn on_step_end(&mut self, ctx: &Context, _: &StepInfo, control: &mut Control) -> Result<()> {
        match ctx.state.global_step {
            2 => {
                control.should_evaluate = true;
                control.should_save = true;
            }
            3 => control.should_stop = true,
            _ => {}
        }
        Ok(())
    }
}

#[test]
fn a_callback_can_ask_to_evaluate_save_and_stop() {
    let _rng = ft_tests::torch_rng_lock();
    let data = Arc::new(rows(72, 3, false));
    let s = setup(false, 0.1);
    let dir = tempfile::tempdir().unwrap();
    let a = args(dir.path());
    let mut trainer = Trainer::new(a, &s.task, &s.vs).unwrap();
    trainer.add_callback(Box::new(Steer));
    let (train, eval) = (
        loader(&data, Sampler::Random, 8),
        loader(&data, Sampler::Sequential, 32),
    );
    let outcome = trainer.fit(&train, Some(&eval)).unwrap();
    assert_eq!(outcome.global_step, 3);
    assert!(outcome.stopped_early);
    assert_eq!(outcome.evaluations.len(), 1);
    assert_eq!(outcome.evaluations[0]["step"], 2);
    assert!(dir.path().join("checkpoint-2/model.safetensors").is_file());
    assert!(!dir.path().join("checkpoint-3").exists());

    // Two callbacks of one name would mix their checkpointed state: refused.
    let mut trainer = Trainer::new(args(dir.path()), &s.task, &s.vs).unwrap();
    trainer.add_callback(Box::new(Steer));
    trainer.add_callback(Box::new(Steer));
    let err = trainer.fit(&train, None).unwrap_err().to_string();
    assert!(err.contains("two callbacks are named `steer`"), "{err}");
}
