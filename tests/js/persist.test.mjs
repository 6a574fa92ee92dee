// `create({ persist })` where there is no IndexedDB (Node): the store reports itself unavailable,
// `create` and every call still work in memory, and bad options are refused up front.
import assert from "node:assert/strict";
import { test } from "node:test";

import { create, fixtureBytes } from "./helpers.mjs";

const now = Date.now();

test("persist in Node: reported unavailable, never a failed create; the engine works in memory", async () => {
  assert.equal(globalThis.indexedDB, undefined, "this test needs a runtime without IndexedDB");
  const errors = [];
  const rec = await create({ bundle: await fixtureBytes(), persist: { onError: (e) => errors.push(e) } });
  assert.equal(errors.length, 1);
  assert.equal(errors[0].code, "UNAVAILABLE");
  assert.match(errors[0].message, /no IndexedDB here.*memory only/);
  assert.deepEqual(rec.persistence, { consent: true, storage: "memory", stored: 0, error: errors[0] });

  rec.observeMany([{ type: "view", item: "SKU-0001", ts: now - 2000 }, { type: "cart", item: "SKU-0002", ts: now - 1000, price: 3.5 }]);
  assert.equal((await rec.recommend({ k: 3 })).length, 3);
  const exported = JSON.parse(await rec.exportEvents());
  assert.deepEqual(exported.events, rec.events);
  assert.equal(exported.events.length, 2);
  assert.ok(Date.parse(exported.exportedAt) >= now);

  await rec.setConsent(false);
  assert.deepEqual(rec.persistence, { consent: false, storage: "memory", stored: 0, error: errors[0] });
  await rec.forget();
  assert.deepEqual(rec.events, []);
  assert.equal(errors.length, 1, "nothing more failed");
  rec.dispose();
});

test("without persist: no persistence state, export from memory, setConsent refused", async () => {
  const rec = await create({ bundle: await fixtureBytes() });
  assert.equal(rec.persistence, undefined);
  rec.observe({ type: "view", item: "SKU-0003", ts: now });
  assert.deepEqual(JSON.parse(await rec.exportEvents()).events, [{ type: "view", item: "SKU-0003", ts: now }]);
  await assert.rejects(rec.setConsent(true), { code: "INVALID_ARGUMENT" });
  rec.dispose();
});

test("bad persist options are refused before anything loads", async () => {
  const bundle = await fixtureBytes();
  for (const persist of [null, { days: 0 }, { days: Infinity }, { maxEvents: 0 }, { maxEvents: 1001 }, { maxEvents: 2.5 }, { name: "" }, { consent: "yes" }, { onError: 1 }]) {
    await assert.rejects(create({ bundle, persist }), (e) => e.code === "INVALID_ARGUMENT" && /persist/.test(e.message), JSON.stringify(persist));
  }
});

test("every storage failure code is produced by js/persist.ts and documented", async () => {
  const { readFile } = await import("node:fs/promises");
  const read = (path) => readFile(new URL(`../../${path}`, import.meta.url), "utf8");
  const union = /export type PersistErrorCode =([^;]+);/.exec(await read("js/types.ts"))[1];
  const codes = [...union.matchAll(/\|\s*"([A-Z_]+)"/g)].map((m) => m[1]);
  assert.deepEqual(codes, ["UNAVAILABLE", "BLOCKED", "QUOTA_EXCEEDED", "RECORDS_SKIPPED", "STORAGE_FAILED"]);
  const store = await read("js/persist.ts");
  for (const code of codes) assert.match(store, new RegExp(`"${code}"`), `js/persist.ts never gives ${code}`);
  for (const doc of ["README.md", "docs/guide.md", "docs/privacy.md"]) {
    const text = await read(doc);
    for (const code of codes) assert.match(text, new RegExp(`\`${code}\``), `${doc} does not mention ${code}`);
  }
});
