// The demo shop soaked (issue 20): headless Chromium shops in www/ for a while (default 60
// minutes) in a fixed-seed script: browse aisles, open products and their merchant view, add to
// the cart, check out, reload, open the privacy panel, export, forget. Every interval (default a
// minute) it samples the page's JS heap after a garbage collection (CDP `Performance.getMetrics`)
// and the resident memory of the browser's renderer processes (/proc, the page and its Web
// Worker, where the engine and its wasm memory live), and prints the series.
//
// It fails (exit 1) on any page error or console error, a step that does not finish in 60 s (a
// reload: 120 s), or
// memory that keeps growing after warm-up: over the second half of the samples the least-squares
// slope, times that half's duration, must stay under --max-growth MB for the renderers' RSS
// (default 48) and a quarter of that for the page's heap.
//   node bench/soak-shop.mjs [--minutes 60] [--interval 60] [--seed 1] [--max-growth 48]
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

import { launch } from "../tests/browser/chromium.mjs";
import { serveStatic } from "../scripts/static-server.mjs";
import { machine } from "./machine.mjs";
import { prng } from "./soak-edge.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const STEP_TIMEOUT = 60_000;
/** How long a (re)loaded page may take to be ready: as the shop test allows. */
const READY_TIMEOUT = 120_000;
/** The shopper's pause between steps, in ms. */
const THINK_MS = 250;

/** The resident memory (MB) of the renderer processes of the browser whose profile is `profile`. */
async function renderersMb(profile) {
  let kb = 0;
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      // Zygote-forked processes rewrite their command line as one string: match within it.
      const args = (await readFile(`/proc/${pid}/cmdline`, "utf8")).replaceAll("\0", " ");
      if (!args.includes("--type=renderer") || !args.includes(`--user-data-dir=${profile} `)) continue;
      kb += Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, "utf8"))[1]);
    } catch {
      // The process exited while being read.
    }
  }
  return kb / 1024;
}

/** The least-squares slope of `ys` against `xs`. */
function slope(xs, ys) {
  const mx = xs.reduce((a, b) => a + b) / xs.length;
  const my = ys.reduce((a, b) => a + b) / ys.length;
  return xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) / xs.reduce((s, x) => s + (x - mx) ** 2, 0);
}

/** The growth over the second half of `series` (`[[minute, MB], …]`), by least squares. */
function lateGrowth(series) {
  const late = series.slice(Math.floor(series.length / 2));
  return slope(late.map(([t]) => t), late.map(([, mb]) => mb)) * (late.at(-1)[0] - late[0][0]);
}

/** The shopper's steps: each takes the page and the PRNG and leaves the shop ready for the next. */
const STEPS = {
  async aisle(page, random) {
    const aisles = await page.$$eval("#aisle option", (os) => os.map((o) => o.value));
    const aisle = aisles[Math.floor(random() * aisles.length)];
    await page.selectOption("#aisle", aisle);
    await page.waitForFunction((a) => {
      const cards = [...document.querySelectorAll("#products .card")];
      return cards.length && (!a || cards.every((c) => c.querySelector(".aisle").textContent.toUpperCase() === a));
    }, aisle, { timeout: STEP_TIMEOUT });
  },
  async add(page, random) {
    const cards = page.locator("#products .card button.add");
    const count = await page.textContent("#cart-count");
    await cards.nth(Math.floor(random() * (await cards.count()))).click({ timeout: STEP_TIMEOUT });
    await page.waitForFunction((c) => document.querySelector("#cart-count").textContent !== c, count, { timeout: STEP_TIMEOUT });
  },
  async product(page, random) {
    const views = page.locator("#products .card button:text('View')");
    await views.nth(Math.floor(random() * (await views.count()))).click({ timeout: STEP_TIMEOUT });
    await page.waitForSelector("#product[open]", { timeout: STEP_TIMEOUT });
    if (await page.isVisible("#merchant")) {
      // The merchant view stays open from one product to the next once opened.
      if (!(await page.$("#merchant[open]"))) await page.click("#merchant summary");
      await page.waitForSelector("#merchant svg.demand", { timeout: STEP_TIMEOUT });
    }
    if (random() < 0.5) {
      const count = await page.textContent("#cart-count");
      await page.click("#product-add");
      await page.waitForFunction((c) => document.querySelector("#cart-count").textContent !== c, count, { timeout: STEP_TIMEOUT });
    }
    await page.click("#product button[data-close]");
  },
  async checkout(page) {
    if ((await page.textContent("#cart-count")) === "0") return;
    await page.click("#open-cart");
    await page.click("#checkout");
    await page.waitForSelector("#confirmation[open]", { timeout: STEP_TIMEOUT });
    await page.click("#confirmation button[data-close]");
    await page.waitForFunction(() => document.querySelector("#cart-count").textContent === "0", null, { timeout: STEP_TIMEOUT });
  },
  async reload(page) {
    await page.reload();
    try {
      await page.waitForSelector("body[data-ready]", { timeout: READY_TIMEOUT });
    } catch (e) {
      // What the page showed, and whether it became ready later (slow) or never (stuck).
      const shown = await page.evaluate(() => `progress "${document.querySelector("#progress-text")?.textContent}", error "${document.querySelector("#error")?.textContent}"`);
      const later = await page.waitForSelector("body[data-ready]", { timeout: READY_TIMEOUT }).then(() => "ready a while later", () => "still not ready after as long again");
      throw new Error(`${e.message.split("\n")[0]}: ${shown}; ${later}`);
    }
  },
  async privacy(page, random) {
    await page.click("#open-privacy");
    await page.waitForSelector("#privacy[open]", { timeout: STEP_TIMEOUT });
    if (random() < 0.3) {
      await Promise.all([page.waitForEvent("download", { timeout: STEP_TIMEOUT }), page.click("#export")]);
    }
    await page.click("#privacy button[data-close]");
  },
  async forget(page) {
    await page.click("#open-privacy");
    await page.waitForSelector("#privacy[open]", { timeout: STEP_TIMEOUT });
    await page.click("#forget");
    await page.waitForFunction(() => !document.querySelector("#privacy").open, null, { timeout: STEP_TIMEOUT });
  },
};

