// Replays a shopper's visit against a model bundle and prints what edgerec recommends after
// each event. Usage: node examples/node/replay.mjs [bundle-dir]   (default: models/fixture)
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import { Edgerec } from "edgerec";
import { readBundleDir } from "edgerec/node";

const dir = process.argv[2] ?? "models/fixture";
const rec = await Edgerec.create({ bundle: await readBundleDir(dir) });
const items = JSON.parse(await readFile(join(dir, "items.json"), "utf8"));
const name = (id) => items.find((i) => i.id === id)?.name ?? id;
console.log(`bundle ${dir}: model ${rec.modelVersion}, ${rec.manifest.itemCount} items, backend ${rec.backend}`);

// A short visit: three product pages, one add to cart, one purchase, spread over ten minutes.
const start = Date.now() - 10 * 60_000;
const visit = [
  { type: "view", item: items[3].id },
  { type: "view", item: items[17].id },
  { type: "view", item: items[42 % items.length].id },
  { type: "cart", item: items[17].id },
  { type: "purchase", item: items[17].id },
].map((e, i) => ({ ...e, ts: start + i * 2 * 60_000 }));

for (const event of visit) {
  rec.observe(event);
  const top = await rec.recommend({ k: 5, exclude: [event.item] });
  console.log(`\nafter ${event.type} of ${name(event.item)}:`);
  for (const [rank, r] of top.entries()) console.log(`  ${rank + 1}. ${name(r.item).padEnd(32)} ${r.score.toFixed(3)}`);
}
await rec.forget();
console.log(`\nforgotten: ${rec.events.length} events held`);
rec.dispose();
