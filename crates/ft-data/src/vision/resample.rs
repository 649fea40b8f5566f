//! PIL's bilinear resampling (`Image.resize(size, Image.BILINEAR)`), reproduced step by step.
//!
//! torchvision's `Resize`/`RandomResizedCrop` on PIL images call this, and its result is *not*
//! the textbook 2x2 bilinear interpolation: when shrinking, the triangle filter is stretched by
//! the scale factor (antialiasing), weights are rounded to 22-bit fixed point, and the image is
//! resized horizontally first, rounded to 8 bits, then vertically. Doing the same here keeps
//! every output byte equal to Pillow's (`Resample.c`: `precompute_coeffs`,
//! `normalize_coeffs_8bpc`, `ImagingResampleHorizontal_8bpc`, `ImagingResampleVertical_8bpc`).

use super::pixels::{Pixels, Rect};

/// Fixed-point precision of Pillow's 8-bit resampling weights.
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Per output position: the first input index, and its fixed-point weights.
struct Coeffs {
    start: Vec<usize>,
    /// `weights[i]` are the weights of output `i`, applied from input `start[i]` on.
    weights: Vec<Vec<i32>>,
}

fn triangle(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 {
        1.0 - x
    } else {
        0.0
    }
}

/// `precompute_coeffs` + `normalize_coeffs_8bpc` for `in_size` inputs and `out_size` outputs.
fn coeffs(in_size: usize, out_size: usize) -> Coeffs {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = filterscale; // the bilinear filter's support is 1
    let ss = 1.0 / filterscale;
    let mut start = Vec::with_capacity(out_size);
    let mut weights = Vec::with_capacity(out_size);
    for xx in 0..out_size {
        let center = (xx as f64 + 0.5) * scale;
        // C's `(int)` truncates towards zero, then Pillow clamps.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
        let n = xmax.saturating_sub(xmin);
        let k: Vec<f64> = (0..n)
            .map(|x| triangle((x as f64 + xmin as f64 - center + 0.5) * ss))
            .collect();
        let ww: f64 = k.iter().sum();
        let one = f64::from(1u32 << PRECISION_BITS);
        let fixed = k
            .iter()
            .map(|&w| {
                let w = if ww != 0.0 { w / ww } else { w };
                if w < 0.0 {
                    (-0.5 + w * one) as i32
                } else {
                    (0.5 + w * one) as i32
                }
            })
            .collect();
        start.push(xmin);
        weights.push(fixed);
    }
    Coeffs { start, weights }
}

