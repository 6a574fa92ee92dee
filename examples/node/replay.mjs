// Replays a shopper's visit against a model bundle and prints what edgerec recommends after each
// event, with personalised prices where the bundle has a price head.
// Usage: node examples/node/replay.mjs [bundle-dir]   (default: models/grocery)
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import { Edgerec } from "edgerec";
import { readBundleDir } from "edgerec/node";

const dir = process.argv[2] ?? "models/grocery";
const rec = await Edgerec.create({ bundle: await readBundleDir(dir) });
const items = JSON.parse(await readFile(join(dir, "items.json"), "utf8"));
const name = (id) => items.find((i) => i.id === id)?.name ?? id;
const pricing = rec.manifest.priceHead !== undefined || "price.onnx" in rec.manifest.files;
console.log(`bundle ${dir}: model ${rec.modelVersion}, ${rec.manifest.itemCount} items, backend ${rec.backend}`);

// A short visit: product pages, an add to cart and a purchase, spread over ten minutes. On a
// grocery bundle the items are found by name; on another, the visit takes items by position.
const find = (words, fallback) => items.find((i) => words.every((w) => i.name?.toLowerCase().includes(w))) ?? items[fallback];
const [pasta, sauce, cheese] = [find(["spaghetti"], 3), find(["tomato sauce"], 17), find(["shredded cheese"], 42 % items.length)];
const start = Date.now() - 10 * 60_000;
const visit = [
  { type: "view", item: pasta.id },
  { type: "view", item: sauce.id },
  { type: "cart", item: pasta.id },
  { type: "view", item: cheese.id },
  { type: "purchase", item: pasta.id },
].map((e, i) => ({ ...e, ts: start + i * 2 * 60_000 }));

let disclosure;
for (const event of visit) {
  rec.observe(event);
  const top = await rec.recommend({ k: 5, exclude: [event.item] });
  // A merchant maximising revenue: with the default margin objective and 30% gross margins, the
  // estimated elasticities make the list price best almost everywhere (see docs/pricing.md).
  const quotes = pricing ? await rec.quote(top.map((t) => t.item), { objective: "revenue" }) : [];
  console.log(`\nafter ${event.type} of ${name(event.item)}:`);
  for (const [rank, r] of top.entries()) {
    const q = quotes[rank];
    disclosure ??= q?.disclosure ?? undefined;
    const price = !q ? "" : q.personalised ? `${q.price.toFixed(2)} (list ${q.listPrice.toFixed(2)}${q.discountPct > 0 ? `, -${q.discountPct}%` : ""})` : q.price.toFixed(2);
    console.log(`  ${rank + 1}. ${name(r.item).slice(0, 48).padEnd(48)} ${r.score.toFixed(2).padStart(6)}  ${price}`);
  }
}
if (disclosure) console.log(`\npersonalised prices carry: "${disclosure}"`);
await rec.forget();
console.log(`forgotten: ${rec.events.length} events held`);
rec.dispose();
