"""Offers under a promotion budget, evaluated by simulation on the held-out weeks (50-53), and the
fairness audit (issue 23, offline half). Needs train_price_shopper.py's models (`<out>/models.pt`).

The shop: every catalogue item, for every household-week that shops in weeks 50-53, estimated from
the demand examples (bought items and 30 drawn items weighted to stand for the catalogue). Cost is
70% of list (`defaultCostRatio`); prices obey the engine's guardrails (offers.allowed_prices:
never above list, min margin 5%, max discount 30%, cents ending in 9, one price per item per
household-week). Each week's budget is a share of that week's expected revenue at list price,
both by the planning model (the shopper-level model fitted on weeks 5-45). Policies:

- list price;
- personalised: offers.allocate over (household-week, item), planned spend never above the budget;
- the same, only discounts whose expected incremental margin is positive (ratio ≥ 0);
- by department: one discount level per department and week, the same allocator and budget;
- uniform: the same discount (UNIFORM_DEPTH, at the allowed price below it) for every shopper, on
  items taken in a random order (drawn per week with the seed) while the planned spend fits the
  same budget: a discount on everything does not fit a budget of a few percent, because the price
  endings make the smallest cut about 4% of an average $2.30 item.

A simulator plays the shoppers: the shopper-level model refitted on weeks 46-53 (a different split,
as docs/pricing.md does). Per household-week: expected margin, revenue, units and discount given,
with 95% bootstrap intervals over households. The audit groups the households with demographics
(used here only) by income and age.

    nice -n 10 python3 models/training/simulate_offers.py --bundle models/grocery --out ~/.cache/edgerec/pricing
"""
import argparse
import json
import os
import time

import numpy as np
import pandas as pd
import torch

import shopper_data
from offers import allocate, allowed_prices
from price_head import SIMULATOR_WEEKS, TEST_WEEKS, in_weeks
from train_price import fit, tensors
from offers import SHOPPER_FEATURES
from provenance import machine
from train_price_shopper import ShopperDemandModel, shopper_examples

COST_RATIO = 0.7
MAX_LEVELS = 12
UNIFORM_DEPTH = 0.10
DEPARTMENT_STEPS = np.round(np.arange(0, 0.3001, 0.01), 4)


def price_grid(list_prices: np.ndarray) -> np.ndarray:
    """[items, MAX_LEVELS] prices in dollars: the list price first, then allowed prices below it
    (at most MAX_LEVELS - 1, evenly spread from the highest to the lowest), NaN-padded."""
    grid = np.full((len(list_prices), MAX_LEVELS), np.nan)
    for i, price in enumerate(list_prices):
        cents = int(round(price * 100))
        below = allowed_prices(cents, COST_RATIO * cents)[:-1][::-1]
        if len(below) > MAX_LEVELS - 1:
            below = below[np.unique(np.linspace(0, len(below) - 1, MAX_LEVELS - 1).round().astype(int))]
        grid[i, 0] = cents / 100
        grid[i, 1:1 + len(below)] = below / 100
    return grid


def snapped(grid: np.ndarray, discount: float) -> np.ndarray:
    """Per item: the highest allowed price at most list × (1 - discount), else the lowest allowed."""
    target = grid[:, :1] * (1 - discount) + 1e-9
    ok = np.where(grid <= target, grid, -np.inf)
    best = ok.max(axis=1)
    return np.where(np.isfinite(best), best, np.nanmin(grid, axis=1)) if discount > 0 else grid[:, 0]


def curves(model: ShopperDemandModel, data: dict) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        base, elasticity = model(data["features"], data["item"], data["department"])
    return base.numpy().astype(np.float64), elasticity.numpy().astype(np.float64)


def prob(base: np.ndarray, elasticity: np.ndarray, price: np.ndarray, list_price: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(base - elasticity * np.log(price / list_price))))


