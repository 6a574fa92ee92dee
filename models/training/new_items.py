"""Places items the model never saw in training from their attributes, and measures how well a
shopper finds them.

An item added after training has no row of its own. Its row is placed from the trained items most
like it: the K trained items sharing the most of its attribute words (item_words: department,
category, the words of its name and category; ties go to the items listed earlier, the more bought
in the grocery catalogue), and then, for a sample of shoppers' vectors u, the row r whose score u·r
is as near as one row allows (least squares) to ln mean_j exp(u·r_j) over those neighbours: for
each shopper, the new item is about as likely as its neighbours are on average. The shoppers'
vectors are the shop's own, encoded from its training data on the server; only the row ships.

The measure (export_grocery.py's): the stage's purchases of items held out of training by
households that had not bought them before, ranked in the household's list of the items it has not
bought; recall@10, recall@50 and the median rank. K is chosen on the validation weeks (recall@50);
the test weeks are read once. Beside it:

- the rows as trained (the content path: the embedded attribute words alone),
- zero rows (no content),
- popularity within the category: every other item by how many times all households bought it
  before the stage, a new item by the mean count of its category's trained items,
- popularity of the neighbours: a new item by the mean count of the same K trained items.

    python3 models/training/new_items.py --bundle models/grocery --json ~/.cache/edgerec/new-items.json
"""
import argparse
import json
import os
import re

import numpy as np
import torch

import grocery
from evaluate_bundle import load_table, user_vectors
from evaluate_grocery import new_item_recall, popularity

NEIGHBOURS = (3, 5, 10, 20)  # K, chosen on the validation weeks
RECALL_AT = (10, 50)


def item_words(item: dict) -> list[str]:
    """An item's attributes as words, from its record in the bundle's items.json: its department,
    its category whole and word by word, the words of its name (grocery names hold the product
    type, package size and brand kind), and any `attributes` the record lists."""
    words = {f"dept:{item['department']}", f"cat:{item['category'].lower()}"}
    words |= {f"w:{w}" for w in re.findall(r"[a-z0-9]+", item["category"].lower())}
    words |= {f"n:{w}" for w in re.findall(r"[a-z0-9]+", item["name"].lower())}
    words |= {f"a:{a.lower()}" for a in item.get("attributes", [])}
    return sorted(words)


def neighbours(new_words: list[list[str]], trained_words: list[list[str]], k: int) -> np.ndarray:
    """Per new item, the indices [n, k] of the k trained items sharing the most words with it;
    among equally close ones, the earlier (the catalogue lists the most bought first)."""
    vocab = {w: i for i, w in enumerate(sorted({w for ws in trained_words for w in ws}))}

    def onehot(words: list[list[str]]) -> np.ndarray:
        x = np.zeros((len(words), len(vocab)), dtype=np.float32)
        for i, ws in enumerate(words):
            x[i, [vocab[w] for w in ws if w in vocab]] = 1.0
        return x

    shared = onehot(new_words) @ onehot(trained_words).T
    return np.argsort(-shared, axis=1, kind="stable")[:, :k]


def place_rows(trained_rows: np.ndarray, users: np.ndarray, near: np.ndarray) -> np.ndarray:
    """Rows [n, d] for new items from their trained neighbours `near` [n, k]: per item, the least
    squares fit over the shoppers' vectors `users` [U, d] of ln mean_j exp(u·r_j)."""
    users = users.astype(np.float64)
    columns, at = np.unique(near, return_inverse=True)  # only the neighbours are scored
    scores = users @ trained_rows[columns].T.astype(np.float64)  # [U, distinct neighbours]
    targets = np.empty((len(users), len(near)))
    for i, nb in enumerate(at.reshape(near.shape)):
        s = scores[:, nb]
        top = s.max(axis=1)
        targets[:, i] = top + np.log(np.exp(s - top[:, None]).mean(axis=1))
    return np.linalg.lstsq(users, targets, rcond=None)[0].T.astype(np.float32)


