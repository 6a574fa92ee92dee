// Load on the edge example over loopback: autocannon against workerd and Node, each pinned to
// one core (the load generator on the other): throughput, latency p50/p99, and the server's
// memory (RSS) after the shoppers' first visits and after each fifth of the load. Each shopper's
// session lives in the engine, keyed by the signed cookie the server issued at its first visit: a
// request carries that cookie and one new event, and asks for the top 10 with quotes.
//   node bench/edge-load.mjs [--requests 100000] [--shoppers 2000] [--connections 8] [--runtimes workerd,node]
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";

import autocannon from "autocannon";
import { start } from "../scripts/edge-runtimes.mjs";
import { machine } from "./machine.mjs";

const { values: flags } = parseArgs({ options: {
  requests: { type: "string", default: "100000" },
  shoppers: { type: "string", default: "2000" },
  connections: { type: "string", default: "8" },
  runtimes: { type: "string", default: "workerd,node" },
} });
const ids = JSON.parse(await readFile(new URL("../models/grocery/items.json", import.meta.url), "utf8")).map((i) => i.id);
const shoppers = Number(flags.shoppers);
const TYPES = ["view", "cart", "purchase"];
const event = (n) => ({ type: TYPES[n % 3], item: ids[(n * 37) % 500], ts: Date.now() - 60_000 });

async function rssMb(pid) {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

/** Each shopper's first visit (20 events, no cookie): the cookies the server issued. */
async function firstVisits(url) {
  const cookies = [];
  for (let s = 0; s < shoppers; s++) {
    const events = Array.from({ length: 20 }, (_, i) => event(s * 20 + i));
    const response = await fetch(`${url}/recommend`, { method: "POST", body: JSON.stringify({ k: 10, events }) });
    if (response.status !== 200) throw new Error(`first visit: HTTP ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
    cookies.push(response.headers.get("set-cookie").split(";")[0]);
  }
  return cookies;
}

/** `amount` requests, shoppers in turn, each with its cookie and one new event. */
function load(url, cookies, amount) {
  let n = 0;
  return autocannon({
    url: `${url}/recommend`, method: "POST", connections: Number(flags.connections), amount,
    requests: [{
      setupRequest: (request) => {
        const turn = n++;
        return {
          ...request,
          headers: { "content-type": "application/json", cookie: cookies[turn % cookies.length] },
          body: JSON.stringify({ k: 10, events: [event(turn)] }),
        };
      },
    }],
  });
}

console.log(`machine: ${machine()}; server pinned to core 1, autocannon on the rest`);
console.log(`request: POST /recommend with a shopper's session cookie and 1 new event, k = 10 with quotes; ${shoppers} shoppers in turn, ${flags.connections} connections`);
for (const runtime of flags.runtimes.split(",")) {
  const server = await start(runtime, { cpu: 1 });
  try {
    const cookies = await firstVisits(server.url);
    const afterVisits = await rssMb(server.pid);
    // The load in five chunks, the server's memory after each: growth that stops is warm-up
    // (heaps reaching their working size), growth that goes on would be a leak.
    const chunks = [];
    const latencies = { p50: [], p99: [] };
    let requests = 0;
    let seconds = 0;
    for (let chunk = 0; chunk < 5; chunk++) {
      const run = await load(server.url, cookies, Number(flags.requests) / 5);
      if (run.non2xx || run.errors) throw new Error(`${runtime}: ${run.non2xx} non-2xx, ${run.errors} errors`);
      requests += run.requests.total;
      seconds += run.duration;
      latencies.p50.push(run.latency.p50);
      latencies.p99.push(run.latency.p99);
      chunks.push((await rssMb(server.pid)).toFixed(0));
    }
    console.log(`${runtime.padEnd(8)} ${(requests / seconds).toFixed(0)} req/s, latency p50 ${Math.max(...latencies.p50)} ms, p99 ${Math.max(...latencies.p99)} ms (worst chunk); ` +
      `RSS after ${shoppers} first visits ${afterVisits.toFixed(0)} MB, then after each fifth of ${Number(flags.requests).toLocaleString("en")}: ${chunks.join(", ")} MB`);
  } finally {
    await server.stop();
  }
}
