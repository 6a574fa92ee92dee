"""Adds items to a bundle without training: the shop's server places each new item's row from its
attributes (new_items.py: the trained items sharing the most of its words, and the shop's own
shoppers' vectors), appends it to the item table, and writes a new bundle with a higher `release`
for the engines to load. Every file but `items.json` and `items.safetensors` is copied unchanged;
every trained item keeps its row and columns byte for byte.

The new items, a JSON list of records:

    [{"id": "sku-9001", "name": "Oat milk, 1 l", "category": "MILK BY-PRODUCTS", "department": "GROCERY",
      "listPrice": 2.49, "low30d": 2.29, "cost": 1.10, "attributes": ["organic"]}]

`cost` where the bundle has a cost column, `attributes` optional. The department must be one the
bundle has (its price head knows a fixed set); a category may be new. `--sessions` holds the shop's
recent shoppers, one per line, their item ids oldest first, separated by spaces: they are encoded
with the bundle's encoder here, on the server, and only the placed rows ship.

    python3 models/training/add_items.py --bundle models/grocery --items new.json \\
        --sessions sessions.txt --out /srv/bundles/grocery-2.1 --model-version grocery-2.1 [--key shop.key]
"""
import argparse
import hashlib
import json
import os
import time

import numpy as np
from safetensors.numpy import load_file, save as save_safetensors

from bundle_writer import quantize_int8, write_manifest
from evaluate_bundle import user_vectors
from new_items import item_words, neighbours, place_rows

NEIGHBOURS = 3  # K chosen on the grocery validation weeks (docs/quality.md, "New items")
# The ranges the engine loads (src/catalog.rs: PRICE_RANGE for prices; a cost may be 0).
PRICE_FIELDS = {"listPrice": (0.01, 100_000.0), "low30d": (0.01, 100_000.0), "cost": (0.0, 100_000.0)}
RECORD_FIELDS = {"id", "name", "category", "department", "listPrice", "low30d", "cost", "attributes"}


def check_items(new: list, known: list[dict], has_cost: bool) -> None:
    """Raises ValueError naming the first record and field that is not a valid new item."""
    if not isinstance(new, list) or not new:
        raise ValueError("--items: a non-empty JSON list of item records")
    ids = {item["id"] for item in known}
    departments = {item["department"] for item in known}
    for i, item in enumerate(new):
        where = f"--items[{i}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: a record, not {type(item).__name__}")
        unknown = set(item) - RECORD_FIELDS
        if unknown:
            raise ValueError(f"{where}: unknown fields {sorted(unknown)}")
        for field in ("id", "name", "category", "department"):
            if not isinstance(item.get(field), str) or not item[field].strip():
                raise ValueError(f"{where}.{field}: a non-empty string")
        if item["id"] in ids:
            raise ValueError(f"{where}.id: {item['id']!r} is already in the bundle or the list")
        ids.add(item["id"])
        if item["department"] not in departments:
            raise ValueError(f"{where}.department: {item['department']!r} is not one of the bundle's "
                             f"{len(departments)} departments")
        for field, (low, high) in PRICE_FIELDS.items():
            value = item.get(field)
            if field == "cost" and not has_cost:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise ValueError(f"{where}.{field}: a number from {low:g} to {high:g}")
        if item["low30d"] > item["listPrice"]:
            raise ValueError(f"{where}.low30d: above listPrice")
        attributes = item.get("attributes", [])
        if not isinstance(attributes, list) or not all(isinstance(a, str) for a in attributes):
            raise ValueError(f"{where}.attributes: a list of strings")


def read_sessions(path: str, index: dict[str, int]) -> list[list[int]]:
    """Each line's known item ids as table rows (unknown ids skipped; empty lines dropped)."""
    with open(path) as f:
        sessions = [[index[i] for i in line.split() if i in index] for line in f]
    sessions = [s for s in sessions if s]
    if not sessions:
        raise ValueError(f"--sessions {path}: no line holds an item of the bundle")
    return sessions


def sorted_index(names: list[str]) -> np.ndarray:
    """u32 indices of each name into the sorted set of names (how the exports write the
    category and department columns)."""
    order = sorted(set(names))
    return np.array([order.index(n) for n in names], dtype=np.uint32)


