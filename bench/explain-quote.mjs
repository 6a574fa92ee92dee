// Explanations and quotes on the grocery bundle, the default build against the ONNX build in one
// process: warm `recommend({ k: 10, explain: true })` for a 20-event session (the encoder re-run
// once per event it reads) and `quote` of 20 items for it, p50 of alternating sessions.
//   node bench/explain-quote.mjs [--calls 60]
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { Edgerec } from "edgerec";
import { readBundleDir } from "edgerec/node";
import { machine, quantile } from "./machine.mjs";

const { values: flags } = parseArgs({ options: { calls: { type: "string", default: "60" } } });
const calls = Number(flags.calls);
const files = await readBundleDir(fileURLToPath(new URL("../models/grocery/", import.meta.url)));
const ids = JSON.parse(new TextDecoder().decode(files["items.json"])).map((i) => i.id);
const now = Date.now();
const sessions = [0, 1].map((o) => Array.from({ length: 20 }, (_, i) => ({ type: "view", item: ids[(i * 37 + o) % 500], ts: now - 60_000 + i })));

/** The median milliseconds of `n` calls of `f(i)`, after as many unmeasured ones. */
async function median(f, n) {
  for (let i = 0; i < n; i++) await f(i);
  const times = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await f(i);
    times.push(performance.now() - start);
  }
  return quantile(times, 0.5);
}

console.log(`machine: ${machine()}`);
for (const build of ["auto", "onnx"]) {
  const rec = await Edgerec.create({ bundle: files, build, device: "cpu" });
  const explain = await median((i) => rec.recommend({ k: 10, explain: true, events: sessions[i % 2] }), calls);
  const quote = await median((i) => rec.quote(ids.slice(100 + (i % 2) * 20, 120 + (i % 2) * 20), { events: sessions[i % 2] }), calls * 4);
  console.log(`${rec.build} build: recommend with explanations p50 ${explain.toFixed(2)} ms, quote of 20 items p50 ${quote.toFixed(3)} ms`);
  rec.dispose();
}
