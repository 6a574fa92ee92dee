//! The ONNX encoder (the `onnx` build): `interest.onnx` run by tract, loaded and optimised once
//! and run for every call. Only the last position's state is the output, so the engine prunes
//! the graph to what that state needs before tract optimises it (the last block runs for one
//! position).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{AxisOp, TypedModelPatch};
use tract_onnx::tract_core::ops::array::{Gather, Slice};
use tract_onnx::tract_core::ops::nn::Softmax;

use crate::error::{Error, Result};
use crate::onnx_gate;
use tract_onnx::pb::ModelProto;

/// A loaded encoder, optimised once and run for every call.
pub struct OnnxEncoder {
    plan: std::sync::Arc<TypedRunnableModel>,
    seq_len: usize,
    dims: usize,
}

impl std::fmt::Debug for OnnxEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxEncoder")
            .field("seq_len", &self.seq_len)
            .field("dims", &self.dims)
            .finish()
    }
}

impl OnnxEncoder {
    /// Checks the ONNX encoder with the [gate](crate::onnx_gate), then parses, types and
    /// optimises it for a batch of one sequence of `seq_len` rows of width `dims`, and checks
    /// that it outputs one `dims`-wide vector.
    pub fn load(onnx: &[u8], seq_len: usize, dims: usize) -> Result<OnnxEncoder> {
        let invalid = |e: TractError| Error::InvalidModel(format!("{e:#}"));
        let fed = [Some(1), Some(seq_len), Some(dims)];
        let checked = onnx_gate::check(onnx, &[&fed], onnx_gate::LIMITS)?;
        if let Some(input) = checked.index_bounds.keys().next() {
            return Err(Error::InvalidModel(format!(
                "the encoder gathers with its input {input:?}; its one input is the f32 window"
            )));
        }
        let mut model = decluttered(&checked.proto, seq_len, dims).map_err(invalid)?;
        model.optimize().map_err(invalid)?;
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
        let plan = model.into_runnable().map_err(invalid)?;
        Ok(OnnxEncoder {
            plan,
            seq_len,
            dims,
        })
    }

