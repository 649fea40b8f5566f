//! The offline causal-LM showcase: pre-train a small GPT-2 on Rotten Tomatoes reviews of both
//! classes, fine-tune it on `fresh` reviews, and compare held-out `fresh` perplexity with a model
//! trained on `fresh` alone from scratch for the same number of steps.
//!
//! The held-out `fresh` reviews are split off first (seeded) and never seen by the BPE trainer,
//! phase 1 or phase 2. The CI test runs the same pipeline at toy size on the small corpus; the
//! real numbers come from the ignored test (full run: cargo xtask test --full).
use ft_data::lm::{encode_documents, pack, read_documents, train_bpe_to, BpeOptions, END_OF_TEXT};
use ft_data::text::{CsvSpec, Example, LabelFilter, Target, TextInput, Tokenizer};
use ft_data::{split_seeded, Collator, Loader, Sampler, SplitSizes};
use ft_jobs::lm::{generate_text, LmTask};
use ft_models::gpt2::{GenerateOptions, Gpt2Config, Gpt2LMHeadModel};
use ft_tests::asset;
use ft_train::{Trainer, TrainingArgs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tch::nn::VarStore;

struct Size {
    corpus: &'static str,
    heldout: usize,
    vocab: usize,
    n_layer: i64,
    n_embd: i64,
    n_head: i64,
    block: usize,
    batch: usize,
    phase1_steps: usize,
    phase2_steps: usize,
}

struct Outcome {
    pretrained_ppl: f64,
    finetuned_ppl: f64,
    scratch_ppl: f64,
    untrained_ppl: f64,
    samples: Vec<String>,
}

fn text(e: &Example) -> &str {
    match &e.input {
        TextInput::Single(t) => t,
        _ => unreachable!("the corpus reader yields single texts"),
    }
}

fn is_fresh(e: &Example) -> bool {
    matches!(&e.target, Target::Class(c) if c == "fresh")
}

fn loader(tok: &Tokenizer, docs: &[&Example], size: &Size, sampler: Sampler) -> Loader {
    let texts: Vec<&str> = docs.iter().map(|e| text(e)).collect();
    let ids = encode_documents(tok, &texts).unwrap();
    let eos = tok.token_to_id(END_OF_TEXT).unwrap();
    let packed = pack(&ids, eos, size.block).unwrap();
    println!("  {packed}");
    let collator = Collator::new(i64::from(eos)).without_token_type_ids();
    Loader::new(Arc::new(packed.rows()), sampler, collator, size.batch)
        .unwrap()
        .seed(42)
}

fn args(dir: &Path, lr: f64, steps: usize, batch: usize) -> TrainingArgs {
    TrainingArgs {
        output_dir: dir.to_path_buf(),
        learning_rate: lr,
        per_device_train_batch_size: batch,
        per_device_eval_batch_size: batch,
        max_steps: Some(steps),
        warmup_ratio: 0.05,
        weight_decay: 0.01,
        logging_steps: 50,
        quiet: true,
        ..Default::default()
    }
}

/// One training run: where it starts from, what it trains on, for how long.
struct Phase<'a> {
    /// A saved model directory to start from; `None` starts from random weights.
    init: Option<&'a Path>,
    train: &'a Loader,
    out: PathBuf,
    learning_rate: f64,
    steps: usize,
}

