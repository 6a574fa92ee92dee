// The package's shape: the wasm builds in wasm-pack.toml, the loader's table and package.json
// agree; the browser entry imports nothing of Node; each glue refuses another build's wasm with
// an EdgerecError (never a TypeError), and the engine still starts afterwards.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { Edgerec } from "edgerec";
import { outputs, readBuilds } from "../../scripts/build-wasm.mjs";
import { BUILDS } from "../../dist/wasm-loader.js";
import { fixtureBytes } from "./helpers.mjs";

const ROOT = new URL("../../", import.meta.url);
const pkg = JSON.parse(await readFile(new URL("package.json", ROOT), "utf8"));
const builds = readBuilds();
const bytes = (path) => readFile(new URL(path, ROOT));

test("wasm-pack.toml, the loader's BUILDS and package.json name the same builds and files", () => {
  assert.deepEqual(Object.keys(BUILDS).sort(), builds.map((b) => b.name).sort());
  for (const build of builds) {
    const files = outputs(build);
    const entry = BUILDS[build.name];
    assert.equal(fileURLToPath(entry.url()), fileURLToPath(new URL(files.wasm, ROOT)), `${build.name}: the loader's default wasm`);
    assert.match(entry.glue.toString(), new RegExp(`import\\("\\.\\./${files.glue.replace(".", "\\.")}"\\)`), `${build.name}: the loader's glue`);
    for (const file of Object.values(files)) assert.ok(pkg.files.includes(file), `package.json "files" lacks ${file}`);
    assert.equal(pkg.exports[`./${entry.file}`]?.default, `./${files.wasm}`, `package.json exports ./${entry.file}`);
  }
  const names = Object.values(BUILDS).map((b) => b.file);
  assert.equal(new Set(names).size, names.length, "each build's wasm has its own name");
});

test("Node resolves the node entry; the browser entry's module graph imports nothing of Node", async () => {
  assert.equal(fileURLToPath(import.meta.resolve("edgerec")), fileURLToPath(new URL("dist/index-node.js", ROOT)));
  assert.equal(fileURLToPath(import.meta.resolve("edgerec/edgerec.wasm")), fileURLToPath(new URL("pkg/edgerec_bg.wasm", ROOT)));
  assert.equal(pkg.exports["."].browser, "./dist/index.js");
  const seen = new Set();
  const visit = async (url) => {
    if (seen.has(url.href)) return;
    seen.add(url.href);
    const text = await readFile(url, "utf8");
    for (const [, spec] of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g)) {
      assert.ok(spec.startsWith("."), `${url.pathname} imports ${spec}`);
      await visit(new URL(spec, url));
    }
  };
  await visit(new URL("dist/index.js", ROOT));
  assert.ok([...seen].some((u) => u.endsWith("/pkg-gpu/edgerec-gpu.js")), "the GPU glue is reached");
});

test("the CPU glue refuses the GPU build's wasm, and a wasm that is not edgerec's, with WASM_MISMATCH", async () => {
  const bundle = await fixtureBytes();
  await assert.rejects(Edgerec.create({ bundle, device: "cpu", wasm: await bytes("pkg-gpu/edgerec-gpu_bg.wasm") }), (e) => {
    assert.equal(e.name, "EdgerecError");
    assert.equal(e.code, "WASM_MISMATCH");
    assert.match(e.message, /`wasm` is edgerec's gpu build \(edgerec\/edgerec-gpu\.wasm\), not edgerec's cpu build \(edgerec\/edgerec\.wasm\)/);
    return true;
  });
  const empty = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  await assert.rejects(Edgerec.create({ bundle, device: "cpu", wasm: empty }), { code: "WASM_MISMATCH", message: /is not edgerec's/ });
  await assert.rejects(Edgerec.create({ bundle, device: "cpu", wasm: new Uint8Array([1, 2, 3]) }), { code: "WASM_LOAD_FAILED" });
  const rec = await Edgerec.create({ bundle, device: "cpu" });
  assert.equal((await rec.recommend({ k: 3, events: [{ type: "view", item: "SKU-0001", ts: Date.now() }] })).length, 3);
  rec.dispose();
});

test("device gpu given the CPU build's wasm as gpuWasm: WASM_MISMATCH, not a TypeError", async () => {
  Object.defineProperty(globalThis, "navigator", { value: { gpu: {} }, configurable: true, writable: true });
  try {
    const create = Edgerec.create({ bundle: await fixtureBytes(), device: "gpu", gpuWasm: await bytes("pkg/edgerec_bg.wasm") });
    await assert.rejects(create, (e) => {
      assert.equal(e.name, "EdgerecError", `${e.name}: ${e.message}`);
      assert.equal(e.code, "WASM_MISMATCH");
      assert.match(e.message, /`gpuWasm` is edgerec's cpu build \(edgerec\/edgerec\.wasm\), not edgerec's gpu build \(edgerec\/edgerec-gpu\.wasm\)/);
      return true;
    });
  } finally {
    delete globalThis.navigator;
  }
});
