//! The ONNX gate (the `onnx` build): every `interest.onnx` and `price.onnx` is decoded and checked
//! here before tract reads it. tract trusts its graphs: an integer division by zero, a Slice step
//! of 0, a Gather index out of range or a Transpose whose permutation is not one panics inside it
//! (a trap in wasm), and a long graph takes seconds to analyse. The gate accepts only the
//! operators and attribute ranges that the supported model families (SASRec-style encoders and
//! the grocery price head) use, with every axis and constant index proven in range by a small
//! shape propagation, and with limits on node count, tensor sizes and bytes. Anything else is
//! refused with `INVALID_MODEL` naming the node and its operator.

use std::collections::{HashMap, HashSet};

use prost::Message;
use tract_onnx::pb::{self, tensor_proto::DataType, ModelProto, NodeProto, TensorProto};

use crate::error::{Error, Result};

/// The gate's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most bytes the serialised graph may have.
    pub max_bytes: usize,
    /// Most nodes the graph may have.
    pub max_nodes: usize,
    /// Most elements one constant tensor may have.
    pub max_elements: usize,
    /// Largest dimension a constant tensor or a declared input may have.
    pub max_dim: usize,
}

/// The limits for the encoders and price heads edgerec ships: ten times the largest of them.
pub const LIMITS: Limits = Limits {
    max_bytes: 256 << 20,
    max_nodes: 5_000,
    max_elements: 32 << 20,
    max_dim: 1 << 24,
};

/// Highest rank any value may have.
const MAX_RANK: usize = 6;
/// Highest ONNX opset accepted.
const MAX_OPSET: i64 = 21;

/// The operators the supported model families use; nothing else passes the gate.
const OPERATORS: [&str; 30] = [
    "Abs",
    "Add",
    "Cast",
    "Concat",
    "Constant",
    "Div",
    "Erf",
    "Gather",
    "Gemm",
    "Greater",
    "Identity",
    "LayerNormalization",
    "MatMul",
    "Mul",
    "Neg",
    "Pow",
    "ReduceSum",
    "Relu",
    "Reshape",
    "Shape",
    "Slice",
    "Softmax",
    "Softplus",
    "Sqrt",
    "Squeeze",
    "Sub",
    "Tanh",
    "Transpose",
    "Unsqueeze",
    "Sigmoid",
];

/// Data types a tensor or a value may have (no strings, complex or exotic floats).
const DATA_TYPES: [DataType; 4] = [
    DataType::Float,
    DataType::Int32,
    DataType::Int64,
    DataType::Bool,
];

/// A graph that passed the gate, ready for tract.
#[derive(Debug)]
pub struct Checked {
    /// The decoded graph.
    pub proto: ModelProto,
    /// For each integer graph input used as Gather indices: the fewest rows among the tables it
    /// indexes (every value fed to it must be below this).
    pub index_bounds: HashMap<String, usize>,
}

/// Decodes `onnx` and checks it against the gate's rules. `inputs` gives, in order, the shapes
/// the caller will feed to the graph's first inputs (`None` where the graph's declared dimension
/// stands); later inputs keep the shapes the graph declares.
pub fn check(onnx: &[u8], inputs: &[&[Option<usize>]], limits: Limits) -> Result<Checked> {
    if onnx.len() > limits.max_bytes {
        return Err(invalid(format!(
            "the graph is {} bytes; at most {} are accepted",
            onnx.len(),
            limits.max_bytes
        )));
    }
    let proto = ModelProto::decode(onnx).map_err(|e| invalid(format!("not an ONNX model: {e}")))?;
    let index_bounds = Gate::new(&proto, inputs, limits)?.run()?;
    Ok(Checked {
        proto,
        index_bounds,
    })
}

fn invalid(why: String) -> Error {
    Error::InvalidModel(format!("refused by the ONNX gate: {why}"))
}

/// A value's shape as far as the gate knows it: the rank always, each dimension when known.
type Shape = Vec<Option<usize>>;

struct Gate<'a> {
    graph: &'a pb::GraphProto,
    limits: Limits,
    shapes: HashMap<&'a str, Shape>,
    constants: HashMap<&'a str, &'a TensorProto>,
    int_inputs: HashSet<&'a str>,
    index_bounds: HashMap<String, usize>,
}

