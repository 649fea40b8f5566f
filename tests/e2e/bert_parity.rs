//! BERT against transformers on real MiniLM weights and real Rotten Tomatoes sentences:
//! hidden states, pooler, a seeded head's logits, loss and gradients, and the save → transformers
//! load round trip. Tolerance: max|ours − ref| ≤ 1e-4 · max(1, max|ref|), non-padding positions.
use ft_models::bert::{BertConfig, BertForTask, BertModel, BertTask};
use ft_models::GroupModes;
use ft_tests::{asset, python_reference, python_run, rel_max_diff};
use std::collections::HashMap;
use tch::nn::VarStore;
use tch::Tensor;

const TOL: f64 = 1e-4;

fn reference() -> HashMap<String, Tensor> {
    let model = asset("minilm-l6");
    let corpus = asset("rotten-tomatoes").join("rotten_tomatoes_corpus.csv.bz2");
    let path = python_reference(
        "bert_reference.py",
        &[model.to_str().unwrap(), corpus.to_str().unwrap()],
        "bert_reference.safetensors",
    )
    .unwrap();
    Tensor::read_safetensors(path)
        .unwrap()
        .into_iter()
        .collect()
}

#[test]
fn encoder_hidden_states_and_pooler_match_transformers() {
    let _rng = ft_tests::torch_rng_lock();
    let r = reference();
    let dir = asset("minilm-l6");
    let config = BertConfig::from_dir(&dir).unwrap();
    let vs = VarStore::new(tch::Device::Cpu);
    let model = BertModel::new(&vs.root(), &config, true);
    let checkpoint = ft_models::st::read(&dir.join("model.safetensors")).unwrap();
    let vars = vs.variables();
    tch::no_grad(|| {
        for (name, t) in checkpoint {
            if let Some(mut v) = vars.get(&name).map(|v| v.shallow_clone()) {
                v.copy_(&t);
            }
        }
    });
    let mask = &r["attention_mask"];
    let out = tch::no_grad(|| {
        model.forward(
            &r["input_ids"],
            Some(mask),
            Some(&r["token_type_ids"]),
            &GroupModes::all(8, false),
        )
    });
    assert!(
        mask.sum(tch::Kind::Int64).int64_value(&[]) < mask.numel() as i64,
        "the batch has padding"
    );
    let d_hidden = rel_max_diff(&out.last_hidden_state, &r["last_hidden_state"], Some(mask));
    let d_pool = rel_max_diff(
        out.pooler_output.as_ref().unwrap(),
        &r["pooler_output"],
        None,
    );
    // The relative form divides by max|ref| (≈ 5.8 for MiniLM's hidden states); say the absolute too.
    let scale = r["last_hidden_state"]
        .abs()
        .max()
        .double_value(&[])
        .max(1.0);
    println!(
        "max rel diff: last_hidden_state {d_hidden:.2e} (abs {:.2e}), pooler_output {d_pool:.2e}",
        d_hidden * scale
    );
    assert!(d_hidden <= TOL, "last_hidden_state differs by {d_hidden:e}");
    assert!(d_pool <= TOL, "pooler_output differs by {d_pool:e}");
}

fn classifier_with_reference_head(r: &HashMap<String, Tensor>) -> (VarStore, BertForTask) {
    let dir = asset("minilm-l6");
    let config = BertConfig::from_dir(&dir).unwrap();
    let vs = VarStore::new(tch::Device::Cpu);
    let model = BertForTask::new(
        &vs.root(),
        &config,
        BertTask::SequenceClassification { num_labels: 2 },
    )
    .unwrap();
    model
        .load_pretrained(&vs, &dir.join("model.safetensors"))
        .unwrap();
    let vars = vs.variables();
    tch::no_grad(|| {
        for name in ["classifier.weight", "classifier.bias"] {
            vars[name].shallow_clone().copy_(&r[name]);
        }
    });
    (vs, model)
}

#[test]
fn classification_logits_loss_and_gradients_match_transformers() {
    let _rng = ft_tests::torch_rng_lock();
    let r = reference();
    let (vs, model) = classifier_with_reference_head(&r);
    let modes = GroupModes::all(model.layer_groups().len(), false);
    let logits = model.forward(
        &r["input_ids"],
        Some(&r["attention_mask"]),
        Some(&r["token_type_ids"]),
        &modes,
    );
    let loss = model.loss(&logits, &r["labels"]);
    loss.backward();
    let d_logits = rel_max_diff(&logits, &r["logits"], None);
    let d_loss = rel_max_diff(&loss.view([1]), &r["loss"], None);
    println!("max rel diff: logits {d_logits:.2e}, loss {d_loss:.2e}");
    assert!(d_logits <= TOL && d_loss <= TOL);
    let vars = vs.variables();
    for (name, grad_ref) in r
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("grad.").map(|n| (n, v)))
    {
        let grad = vars[name].grad();
        let d = rel_max_diff(&grad, grad_ref, None);
        println!("max rel diff: grad {name} {d:.2e}");
        assert!(d <= TOL, "gradient of {name} differs by {d:e}");
    }
}

#[test]
fn saved_model_loads_in_transformers_with_the_same_logits() {
    let _rng = ft_tests::torch_rng_lock();
    let r = reference();
    let (vs, mut model) = classifier_with_reference_head(&r);
    model
        .config
        .set_labels(&["rotten".to_string(), "fresh".to_string()]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    model.save_pretrained(&vs, &dir).unwrap();

    let inputs = tmp.path().join("inputs.safetensors");
    let batch: Vec<(String, Tensor)> = ["input_ids", "attention_mask", "token_type_ids"]
        .iter()
        .map(|n| (n.to_string(), r[*n].shallow_clone()))
        .collect();
    ft_models::st::write_atomic(&inputs, &batch).unwrap();
    let out = tmp.path().join("logits.safetensors");
    let printed = python_run("bert_roundtrip.py", &[&dir, &inputs, &out]).unwrap();
    assert!(
        printed.contains("BertForSequenceClassification") && printed.contains("fresh"),
        "{printed}"
    );

    let theirs = &Tensor::read_safetensors(&out).unwrap()[0].1;
    let modes = GroupModes::all(model.layer_groups().len(), false);
    let ours = tch::no_grad(|| {
        model.forward(
            &r["input_ids"],
            Some(&r["attention_mask"]),
            Some(&r["token_type_ids"]),
            &modes,
        )
    });
    let d = rel_max_diff(&ours, theirs, None);
    println!("round trip: max rel diff of logits {d:.2e}");
    assert!(d <= TOL, "transformers' logits differ by {d:e}");

    // And back: ft loads its own saved directory with nothing missing or new.
    let vs2 = VarStore::new(tch::Device::Cpu);
    let config = BertConfig::from_dir(&dir).unwrap();
    assert_eq!(config.labels().unwrap(), vec!["rotten", "fresh"]);
    let again = BertForTask::new(
        &vs2.root(),
        &config,
        BertTask::SequenceClassification { num_labels: 2 },
    )
    .unwrap();
    let report = again
        .load_pretrained(&vs2, &dir.join("model.safetensors"))
        .unwrap();
    assert!(
        report.newly_initialised.is_empty() && report.ignored.is_empty(),
        "{report}"
    );
}
