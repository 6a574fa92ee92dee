//! What the plain-weights encoder needs of the manifest's `encoder` entry (defined with the
//! manifest, in `bundle`; written by `models/training/plain_weights.py`): the ranges its math
//! depends on besides the weights.

pub use crate::bundle::{Activation, EncoderSpec, LowPass, Norm};
use crate::error::{Error, Result};

/// Most blocks, heads and feed-forward width a plain encoder may declare.
const MAX_BLOCKS: usize = 16;
const MAX_FFN_WIDTH: usize = 8192;

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
        if let Some(reach) = self.reach {
            if reach == 0 || reach > seq_len {
                return bad(format!("reach` must be 1 to {seq_len}, got {reach}"));
            }
            if self.low_pass.is_some() {
                return bad(
                    "reach` (the streaming form) has no low-pass branch: `lowPass` must be null"
                        .into(),
                );
            }
            let window = self.blocks * (reach - 1) + 1;
            if seq_len != window {
                return bad(format!(
                    "reach` {reach} with {} blocks reads {window} events, but `seqLen` is {seq_len}",
                    self.blocks
                ));
            }
        }
        Ok(())
    }
}
