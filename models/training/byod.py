r"""Bring your own data: a shop's interactions and catalogue (two CSV files, docs/byod.md) to a
signed bundle and a report, in one command:

1. check both files (byod_format.py): every problem named by file, line and column, before
   anything is trained;
2. train the grocery model on them (train_grocery.fit: the content path places items with no
   history by their name, category and attributes; the repeat term lets shoppers buy again);
3. evaluate it on the last weeks (--test-weeks), which training never sees, against popularity and
   buy-it-again (HR@10, NDCG@10, Recall@10; the repeat term and every other choice made on the
   --valid-weeks before them);
4. export the bundle (export_grocery.build), add the costs and the price head (price.onnx and its plain weights);
5. sign manifest.json with an ed25519 key kept outside the bundle (--new-key makes one);
6. write report.md and report.json beside the bundle, and print the total time.

    python3 models/training/byod.py --interactions events.csv --catalogue catalogue.csv \
        --out ~/shop-bundles/2026-12 --key ~/.config/edgerec/shop.key --new-key --threads 1

OUT gets `bundle/` (what the shop serves: manifest.json, manifest.sig, interest.onnx,
items.safetensors, items.json, price.onnx, and the plain weights encoder.safetensors and price.safetensors), `report.md`, `report.json` and `public-key.txt`; the
public key is also written beside the key (KEY.pub). Training checkpoints go to --work
(default ~/.cache/edgerec/byod/<digest of the data and settings>): the same command run again
resumes, or reuses a finished training.
"""
import argparse
import hashlib
import json
import math
import os
import re
import sys
import tempfile
import time
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import torch
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from safetensors.numpy import load_file, save as save_safetensors

import byod_format
import byod_report
import export_grocery
import grocery
import train_grocery
from bundle_writer import add_to_bundle, load_signing_key
from plain_weights import add_price_head
from evaluate_grocery import baseline_scores, bundle_scores, recent_decay
from export import command_line, provenance
from metrics import set_metrics, top_k
from price_data import FEATURES, interest_scores, labelled_rows
from price_head import held_out_figures, in_weeks
from train import add_encoder_arguments, add_run_arguments, resolve_window
from train_price import export_onnx as export_price_onnx, fit as fit_price, tensors

WEEK = 7 * byod_format.DAY
BUNDLE_FILES = {"manifest.json", "manifest.sig", "encoder.safetensors", "interest.onnx", "items.safetensors",
                "items.json", "price.safetensors", "price.onnx"}
SKIP_IN_DIGEST = {"interactions", "catalogue", "out", "key", "new_key", "model_version", "work", "threads",
                  "max_minutes"}  # arguments that do not change what is trained


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--interactions", required=True, help="CSV: shopper, item, type, timestamp [, price]")
    p.add_argument("--catalogue", required=True, help="CSV: id, name, category, list_price, cost, low_30d "
                                                       "[, department, attributes]")
    p.add_argument("--out", required=True, help="folder for bundle/, report.md, report.json, public-key.txt")
    p.add_argument("--key", required=True, help="the ed25519 private key (PEM) that signs the manifest; never "
                                                "written into the bundle")
    p.add_argument("--new-key", action="store_true", help="make the key first (refused if --key exists)")
    p.add_argument("--model-version", help="the bundle's version (default: shop-<date>-<data digest>)")
    p.add_argument("--work", help="checkpoint folder (default ~/.cache/edgerec/byod/<digest>)")
    p.add_argument("--test-weeks", type=int, default=4, help="the last weeks, held out for the report's figures")
    p.add_argument("--valid-weeks", type=int, default=4, help="the weeks before them, for every choice")
    p.add_argument("--eval-shoppers", type=int, default=5000,
                   help="evaluate on at most this many shoppers per stage (a fixed random sample)")
    p.add_argument("--horizon-days", type=float, default=28, help="how far ahead a training position's targets reach")
    add_encoder_arguments(p, dropout=0.3)
    p.add_argument("--id-dropout", type=float, default=0.2)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--repeat-lr", type=float, help="learning rate of the repeat weights (default: --lr)")
    p.add_argument("--repeat-decay", type=float, default=0.995)
    p.add_argument("--batch", type=int, default=64, help="windows per batch")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--patience", type=int, default=2)
    add_run_arguments(p)
    return resolve_window(p.parse_args(argv))


