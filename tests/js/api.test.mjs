// The JS API: create -> observe -> recommend, progress, the cache, forget, dispose.
import assert from "node:assert/strict";
import { test } from "node:test";

import { EdgerecError } from "edgerec";
import { BUILD, create, expected, fixtureBytes, MODEL_FILE, serve } from "./helpers.mjs";

const now = Date.now();
const view = (item, ago = 0) => ({ type: "view", item, ts: now - ago });

test("create from bytes, observe, recommend", async () => {
  const rec = await create({ bundle: await fixtureBytes(), device: "cpu" });
  assert.equal(rec.modelVersion, "fixture-1");
  assert.equal(rec.manifest.itemCount, 60);
  assert.equal(rec.backend, "cpu");

  const c = expected.cases.find((x) => x.name === "three events");
  c.events.slice(0, 1).forEach((e) => rec.observe(e));
  rec.observeMany(c.events.slice(1));
  assert.deepEqual(rec.events.map((e) => e.item), c.events.map((e) => e.item));
  assert.deepEqual(rec.events[0], c.events[0]);

  const top = await rec.recommend({ k: 10 });
  assert.deepEqual(top.map((t) => t.item), c.top.map((t) => t.item));
  const defaults = await rec.recommend();
  assert.equal(defaults.length, 10, "k defaults to 10");
  rec.dispose();
});

test("recommend with events leaves the session untouched", async () => {
  const rec = await create({ bundle: await fixtureBytes() });
  rec.observe(view("SKU-0005", 1000));
  const before = rec.events;
  const c = expected.cases.find((x) => x.name === "full window");
  const top = await rec.recommend({ k: 10, events: c.events });
  assert.deepEqual(top.map((t) => t.item), c.top.map((t) => t.item));
  assert.deepEqual(rec.events, before);
  rec.dispose();
});

test("exclude and candidates", async () => {
  const rec = await create({ bundle: await fixtureBytes() });
  const c = expected.cases.find((x) => x.name === "one view");
  const top = await rec.recommend({ k: 2, events: c.events, exclude: [c.top[0].item, "NOT-IN-CATALOGUE"] });
  assert.deepEqual(top.map((t) => t.item), [c.top[1].item, c.top[2].item]);
  const pool = await rec.recommend({ k: 5, events: c.events, candidates: [c.top[7].item, c.top[3].item] });
  assert.deepEqual(pool.map((t) => t.item), [c.top[3].item, c.top[7].item]);
  rec.dispose();
});

test("forget empties the session", async () => {
  const rec = await create({ bundle: await fixtureBytes() });
  rec.observeMany([view("SKU-0001", 2000), view("SKU-0002", 1000)]);
  assert.equal(rec.events.length, 2);
  await rec.forget();
  assert.deepEqual(rec.events, []);
  rec.dispose();
});

test("dispose: later calls throw DISPOSED, a second dispose is harmless", async () => {
  const rec = await create({ bundle: await fixtureBytes() });
  rec.dispose();
  rec.dispose();
  assert.throws(() => rec.observe(view("SKU-0001")), (e) => e instanceof EdgerecError && e.code === "DISPOSED");
  await assert.rejects(rec.recommend(), (e) => e.code === "DISPOSED");
});

test("create from a URL reports progress, and a second create hits the cache", async () => {
  const files = await fixtureBytes();
  const server = await serve(files);
  try {
    const progress = [];
    const first = await create({ bundle: server.url, onProgress: (p) => progress.push(p) });
    const total = [MODEL_FILE, "items.safetensors", "items.json"].reduce((s, n) => s + files[n].byteLength, 0);
    assert.ok(progress.length >= 3, "at least one report per file");
    assert.ok(progress.every((p, i) => p.total === total && (i === 0 || p.loaded >= progress[i - 1].loaded)));
    assert.equal(progress.at(-1).loaded, total);
    assert.ok(progress.every((p) => !p.cached));
    assert.equal(server.hits[MODEL_FILE], 1);
    assert.equal(server.hits["manifest.sig"], undefined, "no key pinned: the signature is not fetched");
    if (MODEL_FILE !== "interest.onnx") assert.equal(server.hits["interest.onnx"], undefined, "the default build fetches no ONNX");

    const again = [];
    const second = await create({ bundle: server.url, onProgress: (p) => again.push(p) });
    assert.equal(server.hits[MODEL_FILE], 1, "served from the cache");
    assert.equal(server.hits["manifest.json"], 2, "the manifest is always fetched fresh");
    assert.ok(again.length === 3 && again.every((p) => p.cached));
    assert.equal(again.at(-1).loaded, total);

    const c = expected.cases[2];
    assert.deepEqual(await second.recommend({ k: 10, events: c.events }), await first.recommend({ k: 10, events: c.events }));

    await create({ bundle: server.url, cache: "none" });
    assert.equal(server.hits[MODEL_FILE], 2, 'cache: "none" downloads again');
    first.dispose();
    second.dispose();
  } finally {
    await server.close();
  }
});

