//! What an image file must pass before it is decoded: a pixel budget read from its header, and
//! (for JPEG) a complete stream.
//!
//! A decompression bomb is a small file whose header claims a huge image (a 100 000 × 100 000
//! PNG of one colour compresses to a few kilobytes and decodes to 30 GB). Like PIL's
//! `Image.MAX_IMAGE_PIXELS`, every image's width × height is checked against a budget from the
//! header alone, before any pixel buffer exists. The default, [`DEFAULT_MAX_IMAGE_PIXELS`], is
//! the size at which PIL refuses an image outright (twice its warning threshold). The budget
//! is set with [`set_max_image_pixels`]; the environment variable `FT_MAX_IMAGE_PIXELS`
//! overrides both (so a user can raise it without a rebuild).
//!
//! A JPEG cut in the middle decodes without complaint in the `image` crate (the missing rows
//! come out grey), where PIL says "image file is truncated". [`check_jpeg_complete`] walks the
//! marker segments and refuses a stream that ends before its end-of-image marker.

use crate::error::{DataError, Result};
use image::ImageDecoder;
use std::io::Cursor;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// PIL's error threshold: `2 * Image.MAX_IMAGE_PIXELS` = 2 × 89 478 485 pixels.
pub const DEFAULT_MAX_IMAGE_PIXELS: u64 = 178_956_970;

/// The environment variable that overrides the pixel budget.
pub const MAX_IMAGE_PIXELS_ENV: &str = "FT_MAX_IMAGE_PIXELS";

/// 0 = not set through the API: the default applies.
static MAX_PIXELS: AtomicU64 = AtomicU64::new(0);

/// Sets the process-wide pixel budget (width × height) for decoding image files; `0` restores
/// the default. `FT_MAX_IMAGE_PIXELS`, when set, still wins.
pub fn set_max_image_pixels(pixels: u64) {
    MAX_PIXELS.store(pixels, Ordering::Relaxed);
}

/// The pixel budget in force: `FT_MAX_IMAGE_PIXELS`, else [`set_max_image_pixels`], else
/// [`DEFAULT_MAX_IMAGE_PIXELS`]. An unreadable environment value is an error naming it.
pub fn max_image_pixels() -> Result<u64> {
    budget(
        std::env::var(MAX_IMAGE_PIXELS_ENV).ok().as_deref(),
        MAX_PIXELS.load(Ordering::Relaxed),
    )
}

/// The budget from the environment's value (if set) and the API's (0 = unset).
fn budget(env: Option<&str>, api: u64) -> Result<u64> {
    if let Some(text) = env {
        return text
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                DataError::Invalid(format!(
                    "{MAX_IMAGE_PIXELS_ENV}={} is not a positive whole number of pixels",
                    crate::error::quote(text)
                ))
            });
    }
    Ok(match api {
        0 => DEFAULT_MAX_IMAGE_PIXELS,
        n => n,
    })
}

fn bad(path: &Path, message: String) -> DataError {
    DataError::BadImage {
        path: path.to_path_buf(),
        message,
    }
}

/// A reader over `bytes` with the format sniffed from the content (never the extension).
pub(crate) fn reader<'a>(
    bytes: &'a [u8],
    path: &Path,
) -> Result<image::ImageReader<Cursor<&'a [u8]>>> {
    if bytes.is_empty() {
        return Err(bad(path, "the file is empty (0 bytes)".into()));
    }
    let reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DataError::io(path, e))?;
    if reader.format().is_none() {
        return Err(bad(
            path,
            format!(
                "not an image in a format ft reads (JPEG, PNG, BMP, WebP), whatever its \
                 extension says ({} bytes, starting {:02x?})",
                bytes.len(),
                &bytes[..bytes.len().min(8)]
            ),
        ));
    }
    Ok(reader)
}

