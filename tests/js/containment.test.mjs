// Containment (issue 20): each engine runs in a wasm instance of its own, so a trap in one never
// reaches another; an engine whose wasm trapped throws ENGINE_FAILED until disposed; an argument
// that throws when read (a getter, a Proxy, a revoked proxy) is INVALID_ARGUMENT and the engine
// keeps working. Runs on the default build and, with EDGEREC_TEST_BUILD=onnx, on the ONNX build.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Edgerec } from "edgerec";
import { readBundleDir } from "edgerec/node";
import { BUILD, create, fixtureBytes } from "./helpers.mjs";

const grocery = await readBundleDir(new URL("../../models/grocery/", import.meta.url).pathname);
const NOW = Date.now();
const EVENTS = [
  { type: "view", item: "981760", ts: NOW - 3000 },
  { type: "cart", item: "995242", ts: NOW - 2000, price: 2.49 },
  { type: "purchase", item: "1082185", ts: NOW - 1000 },
];
const ITEMS = ["981760", "995242", "1029743", "1106523"];

// Every instance Node makes (the loader instantiates synchronously outside a browser's main
// thread): the tests reach an engine's own instance through it, as a bug in the core would.
const instances = [];
WebAssembly.Instance = new Proxy(WebAssembly.Instance, {
  construct(target, args) {
    const instance = Reflect.construct(target, args);
    instances.push(instance);
    return instance;
  },
});

/** An engine on `bundle` with `events`, and the raw exports of the instance made for it alone. */
async function engineWithInstance(bundle = grocery, events = EVENTS) {
  const before = instances.length;
  const rec = await create({ bundle, device: "cpu" });
  assert.equal(instances.length, before + 1, "each engine gets a wasm instance of its own");
  rec.observeMany(events);
  return { rec, raw: instances.at(-1).exports };
}

/** Everything an engine answers: the session, the top 10, the top 5 for other events, quotes. */
async function answers(rec) {
  return {
    events: rec.events,
    top: await rec.recommend({ k: 10, explain: true }),
    forEvents: await rec.recommend({ k: 5, events: EVENTS.slice(0, 1), exclude: ["981760"] }),
    quotes: await rec.quote(ITEMS, { objective: "revenue", explain: true }),
    conversion: await rec.quote(ITEMS, { objective: "conversion", minMargin: 0.1, events: EVENTS }),
  };
}

const code = (expected) => (e) => {
  assert.equal(e?.name, "EdgerecError", `expected an EdgerecError ${expected}, got ${e}`);
  assert.equal(e.code, expected, e.message);
  return true;
};

/** An address far beyond an instance's memory (a few MB here): a real out-of-bounds access. */
const WILD = 0x7fff_fff0;

/**
 * A real trap, as a bug in the core would cause one: the instance's shadow stack pointer moved
 * beyond its memory, so that the next call into it faults on its first write to the stack
 * (`memory access out of bounds`, a WebAssembly.RuntimeError), with no error of the core's.
 */
function breakStack(raw) {
  raw.__wbindgen_add_to_stack_pointer(WILD);
}

test(`10,000 traps in one engine's instance leave a bystander answering identically (${BUILD} build)`, async () => {
  const bystander = await engineWithInstance();
  const before = await answers(bystander.rec);
  const victim = await engineWithInstance();
  assert.deepEqual(await answers(victim.rec), before, "two engines on one bundle and events answer alike");

  const stack = victim.raw.__wbindgen_add_to_stack_pointer(0);
  breakStack(victim.raw);
  const trapped = await victim.rec.recommend({ k: 5 }).then(() => assert.fail("the broken instance answered"), (e) => e);
  assert.ok(code("ENGINE_FAILED")(trapped));
  assert.ok(trapped.cause instanceof WebAssembly.RuntimeError, `the trap is the cause: ${trapped.cause}`);

  // 10,000 more traps in the victim's instance, straight through its raw exports: an engine at
  // an address beyond its memory. The old shared instance died after about 300.
  for (let i = 0; i < 10_000; i++) {
    assert.throws(() => victim.raw.engine_recommend(0, WILD - 4 * (i % 64), undefined), WebAssembly.RuntimeError);
  }

  // The stack put back. Later calls are refused without entering the instance: no cause.
  victim.raw.__wbindgen_add_to_stack_pointer(stack - victim.raw.__wbindgen_add_to_stack_pointer(0));
  const failed = (e) => code("ENGINE_FAILED")(e) && e.message === trapped.message && e.cause === undefined;
  for (const call of [
    () => victim.rec.observe(EVENTS[0]),
    () => victim.rec.observeMany(EVENTS),
    () => victim.rec.events,
    () => victim.rec.backend,
  ]) {
    assert.throws(call, failed);
  }
  for (const call of [() => victim.rec.recommend({ k: 3 }), () => victim.rec.quote(ITEMS), () => victim.rec.forget()]) {
    await assert.rejects(call(), failed);
  }
  assert.equal(victim.rec.modelVersion, bystander.rec.modelVersion, "what the wrapper holds stays readable");

  assert.deepEqual(await answers(bystander.rec), before, "the bystander answers as before");
  const fresh = await engineWithInstance();
  assert.deepEqual(await answers(fresh.rec), before, "a new engine answers as the bystander did");

  victim.rec.dispose();
  assert.throws(() => victim.rec.events, code("DISPOSED"));
  victim.rec.dispose();
  bystander.rec.dispose();
  fresh.rec.dispose();
});

/** Engines trapped one after another (the ONNX build loads the fixture in about 130 ms, the default in 3). */
const ROUNDS = BUILD === "onnx" ? 40 : 300;

