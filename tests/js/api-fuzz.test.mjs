// The public API fuzzed (issue 20), from a seeded PRNG: random and adversarial calls on every
// entry point (create's options, sessions under odd keys, observe/observeMany with random and
// malformed events, recommend/quote/explain with random options: unknown fields, wrong types,
// huge numbers, NaN, BigInt, throwing getters, proxies, revoked proxies, toJSON, cycles; forget,
// dispose and calls racing them). After every call: a rejection is an EdgerecError with a code
// the call can give; a rejected call changes nothing (the session's events, the prices it was
// quoted, the store's size); an answer is well formed and no quote breaks a guardrail; an item
// keeps its first price in a session; the engine answers a fixed request as it did at the start.
// At the end a bystander engine, and a fresh one, answer as the bystander did at the start.
//   EDGEREC_FUZZ_CALLS=200000 EDGEREC_FUZZ_SEED=7 node --test tests/js/api-fuzz.test.mjs
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

import { Edgerec, EdgerecError } from "edgerec";
import { readBundleDir } from "edgerec/node";
import { prng } from "../../bench/soak-edge.mjs";
import { create } from "./helpers.mjs";

const SEED = Number(process.env.EDGEREC_FUZZ_SEED ?? 1);
const CALLS = Number(process.env.EDGEREC_FUZZ_CALLS ?? 3000);

const BUNDLE = new URL("../../models/grocery/", import.meta.url).pathname;
const grocery = await readBundleDir(BUNDLE);
const IDS = JSON.parse(await readFile(new URL("items.json", `file://${BUNDLE}`), "utf8")).map((i) => i.id);
/** The items quoted: fewer than the 1,000 a session remembers, so that every price it was given stays. */
const QUOTED_IDS = IDS.slice(0, 600);
/** Every code the package gives (js/codes.ts). */
const CODES = new Set([...(await readFile(new URL("../../js/codes.ts", import.meta.url), "utf8"))
  .split("export type QuoteReason")[0].matchAll(/\| "([A-Z_]+)"/g)].map((m) => m[1]));
/** The codes a call on a live engine may give: a caller's mistake, never a failure of the engine. */
const CALLER_CODES = new Set(["INVALID_EVENT", "UNKNOWN_ITEM", "TOO_MANY_EVENTS", "INVALID_ARGUMENT"]);
/** The codes `create` may give for options that are not good. */
const CREATE_CODES = new Set([...CALLER_CODES, "INVALID_PRICING", "MISSING_FILE", "INVALID_MANIFEST", "BAD_SIGNATURE", "FETCH_FAILED", "WASM_LOAD_FAILED", "WASM_MISMATCH"]);

const NOW = Date.now();
const REF_EVENTS = [
  { type: "view", item: IDS[10], ts: NOW - 3000 },
  { type: "cart", item: IDS[20], ts: NOW - 2000, price: 2.49 },
  { type: "purchase", item: IDS[30], ts: NOW - 1000 },
];

// ---------------------------------------------------------------------------------------------
// Values: ordinary, odd and hostile.

