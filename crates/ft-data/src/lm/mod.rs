//! Causal language modelling data: corpus documents, a byte-level BPE trained on them, and
//! fixed-length blocks packed from the token stream.
//!
//! ```no_run
//! use ft_data::lm::{encode_documents, pack, read_documents, train_bpe_to, BpeOptions};
//! use ft_data::text::{CsvSpec, TextInput};
//! use std::path::Path;
//! # fn main() -> Result<(), ft_data::DataError> {
//! let docs = read_documents(Path::new("rotten_tomatoes_corpus_full.csv.bz2"), &CsvSpec::new("text"))?;
//! let texts: Vec<&str> = docs.iter().filter_map(|e| match &e.input {
//!     TextInput::Single(t) => Some(t.as_str()), _ => None }).collect();
//! let tok = train_bpe_to(Path::new("run"), &texts, &BpeOptions::new(4000))?;
//! let ids = encode_documents(&tok, &texts)?;
//! let eos = tok.token_to_id("<|endoftext|>").unwrap();
//! let packed = pack(&ids, eos, 128)?;
//! println!("{packed}"); // blocks, tokens, the dropped tail
//! let rows = packed.rows(); // for ft_data::Loader, labels = input_ids
//! # Ok(()) }
//! ```
mod bpe;
mod corpus;
mod pack;

pub use bpe::{train_bpe, train_bpe_to, BpeOptions, END_OF_TEXT};
pub use corpus::{decode, encode_documents, read_documents};
pub use pack::{pack, Packed};
