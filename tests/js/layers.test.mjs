// The core reads one way: events -> session -> encoder -> scoring -> pricing -> quote. Each module
// of src/ may use only modules listed before it here (a `use crate::…` or `crate::…` path outside
// doc comments), so no module imports one above it and no cycle can form (engine and gpu had one).
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { test } from "node:test";

const SRC = new URL("../../src/", import.meta.url);

/** The crate's top-level modules, lowest first. */
const LAYERS = [
  "error", "clock", "datetime", "weights", "bundle", "catalog", "events", "onnx_gate", "interest",
  "retrieve", "gpu", "pricing", "model", "explain", "ranking", "session", "wasm",
];

test("no module of src/ uses one above it", async () => {
  const files = (await readdir(SRC, { recursive: true })).filter((f) => f.endsWith(".rs") && f !== "lib.rs");
  const seen = new Set();
  for (const file of files) {
    const module = file.split("/")[0].replace(/\.rs$/, "");
    seen.add(module);
    assert.ok(LAYERS.includes(module), `src/${file}: module ${module} is not in LAYERS`);
    const code = (await readFile(new URL(file, SRC), "utf8")).split("\n").filter((l) => !/^\s*\/\/[!/]/.test(l)).join("\n");
    for (const [, used] of code.matchAll(/\bcrate::([a-z_]+)/g)) {
      if (used === module) continue;
      assert.ok(LAYERS.indexOf(used) < LAYERS.indexOf(module), `src/${file} (${module}) uses crate::${used}, which is above it`);
    }
  }
  assert.deepEqual([...seen].sort(), [...LAYERS].sort(), "LAYERS names every module of src/");
});
