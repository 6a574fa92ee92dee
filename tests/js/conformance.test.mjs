// The wasm engine reproduces onnxruntime's outputs on the fixture bundle (within 1e-4), and the
// default build's plain-weights models give what the ONNX build's tract gives on every shipped
// bundle: user vectors within 1e-5, the same top-k lists and prices.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { Edgerec } from "edgerec";
import { readBundleDir } from "edgerec/node";
import { BUILD, create, expected, fixtureBytes, rawEngine } from "./helpers.mjs";

const TOLERANCE = 1e-4;

test(`user vectors from the wasm engine (${BUILD} build) match onnxruntime`, async () => {
  const Engine = await rawEngine();
  const { "manifest.json": manifest, "manifest.sig": sig, ...files } = await fixtureBytes();
  const engine = new Engine(manifest, sig, files, undefined, undefined, undefined, undefined);
  for (const c of expected.cases) {
    const user = engine.userVector(undefined, c.events);
    assert.equal(user.length, c.user.length, c.name);
    user.forEach((v, i) => assert.ok(Math.abs(v - c.user[i]) <= TOLERANCE, `${c.name}[${i}]: ${v} vs ${c.user[i]}`));
  }
  engine.free();
});

test("top-k lists and scores match the independent ranking", async () => {
  const rec = await create({ bundle: await fixtureBytes() });
  for (const c of expected.cases) {
    const top = await rec.recommend({ k: expected.k, events: c.events });
    assert.deepEqual(top.map((t) => t.item), c.top.map((t) => t.item), c.name);
    top.forEach((t, i) => assert.ok(Math.abs(t.score - c.top[i].score) <= TOLERANCE, `${c.name}: ${t.score} vs ${c.top[i].score}`));
  }
  rec.dispose();
});

test("the default build's plain models give the ONNX build's vectors, rankings and prices", async () => {
  for (const name of ["fixture", "beauty", "games", "grocery", "grocery-stream"]) {
    const files = await readBundleDir(fileURLToPath(new URL(`../../models/${name}/`, import.meta.url)));
    const [plain, onnx] = await Promise.all([
      Edgerec.create({ bundle: files, device: "cpu" }),
      Edgerec.create({ bundle: files, build: "onnx" }),
    ]);
    assert.equal(plain.build, "cpu", name);
    assert.equal(onnx.build, "onnx", name);
    const ids = JSON.parse(new TextDecoder().decode(files["items.json"])).map((i) => i.id);
    const seqLen = plain.manifest.seqLen;
    for (const filled of [1, 3, Math.floor(seqLen / 2), seqLen, seqLen + 5]) {
      const events = Array.from({ length: filled }, (_, i) => ({
        type: i % 3 ? "view" : "cart",
        item: ids[(i * 131 + filled) % ids.length],
        ts: Date.now() - 60_000 + i,
      }));
      const [a, b] = await Promise.all([plain.recommend({ k: 20, events }), onnx.recommend({ k: 20, events })]);
      assert.deepEqual(a.map((r) => r.item), b.map((r) => r.item), `${name}, ${filled} events`);
      a.forEach((r, i) => assert.ok(Math.abs(r.score - b[i].score) <= 1e-5, `${name}: ${r.score} vs ${b[i].score}`));
      if (plain.manifest.priceHead) {
        const items = a.map((r) => r.item);
        const [pa, pb] = await Promise.all([plain.quote(items, { events }), onnx.quote(items, { events })]);
        assert.deepEqual(pa.map((q) => q.price), pb.map((q) => q.price), `${name} prices, ${filled} events`);
      }
    }
    plain.dispose();
    onnx.dispose();
  }
});
