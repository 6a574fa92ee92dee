// The wasm engine reproduces onnxruntime's outputs on the fixture bundle (within 1e-4).
import assert from "node:assert/strict";
import { test } from "node:test";

import { Edgerec } from "edgerec";
import { Engine } from "../../pkg/edgerec.js";
import { expected, fixtureBytes } from "./helpers.mjs";

const TOLERANCE = 1e-4;

test("user vectors from the wasm engine match onnxruntime", async () => {
  await Edgerec.create({ bundle: await fixtureBytes() }); // instantiates the wasm
  const { "manifest.json": manifest, "manifest.sig": sig, ...files } = await fixtureBytes();
  const engine = new Engine(manifest, sig, files, undefined);
  for (const c of expected.cases) {
    const user = engine.userVector(c.events);
    assert.equal(user.length, c.user.length, c.name);
    user.forEach((v, i) => assert.ok(Math.abs(v - c.user[i]) <= TOLERANCE, `${c.name}[${i}]: ${v} vs ${c.user[i]}`));
  }
  engine.free();
});

test("top-k lists and scores match the independent ranking", async () => {
  const rec = await Edgerec.create({ bundle: await fixtureBytes() });
  for (const c of expected.cases) {
    const top = await rec.recommend({ k: expected.k, events: c.events });
    assert.deepEqual(top.map((t) => t.item), c.top.map((t) => t.item), c.name);
    top.forEach((t, i) => assert.ok(Math.abs(t.score - c.top[i].score) <= TOLERANCE, `${c.name}: ${t.score} vs ${c.top[i].score}`));
  }
  rec.dispose();
});
