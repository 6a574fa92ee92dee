// The small program that every bundler's page and every runtime runs against the packed tarball:
// create an engine on the grocery bundle, observe two events, recommend, quote, and check that a
// bad event is an EdgerecError with its code. Each environment passes the bundle and the wasm its
// own way; the answers must be the same everywhere.

/** Runs the program with the package's `Edgerec` and `EdgerecError` and `create`'s options. */
export async function program({ Edgerec, EdgerecError }, options) {
  const rec = await Edgerec.create({ device: "cpu", ...options });
  const ts = Date.UTC(2026, 0, 15, 12);
  rec.observeMany([
    { type: "view", item: "981760", ts },
    { type: "cart", item: "995242", ts: ts + 60_000 },
  ]);
  const top = await rec.recommend({ k: 5, events: rec.events });
  const quotes = await rec.quote(top.map((t) => t.item), { objective: "revenue" });
  let badEvent;
  try {
    rec.observe({ type: "view", item: "NOT-AN-ITEM", ts });
  } catch (e) {
    badEvent = e instanceof EdgerecError ? e.code : `not an EdgerecError: ${e}`;
  }
  const result = {
    modelVersion: rec.modelVersion,
    backend: rec.backend,
    top: top.map((t) => [t.item, Number(t.score.toFixed(4))]),
    prices: quotes.map((q) => [q.item, q.price, q.reason]),
    badEvent,
  };
  rec.dispose();
  return result;
}
