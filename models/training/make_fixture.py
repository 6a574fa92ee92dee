"""Makes the test fixture bundle `models/fixture/`: a tiny SASRec encoder (random weights, same
architecture family as the shipped models) and a 60-item int8 table, plus `expected.json` with
user vectors and top-10 lists computed by onnxruntime, a runtime independent of the engine.

    python3 models/training/make_fixture.py            # from the repository root

The bundle is signed with a key derived from a fixed seed (a test key: it signs nothing else).
"""
import json
import os

import numpy as np
import onnxruntime as ort
import torch
from cryptography.hazmat.primitives import serialization

from bundle_writer import dequantize, fixture_signing_key, item_table_bytes, quantize_int8, write_bundle
from sasrec import EncoderConfig, SASRec, export_onnx

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "models", "fixture")
D, L, N, K = 16, 8, 60, 10
CONFIG = EncoderConfig(d=D, seq_len=L, blocks=2, heads=2, ffn_mult=2, dropout=0.0, attn_dropout=0.0)
T0 = 1_700_000_000_000  # event timestamps, ms since the epoch


def build_encoder() -> SASRec:
    torch.manual_seed(7)
    model = SASRec(CONFIG)
    with torch.no_grad():  # larger than training-time init, so that outputs differ clearly per input
        for name, p in model.named_parameters():
            if p.dim() > 1 or name == "pos":
                p.normal_(0, 0.3)
    return model.eval()


def int8_top_k(user: np.ndarray, q: np.ndarray, scale: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ranking contract, implemented independently of the engine: user quantised to int8
    (scale max|u|/127), i32 dot products, key = f32(acc) * scale_i, ties by item index."""
    u_scale = np.float32(np.abs(user).max() / 127.0) if np.abs(user).max() > 0 else np.float32(1.0)
    u_q = np.clip(np.rint(user / u_scale), -127, 127).astype(np.int32)
    acc = q.astype(np.int32) @ u_q
    key = acc.astype(np.float32) * scale
    order = sorted(range(len(key)), key=lambda i: (-key[i], i))[:k]
    return [(i, float(key[i] * u_scale)) for i in order]


def main() -> None:
    rng = np.random.default_rng(11)
    table = rng.normal(0, 1.0, size=(N, D)).astype(np.float32)
    q, scale = quantize_int8(table)
    rows = dequantize(q, scale)
    ids = [f"SKU-{i:04d}" for i in range(N)]
    items = [{"id": sku, "name": f"Fixture item {i}", "category": ["pantry", "dairy", "produce"][i % 3]}
             for i, sku in enumerate(ids)]

    os.makedirs(OUT, exist_ok=True)
    onnx_path = os.path.join(OUT, "interest.onnx")
    export_onnx(build_encoder(), onnx_path)
    with open(onnx_path, "rb") as f:
        onnx_bytes = f.read()

    key = fixture_signing_key()
    public_hex = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()

    write_bundle(
        OUT,
        files={
            "interest.onnx": onnx_bytes,
            "items.safetensors": item_table_bytes(q, scale),
            "items.json": (json.dumps(items, indent=1) + "\n").encode(),
        },
        model_version="fixture-1",
        dims=D, seq_len=L, item_count=N,
        metrics={"note": "random weights: a test fixture, not a trained model"},
        training={"script": "models/training/make_fixture.py", "data": "none (random)", "config": CONFIG.to_dict()},
        encoder_config=CONFIG.to_dict(),
        signing_key=key,
        release=1,
    )

    sessions = {
        "empty": [],
        "one view": [3],
        "three events": [5, 17, 42],
        "full window": [1, 2, 3, 4, 5, 6, 7, 8],
        "longer than the window": [59, 58, 57, 10, 11, 12, 13, 14, 15, 16, 20],
        "repeats": [9, 9, 9, 30],
    }
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    cases = []
    for name, seq in sessions.items():
        window = seq[-L:]
        emb = np.zeros((1, L, D), dtype=np.float32)
        for slot, item in enumerate(window):
            emb[0, L - len(window) + slot] = rows[item]
        user = session.run(["user"], {"emb": emb})[0][0]
        kinds = ["view", "cart", "purchase"]
        events = [{"type": kinds[j % 3], "item": ids[item], "ts": T0 + 60_000 * j} for j, item in enumerate(seq)]
        top = [{"item": ids[i], "score": s} for i, s in int8_top_k(user, q, scale, K)]
        cases.append({"name": name, "events": events, "user": [float(v) for v in user], "top": top})

    expected = {
        "runtime": f"onnxruntime {ort.__version__}",
        "publicKey": public_hex,
        "k": K,
        "cases": cases,
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}: {len(cases)} cases, public key {public_hex}")


if __name__ == "__main__":
    main()
