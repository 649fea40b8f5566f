//! GPT-2 against transformers on seeded random weights (tiny config: 2 layers, 64 wide,
//! vocabulary 100): logits, loss and gradients on a right-padded batch, the upstream file layout,
//! greedy generation with the KV cache, and the save → transformers load round trip.
//! Tolerance: max|ours − ref| ≤ 1e-4 · max(1, max|ref|) over the non-padding positions.
use ft_models::gpt2::{generate, GenerateOptions, Gpt2Config, Gpt2LMHeadModel};
use ft_models::GroupModes;
use ft_tests::{python_reference, python_run, rel_max_diff};
use std::collections::HashMap;
use std::path::PathBuf;
use tch::nn::VarStore;
use tch::Tensor;

const TOL: f64 = 1e-4;

/// The folder `gpt2_reference.py` writes: `model/`, `upstream.safetensors`, `reference.safetensors`.
fn reference_dir() -> PathBuf {
    python_reference("gpt2_reference.py", &[], "gpt2_reference").unwrap()
}

fn reference() -> HashMap<String, Tensor> {
    Tensor::read_safetensors(reference_dir().join("reference.safetensors"))
        .unwrap()
        .into_iter()
        .collect()
}

fn load(file: &str) -> (VarStore, Gpt2LMHeadModel, ft_models::loading::LoadReport) {
    let dir = reference_dir();
    let config = Gpt2Config::from_dir(&dir.join("model")).unwrap();
    let vs = VarStore::new(tch::Device::Cpu);
    let model = Gpt2LMHeadModel::new(&vs.root(), &config).unwrap();
    let report = model.load_pretrained(&vs, &dir.join(file)).unwrap();
    (vs, model, report)
}

fn eval_modes(model: &Gpt2LMHeadModel) -> GroupModes {
    GroupModes::all(model.layer_groups().len(), false)
}

#[test]
fn logits_loss_and_gradients_match_transformers() {
    let _rng = ft_tests::torch_rng_lock();
    let r = reference();
    let (vs, model, report) = load("model/model.safetensors");
    assert!(
        report.ignored.is_empty() && report.loaded == vs.variables().len(),
        "{report}"
    );
    let mask = &r["attention_mask"];
    let logits = model
        .forward(&r["input_ids"], Some(mask), None, &eval_modes(&model))
        .unwrap();
    let loss = model.loss(&logits, &r["labels"]);
    loss.backward();
    let d_logits = rel_max_diff(&logits, &r["logits"], Some(mask));
    let d_loss = rel_max_diff(&loss.view([1]), &r["loss"], None);
    println!(
        "max rel diff: logits {d_logits:.2e}, loss {d_loss:.2e} (loss {:.6} vs {:.6})",
        loss.double_value(&[]),
        r["loss"].double_value(&[0])
    );
    assert!(d_logits <= TOL, "logits differ by {d_logits:e}");
    assert!(d_loss <= TOL, "loss differs by {d_loss:e}");
    let vars = vs.variables();
    for (name, grad_ref) in r
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("grad.").map(|n| (n, v)))
    {
        let d = rel_max_diff(&vars[name].grad(), grad_ref, None);
        println!("max rel diff: grad {name} {d:.2e}");
        assert!(d <= TOL, "gradient of {name} differs by {d:e}");
    }
}

#[test]
fn upstream_layout_loads_with_buffers_and_tied_head_ignored() {
    let _rng = ft_tests::torch_rng_lock();
    let r = reference();
    let (_vs, model, report) = load("upstream.safetensors");
    assert_eq!(
        report.ignored,
        [
            "h.0.attn.bias",
            "h.0.attn.masked_bias",
            "h.1.attn.bias",
            "h.1.attn.masked_bias",
            "lm_head.weight"
        ]
    );
    let mask = &r["attention_mask"];
    let logits =
        tch::no_grad(|| model.forward(&r["input_ids"], Some(mask), None, &eval_modes(&model)))
            .unwrap();
    let d = rel_max_diff(&logits, &r["logits"], Some(mask));
    assert!(d <= TOL, "logits from the upstream layout differ by {d:e}");

    // An untied head is refused with the file named, not silently dropped.
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("untied.safetensors");
    let mut tensors = ft_models::st::read(&reference_dir().join("upstream.safetensors")).unwrap();
    for (name, t) in tensors.iter_mut() {
        if name == "lm_head.weight" {
            *t = &*t + 1.0;
        }
    }
    ft_models::st::write_atomic(&bad, &tensors).unwrap();
    let vs = VarStore::new(tch::Device::Cpu);
    let again = Gpt2LMHeadModel::new(&vs.root(), &model.config).unwrap();
    let err = again.load_pretrained(&vs, &bad).unwrap_err().to_string();
    assert!(
        err.contains("untied.safetensors") && err.contains("lm_head.weight"),
        "{err}"
    );
}

