// One engine, many shoppers: sessions never see each other's events, cached vectors or prices
// (keys that collide with any default included), the store of keyed sessions keeps its caps
// through 10,000 shoppers with memory flat, and options a call does not know are refused by name.
import assert from "node:assert/strict";
import { test } from "node:test";

import { EdgerecError } from "edgerec";
import { readBundleDir } from "edgerec/node";
import { create } from "./helpers.mjs";

const grocery = await readBundleDir(new URL("../../models/grocery/", import.meta.url).pathname);
const items = JSON.parse(new TextDecoder().decode(grocery["items.json"])).map((i) => i.id);
const now = Date.now();
const buys = (ids) => ids.map((item, i) => ({ type: "purchase", item, ts: now - 60_000 + i }));
const isCode = (code) => (e) => e instanceof EdgerecError && e.code === code;

test("sessions never see each other's events, cached vectors or prices, whatever their keys", async () => {
  const rec = await create({ bundle: grocery });
  const alone = await create({ bundle: grocery });
  const shown = items.slice(200, 240);
  const keys = ["default", "undefined", "null", "0", "__proto__", "constructor", "toString", "shopper", " ", "ü".repeat(64)];
  rec.observeMany(buys(items.slice(0, 8)));
  const own = { top: await rec.recommend({ k: 20 }), prices: await rec.quote(shown) };
  for (const [i, key] of keys.entries()) {
    const session = rec.session(key);
    assert.deepEqual(session.events, [], `${JSON.stringify(key)} starts empty`);
    session.observeMany(buys(items.slice(100 + 10 * i, 110 + 10 * i)));
    // Each session answers exactly as a fresh engine's own shopper with the same events would.
    alone.observeMany(buys(items.slice(100 + 10 * i, 110 + 10 * i)));
    assert.deepEqual(await session.recommend({ k: 20 }), await alone.recommend({ k: 20 }), JSON.stringify(key));
    assert.deepEqual(await session.quote(shown), await alone.quote(shown), JSON.stringify(key));
    await alone.forget();
  }
  assert.deepEqual(await rec.recommend({ k: 20 }), own.top, "the page's own shopper is untouched");
  assert.deepEqual(await rec.quote(shown), own.prices);
  assert.equal(rec.events.length, 8);
  assert.equal(rec.sessions.sessions, keys.length);
  await rec.session("default").forget();
  assert.equal(rec.sessions.sessions, keys.length - 1, "forget drops a keyed session");
  assert.equal(rec.events.length, 8, "and not the page's own shopper");
  for (const bad of ["", "k".repeat(129), 7, undefined, null, {}]) {
    assert.throws(() => rec.session(bad).observe(buys(items.slice(0, 1))[0]), isCode("INVALID_ARGUMENT"), JSON.stringify(bad));
  }
  rec.dispose();
  alone.dispose();
});

test("10,000 shoppers through one engine: the store keeps its caps and memory stays flat", async () => {
  const limits = { maxSessions: 1000, maxBytes: 4 * 2 ** 20, idleMinutes: 30 };
  const rec = await create({ bundle: grocery, sessions: limits });
  const shopper = (i) => rec.session(`shopper-${i}`);
  const visit = async (i) => {
    const s = shopper(i);
    s.observeMany(buys(items.slice(i % 3000, (i % 3000) + 30)));
    const top = await s.recommend({ k: 10 });
    await s.quote(top.map((t) => t.item));
  };
  for (let i = 0; i < 2000; i++) await visit(i);
  global.gc?.();
  const warm = process.memoryUsage().rss;
  for (let i = 2000; i < 10_000; i++) await visit(i);
  global.gc?.();
  const grown = (process.memoryUsage().rss - warm) / 2 ** 20;
  const stats = rec.sessions;
  assert.deepEqual(stats.limits, limits);
  assert.ok(stats.sessions <= limits.maxSessions && stats.bytes <= limits.maxBytes, JSON.stringify(stats));
  assert.ok(stats.sessions > 0);
  assert.ok(grown < 16, `RSS grew ${grown.toFixed(1)} MB from shopper 2,000 to 10,000`);
  assert.deepEqual(shopper(42).events, [], "the least recently used went first");
  assert.equal(shopper(9999).events.length, 30, "the latest are kept");
  rec.dispose();
});

test("an option a call does not know is refused with INVALID_ARGUMENT naming it", async () => {
  await assert.rejects(create({ bundle: grocery, pricng: {} }), (e) => isCode("INVALID_ARGUMENT")(e) && /pricng/.test(e.message));
  await assert.rejects(create({ bundle: grocery, pricing: { maxDiscout: 0.05 } }), (e) => isCode("INVALID_PRICING")(e) && /maxDiscout/.test(e.message));
  await assert.rejects(create({ bundle: grocery, sessions: { maxSession: 5 } }), (e) => isCode("INVALID_ARGUMENT")(e) && /maxSession/.test(e.message));
  await assert.rejects(create({ bundle: grocery, sessions: { maxBytes: 1000 } }), (e) => isCode("INVALID_ARGUMENT")(e) && /maxBytes/.test(e.message));
  const rec = await create({ bundle: grocery });
  const named = (word) => (e) => isCode("INVALID_ARGUMENT")(e) && e.message.includes(word);
  await assert.rejects(rec.recommend({ kk: 5 }), named("kk"));
  await assert.rejects(rec.recommend({ exclud: [items[0]] }), named("exclud"));
  await assert.rejects(rec.quote(items.slice(0, 2), { objectiv: "margin" }), named("objectiv"));
  await assert.rejects(rec.session("s").recommend({ k: 5, explain: true, extra: 1 }), named("extra"));
  assert.throws(() => rec.observe({ type: "view", item: items[0], ts: now, prcie: 3 }), (e) => isCode("INVALID_EVENT")(e) && /prcie/.test(e.message));
  assert.equal(rec.events.length, 0, "refused calls change nothing");
  rec.dispose();
});

test("explain gives the reasons recommend gives, for any items, without changing the session", async () => {
  const rec = await create({ bundle: grocery });
  rec.observeMany(buys(items.slice(0, 6)));
  const top = await rec.recommend({ k: 5, explain: true });
  const reasons = await rec.explain(top.map((t) => t.item));
  assert.deepEqual(reasons, top.map((t) => t.why));
  assert.deepEqual(await rec.recommend({ k: 5 }), top.map(({ why, ...t }) => t));
  await assert.rejects(rec.explain(["no-such-sku"]), isCode("UNKNOWN_ITEM"));
  rec.dispose();
});
