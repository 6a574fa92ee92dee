//! The ONNX price head (the `onnx` build): `price.onnx`, run by tract. Contract: inputs
//! `features` f32 [N, 5] ([`FEATURES`], in that order), `item` i64 [N] (catalogue rows) and
//! `department` i64 [N], and, for a head with a shopper-level response (the manifest's
//! `priceHead.response`), `signals` f32 [N, S] (the response's signals, in its order); outputs
//! `base` and `elasticity` f32 [N]. No other input is fed.

use tract_onnx::prelude::*;

use super::{plain::check_response, Feature, ItemContext, PriceResponse};
use crate::error::{Error, Result};
use crate::onnx_gate;

/// The inputs every price head is fed, in the order of its contract.
pub const INPUTS: [&str; 3] = ["features", "item", "department"];
/// The input a head with a shopper-level response is fed besides [`INPUTS`].
pub const SIGNALS: &str = "signals";
/// The columns of `features`, in order.
pub const FEATURES: [Feature; 5] = [
    Feature::Interest,
    Feature::Display,
    Feature::Mailer,
    Feature::WeekSin,
    Feature::WeekCos,
];

/// A loaded ONNX price head.
pub struct OnnxHead {
    model: std::sync::Arc<TypedRunnableModel>,
    input_order: Vec<usize>,
    response: Option<PriceResponse>,
}

impl std::fmt::Debug for OnnxHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxHead").finish_non_exhaustive()
    }
}

impl OnnxHead {
    /// Checks `price.onnx` with the [gate](crate::onnx_gate), then parses and optimises it,
    /// checking its inputs and outputs against the contract, and the catalogue's `items` rows
    /// and department column against the tables the graph indexes with them. `response` is the
    /// manifest's shopper-level response: the graph takes `signals` exactly when there is one.
    pub fn load(
        onnx: &[u8],
        items: usize,
        departments: Option<&[u32]>,
        response: Option<&PriceResponse>,
    ) -> Result<OnnxHead> {
        let invalid = |e: TractError| Error::InvalidModel(format!("price.onnx: {e:#}"));
        if let Some(response) = response {
            check_response(response)?;
        }
        let checked = onnx_gate::check(onnx, &[], onnx_gate::LIMITS)?;
        for (input, &rows) in &checked.index_bounds {
            match input.as_str() {
                "item" if rows < items => {
                    return Err(Error::InvalidModel(format!(
                        "price.onnx indexes `item` into {rows} rows; the catalogue has {items}"
                    )))
                }
                "department" => super::check_departments(departments, rows)?,
                _ => {}
            }
        }
        let model = tract_onnx::onnx()
            .model_for_proto_model(&checked.proto)
            .map_err(invalid)?
            .into_optimized()
            .map_err(invalid)?;
        let names: Vec<&str> = model
            .inputs
            .iter()
            .map(|o| model.node(o.node).name.as_str())
            .collect();
        let wanted: Vec<&str> = INPUTS
            .iter()
            .copied()
            .chain(response.map(|_| SIGNALS))
            .collect();
        let input_order = wanted
            .iter()
            .map(|w| names.iter().position(|n| n == w))
            .collect::<Option<Vec<usize>>>();
        match input_order {
            Some(input_order) if names.len() == wanted.len() && model.outputs.len() == 2 => {
                let model = model.into_runnable().map_err(invalid)?;
                let head = OnnxHead {
                    model,
                    input_order,
                    response: response.cloned(),
                };
                head.probe(departments)?;
                Ok(head)
            }
            _ => Err(Error::InvalidModel(format!(
                "price.onnx must take exactly {wanted:?} (`signals` when the manifest's `priceHead` has a `response`) and return base and elasticity, found inputs {names:?}"
            ))),
        }
    }

    /// Runs the graph once on the first row, so that inputs whose widths disagree with the
    /// contract (a `signals` input narrower or wider than the manifest's `response.signals`) are
    /// refused at load rather than at every quote. The order of the signals cannot be checked.
    fn probe(&self, departments: Option<&[u32]>) -> Result<()> {
        let item = ItemContext {
            row: 0,
            department: departments.and_then(|d| d.first().copied()).unwrap_or(0),
            interest: 0.0,
            display: 0.0,
            mailer: 0.0,
            deal_share: 0.0,
        };
        self.curves(&[item], 1).map(|_| ()).map_err(|e| {
            Error::InvalidModel(format!(
                "price.onnx does not run on the contract's inputs: {e}"
            ))
        })
    }

    /// The shopper-level response the graph takes `signals` for, when it has one.
    pub fn response(&self) -> Option<&PriceResponse> {
        self.response.as_ref()
    }

    /// `(base, elasticity)` per item, in order. `week` is the week of the year (1–53).
    pub fn curves(&self, items: &[ItemContext], week: u32) -> Result<Vec<(f32, f32)>> {
        let fail = |e: TractError| Error::Inference(format!("price.onnx: {e:#}"));
        let n = items.len();
        let features: Vec<f32> = items
            .iter()
            .flat_map(|i| FEATURES.map(|f| f.value(i, week)))
            .collect();
        let rows: Vec<i64> = items.iter().map(|i| i.row as i64).collect();
        let departments: Vec<i64> = items.iter().map(|i| i64::from(i.department)).collect();
        let mut fed = vec![
            Tensor::from_shape(&[n, FEATURES.len()], &features).map_err(fail)?,
            Tensor::from_shape(&[n], &rows).map_err(fail)?,
            Tensor::from_shape(&[n], &departments).map_err(fail)?,
        ];
        if let Some(response) = &self.response {
            let signals: Vec<f32> = items
                .iter()
                .flat_map(|i| response.signals.iter().map(|f| f.value(i, week)))
                .collect();
            fed.push(Tensor::from_shape(&[n, response.signals.len()], &signals).map_err(fail)?);
        }
        let mut inputs: Vec<Option<TValue>> = vec![None; fed.len()];
        for (slot, tensor) in fed.into_iter().enumerate() {
            inputs[self.input_order[slot]] = Some(tensor.into_tvalue());
        }
        let outputs = self
            .model
            .run(inputs.into_iter().flatten().collect())
            .map_err(fail)?;
        let column = |i: usize| -> Result<Vec<f32>> {
            let values = outputs[i]
                .try_as_plain_ram()
                .and_then(|v| Ok(v.as_slice::<f32>()?.to_vec()))
                .map_err(fail)?;
            if values.len() != n {
                return Err(Error::Inference(format!(
                    "price.onnx returned {} values for {n} items",
                    values.len()
                )));
            }
            Ok(values)
        };
        let (base, elasticity) = (column(0)?, column(1)?);
        Ok(base.into_iter().zip(elasticity).collect())
    }
}