/// Reads the header of the image in `bytes` and checks its size against `max_pixels`, without
/// decoding any pixel. Returns `(width, height)`. Errors name `path` and the claimed size.
pub fn check_image_header(bytes: &[u8], path: &Path, max_pixels: u64) -> Result<(u32, u32)> {
    let mut reader = reader(bytes, path)?;
    // The header of a well-formed file needs little memory; this bounds what a lying chunk
    // length (an ICC profile "of 2 GB") may make a decoder reserve.
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(64 << 20);
    reader.limits(limits);
    let decoder = reader
        .into_decoder()
        .map_err(|e| bad(path, format!("cannot read the image header: {e}")))?;
    let (w, h) = decoder.dimensions();
    check_budget(w, h, path, max_pixels)?;
    Ok((w, h))
}

/// Refuses an image whose `w × h` exceeds `max_pixels`, or that has no pixels.
pub(crate) fn check_budget(w: u32, h: u32, path: &Path, max_pixels: u64) -> Result<()> {
    let pixels = w as u64 * h as u64;
    if pixels == 0 {
        return Err(bad(path, format!("the header says {w}x{h}: no pixels")));
    }
    if pixels > max_pixels {
        return Err(bad(
            path,
            format!(
                "the header claims {w}x{h} = {pixels} pixels, more than the limit of {max_pixels} \
                 (a decompression bomb?); raise {MAX_IMAGE_PIXELS_ENV} if the image is genuine"
            ),
        ));
    }
    Ok(())
}

/// Checks that a JPEG stream reaches its end-of-image marker (`FF D9`).
///
/// Walks the marker segments from the start-of-image marker: each segment's length is skipped
/// (so a thumbnail inside EXIF data, with its own end marker, is not mistaken for the end);
/// after a start-of-scan segment the entropy-coded data runs to the next marker that is not a
/// stuffed `FF 00`, a restart marker or fill bytes. Progressive files have several scans; the
/// walk goes on until `FF D9`. A stream that ends first is truncated.
pub fn check_jpeg_complete(bytes: &[u8]) -> std::result::Result<(), String> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err("no JPEG start-of-image marker".into());
    }
    let truncated = |at: usize| {
        Err(format!(
            "the JPEG data ends at byte {} before its end-of-image marker: the file is truncated",
            at.min(bytes.len())
        ))
    };
    let mut i = 2usize;
    loop {
        // At a marker: skip fill bytes (any number of FF before the marker code).
        if i >= bytes.len() {
            return truncated(i);
        }
        if bytes[i] != 0xFF {
            return Err(format!(
                "byte {i} should start a JPEG marker but is {:#04x}: the file is damaged",
                bytes[i]
            ));
        }
        while i < bytes.len() && bytes[i] == 0xFF {
            i += 1;
        }
        let Some(&code) = bytes.get(i) else {
            return truncated(i);
        };
        i += 1;
        match code {
            0xD9 => return Ok(()),
            // Markers without a length: TEM and restart markers.
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let Some(len) = bytes.get(i..i + 2) else {
            return truncated(i);
        };
        let len = u16::from_be_bytes([len[0], len[1]]) as usize;
        if len < 2 {
            return Err(format!(
                "JPEG segment at byte {i} has length {len} (< 2): damaged"
            ));
        }
        i += len;
        if i > bytes.len() {
            return truncated(i);
        }
        if code == 0xDA {
            // Entropy-coded data up to the next real marker.
            loop {
                let Some(pos) = bytes[i..].iter().position(|&b| b == 0xFF) else {
                    return truncated(bytes.len());
                };
                i += pos;
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] == 0xFF {
                    j += 1;
                }
                match bytes.get(j) {
                    None => return truncated(j),
                    Some(0x00) | Some(0xD0..=0xD7) => i = j + 1,
                    Some(_) => {
                        i = j - 1;
                        break;
                    }
                }
            }
        }
    }
}

