"""The shopper-level demand model (issue 23): the elasticity (and, as a variant, the base) depends on
what the device knows about the shopper (shopper_data.py, all from the shopper's own events before
the week; `--signals` picks them) and on the interest score:

    P(buy at price p) = sigmoid(base - elasticity * ln(p / list))
    base       = a_item + a_dept + w · [interest, display, mailer, season_sin, season_cos, (signals)]
    elasticity = softplus(e_dept + v · z),  z = standardised [interest, signals]

`--signals` (default list_deal_share, the deal share a device counts from its own events exactly as
here: the shipped head's) is a comma list from shopper_data.AVAILABLE_SIGNALS; the four-signal model
of docs/pricing.md is `--signals deal_share,coupon_share,redemptions,campaigns`.

No demographic attribute is an input. Weeks 5-45 fit, 46-49 choose among the variants (signals in
the base and the elasticity or in the elasticity only, three penalties on v) and stop the fitting,
50-53 are read once per signal set against today's head (DemandModel with interest). Figures:
held-out log-loss, AUC, calibration (ECE over ten equal-weight bins), 95% bootstrap intervals over
households; per-shopper elasticities with bootstrap intervals. Writes `<out>/shopper_model<s>.json`
and the fitted models (`<out>/models<s>.pt`: every variant's, for simulate_offers.py and
export_price_shopper.py), <s> empty for the four signals, else "." and the signals joined by "+".

    nice -n 10 python3 models/training/train_price_shopper.py --bundle models/grocery --out ~/.cache/edgerec/pricing
    nice -n 10 python3 models/training/train_price_shopper.py --bundle models/grocery --out ~/.cache/edgerec/pricing \
        --signals deal_share,coupon_share,redemptions,campaigns
"""
import argparse
import json
import os
import time

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

import grocery
import shopper_data
from offers import SHOPPER_FEATURES
from shopper_data import AVAILABLE_SIGNALS, LIST_DEAL_SHARE
from price_data import FEATURES
from provenance import commit, machine
from price_head import FIT_WEEKS, TEST_WEEKS, VALID_WEEKS, cached_examples, calibration, in_weeks, weighted_auc
from train_price import fit, tensors, weighted_log_loss

ALL_FEATURES = FEATURES + SHOPPER_FEATURES  # the four-signal model's columns (simulate_offers.py's planner)
RESPONSE = ["interest"] + SHOPPER_FEATURES  # what its elasticity depends on besides the department
SIGNALS = ["list_deal_share"]  # the default: the deal share a device counts as training does (the shipped head)
PENALTIES = (0.0, 1e-4, 1e-3)
SHOPPER_BASE = (True, False)  # whether the shopper features enter the base too (chosen on validation)
REFERENCE_DEPARTMENT = "GROCERY"


def output_suffix(signals: list[str]) -> str:
    """"" for the four-signal model (its files keep their names), else "." and the signals joined by "+"."""
    return "" if list(signals) == SHOPPER_FEATURES else "." + "+".join(signals)


class ShopperDemandModel(nn.Module):
    """`features` [N, 5 + S] (FEATURES and then `signals`, raw), item [N], department [N] -> base [N],
    elasticity [N]; the elasticity depends on z = standardised ["interest"] + signals."""

    def __init__(self, n_items: int, n_departments: int, mean: np.ndarray, std: np.ndarray, shopper_base: bool = True,
                 signals: list[str] = SHOPPER_FEATURES):
        super().__init__()
        self.signals = list(signals)
        self.features = FEATURES + self.signals
        self.response_names = ["interest"] + self.signals
        self.item_bias = nn.Embedding(n_items, 1)
        self.department_bias = nn.Embedding(n_departments, 1)
        self.department_elasticity = nn.Embedding(n_departments, 1)
        self.linear = nn.Linear(len(self.features), 1)
        self.response = nn.Linear(len(self.response_names), 1, bias=False)
        for p in (self.item_bias.weight, self.department_bias.weight, self.linear.weight, self.response.weight):
            nn.init.zeros_(p)
        nn.init.constant_(self.department_elasticity.weight, 0.5)
        nn.init.constant_(self.linear.bias, -6.0)
        self.register_buffer("response_index", torch.tensor([self.features.index(f) for f in self.response_names]))
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))
        mask = torch.tensor([1.0 if f in FEATURES or shopper_base else 0.0 for f in self.features])
        self.register_buffer("base_mask", mask)  # shopper features in the base, or in the elasticity only

    def standardised(self, features: torch.Tensor) -> torch.Tensor:
        return (features[:, self.response_index] - self.mean) / self.std

    def forward(self, features: torch.Tensor, item: torch.Tensor, department: torch.Tensor):
        base = (self.linear(features * self.base_mask).squeeze(-1) + self.item_bias(item).squeeze(-1)
                + self.department_bias(department).squeeze(-1))
        shift = self.response(self.standardised(features)).squeeze(-1)
        return base, F.softplus(self.department_elasticity(department).squeeze(-1) + shift)

    def logit(self, batch: dict) -> torch.Tensor:
        base, elasticity = self(batch["features"], batch["item"], batch["department"])
        return base - elasticity * batch["log_price_ratio"]

    def penalty(self) -> torch.Tensor:
        return (self.response.weight ** 2).sum()


