//! The manifest's `encoder` entry: the architecture of the plain-weights encoder, everything its
//! math depends on besides the weights (written by `models/training/plain_weights.py`).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Most blocks, heads and feed-forward width a plain encoder may declare.
const MAX_BLOCKS: usize = 16;
const MAX_FFN_WIDTH: usize = 8192;

/// The feed-forward layer's activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// The exact GELU, `x * (1 + erf(x / sqrt 2)) / 2`.
    Gelu,
    /// `max(x, 0)`.
    Relu,
}

/// Where each sub-layer's layer norm sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    /// After the residual sum: `norm(x + f(x))` (SASRec's form in FMLP-Rec/BSARec).
    Post,
}

/// BSARec's low-pass branch beside each block's attention.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LowPass {
    /// How many of the lowest frequencies of the window's orthonormal real FFT the filter keeps.
    pub frequencies: usize,
    /// The branch's weight against the attention's (the attention gets `1 - alpha`).
    pub alpha: f32,
}

/// The manifest's `encoder`: a SASRec-family encoder whose weights are in the named file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncoderSpec {
    /// The safetensors file of the weights, listed in the manifest's `files`.
    pub weights: String,
    /// Transformer blocks.
    pub blocks: usize,
    /// Attention heads per block; they divide the width `dims`.
    pub heads: usize,
    /// The feed-forward layer's inner width.
    pub ffn_width: usize,
    /// The feed-forward layer's activation.
    pub activation: Activation,
    /// Where the layer norms sit.
    pub norm: Norm,
    /// Every layer norm's epsilon.
    pub layer_norm_epsilon: f32,
    /// What the attention adds to a masked score (a future position, a padding row).
    pub mask_value: f32,
    /// The low-pass branch, when the blocks have one.
    pub low_pass: Option<LowPass>,
}

impl EncoderSpec {
    /// Checks the ranges the math needs against the bundle's width and window (`INVALID_MODEL`).
    pub fn check(&self, dims: usize, seq_len: usize) -> Result<()> {
        let bad = |what: String| Err(Error::InvalidModel(format!("manifest `encoder.{what}")));
        if self.blocks == 0 || self.blocks > MAX_BLOCKS {
            return bad(format!(
                "blocks` must be 1 to {MAX_BLOCKS}, got {}",
                self.blocks
            ));
        }
        if self.heads == 0 || !dims.is_multiple_of(self.heads) {
            return bad(format!(
                "heads` must divide dims {dims}, got {}",
                self.heads
            ));
        }
        if self.ffn_width == 0 || self.ffn_width > MAX_FFN_WIDTH {
            return bad(format!(
                "ffnWidth` must be 1 to {MAX_FFN_WIDTH}, got {}",
                self.ffn_width
            ));
        }
        if !(self.layer_norm_epsilon.is_finite() && self.layer_norm_epsilon > 0.0) {
            return bad("layerNormEpsilon` must be positive and finite".into());
        }
        // Finite and far below any score, so that a masked key's weight is exactly zero.
        if !(self.mask_value.is_finite() && self.mask_value <= -1e3) {
            return bad("maskValue` must be finite and at most -1000".into());
        }
        if let Some(low) = self.low_pass {
            if low.frequencies == 0 || low.frequencies > seq_len / 2 + 1 {
                return bad(format!(
                    "lowPass.frequencies` must be 1 to {}, got {}",
                    seq_len / 2 + 1,
                    low.frequencies
                ));
            }
            if !(0.0..=1.0).contains(&low.alpha) {
                return bad("lowPass.alpha` must be in [0, 1]".into());
            }
        }
        Ok(())
    }
}
