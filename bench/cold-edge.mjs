// Cold start where edgerec runs as a service: the first request after workerd starts (the isolate
// creates the engine from the grocery bundle, imported as modules, then answers POST /recommend
// with the top 10 and a quote each), against the next request; and in headless Chromium, a module
// Web Worker's `Edgerec.create()` from the bundle's URL to its first recommendation, each run in a
// fresh browser profile (nothing cached). Medians over --runs fresh starts.
//   node bench/cold-edge.mjs [--runs 9]
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { start } from "../scripts/edge-runtimes.mjs";
import { serveStatic } from "../scripts/static-server.mjs";
import { launch } from "../tests/browser/chromium.mjs";
import { machine, quantile } from "./machine.mjs";

const { values: flags } = parseArgs({ options: { runs: { type: "string", default: "9" } } });
const runs = Number(flags.runs);
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const ids = JSON.parse(await readFile(new URL("../models/grocery/items.json", import.meta.url), "utf8")).map((i) => i.id);
const now = Date.now();
const events = Array.from({ length: 20 }, (_, i) => ({ type: "view", item: ids[(i * 37) % 500], ts: now - 60_000 + i }));
const body = JSON.stringify({ k: 10, events });

async function timedPost(url) {
  const t = performance.now();
  const res = await fetch(`${url}/recommend`, { method: "POST", body, headers: { "content-type": "application/json" } });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  await res.json();
  return performance.now() - t;
}

const edge = { first: [], second: [] };
for (let i = 0; i < runs; i++) {
  const server = await start("workerd");
  try {
    edge.first.push(await timedPost(server.url));
    edge.second.push(await timedPost(server.url));
  } finally {
    await server.stop();
  }
}

const statics = await serveStatic(ROOT);
const browser = [];
try {
  for (let i = 0; i < runs; i++) {
    const context = await launch();
    try {
      const page = await context.newPage();
      await page.goto(`${statics.url}/tests/browser/blank.html`);
      const ms = await page.evaluate((events) => new Promise((resolve, reject) => {
        // A worker from a blob: its module specifiers and the bundle's URL are absolute.
        const source = `import { Edgerec } from "${location.origin}/dist/index.js";
          const t = performance.now();
          const rec = await Edgerec.create({ bundle: "${location.origin}/models/grocery/", device: "cpu" });
          await rec.recommend({ k: 10, events: ${JSON.stringify(events)} });
          postMessage(performance.now() - t);`;
        const worker = new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })), { type: "module" });
        worker.onmessage = ({ data }) => resolve(data);
        worker.onerror = (e) => reject(new Error(e.message));
      }), events);
      browser.push(ms);
    } finally {
      await context.close();
    }
  }
} finally {
  await statics.close();
}

const median = (xs) => quantile(xs, 0.5).toFixed(1);
console.log(`machine: ${machine()}`);
console.log(`workerd, grocery bundle as modules, POST /recommend (20 events, top 10 with quotes), ${runs} fresh starts: first request median ${median(edge.first)} ms (min ${Math.min(...edge.first).toFixed(1)}), next request ${median(edge.second)} ms`);
console.log(`Chromium (headless, module Web Worker), create() from the bundle's URL to the first recommendation, ${runs} fresh profiles: median ${median(browser)} ms (min ${Math.min(...browser).toFixed(1)})`);
