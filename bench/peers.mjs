// edgerec against onnxruntime-web on the same model in the same Node process: the grocery
// student (L = 50, d = 64), run by edgerec's default build (its plain weights on tract-linalg's
// kernels in wasm) and by onnxruntime-web's wasm backend on the bundle's interest.onnx (one thread,
// SIMD), alternating runs; then edgerec's end-to-end recommend + quote (k = 20), and cold starts in
// fresh processes (bench/peers-cold.mjs). Natively, for reference:
// `cargo run --profile native --features onnx --example bench_encoder`.
//   node bench/peers.mjs [--runs 2000] [--cold 7] [--warmup 15]
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";

import * as ort from "onnxruntime-web";
import init, { Engine } from "../pkg/edgerec.js";
import { Edgerec } from "edgerec";
import { readBundleDir } from "edgerec/node";
import { machine, quantile } from "./machine.mjs";

const { values: flags } = parseArgs({ options: { runs: { type: "string", default: "2000" }, cold: { type: "string", default: "7" }, warmup: { type: "string", default: "15" } } });
const runs = Number(flags.runs);
const DIR = new URL("../models/grocery/", import.meta.url).pathname;
const files = await readBundleDir(DIR);
const { L, D } = { L: 50, D: 64 };

/** The bundle's item table as f32 rows (int8 × row scale), as the engine gathers them. */
function table(bytes) {
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  const data = bytes.subarray(8 + headerLength);
  const [v0, v1] = header.embedding.data_offsets;
  const [s0] = header.scale.data_offsets;
  const values = new Int8Array(data.buffer, data.byteOffset + v0, v1 - v0);
  const scales = new DataView(data.buffer, data.byteOffset + s0);
  return (row) => {
    const scale = scales.getFloat32(4 * row, true);
    return Float32Array.from(values.subarray(row * D, (row + 1) * D), (q) => q * scale);
  };
}

const ids = JSON.parse(new TextDecoder().decode(files["items.json"])).map((i) => i.id);
// Two sessions, used in turn: the engine reuses its last user vector for unchanged input, and
// each measured call must run the encoder.
const now = Date.now();
const rowOf = table(files["items.safetensors"]);
const sessions = [0, 1].map((offset) => {
  const rows = Array.from({ length: L }, (_, i) => (i * 37 + offset) % ids.length);
  const emb = new Float32Array(L * D);
  rows.forEach((row, slot) => emb.set(rowOf(row), slot * D));
  return { events: rows.map((row, i) => ({ type: "view", item: ids[row], ts: now - 60_000 + i })), emb };
});

// V8 runs wasm on its baseline compiler (Liftoff) until its optimising tier has compiled the hot
// functions in the background, which takes seconds for a module this size on 2 busy cores (the
// calls are 3x slower meanwhile): warm each side up for --warmup seconds before measuring.
const warmUpMs = Number(flags.warmup) * 1000;
async function warmUp(step) {
  for (const until = performance.now() + warmUpMs; performance.now() < until; ) await step();
}

// End to end first, before onnxruntime-web shares the process.
const rec = await Edgerec.create({ bundle: files, device: "cpu" });
// One shopper's session whose events change every call (as a shopper's do), so that each
// recommend runs the encoder once and the quote reuses its user vector.
const shopper = rec.session("bench");
let visit = 0;
async function recommendAndQuote() {
  const { events } = sessions[visit++ % 2];
  await shopper.forget();
  shopper.observeMany(events);
  const top = await shopper.recommend({ k: 20 });
  await shopper.quote(top.map((r) => r.item));
}
await warmUp(recommendAndQuote);
const e2e = [];
for (let i = 0; i < runs / 4; i++) {
  const t = performance.now();
  await recommendAndQuote();
  e2e.push(performance.now() - t);
}

await init({ module_or_path: await readFile(new URL("../pkg/edgerec_bg.wasm", import.meta.url)) });
const engine = new Engine(files["manifest.json"], undefined, Object.fromEntries(Object.entries(files).filter(([n]) => n !== "manifest.json")), undefined, undefined, undefined, undefined);
ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmBinary = await readFile(new URL("../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm", import.meta.url));
const ortSession = await ort.InferenceSession.create(files["interest.onnx"], { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
const inputs = sessions.map(({ emb }) => ({ emb: new ort.Tensor("float32", emb, [1, L, D]) }));

const ours = engine.userVector(undefined, sessions[0].events);
const theirs = (await ortSession.run(inputs[0])).user.data;
const diff = Math.max(...Array.from(ours, (v, i) => Math.abs(v - theirs[i])));

const times = { edgerec: [], ort: [] };
let turn = 0;
await warmUp(async () => {
  engine.userVector(undefined, sessions[turn % 2].events);
  await ortSession.run(inputs[turn++ % 2]);
});
for (let i = 0; i < runs; i++) {
  let t = performance.now();
  engine.userVector(undefined, sessions[i % 2].events);
  times.edgerec.push(performance.now() - t);
  t = performance.now();
  await ortSession.run(inputs[i % 2]);
  times.ort.push(performance.now() - t);
}

const cold = { edgerec: [], ort: [] };
for (let i = 0; i < Number(flags.cold); i++) {
  for (const which of ["edgerec", "ort"]) {
    const out = execFileSync(process.execPath, [new URL("./peers-cold.mjs", import.meta.url).pathname, which], { encoding: "utf8" });
    cold[which].push(JSON.parse(out));
  }
}

const us = (ms) => `${(ms * 1000).toFixed(0)} µs`;
const p = (list, q) => quantile(list, q);
console.log(`machine: ${machine()}`);
console.log(`model: models/grocery/interest.onnx (L ${L}, d ${D}); outputs agree within ${diff.toExponential(1)}`);
console.log(`warm inference, ${runs} alternating runs: edgerec (default build, wasm; userVector incl. event checks and gather) p50 ${us(p(times.edgerec, 0.5))} p99 ${us(p(times.edgerec, 0.99))}; ` +
  `onnxruntime-web 1.30 (wasm, 1 thread, SIMD; session.run on a ready tensor) p50 ${us(p(times.ort, 0.5))} p99 ${us(p(times.ort, 0.99))}; ` +
  `ratio ort/edgerec at p50 ${(p(times.ort, 0.5) / p(times.edgerec, 0.5)).toFixed(2)}`);
console.log(`end-to-end recommend (k 20) + quote (20 items; the quote reuses the recommend's user vector), warm, sessions alternating: p50 ${us(p(e2e, 0.5))} p99 ${us(p(e2e, 0.99))}`);
for (const which of ["edgerec", "ort"]) {
  const ms = cold[which].map((c) => c.ms);
  const rss = cold[which].map((c) => c.maxRssMb);
  console.log(`cold start ${which}: median ${p(ms, 0.5).toFixed(0)} ms (min ${Math.min(...ms).toFixed(0)}), peak RSS median ${p(rss, 0.5).toFixed(0)} MB, ${ms.length} fresh processes`);
}