/** A fuzzing context over one PRNG: pickers and the value generators. */
function values(random) {
  const int = (n) => Math.floor(random() * n);
  const pick = (list) => list[int(list.length)];
  const chance = (p) => random() < p;

  const revoked = (v) => {
    const { proxy, revoke } = Proxy.revocable(v, {});
    revoke();
    return proxy;
  };
  const throwingProxy = (v) => new Proxy(v, { get() { throw new Error("get trap"); }, ownKeys() { throw new Error("ownKeys trap"); }, has() { throw new Error("has trap"); } });
  const withGetter = (v, key) => {
    const copy = Array.isArray(v) ? [...v] : { ...v };
    Object.defineProperty(copy, key, { enumerable: true, get() { throw new Error(`getter ${String(key)}`); } });
    return copy;
  };
  const cyclic = () => {
    const o = { k: 1 };
    o.self = o;
    return o;
  };
  const NUMBERS = [0, -0, 1, -1, 2, 3, 10, 50, 100, 999, 1000, 1001, 4000, 4001, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, -1e308, 5e-324, NaN, Infinity, -Infinity, 0.5, 2.5, 1e-9];
  const STRINGS = ["", " ", "a", "view", "cart", "purchase", "margin", "revenue", "conversion", "__proto__", "constructor", "toString", "\u0000", "\ud800", "ü".repeat(70), "x".repeat(5000), "NaN", "10", "true"];

  /** Any value at all, sometimes hostile (`depth` bounds the nesting). */
  function anything(depth = 2) {
    switch (int(depth > 0 ? 16 : 9)) {
      case 0: return undefined;
      case 1: return null;
      case 2: return chance(0.5);
      case 3: return pick(NUMBERS);
      case 4: return random() * 10 ** int(12) * (chance(0.2) ? -1 : 1);
      case 5: return pick(STRINGS);
      case 6: return pick(IDS);
      case 7: return pick([10n, Symbol("s"), () => 1, new Date(0), new Uint8Array(3), new Map([[1, 2]]), /re/]);
      case 8: return pick([revoked({}), revoked([]), throwingProxy({}), cyclic(), Object.create(null)]);
      case 9: return Array.from({ length: int(5) }, () => anything(depth - 1));
      case 10: return Object.fromEntries(Array.from({ length: int(4) }, () => [pick(["k", "x", "item", "__proto__", "toJSON", "events"]), anything(depth - 1)]));
      case 11: return { toJSON: () => ({ k: 1 }) };
      case 12: return withGetter({ a: 1 }, "a");
      case 13: return new Proxy({ k: 3 }, {});
      case 14: return new Array(2 ** 25);
      default: return [pick(IDS), pick(IDS)];
    }
  }

  /** `obj` made hostile in one way, now and then: a getter that throws, a proxy, a revoked proxy, an unknown field, toJSON. */
  function spoil(obj) {
    if (obj === null || typeof obj !== "object" || !chance(0.15)) return obj;
    switch (int(6)) {
      case 0: return revoked(obj);
      case 1: return throwingProxy(obj);
      case 2: return Object.keys(obj).length ? withGetter(obj, pick(Object.keys(obj))) : withGetter(obj, "0");
      case 3: return Array.isArray(obj) ? Object.assign([...obj], { extra: 1 }) : { ...obj, [pick(["kk", "explian", "sessionKey", "__proto__"])]: anything(1) };
      case 4: return Object.assign(Array.isArray(obj) ? [...obj] : { ...obj }, { toJSON: () => ({}) });
      default: return new Proxy(obj, {});
    }
  }

  /** An event: usually valid, else with one field wrong. */
  function event() {
    const e = { type: pick(["view", "view", "cart", "purchase"]), item: pick(IDS), ts: NOW - int(1e7) };
    if (chance(0.3)) e.price = Math.round(random() * 1000) / 100;
    if (chance(0.12)) {
      switch (int(6)) {
        case 0: e.type = anything(0); break;
        case 1: e.item = chance(0.5) ? `NO-SUCH-${int(1e6)}` : anything(0); break;
        case 2: e.ts = pick([NaN, -1, Infinity, "now", Date.now() + 3.6e6, null, 1e20]); break;
        case 3: e.price = pick([NaN, -1, Infinity, "3", null]); break;
        case 4: e[pick(["prcie", "extra", "__proto__"])] = 1; break;
        default: delete e[pick(["type", "item", "ts"])];
      }
    }
    return spoil(e);
  }

  /** A batch of events: mostly a few, sometimes none, 1,000 or 1,001. */
  function events() {
    if (chance(0.03)) return anything(1);
    const n = chance(0.02) ? pick([1000, 1001]) : int(6);
    const batch = Array.from({ length: n }, event);
    return spoil(batch);
  }

  /** Items to quote or explain: ids of the catalogue, now and then an unknown one or a non-string. */
  function items() {
    if (chance(0.04)) return anything(1);
    const list = Array.from({ length: chance(0.03) ? 0 : 1 + int(6) }, () => (chance(0.05) ? anything(0) : pick(QUOTED_IDS)));
    return spoil(list);
  }

  /** A number option: usually in range, else odd. */
  const number = (good) => (chance(0.8) ? good() : chance(0.5) ? pick(NUMBERS) : anything(0));

  function recommendOptions() {
    if (chance(0.05)) return anything(1);
    const o = {};
    if (chance(0.8)) o.k = number(() => 1 + int(30));
    if (chance(0.2)) o.exclude = chance(0.9) ? Array.from({ length: int(5) }, () => pick(IDS)) : anything(1);
    if (chance(0.15)) o.candidates = chance(0.9) ? Array.from({ length: int(8) }, () => pick(IDS)) : anything(1);
    if (chance(0.2)) o.explain = chance(0.9) ? chance(0.5) : anything(0);
    if (chance(0.1)) o.events = events();
    if (chance(0.05)) o[pick(["kk", "explian", "sessionKey", "limit"])] = anything(0);
    return spoil(o);
  }

  function quoteOptions() {
    if (chance(0.05)) return anything(1);
    const o = {};
    if (chance(0.7)) o.objective = chance(0.9) ? pick(["margin", "revenue", "conversion"]) : anything(0);
    if (o.objective === "conversion" ? chance(0.9) : chance(0.05)) o.minMargin = number(() => random() * 0.5);
    if (chance(0.2)) o.explain = chance(0.9) ? chance(0.5) : anything(0);
    if (chance(0.1)) o.events = events();
    if (chance(0.05)) o[pick(["objectiv", "sessionKey", "k"])] = anything(0);
    return spoil(o);
  }

  /** A session key: a good one of a small pool (so that sessions come back), now and then a bad one. */
  const GOOD_KEYS = ["a", "b", " ", "\u0000", "__proto__", "constructor", "ü".repeat(64), "k".repeat(128), "😀", "default", "undefined", "0"];
  function key() {
    if (chance(0.92)) return pick(GOOD_KEYS);
    return pick(["", "k".repeat(129), "ü".repeat(65), "\ud800", "\udc00", "a\ud800", 7, null, undefined, {}, Symbol("k"), revoked({}), ["a"]]);
  }

  function pricing() {
    const p = {
      defaultCostRatio: 0.3 + random() * 0.6,
      minMargin: random() * 0.3,
      maxDiscount: random() * 0.5,
      floorRatio: random() * 0.6,
      priceEndings: [...new Set(Array.from({ length: 1 + int(5) }, () => int(100)))],
      jurisdiction: pick(["EU", "US-NY", "OTHER"]),
    };
    if (chance(0.3)) p[pick(Object.keys(p))] = anything(1);
    if (chance(0.1)) p[pick(["maxDiscout", "locale", "floor"])] = anything(0);
    return spoil(p);
  }

  function createOptions() {
    const o = { bundle: grocery, device: "cpu" };
    if (chance(0.5)) o.pricing = pricing();
    if (chance(0.3)) o.sessions = spoil({ maxSessions: number(() => 1 + int(100)), maxBytes: number(() => 2 ** 20 + int(2 ** 26)), idleMinutes: number(() => 1 + int(60)) });
    if (chance(0.15)) o.device = anything(0);
    if (chance(0.1)) o.cache = anything(0);
    if (chance(0.1)) o.build = anything(0);
    if (chance(0.1)) o.publicKey = chance(0.5) ? "0".repeat(64) : anything(0);
    if (chance(0.05)) o.bundle = anything(1);
    if (chance(0.1)) o[pick(["pricng", "session", "devise"])] = anything(0);
    return spoil(o);
  }

  return { int, pick, chance, anything, event, events, items, recommendOptions, quoteOptions, key, pricing, createOptions };
}