/// Decodes an image held in memory into RGB, after the header's pixel budget and (for JPEG)
/// the completeness check. What [`super::Pixels::open_rgb`] does after reading the file.
pub(crate) fn decode_rgb(bytes: &[u8], path: &Path) -> Result<image::RgbImage> {
    let max_pixels = max_image_pixels()?;
    let reader = reader(bytes, path)?;
    let format = reader.format();
    let is_jpeg = format == Some(image::ImageFormat::Jpeg);
    // A JPEG cut inside its headers fails here already; say "truncated" when it is.
    let mut decoder = reader.into_decoder().map_err(|e| match is_jpeg {
        true => bad(
            path,
            check_jpeg_complete(bytes).err().unwrap_or(e.to_string()),
        ),
        false => bad(path, e.to_string()),
    })?;
    let (w, h) = decoder.dimensions();
    check_budget(w, h, path, max_pixels)?;
    if is_jpeg {
        check_jpeg_complete(bytes).map_err(|m| bad(path, m))?;
    }
    // The budget above is the limit that matters; lift the crate's own 512 MiB cap so that an
    // image within the budget (up to ~537 MB of RGB at the default) is not refused by it.
    let mut limits = image::Limits::default();
    limits.max_alloc = None;
    decoder
        .set_limits(limits)
        .map_err(|e| bad(path, e.to_string()))?;
    let decoded =
        image::DynamicImage::from_decoder(decoder).map_err(|e| bad(path, e.to_string()))?;
    Ok(decoded.into_rgb8())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([10, 200, 30]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 99]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Jpeg)
            .unwrap();
        out
    }

    /// A PNG whose IHDR claims `w × h` (CRC fixed up), with no real data.
    fn png_claiming(w: u32, h: u32) -> Vec<u8> {
        let mut b = png(1, 1);
        b[16..20].copy_from_slice(&w.to_be_bytes());
        b[20..24].copy_from_slice(&h.to_be_bytes());
        let crc = crc32(&b[12..29]);
        b[29..33].copy_from_slice(&crc.to_be_bytes());
        b
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in data {
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
    }

    #[test]
    fn the_environment_overrides_the_api_which_overrides_the_default() {
        assert_eq!(budget(None, 0).unwrap(), DEFAULT_MAX_IMAGE_PIXELS);
        assert_eq!(budget(None, 500).unwrap(), 500);
        assert_eq!(budget(Some("1000"), 500).unwrap(), 1000);
        let err = budget(Some("lots"), 500).unwrap_err().to_string();
        assert!(err.contains("FT_MAX_IMAGE_PIXELS=\"lots\""), "{err}");
        assert!(budget(Some("0"), 0).is_err());
    }

    #[test]
    fn a_bomb_is_refused_from_its_header_naming_file_and_size() {
        let p = Path::new("bomb.png");
        let bomb = png_claiming(100_000, 100_000);
        let err = check_image_header(&bomb, p, DEFAULT_MAX_IMAGE_PIXELS)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "bomb.png: bad image: the header claims 100000x100000 = 10000000000 pixels"
            ),
            "{err}"
        );
        let err = decode_rgb(&bomb, p).unwrap_err().to_string();
        assert!(err.contains("100000x100000"), "{err}");
        assert_eq!(check_image_header(&png(3, 2), p, 6).unwrap(), (3, 2));
        assert!(check_image_header(&png(3, 2), p, 5).is_err());
    }

    #[test]
    fn empty_foreign_and_truncated_files_are_errors() {
        let p = Path::new("x.jpg");
        let err = decode_rgb(b"", p).unwrap_err().to_string();
        assert_eq!(err, "x.jpg: bad image: the file is empty (0 bytes)");
        let err = decode_rgb(b"hello, not an image", p)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("x.jpg: bad image: not an image"), "{err}");
        // A PNG named .jpg decodes by its content.
        assert_eq!(decode_rgb(&png(4, 3), p).unwrap().dimensions(), (4, 3));

        let good = jpeg(64, 48);
        assert!(check_jpeg_complete(&good).is_ok());
        assert_eq!(decode_rgb(&good, p).unwrap().dimensions(), (64, 48));
        for cut in [good.len() / 2, good.len() - 2, 300] {
            let err = decode_rgb(&good[..cut], p).unwrap_err().to_string();
            assert!(
                err.starts_with("x.jpg: bad image:") && err.contains("truncated"),
                "{cut}: {err}"
            );
        }
        // Trailing bytes after the end marker (some cameras append data) are accepted.
        let mut padded = good.clone();
        padded.extend_from_slice(b"\0\0trailer");
        assert!(decode_rgb(&padded, p).is_ok());

        let png = png(32, 32);
        let err = decode_rgb(&png[..png.len() / 2], Path::new("y.png"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("y.png: bad image:"), "{err}");
    }
}
