//! safetensors in and out: the only weight format ft reads or writes (no pickle, ever).
use crate::ModelError;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use tch::{Kind, Tensor};

fn kind_of(dtype: Dtype) -> Option<Kind> {
    Some(match dtype {
        Dtype::BOOL => Kind::Bool,
        Dtype::U8 => Kind::Uint8,
        Dtype::I8 => Kind::Int8,
        Dtype::I16 => Kind::Int16,
        Dtype::I32 => Kind::Int,
        Dtype::I64 => Kind::Int64,
        Dtype::BF16 => Kind::BFloat16,
        Dtype::F16 => Kind::Half,
        Dtype::F32 => Kind::Float,
        Dtype::F64 => Kind::Double,
        _ => return None,
    })
}

fn dtype_of(kind: Kind) -> Option<Dtype> {
    Some(match kind {
        Kind::Bool => Dtype::BOOL,
        Kind::Uint8 => Dtype::U8,
        Kind::Int8 => Dtype::I8,
        Kind::Int16 => Dtype::I16,
        Kind::Int => Dtype::I32,
        Kind::Int64 => Dtype::I64,
        Kind::BFloat16 => Dtype::BF16,
        Kind::Half => Dtype::F16,
        Kind::Float => Dtype::F32,
        Kind::Double => Dtype::F64,
        _ => return None,
    })
}

/// The largest header ft accepts, in bytes: the safetensors crate's own limit (100 MB). Real
/// headers are a few hundred kilobytes even for models with thousands of tensors.
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// One tensor's entry in a safetensors header, as checked by [`check_bytes`] / [`check_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorEntry {
    pub name: String,
    /// The dtype as written in the header (`"F32"`, `"I64"`, …).
    pub dtype: String,
    pub shape: Vec<usize>,
    /// Byte range inside the data section (after the 8-byte length and the header).
    pub data_offsets: (u64, u64),
}

/// What a header check found: the tensors in data order and where the data section starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub tensors: Vec<TensorEntry>,
    /// 8 + the header length.
    pub data_start: u64,
}

/// Bytes per element of a safetensors dtype name, for the dtypes the format defines.
fn dtype_size(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" => 1,
        "I16" | "U16" | "F16" | "BF16" => 2,
        "I32" | "U32" | "F32" => 4,
        "I64" | "U64" | "F64" => 8,
        _ => return None,
    })
}

/// A name or value from the file for a message, cut to 80 characters (a header may be
/// 100 MB of one tensor name).
fn short(s: &str) -> String {
    match s.char_indices().nth(80) {
        None => s.to_owned(),
        Some((end, _)) => format!("{}… ({} bytes in all)", &s[..end], s.len()),
    }
}

