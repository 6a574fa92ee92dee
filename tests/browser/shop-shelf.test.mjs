// The shop's display rules (www/shelf.js, www/pictures.js) on the grocery bundle's own names, in
// Node: no browser needed.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

import { aislePicture, shapeFor } from "../../www/pictures.js";
import { displayName, pickVaried, reasonText, shortName } from "../../www/shelf.js";

const items = JSON.parse(await readFile(new URL("../../models/grocery/items.json", import.meta.url), "utf8"));
const byId = new Map(items.map((i) => [i.id, i]));
const named = (name) => items.find((i) => i.name === name);

test("case packs are not shown as sizes; brand and variety move out of the name", () => {
  assert.deepEqual(displayName(named("Bananas, 40 lb")), { title: "Bananas", size: null, storeBrand: false, variety: null });
  assert.equal(displayName(named("Peppers green bell, 48-54 ct")).size, null);
  assert.equal(displayName(named("Head lettuce, 24 ct")).size, null);
  assert.deepEqual(displayName(named("Eggs - x-large, 1 dz (store brand)")), { title: "Eggs - x-large", size: "1 dz", storeBrand: true, variety: null });
  assert.equal(displayName(named("Strawberries, 16 oz")).size, "16 oz", "a shelf size stays");
  assert.equal(displayName(named("Carrots mini peeled, 1 lb (store brand)")).size, "1 lb");
  assert.equal(displayName(named("Fluid milk white only, 1 ga (store brand) · variety 2")).variety, 2);
  assert.equal(displayName(named("Lean")).title, "Beef (lean)", "a bare cut gets its aisle");
  assert.equal(displayName(items.find((i) => i.category === "BACON" && i.name.startsWith("Premium"))).title, "Bacon (premium)");
  assert.equal(displayName(named("Chicken breast boneless")).title, "Chicken breast boneless");
  assert.equal(displayName(named("Apples gold delicious (bulk&ba")).title, "Apples gold delicious");
  for (const item of items) {
    const { title, size } = displayName(item);
    assert.ok(title.length > 0, item.id);
    assert.doesNotMatch(title, /\([^)]*$|· variety|\(store brand\)/, `${item.name} → ${title}`);
    if (item.department === "PRODUCE" && size) assert.doesNotMatch(size, /^(\d\d+|\d+-\d+)\s*(lb|ct)/, `${item.name}: ${size}`);
  }
});

test("reasons name earlier events in words, never the item itself, never a number", () => {
  const [milk, eggs, bread] = ["Fluid milk white only, 1 ga (store brand)", "Eggs - large, 1 dz (store brand)", "Mainstream white bread, 20 oz (store brand)"].map((n) => named(n).id);
  const why = [
    { item: bread, type: "purchase", ts: 1, effect: 0.4 },
    { item: milk, type: "cart", ts: 2, effect: 3.86 },
    { item: eggs, type: "view", ts: 3, effect: 1.2 },
  ];
  assert.equal(reasonText(bread, why, byId), "Because you added fluid milk white only and looked at eggs - large");
  assert.equal(reasonText(eggs, [why[1], { ...why[0], type: "cart" }], byId), "Because you added fluid milk white only and mainstream white bread");
  assert.equal(reasonText(eggs, [{ item: milk, type: "cart", ts: 2, effect: -1 }], byId), null, "an event that lowers the score is no reason");
  assert.equal(reasonText(eggs, [], byId), null);
  assert.equal(shortName(named("Bananas, 40 lb")), "bananas");
});

test("a row holds at most `perAisle` items of one aisle while the aisles last, best first", () => {
  const ranked = ["a1", "a2", "a3", "b1", "a4", "c1", "b2", "b3"].map((item) => ({ item }));
  const picked = pickVaried(ranked, (r) => r.item[0], 4, 2);
  assert.deepEqual(picked.map((r) => r.item), ["a1", "a2", "b1", "c1"]);
  const filled = pickVaried(ranked, (r) => r.item[0], 5, 1);
  assert.deepEqual(filled.map((r) => r.item), ["a1", "a2", "a3", "b1", "c1"], "few aisles: the best of the rest fill the row, in rank order");
});

test("every aisle gets a picture drawn here", () => {
  const aisles = new Map(items.map((i) => [i.category, i.department]));
  const shapes = new Set([...aisles].map(([c, d]) => shapeFor(c, d)));
  assert.ok(shapes.size >= 12, [...shapes].join(", "));
  assert.equal(shapeFor("FLUID MILK PRODUCTS"), "carton");
  assert.equal(shapeFor("REFRGRATD JUICES/DRNKS"), "bottle");
  const svg = aislePicture("BACON", "MEAT-PCKGD");
  assert.match(svg, /^<svg [^>]*data-shape="meat"/);
  assert.doesNotMatch(svg, /href|url\(|<image/, "nothing to download");
});
