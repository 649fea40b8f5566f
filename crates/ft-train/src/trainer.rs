//! The training loop. It calls its callbacks at fixed events — epoch and step begin / end,
//! after backward, log, evaluate, save — and knows nothing model-specific (that is the
//! [`Task`]'s job). Freezing is applied at each epoch start; evaluation and checkpoints follow
//! their strategies or a callback's request; early stopping, the progress display, the JSON
//! log and L2-SP are callbacks it adds itself from its arguments.
use crate::args::{IntervalStrategy, TrainingArgs};
use crate::batch::TensorBatch;
use crate::callback::{Callback, Context, Control, Level, MicroBatch, StepInfo};
use crate::checkpoint::{
    self, TrainerState, CALLBACKS_FILE, MODEL_FILE, OPTIMIZER_FILE, STATE_FILE,
};
use crate::dispatch::{Callbacks, Second};
use crate::early_stopping::EarlyStopping;
use crate::evaluation::EvalResult;
use crate::optim_setup;
use crate::reporter::Reporter;
use crate::task::Task;
use anyhow::{bail, Context as _, Result};
use ft_data::Loader;
use ft_optim::groups::ParamGroup;
use serde_json::json;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tch::nn::VarStore;
use tch::{Device, Tensor};

/// What a finished run reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainOutcome {
    pub global_step: usize,
    pub epochs_completed: usize,
    pub stopped_early: bool,
    pub best_metric: Option<f64>,
    pub best_checkpoint: Option<PathBuf>,
    /// Every evaluation: `{"step", "epoch", "eval_<metric>": value, …}`.
    pub evaluations: Vec<serde_json::Value>,
    pub train_seconds: f64,
    pub train_samples_per_second: f64,
    /// Every log record of the run (training steps and evaluations), as in `train_log.jsonl`.
    pub log_history: Vec<serde_json::Value>,
}

pub struct Trainer<'a> {
    pub args: TrainingArgs,
    task: &'a dyn Task,
    vs: &'a VarStore,
    device: Device,
    callbacks: Vec<Box<dyn Callback + 'a>>,
    second: Option<&'a Loader>,
    reporter: Arc<dyn Reporter>,
}

/// Per-step randomness (dropout) comes from `(seed, global step, micro-batch)` rather than from
/// the generator's running state, which libtorch does not let us save: that is what makes a
/// resumed run bitwise identical to an uninterrupted one.
fn reseed(seed: u64, step: usize, micro: usize) {
    let mut x = seed ^ ((step as u64) << 20) ^ micro as u64;
    // splitmix64: nearby inputs give unrelated seeds.
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    tch::manual_seed((x ^ (x >> 31)) as i64 & i64::MAX);
}