/// Checks a safetensors header without touching the tensor data.
///
/// `prefix` holds at least the first 8 bytes of the file and, if the length they give is sane,
/// the header after them (more is ignored); `file_len` is the length of the whole file. In
/// order, before anything is allocated for the header: the 8-byte length must fit the file and
/// [`MAX_HEADER_BYTES`]; the header must be a JSON object of `name: {dtype, shape,
/// data_offsets}` (plus an optional `__metadata__` of strings); every tensor's byte range must
/// span exactly `dtype size × shape` bytes and lie inside the file, and together the ranges must
/// tile the data section with no gap, overlap or trailing bytes. A file cut short is reported as
/// truncated. Errors name `path` and the tensor.
pub fn check_header(prefix: &[u8], file_len: u64, path: &Path) -> Result<Layout, ModelError> {
    let bad = |message: String| ModelError::Safetensors {
        path: path.to_path_buf(),
        message,
    };
    if file_len < 8 || prefix.len() < 8 {
        return Err(bad(format!(
            "the file is truncated: {file_len} bytes, less than the 8-byte header length"
        )));
    }
    let n = u64::from_le_bytes(prefix[..8].try_into().expect("8 bytes"));
    if n > MAX_HEADER_BYTES {
        return Err(bad(format!(
            "the header length field says {n} bytes, more than the {MAX_HEADER_BYTES} allowed \
             (not a safetensors file, or a damaged one)"
        )));
    }
    if 8 + n > file_len {
        return Err(bad(format!(
            "the file is truncated: its header alone needs {} bytes, the file has {file_len}",
            8 + n
        )));
    }
    let Some(header) = prefix.get(8..8 + n as usize) else {
        return Err(bad(format!(
            "the file is truncated: its header needs {} bytes, only {} were read",
            8 + n,
            prefix.len()
        )));
    };
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(header)
        .map_err(|e| bad(format!("the header is not a JSON object: {e}")))?;
    let data_start = 8 + n;
    let data_len = file_len - data_start;
    let mut tensors = Vec::with_capacity(header.len().min(1 << 16));
    for (name, entry) in &header {
        if name == "__metadata__" {
            let ok = entry
                .as_object()
                .is_some_and(|m| m.values().all(|v| v.is_string()));
            if !ok {
                return Err(bad("`__metadata__` must map names to strings".into()));
            }
            continue;
        }
        let tensor = |message: String| bad(format!("tensor `{}`: {message}", short(name)));
        let obj = entry
            .as_object()
            .ok_or_else(|| tensor("its entry is not an object".into()))?;
        let dtype = obj
            .get("dtype")
            .and_then(|v| v.as_str())
            .ok_or_else(|| tensor("no `dtype` string".into()))?;
        let size =
            dtype_size(dtype).ok_or_else(|| tensor(format!("unknown dtype `{}`", short(dtype))))?;
        let shape = obj
            .get("shape")
            .and_then(|v| v.as_array())
            .ok_or_else(|| tensor("no `shape` array".into()))?;
        let mut dims = Vec::with_capacity(shape.len());
        let mut numel: Option<u64> = Some(1);
        for d in shape {
            let d = d.as_u64().ok_or_else(|| {
                tensor(format!(
                    "shape entry {} is not a whole number ≥ 0",
                    short(&d.to_string())
                ))
            })?;
            numel = numel.and_then(|n| n.checked_mul(d));
            dims.push(usize::try_from(d).map_err(|_| tensor(format!("dimension {d} too large")))?);
        }
        let offsets = obj
            .get("data_offsets")
            .and_then(|v| v.as_array())
            .filter(|a| a.len() == 2)
            .and_then(|a| Some((a[0].as_u64()?, a[1].as_u64()?)))
            .ok_or_else(|| tensor("no `data_offsets` [begin, end] pair".into()))?;
        let (begin, end) = offsets;
        if begin > end {
            return Err(tensor(format!(
                "data_offsets [{begin}, {end}] run backwards"
            )));
        }
        let want = numel.and_then(|n| n.checked_mul(size));
        if want != Some(end - begin) {
            return Err(tensor(format!(
                "shape {dims:?} of {dtype} needs {} bytes but data_offsets [{begin}, {end}] span {}",
                want.map_or_else(|| "more than 2^64".into(), |w| w.to_string()),
                end - begin
            )));
        }
        if end > data_len {
            return Err(tensor(format!(
                "its data (bytes {begin}..{end} of the data section) lies past the end of the \
                 file ({data_len} data bytes): the file is truncated"
            )));
        }
        tensors.push(TensorEntry {
            name: name.clone(),
            dtype: dtype.to_owned(),
            shape: dims,
            data_offsets: offsets,
        });
    }
    tensors.sort_by_key(|t| t.data_offsets);
    let mut at = 0u64;
    for t in &tensors {
        if t.data_offsets.0 != at {
            return Err(bad(format!(
                "tensor `{}` starts at data byte {} but the previous data ends at {at} (a gap or an overlap)",
                short(&t.name),
                t.data_offsets.0
            )));
        }
        at = t.data_offsets.1;
    }
    if at != data_len {
        return Err(bad(format!(
            "{} bytes after the last tensor's data that no tensor owns",
            data_len - at
        )));
    }
    Ok(Layout {
        tensors,
        data_start,
    })
}

/// [`check_header`] on a whole file held in memory.
pub fn check_bytes(bytes: &[u8], path: &Path) -> Result<Layout, ModelError> {
    check_header(bytes, bytes.len() as u64, path)
}

