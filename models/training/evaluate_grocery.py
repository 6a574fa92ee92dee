"""Next-purchase evaluation on held-out weeks of The Complete Journey, as the engine computes it:
per household, the bundle ranks every item from the events before the stage's first week (the
encoder reads the last L, the repeat term the last 1,000, as an engine's session holds them),
and Recall@10 / NDCG@10 count the items bought in the stage's weeks (repeat purchases included).
Beside it, the two baselines a grocer would otherwise use:

- popularity: items ranked by how often all households bought them before the stage;
- buy it again: the household's own items by how often it bought them before the stage (its whole
  history, not just the last L events), the rest by popularity;
- buy it again, recent first: the same with each purchase counting decay^(purchases after it), the
  decay chosen on the validation weeks.

Beside every item bought, the items new to the household (what a shopper notices a recommender
for). `python3 models/training/evaluate_grocery.py --bundle models/grocery` prints both stages.
"""
import argparse
import json
import os

import numpy as np
import torch

import grocery
from evaluate_bundle import decay_weights, load_repeat, load_table, ranking_keys, repeat_boosts, user_vectors
from grocery import Stage
from metrics import set_metrics


def popularity(stage: Stage, n_items: int) -> np.ndarray:
    counts = np.zeros(n_items)
    for seq in stage.inputs:
        np.add.at(counts, seq, 1)
    return counts


DECAYS = (1.0, 0.998, 0.995, 0.99, 0.98)  # the grid every repeat decay is chosen from, on validation


def buy_it_again(stage: Stage, n_items: int, decay: float = 1.0) -> torch.Tensor:
    """The household's own items by their (decayed) purchase counts, the rest by popularity."""
    pop = popularity(stage, n_items)
    again = np.zeros((len(stage.inputs), n_items))
    for i, seq in enumerate(stage.inputs):
        np.add.at(again[i], seq, decay_weights(len(seq), decay))
    return torch.from_numpy(again + pop / (pop.max() + 1))


def recent_decay(valid: Stage, n_items: int) -> float:
    """The decay of the recent-first baseline that is best on validation NDCG@10."""
    return max(DECAYS, key=lambda d: set_metrics(buy_it_again(valid, n_items, d), valid.targets)["NDCG@10"])


def baseline_scores(stage: Stage, n_items: int, decay: float) -> dict[str, torch.Tensor]:
    """Score matrices [households, items] of the baselines (`decay`: the recent-first one's)."""
    pop = popularity(stage, n_items)
    return {"popularity": torch.from_numpy(np.tile(pop, (len(stage.inputs), 1))),
            "buyItAgain": buy_it_again(stage, n_items),
            "buyItAgainRecentFirst": buy_it_again(stage, n_items, decay)}


def bundle_scores(bundle: str, stage: Stage) -> torch.Tensor:
    """The engine's ranking keys for every household of the stage."""
    return bundle_scorer(bundle, stage)(load_repeat(bundle))


def bundle_scorer(bundle: str, stage: Stage):
    """A function from a repeat term (weights, decay) to the bundle's ranking keys on the stage:
    the encoder runs once."""
    with open(os.path.join(bundle, "manifest.json")) as f:
        seq_len = json.load(f)["seqLen"]
    values, scales = load_table(bundle)
    rows = values.astype(np.float32) * (scales[:, None] if scales is not None else 1.0)
    users = user_vectors(bundle, rows, stage.inputs, seq_len)
    return lambda repeat: ranking_keys(users, values, scales, repeat_boosts(repeat, stage.inputs, len(rows)))


def new_item_recall(scores: torch.Tensor, stage: Stage, held_out: np.ndarray, k: int) -> dict:
    """Purchases in the stage of items held out of training that are new to the household (not
    among its earlier purchases): the share ranked in the household's top k of the items it has
    not bought before (a "new for you" list, where only the content path can place them), and
    their median rank in that list."""
    scores = scores.clone()
    hits = total = 0
    ranks = []
    for row, target, earlier in zip(scores, stage.targets, stage.inputs):
        row[np.unique(earlier)] = -torch.inf
        new = target[held_out[target] & ~np.isin(target, earlier)]
        if len(new) == 0:
            continue
        rank = (row[None, :] > row[torch.from_numpy(new)][:, None]).sum(dim=1)
        ranks.extend(rank.tolist())
        hits += int((rank < k).sum())
        total += len(new)
    return {f"newItemRecall@{k}": hits / max(total, 1), "newItemTargets": total,
            "newItemMedianRank": float(np.median(ranks)) if ranks else None}


def new_to_household(scores: torch.Tensor, stage: Stage) -> dict:
    """Recall@10 and NDCG@10 of what a household buys for the first time: per household that buys
    any, the stage's items it had never bought, ranked among the items it had not bought."""
    scores = scores.clone()
    rows, targets = [], []
    for i, (earlier, target) in enumerate(zip(stage.inputs, stage.targets)):
        first_time = target[~np.isin(target, earlier)]
        if len(first_time):
            scores[i, np.unique(earlier)] = -torch.inf
            rows.append(i)
            targets.append(first_time)
    return {"households": len(rows), **set_metrics(scores[rows], targets)}


def evaluate(bundle: str, stage: Stage, n_items: int, decay: float) -> dict:
    """The bundle and the baselines on a stage (`decay`: the recent-first baseline's), on every
    item bought and on the items new to the household (where buy-it-again falls back to
    popularity, so popularity is the baseline)."""
    model = bundle_scores(bundle, stage)
    baselines = baseline_scores(stage, n_items, decay)
    out = {"households": len(stage.households), "model": set_metrics(model, stage.targets)}
    for name, scores in baselines.items():
        out[name] = set_metrics(scores, stage.targets)
    out["newToHousehold"] = {"model": new_to_household(model, stage),
                             "popularity": new_to_household(baselines["popularity"], stage)}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description="A grocery bundle and the baselines on the validation and test weeks.")
    p.add_argument("--bundle", default="models/grocery")
    a = p.parse_args()
    with open(os.path.join(a.bundle, "manifest.json")) as f:
        run = json.load(f)["training"]["run"]
    shop = grocery.load(run["items"], run["held_out_share"], run["seed"], run["horizon_days"])
    decay = recent_decay(shop.valid, shop.n_items)
    print(json.dumps({"recentFirstDecay": decay, "validWeeks": evaluate(a.bundle, shop.valid, shop.n_items, decay),
                      "testWeeks": evaluate(a.bundle, shop.test, shop.n_items, decay)}, indent=1))


if __name__ == "__main__":
    main()
