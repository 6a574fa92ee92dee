"""Fits the demand model on the grocery bundle's households and adds it to the bundle as
`price.onnx` and its plain weights (`price.safetensors`), with its held-out figures in the manifest (`metrics.priceHead`):

- weeks 5-45 fit, weeks 46-49 stop the fitting early, weeks 50-53 are held out (read once);
- weighted log-loss, AUC and a calibration table on the held-out weeks, for the model and for the
  same model without the interest feature;
- the price elasticity of each department;
- with --simulator-out, the same model fitted on weeks 46-53 (a different split), which plays the
  shoppers in the policy simulation (`cargo run --profile native -p edgerec-evaluation --features onnx
  --example simulate_pricing`, in tools/evaluation).

    python3 models/training/price_head.py --bundle models/grocery --cache ~/.cache/edgerec/grocery/demand.parquet
"""
import argparse
import hashlib
import json
import os
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import torch

import grocery
from plain_weights import add_price_head
from price_data import examples
from provenance import commit, machine
from train_price import DemandModel, export_onnx, fit, tensors, weighted_log_loss

FIT_WEEKS, VALID_WEEKS, TEST_WEEKS = (5, 45), (46, 49), (50, 53)
SIMULATOR_WEEKS = (46, 53)  # the simulator's split: the weeks the shipped model never saw
SPLIT = {f"{name}Weeks": f"{first}-{last}" for name, (first, last) in
         (("fit", FIT_WEEKS), ("valid", VALID_WEEKS), ("test", TEST_WEEKS))}  # as the manifests record it


def weighted_auc(score: np.ndarray, label: np.ndarray, weight: np.ndarray) -> float:
    """P(a bought example outscores a not-bought one), examples weighted, ties counting half."""
    order = np.argsort(score, kind="stable")
    score, label, weight = score[order], label[order], weight[order]
    neg = np.where(label == 0, weight, 0.0)
    _, start, counts = np.unique(score, return_index=True, return_counts=True)
    neg_by_value = np.add.reduceat(neg, start)
    below = np.concatenate([[0.0], np.cumsum(neg_by_value)[:-1]])
    per_example_below = np.repeat(below + 0.5 * neg_by_value, counts)
    pos = np.where(label == 1, weight, 0.0)
    return float((pos * per_example_below).sum() / (pos.sum() * neg.sum()))


def calibration(prob: np.ndarray, label: np.ndarray, weight: np.ndarray, bins: int = 10) -> list[dict]:
    """Equal-weight bins of predicted probability: mean prediction against the observed rate."""
    order = np.argsort(prob, kind="stable")
    prob, label, weight = prob[order], label[order], weight[order]
    edges = np.searchsorted(np.cumsum(weight) / weight.sum(), np.linspace(0, 1, bins + 1)[1:-1])
    rows = []
    for p, y, w in zip(np.split(prob, edges), np.split(label, edges), np.split(weight, edges)):
        rows.append({"predicted": float((p * w).sum() / w.sum()), "observed": float((y * w).sum() / w.sum()),
                     "weightShare": float(w.sum() / weight.sum())})
    return rows


def held_out_figures(model: DemandModel, data: dict) -> dict:
    with torch.no_grad():
        prob = torch.sigmoid(model.logit(data)).numpy()
    label, weight = data["label"].numpy(), data["weight"].numpy()
    return {"logLoss": weighted_log_loss(model, data), "auc": weighted_auc(prob, label, weight),
            "calibration": calibration(prob, label, weight)}


def in_weeks(ex: pd.DataFrame, weeks: tuple[int, int]) -> pd.DataFrame:
    return ex[(ex.week >= weeks[0]) & (ex.week <= weeks[1])]


def cached_examples(bundle: str, cache: str, shop: grocery.Grocery, seq_len: int) -> pd.DataFrame:
    """The examples, cached beside the key of the bundle's encoder and item table."""
    digest = hashlib.sha256()
    for name in ("interest.onnx", "items.safetensors"):
        with open(os.path.join(bundle, name), "rb") as f:
            digest.update(f.read())
    path = f"{cache}.{digest.hexdigest()[:16]}"
    if os.path.exists(path):
        return pd.read_parquet(path)
    ex = examples(shop, bundle, seq_len)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    ex.to_parquet(path)
    return ex


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", required=True, help="the grocery bundle (its encoder gives the interest feature)")
    p.add_argument("--cache", required=True, help="where to keep the examples (outside the work tree)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--simulator-out", help="also fit the policy simulation's demand model (weeks 46-53) and write it here")
    a = p.parse_args()
    torch.set_num_threads(1)
    started, code = time.time(), commit()  # the code that runs, before the bundle changes

    with open(os.path.join(a.bundle, "manifest.json")) as f:
        manifest = json.load(f)
    run = manifest["training"]["run"]
    shop = grocery.load(run["items"], run["held_out_share"], run["seed"], run["horizon_days"])
    ex = cached_examples(a.bundle, a.cache, shop, manifest["seqLen"])
    fit_set, valid, test = (tensors(in_weeks(ex, w)) for w in (FIT_WEEKS, VALID_WEEKS, TEST_WEEKS))
    n_departments = int(ex.department.max()) + 1
    models = {name: fit(fit_set, valid, shop.n_items, n_departments, use_interest=name == "withInterest", seed=a.seed)
              for name in ("withInterest", "withoutInterest")}
    departments = sorted(set(shop.catalogue.departments))
    counts = in_weeks(ex, FIT_WEEKS).groupby("department").label.sum()
    figures = {
        "protocol": "P(a household buys the item in a week it shops); weeks 5-45 fit, 46-49 stop early, 50-53 held out; "
                    "not-bought examples drawn uniformly from the catalogue and weighted to stand for all of it",
        "heldOutExamples": int(len(test["label"])),
        **{name: held_out_figures(model, test) for name, model in models.items()},
        "elasticityByDepartment": {d: {"elasticity": float(e), "purchasesInFit": int(counts.get(i, 0))}
                                   for i, (d, e) in enumerate(zip(departments, models["withInterest"].elasticities()))},
        "featureWeights": dict(zip(["interest", "display", "mailer", "season_sin", "season_cos"],
                                   models["withInterest"].linear.weight.detach().numpy()[0].tolist())),
    }
    if a.simulator_out:
        weeks = tensors(in_weeks(ex, SIMULATOR_WEEKS))
        simulator = fit(weeks, weeks, shop.n_items, n_departments, use_interest=True, seed=a.seed + 1)
        export_onnx(simulator, a.simulator_out)
        figures["simulator"] = {"weeks": f"{SIMULATOR_WEEKS[0]}-{SIMULATOR_WEEKS[1]}",
                                "elasticityByDepartment": dict(zip(departments, simulator.elasticities().tolist()))}
    onnx_path = os.path.join(tempfile.mkdtemp(), "price.onnx")
    export_onnx(models["withInterest"], onnx_path)
    with open(onnx_path, "rb") as f:
        price_onnx = f.read()
    provenance = {
        "data": manifest["training"]["data"], "dataSha256": shop.sha256,
        "split": SPLIT,
        "command": " ".join(["python3", "models/training/price_head.py"] + sys.argv[1:]).replace(
            os.path.expanduser("~"), "~"),
        "commit": code, "hardware": machine(), "trainingSeconds": round(time.time() - started),
    }
    add_price_head(a.bundle, price_onnx, figures, provenance)
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
