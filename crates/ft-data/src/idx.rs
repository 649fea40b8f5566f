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
    // The size on disk bounds a plain file's data before anything is allocated; a gzipped
    // file is bounded while it is read (see `read_u8_from`).
    let on_disk = match source::Compression::from_path(path) {
        source::Compression::None => std::fs::metadata(path).ok().map(|m| m.len()),
        _ => None,
    };
    read_u8_from(source::open(path)?, path, rank, on_disk)
}

/// The header and data of an IDX stream. `total_len`, when known, is the stream's whole
/// length: a header whose dimensions disagree with it is refused before the data is read.
/// Without it the data is read through a limit of what the header promises plus one byte, so
/// a header that claims gigabytes never makes this allocate more than the stream holds.
fn read_u8_from(
    mut input: impl Read,
    path: &Path,
    rank: usize,
    total_len: Option<u64>,
) -> Result<(Vec<usize>, Vec<u8>)> {
    let io = |e: std::io::Error| DataError::io(path, e);
    let mut magic = [0u8; 4];
    let got = read_full(&mut input, &mut magic).map_err(io)?;
    if got < 4 {
        return Err(syntax(
            path,
            "not an IDX file: shorter than its header".into(),
        ));
    }
    let (kind, found_rank) = (magic[2], magic[3] as usize);
    if magic[0] != 0 || magic[1] != 0 || kind != 0x08 {
        return Err(syntax(
            path,
            format!(
                "not an IDX file of unsigned bytes (magic {:02x}{:02x}{:02x}{:02x})",
                magic[0], magic[1], magic[2], magic[3]
            ),
        ));
    }
    if found_rank != rank {
        return Err(syntax(
            path,
            format!("expected {rank} dimension(s), the header has {found_rank}"),
        ));
    }
    let mut dims = Vec::with_capacity(rank);
    for _ in 0..rank {
        let mut d = [0u8; 4];
        if read_full(&mut input, &mut d).map_err(io)? < 4 {
            return Err(syntax(path, "truncated IDX header".into()));
        }
        dims.push(u32::from_be_bytes(d) as usize);
    }
    let header = 4 + 4 * rank as u64;
    // u32 dimensions multiply past u64 with rank 3; checked, that is "more than any file".
    let want = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
    let promise = |have: String| {
        syntax(
            path,
            format!(
                "the header promises {} bytes of data ({dims:?}), the file holds {have}",
                want.map_or_else(|| "more than 2^64".to_string(), |w| w.to_string())
            ),
        )
    };
    let Some(want) = want else {
        return Err(promise("less".into()));
    };
    if let Some(total) = total_len {
        let have = total.saturating_sub(header);
        if have != want {
            return Err(promise(have.to_string()));
        }
    }
    let mut data = Vec::new();
    input
        .take(want.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(io)?;
    if data.len() as u64 != want {
        let have = if data.len() as u64 > want {
            "more".to_string()
        } else {
            data.len().to_string()
        };
        return Err(promise(have));
    }
    Ok((dims, data))
}

/// Reads until `buf` is full or the stream ends; returns how many bytes were read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn images_of(dims: Vec<usize>, pixels: Vec<u8>) -> IdxImages {
    IdxImages {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels,
    }
}

/// Reads an `idx3-ubyte` image file.
pub fn read_idx_images(path: &Path) -> Result<IdxImages> {
    let (dims, pixels) = read_u8(path, 3)?;
    Ok(images_of(dims, pixels))
}

/// Reads an `idx1-ubyte` label file.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>> {
    Ok(read_u8(path, 1)?.1)
}

/// [`read_idx_images`] on the (uncompressed) bytes of a file; `name` names it in errors.
pub fn idx_images_from_bytes(bytes: &[u8], name: &Path) -> Result<IdxImages> {
    let (dims, pixels) = read_u8_from(bytes, name, 3, Some(bytes.len() as u64))?;
    Ok(images_of(dims, pixels))
}

/// [`read_idx_labels`] on the (uncompressed) bytes of a file; `name` names it in errors.
pub fn idx_labels_from_bytes(bytes: &[u8], name: &Path) -> Result<Vec<u8>> {
    Ok(read_u8_from(bytes, name, 1, Some(bytes.len() as u64))?.1)
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

    #[test]
    fn lying_dimensions_are_refused_before_reading_the_data() {
        let name = Path::new("lie-idx3-ubyte");
        // 4 billion cubed overflows u64: an error, not an overflow panic.
        let err = idx_images_from_bytes(&idx(&[u32::MAX, u32::MAX, u32::MAX], &[1]), name)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("lie-idx3-ubyte") && err.contains("more than 2^64"),
            "{err}"
        );
        let err = idx_images_from_bytes(&idx(&[60000, 28, 28], &[1, 2]), name)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("promises 47040000 bytes") && err.contains("holds 2"),
            "{err}"
        );
        // Too much data is as wrong as too little.
        let err = idx_labels_from_bytes(&idx(&[1], &[1, 2]), name)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("promises 1 bytes") && err.contains("holds 2"),
            "{err}"
        );
        // A gzipped file that lies is caught while reading, never by allocating the promise.
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("lie-idx1-ubyte.gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::fast(),
        );
        enc.write_all(&idx(&[u32::MAX], &[7])).unwrap();
        enc.finish().unwrap();
        let err = read_idx_labels(&gz).unwrap_err().to_string();
        assert!(
            err.contains("promises 4294967295 bytes") && err.contains("holds 1"),
            "{err}"
        );
        assert_eq!(
            idx_labels_from_bytes(&idx(&[2], &[3, 4]), name).unwrap(),
            [3, 4]
        );
    }
}
