//! A model's plain weights: a safetensors file of named f32 tensors, each taken once with the shape
//! its architecture expects. Any disagreement (a missing or unknown tensor, another shape or
//! dtype, a non-finite value) is an `INVALID_MODEL` error naming the file and the tensor.

use std::collections::BTreeSet;

use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};

/// The tensors of one weights file, each to be taken exactly once.
pub struct WeightFile<'a> {
    file: &'a str,
    tensors: SafeTensors<'a>,
    untaken: BTreeSet<String>,
}

impl<'a> WeightFile<'a> {
    /// Parses the safetensors header of `bytes`, the file named `file` in the bundle.
    pub fn parse(file: &'a str, bytes: &'a [u8]) -> Result<WeightFile<'a>> {
        let tensors = SafeTensors::deserialize(bytes)
            .map_err(|e| Error::InvalidModel(format!("{file}: {e}")))?;
        let untaken = tensors.names().into_iter().map(str::to_owned).collect();
        Ok(WeightFile {
            file,
            tensors,
            untaken,
        })
    }

    fn bad(&self, name: &str, what: String) -> Error {
        Error::InvalidModel(format!("{}: tensor `{name}` {what}", self.file))
    }

    /// The f32 tensor `name`, which must have exactly `shape` and finite values, row-major.
    pub fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let tensor = self
            .tensors
            .tensor(name)
            .map_err(|_| self.bad(name, format!("is missing (expected f32 {shape:?})")))?;
        if tensor.dtype() != Dtype::F32 {
            return Err(self.bad(name, format!("is {:?}, expected F32", tensor.dtype())));
        }
        if tensor.shape() != shape {
            return Err(self.bad(
                name,
                format!("has shape {:?}, expected {shape:?}", tensor.shape()),
            ));
        }
        let values: Vec<f32> = tensor
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if values.iter().any(|v| !v.is_finite()) {
            return Err(self.bad(name, "holds a non-finite value".into()));
        }
        self.untaken.remove(name);
        Ok(values)
    }

    /// Checks that every tensor of the file was taken: an unknown one means the architecture in
    /// the manifest is not the one the weights were written for.
    pub fn finish(self) -> Result<()> {
        match self.untaken.first() {
            Some(name) => Err(self.bad(
                name,
                "is not part of the architecture the manifest declares".into(),
            )),
            None => Ok(()),
        }
    }
}
