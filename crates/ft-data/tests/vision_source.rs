//! ImageSource batches: shapes and labels, determinism per (seed, epoch, row) whatever the
//! thread count, corrupt files (error naming the file, or skipped and counted), and
//! RandomResizedCrop parameters (property test).

use ft_data::vision::{random_resized_crop_params, AugRng, ImageDataset, ImageSource, Transform};
use ft_data::{BatchContext, BatchSource, HostBatch, Loader, Sampler};
use proptest::prelude::*;
use std::path::Path;
use std::sync::Arc;

/// Two classes of small real PNG/JPEG files of different sizes (and one corrupt JPEG when asked).
fn folder(corrupt: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (k, class) in ["cat", "dog"].iter().enumerate() {
        std::fs::create_dir_all(dir.path().join(class)).unwrap();
        for i in 0..5u32 {
            let (w, h) = (40 + 3 * i, 30 + 2 * i);
            let img = image::RgbImage::from_fn(w, h, |x, y| {
                image::Rgb([
                    (x * 5 + i) as u8,
                    (y * 7) as u8,
                    (k as u32 * 100 + x * y) as u8,
                ])
            });
            let ext = if i % 2 == 0 { "png" } else { "jpg" };
            img.save(dir.path().join(class).join(format!("{i}.{ext}")))
                .unwrap();
        }
    }
    if corrupt {
        std::fs::write(dir.path().join("dog/broken.jpg"), b"\xff\xd8\xff garbage").unwrap();
    }
    dir
}

fn source(root: &Path, transform: Transform) -> ImageSource {
    ImageSource::new(Arc::new(ImageDataset::folder(root).unwrap()), transform)
}

fn ctx(epoch: u64) -> BatchContext {
    BatchContext {
        index: 0,
        epoch,
        seed: 42,
    }
}

fn pixels(b: &HostBatch) -> &[f32] {
    b.get("pixel_values").unwrap().as_f32().unwrap()
}

#[test]
fn batches_are_the_same_whatever_the_thread_count_and_differ_by_epoch() {
    let dir = folder(false);
    let src = source(dir.path(), Transform::imagenet_train(16));
    let rows: Vec<usize> = (0..10).collect();
    let with_threads = |n: usize, epoch: u64| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
            .install(|| src.collate(&rows, ctx(epoch)).unwrap())
    };
    let one = with_threads(1, 0);
    assert_eq!(one.get("pixel_values").unwrap().shape, [10, 3, 16, 16]);
    assert_eq!(one.i64s("labels").unwrap(), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    assert_eq!(pixels(&one), pixels(&with_threads(3, 0)));
    assert_ne!(pixels(&one), pixels(&with_threads(1, 1)));

    // Through a Loader: the same (seed, epoch) replays the same pixels.
    let loader = Loader::from_source(Arc::new(src), Sampler::Random, 4)
        .unwrap()
        .seed(3);
    let a: Vec<HostBatch> = loader.epoch(2).map(Result::unwrap).collect();
    let b: Vec<HostBatch> = loader.epoch(2).map(Result::unwrap).collect();
    assert_eq!(a, b);
    assert_eq!(a.iter().map(HostBatch::batch_size).sum::<usize>(), 10);
}

#[test]
fn cached_and_uncached_sources_agree() {
    let dir = folder(false);
    let t = Transform::imagenet_eval(20, 16);
    let rows = [3, 1, 8];
    let plain = source(dir.path(), t.clone())
        .collate(&rows, ctx(0))
        .unwrap();
    let cached = source(dir.path(), t).cache_decoded(true);
    assert_eq!(cached.collate(&rows, ctx(0)).unwrap(), plain);
    assert_eq!(
        cached.collate(&rows, ctx(1)).unwrap(),
        plain,
        "deterministic transform"
    );
}

#[test]
fn corrupt_images_fail_naming_the_file_or_are_skipped_and_counted() {
    let dir = folder(true);
    let broken = dir.path().join("dog/broken.jpg");
    let ds = ImageDataset::folder(dir.path()).unwrap();
    let row = (0..ds.len())
        .find(|&i| ds.path(i) == Some(broken.as_path()))
        .unwrap();
    let t = Transform::imagenet_eval(20, 16);

    let strict = ImageSource::new(Arc::new(ds.clone()), t.clone());
    let e = strict.collate(&[0, row], ctx(0)).unwrap_err().to_string();
    assert!(e.contains("broken.jpg") && e.contains("bad image"), "{e}");

    let lenient = ImageSource::new(Arc::new(ds), t).skip_bad_images(true);
    let b = lenient.collate(&[0, row, 1], ctx(0)).unwrap();
    assert_eq!(b.rows, [0, 1]);
    assert_eq!(b.get("pixel_values").unwrap().shape, [2, 3, 16, 16]);
    lenient.collate(&[row], ctx(1)).unwrap();
    assert_eq!(lenient.skipped(), [broken], "each bad file listed once");
}

