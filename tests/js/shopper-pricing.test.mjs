// Shopper-level prices through the package on the grocery bundle: the deal share a session counts
// from its own priced purchases before this week, the explanation's shopper, reference curve and
// budget, quote's promotion budget and its refusals, and the spread cap (maxShopperSpread).
import assert from "node:assert/strict";
import { test } from "node:test";

import { EdgerecError } from "edgerec";
import { readBundleDir } from "edgerec/node";
import { create, rehash } from "./helpers.mjs";

const grocery = await readBundleDir(new URL("../../models/grocery/", import.meta.url).pathname);
const manifest = JSON.parse(new TextDecoder().decode(grocery["manifest.json"]));
const { dealSharePrior, pseudoLines } = manifest.priceHead.response;
const items = JSON.parse(new TextDecoder().decode(grocery["items.json"])).map((i) => i.id);
const bought = items.slice(0, 20);
const shown = items.slice(100, 300);
/** Ten days ago: always before this week's Monday 00:00 UTC. */
const EARLIER = Date.now() - 10 * 86_400_000;

async function rejects(promise, code, message) {
  await assert.rejects(promise, (e) => e instanceof EdgerecError && e.code === code && message.test(e.message), `expected ${code} matching ${message}`);
}

/** The list price of each of `ids`, from a quote for a shopper with no events. */
async function listPrices(rec, ids) {
  return new Map((await rec.quote(ids, { events: [] })).map((q) => [q.item, q.listPrice]));
}

/** One priced purchase of each item of `bought`, at `ts`, paid `ratio` of its list price. */
function purchases(lists, ratio, ts = EARLIER) {
  return bought.map((item, i) => ({ type: "purchase", item, ts: ts + i, price: Math.round(lists.get(item) * ratio * 100) / 100 }));
}

/** A keyed session of `rec` holding `events`. */
function shopper(rec, key, events) {
  const session = rec.session(key);
  session.observeMany(events);
  return session;
}

const close = (a, b, what, tolerance = 1e-5) => assert.ok(Math.abs(a - b) < tolerance, `${what}: ${a} against ${b}`);