test("a pinned key fetches and verifies the signature", async () => {
  const server = await serve(await fixtureBytes());
  try {
    const rec = await create({ bundle: server.url, publicKey: expected.publicKey });
    assert.equal(server.hits["manifest.sig"], 1);
    rec.dispose();
  } finally {
    await server.close();
  }
});

test("device: without WebGPU (Node) every choice runs on the CPU; a bad choice is named", async () => {
  for (const device of ["auto", "gpu", "cpu"]) {
    const rec = await create({ bundle: await fixtureBytes(), device });
    assert.equal(rec.backend, "cpu", device);
    assert.equal((await rec.recommend({ k: 3 })).length, 3);
    rec.dispose();
  }
  await assert.rejects(create({ bundle: await fixtureBytes(), device: "tpu" }), { code: "INVALID_ARGUMENT" });
});

test("a bundle's models decide the build: ONNX only where one comes only as ONNX", async () => {
  const { readBundleDir } = await import("edgerec/node");
  const grocery = await readBundleDir(new URL("../../models/grocery/", import.meta.url).pathname);
  const edit = (files, change) => {
    const manifest = JSON.parse(new TextDecoder().decode(files["manifest.json"]));
    change(manifest);
    return { ...files, "manifest.json": new TextEncoder().encode(JSON.stringify(manifest)) };
  };
  const events = [{ type: "view", item: "981760", ts: Date.now() }];
  // The price head only as price.onnx: the ONNX build, chosen by create itself, reads it and
  // refuses it, since the grocery head's `signals` input needs the manifest's priceHead.response
  // (the default build would refuse with ONNX_BUILD_REQUIRED instead).
  const onnxHead = edit(grocery, (m) => {
    delete m.priceHead;
    delete m.files["price.safetensors"];
  });
  await assert.rejects(create({ bundle: onnxHead, device: "cpu" }), (e) => e.code === "INVALID_MODEL" && /signals/.test(e.message));
  // No price.onnx: the ONNX build reads the plain price head.
  const plainHead = edit(grocery, (m) => delete m.files["price.onnx"]);
  for (const [files, options, build] of [[plainHead, { build: "onnx" }, "onnx"], [plainHead, {}, BUILD === "onnx" ? "onnx" : "cpu"]]) {
    const rec = await create({ bundle: files, device: "cpu", ...options });
    assert.equal(rec.build, build);
    assert.equal((await rec.quote(["995242"], { events })).length, 1);
    rec.dispose();
  }
});

test("bytes given to create are copied before they are hashed: a later change reaches nothing", async () => {
  const files = await fixtureBytes();
  const items = files["items.json"];
  const at = new TextDecoder().decode(items).indexOf("SKU-0021");
  const pending = create({ bundle: files });
  setTimeout(() => items.set(new TextEncoder().encode("SKU-9921"), at), 0);
  const rec = await pending;
  const all = await rec.recommend({ k: 60 });
  assert.ok(all.some((r) => r.item === "SKU-0021") && !all.some((r) => r.item === "SKU-9921"));
  rec.dispose();
});

test("a file that is not bytes is INVALID_ARGUMENT, listed or not", async () => {
  for (const extra of [{ "items.json": "[]" }, { "notes.txt": "hi" }, { "items.safetensors": [1, 2] }, { "manifest.sig": 7 }]) {
    await assert.rejects(create({ bundle: { ...(await fixtureBytes()), ...extra } }), (e) => e instanceof EdgerecError && e.code === "INVALID_ARGUMENT");
  }
});
