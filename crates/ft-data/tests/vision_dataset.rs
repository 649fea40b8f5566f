//! Image datasets: ImageFolder order and class indices against torchvision, class filtering,
//! seeded subsets, the digits CSV and the real Fashion-MNIST IDX files.

mod common;
mod vision_common;

use ft_data::idx::FASHION_MNIST_CLASSES;
use ft_data::vision::ImageDataset;
use std::path::Path;

fn touch(root: &Path, rel: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, b"not decoded by these tests").unwrap();
}

/// A folder with nested directories, mixed-case extensions, names whose order differs
/// between byte order and "natural" order, and files that are not images.
fn tricky_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for rel in [
        "b_cat/10.jpg",
        "b_cat/9.JPG",
        "b_cat/a.png",
        "b_cat/sub/z.jpeg",
        "b_cat/sub-x/y.webp",
        "b_cat/sub/inner/q.bmp",
        "b_cat/Notes.txt",
        "A_dog/x.Jpeg",
        "A_dog/_y.jpg",
        "a_ant/1.bmp",
        "a_ant/readme.md",
    ] {
        touch(dir.path(), rel);
    }
    dir
}

#[test]
fn folder_order_and_classes_match_torchvision_image_folder() {
    let dir = tricky_folder();
    let ds = ImageDataset::folder(dir.path()).unwrap();
    assert_eq!(ds.classes(), ["A_dog", "a_ant", "b_cat"]);
    let ours: Vec<(String, usize)> = (0..ds.len())
        .map(|i| {
            let rel = ds.path(i).unwrap().strip_prefix(dir.path()).unwrap();
            (rel.to_string_lossy().into_owned(), ds.label(i))
        })
        .collect();
    assert_eq!(ours.len(), 9);
    let py = vision_common::python();
    let out = vision_common::run(&py, &["folder", dir.path().to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let theirs: Vec<(String, usize)> = v["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s[0].as_str().unwrap().to_string(),
                s[1].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert_eq!(ours, theirs);
    assert_eq!(v["classes"], serde_json::json!(["A_dog", "a_ant", "b_cat"]));
}

#[test]
fn empty_folders_are_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let e = ImageDataset::folder(dir.path()).unwrap_err().to_string();
    assert!(e.contains("no class sub-folders"), "{e}");
    assert!(e.contains(&dir.path().display().to_string()), "{e}");
    touch(dir.path(), "cats/a.jpg");
    touch(dir.path(), "dogs/readme.txt");
    let e = ImageDataset::folder(dir.path()).unwrap_err().to_string();
    assert!(e.contains("dogs") && e.contains("has no image"), "{e}");
}

#[test]
fn filter_classes_reindexes_in_the_given_order_and_subsets_are_seeded() {
    let dir = tricky_folder();
    let ds = ImageDataset::folder(dir.path()).unwrap();
    let two = ds.filter_classes(&["b_cat", "a_ant"]).unwrap();
    assert_eq!(two.classes(), ["b_cat", "a_ant"]);
    assert_eq!(two.len(), 7);
    for i in 0..two.len() {
        let class = two.path(i).unwrap().strip_prefix(dir.path()).unwrap();
        let first = class
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap();
        assert_eq!(two.classes()[two.label(i)], first);
    }
    let e = ds.filter_classes(&["zebra"]).unwrap_err().to_string();
    assert!(
        e.contains("zebra") && e.contains("A_dog, a_ant, b_cat"),
        "{e}"
    );

    let a = ds.subset_seeded(4, 7).unwrap();
    let b = ds.subset_seeded(4, 7).unwrap();
    let paths = |d: &ImageDataset| {
        (0..d.len())
            .map(|i| d.path(i).unwrap().to_path_buf())
            .collect::<Vec<_>>()
    };
    assert_eq!(paths(&a), paths(&b));
    assert_ne!(paths(&a), paths(&ds.subset_seeded(4, 8).unwrap()));
    let parts = ds.split(&[3, 4], 7).unwrap();
    assert_eq!(paths(&parts[0]), paths(&a)[..3]);
    let mut all: Vec<_> = paths(&parts[0])
        .into_iter()
        .chain(paths(&parts[1]))
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 7, "splits are disjoint");
    assert!(ds.subset_seeded(10, 0).is_err());
}

#[test]
fn digits_csv_gives_8x8_grey_images_with_ten_classes() {
    let Some(path) = common::asset("datasets/sklearn-digits/digits.csv.gz") else {
        return;
    };
    let ds = ImageDataset::pixel_csv(&path, 8, 16.0).unwrap();
    assert_eq!(ds.len(), 1797);
    assert_eq!(ds.classes().len(), 10);
    assert_eq!(ds.label(0), 0);
    let img = ds.load(0).unwrap();
    assert_eq!((img.width, img.height, img.channels), (8, 8, 1));
    // First row of sklearn's digits: 0,0,5,13,9,1,0,0 -> round(v * 255 / 16).
    assert_eq!(img.data[..8], [0, 0, 80, 207, 143, 16, 0, 0]);
    assert!(ds.path(0).is_none());

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "0,1,2,3,1\n0,1,x,3,0\n").unwrap();
    let e = ImageDataset::pixel_csv(&bad, 2, 16.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.csv:2") && e.contains("pixel 2"), "{e}");
}

#[test]
fn fashion_mnist_idx_as_a_binary_task() {
    let (Some(images), Some(labels)) = (
        common::asset("datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"),
        common::asset("datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"),
    ) else {
        return;
    };
    let ds = ImageDataset::idx(&images, &labels, &FASHION_MNIST_CLASSES).unwrap();
    assert_eq!(ds.len(), 10_000);
    // The first test image is an ankle boot (label 9), as torchvision's FashionMNIST says.
    assert_eq!(ds.label(0), 9);
    let img = ds.load(0).unwrap();
    assert_eq!((img.width, img.height, img.channels), (28, 28, 1));
    let binary = ds.filter_classes(&["sandal", "sneaker"]).unwrap();
    assert_eq!(binary.len(), 2000, "1000 test images per class");
    assert!((0..binary.len()).all(|i| binary.label(i) < 2));
    assert!(binary
        .describe(0)
        .to_string_lossy()
        .contains("t10k-images-idx3-ubyte.gz#"));
}
