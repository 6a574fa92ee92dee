// A short soak of the demo shop (bench/soak-shop.mjs, fixed seed): a minute of scripted shopping
// in headless Chromium (aisles, products and their merchant view, the cart, checkout, reloads, the
// privacy panel, export, forget), sampled every 10 s. No page error, every step done within 60 s,
// and the page's heap and the renderers' memory flat over the second half (the hour-long run:
// `node bench/soak-shop.mjs`, docs/security.md).
import assert from "node:assert/strict";
import { test } from "node:test";

import { report, soakShop } from "../../bench/soak-shop.mjs";

test("the shop through a minute of scripted shopping: no page error, memory flat", async () => {
  const result = await soakShop({ minutes: 1, intervalSeconds: 10, seed: 3 });
  for (const line of report(result)) console.log(line);
  assert.deepEqual(result.failures, []);
  for (const [step, count] of Object.entries(result.steps)) assert.ok(count > 0, `${step} was taken`);
});