impl<'a> Gate<'a> {
    fn new(proto: &'a ModelProto, inputs: &[&[Option<usize>]], limits: Limits) -> Result<Gate<'a>> {
        if !proto.functions.is_empty() || !proto.training_info.is_empty() {
            return Err(invalid(
                "model-local functions and training graphs are not accepted".into(),
            ));
        }
        for opset in &proto.opset_import {
            if !matches!(opset.domain.as_str(), "" | "ai.onnx") || opset.version > MAX_OPSET {
                return Err(invalid(format!(
                    "operator set {:?} version {} is not accepted (the default domain up to {MAX_OPSET})",
                    opset.domain, opset.version
                )));
            }
        }
        let graph = proto
            .graph
            .as_ref()
            .ok_or_else(|| invalid("the model has no graph".into()))?;
        if graph.node.len() > limits.max_nodes {
            return Err(invalid(format!(
                "{} nodes; at most {} are accepted",
                graph.node.len(),
                limits.max_nodes
            )));
        }
        if !graph.sparse_initializer.is_empty() {
            return Err(invalid("sparse initializers are not accepted".into()));
        }
        let mut gate = Gate {
            graph,
            limits,
            shapes: HashMap::new(),
            constants: HashMap::new(),
            int_inputs: HashSet::new(),
            index_bounds: HashMap::new(),
        };
        for tensor in &graph.initializer {
            let shape = gate.tensor(tensor, &format!("initializer {:?}", tensor.name))?;
            gate.shapes.insert(&tensor.name, shape);
            gate.constants.insert(&tensor.name, tensor);
        }
        for value in graph.value_info.iter().chain(&graph.output) {
            gate.value_type(value)?;
        }
        let mut fed = inputs.iter();
        for value in &graph.input {
            let declared = gate.value_type(value)?;
            if gate.constants.contains_key(value.name.as_str()) {
                continue;
            }
            let (elem, declared) = declared
                .ok_or_else(|| invalid(format!("graph input {:?} is not a tensor", value.name)))?;
            let shape = match fed.next() {
                Some(fed) => (0..fed.len())
                    .map(|i| fed[i].or_else(|| declared.get(i).copied().flatten()))
                    .collect(),
                None => declared,
            };
            if matches!(elem, DataType::Int32 | DataType::Int64) {
                gate.int_inputs.insert(&value.name);
            }
            gate.shapes.insert(&value.name, shape);
        }
        Ok(gate)
    }

    /// Checks every node in order, propagating shapes, and returns the Gather index bounds.
    fn run(mut self) -> Result<HashMap<String, usize>> {
        for node in &self.graph.node {
            let context = || format!("node {:?} ({})", node.name, node.op_type);
            self.node(node).map_err(|e| match e {
                Error::InvalidModel(why) => Error::InvalidModel(format!("{why} [{}]", context())),
                other => other,
            })?;
        }
        for output in &self.graph.output {
            if !self.shapes.contains_key(output.name.as_str()) {
                return Err(invalid(format!(
                    "graph output {:?} is never computed",
                    output.name
                )));
            }
        }
        Ok(self.index_bounds)
    }

    /// A declared value's element type and shape, checked against the accepted types.
    fn value_type(&self, value: &pb::ValueInfoProto) -> Result<Option<(DataType, Shape)>> {
        let Some(pb::type_proto::Value::TensorType(tensor)) =
            value.r#type.as_ref().and_then(|t| t.value.as_ref())
        else {
            return Ok(None);
        };
        let elem = data_type(tensor.elem_type, &format!("value {:?}", value.name))?;
        let mut shape = Shape::new();
        if let Some(declared) = &tensor.shape {
            if declared.dim.len() > MAX_RANK {
                return Err(invalid(format!(
                    "value {:?} has rank above {MAX_RANK}",
                    value.name
                )));
            }
            for dim in &declared.dim {
                shape.push(match dim.value {
                    Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)) => {
                        Some(self.dim(v, &format!("value {:?}", value.name))?)
                    }
                    _ => None,
                });
            }
        }
        Ok(Some((elem, shape)))
    }

    fn dim(&self, v: i64, what: &str) -> Result<usize> {
        usize::try_from(v)
            .ok()
            .filter(|&d| d <= self.limits.max_dim)
            .ok_or_else(|| {
                invalid(format!(
                    "{what} has a dimension of {v}, outside 0 to {}",
                    self.limits.max_dim
                ))
            })
    }

    /// Checks a constant tensor (type, shape, size, payload) and returns its shape.
    fn tensor(&self, t: &TensorProto, what: &str) -> Result<Shape> {
        let elem = data_type(t.data_type, what)?;
        if t.data_location == Some(pb::tensor_proto::DataLocation::External as i32)
            || !t.external_data.is_empty()
            || t.segment.is_some()
        {
            return Err(invalid(format!(
                "{what}: external or segmented data is not accepted"
            )));
        }
        if t.dims.len() > MAX_RANK {
            return Err(invalid(format!(
                "{what} has rank {}, above {MAX_RANK}",
                t.dims.len()
            )));
        }
        let mut elements = 1usize;
        let mut shape = Shape::new();
        for &d in &t.dims {
            let d = self.dim(d, what)?;
            elements = elements.saturating_mul(d);
            shape.push(Some(d));
        }
        if elements > self.limits.max_elements {
            return Err(invalid(format!(
                "{what} has {elements} elements; at most {} are accepted",
                self.limits.max_elements
            )));
        }
        let width = match elem {
            DataType::Bool => 1,
            DataType::Int64 => 8,
            _ => 4,
        };
        let stored = if !t.raw_data.is_empty() {
            t.raw_data.len() / width
        } else {
            match elem {
                DataType::Float => t.float_data.len(),
                DataType::Int64 => t.int64_data.len(),
                _ => t.int32_data.len(),
            }
        };
        let exact = t.raw_data.is_empty() || t.raw_data.len().is_multiple_of(width);
        if stored != elements || !exact {
            return Err(invalid(format!(
                "{what} holds {stored} values for a shape of {elements}"
            )));
        }
        Ok(shape)
    }

    /// A constant input's integer values, if the input is a constant.
    fn ints(&self, name: &str) -> Option<Vec<i64>> {
        let t = self.constants.get(name)?;
        let elem = DataType::try_from(t.data_type).ok()?;
        let values = match (elem, t.raw_data.is_empty()) {
            (DataType::Int64, true) => t.int64_data.clone(),
            (DataType::Int32 | DataType::Bool, true) => {
                t.int32_data.iter().map(|&v| i64::from(v)).collect()
            }
            (DataType::Int64, false) => t
                .raw_data
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
            (DataType::Int32, false) => t
                .raw_data
                .chunks_exact(4)
                .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
            (DataType::Bool, false) => t.raw_data.iter().map(|&b| i64::from(b)).collect(),
            _ => return None,
        };
        Some(values)
    }

    fn shape(&self, node: &NodeProto, input: usize) -> Result<Shape> {
        let name = node
            .input
            .get(input)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| invalid(format!("input {input} is missing")))?;
        self.shapes
            .get(name.as_str())
            .cloned()
            .ok_or_else(|| invalid(format!("input {name:?} is not computed before this node")))
    }

    /// A constant integer input (axes, steps, divisors), required.
    fn const_ints(&self, node: &NodeProto, input: usize) -> Result<Vec<i64>> {
        let name = node.input.get(input).map_or("", String::as_str);
        self.ints(name)
            .ok_or_else(|| invalid(format!("input {input} must be a constant integer tensor")))
    }

    fn node(&mut self, node: &'a NodeProto) -> Result<()> {
        let op = node.op_type.as_str();
        if !matches!(node.domain.as_str(), "" | "ai.onnx") || !OPERATORS.contains(&op) {
            return Err(invalid(format!(
                "operator {}:{op} is not accepted",
                node.domain
            )));
        }
        for (i, name) in node.input.iter().enumerate() {
            if !name.is_empty() && !self.shapes.contains_key(name.as_str()) {
                return Err(invalid(format!(
                    "input {i} ({name:?}) is not computed before this node"
                )));
            }
        }
        let attrs = Attributes::new(node)?;
        let shape = self.infer(node, op, &attrs)?;
        if shape.len() > MAX_RANK {
            return Err(invalid(format!(
                "its output would have rank {}",
                shape.len()
            )));
        }
        let [output] = &node.output[..] else {
            return Err(invalid(format!(
                "{} outputs; one is accepted",
                node.output.len()
            )));
        };
        if self.shapes.insert(output, shape).is_some() {
            return Err(invalid(format!("value {output:?} is defined twice")));
        }
        if op == "Constant" {
            if let Some(t) = attrs.tensor("value") {
                self.constants.insert(output, t);
            }
        }
        Ok(())
    }

    /// Checks a node's attributes and inputs and returns its output's shape.
    fn infer(&mut self, node: &'a NodeProto, op: &str, attrs: &Attributes<'a>) -> Result<Shape> {
        let shape = |i| self.shape(node, i);
        match op {
            "Constant" => {
                attrs.only(&["value"])?;
                let t = attrs
                    .tensor("value")
                    .ok_or_else(|| invalid("a Constant needs a tensor `value`".into()))?;
                self.tensor(t, "its value")
            }
            "Abs" | "Erf" | "Identity" | "Neg" | "Relu" | "Softplus" | "Sqrt" | "Tanh"
            | "Sigmoid" => {
                attrs.only(&[])?;
                shape(0)
            }
            "Cast" => {
                attrs.only(&["to", "saturate"])?;
                let to = attrs.int("to").and_then(|t| i32::try_from(t).ok());
                data_type(to.unwrap_or(0), "the Cast target")?;
                shape(0)
            }
            "Add" | "Sub" | "Mul" | "Greater" | "Pow" | "Div" => {
                attrs.only(&[])?;
                if op == "Div" {
                    self.divisor(node)?;
                }
                Ok(broadcast(&shape(0)?, &shape(1)?))
            }
            "MatMul" => {
                attrs.only(&[])?;
                let (a, b) = (shape(0)?, shape(1)?);
                if a.len() < 2 || b.len() < 2 {
                    return Err(invalid("MatMul operands must have rank 2 or more".into()));
                }
                let mut out = broadcast(&a[..a.len() - 2], &b[..b.len() - 2]);
                out.extend([a[a.len() - 2], b[b.len() - 1]]);
                Ok(out)
            }
            "Gemm" => {
                attrs.only(&["alpha", "beta", "transA", "transB"])?;
                for flag in ["transA", "transB"] {
                    if !matches!(attrs.int(flag), None | Some(0 | 1)) {
                        return Err(invalid(format!("`{flag}` must be 0 or 1")));
                    }
                }
                for scale in ["alpha", "beta"] {
                    if !attrs.float(scale).unwrap_or(1.0).is_finite() {
                        return Err(invalid(format!("`{scale}` must be finite")));
                    }
                }
                let (a, b) = match (&shape(0)?[..], &shape(1)?[..]) {
                    (&[a0, a1], &[b0, b1]) => ([a0, a1], [b0, b1]),
                    _ => return Err(invalid("Gemm operands must have rank 2".into())),
                };
                let rows = if attrs.int("transA") == Some(1) {
                    a[1]
                } else {
                    a[0]
                };
                let columns = if attrs.int("transB") == Some(1) {
                    b[0]
                } else {
                    b[1]
                };
                Ok(vec![rows, columns])
            }
            "LayerNormalization" => {
                attrs.only(&["axis", "epsilon", "stash_type"])?;
                let x = shape(0)?;
                axis(attrs.int("axis").unwrap_or(-1), x.len())?;
                let epsilon = attrs.float("epsilon").unwrap_or(1e-5);
                let stash_type = attrs.int("stash_type").unwrap_or(1);
                if !(epsilon.is_finite() && epsilon >= 0.0 && stash_type == 1) {
                    return Err(invalid("`epsilon` must be finite, `stash_type` 1".into()));
                }
                Ok(x)
            }
            "Softmax" => {
                attrs.only(&["axis"])?;
                let x = shape(0)?;
                axis(attrs.int("axis").unwrap_or(-1), x.len())?;
                Ok(x)
            }
            "Shape" => {
                attrs.only(&[])?;
                Ok(vec![Some(shape(0)?.len())])
            }
            "Concat" => {
                attrs.only(&["axis"])?;
                let first = shape(0)?;
                let at = axis(
                    attrs
                        .int("axis")
                        .ok_or_else(|| invalid("Concat needs `axis`".into()))?,
                    first.len(),
                )?;
                let mut out = first.clone();
                for i in 1..node.input.len() {
                    let next = shape(i)?;
                    if next.len() != first.len() {
                        return Err(invalid("Concat operands differ in rank".into()));
                    }
                    out[at] = out[at].zip(next[at]).map(|(a, b)| a + b);
                }
                Ok(out)
            }
            "Transpose" => {
                attrs.only(&["perm"])?;
                let x = shape(0)?;
                let perm = attrs
                    .ints("perm")
                    .ok_or_else(|| invalid("Transpose needs `perm`".into()))?;
                let mut seen = vec![false; x.len()];
                let mut out = Shape::new();
                for &p in perm {
                    let p = usize::try_from(p).ok().filter(|&p| p < x.len());
                    match p {
                        Some(p) if !seen[p] => {
                            seen[p] = true;
                            out.push(x[p]);
                        }
                        _ => {
                            return Err(invalid(format!(
                                "`perm` {perm:?} is not a permutation of the input's {} axes",
                                x.len()
                            )))
                        }
                    }
                }
                if out.len() != x.len() {
                    return Err(invalid(format!(
                        "`perm` {perm:?} does not cover every axis"
                    )));
                }
                Ok(out)
            }
            "Unsqueeze" | "Squeeze" | "ReduceSum" => {
                let x = shape(0)?;
                let axes = self.const_ints(node, 1)?;
                let rank = if op == "Unsqueeze" {
                    x.len() + axes.len()
                } else {
                    x.len()
                };
                let mut marked = vec![false; rank];
                for &a in &axes {
                    let a = axis(a, rank)?;
                    if std::mem::replace(&mut marked[a], true) {
                        return Err(invalid(format!("axis {a} is listed twice")));
                    }
                }
                match op {
                    "Unsqueeze" => {
                        attrs.only(&[])?;
                        let mut dims = x.into_iter();
                        Ok(marked
                            .iter()
                            .map(|&m| if m { Some(1) } else { dims.next().flatten() })
                            .collect())
                    }
                    "Squeeze" => {
                        attrs.only(&[])?;
                        if x.iter()
                            .zip(&marked)
                            .any(|(d, &m)| m && d.is_some_and(|d| d != 1))
                        {
                            return Err(invalid("Squeeze of an axis whose length is not 1".into()));
                        }
                        Ok(x.into_iter()
                            .zip(&marked)
                            .filter(|(_, &m)| !m)
                            .map(|(d, _)| d)
                            .collect())
                    }
                    _ => {
                        attrs.only(&["keepdims", "noop_with_empty_axes"])?;
                        if axes.is_empty() {
                            return Err(invalid("ReduceSum needs its axes".into()));
                        }
                        let keep = attrs.int("keepdims").unwrap_or(1) != 0;
                        Ok(x.into_iter()
                            .zip(&marked)
                            .filter_map(|(d, &m)| match (m, keep) {
                                (false, _) => Some(d),
                                (true, true) => Some(Some(1)),
                                (true, false) => None,
                            })
                            .collect())
                    }
                }
            }
            "Reshape" => {
                attrs.only(&["allowzero"])?;
                if !matches!(attrs.int("allowzero"), None | Some(0)) {
                    return Err(invalid("`allowzero` must be 0".into()));
                }
                shape(0)?;
                match shape(1)?[..] {
                    [Some(rank)] => Ok(vec![None; rank]),
                    _ => Err(invalid("the target shape's length is not known".into())),
                }
            }
            "Slice" => {
                attrs.only(&[])?;
                let x = shape(0)?;
                let axes = match node.input.get(3).filter(|n| !n.is_empty()) {
                    Some(_) => self.const_ints(node, 3)?,
                    None => (0..x.len() as i64).collect(),
                };
                if let Some(steps) = node.input.get(4).filter(|n| !n.is_empty()) {
                    let steps = self
                        .ints(steps)
                        .ok_or_else(|| invalid("`steps` must be constant".into()))?;
                    if steps.len() != axes.len() || steps.iter().any(|&s| s == 0 || s == i64::MIN) {
                        return Err(invalid(format!(
                            "`steps` {steps:?} must be non-zero, one per axis"
                        )));
                    }
                }
                let mut out = x.clone();
                for &a in &axes {
                    out[axis(a, x.len())?] = None;
                }
                Ok(out)
            }
            "Gather" => {
                attrs.only(&["axis"])?;
                let data = shape(0)?;
                let at = axis(attrs.int("axis").unwrap_or(0), data.len())?;
                let indices = shape(1)?;
                let name = node.input[1].as_str();
                let rows = data[at];
                if let Some(values) = self.ints(name) {
                    let len = rows.ok_or_else(|| {
                        invalid("Gather from an axis whose length is not known".into())
                    })? as i64;
                    if let Some(i) = values.iter().find(|&&i| i < -len || i >= len) {
                        return Err(invalid(format!(
                            "Gather index {i} outside an axis of {len}"
                        )));
                    }
                } else if self.int_inputs.contains(name) {
                    let len = rows.ok_or_else(|| {
                        invalid("Gather from an axis whose length is not known".into())
                    })?;
                    let bound = self.index_bounds.entry(name.to_string()).or_insert(len);
                    *bound = (*bound).min(len);
                } else {
                    return Err(invalid(
                        "Gather indices must be a constant or an integer graph input".into(),
                    ));
                }
                let mut out = data[..at].to_vec();
                out.extend(indices);
                out.extend(&data[at + 1..]);
                Ok(out)
            }
            _ => Err(invalid(format!("operator {op} is not accepted"))),
        }
    }

    /// Div's divisor must be constant, and an integer divisor positive (no division by zero or
    /// `MIN / -1`).
    fn divisor(&self, node: &NodeProto) -> Result<()> {
        let name = node.input.get(1).map_or("", String::as_str);
        let t = self
            .constants
            .get(name)
            .ok_or_else(|| invalid("Div's divisor must be a constant".into()))?;
        if t.data_type != DataType::Float as i32 {
            let values = self.const_ints(node, 1)?;
            if let Some(v) = values.iter().find(|&&v| v <= 0) {
                return Err(invalid(format!("integer Div by {v}")));
            }
        }
        Ok(())
    }
}

