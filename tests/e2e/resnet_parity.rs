//! ResNet against torchvision on seeded random weights (BatchNorm affine parameters and running
//! statistics randomised too): eval logits, one train-mode forward's logits, loss, BatchNorm
//! buffer updates and gradients, the save → torchvision strict `load_state_dict` round trip,
//! frozen-group BatchNorm, and load errors. Tolerance: max|ours − ref| ≤ 1e-4 · max(1, max|ref|).
use ft_models::vision::{ResNetConfig, VisionConfig, VisionModel};
use ft_models::{GroupModes, ModelError};
use ft_tests::{python_reference, python_run, rel_max_diff};
use std::collections::HashMap;
use std::path::PathBuf;
use tch::nn::VarStore;
use tch::{Kind, Reduction, Tensor};

const TOL: f64 = 1e-4;
const CLASSES: i64 = 5;

/// The reference tensors and the path of torchvision's `state_dict` for `resnet{depth}`.
fn reference(depth: u32) -> (HashMap<String, Tensor>, PathBuf) {
    let depth = depth.to_string();
    let classes = CLASSES.to_string();
    let path = python_reference(
        "resnet_reference.py",
        &[&depth, &classes],
        "resnet_reference.safetensors",
    )
    .unwrap();
    let weights = path.with_file_name("weights.safetensors");
    let tensors = Tensor::read_safetensors(&path)
        .unwrap()
        .into_iter()
        .collect();
    (tensors, weights)
}

fn resnet(depth: u32, classes: i64) -> (VarStore, VisionModel) {
    let vs = VarStore::new(tch::Device::Cpu);
    let config = VisionConfig::from(ResNetConfig::new(depth, classes));
    let model = VisionModel::new(&vs.root(), &config).unwrap();
    (vs, model)
}

fn loaded(depth: u32) -> (HashMap<String, Tensor>, VarStore, VisionModel) {
    let (r, weights) = reference(depth);
    let (vs, model) = resnet(depth, CLASSES);
    let report = model.load_pretrained(&vs, &weights).unwrap();
    assert!(
        report.is_ok() && report.ignored.is_empty() && report.newly_initialised.is_empty(),
        "{report}"
    );
    assert_eq!(report.loaded, vs.variables().len());
    (r, vs, model)
}

fn eval_logits_match(depth: u32) {
    let (r, _vs, model) = loaded(depth);
    let modes = GroupModes::all(model.layer_groups().len(), false);
    let logits = tch::no_grad(|| model.forward(&r["x"], &modes));
    let d = rel_max_diff(&logits, &r["eval_logits"], None);
    println!("resnet{depth} eval logits: max rel diff {d:.2e}");
    assert!(d <= TOL, "resnet{depth} eval logits differ by {d:e}");
}

#[test]
fn resnet50_eval_logits_match_torchvision() {
    let _rng = ft_tests::torch_rng_lock();
    eval_logits_match(50);
}

#[test]
fn resnet18_eval_logits_match_torchvision() {
    let _rng = ft_tests::torch_rng_lock();
    eval_logits_match(18);
}

#[test]
fn resnet50_train_mode_step_matches_torchvision() {
    let _rng = ft_tests::torch_rng_lock();
    let (r, vs, model) = loaded(50);
    let modes = GroupModes::all(model.layer_groups().len(), true);
    let logits = model.forward(&r["x"], &modes);
    let loss = logits.cross_entropy_loss::<Tensor>(&r["labels"], None, Reduction::Mean, -100, 0.0);
    loss.backward();
    let d_logits = rel_max_diff(&logits, &r["train_logits"], None);
    let d_loss = rel_max_diff(&loss.view([1]), &r["loss"], None);
    println!("resnet50 train mode: logits {d_logits:.2e}, loss {d_loss:.2e}");
    assert!(d_logits <= TOL && d_loss <= TOL);

    let vars = vs.variables();
    let mut worst = (0.0f64, String::new());
    let mut buffers = 0;
    for (name, after) in r
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("after.").map(|n| (n, v)))
    {
        let ours = &vars[name];
        if name.ends_with("num_batches_tracked") {
            assert_eq!(ours.kind(), Kind::Int64, "{name}");
            assert_eq!(
                ours.int64_value(&[]),
                8,
                "{name} counts the train-mode forward"
            );
            assert_eq!(after.int64_value(&[]), 8);
        } else {
            let d = rel_max_diff(ours, after, None);
            if d > worst.0 {
                worst = (d, name.to_string());
            }
        }
        buffers += 1;
    }
    println!(
        "resnet50 BatchNorm buffers after the train-mode forward ({buffers}): max rel diff {:.2e} ({})",
        worst.0, worst.1
    );
    assert!(
        buffers > 150 && worst.0 <= TOL,
        "{} differs by {:e}",
        worst.1,
        worst.0
    );

    for (name, grad_ref) in r
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("grad.").map(|n| (n, v)))
    {
        let d = rel_max_diff(&vars[name].grad(), grad_ref, None);
        println!("resnet50 grad {name}: max rel diff {d:.2e}");
        assert!(d <= TOL, "gradient of {name} differs by {d:e}");
    }
}

