//! The price head: each item's demand curve for this shopper, `P(buy | p) = sigmoid(base -
//! elasticity * ln(p / list))`. Nothing about the shopper beyond their interest score and what
//! their own events on this device say (their deal share) enters it, so no protected attribute
//! can reach a price.
//!
//! Two forms run it: the plain head ([`plain`]), from `price.safetensors` and the manifest's
//! `priceHead` entry, in every build; and `price.onnx` run by tract ([`onnx`]), in the `onnx`
//! build only.

#[cfg(feature = "onnx")]
pub mod onnx;
pub mod plain;

pub use crate::bundle::{Feature, PriceResponse};
use crate::bundle::{VerifiedBundle, PRICE_MODEL};
use crate::error::Result;

/// Refuses a department column with a value at or above `count`, the departments the head has
/// weights for (an item the head cannot price), naming the row.
pub fn check_departments(column: Option<&[u32]>, count: usize) -> Result<()> {
    let column = column.unwrap_or_default();
    match column.iter().position(|&d| d as usize >= count) {
        Some(row) => Err(crate::Error::InvalidCatalog(format!(
            "items.safetensors: `department` of row {row} is {}, outside the price head's {count} departments",
            column[row]
        ))),
        None => Ok(()),
    }
}

/// What the price head is asked about one item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ItemContext {
    /// The item's catalogue row.
    pub row: usize,
    /// Its department index.
    pub department: u32,
    /// The engine's interest score for it.
    pub interest: f32,
    /// Whether it is on display, and in the mailer (0 or 1).
    pub display: f32,
    /// See `display`.
    pub mailer: f32,
    /// The shopper's deal share (see [`Feature::DealShare`]).
    pub deal_share: f32,
}

impl Feature {
    /// The feature's value for an item in week `week` (1–53).
    pub fn value(self, item: &ItemContext, week: u32) -> f32 {
        let angle = || 2.0 * std::f32::consts::PI * week.saturating_sub(1) as f32 / 52.0;
        match self {
            Feature::Interest => item.interest,
            Feature::Display => item.display,
            Feature::Mailer => item.mailer,
            Feature::WeekSin => angle().sin(),
            Feature::WeekCos => angle().cos(),
            Feature::DealShare => item.deal_share,
        }
    }
}

/// The price head a build runs for a bundle.
#[derive(Debug)]
pub enum PriceHead {
    /// The plain-weights form.
    Plain(plain::PlainHead),
    /// `price.onnx`, run by tract.
    #[cfg(feature = "onnx")]
    Onnx(onnx::OnnxHead),
}

impl PriceHead {
    /// The bundle's price head in the form this build runs, `None` when it has none. The ONNX
    /// build runs `price.onnx`; the default build the plain weights, and a bundle whose head
    /// comes only as ONNX is refused with `ONNX_BUILD_REQUIRED`. `departments` is the catalogue's
    /// department column, checked against the head's range.
    pub fn load(bundle: &VerifiedBundle, departments: Option<&[u32]>) -> Result<Option<PriceHead>> {
        #[cfg(feature = "onnx")]
        if bundle.manifest.files.contains_key(PRICE_MODEL) {
            let response = bundle
                .manifest
                .price_head
                .as_ref()
                .and_then(|h| h.response.as_ref());
            return Ok(Some(PriceHead::Onnx(onnx::OnnxHead::load(
                bundle.file(PRICE_MODEL)?,
                bundle.manifest.item_count,
                departments,
                response,
            )?)));
        }
        match &bundle.manifest.price_head {
            Some(spec) => Ok(Some(PriceHead::Plain(plain::PlainHead::load(
                spec,
                bundle.file(&spec.weights)?,
                bundle.manifest.item_count,
                departments,
            )?))),
            None if bundle.manifest.files.contains_key(PRICE_MODEL) => Err(crate::Error::OnnxBuildRequired(
                format!("the bundle's price head comes only as {PRICE_MODEL} (no `priceHead` entry in its manifest)"),
            )),
            None => Ok(None),
        }
    }

    /// The shopper-level response the head was trained with, when it has one.
    pub fn response(&self) -> Option<&PriceResponse> {
        match self {
            PriceHead::Plain(head) => head.response(),
            #[cfg(feature = "onnx")]
            PriceHead::Onnx(head) => head.response(),
        }
    }

    /// `(base, elasticity)` per item, in order. `week` is the week of the year (1–53).
    pub fn curves(&self, items: &[ItemContext], week: u32) -> Result<Vec<(f32, f32)>> {
        match self {
            PriceHead::Plain(head) => Ok(head.curves(items, week)),
            #[cfg(feature = "onnx")]
            PriceHead::Onnx(head) => head.curves(items, week),
        }
    }
}