/// A 0-byte file, a JPEG cut in half, a PNG under a `.jpg` name, and a PNG whose header claims
/// 100000x100000 pixels: the strict source names each bad file; the lenient one skips and
/// lists them; the mislabelled PNG decodes by its content.
#[test]
fn empty_truncated_mislabelled_and_bomb_images() {
    let dir = folder(false);
    let jpg = std::fs::read(dir.path().join("dog/1.jpg")).unwrap();
    let png = std::fs::read(dir.path().join("dog/0.png")).unwrap();
    std::fs::write(dir.path().join("dog/empty.jpg"), b"").unwrap();
    std::fs::write(dir.path().join("dog/half.jpg"), &jpg[..jpg.len() / 2]).unwrap();
    std::fs::write(dir.path().join("dog/really-png.jpg"), &png).unwrap();
    let mut bomb = png.clone();
    bomb[16..24].copy_from_slice(&[0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0]);
    // The IHDR CRC is wrong now; PNG decoders check it, so fix it up.
    let crc = {
        let mut c = 0xFFFF_FFFFu32;
        for &b in &bomb[12..29] {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    };
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(dir.path().join("dog/bomb.png"), &bomb).unwrap();

    let ds = ImageDataset::folder(dir.path()).unwrap();
    let row_of = |name: &str| {
        let p = dir.path().join("dog").join(name);
        (0..ds.len())
            .find(|&i| ds.path(i) == Some(p.as_path()))
            .unwrap()
    };
    let t = Transform::imagenet_eval(20, 16);
    let strict = ImageSource::new(Arc::new(ds.clone()), t.clone());
    for (name, says) in [
        ("empty.jpg", "the file is empty (0 bytes)"),
        ("half.jpg", "truncated"),
        ("bomb.png", "claims 100000x100000 = 10000000000 pixels"),
    ] {
        let e = strict
            .collate(&[row_of(name)], ctx(0))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(name) && e.contains("bad image") && e.contains(says),
            "{e}"
        );
    }
    let ok = strict.collate(&[row_of("really-png.jpg")], ctx(0)).unwrap();
    assert_eq!(ok.rows.len(), 1);

    let lenient = ImageSource::new(Arc::new(ds.clone()), t).skip_bad_images(true);
    let rows = [
        row_of("empty.jpg"),
        row_of("half.jpg"),
        row_of("bomb.png"),
        0,
    ];
    let b = lenient.collate(&rows, ctx(0)).unwrap();
    assert_eq!(b.rows, [0]);
    assert_eq!(lenient.skipped().len(), 3);
}

#[test]
fn images_of_different_final_sizes_cannot_share_a_batch() {
    let dir = folder(false);
    let src = source(
        dir.path(),
        Transform::from_json(r#"[{"resize": 20}]"#).unwrap(),
    );
    // 40x30 -> 26x20 but 52x38 -> 27x20.
    let e = src.collate(&[0, 4], ctx(0)).unwrap_err().to_string();
    assert!(e.contains("4.png") && e.contains("fixed-size"), "{e}");
}

proptest! {
    #[test]
    fn random_resized_crop_stays_inside_with_scale_and_ratio_in_range(
        width in 64usize..1500,
        aspect in 0.34f64..3.0,
        s0 in 0.05f64..0.4,
        seed in any::<u64>(),
    ) {
        let height = ((width as f64 / aspect) as usize).max(64);
        let (scale, ratio) = ([s0, 1.0], [3.0 / 4.0, 4.0 / 3.0]);
        let r = random_resized_crop_params(width, height, scale, ratio, &mut AugRng::new(seed));
        prop_assert!(r.width >= 1 && r.height >= 1);
        prop_assert!(r.left + r.width <= width && r.top + r.height <= height, "{r:?}");
        // Rounding w and h to integers moves area and ratio by at most half a pixel per side.
        let slack = 0.5 / r.width as f64 + 0.5 / r.height as f64;
        let frac = (r.width * r.height) as f64 / (width * height) as f64;
        prop_assert!(frac >= s0 * (1.0 - 2.0 * slack) && frac <= 1.0, "area {frac}");
        let ar = r.width as f64 / r.height as f64;
        prop_assert!(ar >= ratio[0] * (1.0 - 2.0 * slack) && ar <= ratio[1] * (1.0 + 2.0 * slack), "ratio {ar}");
    }
}
