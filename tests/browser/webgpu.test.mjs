// The GPU build in headless Chromium: WebGPU (SwiftShader) ranks the grocery catalogue exactly
// as the CPU build does; a lost device and a browser without an adapter both fall back to the
// CPU with no error reaching the caller.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { launch } from "./chromium.mjs";
import { serveStatic } from "../../scripts/static-server.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
let server;
const contexts = [];

before(async () => {
  server = await serveStatic(ROOT);
});

after(async () => {
  await Promise.all(contexts.map((c) => c.close()));
  await server?.close();
});

async function page(webgpu) {
  const context = await launch({ webgpu });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${server.url}/tests/browser/blank.html`);
  return page;
}

/** Sessions of grocery purchases (rows of items.json), the requests every backend must agree on. */
const SESSIONS = [[], [3, 17, 17, 250], [1999, 3, 640, 12, 12, 12, 77, 3001, 5, 900]];
const KS = [1, 10, 100, 256];

test("WebGPU ranks like the CPU: identical lists, identical scores", async () => {
  const p = await page(true);
  const result = await p.evaluate(async ({ sessions, ks }) => {
    const adapter = await navigator.gpu?.requestAdapter();
    const { Edgerec } = await import("/dist/index.js");
    const ids = (await (await fetch("/models/grocery/items.json")).json()).map((i) => i.id);
    const gpu = await Edgerec.create({ bundle: "/models/grocery/", device: "gpu", cache: "none" });
    const cpu = await Edgerec.create({ bundle: "/models/grocery/", device: "cpu", cache: "none" });
    const auto = await Edgerec.create({ bundle: "/models/grocery/", device: "auto", cache: "none" });
    const pairs = [];
    for (const rows of sessions) {
      const events = rows.map((r, i) => ({ type: "purchase", item: ids[r], ts: Date.now() - 60_000 + i }));
      for (const k of ks) {
        const exclude = rows.length ? [ids[rows[0]]] : [];
        pairs.push([await gpu.recommend({ k, events, exclude }), await cpu.recommend({ k, events, exclude })]);
      }
    }
    return { adapter: Boolean(adapter), backends: [gpu.backend, cpu.backend, auto.backend], pairs };
  }, { sessions: SESSIONS, ks: KS });
  assert.ok(result.adapter, "Chromium with --enable-unsafe-webgpu offers an adapter (SwiftShader)");
  assert.deepEqual(result.backends, ["gpu", "cpu", "cpu"], "auto keeps a 4,000-item catalogue on the CPU");
  for (const [gpu, cpu] of result.pairs) {
    assert.deepEqual(gpu.map((r) => r.item), cpu.map((r) => r.item));
    gpu.forEach((r, i) => assert.equal(r.score, cpu[i].score, `score of ${r.item}`));
  }
});

test("a device lost mid-session falls back to the CPU without an error", async () => {
  const p = await page(true);
  const result = await p.evaluate(async () => {
    const glue = await import("/pkg-gpu/edgerec-gpu.js");
    await glue.default({ module_or_path: "/pkg-gpu/edgerec-gpu_bg.wasm" });
    const manifest = new Uint8Array(await (await fetch("/models/grocery/manifest.json")).arrayBuffer());
    const names = Object.keys(JSON.parse(new TextDecoder().decode(manifest)).files);
    const files = {};
    for (const name of names) files[name] = new Uint8Array(await (await fetch(`/models/grocery/${name}`)).arrayBuffer());
    const engine = new glue.Engine(manifest, undefined, files, undefined, undefined, undefined, undefined);
    const use = await engine.useGpu(true);
    const ids = JSON.parse(new TextDecoder().decode(files["items.json"])).map((i) => i.id);
    const request = { k: 50 };
    const events = [ids[3], ids[17], ids[250]].map((item, i) => ({ type: "view", item, ts: Date.now() - 1000 + i }));
    const before = await engine.recommendOnGpu(undefined, request, events);
    const backendBefore = engine.backend;
    engine.loseGpuDevice();
    await new Promise((r) => setTimeout(r, 100));
    const afterLoss = await engine.recommendOnGpu(undefined, request, events);
    return { use, backendBefore, backendAfter: engine.backend, before, afterLoss, cpu: engine.recommend(undefined, request, events) };
  });
  assert.equal(result.use.backend, "gpu", JSON.stringify(result.use));
  assert.equal(result.backendBefore, "gpu");
  assert.equal(result.backendAfter, "cpu");
  assert.deepEqual(result.before, result.cpu);
  assert.deepEqual(result.afterLoss, result.cpu);
});

test("without an adapter, device: \"gpu\" runs on the CPU", async () => {
  const p = await page(false);
  const result = await p.evaluate(async () => {
    const { Edgerec } = await import("/dist/index.js");
    const rec = await Edgerec.create({ bundle: "/models/grocery/", device: "gpu", cache: "none" });
    const top = await rec.recommend({ k: 5 });
    return { backend: rec.backend, count: top.length, adapter: Boolean(await navigator.gpu?.requestAdapter()) };
  });
  assert.equal(result.adapter, false);
  assert.equal(result.backend, "cpu");
  assert.equal(result.count, 5);
});

test("device \"gpu\" given the CPU build's wasm as gpuWasm: an EdgerecError WASM_MISMATCH, then the right file works", async () => {
  const p = await page(true);
  const result = await p.evaluate(async () => {
    const { Edgerec } = await import("/dist/index.js");
    const options = { bundle: "/models/grocery/", device: "gpu", cache: "none" };
    let wrong;
    try {
      await Edgerec.create({ ...options, gpuWasm: "/pkg/edgerec_bg.wasm" });
    } catch (e) {
      wrong = { name: e.name, code: e.code, message: e.message };
    }
    const rec = await Edgerec.create({ ...options, gpuWasm: "/pkg-gpu/edgerec-gpu_bg.wasm" });
    return { wrong, backend: rec.backend, count: (await rec.recommend({ k: 5 })).length };
  });
  assert.equal(result.wrong?.name, "EdgerecError", JSON.stringify(result.wrong));
  assert.equal(result.wrong.code, "WASM_MISMATCH");
  assert.match(result.wrong.message, /edgerec's cpu build .* not edgerec's gpu build/);
  assert.equal(result.backend, "gpu");
  assert.equal(result.count, 5);
});
