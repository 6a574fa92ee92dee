"""Next-purchase evaluation on held-out weeks of The Complete Journey, as the engine computes it:
per household, the bundle ranks every item from the events before the stage's first week (the
encoder reads the last L, the repeat term the last 1,000, as an engine's session holds them),
and Recall@10 / NDCG@10 count the items bought in the stage's weeks (repeat purchases included).
Beside it, the two baselines a grocer would otherwise use:

- popularity: items ranked by how often all households bought them before the stage;
- buy it again: the household's own items by how often it bought them before the stage (its whole
  history, not just the last L events), the rest by popularity.
"""
import json
import os

import numpy as np
import torch

from evaluate_bundle import load_repeat, load_table, ranking_keys, repeat_boosts, user_vectors
from grocery import Stage
from metrics import set_metrics, top_k


def popularity(stage: Stage, n_items: int) -> np.ndarray:
    counts = np.zeros(n_items)
    for seq in stage.inputs:
        np.add.at(counts, seq, 1)
    return counts


def baseline_scores(stage: Stage, n_items: int) -> dict[str, torch.Tensor]:
    """Score matrices [households, items] of both baselines."""
    pop = popularity(stage, n_items)
    again = np.zeros((len(stage.inputs), n_items))
    for i, seq in enumerate(stage.inputs):
        np.add.at(again[i], seq, 1)
    return {"popularity": torch.from_numpy(np.tile(pop, (len(stage.inputs), 1))),
            "buyItAgain": torch.from_numpy(again + pop / (pop.max() + 1))}


def bundle_scores(bundle: str, stage: Stage) -> torch.Tensor:
    """The engine's ranking keys for every household of the stage."""
    with open(os.path.join(bundle, "manifest.json")) as f:
        seq_len = json.load(f)["seqLen"]
    values, scales = load_table(bundle)
    rows = values.astype(np.float32) * (scales[:, None] if scales is not None else 1.0)
    boosts = repeat_boosts(load_repeat(bundle), stage.inputs, len(rows))
    return ranking_keys(user_vectors(bundle, rows, stage.inputs, seq_len), values, scales, boosts)


def new_item_recall(scores: torch.Tensor, stage: Stage, held_out: np.ndarray, k: int) -> dict:
    """Of the items held out of training that households bought in the stage, the share ranked in
    their top k."""
    order = top_k(scores, k)
    hits = total = 0
    for row, target in zip(order, stage.targets):
        new = target[held_out[target]]
        hits += int(np.isin(new, row).sum())
        total += len(new)
    return {f"newItemRecall@{k}": hits / max(total, 1), "newItemTargets": total}


def evaluate(bundle: str, stage: Stage, n_items: int) -> dict:
    """The bundle and both baselines on a stage."""
    out = {"households": len(stage.households), "model": set_metrics(bundle_scores(bundle, stage), stage.targets)}
    for name, scores in baseline_scores(stage, n_items).items():
        out[name] = set_metrics(scores, stage.targets)
    return out
