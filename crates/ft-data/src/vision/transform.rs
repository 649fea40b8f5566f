//! Transform pipelines with torchvision's definitions, configurable from JSON.
//!
//! A [`Transform`] is a list of [`Op`]s written like torchvision's `Compose`:
//!
//! ```json
//! [{"resize": 256}, {"center_crop": 224}, {"to_tensor": {}},
//!  {"normalize": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}}]
//! ```
//!
//! Pixel operations run on 8-bit images with PIL's arithmetic (so outputs match
//! torchvision-on-PIL to the byte, or within 1/255 for resizes); `to_tensor` then turns bytes into
//! `f32` in `[0, 1]`, channels first, and an optional `normalize` follows. `to_tensor` is implied
//! at the end when absent. Random operations draw from an [`AugRng`] seeded per image
//! ([`Transform::apply_seeded`]), never from a thread's state.

use super::color;
use super::pixels::{Pixels, Rect};
use super::random::{random_resized_crop_params, AugRng};
use super::resample::{resize_region, shorter_side_size};
use crate::error::{DataError, Result};
use serde::{Deserialize, Serialize};

/// ImageNet channel means (RGB), as in torchvision's presets.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations (RGB).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// A size as torchvision takes it: one number, or `[height, width]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Size {
    /// For `resize`: the shorter side (aspect ratio kept). For crops: a square.
    One(usize),
    /// `[height, width]`.
    HeightWidth([usize; 2]),
}

impl Size {
    fn as_square_or_hw(self) -> (usize, usize) {
        match self {
            Size::One(n) => (n, n),
            Size::HeightWidth([h, w]) => (h, w),
        }
    }

    fn is_zero(self) -> bool {
        let (h, w) = self.as_square_or_hw();
        h == 0 || w == 0
    }
}

fn default_scale() -> [f64; 2] {
    [0.08, 1.0]
}
fn default_ratio() -> [f64; 2] {
    [3.0 / 4.0, 4.0 / 3.0]
}
fn half() -> f64 {
    0.5
}
fn one() -> usize {
    1
}

/// One step of a pipeline. JSON names are torchvision's class names in snake case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// `Resize(size)`: bilinear with antialiasing (PIL).
    Resize(Size),
    /// `CenterCrop(size)`: zero-pads first if the crop is larger than the image.
    CenterCrop(Size),
    /// `RandomResizedCrop(size, scale, ratio)`, bilinear.
    RandomResizedCrop {
        size: Size,
        #[serde(default = "default_scale")]
        scale: [f64; 2],
        #[serde(default = "default_ratio")]
        ratio: [f64; 2],
    },
    /// `RandomHorizontalFlip(p)`.
    RandomHorizontalFlip {
        #[serde(default = "half")]
        p: f64,
    },
    /// `ColorJitter(brightness, contrast, saturation, hue)`: factors uniform in
    /// `[max(0, 1-x), 1+x]` (hue in `[-hue, hue]`), applied in a random order; 0 turns one off.
    ColorJitter {
        #[serde(default)]
        brightness: f64,
        #[serde(default)]
        contrast: f64,
        #[serde(default)]
        saturation: f64,
        #[serde(default)]
        hue: f64,
    },
    /// `Grayscale(num_output_channels)`: PIL's luma, replicated to 3 channels if asked.
    Grayscale {
        #[serde(default = "one")]
        num_output_channels: usize,
    },
    /// Grey images replicated into 3 channels (for RGB models on Fashion-MNIST or digits);
    /// RGB images pass unchanged.
    GrayscaleToRgb {},
    /// `ToTensor()`: bytes to `f32 / 255`, channels first.
    ToTensor {},
    /// `Normalize(mean, std)`, per channel, after `to_tensor`.
    Normalize { mean: Vec<f32>, std: Vec<f32> },
}

impl Op {
    fn is_random(&self) -> bool {
        match self {
            Op::RandomResizedCrop { .. } => true,
            Op::RandomHorizontalFlip { p } => *p > 0.0 && *p < 1.0,
            Op::ColorJitter {
                brightness,
                contrast,
                saturation,
                hue,
            } => *brightness > 0.0 || *contrast > 0.0 || *saturation > 0.0 || *hue > 0.0,
            _ => false,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Op::Resize(_) => "resize",
            Op::CenterCrop(_) => "center_crop",
            Op::RandomResizedCrop { .. } => "random_resized_crop",
            Op::RandomHorizontalFlip { .. } => "random_horizontal_flip",
            Op::ColorJitter { .. } => "color_jitter",
            Op::Grayscale { .. } => "grayscale",
            Op::GrayscaleToRgb {} => "grayscale_to_rgb",
            Op::ToTensor {} => "to_tensor",
            Op::Normalize { .. } => "normalize",
        }
    }
}