/** safetensors `bytes` without tensor `name`: the others' data packed again, their offsets moved. */
function withoutTensor(bytes, name) {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const { [name]: _, ...header } = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  const chunks = [];
  let at = 0;
  for (const tensor of Object.values(header).filter((t) => t.data_offsets).sort((a, b) => a.data_offsets[0] - b.data_offsets[0])) {
    const [start, end] = tensor.data_offsets;
    chunks.push(bytes.subarray(8 + length + start, 8 + length + end));
    tensor.data_offsets = [at, at + end - start];
    at += end - start;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let offset = 8 + json.length;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

test("a deal-prone session's purchases raise its elasticities above a full-price one's; explanations carry shopper and referenceCurve", async () => {
  const rec = await create({ bundle: grocery });
  const lists = await listPrices(rec, bought);
  const deal = await shopper(rec, "deal", purchases(lists, 0.8)).quote(shown, { explain: true });
  const full = await shopper(rec, "full", purchases(lists, 1)).quote(shown, { explain: true });
  // The same purchases this week: not counted yet, so the population's share.
  const recent = await shopper(rec, "recent", purchases(lists, 0.8, Date.now() - 1000)).quote(shown, { explain: true });
  const n = bought.length;
  for (const [i, q] of deal.entries()) {
    const [d, f, r] = [q.explanation, full[i].explanation, recent[i].explanation];
    assert.deepEqual([d.shopper.purchases, d.shopper.discounted], [n, n]);
    close(d.shopper.dealShare, (n + pseudoLines * dealSharePrior) / (n + pseudoLines), "deal-prone share");
    assert.deepEqual([f.shopper.purchases, f.shopper.discounted], [n, 0]);
    close(f.shopper.dealShare, (pseudoLines * dealSharePrior) / (n + pseudoLines), "full-price share");
    assert.deepEqual([r.shopper.purchases, r.shopper.discounted], [0, 0]);
    close(r.shopper.dealShare, dealSharePrior, "no purchase before this week");
    assert.deepEqual(d.referenceCurve, f.referenceCurve, `${q.item}: one reference shopper for both`);
    assert.ok(d.curve.elasticity > d.referenceCurve.elasticity && d.referenceCurve.elasticity > f.curve.elasticity,
      `${q.item}: elasticity ${d.curve.elasticity} (deal-prone) > ${d.referenceCurve.elasticity} (reference) > ${f.curve.elasticity} (full price)`);
    assert.equal(d.budget, null, "no budget asked, none explained");
  }
  rec.dispose();
});

test("quote's budget spends at most its share where it pays best, says so, and is refused by name otherwise", async () => {
  const rec = await create({ bundle: grocery });
  const lists = await listPrices(rec, bought);
  const share = 0.03;
  const session = shopper(rec, "budget", purchases(lists, 0.8));
  const quotes = await session.quote(shown, { budget: { share }, explain: true });
  const sigmoid = (x) => 1 / (1 + Math.exp(-x));
  // Items with no allowed price below list, or no usable curve, are priced without the budget and add nothing to it.
  const budgeted = quotes.filter((q) => !["GUARDRAILS_INFEASIBLE", "MODEL_OUTPUT_UNUSABLE"].includes(q.reason));
  const allowance = share * budgeted.reduce((sum, q) => sum + q.listPrice * sigmoid(q.explanation.curve.base), 0);
  const spent = quotes.reduce((sum, q) => sum + q.explanation.budget.spend, 0);
  assert.ok(spent > 0 && spent <= allowance + 1e-9, `spent ${spent} of ${allowance}`);
  for (const q of quotes) {
    const { spend, remaining } = q.explanation.budget;
    close(remaining, allowance - spent, "what is left after the call", 1e-4);
    assert.equal(spend > 0, q.reason === "PERSONAL_DISCOUNT", `${q.item}: ${q.reason} with a spend of ${spend}`);
  }
  assert.ok(quotes.some((q) => q.reason === "PERSONAL_DISCOUNT"), "the budget makes offers");
  // A tiny budget: the offers it cannot cover are named.
  const tiny = await shopper(rec, "tiny", purchases(lists, 0.8)).quote(shown, { budget: { share: 1e-4 } });
  assert.ok(tiny.some((q) => q.reason === "BUDGET_SPENT"), "an offer the budget could not cover");

  await rejects(session.quote(shown, { objective: "revenue", budget: { share } }), "INVALID_ARGUMENT", /margin objective/);
  await rejects(session.quote(shown, { objective: "conversion", minMargin: 0.1, budget: { share } }), "INVALID_ARGUMENT", /margin objective/);
  for (const [bad, message] of [[{ share: 0 }, /`share` must be above 0/], [{ share: 1.5 }, /`share` must be above 0/], [{ share: Number.NaN }, /NaN/],
    [{}, /missing field `share`/], [{ share: "0.03" }, /invalid type/], [{ share, cap: 1 }, /unknown field `cap`/]]) {
    await rejects(session.quote(shown, { budget: bad }), "INVALID_ARGUMENT", message);
  }
  assert.deepEqual(await session.quote(shown, { budget: { share } }), quotes.map(({ explanation, ...q }) => q), "a refused call changed nothing");
  rec.dispose();
});

test("maxShopperSpread: 0 gives every shopper the reference shopper's price; refused for a head without a shopper-level response", async () => {
  const rec = await create({ bundle: grocery });
  const lists = await listPrices(rec, bought);
  const options = { objective: "revenue" };
  const price = (quotes) => quotes.map((q) => q.price);
  const free = [await shopper(rec, "deal", purchases(lists, 0.8)).quote(shown, options), await shopper(rec, "full", purchases(lists, 1)).quote(shown, options)];
  assert.notDeepEqual(price(free[0]), price(free[1]), "uncapped, the two shoppers' prices differ somewhere");
  rec.dispose();

  const capped = await create({ bundle: grocery, pricing: { maxShopperSpread: 0 } });
  const deal = await shopper(capped, "deal", purchases(lists, 0.8)).quote(shown, options);
  const full = await shopper(capped, "full", purchases(lists, 1)).quote(shown, options);
  assert.deepEqual(price(deal), price(full), "with no spread allowed, both get the reference shopper's price");
  capped.dispose();

  await rejects(create({ bundle: grocery, pricing: { maxShopperSpread: 1.5 } }), "INVALID_PRICING", /maxShopperSpread/);
  // The grocery head without its shopper-level response (nor price.onnx, which reads the signals).
  const plain = JSON.parse(JSON.stringify(manifest));
  delete plain.priceHead.response;
  delete plain.files["price.onnx"];
  const { "price.onnx": _, ...files } = grocery;
  const withoutResponse = await rehash({ ...files, "manifest.json": new TextEncoder().encode(JSON.stringify(plain)) },
    "price.safetensors", withoutTensor(grocery["price.safetensors"], "response_weight"));
  (await create({ bundle: withoutResponse })).dispose();
  await rejects(create({ bundle: withoutResponse, pricing: { maxShopperSpread: 0.05 } }), "INVALID_PRICING", /maxShopperSpread.*priceHead\.response/);
});