def public_hex(key: Ed25519PrivateKey) -> str:
    """The public key as the engine's `publicKey` takes it: 64 hex digits."""
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def check_key_path(path: str, new: bool, bundle: str) -> None:
    """Refuses a key inside the bundle folder, a missing key without --new-key and an existing
    one with it, before any work is done."""
    key, folder = os.path.realpath(path), os.path.realpath(bundle)
    if key == folder or key.startswith(folder + os.sep):
        raise SystemExit(f"--key {path}: the private key must not live in the bundle folder {bundle}")
    if new and os.path.exists(path):
        raise SystemExit(f"--key {path} exists: drop --new-key to sign with it, or name a new file")
    if not new and not os.path.isfile(path):
        raise SystemExit(f"--key {path}: no such file (add --new-key to make one)")


def signing_key(path: str, new: bool) -> Ed25519PrivateKey:
    """Loads the PEM key, or makes one (--new-key): written with mode 0600, its public half beside
    it as PATH.pub."""
    if not new:
        return load_signing_key(path)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    with open(f"{path}.pub", "w") as f:
        f.write(public_hex(key) + "\n")
    return key


def sign(bundle: str, key: Ed25519PrivateKey) -> None:
    """`manifest.sig`: the raw 64-byte ed25519 signature of manifest.json's exact bytes, checked."""
    with open(os.path.join(bundle, "manifest.json"), "rb") as f:
        manifest = f.read()
    signature = key.sign(manifest)
    key.public_key().verify(signature, manifest)
    with open(os.path.join(bundle, "manifest.sig"), "wb") as f:
        f.write(signature)


def prepare_bundle_dir(bundle: str) -> None:
    """An empty folder for the bundle: a previous bundle's files are removed, anything else refused."""
    os.makedirs(bundle, exist_ok=True)
    other = sorted(set(os.listdir(bundle)) - BUNDLE_FILES)
    if other:
        raise SystemExit(f"{bundle} holds files that are not a bundle's ({', '.join(other)}): choose another --out")
    for name in os.listdir(bundle):
        os.remove(os.path.join(bundle, name))


def file_digest(*paths: str) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def content_tokens(name: str, category: str, department: str, attributes: list[str]) -> list[str]:
    """What the content path embeds for an item: its department, category, the words of its name
    and category, and its attributes."""
    words = sorted(set(re.findall(r"[a-z0-9]+", f"{name} {category}".lower())))
    return [f"dept:{department}", f"cat:{category}"] + [f"w:{w}" for w in words] + [f"attr:{a}" for a in attributes]


def sequences(frame: pd.DataFrame, horizon_days: float) -> list[grocery.Sequence]:
    """Per shopper, the training events (every type, in time order) and for each what the shopper
    purchased after it (strictly later) within the horizon; shoppers with no such purchase left out."""
    out = []
    for household, g in frame.groupby("household", sort=True):
        bought = g[g.type == "purchase"]
        times, rows = bought.ts.to_numpy(), bought.row.to_numpy()
        ts = g.ts.to_numpy()
        stamps = np.unique(ts)
        lo = np.searchsorted(times, stamps, side="right")
        hi = np.searchsorted(times, stamps + horizon_days * byod_format.DAY, side="right")
        per_stamp = [np.unique(rows[a:b]).astype(np.int64) for a, b in zip(lo, hi)]
        future = [per_stamp[k] for k in np.searchsorted(stamps, ts)]
        if any(len(f) for f in future):
            out.append(grocery.Sequence(household, g.row.to_numpy().astype(np.int64), future))
    return out