// ---------------------------------------------------------------------------------------------
// Checks.

/** A rejection's check: an EdgerecError (the class the package exports) with a code of `allowed`. */
function checkError(e, allowed, what) {
  assert.ok(e instanceof EdgerecError, `${what}: threw ${e?.name}: ${e?.message ?? e} (not an EdgerecError)`);
  assert.ok(CODES.has(e.code), `${what}: unknown code ${e.code}`);
  assert.ok(allowed.has(e.code), `${what}: code ${e.code} (${e.message})`);
  assert.ok(typeof e.message === "string" && e.message.length > 5, `${what}: no message`);
}

/**
 * Each quote keeps the engine's guardrails (`pricing`), and the conversion objective's own
 * margin unless the session gave the item its price before (`earlier`: an item keeps its first
 * price, whatever a later call's objective).
 */
function checkQuotes(quotes, items, pricing, objective, explain, earlier, what) {
  assert.equal(quotes.length, items.length, what);
  for (const [i, q] of quotes.entries()) {
    const at = `${what}: ${JSON.stringify(q)}`;
    assert.equal(q.item, items[i], at);
    assert.ok(Number.isFinite(q.price) && Number.isFinite(q.listPrice) && q.price > 0, at);
    assert.ok(q.price <= q.listPrice + 1e-9, `${at}: above the list price`);
    assert.equal(q.personalised, q.reason === "PERSONAL_DISCOUNT", at);
    assert.equal("explanation" in q && q.explanation !== undefined, explain === true, `${at}: explanation ${String(explain)}`);
    if (q.price < q.listPrice - 1e-9) {
      const cost = q.listPrice * pricing.defaultCostRatio;
      const floors = [cost * (1 + pricing.minMargin), q.listPrice * (1 - pricing.maxDiscount), q.listPrice * pricing.floorRatio];
      if (objective?.objective === "conversion" && !earlier.has(q.item)) floors.push(cost * (1 + objective.minMargin));
      for (const floor of floors) assert.ok(q.price >= floor - 0.005, `${at}: below a floor ${floor}`);
      assert.ok(pricing.priceEndings.includes(Math.round(q.price * 100) % 100), `${at}: an ending not in ${pricing.priceEndings}`);
      assert.ok(q.discountPct >= 0 && q.discountPct <= 100 * pricing.maxDiscount + 1e-6, at);
    } else {
      assert.ok(["LIST_PRICE_BEST", "GUARDRAILS_INFEASIBLE", "OBJECTIVE_INFEASIBLE", "MODEL_OUTPUT_UNUSABLE"].includes(q.reason), at);
    }
  }
}

