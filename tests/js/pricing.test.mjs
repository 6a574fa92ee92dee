// Quotes through the package on the grocery bundle: guardrails as configured, disclosures, one
// price per item per session, and named errors for bad settings and requests.
import assert from "node:assert/strict";
import { test } from "node:test";

import { EdgerecError } from "edgerec";
import { readBundleDir } from "edgerec/node";
import { create, fixtureBytes } from "./helpers.mjs";

const grocery = await readBundleDir(new URL("../../models/grocery/", import.meta.url).pathname);
const items = JSON.parse(new TextDecoder().decode(grocery["items.json"])).map((i) => i.id);
const now = Date.now();
const buys = (ids) => ids.map((item, i) => ({ type: "purchase", item, ts: now - 60_000 + i }));

async function rejects(promise, code) {
  await assert.rejects(promise, (e) => e instanceof EdgerecError && e.code === code, `expected ${code}`);
}

test("quotes follow the merchant's guardrails and disclose personalised prices", async () => {
  const pricing = { maxDiscount: 0.2, minMargin: 0.1, priceEndings: [49, 99], jurisdiction: "US-NY" };
  const rec = await create({ bundle: grocery, pricing });
  rec.observeMany(buys(items.slice(0, 10)));
  const quotes = await rec.quote(items.slice(0, 200), { objective: "conversion", minMargin: 0.15 });
  assert.equal(quotes.length, 200);
  assert.ok(quotes.some((q) => q.personalised), "no personalised price among 200 items");
  for (const q of quotes) {
    assert.ok(q.price <= q.listPrice + 1e-9, JSON.stringify(q));
    if (!q.personalised) {
      assert.equal(q.disclosure, null);
      continue;
    }
    const cents = Math.round(q.price * 100);
    assert.ok([49, 99].includes(cents % 100), JSON.stringify(q));
    assert.ok(q.price >= q.listPrice * 0.8 - 0.005, JSON.stringify(q));
    assert.ok(q.price >= q.listPrice * 0.7 * 1.15 - 0.005, JSON.stringify(q));
    assert.equal(q.disclosure, "THIS PRICE WAS SET BY AN ALGORITHM USING YOUR PERSONAL DATA");
    if (q.price >= q.referencePrice) assert.equal(q.discountPct, 0);
  }
  const again = await rec.quote(items.slice(0, 200));
  assert.deepEqual(again, quotes, "an item keeps its price for the session");
  rec.dispose();
});

test("a quote for sent events touches no session and remembers nothing; keyed sessions keep their own prices", async () => {
  const pricing = { maxDiscount: 0.2, minMargin: 0.1, priceEndings: [49, 99] };
  const options = { objective: "conversion", minMargin: 0.15 };
  const rec = await create({ bundle: grocery, pricing });
  const shown = items.slice(0, 200);
  const first = await rec.quote(shown, { ...options, events: buys(items.slice(0, 5)) });
  assert.ok(first.some((q) => q.personalised), "no personalised price among 200 items");
  const other = await rec.quote(shown, { ...options, events: buys(items.slice(300, 340)) });
  assert.equal(rec.events.length, 0);
  assert.equal(rec.sessions.sessions, 0);
  const a = rec.session("shopper-a");
  a.observeMany(buys(items.slice(0, 5)));
  const aFirst = await a.quote(shown, options);
  assert.deepEqual(aFirst, first, "the same events price the same");
  a.observeMany(buys(items.slice(300, 340)));
  assert.deepEqual(await a.quote(shown, options), aFirst, "an item keeps its first price in its session");
  const b = rec.session("shopper-b");
  b.observeMany(buys(items.slice(300, 340)));
  assert.deepEqual(await b.quote(shown, options), other, "another session prices for its own events, as the events-only quote did: it kept no first price");
  await rejects(a.quote(items.slice(0, 3), { events: buys(items.slice(0, 2)) }), "INVALID_ARGUMENT");
  await rejects(rec.quote(items.slice(0, 3), { sessionKey: "shopper-a" }), "INVALID_ARGUMENT");
  rec.dispose();
});

test("bad pricing settings fail at create; bad quote requests are named and change nothing", async () => {
  await rejects(create({ bundle: grocery, pricing: { maxDiscount: 1.5 } }), "INVALID_PRICING");
  await rejects(create({ bundle: grocery, pricing: { priceEndings: [120] } }), "INVALID_PRICING");
  await rejects(create({ bundle: grocery, pricing: { jurisdiction: "Mars" } }), "INVALID_PRICING");
  const rec = await create({ bundle: grocery });
  await rejects(rec.quote([]), "INVALID_ARGUMENT");
  await rejects(rec.quote(["no-such-sku"]), "UNKNOWN_ITEM");
  await rejects(rec.quote(items.slice(0, 3), { objective: "conversion" }), "INVALID_ARGUMENT");
  await rejects(rec.quote(items.slice(0, 3), { objective: "profit" }), "INVALID_ARGUMENT");
  assert.equal((await rec.quote(items.slice(0, 3), { objective: "conversion", minMargin: 0.2 })).length, 3);
  rec.dispose();
  const fixture = await create({ bundle: await fixtureBytes() });
  await rejects(fixture.quote(["SKU-0001"]), "PRICING_UNAVAILABLE");
  fixture.dispose();
});