impl<'a> Trainer<'a> {
    pub fn new(args: TrainingArgs, task: &'a dyn Task, vs: &'a VarStore) -> Result<Trainer<'a>> {
        args.validate()
            .map_err(anyhow::Error::msg)
            .context("invalid training arguments")?;
        let device = vs.device();
        Ok(Trainer {
            args,
            task,
            vs,
            device,
            callbacks: Vec::new(),
            second: None,
            reporter: crate::reporter::silent(),
        })
    }

    /// Where the loop's messages and progress lines go (none by default).
    pub fn with_reporter(mut self, reporter: Arc<dyn Reporter>) -> Self {
        self.reporter = reporter;
        self
    }

    /// Adds a callback; callbacks run in the order added, before the loop's own.
    pub fn add_callback(&mut self, callback: Box<dyn Callback + 'a>) {
        self.callbacks.push(callback);
    }

    /// A second training loader (unlabelled target-domain data, say): each training
    /// micro-batch draws its next batch, which callbacks see as [`MicroBatch::second`]. It runs
    /// through its epochs independently of the main loader, and its position is checkpointed.
    pub fn with_second_loader(mut self, loader: &'a Loader) -> Self {
        self.second = Some(loader);
        self
    }

    /// Evaluates on all of a loader's data, in eval mode, without gradients. Evaluation loaders
    /// use a sampler without randomness (`Sequential` or `ByLength`), so epoch 0 is all the data.
    pub fn evaluate(&self, loader: &Loader) -> Result<EvalResult> {
        let mut evaluation = self.task.new_evaluation()?;
        for host in loader.epoch(0) {
            let host = host?;
            if host.batch_size() == 0 {
                continue;
            }
            let batch = TensorBatch::from_host(&host, self.device)?;
            self.task.evaluate_batch(&batch, &host, &mut evaluation)?;
            crate::fault::point("evaluate");
        }
        evaluation.finish()
    }

    /// The loop's own callbacks after the ones added: L2-SP, early stopping, progress, JSON log.
    fn callbacks_for_fit<'m>(
        &mut self,
        groups: &[ft_models::LayerGroup],
        messages: &'m RefCell<Vec<(Level, String)>>,
    ) -> Result<Callbacks<'a, 'm>> {
        let args = &self.args;
        let mut list = std::mem::take(&mut self.callbacks);
        if let Some(alpha) = args.l2sp_alpha {
            // Anchored at the weights the job loaded, before a resume replaces them.
            list.push(Box::new(crate::l2sp::L2SpCallback(optim_setup::l2sp(
                self.vs, groups, alpha,
            ))));
        }
        if let Some(stopper) = EarlyStopping::from_args(args) {
            list.push(Box::new(stopper));
        }
        list.push(Box::new(crate::progress::Progress::new(
            args.quiet,
            self.reporter.clone(),
        )));
        list.push(Box::new(crate::log::JsonLog::new()));
        let mut names = std::collections::BTreeSet::new();
        for cb in &list {
            if !names.insert(cb.name().to_string()) {
                bail!(
                    "two callbacks are named `{}`: callback names must be unique",
                    cb.name()
                );
            }
        }
        Ok(Callbacks { list, messages })
    }

    pub fn fit(&mut self, train: &Loader, eval: Option<&Loader>) -> Result<TrainOutcome> {
        let args = self.args.clone();
        let out = args.output_dir.clone();
        std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
        if args.eval_strategy != IntervalStrategy::No && eval.is_none() {
            bail!(
                "eval_strategy is {:?} but no evaluation data was given",
                args.eval_strategy
            );
        }
        let accum = args.gradient_accumulation_steps;
        let batches_per_epoch = train.num_batches();
        if batches_per_epoch == 0 {
            bail!("the training set yields no batch");
        }
        let steps_per_epoch = batches_per_epoch.div_ceil(accum);
        let total_steps = args
            .max_steps
            .unwrap_or_else(|| (args.num_train_epochs * steps_per_epoch as f64).ceil() as usize);
        let epochs = total_steps.div_ceil(steps_per_epoch);

        crate::amp::check(&args, self.device)?;
        let mut scaler = args.fp16.then(crate::amp::LossScaler::default);
        let (task, vs) = (self.task, self.vs);
        let groups = task.layer_groups();
        let freeze = optim_setup::freeze_plan(&args, groups)?;
        let schedule = optim_setup::schedule(&args, total_steps)?;
        let mut optimizer = optim_setup::optimizer(&args)?;
        let mut state = TrainerState::default();
        let messages = RefCell::new(Vec::new());
        let say = |level: Level, text: String| messages.borrow_mut().push((level, text));
        let mut cbs = self.callbacks_for_fit(groups, &messages)?;

        // What killed runs left half-written is never a checkpoint: out of the way first.
        checkpoint::remove_leftovers(&out)?;
        let resume_dir = match &args.resume_from_checkpoint {
            Some(spec) => {
                let found = checkpoint::resolve_resume(&out, spec, &mut |line| {
                    say(Level::Notice, line.to_string())
                })?;
                if found.is_none() {
                    say(
                        Level::Notice,
                        format!(
                            "no checkpoint in {} yet: starting from the beginning",
                            out.display()
                        ),
                    );
                }
                found
            }
            None => None,
        };
        if let Some(dir) = &resume_dir {
            checkpoint::check_same_args(dir, &args)?;
            checkpoint::load_weights_exact(vs, &dir.join(MODEL_FILE))?;
            let optimizer_file = dir.join(OPTIMIZER_FILE);
            optimizer
                .load_state(ft_models::st::read(&optimizer_file)?)
                .with_context(|| format!("loading {}", optimizer_file.display()))?;
            state = checkpoint::read_state(dir)?;
            cbs.restore(dir, &mut state)?;
            say(
                Level::Notice,
                format!(
                    "resuming from {} (global step {})",
                    dir.display(),
                    state.global_step
                ),
            );
        }
        let resumed = resume_dir.is_some();
        checkpoint::write_json(&out.join("training_args.json"), &args)?;
        let mut second = self.second.map(|loader| {
            let (epoch, done) = state.second_loader.unwrap_or((0, 0));
            Second {
                loader,
                epoch,
                done,
                iter: None,
            }
        });
        if second.as_ref().is_some_and(|s| s.loader.num_batches() == 0) {
            bail!("the second training loader yields no batch");
        }
        // A context for the callbacks at the current position.
        macro_rules! ctx {
            ($state:expr, $epoch:expr) => {
                Context::new(
                    &args,
                    $state,
                    (total_steps, epochs, $epoch),
                    resumed,
                    vs,
                    task,
                    &out,
                    &messages,
                )
            };
        }

        let started = Instant::now();
        let mut samples = 0usize;
        // Throughput since the last log record; the losses of those steps live in `state`.
        let mut window = (Instant::now(), 0usize); // since, samples
        let mut stopped_early = false;
        let mut printed_freeze = None;

        if let Some(signal) = crate::interrupt::requested() {
            return Err(crate::interrupt::Interrupted {
                step: state.global_step,
                checkpoint: None,
                signal,
            }
            .into());
        }
        cbs.flush();
        cbs.each(|cb| cb.on_train_begin(&ctx!(&state, state.epoch)))?;
        crate::interrupt::set_phase(crate::interrupt::Phase::Training);
        'epochs: for epoch in state.epoch..epochs {
            // A run resumed from its final checkpoint has no step left to take.
            if state.global_step >= total_steps {
                break;
            }
            let summary = freeze.apply(vs, epoch);
            let table = summary.to_string();
            if printed_freeze.as_ref() != Some(&table) && !args.quiet {
                say(
                    Level::Detail,
                    format!(
                        "epoch {}: trainable parameters by group\n{table}",
                        epoch + 1
                    ),
                );
                printed_freeze = Some(table);
            }
            cbs.each(|cb| cb.on_epoch_begin(&ctx!(&state, epoch)))?;
            let modes = freeze.modes(epoch);
            let mut pgroups: Vec<ParamGroup> = optim_setup::param_groups(&args, vs, groups)?;
            pgroups.extend(cbs.param_groups(args.weight_decay));
            let skip = if epoch == state.epoch {
                state.batches_done_in_epoch
            } else {
                0
            };
            let mut iter = train.epoch_from(epoch as u64, skip).peekable();
            let mut done_in_epoch = skip;
            while iter.peek().is_some() {
                // One optimizer step over up to `accum` micro-batches.
                let mut loss_sum = 0.0;
                let mut count = 0.0;
                let mut micro = 0;
                cbs.each(|cb| cb.on_step_begin(&ctx!(&state, epoch)))?;
                while micro < accum {
                    let Some(host) = iter.next() else { break };
                    let host = host?;
                    if host.batch_size() == 0 {
                        // Every image of this batch was skipped as unreadable (skip_bad_images).
                        done_in_epoch += 1;
                        continue;
                    }
                    let batch = TensorBatch::from_host(&host, self.device)?;
                    let second_batch = match &mut second {
                        Some(s) => Some(s.next(self.device)?),
                        None => None,
                    };
                    reseed(args.seed, state.global_step, micro);
                    // tch's autocast toggles libtorch's deprecated global switch, which warns on
                    // every call in CUDA builds: only fp16 runs go through it.
                    let mut forward = || -> Result<(Tensor, f64)> {
                        let loss = task.loss(&batch, &modes)?;
                        let mut total = loss.sum.shallow_clone();
                        let mb = MicroBatch {
                            batch: &batch,
                            loss: &loss,
                            modes: &modes,
                            second: second_batch.as_ref(),
                            micro,
                        };
                        let ctx = ctx!(&state, epoch);
                        for cb in cbs.list.iter_mut() {
                            if let Some(term) = cb.micro_batch_loss(&ctx, &mb)? {
                                total += term;
                            }
                        }
                        Ok((total, loss.count))
                    };
                    let (loss, targets) = if scaler.is_some() {
                        tch::autocast(true, forward)?
                    } else {
                        forward()?
                    };
                    let value = loss.double_value(&[]);
                    if !value.is_finite() {
                        bail!(
                            "the loss became {value} at global step {} (epoch {}, micro-batch {}); training stopped. \
                             {}; try a lower learning_rate or max_grad_norm",
                            state.global_step + 1, epoch + 1, micro + 1, last_good(&out)
                        );
                    }
                    match &scaler {
                        Some(s) => (&loss * s.scale).backward(),
                        None => loss.backward(),
                    }
                    loss_sum += value;
                    count += targets;
                    samples += batch.size;
                    window.1 += batch.size;
                    micro += 1;
                    done_in_epoch += 1;
                }
                cbs.flush();
                let loss_scale = scaler.as_ref().map_or(1.0, |s| s.scale);
                if count > 0.0 {
                    optim_setup::scale_grads(&pgroups, 1.0 / (count * loss_scale));
                }
                let mut step_terms: Option<Tensor> = None;
                {
                    let ctx = ctx!(&state, epoch);
                    for cb in cbs.list.iter_mut() {
                        if let Some(term) = cb.step_loss(&ctx)? {
                            step_terms = Some(match step_terms {
                                Some(t) => t + term,
                                None => term,
                            });
                        }
                    }
                }
                if let Some(terms) = step_terms {
                    terms.backward();
                }
                cbs.each(|cb| cb.on_after_backward(&ctx!(&state, epoch), &pgroups))?;
                let grad_norm = if args.max_grad_norm > 0.0 || scaler.is_some() {
                    let max = if args.max_grad_norm > 0.0 {
                        args.max_grad_norm
                    } else {
                        f64::INFINITY
                    };
                    Some(ft_optim::clip::clip_grad_norm(&pgroups, max))
                } else {
                    None
                };
                let apply = match (&mut scaler, grad_norm) {
                    (Some(s), Some(n)) => s.update(n),
                    _ => true,
                };
                if let Some(n) = grad_norm.filter(|n| !n.is_finite() && scaler.is_none()) {
                    bail!(
                        "the gradient norm became {n} at global step {} (epoch {}); training stopped before \
                         applying it. {}; try a lower learning_rate",
                        state.global_step + 1,
                        epoch + 1,
                        last_good(&out)
                    );
                }
                let lr = schedule.lr_at(state.global_step);
                if apply {
                    optimizer.step(&pgroups, lr)?;
                } else {
                    say(
                        Level::Detail,
                        format!(
                            "fp16: gradients overflowed at step {}; step skipped, loss scale now {}",
                            state.global_step + 1,
                            scaler.as_ref().map_or(0.0, |s| s.scale)
                        ),
                    );
                }
                optimizer.zero_grad(&pgroups);
                state.global_step += 1;
                state.batches_done_in_epoch = done_in_epoch;
                state.second_loader = second.as_ref().map(|s| (s.epoch, s.done));
                let step_loss = if count > 0.0 { loss_sum / count } else { 0.0 };
                state.unlogged_loss_sum += step_loss;
                state.unlogged_steps += 1;
                crate::fault::point("step-end");
                let epoch_f = epoch as f64 + done_in_epoch as f64 / batches_per_epoch as f64;
                let mut control = Control::default();
                let info = StepInfo {
                    loss: step_loss,
                    learning_rate: lr,
                    applied: apply,
                };
                cbs.each(|cb| cb.on_step_end(&ctx!(&state, epoch), &info, &mut control))?;

                if state.global_step % args.logging_steps.max(1) == 0
                    || state.global_step == total_steps
                {
                    let secs = window.0.elapsed().as_secs_f64().max(1e-9);
                    let mean_loss = state.unlogged_loss_sum / state.unlogged_steps.max(1) as f64;
                    let mut record = json!({
                        "step": state.global_step, "epoch": round4(epoch_f),
                        "loss": mean_loss, "learning_rate": lr,
                        "samples_per_second": window.1 as f64 / secs,
                    });
                    if let Some(n) = grad_norm {
                        record["grad_norm"] = json!(n);
                    }
                    cbs.each(|cb| cb.on_log(&ctx!(&state, epoch), &mut record))?;
                    state.log_history.push(record);
                    window = (Instant::now(), 0);
                    state.unlogged_loss_sum = 0.0;
                    state.unlogged_steps = 0;
                }

                let finished = state.global_step >= total_steps;
                let epoch_end = iter.peek().is_none();
                if epoch_end {
                    state.epoch = epoch + 1;
                    state.batches_done_in_epoch = 0;
                    cbs.each(|cb| cb.on_epoch_end(&ctx!(&state, epoch), &mut control))?;
                }
                let eval_now = control.should_evaluate
                    || match args.eval_strategy {
                        IntervalStrategy::Steps => {
                            state.global_step % args.eval_steps.unwrap_or(args.logging_steps).max(1)
                                == 0
                        }
                        IntervalStrategy::Epoch => epoch_end,
                        IntervalStrategy::No => false,
                    };
                // Logged throughput is training throughput: evaluation and saving are not in it.
                let paused = Instant::now();
                if eval_now {
                    let Some(eval) = eval else {
                        bail!(
                            "a callback asked for an evaluation, but no evaluation data was given"
                        );
                    };
                    let result = self.evaluate(eval)?;
                    let mut record = json!({"step": state.global_step, "epoch": round4(epoch_f)});
                    for (k, v) in &result.metrics {
                        record[format!("eval_{k}")] = json!(v);
                    }
                    cbs.each(|cb| cb.on_log(&ctx!(&state, epoch), &mut record))?;
                    state.log_history.push(record);
                    crate::early_stopping::track_best(
                        &args,
                        &result,
                        state.global_step,
                        &mut state,
                    )?;
                    cbs.each(|cb| cb.on_evaluate(&ctx!(&state, epoch), &result, &mut control))?;
                }
                let save_now = control.should_save
                    || match args.save_strategy {
                        IntervalStrategy::Steps => state.global_step % args.save_steps.max(1) == 0,
                        IntervalStrategy::Epoch => epoch_end,
                        IntervalStrategy::No => false,
                    };
                macro_rules! save {
                    () => {
                        self.save_checkpoint(
                            &out,
                            &state,
                            optimizer.as_ref(),
                            &mut cbs,
                            ctx!(&state, epoch),
                        )?
                    };
                }
                if save_now {
                    save!();
                }
                window.0 += paused.elapsed();
                if let Some(signal) = crate::interrupt::requested() {
                    // A signal during training leaves a checkpoint of the step it finished.
                    if !save_now {
                        save!();
                    }
                    return Err(crate::interrupt::Interrupted {
                        step: state.global_step,
                        checkpoint: Some(checkpoint::checkpoint_dir(&out, state.global_step)),
                        signal,
                    }
                    .into());
                }
                if control.should_stop {
                    stopped_early = true;
                    break 'epochs;
                }
                if finished {
                    break 'epochs;
                }
            }
        }
        let last_epoch = state.epoch.saturating_sub(1);
        cbs.each(|cb| cb.on_train_end(&ctx!(&state, last_epoch)))?;
        crate::interrupt::set_phase(crate::interrupt::Phase::Finishing);
        crate::fault::point("training-finished");
        let train_seconds = started.elapsed().as_secs_f64();

        let best_checkpoint = state
            .best_step
            .map(|s| checkpoint::checkpoint_dir(&out, s))
            .filter(|p| p.join(MODEL_FILE).is_file());
        if args.load_best_model_at_end {
            match &best_checkpoint {
                Some(dir) => {
                    checkpoint::load_weights_exact(vs, &dir.join(MODEL_FILE))?;
                    say(
                        Level::Detail,
                        format!(
                            "restored the best model (step {}, {} = {:.4})",
                            state.best_step.unwrap_or(0),
                            args.best_metric(),
                            state.best_metric.unwrap_or(f64::NAN)
                        ),
                    );
                }
                None if args.save_strategy == IntervalStrategy::No => {
                    say(Level::Detail, "load_best_model_at_end: no checkpoint was saved (save_strategy = no); keeping the last weights".into())
                }
                None => {}
            }
        }
        cbs.flush();
        task.save(vs, &out)?;
        crate::fault::point("final-save");
        let evaluations: Vec<serde_json::Value> = state
            .log_history
            .iter()
            .filter(|r| {
                r.as_object()
                    .is_some_and(|o| o.keys().any(|k| k.starts_with("eval_")))
            })
            .cloned()
            .collect();
        Ok(TrainOutcome {
            global_step: state.global_step,
            epochs_completed: state.epoch,
            stopped_early,
            best_metric: state.best_metric,
            best_checkpoint,
            evaluations,
            train_seconds,
            train_samples_per_second: samples as f64 / train_seconds.max(1e-9),
            log_history: state.log_history,
        })
    }

    fn save_checkpoint(
        &self,
        out: &Path,
        state: &TrainerState,
        optimizer: &dyn ft_optim::optimizer::Optimizer,
        cbs: &mut Callbacks,
        ctx: Context,
    ) -> Result<()> {
        let args = &self.args;
        let (json, tensors) = cbs.save_state()?;
        let saved = TrainerState {
            callbacks: json,
            ..state.clone()
        };
        let dir = checkpoint::save(out, state.global_step, |dir| {
            self.task.save(self.vs, dir)?;
            ft_models::st::write_atomic(&dir.join(OPTIMIZER_FILE), &optimizer.state())?;
            if !tensors.is_empty() {
                ft_models::st::write_atomic(&dir.join(CALLBACKS_FILE), &tensors)?;
            }
            checkpoint::write_json(&dir.join(STATE_FILE), &saved)?;
            checkpoint::write_json(&dir.join("training_args.json"), args)?;
            Ok(())
        })?;
        if let Some(limit) = args.save_total_limit {
            checkpoint::rotate(out, limit, state.best_step)?;
        }
        cbs.each(|cb| cb.on_save(&ctx, &dir))?;
        Ok(())
    }
}

/// What a failed run can tell about its checkpoints.
fn last_good(out: &Path) -> String {
    match checkpoint::latest_complete(out).0 {
        Some(dir) => format!("The last good checkpoint, {}, is kept", dir.display()),
        None => "No checkpoint was saved before it".into(),
    }
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// `accuracy 0.8123, loss 0.4321, …` with the most telling metrics first.
pub fn summarize(result: &EvalResult) -> String {
    let order = [
        "accuracy",
        "f1_macro",
        "entity_f1",
        "pearson",
        "r2",
        "perplexity",
        "elbo",
        "loss",
    ];
    let mut parts: Vec<String> = order
        .iter()
        .filter_map(|k| result.metrics.get(*k).map(|v| format!("{k} {v:.4}")))
        .collect();
    if parts.is_empty() {
        parts = result
            .metrics
            .iter()
            .take(4)
            .map(|(k, v)| format!("{k} {v:.4}"))
            .collect();
    }
    parts.join(", ")
}
