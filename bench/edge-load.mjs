// Load on the edge example over loopback: autocannon against workerd and Node, each pinned to
// one core (the load generator on the other): throughput, latency p50/p99, and the server's
// memory (RSS) after 1,000 requests and after each fifth of the next 100,000. A request is a 20-event session asking
// for the top 10 with quotes.
//   node bench/edge-load.mjs [--requests 100000] [--connections 8] [--runtimes workerd,node]
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";

import autocannon from "autocannon";
import { start } from "../scripts/edge-runtimes.mjs";
import { machine } from "./machine.mjs";

const { values: flags } = parseArgs({ options: {
  requests: { type: "string", default: "100000" },
  connections: { type: "string", default: "8" },
  runtimes: { type: "string", default: "workerd,node" },
} });
const ids = JSON.parse(await readFile(new URL("../models/grocery/items.json", import.meta.url), "utf8")).map((i) => i.id);
const now = Date.now();
const body = JSON.stringify({
  k: 10,
  events: Array.from({ length: 20 }, (_, i) => ({ type: ["view", "cart", "purchase"][i % 3], item: ids[(i * 37) % 500], ts: now - 60_000 + i })),
});

async function rssMb(pid) {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

function load(url, amount) {
  return autocannon({
    url: `${url}/recommend`, method: "POST", body, headers: { "content-type": "application/json" },
    connections: Number(flags.connections), amount,
  });
}

console.log(`machine: ${machine()}; server pinned to core 1, autocannon on the rest`);
console.log(`request: POST /recommend, 20 events, k = 10 with quotes; ${flags.connections} connections`);
for (const runtime of flags.runtimes.split(",")) {
  const server = await start(runtime, { cpu: 1 });
  try {
    const warm = await load(server.url, 1000);
    if (warm.non2xx) throw new Error(`${runtime}: ${warm.non2xx} failed requests`);
    const afterWarm = await rssMb(server.pid);
    // The load in five chunks, the server's memory after each: growth that stops is warm-up
    // (heaps reaching their working size), growth that goes on would be a leak.
    const chunks = [];
    const latencies = { p50: [], p99: [] };
    let requests = 0;
    let seconds = 0;
    for (let chunk = 0; chunk < 5; chunk++) {
      const run = await load(server.url, Number(flags.requests) / 5);
      if (run.non2xx || run.errors) throw new Error(`${runtime}: ${run.non2xx} non-2xx, ${run.errors} errors`);
      requests += run.requests.total;
      seconds += run.duration;
      latencies.p50.push(run.latency.p50);
      latencies.p99.push(run.latency.p99);
      chunks.push((await rssMb(server.pid)).toFixed(0));
    }
    console.log(`${runtime.padEnd(8)} ${(requests / seconds).toFixed(0)} req/s, latency p50 ${Math.max(...latencies.p50)} ms, p99 ${Math.max(...latencies.p99)} ms (worst chunk); ` +
      `RSS after 1,000 requests ${afterWarm.toFixed(0)} MB, then after each fifth of ${Number(flags.requests).toLocaleString("en")}: ${chunks.join(", ")} MB`);
  } finally {
    await server.stop();
  }
}