#[test]
fn frozen_groups_keep_their_batchnorm_statistics() {
    let _rng = ft_tests::torch_rng_lock();
    let (vs, model) = resnet(18, 3);
    let groups = model.layer_groups();
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(
        names,
        ["stem", "layer1", "layer2", "layer3", "layer4", "head"]
    );
    assert_eq!(model.head_prefix(), "fc.");
    let vars = vs.variables();
    let snapshot = |name: &str| vars[name].copy();
    let stem_mean = snapshot("bn1.running_mean");
    let l4_mean = snapshot("layer4.1.bn2.running_mean");
    // Linear-probe style: everything frozen but the head … then partial: stem frozen only.
    let mut modes = GroupModes::all(groups.len(), false);
    modes.set(groups.len() - 1, true);
    let x = Tensor::randn([2, 3, 32, 32], tch::kind::FLOAT_CPU);
    let _ = model.forward(&x, &modes);
    assert!(vars["layer4.1.bn2.running_mean"].equal(&l4_mean));
    assert_eq!(vars["layer4.1.bn2.num_batches_tracked"].int64_value(&[]), 0);
    let mut modes = GroupModes::all(groups.len(), true);
    modes.set(0, false);
    let _ = model.forward(&x, &modes);
    assert!(
        vars["bn1.running_mean"].equal(&stem_mean),
        "frozen stem BN moved"
    );
    assert_eq!(vars["bn1.num_batches_tracked"].int64_value(&[]), 0);
    assert!(
        !vars["layer4.1.bn2.running_mean"].equal(&l4_mean),
        "training layer4 BN did not update"
    );
    assert_eq!(vars["layer4.1.bn2.num_batches_tracked"].int64_value(&[]), 1);
}

#[test]
fn fine_tuned_resnet50_loads_in_torchvision_with_the_same_logits() {
    let _rng = ft_tests::torch_rng_lock();
    let (r, weights) = reference(50);
    // A 3-class model from the 5-class checkpoint: fc is replaced, everything else loads.
    let (vs, mut model) = resnet(50, 3);
    let report = model.load_pretrained(&vs, &weights).unwrap();
    println!("{report}");
    assert_eq!(
        report.newly_initialised,
        ["fc.bias", "fc.weight"],
        "{report}"
    );
    assert_eq!(report.ignored, ["fc.bias", "fc.weight"], "{report}");
    assert_eq!(report.loaded, vs.variables().len() - 2);

    // "Fine-tune": one train-mode forward (moves BN statistics) and an SGD step on every weight.
    let modes = GroupModes::all(model.layer_groups().len(), true);
    let labels = Tensor::from_slice(&[0i64, 2]);
    let loss = model.forward(&r["x"], &modes).cross_entropy_loss::<Tensor>(
        &labels,
        None,
        Reduction::Mean,
        -100,
        0.0,
    );
    loss.backward();
    tch::no_grad(|| {
        for mut p in vs.trainable_variables() {
            let g = p.grad();
            p -= g * 0.1;
        }
    });
    assert!(model.set_labels(&["cat".into()]).is_err());
    model
        .set_labels(&["cat".into(), "dog".into(), "bird".into()])
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    model.save_pretrained(&vs, &dir).unwrap();

    let inputs = tmp.path().join("inputs.safetensors");
    ft_models::st::write_atomic(&inputs, &[("x".to_string(), r["x"].shallow_clone())]).unwrap();
    let out = tmp.path().join("logits.safetensors");
    let printed = python_run("resnet_roundtrip.py", &[&dir, &inputs, &out]).unwrap();
    assert!(
        printed.contains("ResNet 3") && printed.contains("bird"),
        "{printed}"
    );
    let theirs = &Tensor::read_safetensors(&out).unwrap()[0].1;
    let eval = GroupModes::all(model.layer_groups().len(), false);
    let ours = tch::no_grad(|| model.forward(&r["x"], &eval));
    let d = rel_max_diff(&ours, theirs, None);
    println!("resnet50 round trip: max rel diff of logits {d:.2e}");
    assert!(d <= TOL, "torchvision's logits differ by {d:e}");

    // And back into ft: the config names the architecture and labels; nothing is new.
    let config = VisionConfig::from_dir(&dir).unwrap();
    assert_eq!(config.labels().unwrap(), ["cat", "dog", "bird"]);
    let vs2 = VarStore::new(tch::Device::Cpu);
    let again = VisionModel::new(&vs2.root(), &config).unwrap();
    let report = again
        .load_pretrained(&vs2, &dir.join("model.safetensors"))
        .unwrap();
    assert!(
        report.newly_initialised.is_empty() && report.ignored.is_empty(),
        "{report}"
    );
}

