//! Text examples as a run's config says: one reader per file format, and the train /
//! validation / test splits (separate files, or seeded parts of the training file).
use crate::config::{DataConfig, DataFormat, RunConfig, TaskKind};
use crate::resolve::resolve_data_file;
use anyhow::{bail, Result};
use ft_data::text::{
    read_class_folders, read_conll, read_csv, read_jsonl, ConllSpec, CsvSpec, JsonlSpec,
    LabelFilter,
};
use ft_data::{split_seeded, Example, SplitSizes};
use std::path::Path;

fn format_of(data: &DataConfig, path: &Path) -> DataFormat {
    if let Some(f) = data.format {
        return f;
    }
    if path.is_dir() {
        return DataFormat::Folder;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let name = name.trim_end_matches(".gz").trim_end_matches(".bz2");
    if name.ends_with(".jsonl") || name.ends_with(".json") {
        DataFormat::Jsonl
    } else if name.ends_with(".tsv") {
        DataFormat::Tsv
    } else if name.ends_with(".csv") {
        DataFormat::Csv
    } else {
        DataFormat::Conll
    }
}

/// Reads one data file with the configured reader.
pub fn read_examples(data: &DataConfig, task: TaskKind, file: &Path) -> Result<Vec<Example>> {
    let path = resolve_data_file(data, file)?;
    let filter = data
        .label_map
        .as_deref()
        .map(LabelFilter::parse)
        .transpose()?;
    let examples = match format_of(data, &path) {
        DataFormat::Csv | DataFormat::Tsv => {
            let mut spec =
                CsvSpec::new(data.text_column.as_str()).label(data.label_column.as_str());
            if let Some(pair) = &data.text_pair_column {
                spec = spec.pair(pair.as_str());
            }
            if task == TaskKind::Regression {
                spec = spec.regression();
            }
            if let Some(f) = filter {
                spec = spec.filter(f);
            }
            read_csv(&path, &spec)?
        }
        DataFormat::Jsonl => {
            let mut spec = JsonlSpec::new(&data.text_column).label(&data.label_column);
            if let Some(pair) = &data.text_pair_column {
                spec = spec.pair(pair);
            }
            if task == TaskKind::Regression {
                spec = spec.regression();
            }
            if let Some(f) = filter {
                spec = spec.filter(f);
            }
            read_jsonl(&path, &spec)?
        }
        DataFormat::Conll => read_conll(&path, &ConllSpec::default())?,
        DataFormat::Folder => {
            let examples = read_class_folders(&path, None)?;
            match filter {
                // aclImdb's `train/unsup` is dropped with `unsup=` in the label map.
                Some(f) => f.filter_examples(examples)?,
                None => examples,
            }
        }
        other => bail!("data format `{other}` is not one of csv, tsv, jsonl, conll, folder"),
    };
    Ok(examples)
}

/// Train / validation / test examples as the config says.
pub fn load_splits(config: &RunConfig) -> Result<(Vec<Example>, Vec<Example>, Vec<Example>)> {
    let data = &config.data;
    let train_all = read_examples(data, config.task, &data.train_file)?;
    let seed = data.split_seed.unwrap_or(config.training.seed);
    match (&data.validation_file, &data.test_file) {
        (Some(v), Some(t)) => Ok((
            train_all,
            read_examples(data, config.task, v)?,
            read_examples(data, config.task, t)?,
        )),
        (v, t) => {
            let sizes = match (data.train_size, data.validation_size, data.test_size) {
                (Some(train), validation, test) => SplitSizes::Counts {
                    train,
                    validation: validation.unwrap_or(0),
                    test: test.unwrap_or(0),
                },
                _ => {
                    let validation = if v.is_some() {
                        0.0
                    } else {
                        data.validation_fraction.unwrap_or(0.1)
                    };
                    let test = if t.is_some() {
                        0.0
                    } else {
                        data.test_fraction.unwrap_or(0.1)
                    };
                    SplitSizes::Fractions {
                        train: 1.0 - validation - test,
                        validation,
                        test,
                    }
                }
            };
            let s = split_seeded(train_all, seed, sizes)?;
            let validation = match v {
                Some(v) => read_examples(data, config.task, v)?,
                None => s.validation,
            };
            let test = match t {
                Some(t) => read_examples(data, config.task, t)?,
                None => s.test,
            };
            Ok((s.train, validation, test))
        }
    }
}
