// Catalogue scoring in wasm on the CPU (Node): recommend({ k: 100 }) against synthetic int8
// catalogues of 10k, 100k and 1M items × 64 dims (random rows and scales; the Beauty encoder's plain weights,
// a full window of 50 events), warm p50/p99 of the whole call. The session does not change
// between calls, so the engine reuses its user vector: the figure is scoring, top-k and the call
// from JS. Also the process memory per item at create. The native CPU and GPU figures: `cargo run --profile native
// --features gpu --example bench_scoring`.
//   node bench/scoring.mjs [--sizes 10000,100000,1000000] [--calls 50]
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";

import { Edgerec } from "edgerec";
import { machine, quantile } from "./machine.mjs";

const { values: flags } = parseArgs({ options: { sizes: { type: "string", default: "10000,100000,1000000" }, calls: { type: "string", default: "50" } } });
const DIMS = 64;
const K = 100;
const BEAUTY = new URL("../models/beauty/", import.meta.url);
const beauty = JSON.parse(await readFile(new URL("manifest.json", BEAUTY), "utf8"));
const encoder = new Uint8Array(await readFile(new URL(beauty.encoder.weights, BEAUTY)));

/** A safetensors file with `embedding` int8 [n, dims] and `scale` f32 [n] from a fixed seed. */
function itemTable(n) {
  let state = 12345;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
  const header = JSON.stringify({
    embedding: { dtype: "I8", shape: [n, DIMS], data_offsets: [0, n * DIMS] },
    scale: { dtype: "F32", shape: [n], data_offsets: [n * DIMS, n * DIMS + 4 * n] },
  });
  const head = new TextEncoder().encode(header.padEnd(8 * Math.ceil(header.length / 8), " "));
  const bytes = new Uint8Array(8 + head.length + n * DIMS + 4 * n);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(head.length), true);
  bytes.set(head, 8);
  const values = new Int8Array(bytes.buffer, 8 + head.length, n * DIMS);
  for (let i = 0; i < values.length; i++) values[i] = (next() >>> 24) - 128;
  const scales = new DataView(bytes.buffer, 8 + head.length + n * DIMS, 4 * n);
  for (let i = 0; i < n; i++) scales.setFloat32(4 * i, 0.001 + (next() % 1000) * 1e-5, true);
  return bytes;
}

function bundle(n) {
  const files = {
    [beauty.encoder.weights]: encoder,
    "items.json": new TextEncoder().encode(JSON.stringify(Array.from({ length: n }, (_, i) => ({ id: `sku-${i}` })))),
    "items.safetensors": itemTable(n),
  };
  const entry = (bytes) => ({ bytes: bytes.byteLength, sha256: createHash("sha256").update(bytes).digest("hex") });
  const manifest = {
    formatVersion: 2, modelVersion: `synthetic-${n}`, dims: DIMS, seqLen: 50, itemCount: n, encoder: beauty.encoder,
    files: Object.fromEntries(Object.entries(files).map(([name, bytes]) => [name, entry(bytes)])),
  };
  return { "manifest.json": new TextEncoder().encode(JSON.stringify(manifest)), ...files };
}

console.log(`machine: ${machine()}`);
console.log(`path: wasm CPU (SIMD128), k = ${K}, ${DIMS} dims, ${flags.calls} warm calls per size`);
for (const n of flags.sizes.split(",").map(Number)) {
  const before = process.memoryUsage();
  const rec = await Edgerec.create({ bundle: bundle(n), device: "cpu" });
  const after = process.memoryUsage();
  const now = Date.now();
  rec.observeMany(Array.from({ length: 50 }, (_, i) => ({ type: "view", item: `sku-${(i * 7919) % n}`, ts: now - 1000 * i })));
  // V8 runs wasm on its baseline tier until the optimising tier catches up: warm up by time.
  for (const until = performance.now() + 5000; performance.now() < until; ) await rec.recommend({ k: K });
  const times = [];
  for (let i = 0; i < Number(flags.calls); i++) {
    const t = performance.now();
    await rec.recommend({ k: K });
    times.push(performance.now() - t);
  }
  const held = (after.rss - before.rss) / n;
  console.log(`${String(n).padStart(9)} items: recommend p50 ${quantile(times, 0.5).toFixed(2)} ms, p99 ${quantile(times, 0.99).toFixed(2)} ms; ` +
    `process memory (RSS) grew by ${held.toFixed(0)} bytes/item at create`);
  rec.dispose();
}
