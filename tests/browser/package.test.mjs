// The npm package in a real browser (Debian's headless Chromium): on a page and in a Web Worker,
// fetching the fixture bundle over HTTP, matching onnxruntime's rankings, caching by hash, and
// making no request beyond the page's own server.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { launch } from "./chromium.mjs";
import { serveStatic } from "../../scripts/static-server.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const expected = JSON.parse(await readFile(new URL("../../models/fixture/expected.json", import.meta.url), "utf8"));
let server, context, page;
const offsite = [];

before(async () => {
  server = await serveStatic(ROOT);
  context = await launch();
  context.on("request", (r) => !r.url().startsWith(server.url) && offsite.push(r.url()));
  page = await context.newPage();
  await page.goto(`${server.url}/tests/browser/blank.html`);
});

after(async () => {
  await context?.close();
  await server?.close();
});

test("on a page: create from a URL, recommend, match onnxruntime, hit the Cache API the second time", async () => {
  const result = await page.evaluate(async ({ cases, k }) => {
    const { Edgerec } = await import("/dist/index.js");
    const progress = [];
    const rec = await Edgerec.create({ bundle: "/models/fixture/", onProgress: (p) => progress.push(p) });
    const lists = [];
    for (const c of cases) lists.push((await rec.recommend({ k, events: c.events })).map((t) => t.item));
    const again = [];
    await Edgerec.create({ bundle: "/models/fixture/", onProgress: (p) => again.push(p) });
    let badCode;
    try {
      rec.observe({ type: "view", item: "SKU-9999", ts: Date.now() });
    } catch (e) {
      badCode = e.code;
    }
    return { lists, first: progress.map((p) => p.cached), second: again.map((p) => p.cached), badCode, cached: (await (await caches.open("edgerec")).keys()).length };
  }, { cases: expected.cases, k: expected.k });
  assert.deepEqual(result.lists, expected.cases.map((c) => c.top.map((t) => t.item)));
  assert.ok(result.first.length >= 3 && result.first.every((c) => !c));
  assert.deepEqual(result.second, [true, true, true], "the second create reads every file from the Cache API");
  assert.equal(result.cached, 3);
  assert.equal(result.badCode, "UNKNOWN_ITEM");
});

test("in a module Web Worker", async () => {
  const c = expected.cases.find((x) => x.name === "full window");
  const reply = await page.evaluate(({ events, k }) => new Promise((resolve) => {
    const worker = new Worker("/tests/browser/worker.mjs", { type: "module" });
    worker.onmessage = ({ data }) => resolve(data);
    worker.onerror = (e) => resolve({ error: { message: e.message } });
    worker.postMessage({ bundle: "/models/fixture/", events, k });
  }), { events: c.events, k: expected.k });
  assert.equal(reply.error, undefined, JSON.stringify(reply.error));
  assert.deepEqual(reply.top.map((t) => t.item), c.top.map((t) => t.item));
});

test("on a page: a trap fails only its engine (ENGINE_FAILED), a throwing getter is INVALID_ARGUMENT", async () => {
  const result = await page.evaluate(async ({ events }) => {
    // The main thread instantiates asynchronously: each instance made is kept, to reach one's stack.
    const made = [];
    const instantiate = WebAssembly.instantiate;
    WebAssembly.instantiate = async (...args) => {
      const out = await instantiate(...args);
      made.push(out.exports ? out : out.instance);
      return out;
    };
    const { Edgerec } = await import("/dist/index.js");
    const bystander = await Edgerec.create({ bundle: "/models/fixture/" });
    const victim = await Edgerec.create({ bundle: "/models/fixture/" });
    WebAssembly.instantiate = instantiate;
    const before = await bystander.recommend({ k: 5, events });
    made.at(-1).exports.__wbindgen_add_to_stack_pointer(0x7fff_fff0); // the victim's stack, beyond its memory
    const codes = [];
    for (const call of [() => victim.recommend({ k: 5, events }), () => victim.recommend({ k: 5 })]) {
      codes.push(await call().then(() => "answered", (e) => e.code));
    }
    const getter = { k: 5, get events() { throw new Error("boom"); } };
    const bad = await bystander.recommend(getter).then(() => "answered", (e) => e.code);
    const after = await bystander.recommend({ k: 5, events });
    victim.dispose();
    return { instances: made.length, codes, bad, same: JSON.stringify(after) === JSON.stringify(before) };
  }, { events: expected.cases.find((x) => x.name === "full window").events });
  assert.equal(result.instances, 2, "one instance per engine");
  assert.deepEqual(result.codes, ["ENGINE_FAILED", "ENGINE_FAILED"]);
  assert.equal(result.bad, "INVALID_ARGUMENT");
  assert.ok(result.same, "the bystander answers as before");
});

test("no request leaves the page's own server", () => {
  assert.deepEqual(offsite, []);
  assert.ok(server.requests.includes("/pkg/edgerec_bg.wasm"));
});
