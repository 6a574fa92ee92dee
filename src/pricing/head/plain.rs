//! The plain price head: `base = features · w + b + item_bias[row] + department_bias[dept]`,
//! `elasticity = softplus(department_elasticity[dept])`, from `price.safetensors`, computing what
//! `price.onnx` computes (see `models/training/train_price.py`).

pub use crate::bundle::PriceHeadSpec;

use super::{Feature, ItemContext};
use crate::error::{Error, Result};
use crate::weights::WeightFile;

/// Most departments a price head may declare.
const MAX_DEPARTMENTS: usize = 65_536;

/// A loaded plain price head.
#[derive(Debug)]
pub struct PlainHead {
    features: Vec<Feature>,
    feature_weight: Vec<f32>,
    feature_bias: f32,
    item_bias: Vec<f32>,
    department_bias: Vec<f32>,
    department_elasticity: Vec<f32>,
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
        let mut weights = WeightFile::parse(&spec.weights, bytes)?;
        let head = PlainHead {
            features: spec.features.clone(),
            feature_weight: weights.take("feature_weight", &[spec.features.len()])?,
            feature_bias: weights.take("feature_bias", &[1])?[0],
            item_bias: weights.take("item_bias", &[items])?,
            department_bias: weights.take("department_bias", &[d])?,
            department_elasticity: weights.take("department_elasticity", &[d])?,
        };
        weights.finish()?;
        Ok(head)
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
                (base, softplus(self.department_elasticity[department]))
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
