//! Built-in recipes: JSON files in `crates/ft-cli/recipes/`, compiled into the binary.
pub const RECIPES: &[(&str, &str)] = &[
    ("sentiment", include_str!("../recipes/sentiment.json")),
    (
        "sentiment-best",
        include_str!("../recipes/sentiment-best.json"),
    ),
    (
        "sentiment-imdb",
        include_str!("../recipes/sentiment-imdb.json"),
    ),
    ("ner", include_str!("../recipes/ner.json")),
    ("regression", include_str!("../recipes/regression.json")),
    ("cats-dogs", include_str!("../recipes/cats-dogs.json")),
    (
        "fashion-probe",
        include_str!("../recipes/fashion-probe.json"),
    ),
    (
        "fashion-partial",
        include_str!("../recipes/fashion-partial.json"),
    ),
    (
        "fashion-finetune",
        include_str!("../recipes/fashion-finetune.json"),
    ),
    ("vae-pretrain", include_str!("../recipes/vae-pretrain.json")),
    ("vae-finetune", include_str!("../recipes/vae-finetune.json")),
    ("lm-pretrain", include_str!("../recipes/lm-pretrain.json")),
    ("lm-finetune", include_str!("../recipes/lm-finetune.json")),
];

/// The recipe's JSON, or an error listing the known names.
pub fn get(name: &str) -> anyhow::Result<serde_json::Value> {
    match RECIPES.iter().find(|(n, _)| *n == name) {
        Some((_, text)) => Ok(serde_json::from_str(text)?),
        None => anyhow::bail!(
            "no recipe named `{name}`; built-in recipes: {}",
            RECIPES
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_recipe_is_a_valid_run_config() {
        for (name, text) in super::RECIPES {
            let config: Result<ft_jobs::RunConfig, _> = serde_json::from_str(text);
            assert!(config.is_ok(), "recipe {name}: {:?}", config.err());
            config
                .unwrap()
                .training
                .validate()
                .unwrap_or_else(|e| panic!("recipe {name}: {e}"));
        }
    }
}