    /// Runs the encoder on `emb`, `L × d` values row-major, and returns the user vector.
    pub fn encode(&self, emb: &[f32]) -> Result<Vec<f32>> {
        let fail = |e: TractError| Error::Inference(format!("{e:#}"));
        let input = Tensor::from_shape(&[1, self.seq_len, self.dims], emb).map_err(fail)?;
        let outputs = self.plan.run(tvec!(input.into_tvalue())).map_err(fail)?;
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

/// The encoder typed for `[1, seq_len, dims]` and decluttered, computing only what its output
/// needs (see [`slice_last_position`]).
fn decluttered(onnx: &ModelProto, seq_len: usize, dims: usize) -> TractResult<TypedModel> {
    let mut model = tract_onnx::onnx()
        .model_for_proto_model(onnx)?
        .with_input_fact(0, f32::fact([1, seq_len, dims]).into())?
        .into_typed()?;
    slice_last_position(&mut model)?;
    model.declutter()?;
    if slice_before_softmax(&mut model)? {
        model.declutter()?;
    }
    Ok(model)
}

/// Rewrites an output that gathers one position of an axis (the encoders' state at the last
/// position) into a slice of that position, so that tract's optimiser pushes the slice up through
/// every operation that treats positions independently (see also [`slice_before_softmax`]): the
/// last block then runs its feed-forward layer, output projection and attention for one position
/// instead of L, about 40% of the encoder's multiply-adds at L 50. Any other output is left as
/// it is.
fn slice_last_position(model: &mut TypedModel) -> TractResult<()> {
    let [output] = model.output_outlets()?[..] else {
        return Ok(());
    };
    let node = model.node(output.node);
    let Some(gather) = node.op_as::<Gather>() else {
        return Ok(());
    };
    let [data, indices] = node.inputs[..] else {
        return Ok(());
    };
    let index = match &model.outlet_fact(indices)?.konst {
        Some(index) if index.rank() == 0 => index.cast_to_scalar::<i64>()?,
        _ => return Ok(()),
    };
    let Some(Ok(len)) = model
        .outlet_fact(data)?
        .shape
        .get(gather.axis)
        .map(TDim::to_i64)
    else {
        return Ok(());
    };
    let at = if index < 0 { index + len } else { index };
    if !(0..len).contains(&at) {
        return Ok(());
    }
    let mut patch = TypedModelPatch::default();
    let data = patch.tap_model(model, data)?;
    let slice = Slice::new(gather.axis, at, at + 1);
    let sliced = patch.wire_node(format!("{}.slice", node.name), slice, &[data])?;
    let squeezed = patch.wire_node(
        format!("{}.squeeze", node.name),
        AxisOp::Rm(gather.axis),
        &sliced,
    )?;
    patch.shunt_outside(model, output, squeezed[0])?;
    patch.apply(model)
}

/// Moves every slice of a softmax's output, along an axis the softmax does not normalise over, to
/// its input (tract's optimiser stops there): the last block's attention then scores one query
/// instead of L, and its query projection runs for one position. True when a slice moved.
fn slice_before_softmax(model: &mut TypedModel) -> TractResult<bool> {
    let mut moved = false;
    // Each move retires a slice, so there are at most as many moves as nodes.
    for _ in 0..model.nodes().len() {
        let Some((slice_id, softmax_id, softmax_input)) = model.nodes().iter().find_map(|node| {
            let slice = node.op_as::<Slice>()?;
            let &[input] = &node.inputs[..] else {
                return None;
            };
            let softmax_node = model.node(input.node);
            let softmax = softmax_node.op_as::<Softmax>()?;
            let &[softmax_input] = &softmax_node.inputs[..] else {
                return None;
            };
            let sole_use = model.outlet_successors(input).len() == 1;
            (sole_use && !softmax.axes.contains(&slice.axis)).then_some((
                node.id,
                softmax_node.id,
                softmax_input,
            ))
        }) else {
            break;
        };
        let (slice, softmax) = (model.node(slice_id), model.node(softmax_id));
        let mut patch = TypedModelPatch::default();
        let input = patch.tap_model(model, softmax_input)?;
        let sliced = patch.wire_node(
            format!("{}.slice", softmax.name),
            slice.op.clone(),
            &[input],
        )?;
        let normalised = patch.wire_node(&softmax.name, softmax.op.clone(), &sliced)?;
        patch.shunt_outside(model, slice_id.into(), normalised[0])?;
        patch.apply(model)?;
        moved = true;
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEQ_LEN: usize = 50;
    const DIMS: usize = 64;

    fn grocery_encoder() -> Vec<u8> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/models/grocery/interest.onnx");
        std::fs::read(path).expect("the grocery bundle's encoder")
    }

    #[test]
    fn the_last_block_attends_from_the_last_position_only() {
        let fed = [Some(1), Some(SEQ_LEN), Some(DIMS)];
        let checked = onnx_gate::check(&grocery_encoder(), &[&fed], onnx_gate::LIMITS).unwrap();
        let model = decluttered(&checked.proto, SEQ_LEN, DIMS).unwrap();
        let mut scores: Vec<usize> = model
            .nodes()
            .iter()
            .filter(|node| node.op_is::<Softmax>())
            .map(|node| {
                node.outputs[0]
                    .fact
                    .shape
                    .as_concrete()
                    .unwrap()
                    .iter()
                    .product()
            })
            .collect();
        scores.sort_unstable();
        assert_eq!(
            scores,
            [SEQ_LEN, SEQ_LEN * SEQ_LEN],
            "one query in the last block, L in the first"
        );
    }

    #[test]
    fn the_pruned_encoder_computes_what_the_exported_graph_computes() {
        let onnx = grocery_encoder();
        let exported = tract_onnx::onnx()
            .model_for_read(&mut &onnx[..])
            .and_then(|m| m.with_input_fact(0, f32::fact([1, SEQ_LEN, DIMS]).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .unwrap();
        let pruned = OnnxEncoder::load(&onnx, SEQ_LEN, DIMS).unwrap();
        for filled in [1, 7, SEQ_LEN] {
            let mut emb = vec![0.0f32; SEQ_LEN * DIMS];
            for (i, v) in emb[(SEQ_LEN - filled) * DIMS..].iter_mut().enumerate() {
                *v = ((i * 37 % 101) as f32 - 50.0) / 400.0;
            }
            let input = Tensor::from_shape(&[1, SEQ_LEN, DIMS], &emb).unwrap();
            let outputs = exported.run(tvec!(input.into_tvalue())).unwrap();
            let expected = outputs[0].try_as_plain_ram().unwrap();
            let got = pruned.encode(&emb).unwrap();
            let worst = got
                .iter()
                .zip(expected.as_slice::<f32>().unwrap())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst < 1e-5, "{filled} events: differs by {worst}");
        }
    }
}