def sample_stage(stage: grocery.Stage, size: int, seed: int) -> grocery.Stage:
    """At most `size` of the stage's shoppers, a fixed random sample in their order."""
    if len(stage.households) <= size:
        return stage
    keep = np.sort(np.random.default_rng(seed).choice(len(stage.households), size, replace=False))
    return grocery.Stage([stage.households[i] for i in keep], [stage.inputs[i] for i in keep],
                         [stage.targets[i] for i in keep])


class Shop:
    """The checked inputs as the grocery trainer's shop (`grocery.Grocery`), with the weeks: week 1
    is the first week of the data, the last `test_weeks` weeks end at the last interaction."""

    def __init__(self, cat: byod_format.Catalogue, ev: byod_format.Interactions, a: argparse.Namespace, sha: str):
        frame = pd.DataFrame({"shopper": ev.shoppers, "row": ev.rows, "type": ev.types, "ts": ev.timestamps,
                              "price": [math.nan if p is None else p for p in ev.prices]})
        frame = frame.sort_values("ts", kind="stable").reset_index(drop=True)
        self.end = float(frame.ts.max())
        back = np.floor((self.end - frame.ts.to_numpy()) / WEEK).astype(int)  # 0: the last 7 days
        self.weeks = int(back.max()) + 1
        frame["week"] = self.weeks - back
        frame["household"] = pd.factorize(frame.shopper, sort=True)[0]
        frame["day"] = (frame.ts - frame.ts.min()) / byod_format.DAY
        frame["basket"] = frame.groupby(["household", "ts"], sort=False).ngroup()
        self.test_first = self.weeks - a.test_weeks + 1
        self.valid_first = self.test_first - a.valid_weeks
        self.frame = frame
        training = frame[frame.week < self.valid_first]
        n = len(cat.ids)
        held_out = ~np.isin(np.arange(n), training.row.unique())  # no history to train on: content only
        catalogue = grocery.Catalogue(
            product_ids=np.array(cat.ids, dtype=object), names=cat.names, departments=cat.departments,
            categories=cat.categories, list_prices=np.array(cat.list_prices, dtype=np.float32),
            low_30d=np.array(cat.low_30d, dtype=np.float32),
            content_tokens=[content_tokens(*x) for x in zip(cat.names, cat.categories, cat.departments, cat.attributes)],
            held_out=held_out)
        self.data = grocery.Grocery(
            catalogue=catalogue, train=sequences(training, a.horizon_days),
            valid=self.stage(self.valid_first, self.test_first - 1, a.eval_shoppers, a.seed),
            test=self.stage(self.test_first, self.weeks, a.eval_shoppers, a.seed),
            events=frame[["household", "row", "week", "basket", "day"]], sha256=sha)
        self.costs = cat.costs

    def stage(self, first: int, last: int, size: int, seed: int) -> grocery.Stage:
        """A stage's shoppers (a sample of at most `size`): as inputs every event before its first
        week, as targets the items purchased in its weeks."""
        frame = self.frame
        events = frame[(frame.week < first) | (frame.type == "purchase")]  # views and carts are never targets
        return sample_stage(grocery.stage(events, first, last), size, seed)

    def week_start(self, week: int) -> datetime:
        """When a week begins (UTC)."""
        return datetime.fromtimestamp(self.end - (self.weeks - week + 1) * WEEK, timezone.utc)

    def split(self) -> dict:
        """The stages' weeks and dates, for the manifest and the report."""
        day = lambda w: self.week_start(w).strftime("%Y-%m-%d")  # noqa: E731
        first, last = (datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d")
                       for t in (self.frame.ts.min(), self.end))
        return {"trainWeeks": f"1-{self.valid_first - 1}", "validWeeks": f"{self.valid_first}-{self.test_first - 1}",
                "testWeeks": f"{self.test_first}-{self.weeks}",
                "dates": {"train": f"{first} to {day(self.valid_first)}",
                          "valid": f"{day(self.valid_first)} to {day(self.test_first)}",
                          "test": f"{day(self.test_first)} to {last}"}}


