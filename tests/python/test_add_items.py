"""Adding items to a live catalogue (models/training/add_items.py) on the committed grocery bundle:
the new bundle keeps every item's row and columns byte for byte, grows the price head's per-item
bias in both its forms and lists its files' digests; bad records, sessions, releases, expiry dates
and bundles are refused with the flag named, and a refused command writes nothing; the engine, on
both builds, loads the new bundle, ranks, quotes and explains the new items. Needs the training
packages (skipped without them); the engine check needs the built package (npm run build).

    python3 -m unittest tests/python/test_add_items.py -v
"""
import hashlib
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "models", "training"))
COMMAND = os.path.join(ROOT, "models", "training", "add_items.py")
BUNDLE = os.path.join(ROOT, "models", "grocery")
MISSING = [m for m in ("numpy", "torch", "onnxruntime", "safetensors", "cryptography", "pandas")
           if importlib.util.find_spec(m) is None]
PRIVATE = os.path.join(ROOT, "models", "grocery-dp")
NEW = [{"id": "new-milk", "name": "Fluid milk white only, 1 gal (store brand)", "category": "FLUID MILK PRODUCTS",
        "department": "GROCERY", "listPrice": 2.49, "low30d": 2.29},
       {"id": "new-kombucha", "name": "Kombucha, 16 oz", "category": "KOMBUCHA", "department": "GROCERY",
        "listPrice": 3.99, "low30d": 3.49, "attributes": ["organic"]}]

ENGINE_CHECK = """
import { Edgerec } from "edgerec";
import { readBundleDir } from "edgerec/node";
const [dir, count, build] = process.argv.slice(1);
const rec = await Edgerec.create({ bundle: await readBundleDir(dir), device: "cpu", build });
rec.observeMany([{ type: "purchase", item: "995242", ts: Date.now() - 60000 },
                 { type: "purchase", item: "1082185", ts: Date.now() - 1000 }]);
const all = await rec.recommend({ k: Number(count) });
const quotes = await rec.quote(["new-milk", "new-kombucha"]);
const reasons = await rec.explain(["new-milk"]);
console.log(JSON.stringify({ ranked: all.map((r) => r.item), quotes, reasons }));
"""


def run(out: str, items, sessions: str, *extra: str, bundle: str = BUNDLE) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "items.json")
        with open(path, "w") as f:
            f.write(items if isinstance(items, str) else json.dumps(items))
        return subprocess.run([sys.executable, COMMAND, "--bundle", bundle, "--items", path, "--sessions", sessions,
                               "--out", out, "--model-version", "grocery-added", *extra],
                              capture_output=True, text=True, timeout=300)


