"""Random-weight encoders of every shape the plain-weights form allows, for the conformance test
(`tests/plain_conformance.rs`): widths 16 to 256, 1 to 4 blocks, 1 to 4 heads, GELU and ReLU, with
and without the low-pass branch (an odd window, and an even one keeping its Nyquist frequency), and
the streaming form (`reach`; the fixture's width, for the session tests, and the grocery variant's).
Each goes to `tests/conformance/<name>/`: `interest.onnx` (the export), `encoder.safetensors` and
`spec.json` (the plain form and its manifest entries, from plain_weights.py), and `expected.json`:
windows partly and fully filled, with onnxruntime's user vector for each.

    python3 models/training/make_conformance.py
"""
import json
import os
import tempfile

import numpy as np
import onnxruntime as ort
import torch

from plain_weights import encoder_form
from sasrec import EncoderConfig, SASRec, export_onnx

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "conformance")
SHAPES = {
    "w16-b4-h4-lowpass-nyquist": dict(d=16, seq_len=8, blocks=4, heads=4, ffn_mult=2, filter_c=8),
    "w32-b3-h2-relu": dict(d=32, seq_len=20, blocks=3, heads=2, ffn_mult=4, activation="relu"),
    "w48-b2-h3-lowpass-odd": dict(d=48, seq_len=9, blocks=2, heads=3, ffn_mult=2, filter_c=5, alpha=0.4),
    "w64-b2-h1-lowpass": dict(d=64, seq_len=50, blocks=2, heads=1, ffn_mult=4, filter_c=5),
    "w128-b1-h4-lowpass-relu": dict(d=128, seq_len=16, blocks=1, heads=4, ffn_mult=1, filter_c=7,
                                    activation="relu"),
    "w256-b1-h2": dict(d=256, seq_len=10, blocks=1, heads=2, ffn_mult=1),
    "w16-b2-h2-reach4": dict(d=16, seq_len=7, blocks=2, heads=2, ffn_mult=2, reach=4),
    "w64-b2-h1-reach25": dict(d=64, seq_len=49, blocks=2, heads=1, ffn_mult=4, reach=25),
}


def encoder(shape: dict, seed: int) -> SASRec:
    """A random encoder, its weights larger than training's init so that outputs differ clearly."""
    torch.manual_seed(seed)
    model = SASRec(EncoderConfig(dropout=0.0, attn_dropout=0.0, **shape))
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.normal_(0, 0.3 if p.dim() > 1 or name.endswith("pos") else 0.5)
            if name.endswith("ln_att.weight") or name.endswith("ln_ffn.weight") or name.endswith("ln_in.weight"):
                p.add_(1.0)
    return model.eval()


def main() -> None:
    for seed, (name, shape) in enumerate(SHAPES.items()):
        model = encoder(shape, seed)
        config = model.cfg.to_dict()
        path = os.path.join(tempfile.mkdtemp(), "interest.onnx")
        export_onnx(model, path)
        with open(path, "rb") as f:
            onnx_bytes = f.read()
        weights, entry = encoder_form(onnx_bytes, config)
        session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
        rng = np.random.default_rng(seed)
        l, d = config["seq_len"], config["d"]
        cases = []
        for filled in sorted({0, 1, 2, l // 2, l - 1, l}):
            emb = np.zeros((1, l, d), dtype=np.float32)
            emb[0, l - filled:] = rng.normal(0, 1.0, size=(filled, d))
            user = session.run(["user"], {"emb": emb})[0][0]
            cases.append({"filled": filled, "emb": emb.ravel().tolist(), "user": user.tolist()})
        out = os.path.join(OUT, name)
        os.makedirs(out, exist_ok=True)
        for file, data in [("interest.onnx", onnx_bytes), ("encoder.safetensors", weights)]:
            with open(os.path.join(out, file), "wb") as f:
                f.write(data)
        with open(os.path.join(out, "spec.json"), "w") as f:
            json.dump({"dims": d, "seqLen": l, "encoder": entry, "config": config}, f, indent=1)
        with open(os.path.join(out, "expected.json"), "w") as f:
            json.dump(cases, f)
        print(f"{name}: {len(cases)} windows")


if __name__ == "__main__":
    main()
