// Two returning shoppers of the demo shop (www/), each in a fresh Chromium profile, who bought the
// same 20 items in an earlier week: a deal-prone one who paid 20% below list for each, and a
// full-price one who paid the list price. Their earlier purchases are stored the way the shop
// stores them (the package's event store in IndexedDB, `persist`), by the package on a blank page
// of the same origin, before the shop opens. Both then look at the same bacon product page. The
// test checks that they get visibly different offers rows (the deal-prone shopper more offers from
// the same promotion budget share), with the reasons on the page, that the merchant view says why in words (the deal
// share and the purchases it comes from, the price response against a shopper the device knows
// nothing about, the promotion budget), and that a checkout records the price the shopper paid.
// Screenshots go to tests/browser/out/.
import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { launch } from "./chromium.mjs";
import { serveStatic } from "../../scripts/static-server.mjs";
import { PERSIST } from "../../www/settings.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const OUT = new URL("./out/", import.meta.url);
const items = JSON.parse(await readFile(new URL("../../models/grocery/items.json", import.meta.url), "utf8"));
/** What both shoppers bought before: the 20 most bought items of the shop. */
const BOUGHT = items.slice(0, 20).map((i) => i.id);
let server;

before(async () => {
  server = await serveStatic(ROOT);
  await mkdir(OUT, { recursive: true });
});

after(async () => server?.close());

/**
 * Stores a purchase of each of BOUGHT, ten days ago (before this week), paid `ratio` of its list
 * price, in the shop's event store, through the package as the shop itself would have.
 */
async function storePurchases(page, ratio) {
  await page.goto(`${server.url}/tests/browser/blank.html`);
  return page.evaluate(async ({ persist, bought, ratio }) => {
    const { Edgerec } = await import("/dist/index.js");
    const rec = await Edgerec.create({ bundle: "/models/grocery/", device: "cpu", persist });
    const lists = await rec.quote(bought, { events: [] });
    const earlier = Date.now() - 10 * 86_400_000;
    rec.observeMany(lists.map((q, i) => ({ type: "purchase", item: q.item, ts: earlier + i, price: Math.round(q.listPrice * ratio * 100) / 100 })));
    const { events } = JSON.parse(await rec.exportEvents()); // after every pending write
    rec.dispose();
    return events.length;
  }, { persist: { name: PERSIST.name }, bought: BOUGHT, ratio });
}

/** The offers row: each card's item, price figures and reason. */
function offersRow(page) {
  return page.$$eval("#offers .card", (cards) => cards.map((c) => {
    const price = c.querySelector(".price").dataset;
    return { item: c.dataset.item, price: Number(price.price), list: Number(price.list), reason: price.reason, why: c.querySelector(".why").textContent };
  }));
}

/** A visit: the stored purchases, then the shop, a look at the first bacon, and its merchant view. */
async function visit(kind, ratio) {
  const context = await launch({ webgpu: false });
  const page = await context.newPage();
  await page.setViewportSize({ width: 1200, height: 1300 });
  assert.equal(await storePurchases(page, ratio), BOUGHT.length);
  // The shop's own errors (blank.html, which has no icon, gets a 404 for /favicon.ico).
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  await page.goto(`${server.url}/www/?device=cpu`);
  await page.waitForSelector("body[data-ready]", { timeout: 120_000 });
  const before = await offersRow(page);
  await page.selectOption("#aisle", "BACON");
  await page.waitForFunction(() => [...document.querySelectorAll("#products .card .aisle")].every((a) => a.textContent.toUpperCase() === "BACON"));
  await page.click("#products .card:nth-child(1) button:text('View')");
  await page.waitForSelector("#product[open]");
  // The view event re-ranks the rows: wait for the offers row to change.
  await page.waitForFunction((old) => JSON.stringify([...document.querySelectorAll("#offers .card")].map((c) => c.dataset.item)) !== old,
    JSON.stringify(before.map((c) => c.item)), { timeout: 60_000 });
  await page.click("#merchant summary");
  await page.waitForSelector("#merchant svg.demand path.reference-curve");
  const merchant = await page.textContent("#merchant table.figures");
  await page.locator("#merchant table.figures tr:last-child").scrollIntoViewIfNeeded();
  await page.screenshot({ path: fileURLToPath(new URL(`merchant-${kind}.png`, OUT)) });
  await page.click("#product button[data-close]");
  const offers = await offersRow(page);
  const count = Number(/^(\d+) of the 200 items picked for you have an offer\.$/.exec(await page.textContent("#offers-count"))?.[1]);
  await page.locator("#offers").scrollIntoViewIfNeeded();
  await page.screenshot({ path: fileURLToPath(new URL(`offers-${kind}.png`, OUT)) });
  return { context, page, offers, count, merchant, problems };
}