/// Checks the header of the safetensors file at `path` against its length (see
/// [`check_header`]) reading only the 8-byte length and the header, never the tensor data.
/// For callers that want to refuse a damaged or lying file before loading anything.
pub fn check_file(path: &Path) -> Result<Layout, ModelError> {
    use std::io::Read;
    let io = |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    if file_len < 8 {
        return check_header(&[], file_len, path);
    }
    let mut len = [0u8; 8];
    file.read_exact(&mut len).map_err(io)?;
    let n = u64::from_le_bytes(len);
    if n > MAX_HEADER_BYTES || 8 + n > file_len {
        return check_header(&len, file_len, path);
    }
    let mut prefix = Vec::with_capacity(8 + n as usize);
    prefix.extend_from_slice(&len);
    (&mut file).take(n).read_to_end(&mut prefix).map_err(io)?;
    check_header(&prefix, file_len, path)
}

/// Reads every tensor of a safetensors file (on the CPU), in file order.
///
/// The header is checked against the file's length first ([`check_file`]), so a lying or
/// truncated file is refused, naming the file and the tensor, before its data is read.
pub fn read(path: &Path) -> Result<Vec<(String, Tensor)>, ModelError> {
    check_file(path)?;
    let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |message: String| ModelError::Safetensors {
        path: path.to_path_buf(),
        message,
    };
    // The file may have changed since the check; check what was read.
    check_bytes(&bytes, path)?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
    let mut out = Vec::new();
    for (name, view) in st.iter() {
        let kind = kind_of(view.dtype()).ok_or_else(|| {
            bad(format!(
                "tensor `{name}` has unsupported dtype {:?}",
                view.dtype()
            ))
        })?;
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let tensor = Tensor::f_from_data_size(view.data(), &shape, kind)?;
        out.push((name.to_string(), tensor));
    }
    Ok(out)
}

/// Reads only the names and shapes, without loading the data.
pub fn read_shapes(path: &Path) -> Result<Vec<(String, Vec<usize>)>, ModelError> {
    Ok(check_file(path)?
        .tensors
        .into_iter()
        .map(|t| (t.name, t.shape))
        .collect())
}

