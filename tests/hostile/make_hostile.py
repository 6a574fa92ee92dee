"""Writes the hostile ONNX encoders of issue 20 into tests/hostile/ (each a few hundred bytes),
and a valid one of the same shape into fuzz/corpus/onnx_gate/ (the gate fuzzer's smallest seed).

Every graph takes the encoder's input `emb` f32 [1, 50, 64] and returns `user` f32 [1, 64]
(the last position), with one hostile node on the way that tract would panic on (a trap in
wasm) at load or at the first recommend. tests/onnx_gate.rs checks that each is refused by the
ONNX gate with INVALID_MODEL. Run from the repository root: python3 tests/hostile/make_hostile.py
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.dirname(os.path.abspath(__file__))


def const(name, array, dtype=None):
    tensor = numpy_helper.from_array(np.array(array, dtype=dtype), name=name + "_value")
    return helper.make_node("Constant", [], [name], value=tensor, name=name)


def save(name, nodes, last="emb", index=None):
    """A graph of `nodes` whose output gathers position `index` of `last` (the last position
    unless `nodes` compute `index`)."""
    if index is None:
        nodes = nodes + [const("index", -1, np.int64)]
    nodes = nodes + [helper.make_node("Gather", [last, "index"], ["user"], axis=1, name="user")]
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("emb", TensorProto.FLOAT, [1, 50, 64])],
        [helper.make_tensor_value_info("user", TensorProto.FLOAT, [1, 64])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    with open(os.path.join(OUT, name + ".onnx"), "wb") as f:
        f.write(model.SerializeToString())


def shape_then(op, divisor, **attrs):
    return [
        helper.make_node("Shape", ["emb"], ["shape"], name="shape"),
        const("divisor", [divisor, 1, 1], np.int64),
        helper.make_node(op, ["shape", "divisor"], ["target"], name=op.lower(), **attrs),
        helper.make_node("Reshape", ["emb", "target"], ["reshaped"], name="reshape"),
    ]


string = helper.make_tensor("words", TensorProto.STRING, [1], [b"hostile"])
save("string_tensor", [helper.make_node("Constant", [], ["words"], value=string, name="words")])
save("int_div_by_zero", shape_then("Div", 0), last="reshaped")
save("int_mod_by_zero", shape_then("Mod", 0), last="reshaped")
save(
    "slice_step_zero",
    [
        const("starts", [0], np.int64),
        const("ends", [50], np.int64),
        const("axes", [1], np.int64),
        const("steps", [0], np.int64),
        helper.make_node("Slice", ["emb", "starts", "ends", "axes", "steps"], ["sliced"], name="slice"),
    ],
    last="sliced",
)
save(
    "depth_to_space_block_zero",
    [
        const("to4", [1, 64, 50, 1], np.int64),
        helper.make_node("Reshape", ["emb", "to4"], ["nchw"], name="nchw"),
        helper.make_node("DepthToSpace", ["nchw"], ["spread"], blocksize=0, name="d2s"),
    ],
)
save(
    "squeeze_bad_axis",
    [
        const("axes", [7], np.int64),
        helper.make_node("Squeeze", ["emb", "axes"], ["squeezed"], name="squeeze"),
    ],
    last="squeezed",
)
save(
    "onehot_huge_depth",
    [
        const("indices", [0], np.int64),
        const("depth", 1 << 40, np.int64),
        const("values", [0.0, 1.0], np.float32),
        helper.make_node("OneHot", ["indices", "depth", "values"], ["hot"], name="onehot"),
    ],
)
save(
    "transpose_bad_perm",
    [helper.make_node("Transpose", ["emb"], ["moved"], perm=[0, 2, 1 << 30], name="transpose")],
    last="moved",
)
# Gathers that load and trap at the first recommend: an index past the window, one before it,
# and indices computed from the input.
for name, index in [("gather_past_the_window", 1000), ("gather_before_the_window", -51)]:
    save(name, [const("index", index, np.int64)], index=index)
save(
    "gather_indices_from_input",
    [
        const("axes", [1, 2], np.int64),
        helper.make_node("ReduceSum", ["emb", "axes"], ["total"], keepdims=0, name="total"),
        helper.make_node("Cast", ["total"], ["index"], to=TensorProto.INT64, name="cast"),
    ],
    index="computed",
)
# An encoder with a second, integer input to gather with (the engine feeds only the window).
graph = helper.make_graph(
    [helper.make_node("Gather", ["emb", "position"], ["user"], axis=1, name="user")],
    "gather_with_a_second_input",
    [
        helper.make_tensor_value_info("emb", TensorProto.FLOAT, [1, 50, 64]),
        helper.make_tensor_value_info("position", TensorProto.INT64, []),
    ],
    [helper.make_tensor_value_info("user", TensorProto.FLOAT, [1, 64])],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
with open(os.path.join(OUT, "gather_with_a_second_input.onnx"), "wb") as f:
    f.write(model.SerializeToString())

# A valid graph of the same shape, the ONNX gate fuzzer's smallest seed.
OUT = os.path.join(OUT, "..", "..", "fuzz", "corpus", "onnx_gate")
save("last_position", [])