const meanDiscount = (offers) => offers.reduce((sum, o) => sum + 1 - o.price / o.list, 0) / Math.max(1, offers.length);

test("a deal-prone and a full-price shopper see different offers, and the merchant view says why", async () => {
  const deal = await visit("deal-prone", 0.8);
  const full = await visit("full-price", 1);
  try {
    for (const { offers } of [deal, full]) {
      for (const o of offers) {
        assert.equal(o.reason, "PERSONAL_DISCOUNT", `${o.item}: an offer is a personalised discount`);
        assert.ok(o.price < o.list, `${o.item}: below list`);
        assert.ok(o.why.length > 0, `${o.item}: a reason under the offer`);
      }
    }
    // The same budget share buys a deal-prone shopper more offers: a smaller discount moves them.
    assert.ok(deal.count > full.count, `offers among the 200 items picked: ${deal.count} (deal-prone) against ${full.count} (full price)`);
    assert.ok(deal.offers.length > 0, "the deal-prone shopper has an offers row");
    const row = ({ offers }) => offers.map((o) => `${o.item} at ${o.price}`);
    assert.notDeepEqual(row(deal), row(full), "the two offers rows differ");
    console.log(`offers: deal-prone ${deal.count} of 200, row ${deal.offers.length} at ${(100 * meanDiscount(deal.offers)).toFixed(1)}% off on average; ` +
      `full price ${full.count} of 200, row ${full.offers.length} at ${(100 * meanDiscount(full.offers)).toFixed(1)}%`);
    assert.match(deal.merchant, /Deal share\d+%: 20 of 20 purchases with a price before this week were paid below list/);
    assert.match(full.merchant, /Deal share\d+%: 0 of 20 purchases with a price before this week were paid below list/);
    assert.match(deal.merchant, /Price responseresponds more to price than a shopper we know nothing about \(elasticity \d+\.\d\d against \d+\.\d\d\)/);
    assert.match(full.merchant, /Price responseresponds less to price than a shopper we know nothing about/);
    for (const { merchant } of [deal, full]) assert.match(merchant, /Promotion budgetthis price commits (\d+\.\d\d¢|\$\d+\.\d\d) of expected discount \(the discount × P\(buy\) at the price\); (\d+\.\d\d¢|\$\d+\.\d\d) of this session's budget is left/);

    // A checkout of an offer records the price the shopper paid: the offer's.
    const { page, offers } = deal;
    const offer = offers[0];
    await page.click(`#offers .card[data-item="${offer.item}"] button.add`);
    await page.click("#open-cart");
    await page.click("#checkout");
    await page.waitForSelector("#confirmation[open]");
    await page.click("#confirmation button[data-close]");
    await page.waitForFunction(() => document.querySelector("#cart-count").textContent === "0");
    await page.click("#open-privacy");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export")]);
    const { events } = JSON.parse(await readFile(await download.path(), "utf8"));
    const paid = events.filter((e) => e.type === "purchase" && e.item === offer.item);
    assert.deepEqual(paid.map((e) => e.price), [offer.price], "the purchase carries the offer's price");
    assert.deepEqual([...deal.problems, ...full.problems], []);
  } finally {
    await deal.context.close();
    await full.context.close();
  }
});
