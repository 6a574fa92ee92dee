// The grocery bundle trained with differential privacy (models/grocery-dp/), through the package on
// the build under test: its guarantee reaches `rec.manifest.privacy` as the manifest records it,
// covering every file of trained weights; it ranks; it has no price head, so `quote` is refused.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

import { readBundleDir } from "edgerec/node";

import { create } from "./helpers.mjs";

const DIR = new URL("../../models/grocery-dp/", import.meta.url);

test("the DP-trained grocery bundle carries its guarantee, ranks, and has no price head", async () => {
  const manifest = JSON.parse(await readFile(new URL("manifest.json", DIR), "utf8"));
  const rec = await create({ bundle: await readBundleDir(DIR.pathname), device: "cpu" });
  try {
    const { privacy } = rec.manifest;
    assert.deepEqual(privacy, manifest.privacy);
    assert.equal(privacy.unit, "shopper");
    assert.ok(privacy.epsilon > 0 && privacy.epsilon <= 8, `ε ${privacy.epsilon}`);
    assert.ok(privacy.delta <= 1e-6);
    const weights = Object.keys(manifest.files).filter((name) => name !== "items.json");
    assert.deepEqual([...privacy.covers].sort(), weights.sort(), "every file of trained weights is covered");

    const items = JSON.parse(await readFile(new URL("items.json", DIR), "utf8"));
    rec.observe({ type: "purchase", item: items[0].id, ts: Date.now() - 60_000 });
    const top = await rec.recommend({ k: 10 });
    assert.equal(top.length, 10);
    assert.equal(top[0].item, items[0].id, "an item just bought ranks first, as buy-it-again would");
    await assert.rejects(rec.quote([top[1].item]), { code: "PRICING_UNAVAILABLE" });
  } finally {
    rec.dispose();
  }
});
