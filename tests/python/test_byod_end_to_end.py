"""The bring-your-own-data command end to end on the small real export in tests/python/data: a key
made, the files checked, a small model trained for one epoch, evaluated against the baselines,
exported with its price head, signed and reported; then the same key signs a second run, and broken
files stop the command before any training. Needs the training packages
(`pip install -r models/training/requirements.txt`); skipped without them.

    python3 -m unittest tests/python/test_byod_end_to_end.py -v
"""
import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COMMAND = os.path.join(ROOT, "models", "training", "byod.py")
DATA = os.path.join(HERE, "data")
NEEDS = ("torch", "onnxruntime", "safetensors", "cryptography", "pandas")
MISSING = [m for m in NEEDS if importlib.util.find_spec(m) is None]
SMALL = ["--epochs", "1", "--d", "16", "--seq-len", "12", "--blocks", "1", "--threads", "1", "--seed", "3"]


ENGINE_CHECK = """
import { readFileSync } from "node:fs";
import { Edgerec } from "edgerec";  // the package itself, by its exports (Node's condition)
import { readBundleDir } from "edgerec/node";
const [dir, key, other] = process.argv.slice(1);
const bundle = await readBundleDir(dir);
const rec = await Edgerec.create({ bundle, publicKey: key, device: "cpu" });
const items = JSON.parse(readFileSync(`${dir}/items.json`, "utf8"));
rec.observeMany([{ type: "view", item: items[1].id, ts: Date.now() - 60000 },
                 { type: "purchase", item: items[0].id, ts: Date.now() - 1000 }]);
const top = await rec.recommend({ k: 5, explain: true });
const quotes = await rec.quote(top.map((t) => t.item), { objective: "revenue" });
const refused = await Edgerec.create({ bundle, publicKey: other, device: "cpu" }).then(() => "loaded", (e) => e.code);
console.log(JSON.stringify({ modelVersion: rec.modelVersion, top, quotes, refused }));
"""


def read(*parts: str, mode: str = "r"):
    """A file's text (or bytes, mode "rb"), the file closed."""
    with open(os.path.join(*parts), mode) as f:
        return f.read()


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, COMMAND, *args], capture_output=True, text=True, timeout=900)