def hit_rate(scores: torch.Tensor, targets: list[np.ndarray], k: int = 10) -> dict:
    """HR@k: the share of shoppers with at least one of their stage's purchases in their top k."""
    return {f"HR@{k}": float(np.mean([np.isin(row, t).any() for row, t in zip(top_k(scores, k), targets)]))}


def against_baselines(scores: dict[str, torch.Tensor], targets: list[np.ndarray], seed: int,
                      draws: int = 1000) -> dict:
    """Per baseline: the model's NDCG@10 less the baseline's, averaged over shoppers, with a 95%
    interval from a paired bootstrap over shoppers (is the difference more than chance?)."""
    ndcg = {name: np.array([set_metrics(s[i:i + 1], [t])["NDCG@10"] for i, t in enumerate(targets)])
            for name, s in scores.items()}
    draw = np.random.default_rng(seed).integers(0, len(targets), size=(draws, len(targets)))
    out = {}
    for name in scores.keys() - {"model"}:
        diff = ndcg["model"] - ndcg[name]
        means = diff[draw].mean(axis=1)
        out[name] = {"ndcgDifference": float(diff.mean()),
                     "interval95": [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]}
    return dict(sorted(out.items()))


def quality(bundle: str, stage: grocery.Stage, n_items: int, decay: float, seed: int) -> dict:
    """The bundle, as the engine ranks, and the baselines on a stage: HR@10, NDCG@10, Recall@10,
    and the model's difference from each baseline with its interval."""
    scores = {"model": bundle_scores(bundle, stage), **baseline_scores(stage, n_items, decay)}
    return {"shoppers": len(stage.households),
            **{name: {**hit_rate(s, stage.targets), **set_metrics(s, stage.targets)} for name, s in scores.items()},
            "modelAgainst": against_baselines(scores, stage.targets, seed)}


def add_costs(bundle: str, costs: list[float]) -> None:
    """The merchant's costs as the item table's `cost` column (the engine's margin floor)."""
    tensors = load_file(os.path.join(bundle, "items.safetensors"))
    tensors["cost"] = np.array(costs, dtype=np.float32)
    add_to_bundle(bundle, {"items.safetensors": save_safetensors(tensors)}, {})


def price_examples(shop: Shop, bundle: str, seq_len: int, negatives: int = 30, seed: int = 7) -> pd.DataFrame:
    """The demand model's examples (price_data's protocol): per shopper-week with a purchase, the
    items bought and `negatives` drawn from the rest, with the interest score the bundle gives
    from the shopper's earlier events, the median paid price that week relative to the list price
    (the list price where no price was paid; the nearest week's where the item sold in others),
    no display or mailer placement (the format has none), and the calendar season."""
    data, frame = shop.data, shop.frame
    n = data.n_items
    purchases = frame[frame.type == "purchase"]
    bought = purchases.groupby(["household", "week"]).row.agg(lambda s: np.unique(s.to_numpy()))
    bought.index.names = ["household_id", "week"]
    hw = bought.index.to_frame(index=False)
    negatives = max(1, min(negatives, n - max(len(b) for b in bought)))  # a small catalogue has fewer to draw
    hw_index, rows, label, weight = labelled_rows(hw, bought, n, negatives, seed)
    weeks = hw.week.to_numpy()[hw_index]
    ex = pd.DataFrame({"household_id": hw.household_id.to_numpy()[hw_index], "week": weeks, "row": rows,
                       "label": label.astype(np.float32), "weight": weight.astype(np.float32)})
    ex["interest"] = interest_scores(bundle, data, hw, hw_index, rows, seq_len)
    paid = purchases.dropna(subset=["price"]).groupby(["row", "week"]).price.median().unstack()
    paid = paid.reindex(index=range(n), columns=range(1, shop.weeks + 1)).ffill(axis=1).bfill(axis=1).to_numpy()
    list_price = data.catalogue.list_prices[rows]
    price = np.where(np.isnan(paid[rows, weeks - 1]), list_price, paid[rows, weeks - 1])
    ex["log_price_ratio"] = np.log(np.clip(price / list_price, 0.2, 2.0)).astype(np.float32)
    ex["display"], ex["mailer"] = np.float32(0), np.float32(0)
    week_of_year = np.array([0] + [shop.week_start(w).isocalendar().week for w in range(1, shop.weeks + 1)])
    angle = 2 * np.pi * (np.minimum(week_of_year[weeks], 53) - 1) / 52
    ex["season_sin"], ex["season_cos"] = np.sin(angle).astype(np.float32), np.cos(angle).astype(np.float32)
    ex["department"] = pd.Categorical(np.asarray(data.catalogue.departments)[rows],
                                      categories=sorted(set(data.catalogue.departments))).codes
    return ex


