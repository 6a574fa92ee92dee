//! edgerec: on-device personalisation for web shops. A shopper's recent events go through a
//! small sequential interest model (its plain weights run on tract-linalg's kernels, or, in the
//! `onnx` build, its ONNX graph run by tract) to a user vector, which is scored
//! against the shop's catalogue; everything runs where the shopper is, in WebAssembly or natively.
//!
//! The core has no wasm dependency but the clock a bundle's expiry is read from (`Date.now()` in
//! wasm); [`wasm`] is the only JavaScript boundary.

pub mod bundle;
pub mod catalog;
pub mod clock;
pub mod datetime;
pub mod engine;
pub mod error;
#[cfg(not(target_arch = "wasm32"))]
pub mod evaluation;
pub mod events;
pub mod explain;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod interest;
#[cfg(feature = "onnx")]
pub mod onnx_gate;
pub mod pricing;
pub mod retrieve;
#[cfg(target_arch = "wasm32")]
pub mod wasm;
pub mod weights;

pub use bundle::{BundleFiles, Manifest};
pub use engine::{Backend, Engine, QuoteRequest, RankingPlan, RecommendRequest, Recommendation};
pub use error::{Error, Result};
pub use events::{EventKind, RawEvent};
pub use pricing::{Objective, PricingSettings, Quote};