def policies(ex: pd.DataFrame, grid: np.ndarray, base: np.ndarray, elasticity: np.ndarray, share: float,
             seed: int) -> dict:
    """The price per example row under each policy, planned week by week with the planning model."""
    rows = ex.row.to_numpy()
    w = ex.weight.to_numpy(np.float64)
    lp = grid[rows, 0]
    cost = COST_RATIO * lp
    out = {name: lp.copy() for name in ("list price", "personalised", "personalised, margin-positive only",
                                        "by department", "uniform")}
    planned = {name: 0.0 for name in out}
    budgets = 0.0
    for week in np.unique(ex.week):
        idx = np.flatnonzero(ex.week.to_numpy() == week)
        g = grid[rows[idx]]
        p_list = prob(base[idx], elasticity[idx], lp[idx], lp[idx])
        p = prob(base[idx, None], elasticity[idx, None], g, lp[idx, None])
        spend = w[idx, None] * (lp[idx, None] - g) * p
        gain = w[idx, None] * ((g - cost[idx, None]) * p - ((lp - cost)[idx] * p_list)[:, None])
        budget = share * float((w[idx] * lp[idx] * p_list).sum())
        budgets += budget
        for name, floor in (("personalised", -np.inf), ("personalised, margin-positive only", 0.0)):
            level, used = allocate(spend, gain, budget, floor)
            out[name][idx] = g[np.arange(len(idx)), level]
            planned[name] += used

        def level_prices(discount: float, members: np.ndarray) -> np.ndarray:
            return snapped(grid[rows[idx[members]]], discount)

        def totals(prices: np.ndarray, members: np.ndarray) -> tuple[float, float]:
            j = idx[members]
            q = prob(base[j], elasticity[j], prices, lp[j])
            return (float((w[j] * (lp[j] - prices) * q).sum()),
                    float((w[j] * ((prices - cost[j]) * q - (lp[j] - cost[j]) * prob(base[j], elasticity[j], lp[j], lp[j]))).sum()))

        cut = snapped(grid, UNIFORM_DEPTH)[rows[idx]]
        q = prob(base[idx], elasticity[idx], cut, lp[idx])
        per_item = np.bincount(rows[idx], weights=w[idx] * (lp[idx] - cut) * q, minlength=len(grid))
        order = np.random.default_rng([seed, int(week)]).permutation(len(grid))
        taken = order[:np.searchsorted(np.cumsum(per_item[order]), budget, side="right")]
        chosen = np.isin(rows[idx], taken)
        out["uniform"][idx[chosen]] = cut[chosen]
        planned["uniform"] += float(per_item[taken].sum())
        departments = ex.department.to_numpy()[idx]
        groups = [np.flatnonzero(departments == d) for d in np.unique(departments)]
        table = np.array([[totals(level_prices(d, m), m) for d in DEPARTMENT_STEPS] for m in groups])
        level, used = allocate(table[:, :, 0], table[:, :, 1], budget)
        for m, k in zip(groups, level):
            out["by department"][idx[m]] = level_prices(DEPARTMENT_STEPS[k], m)
        planned["by department"] += used
    return {"prices": out, "plannedSpend": planned, "budget": budgets}


def check_guardrails(prices: np.ndarray, lp: np.ndarray) -> None:
    """Every price at most list; below list only at an allowed price (guardrails and ending)."""
    cents = np.round(prices * 100).astype(np.int64)
    lc = np.round(lp * 100).astype(np.int64)
    assert (cents <= lc).all()
    below = cents < lc
    assert (cents[below] % 100 % 10 == 9).all()
    assert (cents[below] >= np.ceil(COST_RATIO * lc[below] * 1.05 - 1e-9)).all()
    assert (cents[below] >= np.ceil(0.7 * lc[below] - 1e-9)).all()


def outcomes(ex: pd.DataFrame, price: np.ndarray, lp: np.ndarray, base: np.ndarray, elasticity: np.ndarray) -> pd.DataFrame:
    """Per example row, under the simulator: expected margin, revenue, units, discount given and
    list value of the units."""
    w = ex.weight.to_numpy(np.float64)
    q = w * prob(base, elasticity, price, lp)
    return pd.DataFrame({"household_id": ex.household_id.to_numpy(), "margin": q * (price - COST_RATIO * lp),
                         "revenue": q * price, "units": q, "discount": q * (lp - price), "listValue": q * lp})