def predictions(model: nn.Module, data: dict) -> np.ndarray:
    with torch.no_grad():
        return torch.sigmoid(model.logit(data)).numpy().astype(np.float64)


def ece(prob: np.ndarray, label: np.ndarray, weight: np.ndarray) -> float:
    """Weight-averaged |predicted - observed| over ten equal-weight bins of predicted probability."""
    return float(sum(r["weightShare"] * abs(r["predicted"] - r["observed"]) for r in calibration(prob, label, weight)))


def scores(prob: np.ndarray, label: np.ndarray, weight: np.ndarray) -> dict:
    p = np.clip(prob, 1e-7, 1 - 1e-7)
    loss = -(weight * (label * np.log(p) + (1 - label) * np.log(1 - p))).sum() / weight.sum()
    return {"logLoss": float(loss), "auc": weighted_auc(prob, label, weight), "ece": ece(prob, label, weight)}


def bootstrap_scores(probs: dict, label: np.ndarray, weight: np.ndarray, household: np.ndarray, b: int,
                     seed: int) -> dict:
    """95% intervals over households (resampled with replacement, `b` times) for each model's
    scores and for each model's difference from the first."""
    codes = pd.factorize(household)[0]
    n = codes.max() + 1
    rng = np.random.default_rng(seed)
    names = list(probs)
    draws = {name: [] for name in names}
    for _ in range(b):
        w = weight * np.bincount(rng.integers(0, n, n), minlength=n)[codes]
        keep = w > 0
        for name in names:
            draws[name].append(scores(probs[name][keep], label[keep], w[keep]))
    out = {}
    for name in names:
        for key in ("logLoss", "auc", "ece"):
            values = np.array([d[key] for d in draws[name]])
            out.setdefault(name, {})[key] = np.percentile(values, [2.5, 97.5]).tolist()
            if name != names[0]:
                diff = values - np.array([d[key] for d in draws[names[0]]])
                out[name][f"{key}MinusToday"] = np.percentile(diff, [2.5, 97.5]).tolist()
    return out


