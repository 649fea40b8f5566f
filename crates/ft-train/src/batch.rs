//! The boundary where host batches (plain `Vec`s from ft-data) become tch tensors on a device.
use anyhow::{anyhow, Result};
use ft_data::{HostBatch, HostData};
use std::collections::BTreeMap;
use tch::{Device, Kind, Tensor};

/// A batch as tensors, by the names ft-data gives them (`input_ids`, `attention_mask`, `labels`, …).
pub struct TensorBatch {
    tensors: BTreeMap<String, Tensor>,
    /// Examples in the batch.
    pub size: usize,
}

impl TensorBatch {
    pub fn from_host(batch: &HostBatch, device: Device) -> Result<TensorBatch> {
        let mut tensors = BTreeMap::new();
        for (name, t) in &batch.tensors {
            let shape: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
            let tensor = match &t.data {
                HostData::I64(v) => Tensor::from_slice(v),
                HostData::F32(v) => Tensor::from_slice(v),
            };
            tensors.insert(
                name.clone(),
                tensor.view(shape.as_slice()).to_device(device),
            );
        }
        Ok(TensorBatch {
            tensors,
            size: batch.batch_size(),
        })
    }

    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.get(name)
    }

    /// The tensor `name`, or an error saying the batch lacks it.
    pub fn require(&self, name: &str) -> Result<&Tensor> {
        self.tensors.get(name).ok_or_else(|| {
            anyhow!(
                "the batch has no `{name}` (it has: {})",
                self.tensors.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }
}

/// A tensor's values on the host, flattened (metrics run on plain slices).
pub fn to_vec_i64(t: &Tensor) -> Result<Vec<i64>> {
    Ok(Vec::<i64>::try_from(
        t.to_device(tch::Device::Cpu)
            .to_kind(Kind::Int64)
            .view([-1]),
    )?)
}

/// A tensor's values on the host as f32, flattened.
pub fn to_vec_f32(t: &Tensor) -> Result<Vec<f32>> {
    Ok(Vec::<f32>::try_from(
        t.to_device(tch::Device::Cpu)
            .to_kind(Kind::Float)
            .view([-1]),
    )?)
}
