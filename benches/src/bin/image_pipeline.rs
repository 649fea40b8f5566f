//! The `image-pipeline` case: images per second of decode + augment through the whole loader
//! (folder listing excluded): `ImageSource` with torchvision's training preset
//! (RandomResizedCrop(224) + flip + ToTensor + Normalize) in a `Loader`, on rayon's default pool.
//! Its twin is `python/image_pipeline.py` (torchvision's `DataLoader(num_workers=2)`).
//!
//! Usage: image_pipeline FOLDER [BATCH=32] [EPOCHS=2]

use ft_data::vision::{ImageDataset, ImageSource, Transform};
use ft_data::{Loader, Sampler};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let folder =
        PathBuf::from(args.next().ok_or_else(|| {
            anyhow::anyhow!("usage: image_pipeline FOLDER [BATCH=32] [EPOCHS=2]")
        })?);
    let batch: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(32);
    let epochs: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2);

    let data = Arc::new(ImageDataset::folder(&folder)?);
    let source = ImageSource::new(data, Transform::imagenet_train(224));
    let loader = Loader::from_source(Arc::new(source), Sampler::Random, batch)?.seed(0);
    let start = Instant::now();
    let mut images = 0usize;
    let mut checksum = 0f64;
    for epoch in 0..epochs {
        for b in loader.epoch(epoch) {
            let b = b?;
            images += b.batch_size();
            // Touch the output so nothing can be optimised away.
            checksum += f64::from(
                b.get("pixel_values")
                    .and_then(|t| t.as_f32())
                    .map_or(0.0, |v| v[0]),
            );
        }
    }
    let secs = start.elapsed().as_secs_f64();
    ft_bench::emit(
        images as f64 / secs,
        serde_json::json!({ "images": images, "seconds": secs, "checksum": checksum }),
    );
    Ok(())
}
