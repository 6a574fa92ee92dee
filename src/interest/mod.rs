//! The interest encoder. Contract (both forms): input `emb`, the item table's rows for the last L
//! events, oldest first, left-padded with zero rows (`L × d` values); output the state at the last
//! position, the user vector (`d` values).
//!
//! Two forms run it: the plain encoder ([`plain`]), from the weights and architecture the
//! manifest's `encoder` entry names, in every build; and `interest.onnx` run by tract ([`onnx`]),
//! in the `onnx` build only, which is also the reference the plain encoder is tested against.

mod kernels;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod plain;
pub mod spec;
pub mod stream;

use crate::bundle::{VerifiedBundle, INTEREST_MODEL};
use crate::error::Result;

/// The encoder a build runs for a bundle.
#[derive(Debug)]
pub enum InterestModel {
    /// The plain-weights form (boxed: it is by far the larger of the two).
    Plain(Box<plain::PlainEncoder>),
    /// `interest.onnx`, run by tract.
    #[cfg(feature = "onnx")]
    Onnx(onnx::OnnxEncoder),
}

impl InterestModel {
    /// The bundle's encoder in the form this build runs: the ONNX build runs `interest.onnx`; the
    /// default build runs the plain weights, and refuses a bundle without them with
    /// `ONNX_BUILD_REQUIRED`.
    pub fn load(bundle: &VerifiedBundle) -> Result<InterestModel> {
        let manifest = &bundle.manifest;
        #[cfg(feature = "onnx")]
        {
            let onnx = bundle.file(INTEREST_MODEL)?;
            Ok(InterestModel::Onnx(onnx::OnnxEncoder::load(
                onnx,
                manifest.seq_len,
                manifest.dims,
            )?))
        }
        #[cfg(not(feature = "onnx"))]
        {
            let spec = manifest.encoder.as_ref().ok_or_else(|| {
                crate::error::Error::OnnxBuildRequired(format!(
                    "the bundle's encoder comes only as {INTEREST_MODEL} (no `encoder` entry in its manifest)"
                ))
            })?;
            Self::load_plain(bundle, spec)
        }
    }

    /// The bundle's plain-weights encoder, whatever the build.
    pub fn load_plain(bundle: &VerifiedBundle, spec: &spec::EncoderSpec) -> Result<InterestModel> {
        let manifest = &bundle.manifest;
        let weights = bundle.file(&spec.weights)?;
        Ok(InterestModel::Plain(Box::new(plain::PlainEncoder::load(
            spec,
            weights,
            manifest.seq_len,
            manifest.dims,
        )?)))
    }

    /// Runs the encoder on `emb` (`L × d` values, row-major) and returns the user vector.
    pub fn encode(&self, emb: &[f32]) -> Result<Vec<f32>> {
        match self {
            InterestModel::Plain(model) => model.encode(emb),
            #[cfg(feature = "onnx")]
            InterestModel::Onnx(model) => model.encode(emb),
        }
    }

    /// The plain encoder when it is the streaming form (`encoder.reach`): the one that can encode
    /// a new event at the cost of one position. `None` for the window form and for
    /// `interest.onnx`, which re-encode the window for every change.
    pub fn streaming(&self) -> Option<&plain::PlainEncoder> {
        match self {
            InterestModel::Plain(model) if model.streams() => Some(model),
            _ => None,
        }
    }
}
