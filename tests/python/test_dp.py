"""User-level DP training end to end on small synthetic data (300 users, seeded): `train.py
--dp-epsilon` runs, its checkpoint records the guarantee, and the accountant, given only the
recorded noise multiplier, sample rate, steps and δ, gives back the recorded ε (so the record cannot
drift from the training without failing here); export writes it as the manifest's `privacy`,
covering every weights file. Needs torch and opacus (models/training/requirements.txt); skipped
without them.

    python3 -m unittest tests/python/test_dp.py -v
"""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TRAINING = os.path.join(ROOT, "models", "training")
NEEDS = ("torch", "opacus", "onnxruntime", "safetensors")
MISSING = [m for m in NEEDS if importlib.util.find_spec(m) is None]
USERS, ITEMS, EPOCHS, BATCH, EPSILON, DELTA = 300, 40, 2, 30, 2.0, 1e-4
SMALL = ["--d", "16", "--seq-len", "8", "--blocks", "1", "--threads", "1", "--seed", "5",
         "--epochs", str(EPOCHS), "--batch", str(BATCH)]


def write_sequences(path: str) -> None:
    """Users whose items follow a few cycles, so that there is something to learn."""
    import numpy as np
    rng = np.random.default_rng(1)
    with open(path, "w") as f:
        for user in range(USERS):
            start, step = rng.integers(ITEMS), rng.integers(1, 4)
            items = [(start + step * t) % ITEMS + 1 for t in range(rng.integers(4, 12))]
            f.write(f"u{user} " + " ".join(map(str, items)) + "\n")


@unittest.skipIf(MISSING, f"needs {', '.join(MISSING)}")
class PrivateTraining(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        sys.path.insert(0, TRAINING)
        cls.dir = tempfile.TemporaryDirectory()
        cls.data = os.path.join(cls.dir.name, "seqs.txt")
        cls.out = os.path.join(cls.dir.name, "run")
        write_sequences(cls.data)
        subprocess.run([sys.executable, os.path.join(TRAINING, "train.py"), "--data", cls.data, "--out", cls.out,
                        "--dp-epsilon", str(EPSILON), "--dp-delta", str(DELTA), *SMALL], check=True, cwd=ROOT)
        import torch
        cls.record = torch.load(os.path.join(cls.out, "last.pt"), weights_only=False)["privacy"]

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def test_the_recorded_epsilon_is_what_the_accountant_gives_for_the_recorded_steps(self):
        from dp import epsilon_of
        r = self.record
        self.assertAlmostEqual(epsilon_of(r), r["epsilon"], places=9)
        self.assertLessEqual(r["epsilon"], EPSILON * 1.01)  # the noise was fitted to the budget
        self.assertGreater(r["epsilon"], EPSILON * 0.9)
        self.assertEqual((r["delta"], r["sampleRate"], r["epochs"]), (DELTA, BATCH / USERS, EPOCHS))
        self.assertEqual(r["steps"], EPOCHS * USERS // BATCH)
        for drift in ({"steps": r["steps"] + 1}, {"noiseMultiplier": r["noiseMultiplier"] * 0.99},
                      {"sampleRate": r["sampleRate"] * 1.01}):
            self.assertNotAlmostEqual(epsilon_of({**r, **drift}), r["epsilon"], places=3, msg=str(drift))

    def test_the_record_covers_every_trained_tensor_the_item_table_included(self):
        import torch
        state = torch.load(os.path.join(self.out, "last.pt"), weights_only=False)["model"]
        self.assertIn("items.weight", self.record["covers"])
        self.assertEqual(set(self.record["covers"]), set(state))
        self.assertEqual((self.record["unit"], self.record["adjacency"]), ("shopper", "add/remove one shopper"))

    def test_export_writes_the_guarantee_into_the_manifest(self):
        bundle = os.path.join(self.dir.name, "bundle")
        subprocess.run([sys.executable, os.path.join(TRAINING, "export.py"), "--checkpoint", self.out,
                        "--data", self.data, "--out", bundle, "--model-version", "dp-test"],
                       check=True, cwd=ROOT, capture_output=True)
        with open(os.path.join(bundle, "manifest.json")) as f:
            manifest = json.load(f)
        privacy = manifest["privacy"]
        self.assertEqual({k: v for k, v in privacy.items() if k != "covers"},
                         {k: v for k, v in self.record.items() if k != "covers"})
        self.assertEqual(sorted(privacy["covers"]), sorted(n for n in manifest["files"] if n != "items.json"))


if __name__ == "__main__":
    unittest.main()