def price_head(shop: Shop, bundle: str, seq_len: int, seed: int) -> tuple[bytes, dict]:
    """Fits the demand model on the training weeks (stopped on the validation weeks) and measures
    it on the test weeks, with and without the interest feature; `price.onnx` and its figures."""
    ex = price_examples(shop, bundle, seq_len)
    first = 5 if shop.valid_first > 9 else 1  # the first weeks have little history to score interest from
    fit_set, valid, test = (tensors(in_weeks(ex, w)) for w in
                            ((first, shop.valid_first - 1), (shop.valid_first, shop.test_first - 1),
                             (shop.test_first, shop.weeks)))
    departments = sorted(set(shop.data.catalogue.departments))
    models = {name: fit_price(fit_set, valid, shop.data.n_items, len(departments), use_interest=name == "withInterest",
                              seed=seed) for name in ("withInterest", "withoutInterest")}
    prices_given = bool(shop.frame.price.notna().any())
    figures = {
        "protocol": "P(a shopper buys the item in a week it buys anything); training weeks fit, validation weeks "
                    "stop early, test weeks held out; not-bought examples drawn uniformly and weighted",
        "paidPricesGiven": prices_given, "heldOutExamples": int(len(test["label"])),
        **{name: held_out_figures(model, test) for name, model in models.items()},
        "elasticityByDepartment": dict(zip(departments, models["withInterest"].elasticities().tolist())),
        "featureWeights": dict(zip(FEATURES, models["withInterest"].linear.weight.detach().numpy()[0].tolist())),
    }
    path = os.path.join(tempfile.mkdtemp(), "price.onnx")
    export_price_onnx(models["withInterest"], path)
    with open(path, "rb") as f:
        return f.read(), figures


def train(a: argparse.Namespace, shop: Shop) -> tuple[train_grocery.GroceryModel, dict, str]:
    """train_grocery.fit on the shop in the work folder; the best epoch's model, its checkpoint
    (with the run's final state as `final_state`) and the folder."""
    settings = {k: v for k, v in sorted(vars(a).items()) if k not in SKIP_IN_DIGEST}
    key = hashlib.sha256(json.dumps({"data": shop.data.sha256, **settings}, sort_keys=True).encode()).hexdigest()
    work = a.work or os.path.join(os.path.expanduser("~/.cache/edgerec/byod"), key[:16])
    run = argparse.Namespace(**{**vars(a), "out": work, "items": shop.data.n_items,
                                "held_out_share": float(shop.data.catalogue.held_out.mean())})
    torch.set_num_threads(a.threads)
    model, state = train_grocery.fit(run, shop.data)
    ckpt = torch.load(os.path.join(work, "best.pt"), map_location="cpu", weights_only=False)
    model.load_state_dict(ckpt["model"])
    return model.eval(), {**ckpt, "final_state": state}, work


