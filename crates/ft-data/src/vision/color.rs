//! Colour adjustments with PIL's arithmetic: torchvision's `adjust_brightness`,
//! `adjust_contrast`, `adjust_saturation` (via `ImageEnhance`, i.e. `Image.blend` with a
//! "degenerate" image) and `adjust_hue` (via PIL's HSV conversion), and PIL's RGB→L.
//!
//! Pillow computes blends in C `float` and truncates to a byte, and converts to HSV with a mix
//! of `float` and `double`; the casts below follow `Blend.c` and `Convert.c` so the bytes agree.

use super::pixels::Pixels;

/// PIL's `convert("L")` of one RGB pixel (ITU-R 601-2 luma in 16-bit fixed point, rounded).
#[inline]
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((u32::from(r) * 19595 + u32::from(g) * 38470 + u32::from(b) * 7471 + 0x8000) >> 16) as u8
}

/// `Image.blend(degenerate, img, alpha)` per byte: `degenerate + alpha * (img - degenerate)`
/// in `float`, truncated; clamped only when extrapolating (`alpha` outside `[0, 1]`).
#[inline]
fn blend(degenerate: u8, value: u8, alpha: f32) -> u8 {
    let d = i32::from(degenerate);
    let t = d as f32 + alpha * (i32::from(value) - d) as f32;
    if (0.0..=1.0).contains(&alpha) {
        t as u8
    } else if t <= 0.0 {
        0
    } else if t >= 255.0 {
        255
    } else {
        t as u8
    }
}

/// `F.adjust_brightness`: blend with black.
pub fn adjust_brightness(img: &mut Pixels, factor: f64) {
    let a = factor as f32;
    for v in &mut img.data {
        *v = blend(0, *v, a);
    }
}

/// `F.adjust_contrast`: blend with a flat grey image at the rounded mean luma
/// (`int(ImageStat.Stat(img.convert("L")).mean[0] + 0.5)`).
pub fn adjust_contrast(img: &mut Pixels, factor: f64) {
    let sum: u64 = if img.channels == 3 {
        img.data
            .chunks_exact(3)
            .map(|p| u64::from(luma(p[0], p[1], p[2])))
            .sum()
    } else {
        img.data.iter().map(|&v| u64::from(v)).sum()
    };
    let n = (img.width * img.height).max(1);
    let mean = (sum as f64 / n as f64 + 0.5) as u8;
    let a = factor as f32;
    for v in &mut img.data {
        *v = blend(mean, *v, a);
    }
}

/// `F.adjust_saturation`: blend with the image's own grey version (a no-op on grey images,
/// as in PIL).
pub fn adjust_saturation(img: &mut Pixels, factor: f64) {
    if img.channels != 3 {
        return;
    }
    let a = factor as f32;
    for p in img.data.chunks_exact_mut(3) {
        let g = luma(p[0], p[1], p[2]);
        for v in p {
            *v = blend(g, *v, a);
        }
    }
}

/// PIL's `rgb2hsv_row` for one pixel (bytes H, S, V).
fn rgb_to_hsv(r: u8, g: u8, b: u8) -> [u8; 3] {
    let maxc = r.max(g).max(b);
    let minc = r.min(g).min(b);
    if maxc == minc {
        return [0, 0, maxc];
    }
    let cr = f32::from(maxc - minc);
    let s = cr / f32::from(maxc);
    let rc = f32::from(maxc - r) / cr;
    let gc = f32::from(maxc - g) / cr;
    let bc = f32::from(maxc - b) / cr;
    let h: f32 = if r == maxc {
        bc - gc
    } else if g == maxc {
        (2.0 + f64::from(rc) - f64::from(bc)) as f32
    } else {
        (4.0 + f64::from(gc) - f64::from(rc)) as f32
    };
    let h = ((f64::from(h) / 6.0 + 1.0) % 1.0) as f32;
    let clip = |x: f64| (x as i32).clamp(0, 255) as u8;
    [clip(f64::from(h) * 255.0), clip(f64::from(s) * 255.0), maxc]
}

/// PIL's `hsv2rgb` for one pixel.
fn hsv_to_rgb(h: u8, s: u8, v: u8) -> [u8; 3] {
    if s == 0 {
        return [v, v, v];
    }
    let hf = f64::from(f32::from(h)) * 6.0 / 255.0;
    let i = hf.floor() as i32;
    let f = (hf - f64::from(i as f32)) as f32;
    let fs = (f64::from(s) / 255.0) as f32;
    let vf = f64::from(v);
    let clip = |x: f64| (x.round() as i32).clamp(0, 255) as u8;
    let p = clip(vf * (1.0 - f64::from(fs)));
    let q = clip(vf * (1.0 - f64::from(fs) * f64::from(f)));
    let t = clip(vf * (1.0 - f64::from(fs) * (1.0 - f64::from(f))));
    match i % 6 {
        0 => [v, t, p],
        1 => [q, v, p],
        2 => [p, v, t],
        3 => [p, q, v],
        4 => [t, p, v],
        _ => [v, p, q],
    }
}

/// `F.adjust_hue(img, hue_factor)` with `hue_factor` in `[-0.5, 0.5]`: to HSV, add
/// `int(hue_factor * 255)` to H modulo 256, back to RGB. Grey images are returned unchanged.
pub fn adjust_hue(img: &mut Pixels, hue_factor: f64) {
    if img.channels != 3 {
        return;
    }
    // numpy: `np.int32(hue_factor * 255).astype(np.uint8)`, then a wrapping add.
    let shift = (hue_factor * 255.0) as i32 as u8;
    for p in img.data.chunks_exact_mut(3) {
        let [h, s, v] = rgb_to_hsv(p[0], p[1], p[2]);
        p.copy_from_slice(&hsv_to_rgb(h.wrapping_add(shift), s, v));
    }
}

/// `img.convert("L")`, kept at one channel.
pub fn to_grey(img: &Pixels) -> Pixels {
    if img.channels == 1 {
        return img.clone();
    }
    Pixels {
        width: img.width,
        height: img.height,
        channels: 1,
        data: img
            .data
            .chunks_exact(3)
            .map(|p| luma(p[0], p[1], p[2]))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsv_round_trip_is_close_and_grey_is_fixed() {
        // 8-bit hue steps are 6/255 of the value wide, so the round trip is only close.
        for (r, g, b) in [(200, 30, 40), (10, 220, 90), (5, 6, 250), (128, 128, 128)] {
            let [h, s, v] = rgb_to_hsv(r, g, b);
            let back = hsv_to_rgb(h, s, v);
            for (x, y) in back.iter().zip([r, g, b]) {
                assert!(
                    (i32::from(*x) - i32::from(y)).abs() <= 8,
                    "{r},{g},{b} -> {back:?}"
                );
            }
        }
        assert_eq!(luma(255, 255, 255), 255);
        assert_eq!(blend(0, 200, 1.5), 255);
        assert_eq!(blend(100, 200, 0.5), 150);
    }
}
