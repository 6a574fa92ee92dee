//! The plain price head: `base = features · w + b + item_bias[row] + department_bias[dept]`,
//! `elasticity = softplus(department_elasticity[dept] + Σ response_weight[j] · (signal_j −
//! mean[j]) / std[j])` (the sum only when the head has a shopper-level `response`), from
//! `price.safetensors`, computing what `price.onnx` computes (see
//! `models/training/train_price.py` and `train_price_shopper.py`).

pub use crate::bundle::PriceHeadSpec;

use super::{Feature, ItemContext, PriceResponse};
use crate::error::{Error, Result};
use crate::weights::WeightFile;

/// Most departments a price head may declare.
const MAX_DEPARTMENTS: usize = 65_536;
/// Most signals a shopper-level response may read.
const MAX_SIGNALS: usize = 16;

/// A loaded plain price head.
#[derive(Debug)]
pub struct PlainHead {
    features: Vec<Feature>,
    feature_weight: Vec<f32>,
    feature_bias: f32,
    item_bias: Vec<f32>,
    department_bias: Vec<f32>,
    department_elasticity: Vec<f32>,
    response: Option<Response>,
}

/// A loaded shopper-level response: the spec and its weights.
#[derive(Debug)]
struct Response {
    spec: PriceResponse,
    weight: Vec<f32>,
}

impl Response {
    /// The shift of the elasticity's pre-activation for `item`'s shopper.
    fn shift(&self, item: &ItemContext, week: u32) -> f32 {
        let s = &self.spec;
        s.signals
            .iter()
            .zip(&self.weight)
            .zip(s.mean.iter().zip(&s.std))
            .map(|((f, w), (m, sd))| w * (f.value(item, week) - m) / sd)
            .sum()
    }
}

/// Refuses a response whose lists disagree in length, whose spread is not positive or whose
/// prior is not a share: `INVALID_MODEL` naming the field.
pub fn check_response(response: &PriceResponse) -> Result<()> {
    let bad = |what: &str| Err(Error::InvalidModel(format!("`priceHead.response`: {what}")));
    let n = response.signals.len();
    if n == 0 || n > MAX_SIGNALS {
        return bad(&format!("`signals` must list 1 to {MAX_SIGNALS} signals"));
    }
    if response.mean.len() != n || response.std.len() != n {
        return bad("`mean` and `std` must have one value per signal");
    }
    if response.mean.iter().any(|m| !m.is_finite())
        || response.std.iter().any(|s| !(s.is_finite() && *s > 1e-9))
    {
        return bad("`mean` must be finite and `std` finite and positive");
    }
    if !(0.0..=1.0).contains(&response.deal_share_prior) {
        return bad("`dealSharePrior` must be a share from 0 to 1");
    }
    if !(response.pseudo_lines.is_finite() && (0.0..=1e6).contains(&response.pseudo_lines)) {
        return bad("`pseudoLines` must be from 0 to 1e6");
    }
    Ok(())
}

impl PlainHead {
    /// Reads and checks the weights against the spec, the catalogue's `items` rows and its
    /// department column (every department must have weights).
    pub fn load(
        spec: &PriceHeadSpec,
        bytes: &[u8],
        items: usize,
        departments: Option<&[u32]>,
    ) -> Result<PlainHead> {
        let bad = |what: String| Error::InvalidModel(format!("`priceHead`: {what}"));
        if spec.demand != "logistic-log-price" {
            return Err(bad(format!("unknown demand form {:?}", spec.demand)));
        }
        if spec.departments == 0 || spec.departments > MAX_DEPARTMENTS {
            return Err(bad(format!("`departments` must be 1 to {MAX_DEPARTMENTS}")));
        }
        super::check_departments(departments, spec.departments)?;
        let d = spec.departments;
        if let Some(response) = &spec.response {
            check_response(response)?;
        }
        let mut weights = WeightFile::parse(&spec.weights, bytes)?;
        let head = PlainHead {
            features: spec.features.clone(),
            feature_weight: weights.take("feature_weight", &[spec.features.len()])?,
            feature_bias: weights.take("feature_bias", &[1])?[0],
            item_bias: weights.take("item_bias", &[items])?,
            department_bias: weights.take("department_bias", &[d])?,
            department_elasticity: weights.take("department_elasticity", &[d])?,
            response: match &spec.response {
                Some(r) => Some(Response {
                    weight: weights.take("response_weight", &[r.signals.len()])?,
                    spec: r.clone(),
                }),
                None => None,
            },
        };
        weights.finish()?;
        Ok(head)
    }

    /// The shopper-level response, when the head has one.
    pub fn response(&self) -> Option<&PriceResponse> {
        self.response.as_ref().map(|r| &r.spec)
    }

    /// `(base, elasticity)` per item, in order. `week` is the week of the year (1–53).
    pub fn curves(&self, items: &[ItemContext], week: u32) -> Vec<(f32, f32)> {
        items
            .iter()
            .map(|item| {
                let department = item.department as usize;
                let linear = self
                    .features
                    .iter()
                    .zip(&self.feature_weight)
                    .map(|(f, w)| f.value(item, week) * w)
                    .sum::<f32>()
                    + self.feature_bias;
                let base = linear + self.item_bias[item.row] + self.department_bias[department];
                let shift = self.response.as_ref().map_or(0.0, |r| r.shift(item, week));
                (
                    base,
                    softplus(self.department_elasticity[department] + shift),
                )
            })
            .collect()
    }
}

/// `ln(1 + e^x)`, as ONNX's Softplus (exact for large x).
fn softplus(x: f32) -> f32 {
    if x > 20.0 {
        x
    } else {
        x.exp().ln_1p()
    }
}