/// Pillow's `clip8`: drop the fixed-point fraction (the rounding half was added up front) and
/// clamp to a byte.
#[inline]
fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Resizes the part `region` of `src` (treated as if it had been cropped out first, so pixels
/// outside it never contribute, like torchvision's crop-then-resize) to `out_w x out_h`, and
/// returns only the output pixels inside `window` (a crop of the resized image, computed
/// without computing the rest: the outputs of a separable resize are independent).
pub fn resize_region(
    src: &Pixels,
    region: Rect,
    out_w: usize,
    out_h: usize,
    window: Rect,
) -> Pixels {
    assert!(region.left + region.width <= src.width && region.top + region.height <= src.height);
    assert!(window.left + window.width <= out_w && window.top + window.height <= out_h);
    let c = src.channels;
    let need_h = out_w != region.width;
    let need_v = out_h != region.height;
    let cols = coeffs(region.width, out_w);
    let rows = coeffs(region.height, out_h);

    // Input rows the vertical pass will read for the window's outputs.
    let (y_first, y_last) = if need_v {
        let first = rows.start[window.top];
        let last = (window.top..window.top + window.height)
            .map(|y| rows.start[y] + rows.weights[y].len())
            .max()
            .unwrap_or(first);
        (first, last)
    } else {
        (window.top, window.top + window.height)
    };

    // Horizontal pass over the needed rows only, window columns only.
    let tw = window.width;
    let mut temp = vec![0u8; (y_last - y_first) * tw * c];
    for (ty, y) in (y_first..y_last).enumerate() {
        let row = &src.row(region.top + y)[region.left * c..(region.left + region.width) * c];
        let out = &mut temp[ty * tw * c..(ty + 1) * tw * c];
        if !need_h {
            out.copy_from_slice(&row[window.left * c..(window.left + tw) * c]);
            continue;
        }
        for (ox, x) in (window.left..window.left + tw).enumerate() {
            let s = cols.start[x];
            let k = &cols.weights[x];
            for ch in 0..c {
                let mut acc: i32 = 1 << (PRECISION_BITS - 1);
                for (i, &w) in k.iter().enumerate() {
                    acc += i32::from(row[(s + i) * c + ch]) * w;
                }
                out[ox * c + ch] = clip8(acc);
            }
        }
    }
    if !need_v {
        return Pixels {
            width: tw,
            height: window.height,
            channels: c,
            data: temp,
        };
    }

    // Vertical pass, accumulating whole rows at a time (contiguous, vectorisable).
    let stride = tw * c;
    let mut data = vec![0u8; window.height * stride];
    let mut acc = vec![0i32; stride];
    for (oy, y) in (window.top..window.top + window.height).enumerate() {
        acc.fill(1 << (PRECISION_BITS - 1));
        let s = rows.start[y] - y_first;
        for (i, &w) in rows.weights[y].iter().enumerate() {
            let line = &temp[(s + i) * stride..(s + i + 1) * stride];
            for (a, &v) in acc.iter_mut().zip(line) {
                *a += i32::from(v) * w;
            }
        }
        for (d, &a) in data[oy * stride..(oy + 1) * stride].iter_mut().zip(&acc) {
            *d = clip8(a);
        }
    }
    Pixels {
        width: tw,
        height: window.height,
        channels: c,
        data,
    }
}

/// The whole image resized to `out_w x out_h` (`img.resize((out_w, out_h), BILINEAR)`).
pub fn resize(src: &Pixels, out_w: usize, out_h: usize) -> Pixels {
    resize_region(
        src,
        Rect::new(0, 0, src.width, src.height),
        out_w,
        out_h,
        Rect::new(0, 0, out_w, out_h),
    )
}

/// torchvision's output size for `Resize(size)` with one number: the shorter side becomes
/// `size`, the longer one `int(size * long / short)` (truncated, as Python's `int`).
pub fn shorter_side_size(width: usize, height: usize, size: usize) -> (usize, usize) {
    let (short, long) = if width <= height {
        (width, height)
    } else {
        (height, width)
    };
    let new_long = (size as f64 * long as f64 / short as f64) as usize;
    if width <= height {
        (size, new_long)
    } else {
        (new_long, size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_in_fixed_point() {
        for (i, o) in [(500, 224), (7, 13), (375, 256), (1, 5)] {
            let c = coeffs(i, o);
            for k in &c.weights {
                let sum: i32 = k.iter().sum();
                assert!(
                    (sum - (1 << PRECISION_BITS)).abs() <= k.len() as i32,
                    "{i}->{o}"
                );
            }
        }
    }

    #[test]
    fn a_window_equals_the_crop_of_the_full_resize() {
        let data: Vec<u8> = (0..37 * 23 * 3).map(|i| (i * 7 % 251) as u8).collect();
        let p = Pixels::new(37, 23, 3, data).unwrap();
        let full = resize(&p, 20, 30);
        let win = Rect::new(3, 5, 11, 17);
        let part = resize_region(&p, Rect::new(0, 0, 37, 23), 20, 30, win);
        assert_eq!(part, full.crop(win));
        assert_eq!(shorter_side_size(500, 375, 256), (341, 256));
        assert_eq!(shorter_side_size(20, 30, 8), (8, 12));
    }
}