/// The broadcast of two shapes (numpy rules). A known length other than 1 stands against an
/// unknown one (which must be 1 or equal for the graph to run at all).
fn broadcast(a: &[Option<usize>], b: &[Option<usize>]) -> Shape {
    let rank = a.len().max(b.len());
    let at =
        |s: &[Option<usize>], i: usize| (i + s.len()).checked_sub(rank).map_or(Some(1), |j| s[j]);
    (0..rank)
        .map(|i| match (at(a, i), at(b, i)) {
            (Some(1), d) | (d, Some(1)) => d,
            (Some(x), Some(y)) if x == y => Some(x),
            (Some(x), None) | (None, Some(x)) => Some(x),
            _ => None,
        })
        .collect()
}

/// An axis attribute in `[-rank, rank)`, as an index.
fn axis(a: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    if a < -r || a >= r {
        return Err(invalid(format!("axis {a} is outside a rank of {rank}")));
    }
    Ok(if a < 0 { a + r } else { a } as usize)
}

fn data_type(code: i32, what: &str) -> Result<DataType> {
    DataType::try_from(code)
        .ok()
        .filter(|t| DATA_TYPES.contains(t))
        .ok_or_else(|| {
            let name = DataType::try_from(code).map_or("unknown".into(), |t| format!("{t:?}"));
            invalid(format!(
                "{what} has data type {name} ({code}); accepted: float, int32, int64, bool"
            ))
        })
}