/// A transformed image: `f32`, channels first (`[C, H, W]`, row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct Chw {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub data: Vec<f32>,
}

/// A checked pipeline of [`Op`]s (see the module docs for the JSON form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Op>", into = "Vec<Op>")]
pub struct Transform {
    /// Operations on bytes, in order.
    pixel_ops: Vec<Op>,
    /// `(mean, std)` of a final `normalize`.
    normalize: Option<(Vec<f32>, Vec<f32>)>,
}

impl TryFrom<Vec<Op>> for Transform {
    type Error = DataError;
    fn try_from(ops: Vec<Op>) -> Result<Self> {
        Transform::new(ops)
    }
}

impl From<Transform> for Vec<Op> {
    fn from(t: Transform) -> Self {
        let mut ops = t.pixel_ops;
        ops.push(Op::ToTensor {});
        if let Some((mean, std)) = t.normalize {
            ops.push(Op::Normalize { mean, std });
        }
        ops
    }
}

fn bad(i: usize, op: &Op, message: impl std::fmt::Display) -> DataError {
    DataError::Invalid(format!("transform step {i} ({}): {message}", op.name()))
}

impl Transform {
    /// Checks the steps: sizes above zero, ranges valid, pixel steps before `to_tensor`, and
    /// at most one `normalize`, after it.
    pub fn new(ops: Vec<Op>) -> Result<Self> {
        let mut pixel_ops = Vec::new();
        let mut normalize = None;
        let mut tensor = false;
        for (i, op) in ops.into_iter().enumerate() {
            match &op {
                Op::Resize(s) | Op::CenterCrop(s) | Op::RandomResizedCrop { size: s, .. }
                    if s.is_zero() =>
                {
                    return Err(bad(i, &op, "sizes must be at least 1"));
                }
                Op::RandomResizedCrop { scale, ratio, .. } if !valid_crop_ranges(scale, ratio) => {
                    return Err(bad(
                        i,
                        &op,
                        format!("need 0 < scale[0] <= scale[1] <= 1 and 0 < ratio[0] <= ratio[1], got scale {scale:?}, ratio {ratio:?}"),
                    ));
                }
                Op::RandomHorizontalFlip { p } if !(0.0..=1.0).contains(p) => {
                    return Err(bad(i, &op, format!("p = {p} is not in [0, 1]")));
                }
                Op::ColorJitter {
                    brightness,
                    contrast,
                    saturation,
                    hue,
                } if [brightness, contrast, saturation]
                    .iter()
                    .any(|&&x| x.is_nan() || x < 0.0)
                    || !(0.0..=0.5).contains(hue) =>
                {
                    return Err(bad(
                        i,
                        &op,
                        "brightness/contrast/saturation must be >= 0 and hue in [0, 0.5]",
                    ));
                }
                Op::Grayscale {
                    num_output_channels,
                } if !matches!(num_output_channels, 1 | 3) => {
                    return Err(bad(i, &op, "num_output_channels must be 1 or 3"));
                }
                _ => {}
            }
            match op {
                Op::ToTensor {} if tensor => return Err(bad(i, &op, "to_tensor twice")),
                Op::ToTensor {} => tensor = true,
                Op::Normalize { .. } if !tensor => {
                    return Err(bad(i, &op, "normalize must come after to_tensor"))
                }
                Op::Normalize { .. } if normalize.is_some() => {
                    return Err(bad(i, &op, "normalize twice"))
                }
                Op::Normalize { mean, std } => {
                    if mean.len() != std.len() || mean.is_empty() {
                        return Err(bad(
                            i,
                            &Op::Normalize { mean, std },
                            "mean and std need one value per channel, as many of each",
                        ));
                    }
                    if std.contains(&0.0) {
                        return Err(bad(i, &Op::Normalize { mean, std }, "std must not be 0"));
                    }
                    normalize = Some((mean, std));
                }
                op if tensor => {
                    return Err(bad(i, &op, "pixel transforms must come before to_tensor"))
                }
                op => pixel_ops.push(op),
            }
        }
        Ok(Transform {
            pixel_ops,
            normalize,
        })
    }