#[test]
fn a_wrong_shaped_backbone_tensor_is_an_error_naming_it() {
    let _rng = ft_tests::torch_rng_lock();
    let (vs, _model) = resnet(18, 2);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("bad.safetensors");
    let mut tensors: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .filter(|(n, _)| n != "layer3.0.bn1.running_var")
        .collect();
    for (name, t) in tensors.iter_mut() {
        if name == "layer2.0.conv1.weight" {
            *t = Tensor::zeros([128, 64, 5, 5], tch::kind::FLOAT_CPU);
        }
    }
    ft_models::st::write_atomic(&file, &tensors).unwrap();
    let (vs2, fresh) = resnet(18, 2);
    let before = vs2.variables()["conv1.weight"].copy();
    let err = fresh.load_pretrained(&vs2, &file).unwrap_err();
    let message = err.to_string();
    println!("{message}");
    assert!(matches!(err, ModelError::Mismatch { .. }));
    assert!(message.contains("bad.safetensors"), "{message}");
    assert!(
        message
            .contains("layer2.0.conv1.weight: model [128, 64, 3, 3], checkpoint [128, 64, 5, 5]"),
        "{message}"
    );
    assert!(message.contains("layer3.0.bn1.running_var"), "{message}");
    assert!(
        vs2.variables()["conv1.weight"].equal(&before),
        "a failed load changed the model"
    );
}

#[test]
fn unsupported_depth_and_bad_config_are_clear_errors() {
    let _rng = ft_tests::torch_rng_lock();
    let vs = VarStore::new(tch::Device::Cpu);
    let err = VisionModel::new(&vs.root(), &ResNetConfig::new(42, 2).into())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("depth 42"), "{err}");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("config.json"),
        r#"{"model_type": "resnet", "depth": 50}"#,
    )
    .unwrap();
    let err = VisionConfig::from_dir(tmp.path()).unwrap_err().to_string();
    assert!(
        err.contains("config.json") && err.contains("num_classes"),
        "{err}"
    );
}

#[test]
fn resnet34_101_152_have_torchvisions_state_dict_layout() {
    let _rng = ft_tests::torch_rng_lock();
    let path = python_reference(
        "resnet_layout.py",
        &["7", "34", "101", "152"],
        "resnet_layout.json",
    )
    .unwrap();
    let layouts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for depth in [34, 101, 152] {
        let (vs, model) = resnet(depth, 7);
        let theirs = layouts[format!("resnet{depth}")].as_object().unwrap();
        let ours = vs.variables();
        assert_eq!(ours.len(), theirs.len(), "resnet{depth}: number of tensors");
        for (name, spec) in theirs {
            let var = ours
                .get(name)
                .unwrap_or_else(|| panic!("resnet{depth} lacks {name}"));
            let shape: Vec<i64> = serde_json::from_value(spec[0].clone()).unwrap();
            let kind = if spec[1] == "int64" {
                Kind::Int64
            } else {
                Kind::Float
            };
            assert_eq!(
                (var.size(), var.kind()),
                (shape, kind),
                "resnet{depth} {name}"
            );
        }
        let expected = if depth == 34 { 512 } else { 2048 };
        assert_eq!(model.num_features(), expected);
    }
}
