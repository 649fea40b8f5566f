//! GPT-2 as transformers writes it (`GPT2LMHeadModel`), with a key/value cache and sampling
//! for text generation.
//!
//! ```no_run
//! use ft_models::gpt2::{generate, GenerateOptions, Gpt2Config, Gpt2LMHeadModel};
//! let dir = std::path::Path::new("models/gpt2");
//! let vs = tch::nn::VarStore::new(tch::Device::Cpu);
//! let model = Gpt2LMHeadModel::new(&vs.root(), &Gpt2Config::from_dir(dir)?)?;
//! println!("{}", model.load_pretrained(&vs, &dir.join("model.safetensors"))?);
//! let ids = generate(&model, &[464, 3290], &GenerateOptions::greedy(20))?;
//! # Ok::<(), ft_models::ModelError>(())
//! ```
mod blocks;
mod cache;
mod config;
mod generate;
mod model;

pub use cache::{KvCache, LayerCache};
pub use config::Gpt2Config;
pub use generate::{generate, GenerateOptions};
pub use model::{shift_for_causal_lm, Gpt2LMHeadModel, HEAD_PREFIX};
