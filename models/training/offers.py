"""Pure functions (numpy only) behind the shopper-level price response and the budgeted offers:

- `history_counts` / `shopper_features`: what a device knows about its shopper at the start of a
  week, from the shopper's own events strictly before that week (never the week itself or later);
- `allowed_prices`: the engine's guardrails (src/pricing/guardrails.rs), in cents: never above
  list, at least cost × (1 + min margin), the merchant's floor and list × (1 − max discount), an
  allowed cent ending (or the list price itself);
- `allocate`: a promotion budget spent where the expected incremental margin per unit of expected
  discount is highest, one price per group (item and shopper-session), planned spend never above
  the budget.
"""
from __future__ import annotations

import numpy as np

SHOPPER_FEATURES = ["deal_share", "coupon_share", "redemptions", "campaigns"]


def history_counts(event_key: np.ndarray, event_week: np.ndarray, values: np.ndarray,
                   query_key: np.ndarray, query_week: np.ndarray) -> np.ndarray:
    """For each query (shopper, week): the sum of `values` [E, C] over that shopper's events in
    weeks strictly before the query week. Keys are non-negative integer shopper ids; weeks 0-999."""
    order = np.lexsort((event_week, event_key))
    composite = event_key[order].astype(np.int64) * 1000 + event_week[order].astype(np.int64)
    cumulative = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(values[order], axis=0)])
    end = np.searchsorted(composite, query_key.astype(np.int64) * 1000 + query_week.astype(np.int64), side="left")
    start = np.searchsorted(composite, query_key.astype(np.int64) * 1000, side="left")
    return cumulative[end] - cumulative[start]


def shopper_features(lines: np.ndarray, discounted: np.ndarray, couponed: np.ndarray, redemptions: np.ndarray,
                     campaigns: np.ndarray, prior_deal: float, prior_coupon: float, strength: float) -> np.ndarray:
    """[N, 4]: the share of past purchase lines bought on discount and with a coupon, each shrunk
    towards the population share with `strength` pseudo-lines (a new shopper gets the prior), and
    log(1 + coupons redeemed), log(1 + campaigns received) (recent counts: shopper_data.WINDOW),
    in the order of SHOPPER_FEATURES."""
    deal = (discounted + strength * prior_deal) / (lines + strength)
    coupon = (couponed + strength * prior_coupon) / (lines + strength)
    return np.column_stack([deal, coupon, np.log1p(redemptions), np.log1p(campaigns)]).astype(np.float32)


def allowed_prices(list_cents: int, cost_cents: float, min_margin: float = 0.05, max_discount: float = 0.3,
                   floor_ratio: float = 0.0, endings: tuple[int, ...] = tuple(range(9, 100, 10))) -> np.ndarray:
    """The prices (cents, ascending) the engine may quote: the guardrails' allowed prices below the
    list price, then the list price itself (always allowed: it is what the item costs unpersonalised)."""
    lowest = max(cost_cents * (1 + min_margin), list_cents * floor_ratio, list_cents * (1 - max_discount), 0.0)
    if lowest > list_cents:
        return np.array([list_cents], dtype=np.int64)
    cents = np.arange(max(int(np.ceil(lowest - 1e-9)), 1), list_cents, dtype=np.int64)
    return np.append(cents[np.isin(cents % 100, endings)], list_cents)


def upper_hull(spend: np.ndarray, gain: np.ndarray) -> list[int]:
    """Indices of the levels on the upper concave hull of (spend, gain), starting at level 0 (spend
    0, the list price) and rising in spend; levels with NaN spend are absent."""
    points = [k for k in np.argsort(spend, kind="stable") if np.isfinite(spend[k]) and spend[k] >= spend[0]]
    hull: list[int] = []
    for k in points:
        if hull and spend[k] == spend[hull[-1]]:
            if gain[k] <= gain[hull[-1]] or hull[-1] == 0:
                continue
            hull.pop()
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            if (gain[b] - gain[a]) * (spend[k] - spend[a]) <= (gain[k] - gain[a]) * (spend[b] - spend[a]):
                hull.pop()
            else:
                break
        hull.append(k)
    return hull if hull and hull[0] == 0 else [0]


def allocate(spend: np.ndarray, gain: np.ndarray, budget: float, min_ratio: float = -np.inf) -> tuple[np.ndarray, float]:
    """One level per group (rows of `spend`/`gain` [G, K]; level 0 is the list price, spend 0,
    gain 0; NaN marks a level the guardrails do not allow): the steps between hull levels are taken
    in order of gain per unit of spend, highest first, while they fit in what is left of the budget
    and their ratio is at least `min_ratio`; a step that does not fit ends its group. Returns the
    chosen level per group and the planned spend, which is never above `budget`."""
    steps = []
    hulls = []
    for g in range(spend.shape[0]):
        hull = upper_hull(spend[g], gain[g])
        hulls.append(hull)
        for j in range(1, len(hull)):
            ds, dg = spend[g, hull[j]] - spend[g, hull[j - 1]], gain[g, hull[j]] - gain[g, hull[j - 1]]
            steps.append((dg / ds if ds > 0 else np.inf, g, j, ds))
    steps.sort(key=lambda s: (-s[0], s[1], s[2]))
    level = np.zeros(spend.shape[0], dtype=np.int64)
    reached = np.zeros(spend.shape[0], dtype=np.int64)  # hull position per group
    closed = np.zeros(spend.shape[0], dtype=bool)
    used = 0.0
    for ratio, g, j, ds in steps:
        if closed[g] or ratio < min_ratio:
            closed[g] = True
            continue
        if j != reached[g] + 1 or used + ds > budget:
            closed[g] = True
            continue
        used += ds
        reached[g] = j
        level[g] = hulls[g][j]
    return level, float(used)