    /// Parses the JSON list form.
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| DataError::Invalid(format!("transform JSON: {e}")))
    }

    /// The JSON list form (with the implied `to_tensor` written out).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("transforms always serialize")
    }

    /// torchvision's ImageNet training preset: `RandomResizedCrop(size)`,
    /// `RandomHorizontalFlip()`, `ToTensor()`, `Normalize(IMAGENET_MEAN, IMAGENET_STD)`.
    pub fn imagenet_train(size: usize) -> Self {
        Transform::new(vec![
            Op::RandomResizedCrop {
                size: Size::One(size),
                scale: default_scale(),
                ratio: default_ratio(),
            },
            Op::RandomHorizontalFlip { p: 0.5 },
            Op::ToTensor {},
            imagenet_normalize(),
        ])
        .expect("valid preset")
    }

    /// torchvision's ImageNet evaluation preset: `Resize(resize)`, `CenterCrop(crop)`,
    /// `ToTensor()`, `Normalize(IMAGENET_MEAN, IMAGENET_STD)`.
    pub fn imagenet_eval(resize: usize, crop: usize) -> Self {
        Transform::new(vec![
            Op::Resize(Size::One(resize)),
            Op::CenterCrop(Size::One(crop)),
            Op::ToTensor {},
            imagenet_normalize(),
        ])
        .expect("valid preset")
    }

    /// The steps (with `to_tensor` and `normalize` at the end).
    pub fn ops(&self) -> Vec<Op> {
        self.clone().into()
    }

    /// True when no step draws random numbers: the same image always gives the same tensor,
    /// so features computed once can be cached (linear probing).
    pub fn is_deterministic(&self) -> bool {
        !self.pixel_ops.iter().any(Op::is_random)
    }

    /// Applies the pipeline with the generator of `(seed, epoch, row)`.
    pub fn apply_seeded(&self, img: Pixels, seed: u64, epoch: u64, row: u64) -> Result<Chw> {
        self.apply(img, &mut AugRng::for_row(seed, epoch, row))
    }

    /// Applies the pipeline, drawing random numbers from `rng`.
    pub fn apply(&self, img: Pixels, rng: &mut AugRng) -> Result<Chw> {
        let img = self.apply_pixels(img, rng);
        self.to_tensor(&img)
    }

    /// The byte-level steps only (everything before `to_tensor`).
    pub fn apply_pixels(&self, mut img: Pixels, rng: &mut AugRng) -> Pixels {
        let mut i = 0;
        while i < self.pixel_ops.len() {
            match &self.pixel_ops[i] {
                Op::Resize(size) => {
                    let (w, h) = match *size {
                        Size::One(n) => shorter_side_size(img.width, img.height, n),
                        Size::HeightWidth([h, w]) => (w, h),
                    };
                    let whole = Rect::new(0, 0, img.width, img.height);
                    // Resize then a center crop that needs no padding: compute only the
                    // crop's pixels (identical bytes, a fraction of the work).
                    if let Some(Op::CenterCrop(c)) = self.pixel_ops.get(i + 1) {
                        let (ch, cw) = c.as_square_or_hw();
                        if let (None, window) = Pixels::center_crop_plan(w, h, ch, cw) {
                            img = resize_region(&img, whole, w, h, window);
                            i += 2;
                            continue;
                        }
                    }
                    if (w, h) != (img.width, img.height) {
                        img = resize_region(&img, whole, w, h, Rect::new(0, 0, w, h));
                    }
                }
                Op::CenterCrop(size) => {
                    let (h, w) = size.as_square_or_hw();
                    img = img.center_crop(h, w);
                }
                Op::RandomResizedCrop { size, scale, ratio } => {
                    let r = random_resized_crop_params(img.width, img.height, *scale, *ratio, rng);
                    let (h, w) = size.as_square_or_hw();
                    img = resize_region(&img, r, w, h, Rect::new(0, 0, w, h));
                }
                Op::RandomHorizontalFlip { p } => {
                    if rng.unit() < *p {
                        img.hflip();
                    }
                }
                Op::ColorJitter {
                    brightness,
                    contrast,
                    saturation,
                    hue,
                } => color_jitter(&mut img, [*brightness, *contrast, *saturation], *hue, rng),
                Op::Grayscale {
                    num_output_channels,
                } => {
                    img = color::to_grey(&img);
                    if *num_output_channels == 3 {
                        img = img.grey_to_rgb();
                    }
                }
                Op::GrayscaleToRgb {} => img = img.grey_to_rgb(),
                Op::ToTensor {} | Op::Normalize { .. } => unreachable!("split off in new()"),
            }
            i += 1;
        }
        img
    }

    /// `ToTensor` (+ `Normalize`): one table of 256 floats per channel, so every output value
    /// is exactly torch's `(v / 255 - mean) / std` in `f32`, at the cost of a lookup.
    pub fn to_tensor(&self, img: &Pixels) -> Result<Chw> {
        let c = img.channels;
        let luts: Vec<[f32; 256]> = (0..c)
            .map(|ch| {
                let (m, s) = match &self.normalize {
                    Some((mean, std)) => (mean.get(ch).copied(), std.get(ch).copied()),
                    None => (Some(0.0), Some(1.0)),
                };
                let (m, s) = m.zip(s).ok_or_else(|| {
                    DataError::Invalid(format!(
                        "normalize has {} channel value(s) but the image has {c} channels \
                         (add grayscale_to_rgb for grey images with RGB statistics)",
                        self.normalize.as_ref().map_or(0, |n| n.0.len())
                    ))
                })?;
                let mut lut = [0f32; 256];
                for (v, out) in lut.iter_mut().enumerate() {
                    let x = v as f32 / 255.0;
                    *out = if self.normalize.is_some() {
                        (x - m) / s
                    } else {
                        x
                    };
                }
                Ok(lut)
            })
            .collect::<Result<_>>()?;
        if let Some((mean, _)) = &self.normalize {
            if mean.len() != c {
                return Err(DataError::Invalid(format!(
                    "normalize has {} channel value(s) but the image has {c} channel(s)",
                    mean.len()
                )));
            }
        }
        let plane = img.width * img.height;
        let mut data = vec![0f32; c * plane];
        if c == 1 {
            for (d, &v) in data.iter_mut().zip(&img.data) {
                *d = luts[0][usize::from(v)];
            }
        } else {
            let (r, rest) = data.split_at_mut(plane);
            let (g, b) = rest.split_at_mut(plane);
            for (i, p) in img.data.chunks_exact(3).enumerate() {
                r[i] = luts[0][usize::from(p[0])];
                g[i] = luts[1][usize::from(p[1])];
                b[i] = luts[2][usize::from(p[2])];
            }
        }
        Ok(Chw {
            channels: c,
            height: img.height,
            width: img.width,
            data,
        })
    }
}