def added_table(tensors: dict, rows: np.ndarray, known: list[dict], new: list[dict], near: np.ndarray) -> dict:
    """The item table with the new items appended: their rows, prices and costs, the neighbours'
    mean repeat weight, and the category and department columns indexed again."""
    n = len(known)
    out = dict(tensors)
    if "scale" in tensors:
        q, scale = quantize_int8(rows)
        out["embedding"] = np.concatenate([tensors["embedding"], q])
        out["scale"] = np.concatenate([tensors["scale"], scale])
    else:
        out["embedding"] = np.concatenate([tensors["embedding"], rows.astype(tensors["embedding"].dtype)])
    given = {"list_price": "listPrice", "low_30d": "low30d", "cost": "cost"}
    items = known + new
    for name, column in tensors.items():
        if name in ("embedding", "scale") or column.shape[:1] != (n,):
            continue
        if name in given:
            extra = np.array([item[given[name]] for item in new], dtype=column.dtype)
        elif name in ("category", "department"):
            out[name] = sorted_index([item[name] for item in items])
            continue
        elif name == "repeat":
            extra = column[near].mean(axis=1).astype(column.dtype)
        else:
            raise ValueError(f"the item table's column {name!r} has no value for a new item")
        out[name] = np.concatenate([column, extra])
    return out


def manifest_digest(bundle: str) -> str:
    """The sha256 of the bundle's manifest.json: which bundle the items were added to."""
    with open(os.path.join(bundle, "manifest.json"), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", required=True, help="the bundle the new items join")
    p.add_argument("--items", required=True, help="JSON list of the new items' records")
    p.add_argument("--sessions", required=True, help="the shop's shoppers: item ids per line, oldest first")
    p.add_argument("--out", required=True, help="folder for the new bundle (must not exist)")
    p.add_argument("--model-version", required=True)
    p.add_argument("--key", help="ed25519 private key (PEM) that signs the new manifest")
    p.add_argument("--release", type=int, help="the new bundle's release (default: now, in Unix seconds)")
    a = p.parse_args()

    with open(os.path.join(a.bundle, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(a.bundle, "items.json")) as f:
        known = json.load(f)
    with open(a.items) as f:
        new = json.load(f)
    tensors = load_file(os.path.join(a.bundle, "items.safetensors"))
    try:
        check_items(new, known, "cost" in tensors)
        sessions = read_sessions(a.sessions, {item["id"]: i for i, item in enumerate(known)})
    except ValueError as e:
        raise SystemExit(str(e))
    if "privacy" in manifest:
        raise SystemExit(f"--bundle {a.bundle}: its differential-privacy guarantee would not cover rows fitted "
                         "to shoppers' sessions without noise; add the items to its training data instead")
    release = int(time.time()) if a.release is None else a.release
    if release <= manifest.get("release", -1):
        raise SystemExit(f"--release {release}: not above the bundle's {manifest['release']}")
    if os.path.exists(a.out):
        raise SystemExit(f"--out {a.out}: already exists")

    values = tensors["embedding"].astype(np.float32)
    rows = values * tensors["scale"][:, None] if "scale" in tensors else values
    users = user_vectors(a.bundle, rows, sessions, manifest["seqLen"])
    near = neighbours([item_words(i) for i in new], [item_words(i) for i in known], NEIGHBOURS)
    placed = place_rows(rows, users, near)
    table = added_table(tensors, placed, known, new, near)
    records = [{k: item[k] for k in ("id", "name", "category", "department")} for item in new]
    copies = {}
    for name in manifest["files"]:
        if name not in ("items.json", "items.safetensors"):
            with open(os.path.join(a.bundle, name), "rb") as f:
                copies[name] = f.read()
    manifest.update(modelVersion=a.model_version, release=release, itemCount=len(known) + len(new))
    manifest.setdefault("training", {})["addedItems"] = {
        "from": manifest_digest(a.bundle), "count": len(new), "neighbours": NEIGHBOURS,
        "fittedSessions": len(sessions)}
    key = None
    if a.key:
        from byod import signing_key
        key = signing_key(a.key, new=False)
    write_manifest(a.out, manifest, {**copies, "items.safetensors": save_safetensors(table),
                                     "items.json": (json.dumps(known + records, indent=0) + "\n").encode()}, key)
    print(f"{a.out}: {len(new)} items added to {len(known)} (release {release})")


if __name__ == "__main__":
    main()
