// The edge example soaked (issue 20): N requests per runtime (workerd and Node, default 1,000,000)
// from a few concurrent keep-alive clients, a fixed-seed mix of returning shoppers (a signed
// cookie each, a few events, the top k with quotes, now and then a forget) and hostile requests
// (cookie-less floods, forged cookies, huge bodies, malformed JSON, unknown fields, 1,001 events,
// unknown items, bad events and k, wrong method or path, a target that makes no URL, a bad Host).
// After a warm-up that fills the session store (1,000 cookie-less sessions of 1,000 events),
// every N/20 requests it samples the server's RSS from /proc/<pid>/status; it prints the series,
// the statuses by kind and the throughput.
//
// It fails (exit 1) on any 5xx, any status a kind should not get, a dropped connection, a quote
// above its list price, or memory that keeps growing after warm-up: over the second half of the
// run (samples 10 to 20) the least-squares slope of RSS, times the requests of that half, must
// stay under --max-growth MB (default 32: a leak of 64 bytes a request over 500,000 requests).
//   node bench/soak-edge.mjs [--requests 1000000] [--concurrency 8] [--runtimes workerd,node] [--seed 1] [--max-growth 32]
import { readFile } from "node:fs/promises";
import { Agent, request } from "node:http";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

import { start } from "../scripts/edge-runtimes.mjs";
import { machine } from "./machine.mjs";

const ids = JSON.parse(await readFile(new URL("../models/grocery/items.json", import.meta.url), "utf8")).map((i) => i.id);
const TYPES = ["view", "view", "view", "cart", "purchase"];

/** A small seeded PRNG (mulberry32): the same seed gives the same mix. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const events = (random, count, now = Date.now()) =>
  Array.from({ length: count }, (_, i) => ({ type: TYPES[Math.floor(random() * TYPES.length)], item: ids[Math.floor(random() * ids.length)], ts: now - 1000 * (count - i) }));

/** Bodies that never change, made once. */
const HUGE = " ".repeat(300 * 1024);
const FLOOD_EVENTS = 200;

/**
 * The request kinds: their share of the mix, the statuses they may get, and the request each
 * makes (`path`, `method`, `body`, `cookie`, `host`). `shopper` reads and keeps the shopper's
 * cookie; the others are what an attacker sends.
 */
function kinds(random, shoppers) {
  const json = (value) => JSON.stringify(value);
  const aShopper = () => Math.floor(random() * shoppers.length);
  return {
    shopper: { share: 0.70, ok: [200], make: () => ({ shopper: aShopper(), body: json({ events: events(random, 1 + Math.floor(random() * 5)), k: 5 + Math.floor(random() * 16) }) }) },
    returning: { share: 0.08, ok: [200], make: () => ({ shopper: aShopper(), body: json({ k: 10 }) }) },
    forget: { share: 0.01, ok: [204], make: () => ({ shopper: aShopper(), path: "/forget", body: "" }) },
    noCookieFlood: { share: 0.05, ok: [200], make: () => ({ body: json({ events: events(random, FLOOD_EVENTS), k: 1 }) }) },
    forgedCookie: { share: 0.03, ok: [200], make: () => ({ cookie: `__Host-edgerec_session=${"A".repeat(21)}${"BCD"[Math.floor(random() * 3)]}.${"x".repeat(43)}`, body: json({ k: 3 }) }) },
    hugeBody: { share: 0.005, ok: [413], make: () => ({ body: HUGE }) },
    malformedJson: { share: 0.02, ok: [400], make: () => ({ body: `{"events": [${"{".repeat(Math.floor(random() * 50))}` }) },
    unknownFields: { share: 0.02, ok: [400], make: () => ({ body: json({ k: 3, sessionKey: "x".repeat(Math.floor(random() * 2000)), ["__proto__"]: 1 }) }) },
    tooManyEvents: { share: 0.005, ok: [413], make: () => ({ body: json({ events: events(random, 1001) }) }) },
    unknownItem: { share: 0.02, ok: [422], make: () => ({ body: json({ events: [...events(random, 2), { type: "view", item: `NO-SUCH-${Math.floor(random() * 1e9)}`, ts: Date.now() }] }) }) },
    badEvent: { share: 0.02, ok: [400], make: () => ({ body: json({ events: [{ type: "view", item: ids[0], ts: [NaN, -1, "soon", Date.now() + 3.6e6][Math.floor(random() * 4)] }] }) }) },
    badK: { share: 0.01, ok: [400], make: () => ({ body: json({ k: [0, -3, 1e9, 2.5, "10", null][Math.floor(random() * 6)] }) }) },
    wrongMethodOrPath: { share: 0.01, ok: [404, 405], make: () => (random() < 0.5 ? { method: "GET", body: undefined } : { path: `/${"x".repeat(Math.floor(random() * 100))}`, body: "{}" }) },
    badTarget: { share: 0.005, ok: [400, 404], make: () => ({ path: "//[::1", body: "{}" }) },
    badHost: { share: 0.005, ok: [200, 400], make: () => ({ host: "[not a host", body: json({ k: 2 }) }) },
  };
}