/// Builds a model, trains it as `phase` says, and returns the held-out perplexity (and the
/// trained task, for sampling).
fn train_and_eval(
    config: &Gpt2Config,
    phase: Phase,
    heldout: &Loader,
    batch: usize,
) -> (f64, VarStore, LmTask) {
    tch::manual_seed(0);
    let vs = VarStore::new(tch::Device::Cpu);
    let model = Gpt2LMHeadModel::new(&vs.root(), config).unwrap();
    if let Some(dir) = phase.init {
        let report = model
            .load_pretrained(&vs, &dir.join("model.safetensors"))
            .unwrap();
        assert!(
            report.is_ok() && report.newly_initialised.is_empty(),
            "{report}"
        );
    }
    let task = LmTask::new(model);
    let started = Instant::now();
    let args = args(&phase.out, phase.learning_rate, phase.steps.max(1), batch);
    let mut trainer = Trainer::new(args, &task, &vs).unwrap();
    if phase.steps > 0 {
        trainer.fit(phase.train, None).unwrap();
    }
    let ppl = trainer.evaluate(heldout).unwrap().metrics["perplexity"];
    // The trainer borrows the model (its callbacks may too) until it is dropped.
    drop(trainer);
    println!(
        "  {} steps in {:.1}s → held-out fresh perplexity {ppl:.2}",
        phase.steps,
        started.elapsed().as_secs_f64()
    );
    (ppl, vs, task)
}

fn run(size: &Size, work: &Path) -> Outcome {
    let started = Instant::now();
    let spec = CsvSpec::new("text")
        .label("category")
        .filter(LabelFilter::parse("fresh=fresh,rotten=rotten,plot=").unwrap());
    let corpus = asset("rotten-tomatoes").join(size.corpus);
    let docs = read_documents(&corpus, &spec).unwrap();
    let (fresh, rotten): (Vec<Example>, Vec<Example>) = docs.into_iter().partition(is_fresh);
    // Held-out fresh reviews first, before anything else looks at the data.
    let sizes = SplitSizes::Counts {
        train: fresh.len() - size.heldout,
        validation: 0,
        test: size.heldout,
    };
    let split = split_seeded(fresh, 42, sizes).unwrap();
    let (heldout, fresh_train) = (split.test, split.train);
    let phase1: Vec<&Example> = fresh_train.iter().chain(rotten.iter()).collect();
    let phase2: Vec<&Example> = fresh_train.iter().collect();
    let heldout_refs: Vec<&Example> = heldout.iter().collect();
    for e in &heldout {
        assert!(!phase1.iter().any(|p| p.location == e.location));
    }
    println!(
        "{} held-out fresh, {} fresh for phase 2, {} reviews for phase 1 and BPE",
        heldout.len(),
        phase2.len(),
        phase1.len()
    );

    let bpe_texts: Vec<&str> = phase1.iter().map(|e| text(e)).collect();
    let tok = train_bpe_to(
        &work.join("tokenizer"),
        &bpe_texts,
        &BpeOptions::new(size.vocab),
    )
    .unwrap();
    let eos = tok.token_to_id(END_OF_TEXT).unwrap() as i64;
    println!(
        "BPE: {} tokens ({:.1}s)",
        tok.vocab_size(),
        started.elapsed().as_secs_f64()
    );
    let phase1_loader = loader(&tok, &phase1, size, Sampler::Random);
    let phase2_loader = loader(&tok, &phase2, size, Sampler::Random);
    let heldout_loader = loader(&tok, &heldout_refs, size, Sampler::Sequential);
    let mut config = Gpt2Config::small(
        tok.vocab_size() as i64,
        size.block as i64,
        size.n_embd,
        size.n_layer,
        size.n_head,
        eos,
    );
    config.n_inner = Some(4 * size.n_embd);

    let phase = |init, train, name: &str, learning_rate, steps| Phase {
        init,
        train,
        out: work.join(name),
        learning_rate,
        steps,
    };
    let (p1, p2) = (size.phase1_steps, size.phase2_steps);
    println!("untrained:");
    let untrained = phase(None, &phase2_loader, "untrained", 1e-3, 0);
    let (untrained_ppl, _, _) = train_and_eval(&config, untrained, &heldout_loader, size.batch);
    println!("phase 1 (pre-training on both classes):");
    let pre_dir = work.join("pretrained");
    let pre = phase(None, &phase1_loader, "pretrained", 1e-3, p1);
    let (pretrained_ppl, _, _) = train_and_eval(&config, pre, &heldout_loader, size.batch);
    println!("phase 2 (fine-tuning on fresh):");
    let fine = phase(Some(&pre_dir), &phase2_loader, "finetuned", 5e-4, p2);
    let (finetuned_ppl, _vs, task) = train_and_eval(&config, fine, &heldout_loader, size.batch);
    println!("from scratch on fresh, same steps:");
    let scratch = phase(None, &phase2_loader, "scratch", 1e-3, p2);
    let (scratch_ppl, _, _) = train_and_eval(&config, scratch, &heldout_loader, size.batch);

    let mut samples = Vec::new();
    for (seed, prompt) in [(1, "This movie"), (2, "The film is"), (3, "A")] {
        let mut o = GenerateOptions::sampling(24, seed);
        o.top_k = Some(50);
        o.top_p = Some(0.95);
        o.temperature = 0.8;
        let text = generate_text(&task.model, &tok, prompt, &o).unwrap();
        let again = generate_text(&task.model, &tok, prompt, &o).unwrap();
        assert_eq!(text, again, "a seed reproduces its sample");
        samples.push(format!("{prompt}{text}"));
    }
    let long_prompt = "a very long review ".repeat(size.block);
    let err = generate_text(&task.model, &tok, &long_prompt, &GenerateOptions::greedy(4));
    let err = format!("{:#}", err.unwrap_err());
    assert!(err.contains("longer than the model's context"), "{err}");
    println!(
        "held-out fresh perplexity: untrained {untrained_ppl:.2}, pre-trained only \
         {pretrained_ppl:.2}, pre-trained → fine-tuned {finetuned_ppl:.2}, from scratch \
         {scratch_ppl:.2}; total {:.1}s",
        started.elapsed().as_secs_f64()
    );
    for s in &samples {
        println!("sample: {s}");
    }
    Outcome {
        pretrained_ppl,
        finetuned_ppl,
        scratch_ppl,
        untrained_ppl,
        samples,
    }
}

