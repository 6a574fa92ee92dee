"""Evaluates a bundle the way the engine does, in Python: onnxruntime runs `interest.onnx` on the
dequantised item rows, the user vector is quantised to int8 and scored in integers against the
int8 table (or in f32 against a float table), the repeat term is added where the bundle has one,
ties rank by item index. The Rust evaluator (tools/evaluation:
`cargo run --profile native -p edgerec-evaluation --example evaluate -- …`) must agree with it
within 0.002.

    python3 models/training/evaluate_bundle.py --bundle models/beauty --data ../shared/data/amazon-beauty.txt
"""
import argparse
import json
import os

import numpy as np
import onnxruntime as ort
import torch
from safetensors.numpy import load_file

from data import Data, read
from metrics import full_ranks, sampled_ranks, summarize


def load_table(bundle: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(int8 values and f32 scales) or (f32 values, None)."""
    tensors = load_file(os.path.join(bundle, "items.safetensors"))
    emb = tensors["embedding"]
    if emb.dtype == np.int8:
        return emb, tensors["scale"].astype(np.float32)
    return emb.astype(np.float32), None


SESSION_HISTORY = 1000  # events a session holds: the encoder reads the newest L, the repeat term all


def load_repeat(bundle: str) -> tuple[np.ndarray, float] | None:
    """The optional repeat term: per-item weights (`repeat` f32 [n]) and the decay
    (`repeat_decay` f32 [1], default 1)."""
    tensors = load_file(os.path.join(bundle, "items.safetensors"))
    if "repeat" not in tensors:
        return None
    return tensors["repeat"], float(tensors.get("repeat_decay", np.ones(1, np.float32))[0])


def decay_weights(n: int, decay: float) -> np.ndarray:
    """What each of n events in time order counts in the repeat term: decay^(events after it)."""
    return np.power(np.float32(decay), np.arange(n - 1, -1, -1, dtype=np.float32))


def repeat_boosts(term: tuple[np.ndarray, float] | None, windows: list[list[int]], n_items: int) -> np.ndarray | None:
    """The repeat term [B, N] in score units, as the engine adds it: w_i · ln(1 + decayed count of
    i among the last SESSION_HISTORY items of the window) in f32; None when the bundle has none."""
    if term is None:
        return None
    weights, decay = term
    counts = np.zeros((len(windows), n_items), dtype=np.float32)
    for b, window in enumerate(windows):
        held = window[-SESSION_HISTORY:]
        np.add.at(counts[b], held, decay_weights(len(held), decay))
    return (weights[None, :] * np.log1p(counts)).astype(np.float32)


def user_vectors(bundle: str, rows: np.ndarray, inputs: list[list[int]], seq_len: int, batch: int = 512) -> np.ndarray:
    session = ort.InferenceSession(os.path.join(bundle, "interest.onnx"), providers=["CPUExecutionProvider"])
    d = rows.shape[1]
    out = np.empty((len(inputs), d), dtype=np.float32)
    for start in range(0, len(inputs), batch):
        chunk = inputs[start:start + batch]
        emb = np.zeros((len(chunk), seq_len, d), dtype=np.float32)
        for i, seq in enumerate(chunk):
            tail = seq[-seq_len:]
            if tail:
                emb[i, seq_len - len(tail):] = rows[tail]
        out[start:start + len(chunk)] = session.run(["user"], {"emb": emb})[0]
    return out


def ranking_keys(users: np.ndarray, values: np.ndarray, scales: np.ndarray | None,
                 boosts: np.ndarray | None = None) -> torch.Tensor:
    """The engine's ranking keys [B, N]: f32(Σ q_u·q_i) · scale_i for int8 tables, else f32 dots;
    plus the repeat term (score units) divided by the user's scale."""
    if scales is None:
        return torch.from_numpy(users @ values.T + (0 if boosts is None else boosts))
    m = np.abs(users).max(axis=1)
    u_scale = np.where(m > 0, m / np.float32(127.0), np.float32(1.0)).astype(np.float32)
    q_u = np.clip(np.rint(users / u_scale[:, None]), -127, 127)
    acc = q_u.astype(np.float64) @ values.astype(np.float64).T  # exact: integers far below 2^53
    keys = acc.astype(np.float32) * scales[None, :]
    if boosts is not None:
        keys = keys + (boosts / u_scale[:, None]).astype(np.float32)
    return torch.from_numpy(keys)


def evaluate(bundle: str, data: Data, stage: str = "test", protocol: str = "full", seen: str = "zero",
             negatives: dict[str, list[str]] | None = None, users: int | None = None) -> dict:
    """Metrics of the bundle on `data` under a protocol, as the Rust evaluator computes them."""
    with open(os.path.join(bundle, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(bundle, "items.json")) as f:
        row_of = {item["id"]: r for r, item in enumerate(json.load(f))}
    values, scales = load_table(bundle)
    rows = values.astype(np.float32) * (scales[:, None] if scales is not None else 1.0)
    data_row = np.array([row_of[i] for i in data.items])  # data item row -> bundle row
    eligible = [u for u, s in enumerate(data.sequences) if len(s) >= 3]
    if negatives is not None:
        chosen = [u for u in eligible if data.users[u] in negatives]
    elif users is not None:
        everyone = list(range(len(data.sequences)))
        n = min(users, len(everyone))
        chosen = [u for u in (everyone[i * len(everyone) // n] for i in range(n)) if len(data.sequences[u]) >= 3]
    else:
        chosen = eligible
    cut = 1 if stage == "test" else 2
    histories = [[int(data_row[i]) for i in data.sequences[u][:-cut]] for u in chosen]
    targets = np.array([data_row[data.sequences[u][-cut]] for u in chosen])
    seq_len = manifest["seqLen"]
    vectors = user_vectors(bundle, rows, histories, seq_len)
    weights = load_repeat(bundle)
    ranks = []
    for start in range(0, len(chosen), 2048):
        boosts = repeat_boosts(weights, histories[start:start + 2048], len(rows))
        keys = ranking_keys(vectors[start:start + 2048], values, scales, boosts)
        t = targets[start:start + 2048]
        if protocol == "full":
            ranks.append(full_ranks(keys, t, histories[start:start + 2048], seen))
        else:
            neg = np.array([[row_of[i] for i in negatives[data.users[u]]] for u in chosen[start:start + 2048]])
            ranks.append(sampled_ranks(keys, t, neg))
    return {"users": len(chosen), **summarize(np.concatenate(ranks))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--stage", default="test", choices=["test", "valid"])
    p.add_argument("--protocol", default="full", choices=["full", "sampled100"])
    p.add_argument("--seen", default="zero", choices=["zero", "remove"])
    p.add_argument("--negatives")
    p.add_argument("--users", type=int)
    a = p.parse_args()
    negatives = None
    if a.protocol == "sampled100":
        with open(a.negatives) as f:
            negatives = json.load(f)["negatives"]
    print(json.dumps(evaluate(a.bundle, read(a.data), a.stage, a.protocol, a.seen, negatives, a.users), indent=1))


if __name__ == "__main__":
    main()