async function rssMb(pid) {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

/** One request over `agent`: resolves to { status, body }, or { error } when the connection failed. */
function send(agent, port, { path = "/recommend", method = "POST", body, cookie, host }) {
  return new Promise((resolve) => {
    const headers = { "content-type": "application/json" };
    if (cookie) headers.cookie = cookie;
    if (host) headers.host = host;
    if (body !== undefined) headers["content-length"] = Buffer.byteLength(body);
    const req = request({ host: "127.0.0.1", port, path, method, headers, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(), cookie: res.headers["set-cookie"]?.[0]?.split(";")[0] }));
      res.on("error", (error) => resolve({ error }));
    });
    req.on("error", (error) => resolve({ error }));
    req.end(body);
  });
}

/** The least-squares slope of `ys` against `xs`. */
function slope(xs, ys) {
  const mx = xs.reduce((a, b) => a + b) / xs.length;
  const my = ys.reduce((a, b) => a + b) / ys.length;
  const num = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0);
  const den = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  return num / den;
}

/**
 * Soaks the example in `runtime` with `requests` requests from `concurrency` clients (the mix
 * from `seed`, among `shoppers` returning shoppers), after `warmup` flooding requests. Resolves to the figures and `failures`, a
 * list of what broke the rules (empty when it held).
 */