function checkRecommendations(top, k, what) {
  assert.ok(Array.isArray(top) && top.length <= k && top.length > 0, `${what}: ${top.length} for k ${k}`);
  assert.equal(new Set(top.map((t) => t.item)).size, top.length, `${what}: an item twice`);
  for (const [i, t] of top.entries()) {
    assert.ok(IDS.includes(t.item), `${what}: ${t.item} is not in the catalogue`);
    assert.ok(Number.isFinite(t.score), `${what}: score ${t.score}`);
    if (i) assert.ok(t.score <= top[i - 1].score, `${what}: not best first`);
  }
}

/**
 * `value` as data, read as the engine's copy reads it (array elements, own enumerable keys, no
 * `toJSON`), or `undefined` when reading it throws: what an answered call's arguments were.
 */
function asData(value) {
  const copy = (v, depth) => {
    if (typeof v !== "object" || v === null || depth > 8) return v;
    if (Array.isArray(v)) {
      if (v.length > 1 << 24) throw new RangeError("longer than the engine copies");
      return Array.from({ length: v.length }, (_, i) => copy(v[i], depth + 1));
    }
    return Object.fromEntries(Object.keys(v).map((k) => [k, copy(v[k], depth + 1)]));
  };
  try {
    return copy(value, 0);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------

test(`the API fuzzed: ${CALLS} calls, seed ${SEED}`, async () => {
  const random = prng(SEED);
  const v = values(random);
  const bystander = await create({ bundle: grocery, device: "cpu" });
  bystander.observeMany(REF_EVENTS);
  const answersOf = async (rec) => ({
    top: await rec.recommend({ k: 10, explain: true }),
    forEvents: await rec.recommend({ k: 5, events: REF_EVENTS.slice(0, 2) }),
    quotes: await rec.quote(IDS.slice(0, 6), { objective: "revenue", explain: true }),
    events: rec.events,
  });
  const bystanderBefore = await answersOf(bystander);

  // The engine under fuzz: guardrails drawn from the seed (until create takes them).
  let pricing;
  let rec;
  while (!rec) {
    const candidate = { defaultCostRatio: 0.3 + random() * 0.6, minMargin: random() * 0.3, maxDiscount: random() * 0.5, floorRatio: random() * 0.6, priceEndings: [...new Set(Array.from({ length: 1 + v.int(5) }, () => v.int(100)))] };
    try {
      rec = await create({ bundle: grocery, device: "cpu", pricing: candidate, sessions: { idleMinutes: 24 * 60 } });
      pricing = candidate;
    } catch (e) {
      checkError(e, CREATE_CODES, "create");
    }
  }
  const reference = await rec.recommend({ k: 5, events: REF_EVENTS });

  /** The prices each session was quoted (by key; the page's own shopper under `undefined`). */
  const quoted = new Map();
  const sessionOf = (key) => (key === undefined ? rec.shopper : rec.session(key));
  const snapshot = async (key) => {
    const session = sessionOf(key);
    const remembered = [...(quoted.get(key) ?? new Map()).keys()].slice(0, 3);
    return { events: session.events, stored: rec.sessions.sessions, prices: remembered.length ? (await session.quote(remembered)).map((q) => q.price) : [], remembered };
  };
  const counts = { calls: 0, rejected: 0, byCode: {}, byOp: {} };

  /** One operation: `run` makes the call; `check` judges what it answered. */
  const ops = {
    observe: { weight: 20, async make() {
      const key = v.chance(0.4) ? undefined : v.key();
      if (v.chance(0.3)) {
        const event = v.event();
        return { key, run: () => sessionOf(key).observe(event), sync: true, changes: "events", n: 1 };
      }
      const batch = v.events();
      return { key, run: () => sessionOf(key).observeMany(batch), sync: true, changes: "events", n: asData(batch)?.length };
    } },
    recommend: { weight: 20, async make() {
      const key = v.chance(0.4) ? undefined : v.key();
      const options = v.recommendOptions();
      return { key, run: () => (v.chance(0.1) && key === undefined ? rec.recommend(options) : sessionOf(key).recommend(options)), options };
    } },
    quote: { weight: 20, async make() {
      const key = v.chance(0.4) ? undefined : v.key();
      const items = v.items();
      const options = v.quoteOptions();
      return { key, run: () => (key === undefined && v.chance(0.1) ? rec.quote(items, options) : sessionOf(key).quote(items, options)), options, items, quotes: true };
    } },
    explain: { weight: 8, async make() {
      const key = v.chance(0.4) ? undefined : v.key();
      const items = v.items();
      return { key, run: () => sessionOf(key).explain(items), items };
    } },
    forget: { weight: 3, async make() {
      const key = v.chance(0.5) ? undefined : v.key();
      return { key, run: () => sessionOf(key).forget(), changes: "forget" };
    } },
    state: { weight: 4, async make() {
      return { run: () => v.pick([() => rec.events, () => rec.sessions, () => rec.backend, () => rec.manifest.modelVersion, () => rec.session(v.key()).events])(), sync: true };
    } },
  };
  const weighted = Object.entries(ops).flatMap(([name, op]) => Array(op.weight).fill(name));

  for (let call = 0; call < CALLS; call++) {
    const what = `call ${call} (seed ${SEED})`;
    if (CALLS > 20_000 && call % 20_000 === 0) console.log(`${new Date().toISOString()}: ${call} calls, ${counts.rejected} rejected, no violation`);
    // Now and then: create with random options, or an engine's lifecycle raced.
    if (v.chance(0.01)) {
      await lifecycle(v, what);
      continue;
    }
    const name = v.pick(weighted);
    const made = await ops[name].make();
    counts.calls++;
    counts.byOp[name] = (counts.byOp[name] ?? 0) + 1;
    const validKey = made.key === undefined || (typeof made.key === "string" && made.key.length > 0 && new TextEncoder().encode(made.key).length <= 128 && !/[\ud800-\udfff]/u.test(made.key));
    const before = validKey ? await snapshot(made.key) : undefined;
    let answer;
    let error;
    if (made.sync) {
      try {
        answer = made.run();
      } catch (e) {
        error = e;
      }
    } else {
      let pending;
      try {
        pending = made.run();
      } catch (e) {
        // rec.session(badKey) throws at once; a session's async calls never throw synchronously.
        assert.ok(!validKey, `${what}: ${name} threw synchronously: ${e}`);
        error = e;
      }
      if (pending) {
        assert.ok(pending instanceof Promise, `${what}: ${name} did not answer a promise`);
        try {
          answer = await pending;
        } catch (e) {
          error = e;
        }
      }
    }
    if (error) {
      counts.rejected++;
      counts.byCode[error.code] = (counts.byCode[error.code] ?? 0) + 1;
      checkError(error, CALLER_CODES, `${what}: ${name}`);
      if (validKey) {
        const after = await snapshot(made.key);
        assert.deepEqual(after, before, `${what}: a rejected ${name} (${error.code}: ${error.message}) changed the session`);
      }
    } else if (validKey) {
      const after = await snapshot(made.key);
      if (made.changes === "forget") {
        assert.deepEqual(after.events, [], `${what}: forget left events`);
        quoted.delete(made.key);
      } else if (made.changes === "events") {
        assert.equal(after.events.length, Math.min(1000, before.events.length + made.n), `${what}: observe of ${made.n}`);
        assert.deepEqual(after.prices, before.prices, `${what}: observe changed the remembered prices`);
      } else {
        // A first call under a key may open its session in the store; nothing else changes.
        assert.deepEqual({ ...after, stored: 0 }, { ...before, stored: 0 }, `${what}: ${name} changed the session`);
        assert.ok(after.stored - before.stored <= 1, `${what}: ${name} opened ${after.stored - before.stored} sessions`);
      }
      const options = asData(made.options) ?? {};
      if (name === "recommend") checkRecommendations(answer, options.k ?? 10, what);
      if (made.quotes) {
        // A quote for `events` remembers nothing and reads no session's prices.
        const memory = options.events === undefined ? quoted.get(made.key) ?? new Map() : new Map();
        checkQuotes(answer, asData(made.items), pricing, options, options.explain, new Map(memory), what);
        if (options.events === undefined) {
          for (const q of answer) {
            if (memory.has(q.item)) assert.equal(q.price, memory.get(q.item), `${what}: ${q.item} quoted ${q.price}, earlier ${memory.get(q.item)}`);
            else memory.set(q.item, q.price);
          }
          quoted.set(made.key, memory);
        }
      }
      if (name === "explain") assert.equal(answer.length, asData(made.items).length, what);
    }
    assert.deepEqual(await rec.recommend({ k: 5, events: REF_EVENTS }), reference, `${what}: the engine answers the fixed request otherwise`);
  }

  /** `create` with random options, then a victim engine disposed while its calls are pending. */
  async function lifecycle(v, what) {
    let made;
    try {
      // Edgerec.create itself: the helper spreads its options, which a hostile proxy would refuse.
      made = await Edgerec.create(v.createOptions());
    } catch (e) {
      checkError(e, CREATE_CODES, `${what}: create`);
    }
    made?.dispose();
    const victim = await create({ bundle: grocery, device: "cpu" });
    const session = victim.session("a");
    session.observeMany(REF_EVENTS);
    const pending = [victim.recommend({ k: 3 }), session.quote([IDS[1]]), session.forget(), victim.explain([IDS[2]]), victim.forget()];
    if (v.chance(0.5)) victim.dispose();
    const late = [victim.recommend({ k: 3 }), session.recommend({ k: 2 }), victim.quote([IDS[3]])];
    victim.dispose();
    for (const settled of await Promise.allSettled([...pending, ...late])) {
      if (settled.status === "rejected") checkError(settled.reason, new Set(["DISPOSED"]), `${what}: a call racing dispose`);
    }
    assert.throws(() => victim.events, (e) => e.code === "DISPOSED");
    victim.dispose();
  }

  console.log(`${counts.calls} calls (${Object.entries(counts.byOp).map(([n, c]) => `${n} ${c}`).join(", ")}), ${counts.rejected} rejected: ${Object.entries(counts.byCode).map(([c, n]) => `${c} ${n}`).join(", ")}`);
  assert.ok(counts.rejected > counts.calls / 20 && counts.rejected < counts.calls / 1.5, "the mix has both rejections and answers");
  rec.dispose();
  assert.deepEqual(await answersOf(bystander), bystanderBefore, "the bystander answers as at the start");
  const fresh = await create({ bundle: grocery, device: "cpu" });
  fresh.observeMany(REF_EVENTS);
  assert.deepEqual(await answersOf(fresh), bystanderBefore, "a fresh engine answers as the bystander did");
  fresh.dispose();
  bystander.dispose();
});

test("session keys UTF-8 cannot hold as they are, and values that are not data, are refused", async () => {
  const rec = await create({ bundle: grocery, device: "cpu" });
  // A lone surrogate becomes U+FFFD on its way into the wasm: these three were one session.
  for (const key of ["\ud800", "\udc00", "a\ud800b", "", "k".repeat(129), "😀".repeat(33)]) {
    assert.throws(() => rec.session(key), (e) => e instanceof EdgerecError && e.code === "INVALID_ARGUMENT", JSON.stringify(key));
  }
  rec.session("\ufffd").observe(REF_EVENTS[0]);
  assert.equal(rec.session("😀".repeat(32)).events.length, 0);
  // A symbol was dropped as JSON drops it (a `k` of one gave the default), a BigInt misreported.
  const refused = (e) => e instanceof EdgerecError && e.code === "INVALID_ARGUMENT" && /expected data, got a (symbol|BigInt)/.test(e.message);
  for (const value of [Symbol("s"), 10n]) {
    await assert.rejects(rec.recommend({ k: value }), refused);
    await assert.rejects(rec.recommend({ k: 3, explain: value }), refused);
    await assert.rejects(rec.quote([IDS[0]], { objective: "conversion", minMargin: value }), refused);
    assert.throws(() => rec.observe({ ...REF_EVENTS[0], price: value }), refused);
    await assert.rejects(create({ bundle: grocery, device: "cpu", sessions: { maxSessions: value } }), refused);
    await assert.rejects(create({ bundle: grocery, device: "cpu", pricing: { maxDiscount: value } }), refused);
  }
  assert.equal(rec.events.length, 0);
  rec.dispose();
});
