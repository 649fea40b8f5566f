//! PNG grids of images (VAE samples from the prior, originals above their reconstructions),
//! written atomically so a reader never sees half a file.
use anyhow::{bail, Context, Result};
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// Pixels between tiles and around the grid.
const PAD: usize = 2;
/// Mid grey: visible against both Fashion-MNIST's black background and white garments.
const PAD_VALUE: u8 = 128;

/// Writes `images` (`[N, C, H, W]`, C = 1 or 3, values in [0, 1], clamped) as a PNG grid of
/// `cols` tiles per row, row-major, to `path` (written to a temporary file then renamed).
pub fn save_grid(images: &Tensor, cols: usize, path: &Path) -> Result<()> {
    let size = images.size();
    if size.len() != 4 || !(size[1] == 1 || size[1] == 3) || size[0] < 1 {
        bail!(
            "a grid needs images [N, 1 or 3, H, W] with N ≥ 1, got {:?} (for {})",
            size,
            path.display()
        );
    }
    if cols == 0 {
        bail!("a grid needs at least one column (for {})", path.display());
    }
    let (n, c, h, w) = (
        size[0] as usize,
        size[1] as usize,
        size[2] as usize,
        size[3] as usize,
    );
    let cols = cols.min(n);
    let rows = n.div_ceil(cols);
    // [N, H, W, C] bytes, so each tile row is a contiguous run.
    let bytes: Vec<u8> = Vec::try_from(
        (images.detach().to_device(Device::Cpu).to_kind(Kind::Float) * 255.0)
            .round()
            .clamp(0.0, 255.0)
            .to_kind(Kind::Uint8)
            .permute([0, 2, 3, 1])
            .contiguous()
            .view([-1]),
    )?;
    let width = cols * (w + PAD) + PAD;
    let height = rows * (h + PAD) + PAD;
    let mut rgb = vec![PAD_VALUE; width * height * 3];
    for i in 0..n {
        let (top, left) = (PAD + (i / cols) * (h + PAD), PAD + (i % cols) * (w + PAD));
        for y in 0..h {
            for x in 0..w {
                let src = ((i * h + y) * w + x) * c;
                let dst = ((top + y) * width + left + x) * 3;
                for k in 0..3 {
                    rgb[dst + k] = bytes[src + if c == 3 { k } else { 0 }];
                }
            }
        }
    }
    let image = image::RgbImage::from_raw(width as u32, height as u32, rgb)
        .expect("buffer sized for the grid");
    let mut png = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .with_context(|| format!("encoding the PNG grid {}", path.display()))?;
    ft_models::st::write_file_atomic(path, &png)?;
    Ok(())
}

/// Writes originals and their reconstructions as pairs of rows: `cols` originals, then the
/// same `cols` reconstructed below them, and so on. Both `[N, C, H, W]` in [0, 1].
pub fn save_reconstruction_grid(
    originals: &Tensor,
    reconstructions: &Tensor,
    cols: usize,
    path: &Path,
) -> Result<()> {
    if originals.size() != reconstructions.size() {
        bail!(
            "originals {:?} and reconstructions {:?} differ in shape (for {})",
            originals.size(),
            reconstructions.size(),
            path.display()
        );
    }
    let n = originals.size().first().copied().unwrap_or(0);
    let cols = (cols as i64).clamp(1, n.max(1));
    let mut rows = Vec::new();
    let mut start = 0;
    while start < n {
        let len = cols.min(n - start);
        rows.push(originals.narrow(0, start, len));
        rows.push(reconstructions.narrow(0, start, len));
        start += len;
    }
    if rows.is_empty() {
        bail!("no images to put in {}", path.display());
    }
    // A short last pair would wrap into the wrong rows: pad it with blank tiles.
    let blank_count = (cols - n % cols) % cols;
    if blank_count > 0 {
        let last = rows.len() - 1;
        for idx in [last - 1, last] {
            let mut shape = rows[idx].size();
            shape[0] = blank_count;
            let blank = Tensor::zeros(shape.as_slice(), (rows[idx].kind(), rows[idx].device()));
            rows[idx] = Tensor::cat(&[&rows[idx], &blank], 0);
        }
    }
    save_grid(&Tensor::cat(&rows, 0), cols as usize, path)
}
