"""The bring-your-own-data command's report (byod.py): `report.json` with every figure, and
`report.md`, the same in words a merchant can act on: what went in, how the recommendations did on
weeks the model never saw against what a shop would do without it, what the prices can and cannot
do, what to publish and which key to pin. Both are written beside the bundle, not in it."""
from __future__ import annotations

import json
import os
import time
from collections import Counter
from datetime import datetime, timezone

BASELINES = {"popularity": "the best sellers, the same for everyone",
             "buyItAgain": "buy it again: each shopper's own items, most bought first",
             "buyItAgainRecentFirst": "buy it again, recent purchases first"}


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def verdict(test: dict) -> dict:
    """How the bundle compares with the strongest baseline on the test weeks' NDCG@10: "better" or
    "worse" when the 95% interval of the difference excludes zero, else "same"."""
    best = max(BASELINES, key=lambda b: test[b]["NDCG@10"])
    against = test["modelAgainst"]
    lo, hi = against[best]["interval95"]
    return {"outcome": "better" if lo > 0 else "worse" if hi < 0 else "same", "bestBaseline": best,
            "ndcgDifference": against[best]["ndcgDifference"], "interval95": [lo, hi],
            "betterThanEveryBaseline": all(against[b]["interval95"][0] > 0 for b in BASELINES)}


def summary(a, shop, bundle: str, version: str, metrics: dict, events, public_key: str, work: str, ckpt: dict,
            steps: dict, started: float) -> dict:
    """Every figure of the report, as JSON."""
    with open(os.path.join(bundle, "manifest.json")) as f:
        files = json.load(f)["files"]
    sizes = {name: entry["bytes"] for name, entry in files.items()}
    cat = shop.data.catalogue
    stamp = lambda t: datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M")  # noqa: E731
    return {
        "modelVersion": version,
        "madeAt": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "bundle": {"path": os.path.abspath(bundle), "files": sizes, "totalBytes": sum(sizes.values()),
                   "signed": os.path.exists(os.path.join(bundle, "manifest.sig"))},
        "publicKey": public_key,
        "data": {"interactions": {"file": os.path.abspath(a.interactions), "rows": len(events.rows),
                                  "byType": dict(Counter(events.types)), "shoppers": len(set(events.shoppers)),
                                  "first": stamp(min(events.timestamps)), "last": stamp(max(events.timestamps)),
                                  "withPaidPrice": sum(p is not None for p in events.prices)},
                 "catalogue": {"file": os.path.abspath(a.catalogue), "items": len(cat.names),
                               "withoutTrainingHistory": int(cat.held_out.sum()),
                               "costsGiven": shop.costs is not None},
                 "trainingShoppers": len(shop.data.train), "sha256": shop.data.sha256},
        "notes": events.warnings,
        "split": shop.split(),
        "quality": {"validWeeks": metrics["validWeeks"], "testWeeks": metrics["testWeeks"],
                    "verdict": verdict(metrics["testWeeks"]), "newItems": metrics.get("newItems")},
        "priceHead": metrics["priceHead"],
        "training": {"epochs": ckpt["final_state"]["epoch"], "bestEpoch": ckpt["state"]["best_epoch"],
                     "seconds": round(ckpt["final_state"]["seconds"]), "checkpoints": work, "config": ckpt["config"]},
        "timings": steps,
        "totalSeconds": round(time.time() - started, 1),
    }


