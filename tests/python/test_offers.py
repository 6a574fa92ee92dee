"""The pure functions behind budgeted offers (models/training/offers.py), on random cases: the
allocator never plans more than the budget and picks one allowed level per group; allowed prices
obey every guardrail; shopper features count only events before the target week. Standard
library and numpy (skipped without numpy):

    python3 -m unittest discover -s tests/python -v
"""
from __future__ import annotations

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "models", "training"))

try:
    import numpy as np
except ImportError:  # pragma: no cover
    np = None

if np is not None:
    from offers import allocate, allowed_prices, history_counts, shopper_features, upper_hull  # noqa: E402


@unittest.skipIf(np is None, "numpy is not installed")
class Allocator(unittest.TestCase):
    def random_case(self, rng):
        groups, levels = rng.integers(1, 40), rng.integers(1, 8)
        spend = np.sort(rng.exponential(1.0, (groups, levels)), axis=1)
        spend[:, 0] = 0.0
        gain = rng.normal(0, 1, (groups, levels))
        gain[:, 0] = 0.0
        spend[rng.random((groups, levels)) < 0.2] = np.nan  # levels the guardrails forbid
        spend[:, 0] = 0.0
        return spend, gain

    def test_never_above_budget_and_one_allowed_level(self):
        rng = np.random.default_rng(1)
        for _ in range(300):
            spend, gain = self.random_case(rng)
            budget = float(rng.choice([0.0, rng.exponential(3.0), 1e9]))
            floor = float(rng.choice([-np.inf, 0.0]))
            level, used = allocate(spend, gain, budget, floor)
            rows = np.arange(len(level))
            self.assertLessEqual(used, budget + 1e-9)
            self.assertTrue(np.isfinite(spend[rows, level]).all())
            self.assertAlmostEqual(float(spend[rows, level].sum()), used, places=9)
            if floor == 0.0:
                self.assertTrue((gain[rows, level] >= -1e-12).all())

    def test_zero_budget_gives_list_price(self):
        spend, gain = np.array([[0.0, 1.0, 2.0]]), np.array([[0.0, 5.0, 6.0]])
        level, used = allocate(spend, gain, 0.0)
        self.assertEqual(level.tolist(), [0])
        self.assertEqual(used, 0.0)

    def test_best_ratio_first(self):
        spend = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
        gain = np.array([[0.0, -0.5], [0.0, 0.2], [0.0, -0.1]])
        level, used = allocate(spend, gain, 2.0)
        self.assertEqual(level.tolist(), [0, 1, 1])
        self.assertEqual(used, 2.0)

    def test_hull_is_concave_from_list_price(self):
        spend = np.array([0.0, 1.0, 2.0, 3.0])
        gain = np.array([0.0, 0.1, 1.0, 1.2])
        self.assertEqual(upper_hull(spend, gain), [0, 2, 3])


@unittest.skipIf(np is None, "numpy is not installed")
class Guardrails(unittest.TestCase):
    def test_allowed_prices_obey_every_bound(self):
        rng = np.random.default_rng(2)
        for _ in range(500):
            list_cents = int(rng.integers(1, 5000))
            cost = float(rng.uniform(0, 1.2) * list_cents)
            margin, discount, floor = float(rng.uniform(0, 0.5)), float(rng.uniform(0, 1)), float(rng.uniform(0, 0.9))
            prices = allowed_prices(list_cents, cost, margin, discount, floor, (49, 99))
            self.assertEqual(int(prices[-1]), list_cents)
            below = prices[:-1]
            self.assertTrue((below < list_cents).all())
            self.assertTrue(np.isin(below % 100, (49, 99)).all())
            self.assertTrue((below >= cost * (1 + margin) - 1e-9).all())
            self.assertTrue((below >= list_cents * (1 - discount) - 1e-9).all())
            self.assertTrue((below >= list_cents * floor - 1e-9).all())
            self.assertTrue((np.diff(prices) > 0).all())

    def test_engine_example(self):
        # src/pricing/guardrails.rs: list 500, cost 300, endings 49/99 -> 399, 449, 499 (and the
        # list price, which the engine quotes when no allowed price wins)
        self.assertEqual(allowed_prices(500, 300.0, endings=(49, 99)).tolist(), [399, 449, 499, 500])


