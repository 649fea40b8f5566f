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

/// Reads every tensor of a safetensors file (on the CPU), in file order.
pub fn read(path: &Path) -> Result<Vec<(String, Tensor)>, ModelError> {
    let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |message: String| ModelError::Safetensors {
        path: path.to_path_buf(),
        message,
    };
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
    let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| ModelError::Safetensors {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(st
        .iter()
        .map(|(n, v)| (n.to_string(), v.shape().to_vec()))
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
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let io = |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}