export async function soak({ runtime, requests = 1_000_000, concurrency = 8, seed = 1, shoppers = 20_000, maxGrowthMb = 32, samples = 20, warmup = 1000 }) {
  const random = prng(seed);
  const cookies = new Array(shoppers).fill(undefined);
  const mix = Object.entries(kinds(random, cookies));
  const counts = Object.fromEntries(mix.map(([name]) => [name, {}]));
  const failures = [];
  const fail = (what) => failures.length < 20 && failures.push(what);
  const server = await start(runtime);
  const port = Number(new URL(server.url).port);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  // Warm-up: the session store filled to its byte cap by cookie-less sessions of 1,000 events
  // each (about 40 KB apiece), so that growth after it is the runtime's, not the store's.
  const flood = JSON.stringify({ k: 1, events: events(random, 1000) });
  const warm = async (count) => {
    for (let i = 0; i < count; i++) {
      const answer = await send(agent, port, { body: flood });
      if (answer.status !== 200) fail(`warm-up: ${answer.status ?? answer.error.code} ${answer.body?.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => warm(Math.ceil(warmup / concurrency))));
  const rss = [[0, await rssMb(server.pid)]];
  const every = Math.max(1, Math.floor(requests / samples));
  let sent = 0;
  let done = 0;
  const began = performance.now();
  try {
    const client = async () => {
      while (sent < requests) {
        sent++;
        let pick = random();
        const [name, kind] = mix.find(([, k]) => (pick -= k.share) < 0) ?? mix[0];
        const made = kind.make();
        if (made.shopper !== undefined) made.cookie = cookies[made.shopper];
        const answer = await send(agent, port, made);
        const status = answer.error ? `error ${answer.error.code ?? answer.error.message}` : answer.status;
        counts[name][status] = (counts[name][status] ?? 0) + 1;
        if (answer.error) fail(`${name}: the connection failed (${status})`);
        else if (answer.status >= 500) fail(`${name}: ${answer.status} ${answer.body.slice(0, 200)}`);
        else if (!kind.ok.includes(answer.status)) fail(`${name}: ${answer.status} ${answer.body.slice(0, 200)}`);
        else if (answer.status === 200) {
          if (made.shopper !== undefined && answer.cookie) cookies[made.shopper] = answer.cookie;
          for (const { item, quote } of JSON.parse(answer.body).items) {
            if (quote.item !== item || !(quote.price <= quote.listPrice)) fail(`${name}: a quote off its guardrails ${JSON.stringify(quote)}`);
          }
        }
        if (++done % every === 0) rss.push([done, await rssMb(server.pid)]);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, client));
  } finally {
    agent.destroy();
    await server.stop();
  }
  const seconds = (performance.now() - began) / 1000;
  const late = rss.slice(Math.floor(rss.length / 2));
  const growthMb = slope(late.map(([n]) => n), late.map(([, mb]) => mb)) * (late.at(-1)[0] - late[0][0]);
  if (growthMb >= maxGrowthMb) fail(`memory grew ${growthMb.toFixed(1)} MB over the second half (rule: under ${maxGrowthMb} MB)`);
  return { runtime, requests: done, seconds, perSecond: done / seconds, rss, growthMb, counts, failures };
}

/** The figures of one soak, as lines to print. */
export function report(r) {
  const byKind = Object.entries(r.counts).map(([name, statuses]) => `  ${name.padEnd(18)} ${Object.entries(statuses).map(([s, n]) => `${s}: ${n.toLocaleString("en")}`).join(", ")}`);
  const fivexx = Object.values(r.counts).flatMap((s) => Object.entries(s)).filter(([s]) => Number(s) >= 500).reduce((a, [, n]) => a + n, 0);
  return [
    `${r.runtime}: ${r.requests.toLocaleString("en")} requests in ${r.seconds.toFixed(0)} s (${r.perSecond.toFixed(0)} req/s); 5xx: ${fivexx}`,
    `  RSS (MB) at ${r.rss.map(([n, mb]) => `${n.toLocaleString("en")}: ${mb.toFixed(0)}`).join(", ")}`,
    `  second-half growth (least-squares): ${r.growthMb.toFixed(1)} MB`,
    ...byKind,
    ...r.failures.map((f) => `  FAILED: ${f}`),
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values: flags } = parseArgs({ options: {
    requests: { type: "string", default: "1000000" },
    concurrency: { type: "string", default: "8" },
    runtimes: { type: "string", default: "workerd,node" },
    seed: { type: "string", default: "1" },
    "max-growth": { type: "string", default: "32" },
  } });
  console.log(`machine: ${machine()}`);
  console.log(`soak: ${Number(flags.requests).toLocaleString("en")} requests per runtime, ${flags.concurrency} keep-alive clients, seed ${flags.seed}; started ${new Date().toISOString()}`);
  let failed = false;
  for (const runtime of flags.runtimes.split(",")) {
    const result = await soak({ runtime, requests: Number(flags.requests), concurrency: Number(flags.concurrency), seed: Number(flags.seed), maxGrowthMb: Number(flags["max-growth"]) });
    for (const line of report(result)) console.log(line);
    failed ||= result.failures.length > 0;
  }
  console.log(`finished ${new Date().toISOString()}: ${failed ? "FAILED" : "passed"}`);
  process.exit(failed ? 1 : 0);
}
