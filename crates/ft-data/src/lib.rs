//! ft-data: from files to host batches, without libtorch.
//!
//! The text pipeline, step by step:
//!
//! 1. **Read** examples: [`text::read_csv`] (CSV/TSV with a column mapping and a label filter),
//!    [`text::read_jsonl`], [`text::read_class_folders`] (`train/pos/*.txt`),
//!    [`text::read_conll`] (token-per-line NER). `.gz`/`.bz2` files are read transparently.
//!    Every [`text::Example`] remembers its file and line for error messages.
//! 2. **Split** with [`split::split_seeded`]: the same shuffle as Python's
//!    `random.Random(seed).shuffle`, then train/validation/test by counts or fractions.
//! 3. **Label map** from the training split: [`LabelMap::from_train`], saved into the model's
//!    `config.json` as `id2label`/`label2id`.
//! 4. **Tokenize** with [`text::Tokenizer`] (`tokenizer.json`, or `vocab.txt` as fallback):
//!    [`text::Tokenizer::encode_examples`] truncates (or windows) and aligns NER labels.
//! 5. **Batch** with a [`Loader`]: a [`Sampler`] plans the epoch from `(seed, epoch)`, a
//!    [`Collator`] pads dynamically, a prefetch thread collates ahead. Each [`HostBatch`] is
//!    plain `Vec`s with shapes; ft-train turns it into tensors.
//!
//! ```no_run
//! use ft_data::text::{read_csv, CsvSpec, EncodeOptions, LabelFilter, Tokenizer};
//! use ft_data::{split::{split_seeded, SplitSizes}, LabelMap, Loader, Sampler};
//! use std::{path::Path, sync::Arc};
//! # fn main() -> Result<(), ft_data::DataError> {
//! let spec = CsvSpec::new("text").label("category")
//!     .filter(LabelFilter::parse("fresh=positive,rotten=negative,plot=")?);
//! let rows = read_csv(Path::new("rotten_tomatoes_corpus.csv.bz2"), &spec)?;
//! let s = split_seeded(rows, 42, SplitSizes::Counts { train: 1000, validation: 1000, test: 1000 })?;
//! let labels = LabelMap::from_train(&s.train)?;
//! let tok = Tokenizer::from_dir(Path::new("models/minilm-l6"))?;
//! let (train, report) = tok.encode_examples(&s.train, Some(&labels), &EncodeOptions::new(128))?;
//! println!("{report}");
//! let loader = Loader::new(Arc::new(train), Sampler::Random, tok.collator(), 16)?.seed(42);
//! for batch in loader.epoch(0) {
//!     let batch = batch?; // batch.get("input_ids"), batch.labels(), ...
//! }
//! # Ok(()) }
//! ```
/// The asset cache, a crate of its own (`ft-assets`) so that light tools need nothing else.
pub use ft_assets as assets;
pub mod batch;
pub mod error;
pub mod idx;
pub mod labels;
pub mod lm;
pub mod loader;
pub mod rng;
pub mod sampler;
pub mod source;
pub mod split;
pub mod text;
#[cfg(feature = "vision")]
pub mod vision;

pub use batch::{Collator, HostBatch, HostData, HostTensor};
pub use error::DataError;
pub use labels::LabelMap;
pub use loader::{BatchContext, BatchIter, BatchSource, Loader, TextSource};
pub use sampler::Sampler;
pub use split::{split_seeded, SplitSizes, Splits};
pub use text::{Encoded, EncodedLabel, Example, Location, Target, TextInput};
#[cfg(feature = "vision")]
pub use vision::{ImageDataset, ImageSource, Transform};
