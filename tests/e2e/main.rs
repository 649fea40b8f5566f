//! Workspace end-to-end tests: one binary (each test binary links libtorch, which is slow).
//! They need `cargo xtask setup` and `cargo xtask fetch-data` (both run by `cargo xtask test`).
mod bert_parity;
mod callbacks;
mod efficientnet;
mod feature_cache;
mod gpt2_parity;
mod lm_showcase;
mod minilm_weights;
mod resnet_parity;
mod train_loop;
mod vae;
