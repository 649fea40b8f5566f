//! ft-models: pretrained architectures on tch whose variable names are the upstream ones
//! (transformers for BERT, torchvision for ResNet), so `model.safetensors` files move between
//! ft and Python unchanged.
//!
//! Every model exposes its ordered [`LayerGroup`]s (bottom to top: embeddings … blocks … head),
//! which the freezing strategies of ft-optim and the per-group train/eval [`GroupModes`] use.
//!
//! ```no_run
//! use ft_models::bert::{BertConfig, BertForTask, BertTask};
//! let dir = std::path::Path::new("/root/.cache/ft/models/minilm-l6");
//! let vs = tch::nn::VarStore::new(tch::Device::Cpu);
//! let config = BertConfig::from_dir(dir)?;
//! let model = BertForTask::new(&vs.root(), &config, BertTask::SequenceClassification { num_labels: 2 })?;
//! let report = model.load_pretrained(&vs, &dir.join("model.safetensors"))?;
//! println!("{report}");
//! # Ok::<(), ft_models::ModelError>(())
//! ```
pub mod bert;
mod config_file;
mod error;
pub mod gpt2;
mod groups;
pub mod loading;
pub mod pretrained;
pub mod st;
pub mod vae;
pub mod vision;

pub use error::ModelError;
pub use groups::{GroupModes, LayerGroup};
pub use pretrained::Pretrained;
