// One cold start in a fresh process, for bench/peers.mjs: `edgerec` (instantiate the wasm, verify
// and load the grocery bundle's models, first recommend) or `ort` (onnxruntime-web's
// wasm backend, one thread: create the session from the same interest.onnx, first run). Prints
// `{ ms, maxRssMb }` (peak RSS) as JSON. Reading files from disk is not counted.
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";

const DIR = new URL("../models/grocery/", import.meta.url);
const which = process.argv[2];

if (which === "edgerec") {
  const { readBundleDir } = await import("edgerec/node");
  const files = await readBundleDir(DIR.pathname);
  const wasm = await readFile(new URL("../pkg/edgerec_bg.wasm", import.meta.url));
  const first = JSON.parse(new TextDecoder().decode(files["items.json"]))[0].id;
  const start = performance.now();
  const { Edgerec } = await import("edgerec");
  const rec = await Edgerec.create({ bundle: files, wasm, device: "cpu" });
  await rec.recommend({ k: 10, events: [{ type: "view", item: first, ts: Date.now() }] });
  await report(performance.now() - start);
} else if (which === "ort") {
  const model = await readFile(new URL("interest.onnx", DIR));
  const wasmFile = new URL("../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm", import.meta.url);
  const wasmBinary = await readFile(wasmFile);
  const start = performance.now();
  const ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmBinary = wasmBinary;
  const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  await session.run({ emb: new ort.Tensor("float32", new Float32Array(50 * 64), [1, 50, 64]) });
  await report(performance.now() - start);
} else {
  throw new Error("usage: node bench/peers-cold.mjs edgerec|ort");
}

/** Peak RSS from /proc (VmHWM, which exec resets; getrusage's maxRSS keeps the parent's peak). */
async function peakRssMb() {
  const status = await readFile("/proc/self/status", "utf8");
  return Number(/VmHWM:\s+(\d+)/.exec(status)[1]) / 1024;
}

async function report(ms) {
  console.log(JSON.stringify({ ms, maxRssMb: await peakRssMb() }));
}
