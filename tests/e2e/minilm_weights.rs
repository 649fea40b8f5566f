//! The foundation's wiring test: the real MiniLM checkpoint from the cache loads into a tch
//! VarStore, and every tensor's name and shape is what its config.json implies.
use ft_models::bert::{BertConfig, BertForTask, BertTask};
use ft_tests::asset;
use tch::nn::VarStore;

fn expected_shape(name: &str, c: &BertConfig) -> Option<Vec<usize>> {
    let (h, i) = (c.hidden_size as usize, c.intermediate_size as usize);
    let name = name.strip_prefix("bert.").unwrap_or(name);
    let shape = match name {
        "embeddings.word_embeddings.weight" => vec![c.vocab_size as usize, h],
        "embeddings.position_embeddings.weight" => vec![c.max_position_embeddings as usize, h],
        "embeddings.token_type_embeddings.weight" => vec![c.type_vocab_size as usize, h],
        "pooler.dense.weight" => vec![h, h],
        n if n.ends_with("LayerNorm.weight") || n.ends_with("LayerNorm.bias") => vec![h],
        n if n.starts_with("encoder.layer.") => {
            let rest = n.splitn(4, '.').nth(3)?;
            let layer: i64 = n.split('.').nth(2)?.parse().ok()?;
            if layer >= c.num_hidden_layers {
                return None;
            }
            match rest {
                "attention.self.query.weight"
                | "attention.self.key.weight"
                | "attention.self.value.weight"
                | "attention.output.dense.weight" => vec![h, h],
                "intermediate.dense.weight" => vec![i, h],
                "intermediate.dense.bias" => vec![i],
                "output.dense.weight" => vec![h, i],
                r if r.ends_with(".bias") => vec![h],
                _ => return None,
            }
        }
        "pooler.dense.bias" => vec![h],
        _ => return None,
    };
    Some(shape)
}

#[test]
fn minilm_checkpoint_matches_its_config_and_loads_into_a_varstore() {
    let _rng = ft_tests::torch_rng_lock();
    let dir = asset("minilm-l6");
    let config = BertConfig::from_dir(&dir).unwrap();
    assert_eq!(
        (
            config.num_hidden_layers,
            config.hidden_size,
            config.vocab_size
        ),
        (6, 384, 30522)
    );

    let shapes = ft_models::st::read_shapes(&dir.join("model.safetensors")).unwrap();
    let mut checked = 0;
    for (name, shape) in &shapes {
        if name.ends_with("position_ids") {
            continue; // a buffer, not a parameter
        }
        let want =
            expected_shape(name, &config).unwrap_or_else(|| panic!("unexpected tensor {name}"));
        assert_eq!(shape, &want, "shape of {name}");
        checked += 1;
    }
    // 5 embedding tensors, 16 per layer, 2 pooler.
    assert_eq!(checked, 5 + 16 * 6 + 2);

    let vs = VarStore::new(tch::Device::Cpu);
    let model = BertForTask::new(
        &vs.root(),
        &config,
        BertTask::SequenceClassification { num_labels: 2 },
    )
    .unwrap();
    let report = model
        .load_pretrained(&vs, &dir.join("model.safetensors"))
        .unwrap();
    assert_eq!(report.loaded, checked);
    assert_eq!(
        report.newly_initialised,
        vec!["classifier.bias", "classifier.weight"]
    );
    assert_eq!(report.ignored, vec!["embeddings.position_ids"]);
    let word = &vs.variables()["bert.embeddings.word_embeddings.weight"];
    let from_file = tch::Tensor::read_safetensors(dir.join("model.safetensors"))
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == "embeddings.word_embeddings.weight")
        .unwrap()
        .1;
    assert!(
        word.equal(&from_file),
        "the loaded embedding equals the file's"
    );
}