@unittest.skipIf(np is None, "numpy is not installed")
class ShopperFeatures(unittest.TestCase):
    def test_only_events_before_the_week(self):
        rng = np.random.default_rng(3)
        key, week = rng.integers(0, 20, 2000), rng.integers(1, 54, 2000)
        values = rng.random((2000, 2))
        qk, qw = rng.integers(0, 25, 300), rng.integers(1, 55, 300)
        got = history_counts(key, week, values, qk, qw)
        for j in range(300):
            want = values[(key == qk[j]) & (week < qw[j])].sum(axis=0)
            np.testing.assert_allclose(got[j], want, atol=1e-9)

    def test_later_events_change_nothing(self):
        key, week = np.array([1, 1, 1, 2]), np.array([3, 5, 9, 1])
        values = np.ones((4, 1))
        before = history_counts(key, week, values, np.array([1]), np.array([5]))
        later = history_counts(np.append(key, 1), np.append(week, 5), np.ones((5, 1)), np.array([1]), np.array([5]))
        self.assertEqual(before.tolist(), later.tolist())
        self.assertEqual(before.tolist(), [[1.0]])

    def test_new_shopper_gets_the_prior(self):
        f = shopper_features(np.array([0.0, 100.0]), np.array([0.0, 100.0]), np.array([0.0, 0.0]),
                             np.array([0.0, 3.0]), np.array([0.0, 0.0]), 0.5, 0.02, 20.0)
        np.testing.assert_allclose(f[0], [0.5, 0.02, 0.0, 0.0], atol=1e-6)
        self.assertAlmostEqual(float(f[1, 0]), (100 + 10) / 120, places=5)
        self.assertAlmostEqual(float(f[1, 2]), np.log1p(3.0), places=5)


if __name__ == "__main__":
    unittest.main()


try:
    import pandas as pd
except ImportError:  # pragma: no cover
    pd = None


@unittest.skipIf(np is None or pd is None, "numpy or pandas is not installed")
class ListDealShare(unittest.TestCase):
    """shopper_data.list_deals: the deal share a device counts from its own events: one event per
    basket and catalogue item, a deal when its loyalty price is below list by more than half a cent."""

    def test_events_and_the_half_cent_margin(self):
        from shopper_data import DEAL_MARGIN, list_deals

        t = pd.Timestamp("2017-03-01 10:00")
        lines = pd.DataFrame({
            "household_id": [1, 1, 1, 1, 1, 2, 2],
            "product_id": [10, 10, 11, 11, 99, 10, 11],
            "basket_id": [100, 100, 100, 101, 100, 200, 200],
            "transaction_timestamp": [t, t, t, t + pd.Timedelta(days=7), t, t, t],
            "week": [9, 9, 9, 10, 9, 9, 9],
            # loyalty price = (sales_value + coupon_match_disc) / quantity
            "sales_value": [2.00, 1.00, 3.00 - DEAL_MARGIN + 0.001, 2.98, 0.5, 4.00, 5.00],
            "coupon_match_disc": [0.0, 0.0, 0.0, 0.0, 0.0, -0.02, 0.0],
            "quantity": [1, 1, 1, 1, 1, 2, 1],
        })
        deals = list_deals(lines, np.array([10, 11]), np.array([2.0, 3.0], dtype=np.float32))
        key = list(zip(deals.household_id, deals.week, deals.deal))
        # product 99 is not in the catalogue; basket 100's second line of product 10 is the same event;
        # 2.996 is within half a cent of 3.00 (no deal), 2.98 and 1.99 (3.98 / 2) are deals
        self.assertEqual(sorted(key), sorted([(1, 9, 0.0), (1, 9, 0.0), (1, 10, 1.0), (2, 9, 1.0), (2, 9, 0.0)]))
        self.assertTrue((deals.n == 1.0).all())
