"""Adds items to a bundle without training: the shop's server places each new item's row from its
attributes (new_items.py: the trained items sharing the most of its words, fitted to the shop's own
shoppers' vectors), appends it to the item table and to the price head's per-item bias, and writes
a new bundle with a higher `release` for the engines to load. Every other file is copied unchanged,
and every item already in the bundle keeps its row and columns byte for byte.

The new items, a JSON list of records:

    [{"id": "sku-9001", "name": "Oat milk, 1 l", "category": "MILK BY-PRODUCTS", "department": "GROCERY",
      "listPrice": 2.49, "low30d": 2.29, "cost": 1.10, "attributes": ["organic"]}]

`listPrice`, `low30d` and `cost` where the bundle has those columns; `attributes` optional. The
department must be one the bundle has (its price head knows a fixed set); a category may be new.
`--sessions` holds the shop's recent shoppers, one per line, their item ids oldest first separated
by spaces (at least twice the bundle's `dims` distinct lines naming its items, of the first 50,000):
they are encoded with the bundle's encoder here, on the server, and only the placed rows ship.

    python3 models/training/add_items.py --bundle models/grocery --items new.json \\
        --sessions sessions.txt --out /srv/bundles/grocery-2.1 --model-version grocery-2.1 [--key shop.key]
"""
import argparse
import datetime
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import time
import unicodedata

import numpy as np
import onnx
from cryptography.exceptions import InvalidSignature
from onnx import numpy_helper
from safetensors.numpy import load as load_safetensors, save as save_safetensors

from bundle_writer import load_signing_key, quantize_int8, write_manifest
from evaluate_bundle import user_vectors
from new_items import item_words, neighbours, place_rows

NEIGHBOURS = 3  # K chosen on the grocery validation weeks (docs/quality.md, "New items")
MAX_SESSIONS = 50_000
MAX_RELEASE = 2**53 - 1  # what a JavaScript number holds exactly (docs/bundle.md)
MAX_ID_BYTES = 256  # src/events.rs: MAX_ITEM_ID_BYTES
# The ranges the engine loads (src/catalog.rs: PRICE_RANGE for prices; a cost may be 0).
PRICE_COLUMNS = {"list_price": ("listPrice", 0.01), "low_30d": ("low30d", 0.01), "cost": ("cost", 0.0)}
PRICE_MAX = 100_000.0
ATTRIBUTE_FIELDS = ("name", "category", "department")
PRICE_BIAS = "item_bias"  # price.safetensors [n]; price.onnx's initializer `item_bias.weight` [n, 1]
# What the engine accepts (src/bundle/mod.rs: is_safe_file_name; src/datetime.rs: parse_rfc3339_ms).
FILE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def whole(value, low: int, high: int) -> bool:
    """Whether a JSON value is a whole number (not a bool) from low to high."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def read_bundle(path: str, key) -> tuple[dict, str, dict[str, bytes]]:
    """The manifest, its sha256 and every file it lists, each checked against its listed size and
    sha256; a signed bundle's signature checked with `key`'s public half (refused without a key:
    the new release would lose it)."""
    try:
        with open(os.path.join(path, "manifest.json"), "rb") as f:
            raw = f.read()
        manifest = json.loads(raw)
        if not all(whole(manifest.get(k), 1, 1 << 16) for k in ("dims", "seqLen")):
            raise ValueError("`dims` and `seqLen` must be whole numbers")
        if not whole(manifest.get("release", 0), 0, MAX_RELEASE):
            raise ValueError(f"`release` must be a whole number from 0 to {MAX_RELEASE}")
        if not isinstance(manifest.get("training", {}), dict):
            raise ValueError("`training` must be an object")
        files = {}
        for name, entry in manifest["files"].items():
            if not FILE_NAME.fullmatch(name):
                raise ValueError(f"`files` lists {name!r}: file names must be plain names inside the bundle folder")
            with open(os.path.join(path, name), "rb") as f:
                data = f.read()
            if len(data) != entry["bytes"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
                raise ValueError(f"{name} does not match the manifest's size and sha256")
            files[name] = data
        signature = os.path.join(path, "manifest.sig")
        if os.path.exists(signature):
            if key is None:
                raise ValueError("it is signed: give --key to sign the new release (engines that pinned its "
                                 "key refuse an unsigned one)")
            with open(signature, "rb") as f:
                key.public_key().verify(f.read(), raw)
    except InvalidSignature:
        raise SystemExit(f"--bundle {path}: manifest.sig does not verify with --key's public half")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:
        raise SystemExit(f"--bundle {path}: not a readable bundle ({type(e).__name__}: {e})")
    return manifest, hashlib.sha256(raw).hexdigest(), files


def check_text(value, where: str, identifier: bool = False) -> None:
    """Raises ValueError unless `value` is a non-empty string the engine reads back as written: no
    lone surrogates or control characters; an id also in NFC, without spaces or invisible
    characters, and at most MAX_ID_BYTES bytes of UTF-8."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: a non-empty string")
    banned = ("C", "Z") if identifier else ("Cc", "Cs")
    if any(unicodedata.category(c).startswith(banned) for c in value):
        raise ValueError(f"{where}: holds a control character, a lone surrogate"
                         + (", a space or an invisible character" if identifier else ""))
    if identifier and (unicodedata.normalize("NFC", value) != value or len(value.encode()) > MAX_ID_BYTES):
        raise ValueError(f"{where}: at most {MAX_ID_BYTES} bytes of UTF-8, in NFC")


