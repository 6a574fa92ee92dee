// Fetching a bundle from servers that stall, lie about sizes or fail for a while: every download is
// bounded in time and bytes, transient failures are retried, a corrupted cache entry is refetched.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";

import { EdgerecError } from "edgerec";
import { create, expected, fixtureBytes, MODEL_FILE } from "./helpers.mjs";

const code = (c) => (e) => {
  assert.ok(e instanceof EdgerecError, `an EdgerecError, got ${e}`);
  assert.equal(e.code, c, e.message);
  return true;
};

/**
 * A loopback server for the fixture bundle whose answer to each request `answer(name, attempt,
 * res, body)` decides (returning false serves the file normally); counts requests and bytes sent.
 */
async function server(answer = () => false) {
  const files = await fixtureBytes();
  const hits = {};
  let sent = 0;
  const sockets = new Set();
  const srv = createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url, "http://x").pathname.replace(/^\/bundle\//, ""));
    hits[name] = (hits[name] ?? 0) + 1;
    const write = res.write.bind(res);
    res.write = (chunk, ...rest) => {
      sent += chunk.length;
      return write(chunk, ...rest);
    };
    const body = files[name];
    if (answer(name, hits[name], res, body)) return;
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { "content-length": body.byteLength });
    res.end(body);
  });
  srv.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${srv.address().port}/bundle/`,
    hits,
    files,
    sent: () => sent,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => srv.close(resolve));
    },
  };
}

/** Streams `total` bytes of zeros in 64 KiB chunks, as fast as the client reads, until it hangs up. */
function stream(res, total) {
  const chunk = new Uint8Array(65_536);
  let left = total;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!res.write(chunk.subarray(0, n))) return void res.once("drain", pump);
    }
    res.end();
  };
  res.on("close", () => (left = 0));
  pump();
}

const within = (ms, promise) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms).unref())]);

test("a server that never answers: FETCH_TIMEOUT after timeoutMs", { timeout: 20_000 }, async () => {
  const s = await server((name) => name === "manifest.json");
  try {
    const started = Date.now();
    await within(5_000, assert.rejects(create({ bundle: s.url, timeoutMs: 300 }), code("FETCH_TIMEOUT")));
    assert.ok(Date.now() - started < 3_000);
    assert.equal(s.hits["manifest.json"], 1, "a timeout is not retried");
  } finally {
    await s.close();
  }
});

test("a file whose body stalls half-way: FETCH_TIMEOUT", { timeout: 20_000 }, async () => {
  const s = await server((name, _, res, body) => {
    if (name !== "items.json") return false;
    res.writeHead(200, { "content-length": body.byteLength });
    res.write(body.subarray(0, 100));
    return true;
  });
  try {
    await within(5_000, assert.rejects(create({ bundle: s.url, timeoutMs: 400, cache: "none" }), code("FETCH_TIMEOUT")));
  } finally {
    await s.close();
  }
});

test("signal: aborting a stalled load is ABORTED at once; an aborted signal fetches nothing", { timeout: 20_000 }, async () => {
  const s = await server((name) => name === MODEL_FILE);
  try {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    await within(5_000, assert.rejects(create({ bundle: s.url, signal: controller.signal, cache: "none" }), code("ABORTED")));
    assert.ok(Date.now() - started < 2_000);

    const hits = { ...s.hits };
    await assert.rejects(create({ bundle: s.url, signal: AbortSignal.abort() }), code("ABORTED"));
    await assert.rejects(create({ bundle: await fixtureBytes(), signal: AbortSignal.abort() }), code("ABORTED"));
    assert.deepEqual(s.hits, hits, "nothing more was fetched");
  } finally {
    await s.close();
  }
});

test("signal: aborting while waiting to retry is ABORTED", { timeout: 20_000 }, async () => {
  const s = await server((name, _, res) => name === "manifest.json" && (res.writeHead(503).end(), true));
  try {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await within(5_000, assert.rejects(create({ bundle: s.url, signal: controller.signal, retries: 10 }), code("ABORTED")));
    assert.ok(s.hits["manifest.json"] <= 2);
  } finally {
    await s.close();
  }
});

test("a 200 MB manifest is refused by its Content-Length, or after 1 MiB without one: FILE_TOO_LARGE", { timeout: 30_000 }, async () => {
  for (const declare of [true, false]) {
    const s = await server((name, _, res) => {
      if (name !== "manifest.json") return false;
      res.writeHead(200, declare ? { "content-length": 200_000_000 } : {});
      stream(res, 200_000_000);
      return true;
    });
    try {
      await within(10_000, assert.rejects(create({ bundle: s.url }), code("FILE_TOO_LARGE")));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(s.sent() < 16_000_000, `${s.sent()} bytes were sent (Content-Length ${declare ? "sent" : "absent"})`);
    } finally {
      await s.close();
    }
  }
});

test("a file longer than its manifest says is cut off, by Content-Length or while streaming: SIZE_MISMATCH", { timeout: 30_000 }, async () => {
  for (const declare of [true, false]) {
    const s = await server((name, _, res) => {
      if (name !== MODEL_FILE) return false;
      res.writeHead(200, declare ? { "content-length": 200_000_000 } : {});
      stream(res, 200_000_000);
      return true;
    });
    try {
      await within(10_000, assert.rejects(create({ bundle: s.url, cache: "none" }), code("SIZE_MISMATCH")));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(s.sent() < 16_000_000, `${s.sent()} bytes were sent`);
      assert.equal(s.hits[MODEL_FILE], 1, "a lying server is not asked again");
    } finally {
      await s.close();
    }
  }
});

test("a manifest.sig over 1 KiB is FILE_TOO_LARGE", async () => {
  const s = await server((name, _, res) => name === "manifest.sig" && (res.writeHead(200).end(new Uint8Array(4096)), true));
  try {
    await assert.rejects(create({ bundle: s.url, publicKey: expected.publicKey }), code("FILE_TOO_LARGE"));
  } finally {
    await s.close();
  }
});

test("transient failures (503, 429, a dropped connection) are retried with backoff, then the bundle loads", { timeout: 20_000 }, async () => {
  const failures = {
    "manifest.json": (res) => res.writeHead(503).end(),
    "items.json": (res) => res.writeHead(429).end(),
    [MODEL_FILE]: (res) => res.socket.destroy(),
  };
  const s = await server((name, attempt, res) => attempt <= 2 && name in failures && (failures[name](res), true));
  try {
    const progress = [];
    const started = Date.now();
    const rec = await create({ bundle: s.url, cache: "none", onProgress: (p) => progress.push(p) });
    assert.ok(Date.now() - started >= 600, "two waits: 200 ms, then 400 ms");
    for (const name of Object.keys(failures)) assert.equal(s.hits[name], 3, name);
    assert.ok(progress.every((p, i) => i === 0 || p.loaded >= progress[i - 1].loaded));
    assert.equal(progress.at(-1).loaded, progress.at(-1).total);
    rec.dispose();
  } finally {
    await s.close();
  }
});

test("a transient failure that lasts: FETCH_FAILED after 1 + retries tries; a 404 or 403 is not retried", { timeout: 20_000 }, async () => {
  const s = await server((name, _, res) => {
    const status = { "manifest.json": 500, "items.json": 404, [MODEL_FILE]: 403 }[name];
    if (status === undefined) return false;
    res.writeHead(status).end();
    return true;
  });
  try {
    await assert.rejects(create({ bundle: s.url, retries: 1 }), (e) => code("FETCH_FAILED")(e) && /HTTP 500 \(2 tries\)/.test(e.message));
    assert.equal(s.hits["manifest.json"], 2);
    await assert.rejects(create({ bundle: s.url, retries: 0 }), code("FETCH_FAILED"));
    assert.equal(s.hits["manifest.json"], 3);
  } finally {
    await s.close();
  }
  const t = await server((name, _, res) => name === "items.json" && (res.writeHead(404).end(), true));
  try {
    await assert.rejects(create({ bundle: t.url, cache: "none" }), code("FETCH_FAILED"));
    assert.equal(t.hits["items.json"], 1);
  } finally {
    await t.close();
  }
});

test("a corrupted cache entry is dropped, even when the refetch fails, and refetched", { timeout: 20_000 }, async () => {
  const entries = new Map();
  const cache = {
    async match(key) {
      return entries.has(String(key)) ? new Response(entries.get(String(key))) : undefined;
    },
    async put(key, response) {
      entries.set(String(key), new Uint8Array(await response.arrayBuffer()));
    },
    async delete(key) {
      return entries.delete(String(key));
    },
  };
  globalThis.caches = { open: async () => cache };
  let unavailable = false;
  const s = await server((name, _, res) => unavailable && name === "items.json" && (res.writeHead(404).end(), true));
  try {
    (await create({ bundle: s.url })).dispose();
    const key = [...entries.keys()].find((k) => entries.get(k).byteLength === s.files["items.json"].byteLength);
    assert.ok(key, "items.json is in the cache");
    entries.get(key)[10] ^= 0xff;

    unavailable = true;
    await assert.rejects(create({ bundle: s.url }), code("FETCH_FAILED"));
    assert.equal(entries.has(key), false, "the corrupted entry was dropped");

    unavailable = false;
    const hits = s.hits["items.json"];
    const rec = await create({ bundle: s.url });
    assert.equal(s.hits["items.json"], hits + 1, "refetched");
    assert.deepEqual(entries.get(key), s.files["items.json"], "and cached again, intact");
    rec.dispose();
  } finally {
    delete globalThis.caches;
    await s.close();
  }
});

test("the fetch is called as a plain function, as a browser's own fetch must be", async () => {
  const s = await server();
  try {
    function strictFetch(url, init) {
      if (this !== undefined && this !== globalThis) throw new TypeError("Illegal invocation");
      return globalThis.fetch(url, init);
    }
    const rec = await create({ bundle: s.url, fetch: strictFetch, retries: 0, cache: "none" });
    rec.dispose();
  } finally {
    await s.close();
  }
});

test("bad fetch options are INVALID_ARGUMENT, named, before anything is fetched", async () => {
  const s = await server();
  try {
    const bad = {
      timeoutMs: [0, -1, "30", Infinity, NaN, 2 ** 31, null],
      retries: [-1, 1.5, 11, "2", null],
      signal: [{}, "abort", null, 1],
      fetch: ["fetch", {}, null],
      cache: ["disk", null],
    };
    for (const [name, values] of Object.entries(bad)) {
      for (const value of values) {
        await assert.rejects(
          create({ bundle: s.url, [name]: value }),
          (e) => code("INVALID_ARGUMENT")(e) && e.message.includes(`\`${name}\``),
          `${name}: ${String(value)}`,
        );
      }
    }
    assert.deepEqual(s.hits, {});
  } finally {
    await s.close();
  }
});