#[test]
fn greedy_generation_with_the_cache_matches_transformers() {
    let _rng = ft_tests::torch_rng_lock();
    let r = reference();
    let (_vs, model, _) = load("model/model.safetensors");
    for i in 0..2 {
        let prompt = Vec::<i64>::try_from(&r[&format!("greedy.{i}.prompt")]).unwrap();
        let want = Vec::<i64>::try_from(&r[&format!("greedy.{i}.output")]).unwrap();
        let got = generate(&model, &prompt, &GenerateOptions::greedy(want.len())).unwrap();
        assert_eq!(got, want, "greedy continuation of prompt {i}");
    }

    // The cache changes the cost, not the numbers: step-by-step logits equal one full pass.
    let ids = r["input_ids"].narrow(0, 0, 1);
    let modes = eval_modes(&model);
    let full = tch::no_grad(|| model.forward(&ids, None, None, &modes)).unwrap();
    let mut cache = model.new_cache();
    let first =
        tch::no_grad(|| model.forward(&ids.narrow(1, 0, 9), None, Some(&mut cache), &modes))
            .unwrap();
    let second =
        tch::no_grad(|| model.forward(&ids.narrow(1, 9, 3), None, Some(&mut cache), &modes))
            .unwrap();
    let third =
        tch::no_grad(|| model.forward(&ids.narrow(1, 12, 1), None, Some(&mut cache), &modes))
            .unwrap();
    let stepped = Tensor::cat(&[first, second, third], 1);
    let d = rel_max_diff(&stepped, &full.narrow(1, 0, 13), None);
    println!("cached vs full forward: max rel diff {d:.2e}");
    assert!(d <= TOL, "cached logits differ by {d:e}");
    assert_eq!(cache.len(), 13);
}

#[test]
fn sampling_is_reproducible_and_bad_prompts_are_errors() {
    let _rng = ft_tests::torch_rng_lock();
    let (_vs, model, _) = load("model/model.safetensors");
    let mut options = GenerateOptions::sampling(12, 7);
    options.temperature = 1.3;
    options.top_k = Some(20);
    options.top_p = Some(0.9);
    options.stop_at_eos = false;
    let a = generate(&model, &[5, 17, 42], &options).unwrap();
    // Torch's global generator must not matter.
    tch::manual_seed(123);
    let b = generate(&model, &[5, 17, 42], &options).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), 12);
    options.seed = 8;
    let c = generate(&model, &[5, 17, 42], &options).unwrap();
    assert_ne!(a, c, "another seed gives another sample");

    let long: Vec<i64> = (0..30).collect();
    let err = generate(&model, &long, &GenerateOptions::greedy(5))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("30 tokens") && err.contains("context of 32"),
        "{err}"
    );
    let err = generate(&model, &[], &GenerateOptions::greedy(5))
        .unwrap_err()
        .to_string();
    assert!(err.contains("empty"), "{err}");
    let err = generate(&model, &[100], &GenerateOptions::greedy(5))
        .unwrap_err()
        .to_string();
    assert!(err.contains("vocabulary"), "{err}");
    let too_long = Tensor::zeros([1, 33], (tch::Kind::Int64, tch::Device::Cpu));
    let err = model
        .forward(&too_long, None, None, &eval_modes(&model))
        .unwrap_err()
        .to_string();
    assert!(err.contains("n_positions = 32"), "{err}");
}

#[test]
fn saved_model_loads_in_transformers_with_the_same_logits() {
    let _rng = ft_tests::torch_rng_lock();
    let r = reference();
    let (vs, model, _) = load("upstream.safetensors");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    model.save_pretrained(&vs, &dir).unwrap();
    let inputs = tmp.path().join("inputs.safetensors");
    let batch: Vec<(String, Tensor)> = ["input_ids", "attention_mask"]
        .iter()
        .map(|n| (n.to_string(), r[*n].shallow_clone()))
        .collect();
    ft_models::st::write_atomic(&inputs, &batch).unwrap();
    let out = tmp.path().join("logits.safetensors");
    let printed = python_run("gpt2_roundtrip.py", &[&dir, &inputs, &out]).unwrap();
    assert!(printed.contains("GPT2LMHeadModel"), "{printed}");
    let theirs = &Tensor::read_safetensors(&out).unwrap()[0].1;
    let d = rel_max_diff(theirs, &r["logits"], Some(&r["attention_mask"]));
    println!("round trip: max rel diff of logits {d:.2e}");
    assert!(d <= TOL, "transformers' logits differ by {d:e}");
}
