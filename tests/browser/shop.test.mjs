// The demo shop (www/) in Debian's headless Chromium, with WebGPU on and off, through a scripted
// visit: an add from the milk aisle and one from the bacon aisle, a product page with its
// merchant view, a reload, a checkout, then forget. It checks that the rows follow what the
// shopper did (what goes with the cart, buy again, discover: never an item already touched, at
// most one per aisle), that the reasons name earlier events in words, that a personalised offer
// computed by the engine is visible, that every price shown keeps the shop's guardrails, that the
// cart survives the reload, that the privacy panel shows and exports what is stored, that forget
// leaves nothing, that with recording off nothing is stored (after a reload too), and that the
// only requests are the page, the package and the bundle, each a plain GET that carries no data.
// Screenshots go to tests/browser/out/.
import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { launch } from "./chromium.mjs";
import { serveStatic } from "../../scripts/static-server.mjs";
import { PRICING } from "../../www/settings.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const OUT = new URL("./out/", import.meta.url);
// The shop's settings: cost 70% of list, a 5% minimum margin, at most 20% off, prices ending in
// 9 cents when personalised.
const MIN_PRICE_RATIO = Math.max(PRICING.defaultCostRatio * (1 + PRICING.minMargin), 1 - PRICING.maxDiscount);
const MAX_DISCOUNT_PCT = 100 * PRICING.maxDiscount;
let server;

before(async () => {
  server = await serveStatic(ROOT);
  await mkdir(OUT, { recursive: true });
});

after(async () => server?.close());

/** Every recommendation card on the page: its row, item and reason. */
async function rows(page) {
  return page.$$eval(".row:not([hidden]) .card", (cards) => cards.map((c) => ({
    row: c.dataset.row, item: c.dataset.item, aisle: c.querySelector(".aisle").textContent, why: c.querySelector(".why")?.textContent ?? "",
  })));
}

/** Waits until the recommendation rows differ from `before`. */
async function changedFrom(page, before) {
  await page.waitForFunction(
    (old) => JSON.stringify([...document.querySelectorAll(".row:not([hidden]) .card")].map((c) => c.dataset.item)) !== old,
    JSON.stringify(before.map((c) => c.item)),
    { timeout: 60_000 },
  );
  return rows(page);
}

async function prices(page) {
  return page.$$eval(".price[data-item]", (blocks) => blocks.map((b) => ({
    item: b.dataset.item, price: Number(b.dataset.price), list: Number(b.dataset.list), reference: Number(b.dataset.reference),
    discount: Number(b.dataset.discount), personalised: b.dataset.personalised === "true", reason: b.dataset.reason,
    disclosure: b.querySelector(".disclosure")?.textContent ?? "", offer: Boolean(b.querySelector(".offer")),
  })));
}

function checkPrices(shown) {
  assert.ok(shown.length >= 8, "prices are shown");
  for (const p of shown) {
    assert.ok(p.price <= p.list + 1e-9, `${p.item}: ${p.price} above list ${p.list}`);
    assert.ok(p.price >= MIN_PRICE_RATIO * p.list - 0.01, `${p.item}: ${p.price} below the shop's floors`);
    assert.ok(p.discount >= 0 && p.discount <= MAX_DISCOUNT_PCT, `${p.item}: ${p.discount}% off`);
    assert.equal(p.personalised, p.reason === "PERSONAL_DISCOUNT", `${p.item}: personalised exactly when the engine discounted`);
    if (p.personalised) {
      assert.equal(Math.round(p.price * 100) % 10, 9, `${p.item}: ${p.price} ends in 9 cents`);
      assert.ok(p.price < p.list, `${p.item}: an offer is below the list price`);
      assert.ok(p.offer && p.disclosure.length > 20, `${p.item}: a personalised price is labelled and disclosed`);
    }
    if (p.discount > 0) assert.ok(p.reference > p.price, `${p.item}: a discount is shown against the 30-day low`);
  }
}