def shopper_elasticities(model: ShopperDemandModel, fit_ex: pd.DataFrame, test_ex: pd.DataFrame, department: int,
                         b: int, households: int, seed: int) -> dict:
    """Each test shopper's elasticity in the reference department (at their features on their
    first test week, mean interest): the elasticity parameters (e_dept, v) refitted to convergence on
    `households` fit-week households with the base held at its fitted value, and a 95% interval
    from the same refit on `b` household bootstrap resamples of them (the base's own uncertainty
    is not in the interval)."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(fit_ex.household_id.unique(), size=households, replace=False)
    part = fit_ex[fit_ex.household_id.isin(chosen)]
    data = tensors(part, model.features)
    with torch.no_grad():
        base, _ = model(data["features"], data["item"], data["department"])
        z = model.standardised(data["features"])
    codes = torch.as_tensor(pd.factorize(part.household_id.to_numpy())[0])
    first = test_ex.sort_values("week").drop_duplicates("household_id")
    zt = model.standardised(torch.as_tensor(first[model.features].to_numpy(np.float32)))
    zt[:, 0] = 0.0  # mean interest: the shopper's own response, not the item's pull
    e0 = model.department_elasticity.weight.detach()[:, 0].clone()
    v0 = model.response.weight.detach()[0].clone()

    def refit(count: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e, v = e0.clone().requires_grad_(), v0.clone().requires_grad_()
        opt = torch.optim.LBFGS([e, v], max_iter=50, line_search_fn="strong_wolfe")
        w = data["weight"] * count[codes]

        def closure():
            opt.zero_grad()
            logit = base - F.softplus(e[data["department"]] + z @ v) * data["log_price_ratio"]
            loss = F.binary_cross_entropy_with_logits(logit, data["label"], weight=w, reduction="sum") / w.sum()
            loss.backward()
            return loss
        opt.step(closure)
        return e.detach(), v.detach()

    def per_shopper(e: torch.Tensor, v: torch.Tensor) -> np.ndarray:
        return F.softplus(e[department] + zt @ v).numpy()

    point = per_shopper(*refit(torch.ones(households)))
    draws = np.stack([per_shopper(*refit(torch.as_tensor(np.bincount(rng.integers(0, households, households),
                                                                         minlength=households), dtype=torch.float32)))
                      for _ in range(b)])
    low, high = np.percentile(draws, [2.5, 97.5], axis=0)
    mean = float(point.mean())
    quantiles = np.percentile(point, [5, 25, 50, 75, 95])
    deal = LIST_DEAL_SHARE if LIST_DEAL_SHARE in model.signals else "deal_share"  # the model's own, if it reads one
    by_quintile = pd.qcut(first[deal].to_numpy(), 5, labels=False, duplicates="drop")
    return {
        "department": REFERENCE_DEPARTMENT, "shoppers": int(len(point)), "quintilesOf": deal, "bootstrapResamples": b,
        "fitHouseholdsResampled": households, "populationMean": mean,
        "quantiles5_25_50_75_95": quantiles.tolist(),
        "medianIntervalWidth": float(np.median(high - low)),
        "shareIntervalExcludesMean": float(((low > mean) | (high < mean)).mean()),
        "shareAboveMean": float((low > mean).mean()), "shareBelowMean": float((high < mean).mean()),
        "p95MinusP5Interval": np.percentile(np.percentile(draws, 95, axis=1) - np.percentile(draws, 5, axis=1),
                                            [2.5, 97.5]).tolist(),
        "byDealShareQuintile": [{"quintile": int(q) + 1, "meanDealShare": float(first[deal].to_numpy()[by_quintile == q].mean()),
                                 "meanElasticity": float(point[by_quintile == q].mean()),
                                 "interval": np.percentile(draws[:, by_quintile == q].mean(axis=1), [2.5, 97.5]).tolist()}
                                for q in range(int(by_quintile.max()) + 1)],
    }


def shopper_examples(bundle: str, out: str) -> tuple[grocery.Grocery, pd.DataFrame]:
    """The bundle's shop data and its demand examples (cached under `out`), each with its household's
    shopper signals counted from transactions before its week, the signals' prior from the fit weeks."""
    with open(os.path.join(bundle, "manifest.json")) as f:
        manifest = json.load(f)
    run = manifest["training"]["run"]
    shop = grocery.load(run["items"], run["held_out_share"], run["seed"], run["horizon_days"])
    ex = cached_examples(bundle, os.path.join(out, "demand.parquet"), shop, manifest["seqLen"])
    lines, _ = grocery.load_lines()
    return shop, shopper_data.attach(ex, lines, FIT_WEEKS[1], shop.catalogue.product_ids, shop.catalogue.list_prices)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", default="models/grocery")
    p.add_argument("--out", default=os.path.expanduser("~/.cache/edgerec/pricing"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bootstrap", type=int, default=200, help="household resamples for the held-out scores")
    p.add_argument("--elasticity-bootstrap", type=int, default=40, help="resamples for the per-shopper intervals")
    p.add_argument("--elasticity-households", type=int, default=600, help="fit-week households they resample")
    p.add_argument("--signals", default=",".join(SIGNALS),
                   help=f"comma list of the shopper signals the model reads, from {AVAILABLE_SIGNALS}; the "
                        f"four-signal run is --signals {','.join(SHOPPER_FEATURES)}")
    a = p.parse_args()
    signals = [s for s in a.signals.split(",") if s]
    if not signals or len(set(signals)) != len(signals) or any(s not in AVAILABLE_SIGNALS for s in signals):
        p.error(f"--signals: a comma list of distinct names from {AVAILABLE_SIGNALS}, got {a.signals!r}")
    features, response_names = FEATURES + signals, ["interest"] + signals
    suffix = output_suffix(signals)
    torch.set_num_threads(1)
    started = time.time()
    code = commit()  # the code that runs, before anything else in the work tree changes
    print(machine(), code, flush=True)

    shop, ex = shopper_examples(a.bundle, a.out)
    fit_ex, valid_ex, test_ex = (in_weeks(ex, w) for w in (FIT_WEEKS, VALID_WEEKS, TEST_WEEKS))
    fit_set, valid, test = (tensors(e, features) for e in (fit_ex, valid_ex, test_ex))
    today = {k: tensors(e, FEATURES) for k, e in (("fit", fit_ex), ("valid", valid_ex), ("test", test_ex))}
    n_departments = int(ex.department.max()) + 1
    response = fit_ex[response_names].to_numpy(np.float64)
    mean, std = response.mean(axis=0), response.std(axis=0) + 1e-6
    print(f"examples: fit {len(fit_ex)}, valid {len(valid_ex)}, test {len(test_ex)}; {time.time() - started:.0f}s",
          flush=True)

    baseline = fit(today["fit"], today["valid"], shop.n_items, n_departments, use_interest=True, seed=a.seed)
    validation = {"today": weighted_log_loss(baseline, today["valid"])}
    candidates = {}
    for shopper_base in SHOPPER_BASE:
        for penalty in PENALTIES:
            name = f"shopper, penalty {penalty:g}, {'base and elasticity' if shopper_base else 'elasticity only'}"
            candidates[name] = (penalty, shopper_base, fit(
                fit_set, valid, shop.n_items, n_departments, True, seed=a.seed, penalty=penalty,
                make_model=lambda: ShopperDemandModel(shop.n_items, n_departments, mean, std, shopper_base, signals)))
            validation[name] = weighted_log_loss(candidates[name][2], valid)
            print(f"{name}: validation log-loss {validation[name]:.6f}; {time.time() - started:.0f}s", flush=True)
    chosen = min(candidates, key=lambda name: validation[name])
    penalty, shopper_base, model = candidates[chosen]

    label, weight = test["label"].numpy().astype(np.float64), test["weight"].numpy().astype(np.float64)
    probs = {"today": predictions(baseline, today["test"]), "shopper": predictions(model, test)}
    departments = sorted(set(shop.catalogue.departments))
    reference = departments.index(REFERENCE_DEPARTMENT)
    figures = {
        "machine": machine(),
        "signals": signals,
        "command": "nice -n 10 python3 models/training/train_price_shopper.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(a).items()).replace(os.path.expanduser("~"), "~"),
        "signalPriors": shopper_data.priors(ex),
        "dataSha256": shop.sha256,
        "commit": code,
        "protocol": "P(a household buys the item in a week it shops); weeks 5-45 fit, 46-49 choose the penalty and stop "
                    "early, 50-53 held out (read once); not-bought examples drawn uniformly and weighted",
        "heldOutExamples": int(len(label)), "heldOutHouseholds": int(test_ex.household_id.nunique()),
        "validationLogLoss": validation, "chosen": chosen,
        "heldOut": {name: {**scores(prob, label, weight), "calibration": calibration(prob, label, weight)}
                    for name, prob in probs.items()},
        "heldOutIntervals": bootstrap_scores(probs, label, weight, test_ex.household_id.to_numpy(), a.bootstrap, a.seed),
        "bootstrapResamples": a.bootstrap,
        "baseWeights": dict(zip(features, model.linear.weight.detach().numpy()[0].tolist())),
        "elasticityWeights": dict(zip(response_names, model.response.weight.detach().numpy()[0].tolist())),
        "responseStandardisation": {"mean": dict(zip(response_names, mean.tolist())),
                                    "std": dict(zip(response_names, std.tolist()))},
        "elasticityByDepartmentAtMeanShopper": dict(zip(departments, F.softplus(
            model.department_elasticity.weight.detach()[:, 0]).numpy().tolist())),
        "todayElasticityByDepartment": dict(zip(departments, baseline.elasticities().tolist())),
    }
    print(f"held out: {json.dumps(figures['heldOut'], default=float)[:400]}; {time.time() - started:.0f}s", flush=True)
    figures["perShopperElasticity"] = shopper_elasticities(model, fit_ex, test_ex, reference, a.elasticity_bootstrap,
                                                           a.elasticity_households, a.seed)
    figures["seconds"] = round(time.time() - started)
    os.makedirs(a.out, exist_ok=True)
    torch.save({"today": baseline.state_dict(), "shopper": model.state_dict(), "mean": mean, "std": std,
                "penalty": penalty, "shopper_base": shopper_base, "n_items": shop.n_items, "n_departments": n_departments,
                "signals": signals, "signalPriors": figures["signalPriors"], "chosen": chosen,
                "validationLogLoss": validation,
                "candidates": {name: {"penalty": c[0], "shopper_base": c[1], "state": c[2].state_dict()}
                               for name, c in candidates.items()}},
               os.path.join(a.out, f"models{suffix}.pt"))
    with open(os.path.join(a.out, f"shopper_model{suffix}.json"), "w") as f:
        json.dump(figures, f, indent=1)
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
