"""Writes an edgerec model bundle: the encoder, the item table, item ids, and a manifest that lists
each file's size and sha256 (format version 1, see DESIGN.md), optionally signed with ed25519."""
import hashlib
import json
import os

import numpy as np
from safetensors.numpy import save as save_safetensors

FORMAT_VERSION = 1


def quantize_int8(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row int8 quantisation: row ≈ q * scale, scale = max|row| / 127."""
    table = np.asarray(table, dtype=np.float32)
    scale = np.abs(table).max(axis=1) / 127.0
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    q = np.clip(np.rint(table / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale


def dequantize(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The float table the engine feeds the encoder: q * scale, in f32."""
    return q.astype(np.float32) * scale[:, None]


def item_table_bytes(q: np.ndarray, scale: np.ndarray, columns: dict | None = None) -> bytes:
    """`items.safetensors`: `embedding` int8 [n, d], `scale` f32 [n], and optional extra columns."""
    tensors = {"embedding": q, "scale": scale}
    tensors.update(columns or {})
    return save_safetensors(tensors)


def write_bundle(
    out_dir: str,
    *,
    files: dict[str, bytes],
    model_version: str,
    dims: int,
    seq_len: int,
    item_count: int,
    metrics: dict,
    training: dict,
    signing_key=None,
) -> dict:
    """Writes `files` and `manifest.json` (and `manifest.sig` when a key is given) into out_dir."""
    os.makedirs(out_dir, exist_ok=True)
    entries = {}
    for name, data in sorted(files.items()):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        entries[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    manifest = {
        "formatVersion": FORMAT_VERSION,
        "modelVersion": model_version,
        "dims": dims,
        "seqLen": seq_len,
        "itemCount": item_count,
        "files": entries,
        "metrics": metrics,
        "training": training,
    }
    manifest_bytes = (json.dumps(manifest, indent=2) + "\n").encode()
    with open(os.path.join(out_dir, "manifest.json"), "wb") as f:
        f.write(manifest_bytes)
    if signing_key is not None:
        with open(os.path.join(out_dir, "manifest.sig"), "wb") as f:
            f.write(signing_key.sign(manifest_bytes))
    return manifest


def add_to_bundle(out_dir: str, files: dict[str, bytes], metrics: dict) -> dict:
    """Adds files and metrics to a written bundle (unsigned), rewriting its manifest."""
    with open(os.path.join(out_dir, "manifest.json")) as f:
        manifest = json.load(f)
    for name, data in sorted(files.items()):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        manifest["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    manifest["files"] = dict(sorted(manifest["files"].items()))
    manifest["metrics"].update(metrics)
    with open(os.path.join(out_dir, "manifest.json"), "wb") as f:
        f.write((json.dumps(manifest, indent=2) + "\n").encode())
    return manifest
