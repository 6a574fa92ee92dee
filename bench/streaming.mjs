// One new event per call, in wasm on the CPU (Node, the default build): the streaming grocery
// bundle (`encoder.reach`: each event costs one position per block) against the window-form
// grocery bundle (every change re-encodes the window), in one run. Each session first holds 3
// windows of purchases; then per call: `observe` of one purchase, the user vector read, and
// `recommend({ k: 10 })`, which reuses that vector (scoring). The encoder's own time is told apart
// from the call's (event validation, the session store, JS to wasm) by a second session of the
// same bundle whose vector is never read, so that its `observe` encodes nothing: the difference of
// the two observe figures is the encoder's. Also the full recompute: the window's events sent with
// the call (a session built for it).
//   node bench/streaming.mjs [--stream models/grocery-stream] [--window models/grocery] [--calls 2000]
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";

import { readBundleDir } from "edgerec/node";
import { machine, quantile } from "./machine.mjs";

const { values: flags } = parseArgs({
  options: {
    stream: { type: "string", default: "models/grocery-stream" },
    window: { type: "string", default: "models/grocery" },
    calls: { type: "string", default: "2000" },
  },
});
const calls = Number(flags.calls);
const glue = await import("../pkg/edgerec.js");
glue.initSync({ module: await readFile(new URL("../pkg/edgerec_bg.wasm", import.meta.url)) });

const p50 = (times) => quantile(times, 0.5) * 1e3;
/** p50 / p99 of `times` (ms) in µs. */
const figure = (times) => `p50 ${p50(times).toFixed(1)} µs, p99 ${(quantile(times, 0.99) * 1e3).toFixed(1)} µs`;

async function measure(dir) {
  const { "manifest.json": manifest, "manifest.sig": sig, ...files } = await readBundleDir(dir);
  const engine = new glue.Engine(manifest, sig, files, undefined, undefined, undefined, undefined);
  const { seqLen, encoder } = engine.manifest();
  const items = JSON.parse(new TextDecoder().decode(files["items.json"])).map((i) => i.id);
  let state = 7;
  let ts = Date.now() - 1e9;
  const purchase = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return { type: "purchase", item: items[state % items.length], ts: (ts += 60_000) };
  };
  for (const key of ["read", "unread"]) engine.observe(key, Array.from({ length: 3 * seqLen }, purchase));
  engine.userVector("read", undefined);
  const t = { observe: [], unread: [], read: [], encoder: [], scoring: [], full: [] };
  for (let i = 0; i < calls; i++) {
    // The two observes take turns going first, so that neither pays for the other's place.
    const event = purchase();
    const first = i % 2 ? ["read", "unread"] : ["unread", "read"];
    const took = {};
    for (const key of first) {
      const start = performance.now();
      engine.observe(key, [event]);
      took[key] = performance.now() - start;
    }
    const t2 = performance.now();
    engine.userVector("read", undefined);
    const t3 = performance.now();
    engine.recommend("read", { k: 10 }, undefined);
    const t4 = performance.now();
    t.unread.push(took.unread);
    t.observe.push(took.read);
    t.read.push(t3 - t2);
    t.encoder.push(took.read + (t3 - t2));
    t.scoring.push(t4 - t3);
  }
  const window = engine.events("read").slice(-seqLen).map(({ type, item, ts }) => ({ type, item, ts }));
  for (let i = 0; i < Math.min(calls, 500); i++) {
    const t0 = performance.now();
    engine.userVector(undefined, window);
    t.full.push(performance.now() - t0);
  }
  engine.free();
  return { seqLen, reach: encoder?.reach, t };
}

console.log(`machine: ${machine()}`);
console.log(`path: wasm CPU (SIMD128, default build), ${calls} calls after 3 windows of history`);
for (const [label, dir] of [["streaming", flags.stream], ["window form", flags.window]]) {
  const { seqLen, reach, t } = await measure(dir);
  console.log(`${label} (${dir}: ${reach ? `reach ${reach}, window ${seqLen}` : `window ${seqLen}, re-encoded per change`})`);
  console.log(`  observe one event + user vector: ${figure(t.encoder)}`);
  console.log(`    observe ${figure(t.observe)}; the same observe encoding nothing ${figure(t.unread)}; read ${figure(t.read)}`);
  console.log(`    encoder time (observe + read, less the observe that encodes nothing): p50 ${(p50(t.encoder) - p50(t.unread)).toFixed(1)} µs`);
  console.log(`  recommend k 10 (scoring, vector reused): ${figure(t.scoring)}`);
  console.log(`  full recompute (the window's ${seqLen} events sent with the call): ${figure(t.full)}`);
}
