"""The bring-your-own-data input format (docs/byod.md): a shop's interactions and catalogue as two
CSV files, read and checked before anything is trained. Every problem names its file, line (the
header is line 1) and column; all of a file's problems are collected (up to MAX_ERRORS shown each)
so that a merchant can fix them in one pass.

Standard library only, so that the checks and their tests run on any Python 3.11 without the
training packages:

    python3 models/training/byod_format.py --interactions events.csv --catalogue catalogue.csv
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

INTERACTION_COLUMNS = ("shopper", "item", "type", "timestamp")
INTERACTION_OPTIONAL = ("price",)  # what the shopper paid per unit, where the export has it
CATALOGUE_COLUMNS = ("id", "name", "category", "list_price", "cost", "low_30d")
CATALOGUE_OPTIONAL = ("department", "attributes")  # the price head's grouping; words that place new items
EVENT_TYPES = ("view", "cart", "purchase")
MAX_ERRORS = 20  # problems shown per file; the rest are counted
DAY = 86400.0
EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc).timestamp()  # before this, a timestamp's unit is wrong


@dataclass
class Problem:
    """One thing wrong with an input file; `line` None when it is about the whole file."""

    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [os.path.basename(self.file)]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f'column "{self.column}"')
        return f"{', '.join(where)}: {self.message}"


class InvalidData(Exception):
    """The inputs break the format: every problem found, each naming file, line and column."""

    def __init__(self, problems: list[Problem], hidden: dict[str, int] | None = None):
        self.problems = problems
        self.hidden = hidden or {}
        lines = [str(p) for p in problems]
        lines += [f"{os.path.basename(f)}: {n:,} more problems not shown" for f, n in self.hidden.items() if n]
        super().__init__("\n".join(lines))


@dataclass
class Catalogue:
    """The catalogue's rows in file order (the bundle's table order)."""

    ids: list[str]
    names: list[str]
    categories: list[str]
    departments: list[str]  # the category where the file has no department column
    list_prices: list[float]
    costs: list[float] | None  # None when the cost column is empty throughout
    low_30d: list[float]
    attributes: list[list[str]]  # per item: its attribute words, lower case


@dataclass
class Interactions:
    """The interactions in file order: catalogue rows, types, seconds since the epoch (UTC), and
    the paid unit price (None where not given)."""

    shoppers: list[str]
    rows: list[int]
    types: list[str]
    timestamps: list[float]
    prices: list[float | None]
    warnings: list[str] = field(default_factory=list)


class _Collector:
    """Problems of one file: the first MAX_ERRORS kept, the rest counted."""

    def __init__(self, path: str):
        self.path, self.kept, self.count = path, [], 0

    def add(self, line: int | None, column: str | None, message: str) -> None:
        self.count += 1
        if len(self.kept) < MAX_ERRORS:
            self.kept.append(Problem(self.path, line, column, message))

    @property
    def hidden(self) -> int:
        return self.count - len(self.kept)


def _rows(path: str, required: tuple[str, ...], optional: tuple[str, ...], out: _Collector):
    """Yields (line, {column: text}) for each data row of a CSV file whose header has the required
    columns (names compared without case or surrounding spaces; other columns ignored). Missing
    columns, undecodable bytes and rows of the wrong length go to `out`."""
    if not os.path.isfile(path):
        out.add(None, None, "file not found")
        return
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            header = next(reader, None)
            if header is None:
                out.add(None, None, "the file is empty (expected a header line naming the columns)")
                return
            names = [h.strip().lower() for h in header]
            missing = [c for c in required if c not in names]
            for column in missing:
                out.add(1, column, f"missing column (the header has: {', '.join(names)})")
            if missing:
                return
            index = {c: names.index(c) for c in required + optional if c in names}
            line = reader.line_num
            for fields in reader:
                line, start = reader.line_num, line + 1
                if not fields or all(not x.strip() for x in fields):
                    continue
                if len(fields) != len(names):
                    out.add(start, None, f"{len(fields)} fields where the header has {len(names)}")
                    continue
                yield start, {c: fields[i].strip() for c, i in index.items()}
        except UnicodeDecodeError as e:
            out.add(None, None, f"not UTF-8 text ({e.reason} at byte {e.start} of a block); save the file as UTF-8")
        except csv.Error as e:
            out.add(reader.line_num, None, f"not valid CSV: {e}")


def parse_number(text: str) -> float | None:
    """A plain decimal number (no currency sign, no thousands separator), or None."""
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def parse_timestamp(text: str) -> float | None:
    """Seconds since the epoch from ISO 8601 (`2017-03-01T08:15:00Z`, `2017-03-01 08:15:00+01:00`,
    `2017-03-01`; no zone means UTC) or a Unix time in seconds (10 digits) or milliseconds (13
    digits); None when the text is neither."""
    if re.fullmatch(r"\d{10}", text):
        return float(text)
    if re.fullmatch(r"\d{13}", text):
        return int(text) / 1000.0
    try:
        stamp = datetime.fromisoformat(re.sub(r"[Zz]$", "+00:00", text))  # Python before 3.11 reads no Z
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.timestamp()


def _price(out: _Collector, line: int, column: str, text: str, positive: bool) -> float | None:
    """A price cell as a number, or None with the problem added to `out`."""
    value = parse_number(text)
    if value is None:
        out.add(line, column, f"{text!r} is not a number (write 3.99: no currency sign, no thousands separator)")
    elif value < 0:
        out.add(line, column, f"{text} is negative")
    elif positive and value == 0:
        out.add(line, column, f"{text}: must be above zero")
    else:
        return value
    return None


def attribute_words(text: str) -> list[str]:
    """`brand=Acme; size=500 g; organic` -> [`brand=acme`, `size=500 g`, `organic`]."""
    return [" ".join(part.lower().split()) for part in text.split(";") if part.strip()]


def read_catalogue(path: str) -> Catalogue:
    """The catalogue, checked: ids present and unique; name and category present; list price and
    30-day low positive numbers, the low not above the list price; cost a number not below zero,
    given for every item or for none. Raises InvalidData with every problem."""
    out = _Collector(path)
    cat = Catalogue([], [], [], [], [], [], [], [])
    first_line: dict[str, int] = {}
    cost_lines: list[tuple[int, str]] = []
    for line, row in _rows(path, CATALOGUE_COLUMNS, CATALOGUE_OPTIONAL, out):
        ok = True
        item = row["id"]
        if not item:
            out.add(line, "id", "empty id")
            ok = False
        elif item in first_line:
            out.add(line, "id", f"duplicate id {item!r} (first on line {first_line[item]})")
            ok = False
        for column in ("name", "category"):
            if not row[column]:
                out.add(line, column, f"empty {column}")
                ok = False
        list_price = _price(out, line, "list_price", row["list_price"], positive=True)
        low = _price(out, line, "low_30d", row["low_30d"], positive=True)
        if list_price is not None and low is not None and low > list_price + 1e-9:
            out.add(line, "low_30d", f"30-day low {low} is above the list price {list_price}")
            ok = False
        cost = None
        if row["cost"]:
            cost = _price(out, line, "cost", row["cost"], positive=False)
            ok &= cost is not None
        cost_lines.append((line, row["cost"]))
        if not ok or list_price is None or low is None:
            continue
        first_line[item] = line
        cat.ids.append(item)
        cat.names.append(row["name"])
        cat.categories.append(row["category"])
        cat.departments.append(row.get("department") or row["category"])
        cat.list_prices.append(list_price)
        cat.costs.append(cost if cost is not None else math.nan)
        cat.low_30d.append(low)
        cat.attributes.append(attribute_words(row.get("attributes", "")))
    given = [line for line, text in cost_lines if text]
    if given and len(given) < len(cost_lines):
        empty = next(line for line, text in cost_lines if not text)
        out.add(empty, "cost", f"empty cost, but {len(given):,} other items have one: give every item's cost, "
                               "or leave the column empty throughout (the shop's default cost ratio then applies)")
    if not cost_lines and not out.count:
        out.add(None, None, "no items")
    if out.count:
        raise InvalidData(out.kept, {path: out.hidden})
    if not given:
        cat.costs = None
    return cat


def read_interactions(path: str, catalogue: Catalogue | None, now: float | None = None) -> Interactions:
    """The interactions, checked: shopper present; item in the catalogue (when one was read);
    type view, cart or purchase; timestamp ISO 8601 or Unix time, after 1990 and not more than a
    day ahead of `now`; price, where given, a number not below zero. Raises InvalidData."""
    out = _Collector(path)
    row_of = {item: r for r, item in enumerate(catalogue.ids)} if catalogue else None
    limit = (now if now is not None else time.time()) + DAY
    data = Interactions([], [], [], [], [])
    for line, row in _rows(path, INTERACTION_COLUMNS, INTERACTION_OPTIONAL, out):
        ok = True
        if not row["shopper"]:
            out.add(line, "shopper", "empty shopper id")
            ok = False
        item = row["item"]
        if not item:
            out.add(line, "item", "empty item id")
            ok = False
        elif row_of is not None and item not in row_of:
            out.add(line, "item", f"unknown item {item!r}: not an id of the catalogue")
            ok = False
        kind = row["type"].lower()
        if kind not in EVENT_TYPES:
            out.add(line, "type", f"{row['type']!r} is not one of {', '.join(EVENT_TYPES)}")
            ok = False
        ts = parse_timestamp(row["timestamp"])
        if ts is None:
            out.add(line, "timestamp", f"{row['timestamp']!r} is not a timestamp (ISO 8601 such as "
                                       "2017-03-01T08:15:00Z, or Unix seconds or milliseconds)")
            ok = False
        elif ts < EARLIEST or ts > limit:
            when = datetime.fromtimestamp(ts, timezone.utc).isoformat() if abs(ts) < 1e11 else "far away"
            out.add(line, "timestamp", f"{row['timestamp']!r} reads as {when}: before 1990 or in the future")
            ok = False
        price = None
        if row.get("price"):
            price = _price(out, line, "price", row["price"], positive=False)
            ok &= price is not None
        if ok and row_of is not None:
            data.shoppers.append(row["shopper"])
            data.rows.append(row_of[item])
            data.types.append(kind)
            data.timestamps.append(ts)
            data.prices.append(price)
    if not data.rows and not out.count and row_of is not None:
        out.add(None, None, "no interactions")
    if out.count:
        raise InvalidData(out.kept, {path: out.hidden})
    return data


def check_span(data: Interactions, path: str, test_weeks: int, valid_weeks: int, min_train_weeks: int = 4) -> None:
    """The interactions must cover the training weeks, then the validation and test weeks (the last
    ones), with purchases in each stage; raises InvalidData otherwise."""
    problems = []
    end = max(data.timestamps)
    weeks = (end - min(data.timestamps)) / (7 * DAY)
    needed = test_weeks + valid_weeks + min_train_weeks
    if weeks < needed:
        problems.append(Problem(path, None, "timestamp",
                                f"the interactions span {weeks:.1f} weeks; at least {needed} are needed "
                                f"({min_train_weeks} to train on, {valid_weeks} to validate, "
                                f"the last {test_weeks} to test)"))
    else:
        stages = {"training": (-math.inf, end - (test_weeks + valid_weeks) * 7 * DAY),
                  "validation": (end - (test_weeks + valid_weeks) * 7 * DAY, end - test_weeks * 7 * DAY),
                  "test": (end - test_weeks * 7 * DAY, end + 1)}
        for name, (lo, hi) in stages.items():
            if not any(lo <= t < hi and k == "purchase" for t, k in zip(data.timestamps, data.types)):
                problems.append(Problem(path, None, "type", f"no purchase in the {name} weeks"))
    if problems:
        raise InvalidData(problems)


def read(interactions: str, catalogue: str, test_weeks: int = 4, valid_weeks: int = 4,
         now: float | None = None) -> tuple[Catalogue, Interactions]:
    """Both files, checked; every problem of both raised together as one InvalidData. Items of the
    interactions are checked against the catalogue only when the catalogue itself is valid."""
    problems, hidden = [], {}
    cat = None
    try:
        cat = read_catalogue(catalogue)
    except InvalidData as e:
        problems, hidden = e.problems, e.hidden
    try:
        events = read_interactions(interactions, cat, now)
    except InvalidData as e:
        raise InvalidData(problems + e.problems, {**hidden, **e.hidden}) from None
    if problems:
        raise InvalidData(problems, hidden)
    check_span(events, interactions, test_weeks, valid_weeks)
    seen = set(events.rows)
    if len(seen) < len(cat.ids):
        events.warnings.append(f"{len(cat.ids) - len(seen):,} of {len(cat.ids):,} catalogue items have no interactions: "
                               "they are placed by their name, category and attributes only")
    if cat.costs is None:
        events.warnings.append("no costs: the shop's default cost ratio (defaultCostRatio) stands in for them")
    if all(p is None for p in events.prices):
        events.warnings.append("no paid prices: the price head cannot learn how price moves demand "
                               "(its elasticity stays at its starting value)")
    return cat, events


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--interactions", required=True)
    p.add_argument("--catalogue", required=True)
    p.add_argument("--test-weeks", type=int, default=4)
    p.add_argument("--valid-weeks", type=int, default=4)
    a = p.parse_args()
    try:
        cat, events = read(a.interactions, a.catalogue, a.test_weeks, a.valid_weeks)
    except InvalidData as e:
        print(f"the input files have problems:\n{e}", file=sys.stderr)
        sys.exit(2)
    print(f"valid: {len(cat.ids):,} items, {len(events.rows):,} interactions of {len(set(events.shoppers)):,} shoppers")
    for warning in events.warnings:
        print(f"note: {warning}")


if __name__ == "__main__":
    main()
