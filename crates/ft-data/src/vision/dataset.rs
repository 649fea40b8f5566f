//! Image datasets: a list of images (files, or pixels already in memory) with class labels.
//!
//! Only the list is kept; files are decoded when a batch needs them ([`super::ImageSource`]),
//! so a folder of any size costs a few bytes per image. Small grey sets (Fashion-MNIST's IDX
//! files, sklearn's digits CSV) keep their pixels in memory: 28x28 bytes is less than a path.

use super::pixels::Pixels;
use crate::error::{quote, DataError, Result};
use crate::idx::{read_idx_images, read_idx_labels};
use crate::rng::PyRandom;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The largest class label [`ImageDataset::pixel_csv`] accepts (its classes are `0..=max`).
pub const MAX_PIXEL_CSV_LABEL: usize = 100_000;

/// The extensions an image folder accepts (lower case; matched case-insensitively).
pub const IMAGE_EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "bmp", "webp"];

/// Grey images held in memory, one after another.
#[derive(Debug)]
struct MemoryImages {
    /// The file they came from, for messages.
    origin: PathBuf,
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

#[derive(Debug, Clone)]
enum ItemSource {
    File(PathBuf),
    /// Index into [`MemoryImages`].
    Memory(usize),
}

#[derive(Debug, Clone)]
struct Item {
    source: ItemSource,
    label: usize,
}

/// Images with class labels; see the module docs.
#[derive(Debug, Clone)]
pub struct ImageDataset {
    items: Vec<Item>,
    classes: Vec<String>,
    memory: Option<Arc<MemoryImages>>,
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// Every directory under `dir` (itself included, symlinks followed like `os.walk(...,
/// followlinks=True)`), in the order of `sorted(os.walk(dir))`: by path string.
fn walk_dirs(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    out.push(dir.to_path_buf());
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        if path.is_dir() {
            walk_dirs(&path, out)?;
        }
    }
    Ok(())
}

impl ImageDataset {
    /// torchvision's `ImageFolder(root)`: one sub-folder per class, classes sorted by name
    /// (class index = position), images found recursively in the order of
    /// `sorted(os.walk(class_dir))` then sorted file names. Files with other extensions than
    /// [`IMAGE_EXTENSIONS`] are ignored. Errors name the root when it has no class folder, and
    /// the class folder that has no image.
    pub fn folder(root: &Path) -> Result<Self> {
        let mut classes = Vec::new();
        for entry in std::fs::read_dir(root).map_err(|e| DataError::io(root, e))? {
            let entry = entry.map_err(|e| DataError::io(root, e))?;
            if entry.path().is_dir() {
                classes.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        classes.sort();
        if classes.is_empty() {
            return Err(DataError::EmptySplit {
                split: "image folder".into(),
                detail: format!(
                    "{} has no class sub-folders (expected root/<class>/<image>)",
                    root.display()
                ),
            });
        }
        let mut items = Vec::new();
        for (label, class) in classes.iter().enumerate() {
            let mut dirs = Vec::new();
            walk_dirs(&root.join(class), &mut dirs)?;
            dirs.sort_by(|a, b| a.to_string_lossy().cmp(&b.to_string_lossy()));
            let before = items.len();
            for dir in dirs {
                let mut files: Vec<(String, PathBuf)> = Vec::new();
                for entry in std::fs::read_dir(&dir).map_err(|e| DataError::io(&dir, e))? {
                    let path = entry.map_err(|e| DataError::io(&dir, e))?.path();
                    if !path.is_dir() && is_image(&path) {
                        let name = path.file_name().unwrap_or_default().to_string_lossy();
                        files.push((name.into_owned(), path));
                    }
                }
                files.sort();
                items.extend(files.into_iter().map(|(_, path)| Item {
                    source: ItemSource::File(path),
                    label,
                }));
            }
            if items.len() == before {
                return Err(DataError::EmptySplit {
                    split: "image folder".into(),
                    detail: format!(
                        "class folder {} has no image ({})",
                        root.join(class).display(),
                        IMAGE_EXTENSIONS.join(", ")
                    ),
                });
            }
        }
        Ok(ImageDataset {
            items,
            classes,
            memory: None,
        })
    }

    /// An IDX image file and its label file (Fashion-MNIST: `train-images-idx3-ubyte.gz`,
    /// `train-labels-idx1-ubyte.gz`, with [`crate::idx::FASHION_MNIST_CLASSES`]). The pixels
    /// are kept in memory (47 MB for the 60 000 training images).
    pub fn idx(images_path: &Path, labels_path: &Path, class_names: &[&str]) -> Result<Self> {
        let images = read_idx_images(images_path)?;
        let labels = read_idx_labels(labels_path)?;
        if labels.len() != images.count {
            return Err(DataError::Invalid(format!(
                "{} has {} labels but {} has {} images",
                labels_path.display(),
                labels.len(),
                images_path.display(),
                images.count
            )));
        }
        if let Some(l) = labels
            .iter()
            .find(|&&l| usize::from(l) >= class_names.len())
        {
            return Err(DataError::Invalid(format!(
                "{}: label {l} but only {} class names were given",
                labels_path.display(),
                class_names.len()
            )));
        }
        let items = labels
            .iter()
            .enumerate()
            .map(|(i, &l)| Item {
                source: ItemSource::Memory(i),
                label: usize::from(l),
            })
            .collect();
        Ok(ImageDataset {
            items,
            classes: class_names.iter().map(|s| s.to_string()).collect(),
            memory: Some(Arc::new(MemoryImages {
                origin: images_path.to_path_buf(),
                width: images.cols,
                height: images.rows,
                pixels: images.pixels,
            })),
        })
    }

    /// A CSV of pixel rows, sklearn style (`digits.csv.gz`): `side * side` grey values in
    /// `0..=max_value` then the integer class, no header. Values are scaled to bytes as
    /// `round(v * 255 / max_value)`, so `to_tensor` gives `v / max_value` to within 1/510.
    /// Classes are named `"0"`, `"1"`, … up to the largest label. `.gz`/`.bz2` are read
    /// transparently. Errors name the file and line.
    pub fn pixel_csv(path: &Path, side: usize, max_value: f64) -> Result<Self> {
        let n = side.checked_mul(side).unwrap_or(0);
        if n == 0 || !(max_value > 0.0 && max_value.is_finite()) {
            return Err(DataError::Invalid(format!(
                "pixel CSV {}: side and max_value must be positive",
                path.display()
            )));
        }
        let syntax = |line: usize, message: String| DataError::Syntax {
            path: path.to_path_buf(),
            line: line as u64,
            message,
        };
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for (i, line) in crate::source::open(path)?.lines().enumerate() {
            let line = line.map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData => DataError::InvalidUtf8 {
                    path: path.to_path_buf(),
                    line: i as u64 + 1,
                    field: None,
                },
                _ => DataError::io(path, e),
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != n + 1 {
                return Err(syntax(
                    i + 1,
                    format!(
                        "{} fields, expected {n} pixels + 1 label ({side}x{side} images)",
                        fields.len()
                    ),
                ));
            }
            for (col, f) in fields[..n].iter().enumerate() {
                let v: f64 = f.parse().map_err(|_| {
                    syntax(i + 1, format!("pixel {col}: {} is not a number", quote(f)))
                })?;
                if !(0.0..=max_value).contains(&v) {
                    return Err(syntax(
                        i + 1,
                        format!("pixel {col}: {v} is outside 0..={max_value}"),
                    ));
                }
                pixels.push((v * 255.0 / max_value).round() as u8);
            }
            // Classes are named 0..=max label, so a label of 10^18 would ask for 10^18 names.
            let label: usize = fields[n]
                .parse()
                .ok()
                .filter(|&l| l <= MAX_PIXEL_CSV_LABEL)
                .ok_or_else(|| {
                    syntax(
                        i + 1,
                        format!(
                            "label {} is not an integer in 0..={MAX_PIXEL_CSV_LABEL}",
                            quote(fields[n])
                        ),
                    )
                })?;
            labels.push(label);
        }
        let Some(&max_label) = labels.iter().max() else {
            return Err(DataError::EmptySplit {
                split: "pixel CSV".into(),
                detail: format!("{} has no rows", path.display()),
            });
        };
        Ok(ImageDataset {
            items: labels
                .into_iter()
                .enumerate()
                .map(|(i, label)| Item {
                    source: ItemSource::Memory(i),
                    label,
                })
                .collect(),
            classes: (0..=max_label).map(|c| c.to_string()).collect(),
            memory: Some(Arc::new(MemoryImages {
                origin: path.to_path_buf(),
                width: side,
                height: side,
                pixels,
            })),
        })
    }

    /// Only the images of `names`, relabelled `0..names.len()` in the order given (e.g.
    /// `["sandal", "sneaker"]` makes a binary task with sandal = 0). Errors on an unknown name,
    /// listing the known ones.
    pub fn filter_classes(&self, names: &[&str]) -> Result<Self> {
        let mut new_label = vec![None; self.classes.len()];
        for (k, name) in names.iter().enumerate() {
            let old = self.classes.iter().position(|c| c == name).ok_or_else(|| {
                DataError::Invalid(format!(
                    "unknown class `{name}` (known: {})",
                    self.classes.join(", ")
                ))
            })?;
            if new_label[old].is_some() {
                return Err(DataError::Invalid(format!("class `{name}` listed twice")));
            }
            new_label[old] = Some(k);
        }
        let items = self
            .items
            .iter()
            .filter_map(|it| {
                new_label[it.label].map(|label| Item {
                    source: it.source.clone(),
                    label,
                })
            })
            .collect();
        Ok(ImageDataset {
            items,
            classes: names.iter().map(|s| s.to_string()).collect(),
            memory: self.memory.clone(),
        })
    }

    /// `n` images drawn without replacement: a plain (not stratified) seeded shuffle — the same
    /// permutation as Python's `random.Random(seed).shuffle(list(range(len)))` — then the first
    /// `n`, in shuffled order. Errors when `n` exceeds the images available.
    pub fn subset_seeded(&self, n: usize, seed: u64) -> Result<Self> {
        Ok(self.split(&[n], seed)?.remove(0))
    }

    /// Disjoint parts of the given sizes, cut in order from one seeded shuffle (as
    /// [`ImageDataset::subset_seeded`]); images beyond the sum of `sizes` are left out.
    pub fn split(&self, sizes: &[usize], seed: u64) -> Result<Vec<Self>> {
        let total: usize = sizes.iter().sum();
        if total > self.items.len() {
            return Err(DataError::Invalid(format!(
                "asked for {total} images ({sizes:?}) but the dataset has {}",
                self.items.len()
            )));
        }
        let mut order: Vec<usize> = (0..self.items.len()).collect();
        PyRandom::new(seed).shuffle(&mut order);
        let mut start = 0;
        Ok(sizes
            .iter()
            .map(|&n| {
                let items = order[start..start + n]
                    .iter()
                    .map(|&i| self.items[i].clone())
                    .collect();
                start += n;
                ImageDataset {
                    items,
                    classes: self.classes.clone(),
                    memory: self.memory.clone(),
                }
            })
            .collect())
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Class names; a label is an index into them.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    pub fn label(&self, i: usize) -> usize {
        self.items[i].label
    }

    /// The file of image `i`, `None` for images held in memory.
    pub fn path(&self, i: usize) -> Option<&Path> {
        match &self.items[i].source {
            ItemSource::File(p) => Some(p),
            ItemSource::Memory(_) => None,
        }
    }

    /// What to call image `i` in a message: its path, or `file#index` for in-memory images.
    pub fn describe(&self, i: usize) -> PathBuf {
        match (&self.items[i].source, &self.memory) {
            (ItemSource::File(p), _) => p.clone(),
            (ItemSource::Memory(k), Some(m)) => {
                PathBuf::from(format!("{}#{k}", m.origin.display()))
            }
            (ItemSource::Memory(k), None) => PathBuf::from(format!("#{k}")),
        }
    }

    /// Decodes image `i`: files as RGB (like torchvision's loader), in-memory images as grey.
    pub fn load(&self, i: usize) -> Result<Pixels> {
        match (&self.items[i].source, &self.memory) {
            (ItemSource::File(p), _) => Pixels::open_rgb(p),
            (ItemSource::Memory(k), Some(m)) => {
                let n = m.width * m.height;
                Pixels::new(m.width, m.height, 1, m.pixels[k * n..(k + 1) * n].to_vec())
            }
            (ItemSource::Memory(_), None) => unreachable!("memory items come with their pixels"),
        }
    }
}
