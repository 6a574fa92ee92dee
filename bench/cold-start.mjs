// One cold start in a fresh process: instantiate the wasm, load and verify the bundle,
// optimise the model, first recommend. Prints the milliseconds. Used by node-fixture.mjs.
import { performance } from "node:perf_hooks";

import { readBundleDir } from "edgerec/node";

const dir = process.argv[2];
const files = await readBundleDir(dir); // reading the disk is not part of the engine's cold start
const { readFile } = await import("node:fs/promises");
const wasm = await readFile(new URL("../pkg/edgerec_bg.wasm", import.meta.url));
const first = JSON.parse(new TextDecoder().decode(files["items.json"]))[0].id;

const start = performance.now();
const { Edgerec } = await import("edgerec");
const rec = await Edgerec.create({ bundle: files, wasm });
await rec.recommend({ k: 10, events: [{ type: "view", item: first, ts: Date.now() }] });
console.log((performance.now() - start).toFixed(3));
