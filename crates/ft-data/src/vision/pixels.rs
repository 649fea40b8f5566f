//! Decoded 8-bit images and the exact geometric operations on them (crop, pad, flip).
//!
//! Pixels stay `u8` until the very end of a transform pipeline: resizing and colour jitter
//! round to 8 bits after every step exactly like PIL does, so keeping bytes is both what
//! torchvision-on-PIL computes and four times less memory traffic than `f32`.

use crate::error::{DataError, Result};
use std::path::Path;

/// An 8-bit image, rows top to bottom, pixels interleaved (`RGBRGB…` or grey).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pixels {
    pub width: usize,
    pub height: usize,
    /// 1 (grey, PIL mode `L`) or 3 (PIL mode `RGB`).
    pub channels: usize,
    /// `height * width * channels` bytes.
    pub data: Vec<u8>,
}

/// A rectangle in pixel coordinates: `left, top` of the first pixel, then its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub left: usize,
    pub top: usize,
    pub width: usize,
    pub height: usize,
}

impl Rect {
    pub fn new(left: usize, top: usize, width: usize, height: usize) -> Self {
        Rect {
            left,
            top,
            width,
            height,
        }
    }
}

impl Pixels {
    /// Wraps raw bytes, checking that their count matches the shape.
    pub fn new(width: usize, height: usize, channels: usize, data: Vec<u8>) -> Result<Self> {
        if !(channels == 1 || channels == 3) || data.len() != width * height * channels {
            return Err(DataError::Invalid(format!(
                "{} bytes do not make a {width}x{height} image with {channels} channel(s) (1 or 3)",
                data.len()
            )));
        }
        Ok(Pixels {
            width,
            height,
            channels,
            data,
        })
    }

    /// Decodes an image file (format sniffed from its bytes, so a `.jpg` that is really a PNG
    /// still loads) into RGB, as torchvision's default `ImageFolder` loader
    /// (`Image.open(f).convert("RGB")`) does. Errors name the file: an empty file, one that is
    /// no image, a header over the pixel budget ([`super::limits::max_image_pixels`], checked
    /// before decoding), a truncated JPEG or PNG.
    pub fn open_rgb(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        Self::decode_rgb(&bytes, path)
    }

    /// [`Pixels::open_rgb`] on the bytes of a file already in memory; `path` names it.
    pub fn decode_rgb(bytes: &[u8], path: &Path) -> Result<Self> {
        let rgb = super::limits::decode_rgb(bytes, path)?;
        let (w, h) = (rgb.width() as usize, rgb.height() as usize);
        if w == 0 || h == 0 {
            return Err(DataError::BadImage {
                path: path.to_path_buf(),
                message: "the image has no pixels".into(),
            });
        }
        Ok(Pixels {
            width: w,
            height: h,
            channels: 3,
            data: rgb.into_raw(),
        })
    }

    /// Bytes of row `y`.
    #[inline]
    pub fn row(&self, y: usize) -> &[u8] {
        let stride = self.width * self.channels;
        &self.data[y * stride..(y + 1) * stride]
    }

    /// The pixels inside `r`, which must lie inside the image (PIL's `crop` would pad with
    /// zeros outside; torchvision never asks for that except in [`Pixels::center_crop`],
    /// which pads explicitly).
    pub fn crop(&self, r: Rect) -> Pixels {
        assert!(
            r.left + r.width <= self.width && r.top + r.height <= self.height,
            "crop {r:?} outside a {}x{} image",
            self.width,
            self.height
        );
        let c = self.channels;
        let mut data = Vec::with_capacity(r.width * r.height * c);
        for y in r.top..r.top + r.height {
            data.extend_from_slice(&self.row(y)[r.left * c..(r.left + r.width) * c]);
        }
        Pixels {
            width: r.width,
            height: r.height,
            channels: c,
            data,
        }
    }

