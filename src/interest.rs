//! The interest encoder: an ONNX model run by tract, loaded and optimised once and reused for
//! every call. Contract: input `emb` f32 `[1, L, d]` (left-padded with zero rows, oldest first),
//! output `user` f32 `[1, d]`.

use tract_onnx::prelude::*;

use crate::error::{Error, Result};

/// A loaded encoder with its reusable execution state.
pub struct InterestModel {
    state: TypedSimpleState,
    seq_len: usize,
    dims: usize,
}

impl std::fmt::Debug for InterestModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InterestModel")
            .field("seq_len", &self.seq_len)
            .field("dims", &self.dims)
            .finish()
    }
}

impl InterestModel {
    /// Parses, types and optimises the ONNX encoder for a batch of one sequence of `seq_len`
    /// rows of width `dims`, and checks that it outputs one `dims`-wide vector.
    pub fn load(onnx: &[u8], seq_len: usize, dims: usize) -> Result<InterestModel> {
        let invalid = |e: TractError| Error::InvalidModel(format!("{e:#}"));
        let mut reader = onnx;
        let model = tract_onnx::onnx()
            .model_for_read(&mut reader)
            .map_err(invalid)?
            .with_input_fact(0, f32::fact([1, seq_len, dims]).into())
            .map_err(invalid)?
            .into_optimized()
            .map_err(invalid)?;
        if model.inputs.len() != 1 || model.outputs.len() != 1 {
            return Err(Error::InvalidModel(format!(
                "expected one input and one output, found {} and {}",
                model.inputs.len(),
                model.outputs.len()
            )));
        }
        let output = model.output_fact(0).map_err(invalid)?;
        let shape = output.shape.as_concrete().map(<[usize]>::to_vec);
        if output.datum_type != f32::datum_type() || shape.as_deref() != Some(&[1, dims][..]) {
            return Err(Error::InvalidModel(format!(
                "output must be f32 [1, {dims}], found {:?} {:?}",
                output.datum_type, output.shape
            )));
        }
        let state = model
            .into_runnable()
            .map_err(invalid)?
            .spawn()
            .map_err(invalid)?;
        Ok(InterestModel {
            state,
            seq_len,
            dims,
        })
    }

    /// Runs the encoder on `emb`, `L × d` values row-major, and returns the user vector.
    pub fn encode(&mut self, emb: &[f32]) -> Result<Vec<f32>> {
        let fail = |e: TractError| Error::Inference(format!("{e:#}"));
        let input = Tensor::from_shape(&[1, self.seq_len, self.dims], emb).map_err(fail)?;
        let outputs = self.state.run(tvec!(input.into_tvalue())).map_err(fail)?;
        let user = outputs[0]
            .try_as_plain_ram()
            .and_then(|v| Ok(v.as_slice::<f32>()?.to_vec()))
            .map_err(fail)?;
        if user.len() != self.dims || user.iter().any(|v| !v.is_finite()) {
            return Err(Error::Inference(
                "the user vector is not d finite values".into(),
            ));
        }
        Ok(user)
    }
}
