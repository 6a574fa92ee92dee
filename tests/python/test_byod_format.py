"""The bring-your-own-data checks (models/training/byod_format.py) on deliberately broken copies of
a small real export (tests/python/data: 4 households and 30 products of The Complete Journey, made
by export_csv_completejourney.py): every broken file must be refused with its file, line and column
named, and the intact pair must pass. Standard library only:

    python3 -m unittest discover -s tests/python -v
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "models", "training"))

import byod_format  # noqa: E402
from byod_format import InvalidData  # noqa: E402

DATA = os.path.join(HERE, "data")
NOW = 1_800_000_000.0  # a fixed "now" (2027-01-15) for the future-timestamp rule


def load(name: str) -> list[list[str]]:
    """A fixture file as rows of fields, the header first."""
    with open(os.path.join(DATA, name), newline="") as f:
        return list(csv.reader(f))


class Case(unittest.TestCase):
    """Writes edited copies of the fixture into a temporary folder and reads them."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.interactions = load("interactions.csv")
        self.catalogue = load("catalogue.csv")

    def write(self, name: str, rows: list[list[str]] | str) -> str:
        path = os.path.join(self.dir, name)
        with open(path, "w", newline="") as f:
            if isinstance(rows, str):
                f.write(rows)
            else:
                csv.writer(f).writerows(rows)
        return path

    def read(self):
        return byod_format.read(self.write("interactions.csv", self.interactions),
                                self.write("catalogue.csv", self.catalogue), now=NOW)

    def problems(self) -> list[byod_format.Problem]:
        with self.assertRaises(InvalidData) as caught:
            self.read()
        return caught.exception.problems

    def assertProblem(self, file: str, line: int | None, column: str | None, words: str) -> None:
        """The read fails, and one problem names this file, line and column and says `words`."""
        found = self.problems()
        for p in found:
            if (os.path.basename(p.file), p.line, p.column) == (file, line, column) and words in p.message:
                text = str(p)
                self.assertIn(file, text)
                if line is not None:
                    self.assertIn(f"line {line}", text)
                if column is not None:
                    self.assertIn(f'column "{column}"', text)
                return
        self.fail(f"no problem {file}:{line}:{column} saying {words!r} among:\n" + "\n".join(map(str, found)))

    def set(self, rows: list[list[str]], line: int, column: str, value: str) -> None:
        """Sets a cell: `line` counts the header as line 1."""
        rows[line - 1][rows[0].index(column)] = value


class ValidFiles(Case):
    def test_the_fixture_passes(self):
        cat, events = self.read()
        self.assertEqual(len(cat.ids), 30)
        self.assertEqual(len(events.rows), 172)
        self.assertIsNone(cat.costs)  # the data has no costs: the column is empty throughout
        self.assertEqual(set(events.types), {"purchase"})
        self.assertEqual(cat.ids[events.rows[0]], self.interactions[1][1])
        self.assertTrue(any("no interactions" in w for w in events.warnings))

    def test_columns_in_any_order_case_and_extra_columns(self):
        header = self.interactions[0]
        order = [header.index(c) for c in ("timestamp", "type", "price", "item", "shopper")]
        self.interactions = [[row[i] for i in order] + ["x"] for row in self.interactions]
        self.interactions[0] = [c.upper() for c in self.interactions[0][:-1]] + ["store"]
        _, events = self.read()
        self.assertEqual(len(events.rows), 172)

    def test_other_event_types_and_timestamp_forms(self):
        self.set(self.interactions, 2, "type", "View")
        self.set(self.interactions, 3, "type", "cart")
        self.set(self.interactions, 2, "timestamp", "1483296295")  # Unix seconds
        self.set(self.interactions, 3, "timestamp", "1483567430000")  # Unix milliseconds
        self.set(self.interactions, 4, "timestamp", "2017-01-04 23:03:50+01:00")
        self.set(self.interactions, 5, "price", "")  # a paid price is optional per row
        _, events = self.read()
        self.assertEqual(events.types[:2], ["view", "cart"])
        self.assertEqual(events.timestamps[0], 1483296295.0)
        self.assertEqual(events.timestamps[1], 1483567430.0)
        self.assertEqual(events.timestamps[2], events.timestamps[1])  # 22:03:50Z
        self.assertIsNone(events.prices[3])

    def test_costs_given_for_every_item(self):
        for line in range(2, len(self.catalogue) + 1):
            self.set(self.catalogue, line, "cost", "0.5")
        cat, _ = self.read()
        self.assertEqual(cat.costs, [0.5] * 30)


