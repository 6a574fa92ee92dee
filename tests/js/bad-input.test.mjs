// Every bad input gets an EdgerecError with its code, and the engine keeps working after it.
import assert from "node:assert/strict";
import { before, test } from "node:test";

import { EdgerecError } from "edgerec";
import { create, expected, fixtureBytes, MODEL_FILE, rehash, serve } from "./helpers.mjs";

const now = Date.now();
const view = (item, ts = now) => ({ type: "view", item, ts });
let rec;

before(async () => {
  rec = await create({ bundle: await fixtureBytes() });
  rec.observe(view("SKU-0001", now - 1000));
});

const code = (c) => (e) => {
  assert.ok(e instanceof EdgerecError, `an EdgerecError, got ${e}`);
  assert.equal(e.code, c, e.message);
  return true;
};

/** The session holds its one event and recommendations still come. */
async function assertWorking() {
  assert.deepEqual(rec.events.map((e) => e.item), ["SKU-0001"]);
  assert.equal((await rec.recommend({ k: 5 })).length, 5);
}

const badEvents = {
  "an event with no item": [{ type: "view", ts: now }],
  "an unknown event type": [{ type: "wishlist", item: "SKU-0002", ts: now }],
  "a NaN timestamp": [view("SKU-0002", NaN)],
  "a future timestamp": [view("SKU-0002", now + 3_600_000)],
  "a negative price": [{ ...view("SKU-0002"), price: -3 }],
  "an item id that is not a string": [{ type: "view", item: 42, ts: now }],
  "an event that is not an object": ["view SKU-0002"],
  "a bad event after a good one": [view("SKU-0002"), { type: "view", item: "SKU-0003" }],
};

for (const [name, events] of Object.entries(badEvents)) {
  test(`${name}: INVALID_EVENT, nothing changes`, async () => {
    assert.throws(() => rec.observeMany(events), code("INVALID_EVENT"));
    await assert.rejects(rec.recommend({ events }), code("INVALID_EVENT"));
    await assertWorking();
  });
}

test("an unknown item id rejects the whole batch: UNKNOWN_ITEM", async () => {
  assert.throws(() => rec.observeMany([view("SKU-0002"), view("SKU-9999")]), code("UNKNOWN_ITEM"));
  await assert.rejects(rec.recommend({ candidates: ["SKU-9999"] }), code("UNKNOWN_ITEM"));
  await assertWorking();
});

test("10,000 events at once: TOO_MANY_EVENTS", async () => {
  const events = Array.from({ length: 10_000 }, (_, i) => view("SKU-0004", now - i));
  assert.throws(() => rec.observeMany(events), code("TOO_MANY_EVENTS"));
  await assert.rejects(rec.recommend({ events }), code("TOO_MANY_EVENTS"));
  await assertWorking();
});

test("k = 0, k larger than the catalogue, k not an integer: INVALID_ARGUMENT", async () => {
  for (const k of [0, 61, -1, 2.5, "ten", NaN]) {
    await assert.rejects(rec.recommend({ k }), code("INVALID_ARGUMENT"), `k = ${k}`);
  }
  assert.equal((await rec.recommend({ k: 60 })).length, 60);
  await assertWorking();
});

test("events that are not an array: INVALID_ARGUMENT", async () => {
  assert.throws(() => rec.observeMany({ type: "view" }), code("INVALID_ARGUMENT"));
  await assert.rejects(rec.recommend({ events: "all" }), code("INVALID_ARGUMENT"));
  await assertWorking();
});

const badBundles = {
  "a truncated model file": ["SIZE_MISMATCH", (f) => ({ ...f, [MODEL_FILE]: f[MODEL_FILE].slice(0, 1000) })],
  "a truncated model file, re-listed in the manifest": ["INVALID_MODEL", (f) => rehash(f, MODEL_FILE, f[MODEL_FILE].slice(0, 1000))],
  "a sha256 mismatch": ["CHECKSUM_MISMATCH", (f) => {
    const table = f["items.safetensors"].slice();
    table[table.length - 1] ^= 1;
    return { ...f, "items.safetensors": table };
  }],
  "a manifest of an unknown format version": ["UNSUPPORTED_FORMAT_VERSION", (f) => {
    const m = JSON.parse(new TextDecoder().decode(f["manifest.json"]));
    return { ...f, "manifest.json": new TextEncoder().encode(JSON.stringify({ ...m, formatVersion: 3 })) };
  }],
  "a missing file": ["MISSING_FILE", ({ "items.json": _, ...f }) => f],
};

for (const [name, [expectedCode, tamper]] of Object.entries(badBundles)) {
  test(`${name}: ${expectedCode}`, async () => {
    const files = await tamper(await fixtureBytes());
    await assert.rejects(create({ bundle: files }), code(expectedCode));
    await assertWorking();
    (await create({ bundle: await fixtureBytes() })).dispose();
  });
}

test("a bad signature with a pinned key: BAD_SIGNATURE", async () => {
  const files = await fixtureBytes();
  const sig = files["manifest.sig"].slice();
  sig[3] ^= 0x10;
  await assert.rejects(create({ bundle: { ...files, "manifest.sig": sig }, publicKey: expected.publicKey }), code("BAD_SIGNATURE"));
  const { "manifest.sig": _, ...unsigned } = files;
  await assert.rejects(create({ bundle: unsigned, publicKey: expected.publicKey }), code("BAD_SIGNATURE"));
  await assert.rejects(create({ bundle: files, publicKey: "not hex" }), code("INVALID_ARGUMENT"));
  await assertWorking();
});

test("over HTTP, a wrong-sized or tampered download is dropped before the core sees it", async () => {
  const files = await fixtureBytes();
  const longer = new Uint8Array(files[MODEL_FILE].byteLength + 10);
  longer.set(files[MODEL_FILE]);
  const tampered = files["items.json"].slice();
  tampered[5] ^= 1;
  for (const [bad, expectedCode] of [[{ [MODEL_FILE]: longer }, "SIZE_MISMATCH"], [{ "items.json": tampered }, "CHECKSUM_MISMATCH"]]) {
    const server = await serve({ ...files, ...bad });
    try {
      await assert.rejects(create({ bundle: server.url, cache: "none" }), code(expectedCode));
    } finally {
      await server.close();
    }
  }
  const server = await serve({});
  try {
    await assert.rejects(create({ bundle: server.url }), code("FETCH_FAILED"));
  } finally {
    await server.close();
  }
});

test("bad create options: INVALID_ARGUMENT", async () => {
  await assert.rejects(create({ bundle: await fixtureBytes(), device: "tpu" }), code("INVALID_ARGUMENT"));
  await assert.rejects(create({}), code("INVALID_ARGUMENT"));
});