def interval(values: np.ndarray, weeks: np.ndarray, draws: np.ndarray) -> list[float]:
    """95% interval of sum(values)/sum(weeks) over household resamples (`draws` [B, H] counts)."""
    return np.percentile(draws @ values / (draws @ weeks), [2.5, 97.5]).tolist()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", default="models/grocery")
    p.add_argument("--out", default=os.path.expanduser("~/.cache/edgerec/pricing"))
    p.add_argument("--models", help="train_price_shopper.py's models file (default <out>/models.pt, the four-signal "
                                    "run); figures go to offers.json, or offers.<signals>.json for models.<signals>.pt")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shares", type=float, nargs="+", default=[0.01, 0.03], help="budgets, shares of list revenue")
    p.add_argument("--bootstrap", type=int, default=1000)
    a = p.parse_args()
    torch.set_num_threads(1)
    started = time.time()
    print(machine(), flush=True)
    models = a.models or os.path.join(a.out, "models.pt")
    saved = torch.load(models, weights_only=False)
    signals = os.path.basename(models)[len("models."):-len(".pt")]
    figures_path = os.path.join(a.out, f"offers.{signals}.json" if signals else "offers.json")
    shop, ex = shopper_examples(a.bundle, a.out)

    def make() -> ShopperDemandModel:
        return ShopperDemandModel(saved["n_items"], saved["n_departments"], saved["mean"], saved["std"],
                                  saved["shopper_base"], saved.get("signals", SHOPPER_FEATURES))

    planner = make()
    features = planner.features  # the planner's columns: FEATURES and its signals
    planner.load_state_dict(saved["shopper"])
    weeks = tensors(in_weeks(ex, SIMULATOR_WEEKS), features)
    simulator = fit(weeks, weeks, saved["n_items"], saved["n_departments"], True, seed=a.seed + 1,
                    penalty=saved["penalty"], make_model=make)
    print(f"simulator fitted; {time.time() - started:.0f}s", flush=True)
    test_ex = in_weeks(ex, TEST_WEEKS).reset_index(drop=True)
    data = tensors(test_ex, features)
    plan_base, plan_el = curves(planner, data)
    sim_base, sim_el = curves(simulator, data)
    grid = price_grid(shop.catalogue.list_prices.astype(np.float64))
    lp = grid[test_ex.row.to_numpy(), 0]
    low_30d = shop.catalogue.low_30d.astype(np.float64)[test_ex.row.to_numpy()]

    hw = test_ex.drop_duplicates(["household_id", "week"]).groupby("household_id").size()
    households = hw.index.to_numpy()
    rng = np.random.default_rng(a.seed)
    draws = np.stack([np.bincount(rng.integers(0, len(households), len(households)), minlength=len(households))
                      for _ in range(a.bootstrap)]).astype(np.float64)
    demo = shopper_data.demographic_groups().set_index("household_id").reindex(households)
    figures = {"machine": machine(), "householdWeeks": int(hw.sum()), "households": int(len(households)),
               "bootstrapResamples": a.bootstrap, "costRatio": COST_RATIO, "budgets": {}}
    for share in a.shares:
        plan = policies(test_ex, grid, plan_base, plan_el, share, a.seed)
        table, audit, per_household = {}, {}, {}
        for name, price in plan["prices"].items():
            check_guardrails(price, lp)
            o = outcomes(test_ex, price, lp, sim_base, sim_el).groupby("household_id").sum().reindex(households)
            per_household[name] = o
            n_weeks = hw.to_numpy(np.float64)
            discounted = price < lp - 1e-9
            table[name] = {
                "plannedSpend": plan["plannedSpend"][name],
                "simulatedSpend": float(o.discount.sum()),
                "shareOfRowsDiscounted": float((test_ex.weight.to_numpy() * discounted).sum() / test_ex.weight.sum()),
                "shareOfDiscountsShownAsDiscountVs30DayLow": float((price[discounted] < low_30d[discounted] - 1e-9).mean())
                if discounted.any() else 0.0,
                **{k: {"mean": float(o[k].sum() / n_weeks.sum()), "interval": interval(o[k].to_numpy(), n_weeks, draws)}
                   for k in ("margin", "revenue", "units", "discount")},
            }
            if name != "list price":
                base = per_household["list price"]
                table[name]["vsListPrice"] = {k: {"mean": float((o[k] - base[k]).sum() / n_weeks.sum()),
                                                  "interval": interval((o[k] - base[k]).to_numpy(), n_weeks, draws)}
                                              for k in ("margin", "revenue", "units")}
        for attribute in ("income", "age"):
            groups = sorted(g for g in demo[attribute].dropna().unique() if g not in ("unknown", "nan"))
            audit[attribute] = {}
            gaps = {}
            for name, o in per_household.items():
                rates = {}
                for group in groups:
                    m = (demo[attribute] == group).to_numpy()
                    rates[group] = {"households": int(m.sum()),
                                    "discountRate": float(o.discount[m].sum() / o.listValue[m].sum()),
                                    "pricePaidPerUnit": float(o.revenue[m].sum() / o.units[m].sum()),
                                    "discountPerHouseholdWeek": float(o.discount[m].sum() / hw.to_numpy()[m].sum())}
                audit[attribute][name] = rates
                member = np.stack([(demo[attribute] == g).to_numpy(np.float64) for g in groups])
                d, lv = o.discount.to_numpy(), o.listValue.to_numpy()
                boot = (draws * member[:, None, :]) @ d / ((draws * member[:, None, :]) @ lv)  # [groups, B]
                gaps[name] = boot.max(axis=0) - boot.min(axis=0)
            audit[attribute]["gapInDiscountRate"] = {
                name: {"gap": float(max(r["discountRate"] for r in audit[attribute][name].values())
                                    - min(r["discountRate"] for r in audit[attribute][name].values())),
                       "interval": np.percentile(gaps[name], [2.5, 97.5]).tolist()} for name in per_household}
            audit[attribute]["personalisedGapMinusUniform"] = np.percentile(
                gaps["personalised"] - gaps["uniform"], [2.5, 97.5]).tolist()
        figures["budgets"][f"{share:g}"] = {"budget": plan["budget"], "policies": table, "fairness": audit,
                                            "auditedHouseholds": int(demo.income.notna().sum())}
        print(f"budget {share:g}: {time.time() - started:.0f}s", flush=True)
    figures["seconds"] = round(time.time() - started)
    with open(figures_path, "w") as f:
        json.dump(figures, f, indent=1)
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
