// The shop's engine, off the main thread: edgerec on a bundle (the grocery bundle unless the page
// names another), the shopper's events kept in IndexedDB by the package (`persist`: 30 days, at
// most 1,000, only with the shopper's consent). The page sends { id, op, args } and gets
// { id, result } or { id, error }; a storage failure comes as { type: "storage", error }.
import { Edgerec } from "/dist/index.js";
import { BUDGET, OBJECTIVE, PERSIST, PRICING } from "./settings.js";
import { displayName, pickVaried } from "./shelf.js";

/** Cards per row, the most per aisle in a row, and how many ranked items a row picks from. */
const ROW = 8;
const PER_AISLE = 1;
const POOL = 48;
/** How many of the best new-to-you items are priced to find the shopper's offers. */
const OFFER_POOL = 200;

let rec;
let bundle;
let aisleOf = new Map();
let titleOf = new Map();
let pricing = true;
let pool = POOL;
let offerPool = OFFER_POOL;

/**
 * The engine's quotes, with their explanations, under the shop's objective and budget; none for a
 * bundle without a price head (the shop then shows no prices). An item keeps its first price for
 * the session, so quoting it again gives the same price.
 */
async function quotes(ids) {
  if (!pricing || !ids.length) return [];
  try {
    return await rec.quote(ids, { objective: OBJECTIVE, budget: BUDGET, explain: true });
  } catch (e) {
    if (e.code !== "PRICING_UNAVAILABLE") throw e;
    pricing = false;
    return [];
  }
}

const ops = {
  async init({ device, bundleUrl, publicKey, consent }) {
    bundle = bundleUrl;
    rec = await Edgerec.create({
      bundle,
      device,
      publicKey,
      pricing: PRICING,
      persist: { ...PERSIST, consent, onError: (error) => postMessage({ type: "storage", error }) },
      onProgress: (p) => postMessage({ type: "progress", loaded: p.loaded, total: p.total }),
    });
    const items = await (await fetch(new URL("items.json", new URL(bundle, location.href)))).json();
    pool = Math.min(POOL, items.length);
    offerPool = Math.min(OFFER_POOL, items.length);
    aisleOf = new Map(items.map((i) => [i.id, i.category ?? i.department ?? ""]));
    titleOf = new Map(items.map((i) => [i.id, displayName(i).title]));
    return { backend: rec.backend, modelVersion: rec.modelVersion, privacy: rec.manifest.privacy ?? null, items, objective: OBJECTIVE, budget: BUDGET, pricing: PRICING };
  },

  async observe({ events, shown, cart }) {
    rec.observeMany(events); // throws (and stores nothing) if any event is invalid; else written through
    return ops.snapshot({ shown, cart });
  },

  /**
   * The rows a shopper sees, each ranked by the engine with its reasons: what goes with the cart
   * (ranked for the cart's items alone), what to buy again (ranked among the items bought or
   * added before), offers (the best new-to-you items the engine priced below list for this
   * shopper, and how many of them it did) and what to discover (ranked among items never
   * touched); a row holds at most PER_AISLE items of one aisle, no item appears in two rows, and
   * no row but "buy again" shows another size or variety of an item the shopper touched or another
   * row shows (the same name). Then a quote, with its explanation, for every item on screen.
   */
  async snapshot({ shown = [], cart = [] }) {
    const events = rec.events;
    const touched = [...new Set(events.map((e) => e.item))];
    const bought = [...new Set(events.filter((e) => e.type !== "view").map((e) => e.item))];
    const inCart = cart.map((l) => l.item);
    const taken = new Set(inCart);
    const names = new Set(touched.map((id) => titleOf.get(id)));
    const row = (ranked, n = ROW, sameNames = false) => {
      const fresh = ranked.filter((r) => !taken.has(r.item) && (sameNames || !names.has(titleOf.get(r.item))));
      const once = fresh.filter((r, i) => fresh.findIndex((o) => titleOf.get(o.item) === titleOf.get(r.item)) === i);
      const picked = pickVaried(once, (r) => aisleOf.get(r.item), n, PER_AISLE);
      for (const r of picked) {
        taken.add(r.item);
        names.add(titleOf.get(r.item));
      }
      return picked;
    };

    let withCart = [];
    if (cart.length) {
      const cartEvents = cart.map((l) => ({ type: "cart", item: l.item, ts: l.ts }));
      withCart = row(await rec.recommend({ k: pool, events: cartEvents, exclude: inCart, explain: true }), 6);
    }
    const again = bought.filter((id) => !taken.has(id));
    const had = {};
    for (const e of events) {
      if (e.type === "view") continue;
      had[e.item] ??= { bought: 0, added: 0 };
      had[e.item][e.type === "purchase" ? "bought" : "added"] += 1;
    }
    const buyAgain = again.length ? row(await rec.recommend({ k: Math.min(pool, again.length), candidates: again, explain: true }), ROW, true) : [];
    const fresh = await rec.recommend({ k: offerPool, exclude: [...touched, ...taken], explain: true });
    // Offers: the new-to-you items the engine priced below list for this shopper.
    const freshQuotes = new Map((await quotes(fresh.map((r) => r.item))).map((q) => [q.item, q]));
    const offered = fresh.filter((r) => freshQuotes.get(r.item)?.personalised);
    const offers = row(offered, 6);
    const discover = row(fresh.slice(0, pool));

    const ids = [...new Set([...withCart, ...buyAgain, ...offers, ...discover].map((r) => r.item).concat(shown, inCart))];
    const hadShown = Object.fromEntries(buyAgain.map((r) => [r.item, had[r.item]]));
    return { withCart, offers, offerCount: offered.length, offerPool: fresh.length, buyAgain, discover, had: hadShown, quotes: await quotes(ids), pricing, history: events.length, backend: rec.backend };
  },

  /** What the privacy panel shows: every event held (in memory and stored) and the store's state. */
  async privacy() {
    const { events } = JSON.parse(await rec.exportEvents()); // after every pending write
    return { events, persistence: rec.persistence };
  },

  /** The shopper's events as the package exports them (JSON). */
  export: () => rec.exportEvents(),

  async consent({ on }) {
    await rec.setConsent(on);
    return ops.privacy();
  },

  async forget() {
    await rec.forget();
    return rec.persistence;
  },
};

onmessage = async ({ data: { id, op, args } }) => {
  try {
    postMessage({ id, result: await ops[op](args ?? {}) });
  } catch (e) {
    postMessage({ id, error: { code: e.code ?? "ERROR", message: e.message } });
  }
};
