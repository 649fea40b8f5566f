//! The transforms against torchvision's v1 functional transforms on PIL images, on fixed small
//! images (references from tests/python/vision_reference.py): crops and flips must be exact,
//! resizes within 1/255, colour adjustments within 1/255 (hue 2/255).

mod vision_common;

use ft_data::vision::{color, resize, resized_crop, Pixels, Transform};
use safetensors::{Dtype, SafeTensors};

struct Refs {
    bytes: Vec<u8>,
}

impl Refs {
    fn load() -> Refs {
        let path = vision_common::transforms_reference();
        Refs {
            bytes: std::fs::read(path).expect("reading the reference"),
        }
    }

    /// A uint8 `[H, W]` or `[H, W, 3]` tensor as pixels.
    fn pixels(&self, name: &str) -> Pixels {
        let st = SafeTensors::deserialize(&self.bytes).unwrap();
        let t = st.tensor(name).unwrap_or_else(|_| panic!("no `{name}`"));
        assert_eq!(t.dtype(), Dtype::U8, "{name}");
        let s = t.shape();
        let c = if s.len() == 3 { s[2] } else { 1 };
        Pixels::new(s[1], s[0], c, t.data().to_vec()).unwrap()
    }

    /// A float32 `[C, H, W]` tensor.
    fn floats(&self, name: &str) -> (Vec<usize>, Vec<f32>) {
        let st = SafeTensors::deserialize(&self.bytes).unwrap();
        let t = st.tensor(name).unwrap_or_else(|_| panic!("no `{name}`"));
        assert_eq!(t.dtype(), Dtype::F32, "{name}");
        let v = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        (t.shape().to_vec(), v)
    }
}

/// Largest absolute byte difference (shapes must agree); prints how many bytes differ.
fn max_diff(name: &str, got: &Pixels, want: &Pixels) -> u8 {
    assert_eq!(
        (got.width, got.height, got.channels),
        (want.width, want.height, want.channels),
        "{name}: shape"
    );
    let diffs: Vec<u8> = got
        .data
        .iter()
        .zip(&want.data)
        .map(|(a, b)| a.abs_diff(*b))
        .collect();
    let n = diffs.iter().filter(|&&d| d > 0).count();
    let m = diffs.iter().copied().max().unwrap_or(0);
    eprintln!(
        "{name}: max diff {m}/255, {n} of {} bytes differ",
        diffs.len()
    );
    m
}

#[test]
fn resizes_match_pil_bilinear_within_one_level() {
    let r = Refs::load();
    let rgb = r.pixels("input_rgb");
    let grey = r.pixels("input_grey");
    let by_short = |img: &Pixels, s| {
        let (w, h) = ft_data::vision::shorter_side_size(img.width, img.height, s);
        resize(img, w, h)
    };
    for (name, got) in [
        ("resize_down", by_short(&rgb, 10)),
        ("resize_up", by_short(&rgb, 50)),
        ("resize_hw", resize(&rgb, 41, 17)),
        ("resize_grey", by_short(&grey, 12)),
        ("resized_crop", resized_crop(&rgb, 3, 5, 14, 20, (24, 24))),
        (
            "resized_crop_whole",
            resized_crop(&rgb, 0, 0, 23, 37, (11, 13)),
        ),
    ] {
        assert!(max_diff(name, &got, &r.pixels(name)) <= 1, "{name}");
    }
}

#[test]
fn crops_and_flips_are_exact() {
    let r = Refs::load();
    let rgb = r.pixels("input_rgb");
    let mut flipped = rgb.clone();
    flipped.hflip();
    for (name, got) in [
        ("center_crop", rgb.center_crop(15, 20)),
        ("center_crop_odd", rgb.center_crop(16, 21)),
        ("center_crop_pad", rgb.center_crop(30, 40)),
        ("hflip", flipped),
        ("grayscale", color::to_grey(&rgb)),
    ] {
        assert_eq!(max_diff(name, &got, &r.pixels(name)), 0, "{name}");
    }
}

#[test]
fn color_adjustments_match_pil() {
    let r = Refs::load();
    let rgb = r.pixels("input_rgb");
    type Adjust = fn(&mut Pixels, f64);
    let cases: [(&str, Adjust, &[f64], u8); 4] = [
        ("brightness", color::adjust_brightness, &[0.6, 1.4], 1),
        ("contrast", color::adjust_contrast, &[0.5, 1.7], 1),
        ("saturation", color::adjust_saturation, &[0.3, 1.8], 1),
        ("hue", color::adjust_hue, &[-0.2, 0.13, 0.5], 2),
    ];
    for (op, f, factors, tol) in cases {
        for &x in factors {
            let mut got = rgb.clone();
            f(&mut got, x);
            let name = format!("{op}_{x}");
            assert!(max_diff(&name, &got, &r.pixels(&name)) <= tol, "{name}");
        }
    }
}

#[test]
fn tensors_match_to_tensor_normalize_and_the_eval_preset() {
    let r = Refs::load();
    let rgb = r.pixels("input_rgb");
    let grey = r.pixels("input_grey");
    let plain = Transform::from_json(r#"[{"grayscale_to_rgb": {}}, {"to_tensor": {}}]"#).unwrap();
    let normalize = Transform::from_json(
        r#"[{"to_tensor": {}}, {"normalize": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}}]"#,
    )
    .unwrap();
    for (name, t, img, tol) in [
        ("grey_to_rgb", &plain, &grey, 0.0),
        ("to_tensor_normalize", &normalize, &rgb, 0.0),
        // Resize + CenterCrop go through the fused path; bytes may differ by one level.
        (
            "eval_preset",
            &Transform::imagenet_eval(16, 12),
            &rgb,
            1.0 / 255.0 / 0.224 + 1e-6,
        ),
    ] {
        let got = t.apply_seeded(img.clone(), 0, 0, 0).unwrap();
        let (shape, want) = r.floats(name);
        assert_eq!(shape, [got.channels, got.height, got.width], "{name}");
        let m = got
            .data
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        eprintln!("{name}: max abs diff {m:e}");
        assert!(m <= tol, "{name}: {m}");
    }
}
