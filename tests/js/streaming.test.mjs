// The streaming encoder (`encoder.reach`) in the wasm package, on the build under test: for random
// streams of batches, late events, refused batches and forgets, a session's user vector (streamed
// one event at a time in the default build) equals the full recompute of its events within 1e-5.
// The bundle is the fixture with the streaming conformance encoder of its width in place of its own.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

import { BUILD, fixtureBytes, rawEngine, rehash } from "./helpers.mjs";

const TOLERANCE = 1e-5;
const ENCODER = new URL("../conformance/w16-b2-h2-reach4/", import.meta.url);

/** The fixture's files with the streaming encoder in both forms, its window and `encoder` entry. */
async function streamingFixture() {
  const spec = JSON.parse(await readFile(new URL("spec.json", ENCODER), "utf8"));
  let files = await fixtureBytes();
  for (const name of ["interest.onnx", "encoder.safetensors"]) {
    files = await rehash(files, name, new Uint8Array(await readFile(new URL(name, ENCODER))));
  }
  const manifest = JSON.parse(new TextDecoder().decode(files["manifest.json"]));
  Object.assign(manifest, { seqLen: spec.seqLen, encoder: spec.encoder });
  return { ...files, "manifest.json": new TextEncoder().encode(JSON.stringify(manifest)) };
}

/** A seeded generator of integers below `n`. */
function random(seed) {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
}

const view = (item, ts) => ({ type: "view", item: `SKU-${String(item).padStart(4, "0")}`, ts });

test(`a streamed session equals the full recompute of its events (${BUILD} build)`, async () => {
  const Engine = await rawEngine();
  const { "manifest.json": manifest, "manifest.sig": _sig, ...files } = await streamingFixture();
  const engine = new Engine(manifest, undefined, files, undefined, undefined, undefined, undefined);
  const seqLen = engine.manifest().seqLen;
  const now = Date.now();
  try {
    for (let seed = 1; seed <= 40; seed++) {
      const next = random(seed);
      const key = `shopper-${seed}`;
      let [newest, oldest] = [now - 1e9, now - 1e9];
      for (let step = 0; step < 30; step++) {
        const roll = next(12);
        if (roll < 6) {
          const batch = Array.from({ length: 1 + next(roll === 0 ? 3 * seqLen : 5) }, () => view(next(60), (newest += 1000)));
          engine.observe(key, batch);
        } else if (roll === 6) {
          engine.observe(key, [view(next(60), (oldest -= 1000))]);
        } else if (roll === 7) {
          const before = engine.events(key);
          const batch = [view(next(60), newest + 1), { type: "view", item: "no-such-item", ts: newest + 2 }];
          assert.throws(() => engine.observe(key, batch), (e) => e.code === "UNKNOWN_ITEM");
          assert.deepEqual(engine.events(key), before, "a refused batch adds nothing");
        } else if (roll === 8) {
          engine.forget(key);
        } else {
          const streamed = engine.userVector(key, undefined);
          const events = engine.events(key) ?? [];
          const full = engine.userVector(undefined, events.map(({ type, item, ts }) => ({ type, item, ts })));
          const off = Math.max(...streamed.map((v, i) => Math.abs(v - full[i])));
          assert.ok(off < TOLERANCE, `seed ${seed}, step ${step}, ${events.length} events: ${off} from the full recompute`);
        }
      }
    }
  } finally {
    engine.free();
  }
});