@unittest.skipIf(MISSING, f"the training packages are not installed ({', '.join(MISSING)})")
class AddItems(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        with open(os.path.join(BUNDLE, "items.json")) as f:
            cls.known = json.load(f)
        rng = random.Random(4)
        ids = [item["id"] for item in cls.known]
        cls.sessions = os.path.join(cls.dir, "sessions.txt")
        with open(cls.sessions, "w") as f:
            f.writelines(" ".join(rng.choices(ids[:1000], k=rng.randint(1, 60))) + "\n" for _ in range(300))
        cls.out = os.path.join(cls.dir, "added")
        with open(os.path.join(BUNDLE, "manifest.json")) as f:
            cls.release = json.load(f).get("release", 0) + 7
        cls.added = run(cls.out, NEW, cls.sessions, "--release", str(cls.release))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def test_known_items_stay_byte_for_byte(self):
        import numpy as np
        from safetensors.numpy import load_file

        self.assertEqual(self.added.returncode, 0, self.added.stderr[-3000:])
        before = load_file(os.path.join(BUNDLE, "items.safetensors"))
        after = load_file(os.path.join(self.out, "items.safetensors"))
        self.assertEqual(set(before), set(after))
        n = len(self.known)
        for name, column in before.items():
            if column.shape[:1] == (n,):
                self.assertEqual(after[name].shape[0], n + len(NEW), name)
                self.assertEqual(after[name][:n].tobytes(), column.tobytes(), name)
        self.assertEqual(after["list_price"][n:].tolist(), [float(np.float32(i["listPrice"])) for i in NEW])
        self.assertEqual(after["low_30d"][n:].tolist(), [float(np.float32(i["low30d"])) for i in NEW])
        milk = next(i for i, item in enumerate(self.known) if item["category"] == "FLUID MILK PRODUCTS")
        self.assertEqual(after["category"][n], before["category"][milk], "a known category keeps its code")
        self.assertEqual(after["category"][n + 1], before["category"].max() + 1, "a new one takes the next")
        self.assertEqual(after["department"][n], before["department"][milk])
        with open(os.path.join(BUNDLE, "encoder.safetensors"), "rb") as f, \
                open(os.path.join(self.out, "encoder.safetensors"), "rb") as g:
            self.assertEqual(f.read(), g.read(), "the other files are copied")

    def test_the_price_head_grows_in_both_forms(self):
        import numpy as np
        import onnxruntime as ort
        from safetensors.numpy import load_file

        n = len(self.known)
        before = load_file(os.path.join(BUNDLE, "price.safetensors"))["item_bias"]
        after = load_file(os.path.join(self.out, "price.safetensors"))["item_bias"]
        self.assertEqual(after.shape, (n + len(NEW),))
        self.assertEqual(after[:n].tobytes(), before.tobytes())
        self.assertTrue(np.isfinite(after[n:]).all())
        rows = np.array([0, 17, n - 1, n, n + 1], dtype=np.int64)  # known items, then the new ones
        feeds = {"features": np.random.default_rng(1).normal(size=(5, 5)).astype(np.float32),
                 "signals": np.zeros((5, 2), dtype=np.float32), "item": rows,
                 "department": np.zeros(5, dtype=np.int64)}
        grown = ort.InferenceSession(os.path.join(self.out, "price.onnx"), providers=["CPUExecutionProvider"])
        old = ort.InferenceSession(os.path.join(BUNDLE, "price.onnx"), providers=["CPUExecutionProvider"])
        new_out = grown.run(None, feeds)
        old_out = old.run(None, {k: v[:3] for k, v in feeds.items()})
        for a, b in zip(new_out, old_out):
            np.testing.assert_array_equal(a[:3], b, "known items price as before")
        with open(os.path.join(self.out, "items.json")) as f:
            self.assertEqual(json.load(f), self.known + [{k: i[k] for k in ("id", "name", "category", "department")}
                                                         for i in NEW])

    def test_the_manifest_lists_every_file(self):
        with open(os.path.join(self.out, "manifest.json")) as f:
            manifest = json.load(f)
        self.assertEqual((manifest["itemCount"], manifest["release"], manifest["modelVersion"]),
                         (len(self.known) + 2, self.release, "grocery-added"))
        for name, entry in manifest["files"].items():
            with open(os.path.join(self.out, name), "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), entry["sha256"], name)

    def test_bad_records_are_refused_by_name(self):
        from add_items import check_items

        columns = {"list_price", "low_30d", "cost"}
        milk = {**NEW[0], "cost": 1.2}  # as for a bundle with a cost column
        cases = {
            "[0].id: '%s' is already" % self.known[0]["id"]: [{**milk, "id": self.known[0]["id"]}],
            "[1].id: 'new-milk' is already": [milk, milk],
            "[0].department: 'SPACE' is not one": [{**milk, "department": "SPACE"}],
            "[0].listPrice: a number": [{**milk, "listPrice": 0}],
            "[0].low30d: a number": [{**milk, "low30d": float("nan")}],
            "[0].listPrice: a number from": [{**milk, "listPrice": True}],
            "[0].low30d: above listPrice": [{**milk, "low30d": 9.0}],
            "[0]: fields ['colour'] are not ones": [{**milk, "colour": "white"}],
            "[0].name: a non-empty string": [{**milk, "name": " "}],
            "[0].attributes: a list of strings": [{**milk, "attributes": "organic"}],
            "[0].cost: a number": [NEW[0]],  # where the bundle has costs, a new item needs one
            "[0].cost: above listPrice": [{**milk, "cost": 3.0}],
            "[0].id: holds a control character, a lone surrogate, a space": [{**milk, "id": "new milk"}],
            "[0].id: holds a control": [{**milk, "id": "new\x00milk"}],
            "[0].id: holds a control character, a lone surrogate, a space or an invisible": [{**milk, "id": "a\u200bb"}],
            "[0].id: at most 256 bytes of UTF-8, in NFC": [{**milk, "id": "cafe\u0301"}],
            "[0].name: holds a control character, a lone surrogate": [{**milk, "name": "bad \ud800 name"}],
            "[0].attributes[1]: a non-empty string": [{**milk, "attributes": ["organic", 3]}],
            "[0]: a record": ["milk"],
            "a non-empty JSON list": [],
        }
        for message, items in cases.items():
            with self.subTest(message), self.assertRaises(ValueError) as refused:
                check_items(items, self.known, columns)
            self.assertIn(message, str(refused.exception))
        check_items([{**milk, "cost": 0.0}], self.known, columns)
        with self.assertRaises(ValueError):  # a bundle without costs takes none
            check_items([milk], self.known, columns - {"cost"})

    def key_file(self, name: str):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        key = Ed25519PrivateKey.generate()
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        return key, path

    def test_a_signed_bundle_is_checked_and_its_release_signed(self):
        key, path = self.key_file("shop.key")
        _, other = self.key_file("other.key")
        signed = os.path.join(self.dir, "signed-source")
        shutil.copytree(BUNDLE, signed)
        with open(os.path.join(signed, "manifest.json"), "rb") as f, \
                open(os.path.join(signed, "manifest.sig"), "wb") as g:
            g.write(key.sign(f.read()))
        for i, (message, extra) in enumerate([("it is signed: give --key", ()),
                                              ("does not verify with --key", ("--key", other))]):
            with self.subTest(message):
                result = run(os.path.join(self.dir, f"unsigned-{i}"), NEW, self.sessions, "--bundle", signed, *extra)
                self.assertEqual(result.returncode, 1, result.stderr[-2000:])
                self.assertIn(message, result.stderr)
        out = os.path.join(self.dir, "signed")
        result = run(out, NEW, self.sessions, "--bundle", signed, "--key", path)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        with open(os.path.join(out, "manifest.json"), "rb") as f, open(os.path.join(out, "manifest.sig"), "rb") as g:
            key.public_key().verify(g.read(), f.read())  # raises if the signature does not cover the manifest
        umask = os.umask(0)
        os.umask(umask)
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o777 & ~umask, "the folder's mode is the umask's")

    def test_a_refused_command_says_which_flag_and_writes_nothing(self):
        tampered = os.path.join(self.dir, "tampered")
        shutil.copytree(BUNDLE, tampered)
        with open(os.path.join(tampered, "price.safetensors"), "r+b") as f:
            f.seek(-1, os.SEEK_END)
            f.write(b"\x00")
        escaping = os.path.join(self.dir, "escaping")
        shutil.copytree(BUNDLE, escaping)
        with open(os.path.join(escaping, "manifest.json")) as f:
            manifest = json.load(f)
        manifest["files"]["../escaped.txt"] = manifest["files"]["items.json"]
        with open(os.path.join(escaping, "manifest.json"), "w") as f:
            json.dump(manifest, f)
        broken = os.path.join(self.dir, "broken")  # a graph that is not one, its digest updated
        shutil.copytree(BUNDLE, broken)
        with open(os.path.join(broken, "price.onnx"), "wb") as f:
            f.write(b"not a graph")
        with open(os.path.join(broken, "manifest.json")) as f:
            manifest = json.load(f)
        manifest["files"]["price.onnx"] = {"bytes": 11, "sha256": hashlib.sha256(b"not a graph").hexdigest()}
        manifest["training"] = "x"
        with open(os.path.join(broken, "manifest.json"), "w") as f:
            json.dump(manifest, f)
        few = os.path.join(self.dir, "few.txt")
        with open(few, "w") as f:  # many lines, one shopper
            f.write((self.known[0]["id"] + " " + self.known[1]["id"] + "\n") * 500)
        cases = [("--items[0].department", ([{**NEW[0], "department": "SPACE"}], self.sessions), ()),
                 ("--items", ("[{", self.sessions), ()),
                 ("--sessions", (NEW, os.path.join(self.dir, "absent.txt")), ()),
                 ("--sessions", (NEW, few), ()),
                 ("--release 0: must be above the bundle's", (NEW, self.sessions), ("--release", "0")),
                 ("--bundle", (NEW, self.sessions), ("--bundle", os.path.join(self.dir, "absent"))),
                 ("--release", (NEW, self.sessions), ("--release", str(2**53))),
                 ("--expires", (NEW, self.sessions), ("--expires", "2020-01-01T00:00:00Z")),
                 ("--expires", (NEW, self.sessions), ("--expires", "soon")),
                 ("--expires", (NEW, self.sessions), ("--expires", "2099-01-01T00:00Z")),  # the engine refuses it
                 ("--key", (NEW, self.sessions), ("--key", os.path.join(self.dir, "absent.key"))),
                 ("--key", (NEW, self.sessions), ("--key", self.sessions)),
                 ("'../escaped.txt': file names must be plain", (NEW, self.sessions), ("--bundle", escaping)),
                 ("`training` must be an object", (NEW, self.sessions), ("--bundle", broken)),
                 ("--model-version", (NEW, self.sessions), ("--model-version", "a\x01b")),
                 ("price.safetensors does not match", (NEW, self.sessions), ("--bundle", tampered))]
        for i, (flag, (items, sessions), extra) in enumerate(cases):
            out = os.path.join(self.dir, f"refused-{i}")
            with self.subTest(flag):
                result = run(out, items, sessions, *extra)
                self.assertEqual(result.returncode, 1, result.stderr[-2000:])
                self.assertIn(flag, result.stderr)
                self.assertNotIn("Traceback", result.stderr)
                self.assertFalse(os.path.exists(out))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "escaped.txt")))
        for out, message in [(os.path.join(self.dir, "absent", "out"), "is not a folder"),
                             (os.path.join(escaping, "v2"), "inside --bundle"),
                             (self.out, "already exists")]:
            with self.subTest(out):
                result = run(out, NEW, self.sessions, "--bundle", escaping)
                self.assertEqual(result.returncode, 1, result.stderr[-2000:])
                self.assertIn(f"--out {out}", result.stderr.replace("'", ""))
                self.assertIn(message, result.stderr)

    def test_a_bundle_with_a_privacy_guarantee_is_refused(self):
        out = os.path.join(self.dir, "private")
        result = run(out, NEW, self.sessions, bundle=PRIVATE)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("differential-privacy guarantee", result.stderr)
        self.assertFalse(os.path.exists(out))

    @unittest.skipUnless(os.path.exists(os.path.join(ROOT, "dist", "index.js")) and shutil.which("node"),
                         "the package is not built (npm run build)")
    def test_the_engine_ranks_quotes_and_explains_the_new_items(self):
        count = len(self.known) + len(NEW)
        for build in ("auto", "onnx"):
            with self.subTest(build):
                check = subprocess.run(["node", "--input-type=module", "-e", ENGINE_CHECK, self.out, str(count), build],
                                       capture_output=True, text=True, cwd=ROOT, timeout=120)
                self.assertEqual(check.returncode, 0, check.stderr[-3000:])
                result = json.loads(check.stdout)
                ranked = result["ranked"]
                self.assertIn("new-milk", ranked)
                self.assertIn("new-kombucha", ranked)
                self.assertEqual([q["item"] for q in result["quotes"]], ["new-milk", "new-kombucha"])
                self.assertEqual(len(result["reasons"]), 1)


if __name__ == "__main__":
    unittest.main()