#[test]
fn lm_pipeline_runs_end_to_end_at_toy_size() {
    let _rng = ft_tests::torch_rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let size = Size {
        corpus: "rotten_tomatoes_corpus.csv.bz2",
        heldout: 100,
        vocab: 400,
        n_layer: 1,
        n_embd: 32,
        n_head: 2,
        block: 32,
        batch: 8,
        phase1_steps: 30,
        phase2_steps: 10,
    };
    let o = run(&size, tmp.path());
    assert!(
        o.pretrained_ppl < 0.7 * o.untrained_ppl,
        "pre-training lowers perplexity: {} vs untrained {}",
        o.pretrained_ppl,
        o.untrained_ppl
    );
    assert!(o.finetuned_ppl.is_finite() && o.scratch_ppl.is_finite());
    assert_eq!(o.samples.len(), 3);
    // The saved run loads back (phase 2 started from it) and has a tokenizer transformers reads.
    assert!(tmp.path().join("tokenizer/tokenizer.json").is_file());
}

/// Full run: cargo xtask test --full. Measured once (2 CPU cores shared with other jobs, load
/// average ~12, so ~19 minutes): held-out fresh perplexity untrained 4108.6, pre-trained only
/// 412.0, pre-trained → fine-tuned 369.4, from scratch (same 100 steps) 674.0.
#[test]
#[ignore]
fn lm_showcase_pretraining_then_fine_tuning_beats_scratch() {
    let _rng = ft_tests::torch_rng_lock();
    let work: PathBuf = ft_tests::workspace_root().join("target/lm-showcase");
    let size = Size {
        corpus: "rotten_tomatoes_corpus_full.csv.bz2",
        heldout: 700,
        vocab: 4000,
        // 4 layers × 256 (the suggestion) cost ~9 s a step on 2 shared CPU cores; at
        // this size a step takes ~1-2 s.
        n_layer: 2,
        n_embd: 128,
        n_head: 4,
        block: 64,
        batch: 16,
        phase1_steps: 250,
        phase2_steps: 100,
    };
    let o = run(&size, &work);
    assert!(
        o.finetuned_ppl < o.scratch_ppl,
        "pre-trained → fine-tuned {} should beat from scratch {}",
        o.finetuned_ppl,
        o.scratch_ppl
    );
}
