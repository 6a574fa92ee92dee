"""The bundle's plain-weights form (format version 2): the encoder's and the price head's weights as
safetensors, with their architecture in the manifest, so that the engine's default build runs them
without any graph analysis. Both are read from the exported ONNX graphs' initializers, so the
plain form is the ONNX graph's weights exactly, whatever made the graph; the architecture comes
from the training config the manifest records.

`encoder.safetensors` (f32; every matrix [in, out], applied as x @ W + b):
    pos [L, d] (not in the streaming form), ln_in.weight / ln_in.bias [d], and for each block i:
    blocks.i.qkv.weight [d, 3d] / .bias [3d], blocks.i.out.weight [d, d] / .bias [d],
    blocks.i.ln_att.weight / .bias [d], blocks.i.ffn.0.weight [d, f] / .bias [f],
    blocks.i.ffn.2.weight [f, d] / .bias [d], blocks.i.ln_ffn.weight / .bias [d],
    with the low-pass branch blocks.i.filter_beta [d], blocks.i.ln_filter.weight / .bias [d], and in the
    streaming form (the manifest's `encoder.reach` r) blocks.i.rel_bias [heads, r]: the attention
    score's bias by the key's distance behind the query.
`price.safetensors` (f32): feature_weight [F] (the ONNX feature mask folded in), feature_bias [1],
    item_bias [n], department_bias [D], department_elasticity [D] (before softplus), and for a head
    with a shopper-level response (export_price_shopper.py) response_weight [S]; the response's
    standardisation (the graph's response_mean and response_std) and its signal names and prior (the
    graph's metadata RESPONSE_METADATA) go into the manifest's `priceHead.response`.

Upgrade a written bundle in place (re-signing with --sign-fixture-key for the test fixture):

    python3 models/training/plain_weights.py models/grocery
"""
import argparse
import json
import os
from typing import NamedTuple

import numpy as np
import onnx
from onnx import numpy_helper
from safetensors.numpy import save as save_safetensors

from bundle_writer import FORMAT_VERSION, add_to_bundle, fixture_signing_key, write_manifest

ENCODER_WEIGHTS = "encoder.safetensors"
PRICE_WEIGHTS = "price.safetensors"
PRICE_FEATURES = ["interest", "display", "mailer", "weekSin", "weekCos"]  # train_price.FEATURES, in order
RESPONSE_METADATA = "edgerec.priceResponse"  # price.onnx metadata: {"signals", "dealSharePrior", "pseudoLines"}
LAYER_NORM_EPSILON = 1e-12  # sasrec.py's LayerNorm eps
MASK_VALUE = -1e4  # sasrec.MASKED


