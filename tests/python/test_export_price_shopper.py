"""Where export_price_shopper.py writes its conformance rows: the grocery bundle's file only for the
grocery bundle; another bundle must name its own (skipped without torch):

    python3 -m unittest discover -s tests/python -p test_export_price_shopper.py -v
"""
from __future__ import annotations

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "models", "training"))

try:
    import onnx  # noqa: F401
    import torch  # noqa: F401
except ImportError:  # pragma: no cover
    torch = None

if torch is not None:
    from export_price_shopper import GROCERY_CONFORMANCE, conformance_path  # noqa: E402


@unittest.skipIf(torch is None, "torch or onnx is not installed")
class ConformancePath(unittest.TestCase):
    def test_the_grocery_bundle_keeps_its_file(self):
        self.assertEqual(conformance_path("models/grocery", None), GROCERY_CONFORMANCE)
        self.assertEqual(conformance_path("models/grocery/", None), GROCERY_CONFORMANCE)
        self.assertEqual(conformance_path(os.path.abspath("models/grocery"), None), GROCERY_CONFORMANCE)

    def test_another_bundle_must_name_its_file(self):
        with self.assertRaises(SystemExit) as refused:
            conformance_path("models/grocery-stream", None)
        self.assertIn("--conformance", str(refused.exception))
        self.assertEqual(conformance_path("models/grocery-stream", "/tmp/rows.json"), "/tmp/rows.json")


if __name__ == "__main__":
    unittest.main()