@unittest.skipIf(MISSING, f"the training packages are not installed ({', '.join(MISSING)})")
class EndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        cls.key = os.path.join(cls.dir, "keys", "shop.key")
        cls.out = os.path.join(cls.dir, "out")
        cls.work = os.path.join(cls.dir, "work")
        cls.first = run("--interactions", os.path.join(DATA, "interactions.csv"),
                        "--catalogue", os.path.join(DATA, "catalogue.csv"), "--out", cls.out, "--key", cls.key,
                        "--new-key", "--work", cls.work, "--model-version", "fixture-shop-1", *SMALL)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def test_the_command_succeeds_and_prints_its_time(self):
        self.assertEqual(self.first.returncode, 0, self.first.stderr[-3000:])
        self.assertRegex(self.first.stdout, r"total time \d+ s")

    def test_the_bundle_is_complete_and_its_signature_verifies(self):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        bundle = os.path.join(self.out, "bundle")
        manifest = json.loads(read(os.path.join(bundle, "manifest.json")))
        self.assertEqual(set(manifest["files"]), {"encoder.safetensors", "interest.onnx", "items.safetensors", "items.json",
                                                  "price.safetensors", "price.onnx"})
        self.assertEqual(set(os.listdir(bundle)), set(manifest["files"]) | {"manifest.json", "manifest.sig"})
        self.assertEqual(manifest["modelVersion"], "fixture-shop-1")
        self.assertEqual(manifest["itemCount"], 30)
        self.assertGreater(manifest["release"], 1_700_000_000, "the release is the time of writing, in seconds")
        public = read(os.path.join(self.out, "public-key.txt")).strip()
        self.assertEqual(public, read(self.key + ".pub").strip())
        signed = read(os.path.join(bundle, "manifest.json"), mode="rb")
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public)).verify(
            read(os.path.join(bundle, "manifest.sig"), mode="rb"), signed)
        self.assertEqual(os.stat(self.key).st_mode & 0o777, 0o600)
        secret = read(self.key, mode="rb")
        for name in os.listdir(bundle):
            self.assertNotIn(secret.splitlines()[1], read(os.path.join(bundle, name), mode="rb"))

    def test_the_report_compares_with_the_baselines(self):
        report = json.loads(read(os.path.join(self.out, "report.json")))
        test = report["quality"]["testWeeks"]
        for ranking in ("model", "popularity", "buyItAgain", "buyItAgainRecentFirst"):
            self.assertGreaterEqual(test[ranking]["HR@10"], 0.0)
            self.assertLessEqual(test[ranking]["NDCG@10"], 1.0)
        self.assertGreater(test["shoppers"], 0)
        self.assertGreater(report["totalSeconds"], 0)
        self.assertTrue(report["priceHead"]["paidPricesGiven"])
        text = read(os.path.join(self.out, "report.md"))
        self.assertIn("buy it again", text)
        self.assertIn(report["publicKey"], text)

    def test_a_second_run_signs_with_the_same_key_and_reuses_the_training(self):
        again = run("--interactions", os.path.join(DATA, "interactions.csv"),
                    "--catalogue", os.path.join(DATA, "catalogue.csv"), "--out", os.path.join(self.dir, "out2"),
                    "--key", self.key, "--work", self.work, "--model-version", "fixture-shop-1", *SMALL)
        self.assertEqual(again.returncode, 0, again.stderr[-3000:])
        self.assertNotIn("epoch   1", again.stdout)  # the finished training is reused
        self.assertEqual(read(os.path.join(self.dir, "out2", "public-key.txt")),
                         read(os.path.join(self.out, "public-key.txt")))

    @unittest.skipUnless(os.path.exists(os.path.join(ROOT, "dist", "index.js")) and shutil.which("node"),
                         "the package is not built (npm run build)")
    def test_the_engine_loads_it_with_the_key_pinned(self):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        public = read(os.path.join(self.out, "public-key.txt")).strip()
        other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
        check = subprocess.run(["node", "--input-type=module", "-e", ENGINE_CHECK, os.path.join(self.out, "bundle"),
                                public, other], capture_output=True, text=True, cwd=ROOT, timeout=120)
        self.assertEqual(check.returncode, 0, check.stderr[-3000:])
        result = json.loads(check.stdout.strip().splitlines()[-1])
        self.assertEqual(result["modelVersion"], "fixture-shop-1")
        self.assertEqual(len(result["top"]), 5)
        self.assertEqual(len(result["quotes"]), 5)
        for quote in result["quotes"]:
            self.assertLessEqual(quote["price"], quote["listPrice"])
        self.assertEqual(result["refused"], "BAD_SIGNATURE")

    def test_costs_go_into_the_item_table(self):
        import hashlib

        import numpy as np
        from safetensors.numpy import load_file

        lines = read(DATA, "catalogue.csv").splitlines()
        header = lines[0].split(",")
        costed = os.path.join(self.dir, "costed.csv")
        with open(costed, "w") as f:  # every item's cost: 60% of its list price
            f.write(lines[0] + "\n")
            for line in lines[1:]:
                cells = next(csv.reader([line]))
                cells[header.index("cost")] = f"{0.6 * float(cells[header.index('list_price')]):.2f}"
                csv.writer(f, lineterminator="\n").writerow(cells)
        out = os.path.join(self.dir, "out-costs")
        done = run("--interactions", os.path.join(DATA, "interactions.csv"), "--catalogue", costed, "--out", out,
                   "--key", self.key, "--work", os.path.join(self.dir, "work-costs"), *SMALL)
        self.assertEqual(done.returncode, 0, done.stderr[-3000:])
        table = load_file(os.path.join(out, "bundle", "items.safetensors"))
        prices = table["list_price"]
        self.assertTrue(np.allclose(table["cost"], np.round(0.6 * prices, 2), atol=0.006))
        entry = json.loads(read(out, "bundle", "manifest.json"))["files"]["items.safetensors"]
        self.assertEqual(entry["sha256"], hashlib.sha256(read(out, "bundle", "items.safetensors", mode="rb")).hexdigest())
        self.assertNotIn("no costs", read(out, "report.md"))

    def test_new_key_over_an_existing_key_is_refused(self):
        refused = run("--interactions", os.path.join(DATA, "interactions.csv"),
                      "--catalogue", os.path.join(DATA, "catalogue.csv"), "--out", os.path.join(self.dir, "out3"),
                      "--key", self.key, "--new-key")
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("exists", refused.stderr)

    def test_broken_files_stop_before_training(self):
        broken = os.path.join(self.dir, "broken.csv")
        with open(os.path.join(DATA, "interactions.csv")) as f:
            lines = f.read().splitlines()
        lines[6] = lines[6].replace("purchase", "refund")
        with open(broken, "w") as f:
            f.write("\n".join(lines) + "\n")
        work = os.path.join(self.dir, "work-broken")
        stopped = run("--interactions", broken, "--catalogue", os.path.join(DATA, "catalogue.csv"),
                      "--out", os.path.join(self.dir, "out4"), "--key", os.path.join(self.dir, "k2"), "--new-key",
                      "--work", work, *SMALL)
        self.assertEqual(stopped.returncode, 2)
        self.assertIn('broken.csv, line 7, column "type": \'refund\' is not one of view, cart, purchase', stopped.stderr)
        self.assertFalse(os.path.exists(work))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "k2")))  # no key made for a refused run


@unittest.skipIf(MISSING, f"the training packages are not installed ({', '.join(MISSING)})")
class Stages(unittest.TestCase):
    def test_views_and_carts_are_inputs_never_targets(self):
        sys.path.insert(0, os.path.dirname(COMMAND))
        import byod
        import byod_format

        cat = byod_format.read_catalogue(os.path.join(DATA, "catalogue.csv"))
        events = byod_format.read_interactions(os.path.join(DATA, "interactions.csv"), cat)
        a = byod.parse_args(["--interactions", "-", "--catalogue", "-", "--out", "-", "--key", "-"])
        plain = byod.Shop(cat, events, a, "test")
        self.assertGreater(len(plain.data.valid.households), 0)
        # the same events, every one of the validation weeks a view or a cart instead of a purchase
        lo, hi = (plain.week_start(w).timestamp() for w in (plain.valid_first, plain.test_first))
        events.types = [("view", "cart")[i % 2] if lo < t <= hi else kind
                        for i, (t, kind) in enumerate(zip(events.timestamps, events.types))]
        self.assertIn("view", events.types)
        browsed = byod.Shop(cat, events, a, "test")
        self.assertEqual(len(browsed.data.valid.households), 0)  # no purchase in those weeks: no target
        self.assertEqual([len(x) for x in browsed.data.test.inputs], [len(x) for x in plain.data.test.inputs])
        self.assertEqual(browsed.data.test.targets[0].tolist(), plain.data.test.targets[0].tolist())


if __name__ == "__main__":
    unittest.main()