def _initializers(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """Every constant of the graph by name: its initializers, and the Identity nodes of them (the
    exporter shares equal parameters, such as untrained layer norms, through Identity nodes)."""
    values = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Identity" and node.input[0] in values:
            values[node.output[0]] = values[node.input[0]]
    return values


def _matmul_weight(model: onnx.ModelProto, values: dict, node_name: str) -> np.ndarray:
    """The constant right-hand side of the MatMul node named node_name, [in, out]."""
    for node in model.graph.node:
        if node.op_type == "MatMul" and node.name == node_name:
            return values[node.input[1]]
    raise ValueError(f"the encoder graph has no MatMul named {node_name!r}: not a sasrec.py export")


def encoder_form(onnx_bytes: bytes, config: dict) -> tuple[bytes, dict]:
    """(encoder.safetensors, the manifest's `encoder` entry) from a sasrec.py export and its config."""
    model = onnx.load_from_string(onnx_bytes)
    values = _initializers(model)
    reach = config.get("reach", 0)
    tensors = {"ln_in.weight": values["sasrec.ln_in.weight"], "ln_in.bias": values["sasrec.ln_in.bias"]}
    if not reach:
        tensors["pos"] = values["sasrec.pos"]
    low_pass = config.get("filter_c", 0) > 0
    for i in range(config["blocks"]):
        prefix, block = f"sasrec.blocks.{i}.", f"/sasrec/blocks.{i}/"
        for name, node in [("qkv", "qkv/MatMul"), ("out", "out/MatMul"), ("ffn.0", "ffn/ffn.0/MatMul"),
                           ("ffn.2", "ffn/ffn.2/MatMul")]:
            tensors[f"blocks.{i}.{name}.weight"] = _matmul_weight(model, values, block + node)
            tensors[f"blocks.{i}.{name}.bias"] = values[f"{prefix}{name}.bias"]
        names = ["ln_att.weight", "ln_att.bias", "ln_ffn.weight", "ln_ffn.bias"]
        if low_pass:
            names += ["filter_beta", "ln_filter.weight", "ln_filter.bias"]
        if reach:
            names.append("rel_bias")
        for name in names:
            tensors[f"blocks.{i}.{name}"] = values[prefix + name]
    tensors = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}
    entry = {
        "weights": ENCODER_WEIGHTS,
        "blocks": config["blocks"],
        "heads": config["heads"],
        "ffnWidth": config["ffn_mult"] * config["d"],
        "activation": config.get("activation", "gelu"),
        "norm": "post",
        "layerNormEpsilon": LAYER_NORM_EPSILON,
        "maskValue": MASK_VALUE,
        "lowPass": {"frequencies": config["filter_c"] // 2 + 1, "alpha": config["alpha"]} if low_pass else None,
    }
    if reach:
        entry["reach"] = reach
    return save_safetensors(tensors), entry


def price_form(onnx_bytes: bytes) -> tuple[bytes, dict]:
    """(price.safetensors, the manifest's `priceHead` entry) from a train_price.py or
    export_price_shopper.py export."""
    model = onnx.load_from_string(onnx_bytes)
    values = _initializers(model)
    weight = values["linear.weight"].reshape(-1) * values["feature_mask"].reshape(-1)
    tensors = {
        "feature_weight": weight,
        "feature_bias": values["linear.bias"].reshape(1),
        "item_bias": values["item_bias.weight"].reshape(-1),
        "department_bias": values["department_bias.weight"].reshape(-1),
        "department_elasticity": values["department_elasticity.weight"].reshape(-1),
    }
    tensors = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}
    if len(weight) != len(PRICE_FEATURES):
        raise ValueError(f"price.onnx has {len(weight)} features, expected {PRICE_FEATURES}")
    entry = {"weights": PRICE_WEIGHTS, "demand": "logistic-log-price", "features": PRICE_FEATURES,
             "departments": int(len(tensors["department_bias"]))}
    metadata = {p.key: p.value for p in model.metadata_props}
    if "response_weight" in values or RESPONSE_METADATA in metadata:
        response = json.loads(metadata[RESPONSE_METADATA])
        tensors["response_weight"] = np.ascontiguousarray(values["response_weight"].reshape(-1), dtype=np.float32)
        mean = np.asarray(values["response_mean"], dtype=np.float32).reshape(-1)
        std = np.asarray(values["response_std"], dtype=np.float32).reshape(-1)
        if not len(response["signals"]) == len(tensors["response_weight"]) == len(mean) == len(std):
            raise ValueError(f"price.onnx's response names {response['signals']} but has "
                             f"{len(tensors['response_weight'])} weights, {len(mean)} means, {len(std)} deviations")
        entry["response"] = {"signals": response["signals"], "mean": [float(x) for x in mean],
                             "std": [float(x) for x in std], "dealSharePrior": float(response["dealSharePrior"]),
                             "pseudoLines": response["pseudoLines"]}
    return save_safetensors(tensors), entry


def add_price_head(bundle: str, price_onnx: bytes, figures: dict, provenance: dict | None = None) -> dict:
    """Adds a price head to a written bundle in both forms (`price.onnx`, `price.safetensors` and
    the manifest's `priceHead`), with its figures under `metrics.priceHead` and, when given, how it
    was trained under `training.priceHead` (unsigned)."""
    weights, entry = price_form(price_onnx)
    return add_to_bundle(bundle, {"price.onnx": price_onnx, entry["weights"]: weights}, {"priceHead": figures},
                         {"priceHead": entry}, {"priceHead": provenance} if provenance else None)


class PlainForm(NamedTuple):
    """The plain-weights files and the manifest entries that describe them."""
    files: dict[str, bytes]
    entries: dict


def plain_form(files: dict[str, bytes], config: dict) -> PlainForm:
    """The plain-weights form of a bundle's `interest.onnx` (and `price.onnx` when it has one)."""
    out, entries = {}, {}
    out[ENCODER_WEIGHTS], entries["encoder"] = encoder_form(files["interest.onnx"], config)
    if "price.onnx" in files:
        out[PRICE_WEIGHTS], entries["priceHead"] = price_form(files["price.onnx"])
    return PlainForm(out, entries)


def upgrade(bundle: str, config: dict, signing_key=None) -> dict:
    """Adds the plain-weights form to a written bundle and rewrites its manifest at the current
    format version (signed when a key is given)."""
    with open(os.path.join(bundle, "manifest.json")) as f:
        manifest = json.load(f)
    onnx_files = {}
    for name in ("interest.onnx", "price.onnx"):
        if name in manifest["files"]:
            with open(os.path.join(bundle, name), "rb") as f:
                onnx_files[name] = f.read()
    form = plain_form(onnx_files, config)
    manifest.update(form.entries)
    manifest["formatVersion"] = FORMAT_VERSION
    manifest["training"].setdefault("config", config)
    return write_manifest(bundle, manifest, form.files, signing_key)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bundle")
    p.add_argument("--config", help="the encoder config as JSON (default: the manifest's training.config)")
    p.add_argument("--sign-fixture-key", action="store_true", help="re-sign with the test fixture's key")
    a = p.parse_args()
    with open(os.path.join(a.bundle, "manifest.json")) as f:
        manifest = json.load(f)
    config = json.loads(a.config) if a.config else manifest["training"]["config"]
    written = upgrade(a.bundle, config, fixture_signing_key() if a.sign_fixture_key else None)
    print(f"{a.bundle}: format {written['formatVersion']}, files {sorted(written['files'])}")


if __name__ == "__main__":
    main()