class BrokenCatalogue(Case):
    def test_missing_column(self):
        col = self.catalogue[0].index("list_price")
        self.catalogue = [row[:col] + row[col + 1:] for row in self.catalogue]
        self.assertProblem("catalogue.csv", 1, "list_price", "missing column")

    def test_duplicate_id(self):
        self.set(self.catalogue, 9, "id", self.catalogue[3][0])
        self.assertProblem("catalogue.csv", 9, "id", "duplicate id '995242' (first on line 4)")

    def test_negative_list_price(self):
        self.set(self.catalogue, 5, "list_price", "-2.49")
        self.assertProblem("catalogue.csv", 5, "list_price", "negative")

    def test_zero_list_price(self):
        self.set(self.catalogue, 6, "list_price", "0")
        self.assertProblem("catalogue.csv", 6, "list_price", "above zero")

    def test_price_with_a_currency_sign(self):
        self.set(self.catalogue, 7, "list_price", "$3.99")
        self.assertProblem("catalogue.csv", 7, "list_price", "not a number")

    def test_thirty_day_low_above_list_price(self):
        self.set(self.catalogue, 8, "low_30d", "99")
        self.assertProblem("catalogue.csv", 8, "low_30d", "above the list price")

    def test_negative_cost(self):
        for line in range(2, len(self.catalogue) + 1):
            self.set(self.catalogue, line, "cost", "0.5")
        self.set(self.catalogue, 10, "cost", "-0.1")
        self.assertProblem("catalogue.csv", 10, "cost", "negative")

    def test_cost_for_some_items_only(self):
        self.set(self.catalogue, 3, "cost", "0.5")
        self.assertProblem("catalogue.csv", 2, "cost", "empty cost")

    def test_empty_name_and_category(self):
        self.set(self.catalogue, 11, "name", "")
        self.set(self.catalogue, 12, "category", " ")
        self.assertProblem("catalogue.csv", 11, "name", "empty name")
        self.assertProblem("catalogue.csv", 12, "category", "empty category")

    def test_short_row(self):
        self.catalogue[12] = self.catalogue[12][:4]
        self.assertProblem("catalogue.csv", 13, None, "4 fields where the header has 8")

    def test_missing_file(self):
        self.catalogue = None
        with self.assertRaises(InvalidData) as caught:
            byod_format.read(self.write("interactions.csv", self.interactions), os.path.join(self.dir, "nope.csv"))
        self.assertIn("nope.csv: file not found", str(caught.exception))


class BrokenInteractions(Case):
    def test_missing_column(self):
        self.interactions = [row[:3] + row[4:] for row in self.interactions]  # no timestamp
        self.assertProblem("interactions.csv", 1, "timestamp", "missing column")

    def test_unknown_item(self):
        self.set(self.interactions, 40, "item", "SKU-404")
        self.assertProblem("interactions.csv", 40, "item", "unknown item 'SKU-404'")

    def test_bad_type(self):
        self.set(self.interactions, 17, "type", "wishlist")
        self.assertProblem("interactions.csv", 17, "type", "not one of view, cart, purchase")

    def test_bad_timestamp(self):
        self.set(self.interactions, 23, "timestamp", "03/01/2017 8:15")
        self.assertProblem("interactions.csv", 23, "timestamp", "is not a timestamp")

    def test_timestamp_in_the_wrong_unit(self):
        self.set(self.interactions, 24, "timestamp", "1483296295000000")  # microseconds
        self.assertProblem("interactions.csv", 24, "timestamp", "is not a timestamp")

    def test_future_timestamp(self):
        self.set(self.interactions, 25, "timestamp", "2030-01-01T00:00:00Z")
        self.assertProblem("interactions.csv", 25, "timestamp", "in the future")

    def test_negative_paid_price(self):
        self.set(self.interactions, 30, "price", "-1.50")
        self.assertProblem("interactions.csv", 30, "price", "negative")

    def test_empty_shopper(self):
        self.set(self.interactions, 31, "shopper", "")
        self.assertProblem("interactions.csv", 31, "shopper", "empty shopper id")

    def test_quoted_field_over_two_lines_keeps_line_numbers(self):
        self.set(self.catalogue, 2, "name", "Bananas,\n40 lb")
        self.set(self.catalogue, 4, "list_price", "-1")  # the file's line 5: line 2's name spans two lines
        self.assertProblem("catalogue.csv", 5, "list_price", "negative")

    def test_too_short_a_span(self):
        self.interactions = self.interactions[:1] + [r for r in self.interactions[1:] if r[3] < "2017-03"]  # two months
        self.assertProblem("interactions.csv", None, "timestamp", "weeks; at least 12 are needed")

    def test_no_purchase_in_the_test_weeks(self):
        for row in self.interactions[1:]:
            if row[3] >= "2017-12":
                row[2] = "view"
        self.assertProblem("interactions.csv", None, "type", "no purchase in the test weeks")

    def test_problems_of_both_files_together_and_counted(self):
        for line in range(2, 40):
            self.set(self.interactions, line, "type", "bought")
        self.set(self.catalogue, 5, "low_30d", "abc")
        with self.assertRaises(InvalidData) as caught:
            self.read()
        e = caught.exception
        self.assertEqual(len(e.problems), 1 + byod_format.MAX_ERRORS)
        self.assertIn("catalogue.csv, line 5", str(e))
        self.assertIn("interactions.csv: 18 more problems not shown", str(e))

    def test_not_utf8(self):
        path = os.path.join(self.dir, "interactions.csv")
        self.write("interactions.csv", self.interactions)
        with open(path, "ab") as f:
            f.write("594,1082185,purchase,2017-12-30T10:00:00Z,1\xe9\n".encode("latin-1"))
        with self.assertRaises(InvalidData) as caught:
            byod_format.read(path, self.write("catalogue.csv", self.catalogue), now=NOW)
        self.assertIn("not UTF-8", str(caught.exception))


class CommandLine(Case):
    def test_exit_status_and_message(self):
        self.set(self.interactions, 40, "item", "SKU-404")
        run = subprocess.run([sys.executable, os.path.join(ROOT, "models", "training", "byod_format.py"),
                              "--interactions", self.write("interactions.csv", self.interactions),
                              "--catalogue", self.write("catalogue.csv", self.catalogue)],
                             capture_output=True, text=True)
        self.assertEqual(run.returncode, 2)
        self.assertIn('interactions.csv, line 40, column "item": unknown item \'SKU-404\'', run.stderr)


if __name__ == "__main__":
    unittest.main()