def check_items(new, known: list[dict], columns: set[str]) -> None:
    """Raises ValueError naming the first record and field that is not a valid new item."""
    if not isinstance(new, list) or not new:
        raise ValueError("--items: a non-empty JSON list of item records")
    ids = {item["id"] for item in known}
    departments = {item["department"] for item in known}
    fields = {"id", *ATTRIBUTE_FIELDS, "attributes"} | {PRICE_COLUMNS[c][0] for c in columns & set(PRICE_COLUMNS)}
    for i, item in enumerate(new):
        where = f"--items[{i}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: a record, not {type(item).__name__}")
        unknown = set(item) - fields
        if unknown:
            raise ValueError(f"{where}: fields {sorted(unknown)} are not ones this bundle takes ({sorted(fields)})")
        for field in ("id", *ATTRIBUTE_FIELDS):
            check_text(item.get(field), f"{where}.{field}", identifier=field == "id")
        if item["id"] in ids:
            raise ValueError(f"{where}.id: {item['id']!r} is already in the bundle or the list")
        ids.add(item["id"])
        if item["department"] not in departments:
            raise ValueError(f"{where}.department: {item['department']!r} is not one of the bundle's "
                             f"{len(departments)} departments")
        for column in columns & set(PRICE_COLUMNS):
            field, low = PRICE_COLUMNS[column]
            value = item.get(field)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= PRICE_MAX:
                raise ValueError(f"{where}.{field}: a number from {low:g} to {PRICE_MAX:g}")
        if {"list_price", "low_30d"} <= columns and item["low30d"] > item["listPrice"]:
            raise ValueError(f"{where}.low30d: above listPrice")
        if {"list_price", "cost"} <= columns and item["cost"] > item["listPrice"]:
            raise ValueError(f"{where}.cost: above listPrice")
        attributes = item.get("attributes", [])
        if not isinstance(attributes, list):
            raise ValueError(f"{where}.attributes: a list of strings")
        for j, attribute in enumerate(attributes):
            check_text(attribute, f"{where}.attributes[{j}]")