def export(a: argparse.Namespace, shop: Shop, model, ckpt: dict, bundle: str, version: str) -> dict:
    """Writes the bundle (unsigned) and returns its manifest's metrics."""
    data = shop.data
    rows = export_grocery.item_rows(model)
    training = {"data": f"{os.path.basename(a.interactions)} and {os.path.basename(a.catalogue)} (bring your own data)",
                "dataSha256": data.sha256, "split": shop.split(),
                "command": command_line("byod.py", {k: v for k, v in vars(a).items()
                                                    if v not in (None, False) and k not in ("threads", "max_minutes")}),
                **provenance(ckpt, model.encoder.non_embedding_parameters())}
    export_grocery.build(model, data, bundle, rows, version, {}, training, (1.0, model.repeat_decay, True))
    repeat, training["repeatTerm"] = export_grocery.choose_repeat(model, data, bundle)
    export_grocery.build(model, data, bundle, rows, version, {}, training, repeat)
    decay = recent_decay(data.valid, data.n_items)
    metrics = {"protocol": "next purchases: per shopper, the items bought in the stage's weeks, ranked from every "
                           "event before them; HR@10, NDCG@10 and Recall@10, repeat purchases included; validation "
                           "weeks for every choice, test weeks read once",
               "recentFirstDecay": decay,
               "validWeeks": quality(bundle, data.valid, data.n_items, decay, a.seed),
               "testWeeks": quality(bundle, data.test, data.n_items, decay, a.seed)}
    new_in_test = sum(int(data.catalogue.held_out[t].sum()) for t in data.test.targets)
    if data.catalogue.held_out.any() and new_in_test:
        metrics["newItems"] = export_grocery.content_effect(model, data, bundle, repeat)
    export_grocery.build(model, data, bundle, rows, version, metrics, training, repeat)
    if shop.costs is not None:
        add_costs(bundle, shop.costs)
    onnx, figures = price_head(shop, bundle, model.encoder.seq_len, a.seed)
    add_price_head(bundle, onnx, figures)
    return metrics | {"priceHead": figures}


def main(argv: list[str] | None = None) -> None:
    started = time.time()
    a = parse_args(argv)
    bundle = os.path.join(a.out, "bundle")
    check_key_path(a.key, a.new_key, bundle)
    steps = {}

    def step(name: str, since: float) -> float:
        now = time.time()
        steps[name] = round(now - since, 1)
        print(f"[{now - started:7.1f} s] {name}: {steps[name]:.1f} s", flush=True)
        return now

    try:
        cat, events = byod_format.read(a.interactions, a.catalogue, a.test_weeks, a.valid_weeks)
    except byod_format.InvalidData as e:
        print(f"the input files have problems; nothing was trained:\n{e}", file=sys.stderr)
        sys.exit(2)
    for note in events.warnings:
        print(f"note: {note}")
    t = step("check the files", started)
    key = signing_key(a.key, a.new_key)
    sha = file_digest(a.interactions, a.catalogue)
    shop = Shop(cat, events, a, sha)
    version = a.model_version or f"shop-{datetime.now(timezone.utc):%Y%m%d}-{sha[:8]}"
    t = step("prepare the data", t)
    model, ckpt, work = train(a, shop)
    t = step("train", t)
    prepare_bundle_dir(bundle)
    metrics = export(a, shop, model, ckpt, bundle, version)
    t = step("evaluate and export", t)
    sign(bundle, key)
    public = public_hex(key)
    with open(os.path.join(a.out, "public-key.txt"), "w") as f:
        f.write(public + "\n")
    step("sign", t)
    report = byod_report.write(a, shop, bundle, version, metrics, events, public, work, ckpt, steps, started)
    total = time.time() - started
    print(f"bundle {bundle} ({version}), signed; pin the public key {public}")
    print(f"report {report}")
    print(f"total time {total:.0f} s ({total / 60:.1f} min)")


if __name__ == "__main__":
    main()
