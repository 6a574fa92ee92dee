// Where a cold start goes: fresh Node processes run the phases of edgerec's cold start on the
// grocery bundle one by one (compile the wasm, instantiate it, load and verify the bundle and
// optimise both models, first recommend) under V8's default tiering and two variants of it
// (`--liftoff-only`: baseline compiler only; `--no-liftoff`: optimising compiler only), and
// print the median of each phase.
//
//   node bench/cold-phases.mjs [--runs 7]
import { execFileSync } from "node:child_process";
import { readFile, readdir } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

import { machine, quantile } from "./machine.mjs";

const ROOT = new URL("../", import.meta.url);
const PHASES = ["compile", "instantiate", "load", "firstRecommend"];

if (process.argv[2] === "--child") {
  console.log(JSON.stringify(await phases()));
} else {
  const at = process.argv.indexOf("--runs");
  const runs = at > 0 ? Number(process.argv[at + 1]) : 7;
  console.log(`machine: ${machine()}; median of ${runs} fresh processes, ms`);
  console.log(["V8 flags", ...PHASES, "total"].join(" | "));
  for (const flags of [[], ["--liftoff-only"], ["--no-liftoff"]]) {
    const samples = Array.from({ length: runs }, () =>
      JSON.parse(execFileSync(process.execPath, [...flags, fileURLToPath(import.meta.url), "--child"], { encoding: "utf8" })));
    const medians = PHASES.map((p) => quantile(samples.map((s) => s[p]), 0.5));
    const total = quantile(samples.map((s) => PHASES.reduce((sum, p) => sum + s[p], 0)), 0.5);
    console.log([flags.join(" ") || "(default)", ...medians.map((m) => m.toFixed(1)), total.toFixed(1)].join(" | "));
  }
}

/** One cold start, phase by phase (reading the files from disk is not counted). */
async function phases() {
  const dir = new URL("models/grocery/", ROOT);
  const files = {};
  for (const name of await readdir(dir)) {
    if (name !== "manifest.json") files[name] = new Uint8Array(await readFile(new URL(name, dir)));
  }
  const manifest = new Uint8Array(await readFile(new URL("manifest.json", dir)));
  const bytes = await readFile(new URL("pkg/edgerec_bg.wasm", ROOT));
  const glue = await import(new URL("pkg/edgerec.js", ROOT).href);
  const first = JSON.parse(new TextDecoder().decode(files["items.json"]))[0].id;
  const t0 = performance.now();
  const module = await WebAssembly.compile(bytes);
  const t1 = performance.now();
  glue.initSync({ module });
  const t2 = performance.now();
  const engine = new glue.Engine(manifest, null, files, null, undefined, undefined, undefined);
  const t3 = performance.now();
  engine.recommend(undefined, { k: 10 }, [{ type: "view", item: first, ts: Date.now() }]);
  const t4 = performance.now();
  return { compile: t1 - t0, instantiate: t2 - t1, load: t3 - t2, firstRecommend: t4 - t3 };
}