/** Reasons read as words about earlier events: never a raw number, never "no history". */
function checkReasons(cards, touchedNames) {
  for (const c of cards) {
    assert.doesNotMatch(c.why, /\d\.\d|\(\+|no history/i, `${c.item}: ${c.why}`);
  }
  const named = cards.filter((c) => c.row !== "buy-again").map((c) => /^Because you (?:looked at|added|bought) (.+)$/.exec(c.why)).filter(Boolean);
  assert.ok(named.length > 0, `some reason names an earlier event:\n${cards.map((c) => c.why).join("\n")}`);
  for (const m of named) {
    assert.ok(touchedNames.some((n) => m[1].includes(n)), `"${m[0]}" names something the shopper did (${touchedNames.join(", ")})`);
  }
}

async function selectAisle(page, aisle) {
  await page.selectOption("#aisle", aisle);
  await page.waitForFunction((a) => {
    const cards = [...document.querySelectorAll("#products .card")];
    return cards.length && cards.every((c) => c.querySelector(".aisle").textContent.toUpperCase() === a);
  }, aisle);
}

/**
 * A page of the shop at `query`, ready, with the requests it makes, those that could carry data
 * (a method other than GET, a body, or a query string on anything but the page itself), and the
 * errors it logs.
 */
async function openShop(context, query) {
  const requests = [];
  const problems = [];
  const carrying = [];
  context.on("request", (r) => {
    requests.push(r.url());
    if (r.method() !== "GET" || r.postData() !== null || (new URL(r.url()).search && !r.isNavigationRequest())) carrying.push(`${r.method()} ${r.url()}`);
  });
  const page = await context.newPage();
  await page.setViewportSize({ width: 1200, height: 900 });
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  await page.goto(`${server.url}/www/${query}`);
  await page.waitForSelector("body[data-ready]", { timeout: 120_000 });
  return { page, requests, carrying, problems };
}

/** The requests outside this server or outside `allowed` (a pattern of paths). */
function strays(requests, allowed) {
  return requests.filter((url) => !url.startsWith(server.url) || !allowed.test(new URL(url).pathname));
}

async function shot(page, name, webgpu, options = {}) {
  await page.screenshot({ path: fileURLToPath(new URL(`${name}-${webgpu ? "webgpu" : "cpu"}.png`, OUT)), ...options });
}

for (const webgpu of [false, true]) {
  test(`the shop, WebGPU ${webgpu ? "on" : "off"}`, async () => {
    const context = await launch({ webgpu });
    try {
      const { page, requests, carrying, problems } = await openShop(context, webgpu ? "?device=gpu" : "");

      assert.equal(await page.textContent("#backend"), webgpu ? "WebGPU" : "CPU");
      assert.match(await page.textContent("#model"), /grocery/);
      assert.match(await page.textContent("#objective"), /personalised for expected margin, a promotion budget of 3% of expected sales, at most 20% off/);
      const first = await rows(page);
      assert.equal(first.filter((c) => c.row === "discover").length, 8);
      assert.ok(first.every((c) => ["discover", "offers"].includes(c.row) && c.why === "Popular with shoppers here"), JSON.stringify(first));
      assert.equal(await page.isVisible("#buy-again"), false);
      assert.equal(await page.isVisible("#with-cart"), false);
      assert.ok((await page.$$("#products .card svg.picture")).length >= 8, "a picture per card");

      // Milk into the cart: feedback, then rows that follow it.
      await selectAisle(page, "FLUID MILK PRODUCTS");
      const milk = await page.getAttribute("#products .card:nth-child(1)", "data-item");
      await page.click("#products .card:nth-child(1) button.add");
      await page.waitForSelector("#toast:not([hidden])");
      assert.match(await page.textContent("#toast"), /^Added .+ at \$\d+\.\d\d\. Your cart: 1 item, \$/);
      assert.equal(await page.textContent("#cart-count"), "1");
      const afterMilk = await changedFrom(page, first);
      assert.ok(afterMilk.some((c) => c.row === "with-cart"), "a row of what goes with the cart");
      assert.ok(!afterMilk.some((c) => c.item === milk), "the item just added is not recommended back");

      // Bacon: a product page (a view) with the merchant view, then into the cart.
      await selectAisle(page, "BACON");
      const bacon = await page.getAttribute("#products .card:nth-child(1)", "data-item");
      await page.click("#products .card:nth-child(1) button:text('View')");
      await page.waitForSelector("#product[open]");
      await page.click("#merchant summary");
      await page.waitForSelector("#merchant svg.demand");
      const lines = await page.$$eval("#merchant svg.demand line[data-guardrail]", (ls) => ls.map((l) => l.dataset.guardrail));
      for (const g of ["ceiling", "min-margin", "max-discount", "reference", "chosen"]) assert.ok(lines.includes(g), `${g} is drawn: ${lines}`);
      const figures = await page.textContent("#merchant table.figures");
      assert.match(figures, /Objectivemargin \(maximise expected margin\)/);
      assert.match(figures, /Reason code(PERSONAL_DISCOUNT|LIST_PRICE_BEST|BUDGET_SPENT|GUARDRAILS_INFEASIBLE)/);
      assert.match(figures, /P\(buy at p\) = σ\(-?\d+\.\d\d − \d+\.\d\d · ln\(p \/ list\)\)/);
      await shot(page, "merchant", webgpu);
      await page.click("#product-add");
      await page.waitForFunction(() => document.querySelector("#cart-count").textContent === "2");
      assert.equal(await page.textContent("#product-add"), "Added: 1 in cart · add one more");
      await page.click("#product button[data-close]");
      const afterBacon = await changedFrom(page, afterMilk);

      const names = await page.evaluate(async (ids) => {
        const { shortName } = await import("./shelf.js");
        const items = await (await fetch("/models/grocery/items.json")).json();
        return ids.map((id) => shortName(items.find((i) => i.id === id)));
      }, [milk, bacon]);
      checkReasons(afterBacon, names);
      for (const row of ["with-cart", "offers", "discover"]) {
        const cards = afterBacon.filter((c) => c.row === row);
        assert.ok(cards.every((c) => c.item !== milk && c.item !== bacon), `${row}: never an item already touched`);
        const perAisle = new Map();
        for (const c of cards) perAisle.set(c.aisle, (perAisle.get(c.aisle) ?? 0) + 1);
        assert.ok(Math.max(...perAisle.values()) <= 1, `${row}: one item per aisle`);
      }

      // Personalised offers, computed by the engine, visible on the page: a row of them.
      const shown = await prices(page);
      checkPrices(shown);
      const offerRow = afterBacon.filter((c) => c.row === "offers").map((c) => c.item);
      assert.ok(offerRow.length > 0, "a row of offers");
      for (const id of offerRow) assert.ok(shown.some((p) => p.item === id && p.personalised), `${id} in the offers row is priced for the shopper`);
      const offer = page.locator(`#offers .price[data-personalised="true"] .offer`).first();
      await offer.scrollIntoViewIfNeeded();
      assert.ok(await offer.isVisible(), "the offer is visible");
      await shot(page, "offers", webgpu);
      await page.evaluate(() => window.scrollTo(0, 0));
      await shot(page, "shop", webgpu);

      // The cart survives a reload, and the rows are rebuilt from the stored events.
      await page.reload();
      await page.waitForSelector("body[data-ready]", { timeout: 120_000 });
      assert.equal(await page.textContent("#cart-count"), "2");
      assert.deepEqual((await page.$$eval("#cart-lines li.line", (ls) => ls.map((l) => l.dataset.item))).sort(), [milk, bacon].sort());
      const reloaded = await rows(page);
      assert.ok(reloaded.some((c) => c.row === "with-cart"));
      await page.click("#open-cart");
      await shot(page, "cart", webgpu);

      // Checkout: a confirmation, and then a "buy again" row of what was bought.
      await page.click("#checkout");
      await page.waitForSelector("#confirmation[open]");
      assert.equal(await page.$$eval("#order-lines li", (ls) => ls.length), 2);
      assert.match(await page.textContent("#order-total"), /^\$\d+\.\d\d$/);
      await shot(page, "confirmation", webgpu);
      await page.click("#confirmation button[data-close]");
      await page.waitForFunction(() => !document.querySelector("#buy-again").hidden && document.querySelector("#cart-count").textContent === "0");
      const bought = (await rows(page)).filter((c) => c.row === "buy-again");
      assert.deepEqual(bought.map((c) => c.item).sort(), [milk, bacon].sort());
      assert.ok(bought.every((c) => c.why === "You bought this before"), JSON.stringify(bought));
      checkPrices(await prices(page));

      // The privacy panel lists the events, says how many are stored and for how long, and exports
      // them; forget leaves IndexedDB and the cart empty.
      await page.click("#open-privacy");
      await page.waitForFunction(() => document.querySelectorAll("#events li").length >= 5);
      const listed = await page.$$eval("#events li", (ls) => ls.length);
      assert.equal(await page.textContent("#storage"), `${listed} events stored in this browser (IndexedDB), each kept 30 days at most, the newest 1,000 at most.`);
      assert.match(await page.textContent("#model-privacy"), /without differential privacy/); // the grocery bundle has no `privacy`
      assert.equal(await page.isChecked("#consent"), true);
      assert.equal(await page.isVisible("#storage-error"), false);
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export")]);
      const exported = JSON.parse(await readFile(await download.path(), "utf8"));
      assert.equal(exported.events.length, listed);
      assert.deepEqual(exported.events.filter((e) => e.type === "purchase").map((e) => e.item).sort(), [milk, bacon].sort());
      await shot(page, "privacy", webgpu);
      await page.click("#forget");
      await page.waitForFunction(() => !document.querySelector("#privacy").open);
      const held = await page.evaluate(() => new Promise((resolve, reject) => {
        const open = indexedDB.open("edgerec-shop");
        open.onsuccess = () => {
          const count = open.result.transaction("events").objectStore("events").count();
          count.onsuccess = () => {
            open.result.close(); // an open connection would hold off the deletion below
            resolve(count.result);
          };
          count.onerror = () => reject(count.error);
        };
        open.onerror = () => reject(open.error);
      }));
      assert.equal(held, 0);
      assert.equal(await page.evaluate(() => localStorage.length), 0);

      // Recording off: the database is deleted, what the shopper does next is not stored, and the
      // choice holds after a reload.
      await page.click("#open-privacy");
      await page.uncheck("#consent");
      await page.waitForFunction(() => document.querySelector("#storage").textContent.startsWith("Recording is off"));
      await page.click("#privacy button[data-close]");
      await page.click("#products .card:nth-child(1) button.add");
      await page.waitForSelector("#with-cart:not([hidden])");
      const databases = () => page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
      assert.ok(!(await databases()).includes("edgerec-shop"), "no database while recording is off");
      await page.reload();
      await page.waitForSelector("body[data-ready]", { timeout: 120_000 });
      await page.click("#open-privacy");
      await page.waitForFunction(() => document.querySelector("#storage").textContent.startsWith("Recording is off"));
      assert.equal(await page.isChecked("#consent"), false);
      assert.equal(await page.textContent("#events"), "No events: this device holds nothing about you.");
      assert.ok(!(await databases()).includes("edgerec-shop"));

      assert.deepEqual(problems, []);
      const allowed = /^\/(www\/.*|dist\/.*|pkg(-gpu)?\/.*|models\/grocery\/.*)$/;
      assert.deepEqual(strays(requests, allowed), [], "only the page, the package and the bundle are requested");
      assert.deepEqual(carrying, [], "every request is a plain GET of a fixed file: none carries the shopper's data");
    } finally {
      await context.close();
    }
  });
}

test("the shop on another bundle (?bundle= and ?key=, as serve-shop --bundle opens it): the fixture, signed, without a price head", async () => {
  const { publicKey } = JSON.parse(await readFile(new URL("../../models/fixture/expected.json", import.meta.url), "utf8"));
  const context = await launch({ webgpu: false });
  try {
    // A key that is not the signer's: the bundle is refused, and the page says why.
    const wrong = publicKey.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    const refused = await context.newPage();
    await refused.goto(`${server.url}/www/?bundle=/models/fixture/&device=cpu&key=${wrong}`);
    await refused.waitForSelector("#error:not([hidden])", { timeout: 60_000 });
    assert.match(await refused.textContent("#error"), /BAD_SIGNATURE/);
    await refused.close();

    const { page, requests, carrying, problems } = await openShop(context, `?bundle=/models/fixture/&device=cpu&key=${publicKey}`);
    assert.match(await page.textContent("#model"), /signature verified$/);
    assert.equal(await page.textContent("#objective"), "No prices: this bundle has no price head");
    const first = await rows(page);
    assert.equal(first.length, 8, "a row of eight, though the fixture has three aisles");
    await page.click("#products .card:nth-child(1) button.add");
    const after = await changedFrom(page, first);
    assert.ok(after.some((c) => /^Because you added fixture item \d+$/.test(c.why)), after.map((c) => c.why).join("\n"));
    assert.equal((await page.$$(".price[data-item]")).length, 0, "no prices without a price head");
    assert.deepEqual(problems, []);
    assert.deepEqual(strays(requests, /^\/(www\/.*|dist\/.*|pkg\/.*|models\/fixture\/.*)$/), [], "only the page, the package and that bundle");
    assert.deepEqual(carrying, [], "every request is a plain GET of a fixed file");
  } finally {
    await context.close();
  }
});

test("the shop on the streaming bundle: it ranks from each cart and prices with its own head", async () => {
  const context = await launch({ webgpu: false });
  try {
    const { page, requests, carrying, problems } = await openShop(context, "?bundle=/models/grocery-stream/&device=cpu");
    assert.equal(await page.textContent("#backend"), "CPU");
    assert.match(await page.textContent("#model"), /grocery-stream/);
    assert.match(await page.textContent("#objective"), /personalised for expected margin/);
    let shown = await rows(page);
    assert.equal(shown.filter((c) => c.row === "discover").length, 8);
    const added = [];
    for (const aisle of ["FLUID MILK PRODUCTS", "BACON"]) {
      await selectAisle(page, aisle);
      added.push(await page.getAttribute("#products .card:nth-child(1)", "data-item"));
      await page.click("#products .card:nth-child(1) button.add");
      shown = await changedFrom(page, shown);
      assert.ok(shown.some((c) => c.row === "with-cart"), "a row of what goes with the cart");
      assert.ok(!shown.some((c) => added.includes(c.item)), "an item just added is not recommended back");
    }
    const quoted = await prices(page);
    checkPrices(quoted);
    const offerRow = shown.filter((c) => c.row === "offers").map((c) => c.item);
    assert.ok(offerRow.length > 0, "a row of offers");
    for (const id of offerRow) assert.ok(quoted.some((p) => p.item === id && p.personalised), `${id} in the offers row is priced for the shopper`);
    assert.deepEqual(problems, []);
    assert.deepEqual(carrying, [], "every request is a plain GET of a fixed file");
    assert.deepEqual(strays(requests, /^\/(www\/.*|dist\/.*|pkg\/.*|models\/grocery-stream\/.*)$/), [], "only the page, the package and that bundle");
  } finally {
    await context.close();
  }
});

test("the shop on the bundle trained with differential privacy: the privacy panel says its guarantee in plain words", async () => {
  const { privacy } = JSON.parse(await readFile(new URL("../../models/grocery-dp/manifest.json", import.meta.url), "utf8"));
  const context = await launch({ webgpu: false });
  try {
    const { page, requests, problems } = await openShop(context, "?bundle=/models/grocery-dp/&device=cpu");
    assert.equal((await rows(page)).length, 8, "the rows are ranked by the DP model");
    await page.click("#open-privacy");
    const said = await page.textContent("#model-privacy");
    const delta = privacy.delta.toExponential(0).replace("e-", " × 10^-"); // 1 × 10^-6
    assert.ok(said.startsWith(`The model was trained with differential privacy: ε = ${privacy.epsilon.toFixed(2)}, δ = ${delta} per shopper (RDP accountant, ${privacy.library}).`), said);
    const factor = Number(Math.exp(privacy.epsilon).toPrecision(3)).toLocaleString("en-US"); // 2,950 at ε = 7.99
    assert.ok(said.endsWith(`at most a factor of e^ε ≈ ${factor}, except with probability δ.`), said);
    assert.deepEqual(problems, []);
    assert.deepEqual(strays(requests, /^\/(www\/.*|dist\/.*|pkg\/.*|models\/grocery-dp\/.*)$/), [], "only the page, the package and that bundle");
  } finally {
    await context.close();
  }
});