/** How often each step is taken, per 100. */
const MIX = [["aisle", 25], ["add", 30], ["product", 20], ["checkout", 8], ["reload", 6], ["privacy", 8], ["forget", 3]];

/**
 * Shops for `minutes`, sampling every `intervalSeconds`. Resolves to the series (`[[minute,
 * MB], …]` for the renderers' RSS and the page's heap), the steps taken and `failures`.
 */
export async function soakShop({ minutes = 60, intervalSeconds = 60, seed = 1, maxGrowthMb = 48 } = {}) {
  const random = prng(seed);
  const failures = [];
  const steps = Object.fromEntries(MIX.map(([name]) => [name, 0]));
  const server = await serveStatic(ROOT);
  const profile = await mkdtemp(join(tmpdir(), "edgerec-soak-"));
  const context = await launch({ profile });
  const rss = [];
  const heap = [];
  try {
    const page = await context.newPage();
    await page.setViewportSize({ width: 1200, height: 900 });
    page.on("pageerror", (e) => failures.push(`page error: ${e.message}`));
    page.on("console", (m) => m.type() === "error" && failures.push(`console error: ${m.text()}`));
    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable");
    await page.goto(`${server.url}/www/?device=cpu`);
    await page.waitForSelector("body[data-ready]", { timeout: READY_TIMEOUT });
    const began = Date.now();
    const sample = async () => {
      await cdp.send("HeapProfiler.collectGarbage");
      const { metrics } = await cdp.send("Performance.getMetrics");
      const minute = (Date.now() - began) / 60_000;
      heap.push([minute, metrics.find((m) => m.name === "JSHeapUsedSize").value / 2 ** 20]);
      rss.push([minute, await renderersMb(profile)]);
    };
    await sample();
    let next = began + intervalSeconds * 1000;
    while (Date.now() < began + minutes * 60_000 && failures.length === 0) {
      let pick = random() * 100;
      const [name] = MIX.find(([, share]) => (pick -= share) < 0) ?? MIX[0];
      try {
        await STEPS[name](page, random);
        steps[name]++;
      } catch (e) {
        failures.push(`${name}: ${e.message.split("\n")[0]}`);
        await page.screenshot({ path: join(tmpdir(), "soak-shop-failure.png") }).catch(() => {});
      }
      await page.waitForTimeout(THINK_MS);
      if (Date.now() >= next) {
        await sample();
        next += intervalSeconds * 1000;
      }
    }
    if (Date.now() - began > heap.at(-1)[0] * 60_000 + 1000) await sample();
  } finally {
    await context.close();
    await server.close();
    await rm(profile, { recursive: true, force: true });
  }
  const growth = { rss: lateGrowth(rss), heap: lateGrowth(heap) };
  if (growth.rss >= maxGrowthMb) failures.push(`the renderers' RSS grew ${growth.rss.toFixed(1)} MB over the second half (rule: under ${maxGrowthMb} MB)`);
  if (growth.heap >= maxGrowthMb / 4) failures.push(`the page's heap grew ${growth.heap.toFixed(1)} MB over the second half (rule: under ${maxGrowthMb / 4} MB)`);
  return { rss, heap, growth, steps, failures };
}

/** The figures of one soak, as lines to print. */
export function report(r) {
  const series = (s) => s.map(([t, mb]) => `${t.toFixed(1)}: ${mb.toFixed(0)}`).join(", ");
  const heapSeries = r.heap.map(([t, mb]) => `${t.toFixed(1)}: ${mb.toFixed(1)}`).join(", ");
  return [
    `steps: ${Object.entries(r.steps).map(([n, c]) => `${n} ${c}`).join(", ")} (${Object.values(r.steps).reduce((a, b) => a + b)} in all)`,
    `renderers' RSS (MB) at minute ${series(r.rss)}`,
    `page JS heap after GC (MB) at minute ${heapSeries}`,
    `second-half growth (least-squares): RSS ${r.growth.rss.toFixed(1)} MB, heap ${r.growth.heap.toFixed(2)} MB`,
    ...r.failures.map((f) => `FAILED: ${f}`),
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values: flags } = parseArgs({ options: {
    minutes: { type: "string", default: "60" },
    interval: { type: "string", default: "60" },
    seed: { type: "string", default: "1" },
    "max-growth": { type: "string", default: "48" },
  } });
  console.log(`machine: ${machine()}`);
  console.log(`shop soak: ${flags.minutes} minutes, a sample every ${flags.interval} s, seed ${flags.seed}; started ${new Date().toISOString()}`);
  const result = await soakShop({ minutes: Number(flags.minutes), intervalSeconds: Number(flags.interval), seed: Number(flags.seed), maxGrowthMb: Number(flags["max-growth"]) });
  for (const line of report(result)) console.log(line);
  console.log(`finished ${new Date().toISOString()}: ${result.failures.length ? "FAILED" : "passed"}`);
  process.exit(result.failures.length ? 1 : 0);
}