/// Writes tensors atomically: a temporary file beside the target, fsync, then rename, so a crash
/// or a full disk never leaves a torn file where a good one was.
pub fn write_atomic(path: &Path, tensors: &[(String, Tensor)]) -> Result<(), ModelError> {
    let mut blobs = Vec::with_capacity(tensors.len());
    for (name, tensor) in tensors {
        let t = tensor.to_device(tch::Device::Cpu).contiguous();
        let dtype = dtype_of(t.kind()).ok_or_else(|| {
            ModelError::Invalid(format!("cannot save `{name}` of kind {:?}", t.kind()))
        })?;
        let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
        let mut data = vec![0u8; t.numel() * t.kind().elt_size_in_bytes()];
        t.f_copy_data_u8(&mut data, t.numel())?;
        blobs.push((name.clone(), dtype, shape, data));
    }
    let views: Vec<(String, TensorView)> = blobs
        .iter()
        .map(|(n, d, s, data)| {
            let view = TensorView::new(*d, s.clone(), data)
                .map_err(|e| ModelError::Invalid(format!("cannot save `{n}`: {e}")))?;
            Ok((n.clone(), view))
        })
        .collect::<Result<_, ModelError>>()?;
    // transformers checks this key to know the tensors are laid out as PyTorch expects.
    let metadata: HashMap<String, String> = [("format".to_string(), "pt".to_string())].into();
    let bytes =
        safetensors::serialize(views, Some(metadata)).map_err(|e| ModelError::Safetensors {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    write_file_atomic(path, &bytes)
}

/// Writes `bytes` to `path` through a synced temporary file and a rename.
///
/// Errors say `writing <path>: <cause>` ([`ModelError::Write`]); the temporary file is removed
/// on every failure (a full disk, a file-size limit, a failed rename), so none is left behind.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|source| ModelError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid file of two F32 tensors, `a` [2] and `b` [1, 3].
    fn valid() -> Vec<u8> {
        let a: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|x| x.to_le_bytes()).collect();
        let b: Vec<u8> = [3.0f32, 4.0, 5.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let views = vec![
            (
                "a".to_string(),
                TensorView::new(Dtype::F32, vec![2], &a).unwrap(),
            ),
            (
                "b".to_string(),
                TensorView::new(Dtype::F32, vec![1, 3], &b).unwrap(),
            ),
        ];
        safetensors::serialize(views, None).unwrap()
    }

    /// The file with its header replaced by `header` (data kept).
    fn with_header(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn valid_headers_pass_and_lies_are_named() {
        let p = Path::new("m.safetensors");
        let good = valid();
        let layout = check_bytes(&good, p).unwrap();
        assert_eq!(layout.tensors.len(), 2);
        assert_eq!(layout.tensors[1].shape, vec![1, 3]);

        let err = |bytes: &[u8]| check_bytes(bytes, p).unwrap_err().to_string();
        let e = err(&good[..good.len() - 4]);
        assert!(
            e.starts_with("m.safetensors is not a valid safetensors file: tensor `b`")
                && e.contains("truncated"),
            "{e}"
        );
        let e = err(&good[..5]);
        assert!(e.contains("truncated"), "{e}");
        let mut huge = good.clone();
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(err(&huge).contains("more than the 100000000 allowed"));
        let mut long = good.clone();
        long[..8].copy_from_slice(&1000u64.to_le_bytes());
        assert!(err(&long).contains("truncated: its header alone needs 1008 bytes"));
        let data = [0u8; 8];
        // The header says I32 [2] (8 bytes): fine; F32 [3] over 8 bytes: refused by name.
        assert!(check_bytes(
            &with_header(
                r#"{"w":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}"#,
                &data
            ),
            p
        )
        .is_ok());
        let e = err(&with_header(
            r#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
            &data,
        ));
        assert!(
            e.contains(
                "tensor `w`: shape [3] of F32 needs 12 bytes but data_offsets [0, 8] span 8"
            ),
            "{e}"
        );
        let e = err(&with_header(
            r#"{"w":{"dtype":"U8","shape":[16],"data_offsets":[0,16]}}"#,
            &data,
        ));
        assert!(
            e.contains("tensor `w`") && e.contains("past the end of the file"),
            "{e}"
        );
        let e = err(&with_header(
            r#"{"w":{"dtype":"U8","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}}"#,
            &data,
        ));
        assert!(e.contains("more than 2^64"), "{e}");
        let e = err(&with_header(
            r#"{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#,
            &data,
        ));
        assert!(e.contains("4 bytes after the last tensor"), "{e}");
        let e = err(&with_header(
            r#"{"w":{"dtype":"Q4","shape":[8],"data_offsets":[0,8]}}"#,
            &data,
        ));
        assert!(e.contains("unknown dtype `Q4`"), "{e}");
        let e = err(&with_header("[1]", &data));
        assert!(e.contains("not a JSON object"), "{e}");
    }

    #[test]
    fn check_file_reads_no_data_and_read_refuses_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        let good = valid();
        std::fs::write(&p, &good[..good.len() - 1]).unwrap();
        let e = check_file(&p).unwrap_err().to_string();
        assert!(
            e.contains("m.safetensors") && e.contains("truncated"),
            "{e}"
        );
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        std::fs::write(&p, &good).unwrap();
        assert_eq!(read_shapes(&p).unwrap()[0], ("a".to_string(), vec![2]));
        assert_eq!(read(&p).unwrap().len(), 2);
    }

    #[test]
    fn failed_writes_say_writing_and_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_file_atomic(&dir.path().join("no/such/dir/x.json"), b"{}")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("writing ") && e.contains("no/such/dir/x.json"),
            "{e}"
        );
        // Renaming onto a non-empty directory fails after the temporary file was written.
        let target = dir.path().join("model.safetensors");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("keep"), b"x").unwrap();
        let e = write_file_atomic(&target, b"data").unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("writing {}", target.display())),
            "{e}"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("model.safetensors")]);
    }
}
