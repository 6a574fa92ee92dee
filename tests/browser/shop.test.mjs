// The demo shop (www/) in Debian's headless Chromium, with WebGPU on and off: load it, click
// through a session, watch the recommendations answer, check every price shown against the
// guardrails, forget and find IndexedDB empty, and see that the only requests are the page, the
// package and the bundle. Screenshots go to tests/browser/out/.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { launch } from "./chromium.mjs";
import { serveStatic } from "../../scripts/static-server.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const OUT = new URL("./out/", import.meta.url);
// The default pricing settings: cost 70% of list, a 5% minimum margin, at most 30% off, prices
// ending in 9 cents when personalised.
const MIN_PRICE_RATIO = 0.7 * 1.05;
const MAX_DISCOUNT_PCT = 30;
let server;

before(async () => {
  server = await serveStatic(ROOT);
  await mkdir(OUT, { recursive: true });
});

after(async () => server?.close());

async function recommended(page) {
  return page.$$eval("#recommended .card", (cards) => cards.map((c) => c.dataset.item));
}

/** Waits until the recommendations differ from `before`. */
async function changedFrom(page, before) {
  await page.waitForFunction(
    (old) => JSON.stringify([...document.querySelectorAll("#recommended .card")].map((c) => c.dataset.item)) !== old,
    JSON.stringify(before),
  );
  return recommended(page);
}

function checkPrices(prices) {
  assert.ok(prices.length >= 8, "prices are shown");
  for (const p of prices) {
    assert.ok(p.price <= p.list + 1e-9, `${p.item}: ${p.price} above list ${p.list}`);
    assert.ok(p.price >= MIN_PRICE_RATIO * p.list - 0.01, `${p.item}: ${p.price} below cost × (1 + margin)`);
    assert.ok(p.discount >= 0 && p.discount <= MAX_DISCOUNT_PCT, `${p.item}: ${p.discount}% off`);
    if (p.personalised) {
      assert.equal(Math.round(p.price * 100) % 10, 9, `${p.item}: ${p.price} ends in 9 cents`);
      assert.ok(p.disclosure.length > 20, `${p.item}: a personalised price carries its disclosure`);
    }
    if (p.discount > 0) assert.ok(p.reference > p.price, `${p.item}: a discount is shown against the 30-day low`);
  }
}

for (const webgpu of [true, false]) {
  test(`the shop, WebGPU ${webgpu ? "on" : "off"}`, async () => {
    const context = await launch({ webgpu });
    try {
      const requests = [];
      const problems = [];
      context.on("request", (r) => requests.push(r.url()));
      const page = await context.newPage();
      page.on("pageerror", (e) => problems.push(e.message));
      page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
      await page.goto(`${server.url}/www/${webgpu ? "?device=gpu" : ""}`);
      await page.waitForSelector("body[data-ready]", { timeout: 120_000 });

      assert.equal(await page.textContent("#backend"), webgpu ? "WebGPU" : "CPU");
      assert.match(await page.textContent("#model"), /grocery/);
      const first = await recommended(page);
      assert.equal(first.length, 8);

      // A product page (a view), an add to cart, then a checkout: each answered by new recommendations.
      await page.click("#products .card:nth-child(5) button:text('View')");
      const afterView = await changedFrom(page, first);
      await page.click("#product button[data-close]");
      await page.selectOption("#aisle", "COLD CEREAL");
      await page.waitForFunction(() => [...document.querySelectorAll("#products .aisle")].every((a) => a.textContent === "COLD CEREAL"));
      await page.click("#products .card:nth-child(2) button:text('Add to cart')");
      const afterCart = await changedFrom(page, afterView);
      await page.click("#products .card:nth-child(3) button:text('Add to cart')");
      await page.waitForFunction(() => document.querySelector("#cart-count").textContent === "2");
      const beforeCheckout = await changedFrom(page, afterCart);
      await page.click("#open-cart");
      await page.screenshot({ path: fileURLToPath(new URL(`cart-${webgpu ? "webgpu" : "cpu"}.png`, OUT)) });
      await page.click("#checkout");
      await changedFrom(page, beforeCheckout);
      await page.waitForFunction(() => document.querySelector("#cart-count").textContent === "0");

      // "Why this?" names events from this session.
      const reasons = await page.$$eval("#recommended details.why li", (lis) => lis.map((li) => li.textContent));
      assert.ok(reasons.some((r) => /^You (looked at|added|bought) /.test(r)), reasons.join("\n"));

      const prices = await page.$$eval(".price[data-item]", (blocks) => blocks.map((b) => ({
        item: b.dataset.item, price: Number(b.dataset.price), list: Number(b.dataset.list), reference: Number(b.dataset.reference),
        discount: Number(b.dataset.discount), personalised: b.dataset.personalised === "true", disclosure: b.querySelector(".disclosure")?.textContent ?? "",
      })));
      checkPrices(prices);
      await page.screenshot({ path: fileURLToPath(new URL(`shop-${webgpu ? "webgpu" : "cpu"}.png`, OUT)), fullPage: false });

      // The privacy panel lists the session's events; forget leaves IndexedDB empty.
      await page.click("#open-privacy");
      await page.waitForFunction(() => document.querySelectorAll("#events li").length >= 4);
      await page.screenshot({ path: fileURLToPath(new URL(`privacy-${webgpu ? "webgpu" : "cpu"}.png`, OUT)) });
      await page.click("#forget");
      await page.waitForFunction(() => !document.querySelector("#privacy").open);
      const held = await page.evaluate(() => new Promise((resolve, reject) => {
        const open = indexedDB.open("edgerec-shop");
        open.onsuccess = () => {
          const count = open.result.transaction("events").objectStore("events").count();
          count.onsuccess = () => resolve(count.result);
          count.onerror = () => reject(count.error);
        };
        open.onerror = () => reject(open.error);
      }));
      assert.equal(held, 0);

      assert.deepEqual(problems, []);
      const allowed = /^\/(www\/.*|dist\/.*|pkg(-gpu)?\/.*|models\/grocery\/.*)$/;
      const strays = requests.filter((url) => !url.startsWith(server.url) || !allowed.test(new URL(url).pathname));
      assert.deepEqual(strays, [], "only the page, the package and the bundle are requested");
    } finally {
      await context.close();
    }
  });
}
