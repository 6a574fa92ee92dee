"""Placing new items from their attributes (models/training/new_items.py), on constructed cases:
the neighbours are the trained items sharing the most words, ties to the earlier; a row placed
from one neighbour is that neighbour's row; from equal neighbours, their row; from several, each shopper's
score nearer the log of the neighbours' mean probability than their mean row's or any of
theirs.
Needs numpy and the training packages new_items.py imports (skipped without them):

    python3 -m unittest tests/python/test_new_items.py -v
"""
from __future__ import annotations

import importlib.util
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "models", "training"))

MISSING = [m for m in ("numpy", "torch", "pandas", "onnxruntime", "safetensors") if importlib.util.find_spec(m) is None]

if not MISSING:
    import numpy as np

    from new_items import neighbours, place_rows  # noqa: E402


@unittest.skipIf(MISSING, f"missing {MISSING}")
class Neighbours(unittest.TestCase):
    def test_most_shared_words_first_ties_to_the_earlier(self):
        trained = [["dept:a", "w:milk"], ["dept:a", "w:milk", "mfr:7"], ["dept:b"], ["dept:a", "w:milk"]]
        near = neighbours([["dept:a", "w:milk", "mfr:7"], ["dept:b", "w:new"]], trained, 2)
        self.assertEqual(near.tolist(), [[1, 0], [2, 0]])

    def test_unknown_words_count_for_nothing(self):
        near = neighbours([["w:unseen"]], [["dept:a"], ["dept:b"]], 1)
        self.assertEqual(near.tolist(), [[0]])


@unittest.skipIf(MISSING, f"missing {MISSING}")
class PlaceRows(unittest.TestCase):
    def setUp(self):
        rng = np.random.default_rng(5)
        self.rows = rng.normal(size=(6, 4)).astype(np.float32)
        self.users = rng.normal(size=(200, 4)).astype(np.float32)

    def test_one_neighbour_gives_its_row(self):
        placed = place_rows(self.rows, self.users, np.array([[2], [5]]))
        np.testing.assert_allclose(placed, self.rows[[2, 5]], atol=1e-5)

    def test_equal_neighbours_give_their_row(self):
        rows = np.concatenate([self.rows, self.rows[:1]])
        placed = place_rows(rows, self.users, np.array([[0, 6]]))
        np.testing.assert_allclose(placed[0], rows[0], atol=1e-5)

    def test_scores_follow_the_neighbours_mean_probability(self):
        near = np.array([[0, 1, 3]])
        placed = place_rows(self.rows, self.users, near)[0]
        scores = self.users.astype(np.float64) @ self.rows[near[0]].T.astype(np.float64)
        target = np.log(np.exp(scores).mean(axis=1))
        got = self.users.astype(np.float64) @ placed
        # least squares: neither the neighbours' mean row nor any of their rows is nearer the targets
        for other in [self.rows[near[0]].mean(axis=0), *self.rows[near[0]]]:
            self.assertLess(np.sum((got - target) ** 2), np.sum((self.users @ other.astype(np.float64) - target) ** 2))

if __name__ == "__main__":
    unittest.main()