def row_scores(bundle: str, rows: np.ndarray, stage: grocery.Stage, seq_len: int) -> torch.Tensor:
    """Scores [B, N] of every item for the stage's households with this item table (the users
    encoded with it too: a household may have bought a held-out item before)."""
    users = user_vectors(bundle, rows, stage.inputs, seq_len)
    return torch.from_numpy(users @ rows.T)


def measure(scores: torch.Tensor, stage: grocery.Stage, held_out: np.ndarray) -> dict:
    """The new-item figures (recall@10, recall@50, median rank) of a score matrix on the stage."""
    out: dict = {}
    for k in RECALL_AT:
        out.update(new_item_recall(scores, stage, held_out, k))
    return out


def popularity_placed(stage: grocery.Stage, held_out: np.ndarray, groups: list[np.ndarray]) -> torch.Tensor:
    """Popularity before the stage, each held-out item's replaced by the mean over its group of
    trained items (`groups`: indices among the trained items, one array per held-out item)."""
    pop = popularity(stage, len(held_out)).astype(np.float64)
    trained_pop = pop[~held_out]
    pop[held_out] = [trained_pop[g].mean() for g in groups]
    return torch.from_numpy(np.tile(pop, (len(stage.inputs), 1)))


def category_groups(cat: grocery.Catalogue) -> list[np.ndarray]:
    """Per held-out item, the indices among the trained items of those of its category (of its
    department where the category has no trained item)."""
    trained = ~cat.held_out
    categories, departments = np.asarray(cat.categories), np.asarray(cat.departments)
    groups = []
    for c, d in zip(categories[cat.held_out], departments[cat.held_out]):
        same = np.flatnonzero(categories[trained] == c)
        groups.append(same if len(same) else np.flatnonzero(departments[trained] == d))
    return groups


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", default="models/grocery")
    p.add_argument("--json", help="also write the figures here")
    a = p.parse_args()

    with open(os.path.join(a.bundle, "manifest.json")) as f:
        manifest = json.load(f)
    run, seq_len = manifest["training"]["run"], manifest["seqLen"]
    shop = grocery.load(run["items"], run["held_out_share"], run["seed"], run["horizon_days"])
    cat, held_out = shop.catalogue, shop.catalogue.held_out
    values, scales = load_table(a.bundle)
    rows = values.astype(np.float32) * (scales[:, None] if scales is not None else np.float32(1.0))
    with open(os.path.join(a.bundle, "items.json")) as f:
        words = [item_words(item) for item in json.load(f)]
    new_words = [w for w, h in zip(words, held_out) if h]
    trained_words = [w for w, h in zip(words, held_out) if not h]
    # The shoppers' vectors the rows are fitted to: the validation households', from their
    # purchases before the validation weeks (the training weeks).
    users = user_vectors(a.bundle, rows, shop.valid.inputs, seq_len)
    in_category = category_groups(cat)

    def placed(new_rows: np.ndarray) -> np.ndarray:
        out = rows.copy()
        out[held_out] = new_rows
        return out

    def figures(stage: grocery.Stage, ks) -> dict:
        out = {"asTrained": measure(row_scores(a.bundle, rows, stage, seq_len), stage, held_out),
               "zero": measure(row_scores(a.bundle, placed(0.0 * rows[held_out]), stage, seq_len), stage, held_out),
               "categoryPopularity": measure(popularity_placed(stage, held_out, in_category), stage, held_out)}
        for k in ks:
            near = neighbours(new_words, trained_words, k)
            table = placed(place_rows(rows[~held_out], users, near))
            out[f"neighbours{k}"] = measure(row_scores(a.bundle, table, stage, seq_len), stage, held_out)
            out[f"neighbourPopularity{k}"] = measure(popularity_placed(stage, held_out, list(near)), stage, held_out)
        return out

    valid = figures(shop.valid, NEIGHBOURS)
    best = max(NEIGHBOURS, key=lambda k: valid[f"neighbours{k}"]["newItemRecall@50"])
    result = {"bundle": manifest["modelVersion"], "neighbours": best, "heldOutItems": int(held_out.sum()),
              "fittedUsers": len(users), "validWeeks": valid, "testWeeks": figures(shop.test, (best,))}
    print(json.dumps(result, indent=1))
    if a.json:
        with open(os.path.expanduser(a.json), "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
