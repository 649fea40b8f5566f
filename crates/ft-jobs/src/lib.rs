//! ft-jobs: the kinds of fine-tuning work, on top of the loop in ft-train.
//!
//! Each kind is a folder — [`text`] (sequence classification, token classification,
//! regression on BERT-family encoders), [`image`] (ResNet / EfficientNet classification, with
//! the feature cache), [`vae`] (the convolutional VAE) and [`lm`] (GPT-2 causal LM) — holding its
//! [`Job`] (data → loaders, model and [`ft_train::Task`]), its task and its [`SavedJob`] (a
//! finished run reopened for `eval`, `predict`, `generate`). One [`driver`] runs every job:
//! device, seeding, the load report, fit, test, the before / after / from-scratch comparison
//! and the run directory; one [`open`] reopens a run of any kind. What every kind shares sits
//! at the top: the run config ([`config`]), input resolution ([`resolve`]), the run directory's
//! files ([`run_files`], [`provenance`], [`report`]) and image datasets ([`image_data`], read
//! by the image and VAE jobs). No folder imports another.
pub mod config;
pub mod driver;
pub mod image;
pub mod image_data;
pub mod job;
pub mod lm;
pub mod provenance;
pub mod report;
pub mod resolve;
pub mod run_files;
pub mod saved;
pub mod text;
pub mod vae;

pub use config::{DataConfig, RunConfig, TaskKind};
pub use driver::run;
pub use job::{Job, JobOutcome};
pub use saved::{open, SavedJob};

#[cfg(test)]
mod layout {
    //! The shape the crate promises: each kind's folder stands alone, and the loop below it
    //! names no architecture and decodes no image.
    use std::path::Path;

    const KINDS: [&str; 4] = ["text", "image", "vae", "lm"];

    #[test]
    fn no_folder_imports_another_kind() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for kind in KINDS {
            for entry in std::fs::read_dir(src.join(kind)).unwrap() {
                let path = entry.unwrap().path();
                let text = std::fs::read_to_string(&path).unwrap();
                for other in KINDS.iter().filter(|k| **k != kind) {
                    assert!(
                        !text.contains(&format!("crate::{other}::")),
                        "{} imports the {other} job",
                        path.display()
                    );
                }
            }
        }
    }

    #[test]
    fn the_loop_depends_on_no_image_or_plotting_crate() {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ft-train/Cargo.toml");
        let text = std::fs::read_to_string(manifest).unwrap();
        let deps = text
            .split("[dependencies]")
            .nth(1)
            .and_then(|s| s.split("\n[").next())
            .unwrap();
        for name in ["image", "plotters", "dejavu", "vision"] {
            assert!(
                !deps
                    .lines()
                    .any(|l| l.contains(name) && !l.trim_start().starts_with('#')),
                "ft-train's [dependencies] name {name}"
            );
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ft-train/src");
        for entry in std::fs::read_dir(src).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for arch in [
                "bert",
                "resnet",
                "efficientnet",
                "gpt2",
                "vae::",
                "ft_models::vision",
            ] {
                assert!(
                    !text.to_lowercase().contains(&format!("ft_models::{arch}")),
                    "{} names {arch}",
                    path.display()
                );
            }
        }
    }
}
