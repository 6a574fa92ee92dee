"""User-level DP training end to end on small synthetic data (300 users, seeded): `train.py
--dp-epsilon` runs, its checkpoint records the guarantee, and the accountant, given only the
recorded noise multiplier, sample rate, steps and δ, gives back the recorded ε (so the record cannot
drift from the training without failing here); export writes it as the manifest's `privacy`,
covering every weights file. The grocery trainer's DP path on a small synthetic shop: its record
too, its per-household gradients (one household at a time) equal to the batched per-user ones
where both apply, and the audit's household losses. Needs torch and opacus
(models/training/requirements.txt); skipped without them.

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


def write_sequences(path: str, users: int = USERS, n_items: int = ITEMS) -> None:
    """Users whose items follow a few cycles, so that there is something to learn."""
    import numpy as np
    rng = np.random.default_rng(1)
    with open(path, "w") as f:
        for user in range(users):
            start, step = rng.integers(n_items), rng.integers(1, 4)
            items = [(start + step * t) % n_items + 1 for t in range(rng.integers(4, 12))]
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



def synthetic_shop(households: int = 80, items: int = 30):
    """A grocery.Grocery of random baskets: every household buys from its own few items, so that
    the repeat term has something to learn."""
    import numpy as np
    import pandas as pd
    import grocery
    rng = np.random.default_rng(3)
    cat = grocery.Catalogue(
        product_ids=np.arange(items) + 1000, names=[f"item {i}" for i in range(items)],
        departments=[f"D{i % 3}" for i in range(items)], categories=[f"C{i % 5}" for i in range(items)],
        list_prices=np.ones(items, dtype=np.float32), low_30d=np.ones(items, dtype=np.float32),
        content_tokens=[[f"dept:D{i % 3}", f"w:c{i % 5}"] for i in range(items)],
        held_out=np.arange(items) == items - 1)
    train, inputs, targets = [], [], []
    for h in range(households):
        own = rng.choice(items - 1, 4, replace=False)
        rows = rng.choice(own, rng.integers(3, 70))
        train.append(grocery.Sequence(h, rows, [np.unique(rows[t + 1:t + 4]) for t in range(len(rows))]))
        inputs.append(rows.tolist())
        targets.append(np.unique(rng.choice(own, 3)))
    stage = grocery.Stage(list(range(households)), inputs, targets)
    return grocery.Grocery(catalogue=cat, train=train, valid=stage, test=stage, events=pd.DataFrame(), sha256="0" * 64)


@unittest.skipIf(MISSING, f"needs {', '.join(MISSING)}")
class PrivateGroceryTraining(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        sys.path.insert(0, TRAINING)
        import argparse
        import torch
        from train_grocery import fit_private
        cls.dir = tempfile.TemporaryDirectory()
        cls.shop = synthetic_shop()
        cls.args = argparse.Namespace(
            out=cls.dir.name, d=16, seq_len=8, blocks=1, heads=1, ffn_mult=2, dropout=0.1, attn_dropout=0.1,
            filter_c=0, alpha=0.7, reach=0, id_dropout=0.2, lr=1e-2, repeat_decay=0.99, repeat_lr=None, batch=16, epochs=2,
            dp_epsilon=EPSILON, dp_delta=DELTA, dp_max_grad_norm=1.0, dp_windows=2, member_share=1.0,
            seed=5, threads=1, max_minutes=float("inf"))
        fit_private(cls.args, cls.shop)
        cls.ckpt = torch.load(os.path.join(cls.dir.name, "last.pt"), weights_only=False)

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def test_the_recorded_epsilon_is_what_the_accountant_gives(self):
        from dp import epsilon_of
        r = self.ckpt["privacy"]
        self.assertAlmostEqual(epsilon_of(r), r["epsilon"], places=9)
        self.assertLessEqual(r["epsilon"], EPSILON * 1.01)
        self.assertEqual(r["epochs"], 2)

    def test_the_record_covers_the_item_content_and_repeat_tensors(self):
        covers = set(self.ckpt["privacy"]["covers"])
        self.assertTrue({"items.weight", "words.weight", "repeat_item", "repeat_bias"} <= covers)
        self.assertEqual(covers, {k for k in self.ckpt["model"] if k not in ("word_ids", "word_offsets", "trained")})

    def test_the_audit_scores_every_household_with_a_target(self):
        import numpy as np
        from train_grocery import household_losses
        losses = household_losses(self._model(), self.shop.train)
        self.assertEqual(len(losses), len(self.shop.train))
        self.assertTrue(np.isfinite(losses[[len(s.rows) > 1 for s in self.shop.train]]).all())

    def _model(self):
        from train_grocery import build_model
        model = build_model(self.args, self.shop)
        model.load_state_dict(self.ckpt["model"])
        return model.eval()

    def test_one_user_at_a_time_gives_the_batched_per_user_gradients(self):
        import torch
        from dp import LoopedGrads, SequenceGrads, UserLoss, user_tensors
        from recmodel import RecModel
        from sasrec import EncoderConfig
        torch.manual_seed(0)
        model = RecModel(20, EncoderConfig(d=8, seq_len=6, blocks=1, heads=1, ffn_mult=2, dropout=0.0, attn_dropout=0.0))
        users = [[12, 13], [1, 2, 3], [4, 5, 6, 7, 8, 9, 10, 11]]  # by length: the order SequenceGrads returns
        looped = LoopedGrads(model, lambda u: UserLoss(model)(*user_tensors([users[u]], 6))[0])
        batched, looped_out = SequenceGrads(model, users, 6)([0, 1, 2]), looped([0, 1, 2])
        for name in batched[0]:
            torch.testing.assert_close(looped_out[0][name], batched[0][name], rtol=1e-4, atol=1e-6, msg=name)
        torch.testing.assert_close(looped_out[1], batched[1])


if __name__ == "__main__":
    unittest.main()
