//! Image datasets as a run's config says (a folder per class, IDX files, pixel CSV), and their
//! train / validation / test splits. Read by the image-classification and VAE jobs alike.
use crate::config::{DataConfig, DataFormat, RunConfig};
use crate::resolve::resolve_data_file;
use anyhow::{bail, Context, Result};
use ft_data::vision::ImageDataset;
use std::path::{Path, PathBuf};

pub(crate) fn read_dataset(
    data: &DataConfig,
    file: &Path,
    labels_file: Option<&PathBuf>,
    classes: Option<&Vec<String>>,
) -> Result<ImageDataset> {
    let path = resolve_data_file(data, file)?;
    let format = data.format.unwrap_or_else(|| {
        if path.is_dir() {
            DataFormat::Folder
        } else if path.to_string_lossy().contains("idx3-ubyte") {
            DataFormat::Idx
        } else {
            DataFormat::PixelCsv
        }
    });
    let dataset = match format {
        DataFormat::Folder => ImageDataset::folder(&path)?,
        DataFormat::Idx => {
            let labels = labels_file.with_context(|| {
                format!(
                    "{} is an IDX image file: give its labels file (labels_file / --labels-file)",
                    path.display()
                )
            })?;
            let labels = resolve_data_file(data, labels)?;
            let names: Vec<&str> = ft_data::idx::FASHION_MNIST_CLASSES.to_vec();
            ImageDataset::idx(&path, &labels, &names)?
        }
        // sklearn's digits: 8x8 pixels valued 0..16, the class in the last column.
        DataFormat::PixelCsv => ImageDataset::pixel_csv(&path, 8, 16.0)?,
        other => bail!("image data format `{other}` is not one of folder, idx, pixel-csv"),
    };
    Ok(match classes {
        Some(classes) => {
            let names: Vec<&str> = classes.iter().map(String::as_str).collect();
            dataset
                .filter_classes(&names)
                .with_context(|| format!("classes of {}", path.display()))?
        }
        None => dataset,
    })
}

/// Train / validation / test images as the config says: separate files where given, otherwise
/// seeded disjoint parts of `train_file`.
pub fn load_image_splits(config: &RunConfig) -> Result<(ImageDataset, ImageDataset, ImageDataset)> {
    let data = &config.data;
    let seed = data.split_seed.unwrap_or(config.training.seed);
    let all = read_dataset(
        data,
        &data.train_file,
        data.labels_file.as_ref(),
        data.classes.as_ref(),
    )?;
    let separate = |file: &Option<PathBuf>,
                    labels: &Option<PathBuf>,
                    size: Option<usize>,
                    classes: Option<&Vec<String>>| {
        file.as_ref()
            .map(|f| -> Result<ImageDataset> {
                let d = read_dataset(data, f, labels.as_ref(), classes)?;
                Ok(match size {
                    Some(n) if n < d.len() => d.subset_seeded(n, seed)?,
                    _ => d,
                })
            })
            .transpose()
    };
    let validation_file = separate(
        &data.validation_file,
        &data.validation_labels_file,
        data.validation_size,
        data.classes.as_ref(),
    )?;
    let test_file = separate(
        &data.test_file,
        &data.test_labels_file,
        data.test_size,
        data.test_classes.as_ref().or(data.classes.as_ref()),
    )?;
    let n = all.len();
    let frac = |f: Option<f64>, default: f64| (n as f64 * f.unwrap_or(default)).round() as usize;
    let validation_n = match validation_file {
        Some(_) => 0,
        None => data
            .validation_size
            .unwrap_or_else(|| frac(data.validation_fraction, 0.1)),
    };
    let test_n = match test_file {
        Some(_) => 0,
        None => data
            .test_size
            .unwrap_or_else(|| frac(data.test_fraction, 0.1)),
    };
    let train_n = data
        .train_size
        .unwrap_or_else(|| n.saturating_sub(validation_n + test_n));
    let mut parts = all
        .split(&[train_n, validation_n, test_n], seed)?
        .into_iter();
    let (train, validation, test) = (
        parts.next().expect("three parts"),
        parts.next().expect("three parts"),
        parts.next().expect("three parts"),
    );
    Ok((
        train,
        validation_file.unwrap_or(validation),
        test_file.unwrap_or(test),
    ))
}
