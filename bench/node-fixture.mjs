// The engine in Node on a bundle (default: the fixture): wasm size raw and gzipped, cold start
// (median of fresh processes) and warm recommend latency (p50/p99).
//   node bench/node-fixture.mjs [bundle-dir] [--runs N]
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";

import { Edgerec } from "edgerec";
import { readBundleDir } from "edgerec/node";
import { machine, quantile } from "./machine.mjs";

const { values: flags, positionals } = parseArgs({ options: { runs: { type: "string", default: "15" } }, allowPositionals: true });
const dir = positionals[0] ?? "models/fixture";
const coldRuns = Number(flags.runs);
const warmCalls = 2000;

const wasm = await readFile(new URL("../pkg/edgerec_bg.wasm", import.meta.url));
console.log(`machine: ${machine()}`);
console.log(`bundle:  ${dir}`);
console.log(`wasm:    ${(wasm.byteLength / 1e6).toFixed(2)} MB raw, ${(gzipSync(wasm, { level: 9 }).byteLength / 1e6).toFixed(2)} MB gzipped`);

const cold = [];
for (let i = 0; i < coldRuns; i++) {
  const out = execFileSync(process.execPath, [new URL("./cold-start.mjs", import.meta.url).pathname, dir], { encoding: "utf8" });
  cold.push(Number(out.trim()));
}
console.log(`cold start (instantiate + load + first recommend), ${coldRuns} fresh processes: median ${quantile(cold, 0.5).toFixed(1)} ms, min ${Math.min(...cold).toFixed(1)} ms`);

const rec = await Edgerec.create({ bundle: await readBundleDir(dir) });
const ids = JSON.parse(await readFile(`${dir}/items.json`, "utf8")).map((i) => i.id);
const now = Date.now();
rec.observeMany(Array.from({ length: rec.manifest.seqLen }, (_, i) => ({ type: "view", item: ids[(i * 7) % ids.length], ts: now - 1000 * i })));
// Each measured call follows a new event, so the encoder runs (on an unchanged session the engine
// reuses its user vector, and a repeated recommend costs only the scoring).
let tick = 0;
const step = async () => {
  rec.observe({ type: "view", item: ids[(tick++ * 13) % ids.length], ts: now + tick });
  const t = performance.now();
  await rec.recommend({ k: 10 });
  return performance.now() - t;
};
for (const until = performance.now() + 10_000; performance.now() < until; ) await step(); // V8's optimising tier
const warm = [];
for (let i = 0; i < warmCalls; i++) warm.push(await step());
console.log(`warm recommend after a new event (k = 10, full window of ${rec.manifest.seqLen} events), ${warmCalls} calls: p50 ${(quantile(warm, 0.5) * 1000).toFixed(0)} µs, p99 ${(quantile(warm, 0.99) * 1000).toFixed(0)} µs`);
rec.dispose();
