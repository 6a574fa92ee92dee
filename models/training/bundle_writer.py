"""Writes an edgerec model bundle: the encoder, the item table, item ids, and a manifest that lists
each file's size and sha256 (format version 2, see docs/bundle.md), optionally signed with ed25519."""
import hashlib
import json
import os
import time

import numpy as np
from safetensors.numpy import save as save_safetensors

FORMAT_VERSION = 2
FIXTURE_KEY_SEED = b"edgerec fixture signing key"


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


def fixture_signing_key():
    """The test fixture's ed25519 key, derived from a fixed seed (it signs nothing else)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(FIXTURE_KEY_SEED).digest())


def load_signing_key(path: str):
    """The ed25519 private key in the PEM file at `path`; a missing or unreadable file, or another
    kind of key, stops with an error naming --key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        with open(path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise SystemExit(f"--key {path}: not a readable PEM private key ({type(e).__name__}: {e})")
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit(f"--key {path}: not an ed25519 private key")
    return key


def manifest_bytes(manifest: dict) -> bytes:
    """The exact bytes of `manifest.json` (what a signature covers)."""
    return (json.dumps(manifest, indent=2) + "\n").encode()


def write_manifest(out_dir: str, manifest: dict, files: dict[str, bytes], signing_key=None) -> dict:
    """Writes `files` into out_dir, lists them in the manifest (size and sha256, sorted by name)
    beside those it lists already, and writes `manifest.json`, with `manifest.sig` when a key is
    given (an unsigned rewrite removes a stale signature)."""
    os.makedirs(out_dir, exist_ok=True)
    entries = dict(manifest.get("files", {}))
    for name, data in sorted(files.items()):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        entries[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    manifest["files"] = dict(sorted(entries.items()))
    data = manifest_bytes(manifest)
    with open(os.path.join(out_dir, "manifest.json"), "wb") as f:
        f.write(data)
    sig = os.path.join(out_dir, "manifest.sig")
    if signing_key is not None:
        with open(sig, "wb") as f:
            f.write(signing_key.sign(data))
    elif os.path.exists(sig):
        os.remove(sig)
    return manifest


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
    encoder_config: dict,
    signing_key=None,
    release: int | None = None,
    expires: str | None = None,
    privacy: dict | None = None,
) -> dict:
    """Writes `files`, the plain-weights form of their ONNX graphs (see plain_weights.py) and
    `manifest.json` (and `manifest.sig` when a key is given) into out_dir. `release` numbers the
    bundles a key signs, each higher than the last (default: the Unix time of writing, in
    seconds); `expires`, an RFC 3339 date-time with a zone, is when engines stop loading it;
    `privacy`, the differential-privacy guarantee of DP-trained weights (absent otherwise)."""
    release = int(time.time()) if release is None else release
    if not 0 <= release <= 2**53 - 1:
        raise ValueError(f"release must be a whole number from 0 to 2**53 - 1, got {release}")
    from plain_weights import plain_form
    files = dict(files)
    forms = plain_form(files, encoder_config)
    files.update(forms.files)
    manifest = {
        "formatVersion": FORMAT_VERSION,
        "modelVersion": model_version,
        "release": release,
        **({"expires": expires} if expires is not None else {}),
        "dims": dims,
        "seqLen": seq_len,
        "itemCount": item_count,
        **forms.entries,
        "files": {},
        "metrics": metrics,
        "training": training,
        **({"privacy": privacy} if privacy is not None else {}),
    }
    return write_manifest(out_dir, manifest, files, signing_key)


def add_to_bundle(out_dir: str, files: dict[str, bytes], metrics: dict, entries: dict | None = None,
                  training: dict | None = None) -> dict:
    """Adds files, manifest entries, metrics and `training` provenance to a written bundle
    (unsigned), rewriting its manifest."""
    with open(os.path.join(out_dir, "manifest.json")) as f:
        manifest = json.load(f)
    manifest.update(entries or {})
    manifest["metrics"].update(metrics)
    if training:
        manifest["training"].update(training)
    return write_manifest(out_dir, manifest, files)