/// A node's attributes by name.
struct Attributes<'a>(HashMap<&'a str, &'a pb::AttributeProto>);

impl<'a> Attributes<'a> {
    fn new(node: &'a NodeProto) -> Result<Attributes<'a>> {
        let mut map = HashMap::new();
        for a in &node.attribute {
            if a.g.is_some() || !a.graphs.is_empty() || !a.ref_attr_name.is_empty() {
                return Err(invalid(format!(
                    "attribute {:?}: subgraphs and references are not accepted",
                    a.name
                )));
            }
            if map.insert(a.name.as_str(), a).is_some() {
                return Err(invalid(format!("attribute {:?} appears twice", a.name)));
            }
        }
        Ok(Attributes(map))
    }

    fn only(&self, names: &[&str]) -> Result<()> {
        match self.0.keys().find(|k| !names.contains(k)) {
            Some(name) => Err(invalid(format!("attribute {name:?} is not accepted here"))),
            None => Ok(()),
        }
    }

    fn int(&self, name: &str) -> Option<i64> {
        self.0.get(name).map(|a| a.i)
    }

    fn float(&self, name: &str) -> Option<f32> {
        self.0.get(name).map(|a| a.f)
    }

    fn ints(&self, name: &str) -> Option<&'a [i64]> {
        self.0.get(name).map(|a| a.ints.as_slice())
    }

    fn tensor(&self, name: &str) -> Option<&'a TensorProto> {
        self.0.get(name).and_then(|a| a.t.as_ref())
    }
}