def markdown(r: dict) -> str:
    """The report in words."""
    d, q = r["data"], r["quality"]
    test, v = q["testWeeks"], q["verdict"]
    inter, cat = d["interactions"], d["catalogue"]
    types = ", ".join(f"{n:,} {t}s" for t, n in sorted(inter["byType"].items()))
    lines = [
        f"# Recommendation bundle `{r['modelVersion']}`",
        "",
        f"Made {r['madeAt']} in {r['totalSeconds'] / 60:.1f} minutes from {inter['rows']:,} interactions "
        f"({types}) of {inter['shoppers']:,} shoppers, {inter['first']} to {inter['last']} UTC, and a catalogue "
        f"of {cat['items']:,} items.",
        "",
        "## Should you publish it?",
        "",
    ]
    figures = (f"NDCG@10 {test['model']['NDCG@10']:.3f} against {test[v['bestBaseline']]['NDCG@10']:.3f}; "
               f"95% interval of the difference {v['interval95'][0]:+.3f} to {v['interval95'][1]:+.3f}")
    best = BASELINES[v["bestBaseline"]]
    if v["outcome"] == "better":
        lines.append(f"**Yes**: on the last weeks, which the model never saw, its top 10 beat the strongest simple "
                     f"alternative, {best} ({figures}).")
    elif v["outcome"] == "same":
        lines.append(f"**Yes, for what only it can do**: on the last weeks, which the model never saw, its top 10 did "
                     f"as well as the strongest simple alternative, {best}, within chance ({figures}). Unlike that "
                     "list it also ranks items a shopper has never bought, and it feeds the price head.")
    else:
        lines.append(f"**Not yet**: on the last weeks, which the model never saw, its top 10 did worse than {best} "
                     f"({figures}). More shoppers, more history per shopper or more training epochs usually help; "
                     "until then show that list instead.")
    lines += ["", "Notes on the data:" if r["notes"] else "The files passed every check with nothing to note."]
    lines += [f"- {n}" for n in r["notes"]]
    split = r["split"]["dates"]
    lines += [
        "",
        "## How good are the recommendations?",
        "",
        f"Trained on {split['train']}; settings chosen on {split['valid']}; tested once on {split['test']}. "
        f"For each of {test['shoppers']:,} shoppers who bought something in the test weeks, the 10 items ranked "
        "first from everything the shopper did before, against what they bought:",
        "",
        "| ranking | shoppers who bought one of their 10 (HR@10) | NDCG@10 "
        "| share of their purchases in their 10 (Recall@10) |",
        "|---|---|---|---|",
        f"| **this bundle** | **{pct(test['model']['HR@10'])}** | **{test['model']['NDCG@10']:.3f}** | "
        f"**{pct(test['model']['Recall@10'])}** |",
    ]
    lines += [f"| {BASELINES[b]} | {pct(test[b]['HR@10'])} | {test[b]['NDCG@10']:.3f} | {pct(test[b]['Recall@10'])} |"
              for b in BASELINES]
    lines += ["", "NDCG@10 (0 to 1) also rewards putting the items bought near the top of the 10. Repeat purchases "
                  "count: a shop's best guess is often what a shopper bought before."]
    new = q.get("newItems")
    if new:
        w, wo = new["withContent"], new["withoutContent"]
        lines += ["", "## New items", "",
                  f"{new['heldOutItems']:,} items had no interactions in the training weeks; the model places them by "
                  f"their name, category and attributes. Of the {w['newItemTargets']:,} test-week purchases of them "
                  "by shoppers who "
                  f"had not bought them before, {pct(w['newItemRecall@10'])} were among that shopper's 10 new "
                  f"suggestions ({pct(wo['newItemRecall@10'])} without the names and attributes)."]
    ph = r["priceHead"]
    lines += ["", "## Prices", "",
              f"The price head estimates, per shopper and item, how the chance of a purchase falls as the price rises; "
              f"the shop's guardrails (never above list price, margin floor, maximum discount, 30-day low) bound every "
              f"price it proposes. On the test weeks it ranks purchases with AUC {ph['withInterest']['auc']:.3f} "
              f"({ph['withoutInterest']['auc']:.3f} without the shopper's interest score)."]
    if not ph["paidPricesGiven"]:
        lines.append("The interactions have no paid prices, so it could not learn how price moves demand: its "
                     "elasticity is a starting value, not a measurement. Add the `price` column to learn it.")
    if not cat["costsGiven"]:
        lines.append("The catalogue has no costs: set `pricing.defaultCostRatio` in the shop, or add the `cost` column.")
    lines += ["", "## The bundle", "",
              f"`{r['bundle']['path']}` ({r['bundle']['totalBytes'] / 1e6:.2f} MB, signed): publish this folder as "
              "it is. The report, the key and its public half are not part of it.", "",
              "| file | bytes |", "|---|---|"]
    lines += [f"| {name} | {size:,} |" for name, size in sorted(r["bundle"]["files"].items())]
    lines += ["", f"Public key to pin (the shop refuses a bundle not signed by its private half): `{r['publicKey']}`",
              "", "```js",
              f'const rec = await Edgerec.create({{ bundle: "https://cdn.example/models/{r["modelVersion"]}/", '
              f'publicKey: "{r["publicKey"]}" }});',
              "```", "", "## How it was made", "",
              f"Training epochs: {r['training']['epochs']} in {r['training']['seconds']:,} s (the best on validation: "
              f"epoch {r['training']['bestEpoch']}); checkpoints in `{r['training']['checkpoints']}` (the same command "
              "run again reuses them). Time per step of this run:", ""]
    lines += [f"- {name}: {seconds:.0f} s" for name, seconds in r["timings"].items()]
    lines += [f"- total: {r['totalSeconds']:.0f} s", "",
              "Every figure is in `report.json`; the bundle's `manifest.json` holds them too, with the command.", ""]
    return "\n".join(lines)


def write(a, shop, bundle: str, version: str, metrics: dict, events, public_key: str, work: str, ckpt: dict,
          steps: dict, started: float) -> str:
    """Writes report.json and report.md into --out (beside the bundle); returns report.md's path."""
    r = summary(a, shop, bundle, version, metrics, events, public_key, work, ckpt, steps, started)
    with open(os.path.join(a.out, "report.json"), "w") as f:
        json.dump(r, f, indent=1)
        f.write("\n")
    path = os.path.join(a.out, "report.md")
    with open(path, "w") as f:
        f.write(markdown(r))
    return path
