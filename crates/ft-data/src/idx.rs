//! The IDX format of MNIST and Fashion-MNIST (`train-images-idx3-ubyte.gz`, …): a big-endian
//! header (zero, zero, element type, rank, then one u32 per dimension) followed by the raw
//! elements. Only unsigned bytes (type 0x08) occur in these sets, so only they are read.
use crate::error::{DataError, Result};
use crate::source;
use std::io::Read;
use std::path::Path;

/// Images of one IDX file: `count` grey images of `rows × cols` bytes, row-major, one after
/// another in `pixels`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// The bytes of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.rows * self.cols;
        &self.pixels[i * n..(i + 1) * n]
    }
}

/// The Fashion-MNIST class names, in label order.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "t-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
];

fn syntax(path: &Path, message: String) -> DataError {
    DataError::Syntax {
        path: path.to_path_buf(),
        line: 0,
        message,
    }
}

/// Reads an IDX file (`.gz` decompressed on the fly) of unsigned bytes with the given rank.
fn read_u8(path: &Path, rank: usize) -> Result<(Vec<usize>, Vec<u8>)> {
    let mut bytes = Vec::new();
    source::open(path)?
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::io(path, e))?;
    if bytes.len() < 4 {
        return Err(syntax(
            path,
            "not an IDX file: shorter than its header".into(),
        ));
    }
    let (kind, found_rank) = (bytes[2], bytes[3] as usize);
    if bytes[0] != 0 || bytes[1] != 0 || kind != 0x08 {
        return Err(syntax(
            path,
            format!(
                "not an IDX file of unsigned bytes (magic {:02x}{:02x}{:02x}{:02x})",
                bytes[0], bytes[1], bytes[2], bytes[3]
            ),
        ));
    }
    if found_rank != rank {
        return Err(syntax(
            path,
            format!("expected {rank} dimension(s), the header has {found_rank}"),
        ));
    }
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(syntax(path, "truncated IDX header".into()));
    }
    let dims: Vec<usize> = (0..rank)
        .map(|d| {
            let b = &bytes[4 + 4 * d..8 + 4 * d];
            u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
        })
        .collect();
    let want: usize = dims.iter().product();
    let have = bytes.len() - header;
    if have != want {
        return Err(syntax(
            path,
            format!("the header promises {want} bytes of data ({dims:?}), the file holds {have}"),
        ));
    }
    bytes.drain(..header);
    Ok((dims, bytes))
}

/// Reads an `idx3-ubyte` image file.
pub fn read_idx_images(path: &Path) -> Result<IdxImages> {
    let (dims, pixels) = read_u8(path, 3)?;
    Ok(IdxImages {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels,
    })
}

/// Reads an `idx1-ubyte` label file.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>> {
    Ok(read_u8(path, 1)?.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn reads_images_and_labels_plain_and_gzipped() {
        let dir = tempfile::tempdir().unwrap();
        let pixels: Vec<u8> = (0..2 * 3 * 2).collect();
        let plain = dir.path().join("img-idx3-ubyte");
        std::fs::write(&plain, idx(&[2, 3, 2], &pixels)).unwrap();
        let images = read_idx_images(&plain).unwrap();
        assert_eq!((images.count, images.rows, images.cols), (2, 3, 2));
        assert_eq!(images.image(1), &pixels[6..12]);

        let gz = dir.path().join("lab-idx1-ubyte.gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::fast(),
        );
        enc.write_all(&idx(&[3], &[7, 0, 9])).unwrap();
        enc.finish().unwrap();
        assert_eq!(read_idx_labels(&gz).unwrap(), [7, 0, 9]);
    }

    #[test]
    fn truncated_or_foreign_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short-idx3-ubyte");
        std::fs::write(&short, idx(&[2, 2, 2], &[1, 2, 3])).unwrap();
        let err = read_idx_images(&short).unwrap_err().to_string();
        assert!(
            err.contains("short-idx3-ubyte") && err.contains("promises 8 bytes"),
            "{err}"
        );
        let labels_as_images = dir.path().join("l-idx1-ubyte");
        std::fs::write(&labels_as_images, idx(&[1], &[1])).unwrap();
        let err = read_idx_images(&labels_as_images).unwrap_err().to_string();
        assert!(err.contains("expected 3 dimension(s)"), "{err}");
        let png = dir.path().join("x.png");
        std::fs::write(&png, b"\x89PNG\r\n\x1a\n").unwrap();
        assert!(read_idx_labels(&png)
            .unwrap_err()
            .to_string()
            .contains("not an IDX file"));
    }

    #[test]
    fn real_fashion_mnist_when_fetched() {
        let dir = match crate::assets::Cache::from_env().resolve("fashion-mnist") {
            Ok(d) => d,
            Err(_) => return, // the e2e tests require it; unit tests run without the cache
        };
        let labels = read_idx_labels(&dir.join("t10k-labels-idx1-ubyte.gz")).unwrap();
        let images = read_idx_images(&dir.join("t10k-images-idx3-ubyte.gz")).unwrap();
        assert_eq!((images.count, images.rows, images.cols), (10_000, 28, 28));
        assert_eq!(labels.len(), 10_000);
        // Balanced: 1000 of each class in the test set.
        for c in 0..10u8 {
            assert_eq!(labels.iter().filter(|&&l| l == c).count(), 1000);
        }
    }
}
