//! edgerec: on-device personalisation for web shops. A shopper's recent events go through a
//! small sequential interest model (its plain weights run on tract-linalg's kernels, or, in the
//! `onnx` build, its ONNX graph run by tract) to a user vector, which is scored against the
//! shop's catalogue and priced inside the merchant's guardrails; everything runs where the
//! shopper is, in WebAssembly or natively.
//!
//! The data flows one way: events → [`Session`] → encoder ([`Model::encode`]) → scoring
//! (`retrieve`, or `gpu`) → [`ranking`] → [`pricing`] → quote. A [`Model`] (a loaded bundle) is
//! loaded once and shared; each shopper has a [`Session`]; an edge server keeps many in a
//! [`SessionStore`](session::store::SessionStore).
//!
//! ```no_run
//! use edgerec::{BundleFiles, Model, PricingSettings, RawEvent, RecommendRequest, Session};
//! # fn main() -> edgerec::Result<()> {
//! let files = BundleFiles::read_dir(std::path::Path::new("models/grocery"))?;
//! let model = Model::load(files, None, PricingSettings::default())?;
//! let mut shopper = Session::new();
//! let now = 1.7e12;
//! let viewed = RawEvent {
//!     kind: Some("view".into()),
//!     item: Some("981760".into()),
//!     ts: Some(now),
//!     price: None,
//! };
//! shopper.observe(&model, &[viewed], now)?;
//! let top = shopper.recommend(&model, &RecommendRequest::default())?;
//! # let _ = top;
//! # Ok(()) }
//! ```
//!
//! The core has no wasm dependency but the clock a bundle's expiry is read from (`Date.now()` in
//! wasm); `wasm` is the only JavaScript boundary.
#![warn(missing_docs)]

pub mod bundle;
pub mod error;
pub mod events;
pub mod explain;
pub mod model;
pub mod pricing;
pub mod ranking;
pub mod session;

// The components below the public API: public for the conformance tests and benchmarks, which
// test each against its reference, and hidden from the API's documentation.
#[doc(hidden)]
pub mod catalog;
#[doc(hidden)]
pub mod clock;
mod datetime;
#[doc(hidden)]
#[cfg(feature = "gpu")]
pub mod gpu;
#[doc(hidden)]
pub mod interest;
#[doc(hidden)]
#[cfg(feature = "onnx")]
pub mod onnx_gate;
#[doc(hidden)]
pub mod retrieve;
#[cfg(target_arch = "wasm32")]
mod wasm;
mod weights;

pub use bundle::{BundleFiles, Manifest};
pub use error::{Error, Result};
pub use events::{EventKind, RawEvent};
pub use model::Model;
pub use pricing::{Objective, PricingSettings, Quote, QuoteOptions};
pub use ranking::{Backend, RecommendRequest, Recommendation};
pub use session::store::{SessionStore, StoreLimits};
pub use session::Session;
