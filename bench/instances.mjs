// What an engine's own wasm instance costs (one per engine since containment, issue 20): the
// instantiation alone (the module compiled once), `create` on a bundle, and memory per engine:
// the instance's linear memory and the process's RSS, for N engines held at once.
//   node --expose-gc bench/instances.mjs [bundle-dir] [--engines N] [--build cpu|onnx]
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";

import { Edgerec } from "edgerec";
import { readBundleDir } from "edgerec/node";
import { machine, quantile } from "./machine.mjs";

const { values: flags, positionals } = parseArgs({
  options: { engines: { type: "string", default: "50" }, build: { type: "string", default: "cpu" } },
  allowPositionals: true,
});
const dir = positionals[0] ?? "models/grocery";
const count = Number(flags.engines);
const onnx = flags.build === "onnx";
const [gluePath, wasmPath] = onnx ? ["../pkg-onnx/edgerec-onnx.js", "../pkg-onnx/edgerec-onnx_bg.wasm"] : ["../pkg/edgerec.js", "../pkg/edgerec_bg.wasm"];
const gc = globalThis.gc ?? (() => {});
const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);

console.log(`machine: ${machine()}`);
console.log(`bundle:  ${dir}, ${flags.build} build, ${count} engines`);

const glue = await import(new URL(gluePath, import.meta.url).href);
let started = performance.now();
const module = new WebAssembly.Module(await readFile(new URL(wasmPath, import.meta.url)));
console.log(`compile (once per build): ${(performance.now() - started).toFixed(1)} ms`);

const instantiation = [];
for (let i = 0; i < 200; i++) {
  started = performance.now();
  const instance = glue.instantiateSync(module);
  instantiation.push(performance.now() - started);
  if (i === 0) console.log(`an empty instance's memory: ${mb(instance.exports.memory.buffer.byteLength)} MiB`);
}
console.log(`instantiateSync, 200 instances: median ${quantile(instantiation, 0.5).toFixed(2)} ms, p99 ${quantile(instantiation, 0.99).toFixed(2)} ms`);

const files = await readBundleDir(dir);
const build = onnx ? "onnx" : "auto";
await (await Edgerec.create({ bundle: files, build, device: "cpu" })).dispose(); // compiles the module once
gc();
const rssBefore = process.memoryUsage().rss;
const instances = [];
const RealInstance = WebAssembly.Instance;
WebAssembly.Instance = new Proxy(RealInstance, {
  construct(target, args) {
    const instance = Reflect.construct(target, args);
    instances.push(instance);
    return instance;
  },
});
const creates = [];
const engines = [];
for (let i = 0; i < count; i++) {
  started = performance.now();
  engines.push(await Edgerec.create({ bundle: files, build, device: "cpu" }));
  creates.push(performance.now() - started);
}
gc();
const rssAfter = process.memoryUsage().rss;
const memories = instances.map((i) => i.exports.memory.buffer.byteLength);
console.log(`create on the bundle: median ${quantile(creates, 0.5).toFixed(1)} ms, p99 ${quantile(creates, 0.99).toFixed(1)} ms`);
console.log(`linear memory per engine after create: ${mb(quantile(memories, 0.5))} MiB`);
console.log(`RSS per engine held (${count} engines): ${mb((rssAfter - rssBefore) / count)} MiB`);
for (const engine of engines) engine.dispose();