    /// Zero padding: `left, top, right, bottom` pixels of black around the image.
    pub fn pad(&self, left: usize, top: usize, right: usize, bottom: usize) -> Pixels {
        let c = self.channels;
        let w = self.width + left + right;
        let h = self.height + top + bottom;
        let mut data = vec![0u8; w * h * c];
        for y in 0..self.height {
            let start = ((y + top) * w + left) * c;
            data[start..start + self.width * c].copy_from_slice(self.row(y));
        }
        Pixels {
            width: w,
            height: h,
            channels: c,
            data,
        }
    }

    /// The rectangle `F.center_crop` takes, after the zero padding it needs when the crop is
    /// larger than the image (`None` when no padding is needed).
    pub fn center_crop_plan(
        width: usize,
        height: usize,
        crop_h: usize,
        crop_w: usize,
    ) -> (Option<[usize; 4]>, Rect) {
        let (mut w, mut h) = (width, height);
        let mut padding = None;
        if crop_w > w || crop_h > h {
            let (dw, dh) = (crop_w.saturating_sub(w), crop_h.saturating_sub(h));
            let p = [dw / 2, dh / 2, dw.div_ceil(2), dh.div_ceil(2)];
            w += dw;
            h += dh;
            padding = Some(p);
        }
        let top = round_half_even((h - crop_h) as f64 / 2.0) as usize;
        let left = round_half_even((w - crop_w) as f64 / 2.0) as usize;
        (padding, Rect::new(left, top, crop_w, crop_h))
    }

    /// torchvision's `F.center_crop(img, [crop_h, crop_w])` on a PIL image: pads with zeros
    /// when the crop is larger, and places the crop with Python's `round` (half to even).
    pub fn center_crop(&self, crop_h: usize, crop_w: usize) -> Pixels {
        let (padding, r) = Pixels::center_crop_plan(self.width, self.height, crop_h, crop_w);
        match padding {
            Some([l, t, rr, b]) => self.pad(l, t, rr, b).crop(r),
            None => self.crop(r),
        }
    }

    /// Mirror left-right (`F.hflip`).
    pub fn hflip(&mut self) {
        let c = self.channels;
        let stride = self.width * c;
        for row in self.data.chunks_exact_mut(stride) {
            let (mut i, mut j) = (0, self.width.saturating_sub(1));
            while i < j {
                for k in 0..c {
                    row.swap(i * c + k, j * c + k);
                }
                i += 1;
                j -= 1;
            }
        }
    }

    /// Grey replicated into three channels (ToTensor of an `L` image then `expand(3, ...)`,
    /// which is what `Grayscale(num_output_channels=3)` gives for grey input). RGB input is
    /// returned unchanged.
    pub fn grey_to_rgb(self) -> Pixels {
        if self.channels == 3 {
            return self;
        }
        let data = self.data.iter().flat_map(|&v| [v, v, v]).collect();
        Pixels {
            width: self.width,
            height: self.height,
            channels: 3,
            data,
        }
    }
}

/// Python 3's `round(x)`: ties go to the even integer (`round(0.5) == 0`, `round(1.5) == 2`).
pub fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_rounding() {
        let got: Vec<f64> = [0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6]
            .iter()
            .map(|&x| round_half_even(x))
            .collect();
        assert_eq!(got, [0.0, 2.0, 2.0, -0.0, -2.0, 2.0, 3.0]);
    }

    #[test]
    fn hflip_and_crop_move_the_right_bytes() {
        let mut p = Pixels::new(3, 2, 1, vec![1, 2, 3, 4, 5, 6]).unwrap();
        p.hflip();
        assert_eq!(p.data, [3, 2, 1, 6, 5, 4]);
        assert_eq!(p.crop(Rect::new(1, 1, 2, 1)).data, [5, 4]);
        let padded = p.center_crop(4, 3);
        assert_eq!(padded.data, [0, 0, 0, 3, 2, 1, 6, 5, 4, 0, 0, 0]);
    }
}