def read_items(path: str):
    """The new items' records as JSON, unchecked."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError, RecursionError) as e:
        raise ValueError(f"--items {path}: not a readable JSON file ({type(e).__name__}: {e})")


def read_sessions(path: str, index: dict[str, int], seq_len: int, minimum: int) -> list[list[int]]:
    """Each line's known item ids as table rows, the last seq_len of them (the encoder reads no
    more; unknown ids skipped), the distinct non-empty ones of the first MAX_SESSIONS lines."""
    try:
        with open(path) as f:
            rows = {tuple([index[i] for i in line.split() if i in index][-seq_len:])
                    for _, line in zip(range(MAX_SESSIONS), f)}
    except (OSError, ValueError) as e:
        raise ValueError(f"--sessions {path}: not a readable text file ({type(e).__name__}: {e})")
    sessions = sorted(list(r) for r in rows if r)
    if len(sessions) < minimum:
        raise ValueError(f"--sessions {path}: {len(sessions)} distinct lines name items of the bundle; the fit "
                         f"needs at least {minimum} (twice the bundle's dims)")
    return sessions


def release_of(requested: int | None, manifest: dict) -> int:
    """The new bundle's release: as requested, or now in Unix seconds; above the bundle's (0 when
    it has none) and at most 2^53 - 1."""
    old = manifest.get("release", 0)
    release = max(int(time.time()), old + 1) if requested is None else requested
    if not old < release <= MAX_RELEASE:
        raise ValueError(f"--release {release}: must be above the bundle's {old} and at most {MAX_RELEASE}")
    return release


def expiry_of(requested: str | None, manifest: dict) -> str | None:
    """The new bundle's `expires`: as requested, or the bundle's; refused when it has passed."""
    expires = requested if requested is not None else manifest.get("expires")
    if expires is None:
        return None
    where = f"--expires {expires}" if requested is not None else f"the bundle's `expires` {expires!r} (give --expires)"
    try:
        if not (isinstance(expires, str) and RFC3339.fullmatch(expires)):
            raise ValueError(expires)
        # A leap second (:60) reads as the instant after :59, as the engine reads it.
        text = expires[:17] + "59" + expires[19:] if expires[17:19] == "60" else expires
        at = datetime.datetime.fromisoformat(re.sub("[Zz]$", "+00:00", text).upper())
    except ValueError:
        raise ValueError(f"{where}: an RFC 3339 date-time with a zone, such as 2027-06-30T00:00:00Z")
    if at <= datetime.datetime.now(datetime.timezone.utc):
        raise ValueError(f"{where}: has passed; give a later one")
    return expires


def code_of(names: list[str], codes: np.ndarray) -> dict[str, int]:
    """The u32 code each name has in a column the export wrote (`category`, `department`)."""
    return {name: int(code) for name, code in zip(names, codes)}


def grown_table(tensors: dict, rows: np.ndarray, known: list[dict], new: list[dict], near: np.ndarray) -> dict:
    """The item table with the new items appended: their rows (int8 as the rest), prices and costs
    from the records, the neighbours' mean repeat weight, the department's code and the category's
    (a new category the next free code). Columns of the known items are unchanged."""
    out = dict(tensors)
    if "scale" in tensors:
        q, scale = quantize_int8(rows)
        out["embedding"] = np.concatenate([tensors["embedding"], q])
        out["scale"] = np.concatenate([tensors["scale"], scale])
    else:
        out["embedding"] = np.concatenate([tensors["embedding"], rows.astype(tensors["embedding"].dtype)])
    n = len(known)
    for name, column in tensors.items():
        if name in ("embedding", "scale") or column.shape[:1] != (n,):
            continue
        if name in PRICE_COLUMNS:
            extra = [item[PRICE_COLUMNS[name][0]] for item in new]
        elif name == "repeat":
            extra = column[near].mean(axis=1)
        elif name in ("category", "department"):
            codes = code_of([item[name] for item in known], column)
            for item in new:  # only a category can be new (check_items)
                codes.setdefault(item[name], max(codes.values()) + 1)
            extra = [codes[item[name]] for item in new]
        else:
            raise ValueError(f"items.safetensors: the column {name!r} has no value for a new item")
        out[name] = np.concatenate([column, np.asarray(extra, dtype=column.dtype)])
    return out


def grown_price_files(files: dict[str, bytes], near: np.ndarray, n: int) -> dict[str, bytes]:
    """The price head's files with the per-item bias grown by the neighbours' mean bias: in
    `price.safetensors` (`item_bias` [n]) and `price.onnx` (`item_bias.weight` [n, 1]). Empty
    when the bundle has no price head."""
    out = {}
    if "price.safetensors" in files:
        tensors = load_safetensors(files["price.safetensors"])
        bias = tensors.get(PRICE_BIAS)
        if bias is None or bias.shape != (n,):
            raise ValueError(f"price.safetensors: no {PRICE_BIAS} [{n}] to grow")
        out["price.safetensors"] = save_safetensors(
            {**tensors, PRICE_BIAS: np.concatenate([bias, bias[near].mean(axis=1).astype(bias.dtype)])})
    if "price.onnx" in files:
        model = onnx.load_from_string(files["price.onnx"])
        found = [t for t in model.graph.initializer if t.name == f"{PRICE_BIAS}.weight"]
        if len(found) != 1 or tuple(found[0].dims) != (n, 1):
            raise ValueError(f"price.onnx: no initializer {PRICE_BIAS}.weight [{n}, 1] to grow")
        bias = numpy_helper.to_array(found[0])
        found[0].CopyFrom(numpy_helper.from_array(np.concatenate([bias, bias[near].mean(axis=1)]), found[0].name))
        buffer = io.BytesIO()
        onnx.save(model, buffer)
        out["price.onnx"] = buffer.getvalue()
    return out


def grown_files(files: dict[str, bytes], manifest: dict, known: list[dict], tensors: dict, new: list[dict],
                sessions: list[list[int]]) -> dict[str, bytes]:
    """The files that change: the new items' rows placed (encoding the sessions with the bundle's
    `interest.onnx`) and appended to the item table, the price head grown, the records appended."""
    values = tensors["embedding"].astype(np.float32)
    rows = values * tensors["scale"][:, None] if "scale" in tensors else values
    with tempfile.TemporaryDirectory() as scratch:  # user_vectors reads interest.onnx from a folder
        with open(os.path.join(scratch, "interest.onnx"), "wb") as f:
            f.write(files["interest.onnx"])
        users = user_vectors(scratch, rows, sessions, manifest["seqLen"])
    near = neighbours([item_words(i) for i in new], [item_words(i) for i in known], NEIGHBOURS)
    records = [{f: item[f] for f in ("id", *ATTRIBUTE_FIELDS)} for item in new]
    return {"items.safetensors": save_safetensors(grown_table(tensors, place_rows(rows, users, near), known, new, near)),
            **grown_price_files(files, near, len(known)),
            "items.json": (json.dumps(known + records, indent=0) + "\n").encode()}


def check_out(out: str, bundle: str) -> None:
    """Raises ValueError unless `out` is a new folder's path: nothing there (not even a link), its
    parent a folder, and not inside the bundle it grows from."""
    parent = os.path.dirname(os.path.abspath(out))
    if not out or os.path.lexists(out):
        raise ValueError(f"--out {out!r}: already exists (or is empty)")
    if not os.path.isdir(parent):
        raise ValueError(f"--out {out}: {parent} is not a folder")
    if os.path.commonpath([os.path.realpath(parent), os.path.realpath(bundle)]) == os.path.realpath(bundle):
        raise ValueError(f"--out {out}: inside --bundle {bundle}")


def write_atomically(out: str, manifest: dict, files: dict[str, bytes], key) -> None:
    """Writes the bundle into a staging folder beside `out` and renames it into place, so that it
    appears whole or not at all, with the folder mode the umask gives."""
    staging = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(out)), prefix=".add-items-")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)
        write_manifest(staging, manifest, files, key)
        os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", required=True, help="the bundle the new items join")
    p.add_argument("--items", required=True, help="JSON list of the new items' records")
    p.add_argument("--sessions", required=True, help="the shop's shoppers: item ids per line, oldest first")
    p.add_argument("--out", required=True, help="folder for the new bundle (must not exist)")
    p.add_argument("--model-version", required=True)
    p.add_argument("--key", help="ed25519 private key (PEM) that signs the new manifest")
    p.add_argument("--release", type=int, help="the new bundle's release (default: now in Unix seconds, "
                                                "or one above the bundle's if that is higher)")
    p.add_argument("--expires", help="the new bundle's `expires` (default: the bundle's)")
    a = p.parse_args()

    key = load_signing_key(a.key) if a.key else None
    try:
        check_out(a.out, a.bundle)
    except ValueError as e:
        raise SystemExit(str(e))
    manifest, digest, files = read_bundle(a.bundle, key)
    if "privacy" in manifest:
        raise SystemExit(f"--bundle {a.bundle}: its differential-privacy guarantee would not cover rows fitted "
                         "to shoppers' sessions without noise; add the items to its training data instead")
    missing = {"items.json", "items.safetensors", "interest.onnx"} - set(files)
    if missing:
        raise SystemExit(f"--bundle {a.bundle}: lists no {', '.join(sorted(missing))}; items are placed with them")
    try:  # any failure here is in the bundle's own files, which passed their digests
        known = json.loads(files["items.json"])
        tensors = load_safetensors(files["items.safetensors"])
    except Exception as e:
        raise SystemExit(f"--bundle {a.bundle}: items.json or items.safetensors unreadable ({type(e).__name__}: {e})")
    if not isinstance(known, list) or not all(isinstance(item, dict) and isinstance(item.get("id"), str)
                                              for item in known):
        raise SystemExit(f"--bundle {a.bundle}: items.json is not a list of item records")
    if not all(isinstance(item.get(f), str) for item in known for f in ATTRIBUTE_FIELDS):
        raise SystemExit(f"--bundle {a.bundle}: its items carry no {', '.join(ATTRIBUTE_FIELDS)} to place "
                         "new items from; add them by training")
    try:
        check_text(a.model_version, "--model-version")
        new = read_items(a.items)
        check_items(new, known, set(tensors))
        sessions = read_sessions(a.sessions, {item["id"]: i for i, item in enumerate(known)}, manifest["seqLen"],
                                 2 * manifest["dims"])
        release = release_of(a.release, manifest)
        expires = expiry_of(a.expires, manifest)
    except ValueError as e:
        raise SystemExit(str(e))
    try:  # the inputs are checked: a failure here is in the bundle's own tensors or graphs
        grown = grown_files(files, manifest, known, tensors, new, sessions)
    except Exception as e:
        raise SystemExit(f"--bundle {a.bundle}: its tables or graphs do not take new items ({type(e).__name__}: {e})")
    manifest.update(modelVersion=a.model_version, release=release, itemCount=len(known) + len(new))
    if expires is not None:
        manifest["expires"] = expires
    manifest.setdefault("training", {})["addedItems"] = {
        "from": digest, "count": len(new), "neighbours": NEIGHBOURS, "fittedSessions": len(sessions)}
    try:
        write_atomically(a.out, manifest, {**files, **grown}, key)
    except OSError as e:
        raise SystemExit(f"--out {a.out}: not writable ({e})")
    print(f"{a.out}: {len(new)} items added to {len(known)} (release {release})")


if __name__ == "__main__":
    main()