/// `0 < scale[0] <= scale[1] <= 1` and `0 < ratio[0] <= ratio[1]` (false for NaN).
fn valid_crop_ranges(scale: &[f64; 2], ratio: &[f64; 2]) -> bool {
    scale[0] > 0.0
        && scale[0] <= scale[1]
        && scale[1] <= 1.0
        && ratio[0] > 0.0
        && ratio[0] <= ratio[1]
}

fn imagenet_normalize() -> Op {
    Op::Normalize {
        mean: IMAGENET_MEAN.to_vec(),
        std: IMAGENET_STD.to_vec(),
    }
}

/// `ColorJitter.forward`: draw the order and the factors, then apply the enabled ones.
fn color_jitter(img: &mut Pixels, bcs: [f64; 3], hue: f64, rng: &mut AugRng) {
    let order = rng.permutation(4);
    let mut factors = [None; 4];
    for (k, &x) in bcs.iter().enumerate() {
        if x > 0.0 {
            factors[k] = Some(rng.uniform((1.0 - x).max(0.0), 1.0 + x));
        }
    }
    if hue > 0.0 {
        factors[3] = Some(rng.uniform(-hue, hue));
    }
    for k in order {
        match (k, factors[k]) {
            (0, Some(f)) => color::adjust_brightness(img, f),
            (1, Some(f)) => color::adjust_contrast(img, f),
            (2, Some(f)) => color::adjust_saturation(img, f),
            (3, Some(f)) => color::adjust_hue(img, f),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_presets() {
        let t = Transform::from_json(
            r#"[{"resize": 256}, {"center_crop": [224, 200]}, {"random_horizontal_flip": {}},
                {"to_tensor": {}}, {"normalize": {"mean": [0.5], "std": [0.25]}}]"#,
        )
        .unwrap();
        assert!(!t.is_deterministic());
        assert_eq!(Transform::from_json(&t.to_json()).unwrap(), t);
        assert!(Transform::imagenet_eval(256, 224).is_deterministic());
        assert!(!Transform::imagenet_train(224).is_deterministic());
        let no_tensor = Transform::from_json(r#"[{"center_crop": 2}]"#).unwrap();
        assert_eq!(no_tensor.ops().last(), Some(&Op::ToTensor {}));
    }

    #[test]
    fn bad_pipelines_name_the_step() {
        for (json, needle) in [
            (
                r#"[{"normalize": {"mean": [0.5], "std": [1]}}]"#,
                "step 0 (normalize)",
            ),
            (r#"[{"to_tensor": {}}, {"resize": 3}]"#, "step 1 (resize)"),
            (r#"[{"resize": 0}]"#, "at least 1"),
            (r#"[{"random_horizontal_flip": {"p": 2}}]"#, "p = 2"),
            (r#"[{"color_jitter": {"hue": 0.7}}]"#, "hue"),
            (r#"[{"blur": 3}]"#, "unknown variant"),
        ] {
            let e = Transform::from_json(json).unwrap_err().to_string();
            assert!(e.contains(needle), "{json}: {e}");
        }
    }
}
