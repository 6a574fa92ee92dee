// The shop's engine, off the main thread: edgerec on the grocery bundle, the shopper's events in
// IndexedDB. The page sends { id, op, args } and gets { id, result } or { id, error }.
import { Edgerec } from "/dist/index.js";
import { openEventStore } from "./store.js";

const BUNDLE = "/models/grocery/";
const RECOMMENDED = 8;
const OBJECTIVE = "revenue"; // the demo's pricing objective; docs/pricing.md says why
let rec;
let store;

const ops = {
  async init({ device }) {
    store = await openEventStore();
    rec = await Edgerec.create({
      bundle: BUNDLE,
      device,
      onProgress: (p) => postMessage({ type: "progress", loaded: p.loaded, total: p.total }),
    });
    const held = await store.all();
    if (held.length) rec.observeMany(held);
    const items = await (await fetch(`${BUNDLE}items.json`)).json();
    return { backend: rec.backend, modelVersion: rec.modelVersion, items, events: held.length };
  },

  async observe({ events, shown }) {
    rec.observeMany(events); // throws (and stores nothing) if any event is invalid
    await store.add(events);
    return ops.snapshot({ shown });
  },

  /** Recommendations with their reasons, and quotes for them and for the items on screen. */
  async snapshot({ shown }) {
    const recommended = await rec.recommend({ k: RECOMMENDED, explain: true });
    const ids = [...new Set([...recommended.map((r) => r.item), ...shown])];
    const quotes = await rec.quote(ids, { objective: OBJECTIVE });
    return { recommended, quotes, backend: rec.backend };
  },

  events: () => store.all(),

  async forget() {
    await store.clear();
    await rec.forget();
    return { held: await store.count() };
  },
};

onmessage = async ({ data: { id, op, args } }) => {
  try {
    postMessage({ id, result: await ops[op](args ?? {}) });
  } catch (e) {
    postMessage({ id, error: { code: e.code ?? "ERROR", message: e.message } });
  }
};
