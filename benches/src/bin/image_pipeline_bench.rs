//! Images per second of decode + augment through the whole loader (folder listing excluded):
//! `ImageSource` with torchvision's training preset (RandomResizedCrop(224) + flip + ToTensor +
//! Normalize) in a `Loader`, on rayon's default pool.
//!
//!     cargo run --release -p ft-data --example image_pipeline_bench -- FOLDER [BATCH] [EPOCHS]
//!
//! Prints one JSON line, like benches/python/image_pipeline.py does for torchvision's
//! `DataLoader(num_workers=2)` on the same folder: {"images_per_s": ..., ...}.

use ft_data::vision::{ImageDataset, ImageSource, Transform};
use ft_data::{Loader, Sampler};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let folder = PathBuf::from(args.next().ok_or_else(|| {
        anyhow::anyhow!("usage: image_pipeline_bench FOLDER [BATCH=32] [EPOCHS=2]")
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
    println!(
        "{}",
        serde_json::json!({
            "impl": "ft-data",
            "images_per_s": images as f64 / secs,
            "images": images,
            "seconds": secs,
            "threads": rayon::current_num_threads(),
            "checksum": checksum,
        })
    );
    Ok(())
}