test("engines that trap one after another: each fails alone, is disposed, and creating goes on", async () => {
  const fixture = await fixtureBytes();
  const bystander = await engineWithInstance(fixture, []);
  const before = await bystander.rec.recommend({ k: 10 });
  for (let i = 0; i < ROUNDS; i++) {
    const { rec, raw } = await engineWithInstance(fixture, []);
    breakStack(raw);
    assert.throws(() => rec.observe(EVENTS[0]), code("ENGINE_FAILED"));
    rec.dispose();
    assert.throws(() => rec.events, code("DISPOSED"));
  }
  assert.deepEqual(await bystander.rec.recommend({ k: 10 }), before);
  bystander.rec.dispose();
});

test("a trap in dispose() itself still disposes", async () => {
  const { rec, raw } = await engineWithInstance();
  breakStack(raw);
  rec.dispose();
  assert.throws(() => rec.events, code("DISPOSED"));
});

/** Proxy handlers whose every trap throws: a caller's object that cannot be read. */
const THROWING = Object.fromEntries(
  ["get", "has", "ownKeys", "getOwnPropertyDescriptor", "getPrototypeOf"].map((trap) => [trap, () => {
    throw new Error(`trap ${trap}`);
  }]),
);

function revoked(value) {
  const { proxy, revoke } = Proxy.revocable(value, {});
  revoke();
  return proxy;
}

/** A copy of an array or object whose property `key` is a getter that throws (something thrown that is itself unreadable, once in a while). */
function throwingAt(value, key) {
  const copy = Array.isArray(value) ? [...value] : { ...value };
  Object.defineProperty(copy, key, {
    enumerable: true,
    get() {
      throw key === "0" ? new Proxy({}, THROWING) : new Error(`getter ${key}`);
    },
  });
  return copy;
}

/**
 * Every hostile form of an argument: itself as a revoked proxy and as a proxy whose traps throw,
 * a throwing getter at each of its properties, and the same for every object inside it (a
 * `Uint8Array` inside it as a proxy, which looks like one and is not).
 */
function* hostile(value, path) {
  yield [`${path}: revoked proxy`, revoked(value)];
  yield [`${path}: throwing proxy`, new Proxy(value, THROWING)];
  for (const key of Object.keys(value)) {
    yield [`${path}.${key}: throwing getter`, throwingAt(value, key)];
    const inner = value[key];
    const replaced = (v) => (Array.isArray(value) ? Object.assign([...value], { [key]: v }) : { ...value, [key]: v });
    if (inner instanceof Uint8Array) yield [`${path}.${key}: proxy of a Uint8Array`, replaced(new Proxy(inner, {}))];
    else if (typeof inner === "object" && inner !== null) {
      for (const [label, h] of hostile(inner, `${path}.${key}`)) yield [label, replaced(h)];
    }
  }
}

test("throwing getters and proxies anywhere in any call's arguments: INVALID_ARGUMENT, and the engine keeps working", async () => {
  const { rec } = await engineWithInstance();
  const before = await answers(rec);
  const invalid = code("INVALID_ARGUMENT");
  let tried = 0;

  for (const [label, events] of hostile(EVENTS, "events")) {
    assert.throws(() => rec.observeMany(events), invalid, label);
    tried++;
  }
  for (const [label, event] of hostile(EVENTS[0], "event")) {
    assert.throws(() => rec.observe(event), invalid, label);
    tried++;
  }
  const recommendOptions = { k: 5, exclude: ["981760"], candidates: ITEMS, events: EVENTS, explain: true };
  for (const [label, options] of hostile(recommendOptions, "options")) {
    await assert.rejects(rec.recommend(options), invalid, label);
    tried++;
  }
  const quoteOptions = { objective: "conversion", minMargin: 0.1, events: EVENTS, explain: true };
  for (const [label, options] of hostile(quoteOptions, "options")) {
    await assert.rejects(rec.quote(ITEMS, options), invalid, label);
    tried++;
  }
  for (const [label, items] of hostile(ITEMS, "items")) {
    await assert.rejects(rec.quote(items, quoteOptions), invalid, label);
    tried++;
  }
  assert.ok(tried > 90, `only ${tried} hostile arguments`);
  assert.deepEqual(await answers(rec), before, "the engine answers as before");

  // toJSON is never called: one inherited changes nothing; a function of its own is not data.
  class Tricked {
    constructor() {
      Object.assign(this, recommendOptions);
    }
    toJSON() {
      return { k: 1 };
    }
  }
  assert.deepEqual(await rec.recommend(new Tricked()), await rec.recommend(recommendOptions));
  await assert.rejects(rec.recommend({ ...recommendOptions, toJSON: () => ({ k: 1 }) }), invalid);
  rec.dispose();
});

test("throwing getters and proxies anywhere in create's options: INVALID_ARGUMENT, and creating goes on", async () => {
  const files = await fixtureBytes();
  // Edgerec.create itself: the helper's `create` would spread the hostile options first.
  const options = { bundle: files, build: BUILD, device: "cpu", cache: "none", pricing: { maxDiscount: 0.2, priceEndings: [9, 99] } };
  const first = await Edgerec.create(options);
  const expected = await first.recommend({ k: 10 });
  first.dispose();
  let tried = 0;
  for (const [label, hostileOptions] of hostile(options, "options")) {
    await assert.rejects(Edgerec.create(hostileOptions), code("INVALID_ARGUMENT"), label);
    tried++;
  }
  assert.ok(tried > 15, `only ${tried} hostile options`);
  await assert.rejects(Edgerec.create({ ...options, publicKey: 7 }), code("INVALID_ARGUMENT"), "a publicKey that is not a string");
  const rec = await Edgerec.create(options);
  assert.deepEqual(await rec.recommend({ k: 10 }), expected);
  rec.dispose();
});
