"""Ranking metrics under the protocols of ../shared/data/README.md, with the engine's tie rule
(equal scores rank by item index), so that the Python and Rust evaluators agree.

- `full`: the target against every item; items seen before the target are either removed from the
  ranking (`remove`; the target itself is never removed) or given score 0 (`zero`, as the published
  evaluations do: a repeated target then scores 0 too).
- `sampled100`: the target against 100 fixed negatives the user never interacted with.
"""
from typing import Callable

import numpy as np
import torch

CUTOFFS = (5, 10, 20)


def full_ranks(scores: torch.Tensor, targets: np.ndarray, seen: list[list[int]], policy: str) -> np.ndarray:
    """0-based rank of each target among all items. `scores` [B, N] float."""
    scores = scores.clone()
    b = scores.shape[0]
    rows = torch.tensor([i for i, s in enumerate(seen) for _ in s], dtype=torch.long)
    cols = torch.tensor([item for s in seen for item in s], dtype=torch.long)
    tgt = torch.as_tensor(targets, dtype=torch.long)
    if policy == "zero":
        scores[rows, cols] = 0.0
        target_score = scores[torch.arange(b), tgt].clone()
        candidates = scores
    elif policy == "remove":
        target_score = scores[torch.arange(b), tgt].clone()
        scores[rows, cols] = float("-inf")
        scores[torch.arange(b), tgt] = target_score
        candidates = scores
    else:
        raise ValueError(f"unknown seen-item policy {policy!r}")
    index = torch.arange(scores.shape[1])[None, :]
    above = (candidates > target_score[:, None]).sum(1)
    tied_before = ((candidates == target_score[:, None]) & (index < tgt[:, None])).sum(1)
    return (above + tied_before).numpy()


def full_ranks_chunked(score: Callable[[list[list[int]]], torch.Tensor], inputs: list[list[int]],
                       targets: np.ndarray, policy: str, chunk: int = 4096) -> np.ndarray:
    """`full_ranks` for users' inputs scored by `score` [B, N], a chunk of users at a time, so that
    memory stays bounded however many users and items there are."""
    return np.concatenate([full_ranks(score(inputs[i:i + chunk]), np.asarray(targets[i:i + chunk]),
                                      inputs[i:i + chunk], policy) for i in range(0, len(inputs), chunk)])


def sampled_ranks(scores: torch.Tensor, targets: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """0-based rank of each target among itself and its negatives [B, 100]."""
    tgt = torch.as_tensor(targets, dtype=torch.long)
    neg = torch.as_tensor(negatives, dtype=torch.long)
    target_score = scores[torch.arange(len(tgt)), tgt]
    neg_score = torch.gather(scores, 1, neg)
    above = (neg_score > target_score[:, None]).sum(1)
    tied_before = ((neg_score == target_score[:, None]) & (neg < tgt[:, None])).sum(1)
    return (above + tied_before).numpy()


def summarize(ranks: np.ndarray) -> dict:
    """HR@K and NDCG@K for K in 5, 10, 20."""
    out = {}
    for k in CUTOFFS:
        hit = ranks < k
        out[f"HR@{k}"] = float(hit.mean())
        out[f"NDCG@{k}"] = float(np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0).mean())
    return out


def set_metrics(scores: torch.Tensor, targets: list[np.ndarray], k: int = 10) -> dict:
    """Next-basket metrics, repeat purchases included: per user, Recall@k = hits / |targets| and
    NDCG@k with the ideal ranking of min(k, |targets|) hits; ties rank by item index."""
    order = top_k(scores, k)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    recall, ndcg = [], []
    for row, target in zip(order, targets):
        hit = np.isin(row, target)
        recall.append(hit.sum() / len(target))
        ndcg.append((hit * discount).sum() / discount[:min(k, len(target))].sum())
    return {f"Recall@{k}": float(np.mean(recall)), f"NDCG@{k}": float(np.mean(ndcg))}


def top_k(scores: torch.Tensor, k: int) -> np.ndarray:
    """Item indices of the k best scores per row, best first; equal scores by item index."""
    scores = scores.numpy() if isinstance(scores, torch.Tensor) else scores
    order = np.lexsort((np.broadcast_to(np.arange(scores.shape[1]), scores.shape), -scores), axis=1)
    return order[:, :k]
