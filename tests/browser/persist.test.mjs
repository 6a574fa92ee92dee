// `create({ persist })` in Debian's headless Chromium: the shopper's events in IndexedDB survive a
// reload and feed recommendations (on a page and from a Web Worker), old events expire, the cap
// holds, forget and consent-off leave no record, export gives every event; a full quota, a
// blocked database, corrupt records and a database deleted mid-session are reported while the
// engine keeps answering. Each test reads the database itself, not through the package.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { launch } from "./chromium.mjs";
import { serveStatic } from "../../scripts/static-server.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const expected = JSON.parse(await readFile(new URL("../../models/fixture/expected.json", import.meta.url), "utf8"));
const DAY = 86_400_000;
let server, context, page;

before(async () => {
  server = await serveStatic(ROOT);
  context = await launch();
  page = await context.newPage();
  await page.goto(`${server.url}/tests/browser/blank.html`);
});

after(async () => {
  await context?.close();
  await server?.close();
});

/** The fixture's "full window" case, its timestamps moved to the last minutes (the order kept). */
function recentCase() {
  const c = expected.cases.find((x) => x.name === "full window");
  const shift = Date.now() - 60_000 - Math.max(...c.events.map((e) => e.ts));
  return { events: c.events.map((e) => ({ ...e, ts: e.ts + shift })), top: c.top.map((t) => t.item) };
}

/**
 * Runs `body` (the source of an async function of `(Edgerec, arg)`) on the page, with the package
 * imported; resolves to what it returns.
 */
function onPage(body, arg) {
  return page.evaluate(async ({ body, arg }) => {
    const { Edgerec } = await import("/dist/index.js");
    return new Function("Edgerec", "arg", `return (${body})(Edgerec, arg);`)(Edgerec, arg);
  }, { body: body.toString(), arg });
}

/** The records in database `name`, read directly; `null` when no such database exists. */
function records(name) {
  return page.evaluate(async (name) => {
    if (!(await indexedDB.databases()).some((d) => d.name === name)) return null;
    return new Promise((resolve, reject) => {
      const open = indexedDB.open(name);
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const db = open.result;
        const all = db.transaction("events").objectStore("events").getAll();
        all.onsuccess = () => {
          db.close();
          resolve(all.result);
        };
        all.onerror = () => reject(all.error);
      };
    });
  }, name);
}

/** Adds `values` to database `name` as they are (the test's stand-in for another writer or a damaged record). */
function putRaw(name, values) {
  return page.evaluate(({ name, values }) => new Promise((resolve, reject) => {
    const open = indexedDB.open(name);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction("events", "readwrite");
      for (const v of values) tx.objectStore("events").add(v);
      tx.oncomplete = () => {
        db.close();
        resolve();
      };
      tx.onabort = () => reject(tx.error);
    };
  }), { name, values });
}

async function reload() {
  await page.reload();
}

test("stored events survive a reload and feed recommendations", async () => {
  const c = recentCase();
  const first = await onPage(async (Edgerec, { events }) => {
    const rec = await Edgerec.create({ bundle: "/models/fixture/", persist: { name: "reload" } });
    const empty = (await rec.recommend({ k: 10 })).map((t) => t.item);
    rec.observeMany(events);
    await rec.exportEvents(); // waits for the write
    return { empty, persistence: rec.persistence };
  }, { events: c.events });
  assert.deepEqual(first.persistence, { consent: true, storage: "indexeddb", stored: 8 });
  assert.equal((await records("reload")).length, 8);

  await reload();
  const second = await onPage(async (Edgerec) => {
    const rec = await Edgerec.create({ bundle: "/models/fixture/", persist: { name: "reload" } });
    return { events: rec.events, top: (await rec.recommend({ k: 10 })).map((t) => t.item), persistence: rec.persistence };
  });
  assert.deepEqual(second.events, c.events, "the session starts with the stored events");
  assert.deepEqual(second.top, c.top, "and ranks as for those events");
  assert.notDeepEqual(second.top, first.empty);
  assert.deepEqual(second.persistence, { consent: true, storage: "indexeddb", stored: 8 });
});

test("events past the expiry are deleted, when written and at load", async () => {
  const now = Date.now();
  const events = [
    { type: "view", item: "SKU-0001", ts: now - 3 * DAY },
    { type: "view", item: "SKU-0002", ts: now - 1.5 * DAY },
    { type: "cart", item: "SKU-0003", ts: now - 1000 },
  ];
  const written = await onPage(async (Edgerec, { events }) => {
    const rec = await Edgerec.create({ bundle: "/models/fixture/", persist: { name: "expiry", days: 2 } });
    rec.observeMany(events);
    await rec.exportEvents();
    return rec.persistence.stored;
  }, { events });
  assert.equal(written, 2);
  assert.deepEqual((await records("expiry")).map((r) => r.item).sort(), ["SKU-0002", "SKU-0003"]);

  await reload();
  const loaded = await onPage(async (Edgerec) => {
    const rec = await Edgerec.create({ bundle: "/models/fixture/", persist: { name: "expiry", days: 1 } });
    return { items: rec.events.map((e) => e.item), stored: rec.persistence.stored };
  });
  assert.deepEqual(loaded, { items: ["SKU-0003"], stored: 1 });
  assert.deepEqual((await records("expiry")).map((r) => r.item), ["SKU-0003"]);
});

test("the store keeps the copy the engine accepted: the caller's events are read once", async () => {
  const result = await onPage(async (Edgerec) => {
    const rec = await Edgerec.create({ bundle: "/models/fixture/", persist: { name: "read-once" } });
    let reads = 0;
    const event = { type: "view", ts: Date.now() - 1000 };
    Object.defineProperty(event, "item", {
      enumerable: true,
      get() {
        reads += 1;
        if (reads > 1) throw new Error("read twice");
        return "SKU-0004";
      },
    });
    rec.observeMany([event]);
    await rec.exportEvents();
    return { reads, held: rec.events.map((e) => e.item), stored: rec.persistence.stored };
  });
  assert.deepEqual(result, { reads: 1, held: ["SKU-0004"], stored: 1 });
  assert.deepEqual((await records("read-once")).map((r) => r.item), ["SKU-0004"]);
});

test("the cap keeps the newest events", async () => {
  const now = Date.now();
  const events = Array.from({ length: 8 }, (_, i) => ({ type: "view", item: `SKU-00${10 + i}`, ts: now - (8 - i) * 1000 }));
  const stored = await onPage(async (Edgerec, { events }) => {
    const rec = await Edgerec.create({ bundle: "/models/fixture/", persist: { name: "cap", maxEvents: 5 } });
    rec.observeMany(events.slice(0, 3));
    rec.observeMany(events.slice(3));
    await rec.exportEvents();
    return rec.persistence.stored;
  }, { events });
  assert.equal(stored, 5);
  const newest = events.slice(3).map((e) => e.item);
  assert.deepEqual((await records("cap")).map((r) => r.item).sort(), newest);

  await reload();
  const loaded = await onPage(async (Edgerec) => {
    const rec = await Edgerec.create({ bundle: "/models/fixture/", persist: { name: "cap", maxEvents: 3 } });
    return rec.events.map((e) => e.item);
  });
  assert.deepEqual(loaded, newest.slice(-3), "a smaller cap applies at load");
  assert.equal((await records("cap")).length, 3);
});

test("forget deletes the stored events", async () => {
  const { events } = recentCase();
  const after = await onPage(async (Edgerec, { events }) => {
    const rec = await Edgerec.create({ bundle: "/models/fixture/", persist: { name: "forget" } });
    rec.observeMany(events);
    await rec.forget();
    return { events: rec.events, persistence: rec.persistence };
  }, { events });
  assert.deepEqual(after, { events: [], persistence: { consent: true, storage: "indexeddb", stored: 0 } });
  assert.deepEqual(await records("forget"), [], "the write queued before forget landed, then was deleted");
  await reload();
  assert.deepEqual(await onPage(async (Edgerec) => (await Edgerec.create({ bundle: "/models/fixture/", persist: { name: "forget" } })).events), []);
});

test("consent off: nothing is written, what was kept is deleted; on again: written from then on", async () => {
  const now = Date.now();
  const result = await onPage(async (Edgerec, { now }) => {
    const names = async () => (await indexedDB.databases()).map((d) => d.name);
    const off = await Edgerec.create({ bundle: "/models/fixture/", persist: { name: "consent", consent: false } });
    off.observe({ type: "view", item: "SKU-0001", ts: now - 3000 });
    await off.exportEvents();
    const neverMade = !(await names()).includes("consent");
    off.dispose();

    const rec = await Edgerec.create({ bundle: "/models/fixture/", persist: { name: "consent" } });
    rec.observe({ type: "view", item: "SKU-0002", ts: now - 2000 });
    await rec.exportEvents();
    const made = (await names()).includes("consent");
    await rec.setConsent(false);
    const wiped = !(await names()).includes("consent");
    const offState = rec.persistence;
    rec.observe({ type: "cart", item: "SKU-0003", ts: now - 1000 });
    await rec.exportEvents();
    const stillNone = !(await names()).includes("consent");
    const inMemory = rec.events.map((e) => e.item);
    await rec.setConsent(true);
    rec.observe({ type: "cart", item: "SKU-0004", ts: now });
    await rec.exportEvents();
    return { neverMade, made, wiped, offState, stillNone, inMemory, onState: rec.persistence };
  }, { now });
  assert.ok(result.neverMade, "consent off from the start creates no database");
  assert.ok(result.made);
  assert.ok(result.wiped, "setConsent(false) deletes the database");
  assert.deepEqual(result.offState, { consent: false, storage: "memory", stored: 0 });
  assert.ok(result.stillNone, "nothing is written while consent is off");
  assert.deepEqual(result.inMemory, ["SKU-0002", "SKU-0003"], "the engine keeps the session in memory");
  assert.deepEqual(result.onState, { consent: true, storage: "indexeddb", stored: 1 });
  assert.deepEqual((await records("consent")).map((r) => r.item), ["SKU-0004"]);

  // Consent withdrawn before a visit: create deletes what an earlier visit kept.
  await onPage(async (Edgerec) => (await Edgerec.create({ bundle: "/models/fixture/", persist: { name: "consent", consent: false } })).persistence);
  assert.equal(await records("consent"), null);
});

test("export gives every event, in memory and in storage (another tab's too), each once, oldest first", async () => {
  const now = Date.now();
  const exported = await onPage(async (Edgerec, { now }) => {
    const rec = await Edgerec.create({ bundle: "/models/fixture/", persist: { name: "export" } });
    const other = await Edgerec.create({ bundle: "/models/fixture/", persist: { name: "export" } }); // another tab
    try {
      rec.observe({ type: "view", item: "SKU-0001", ts: now - 3000, extra: "not an event field" });
    } catch (e) {
      if (e.code !== "INVALID_EVENT") throw e; // an unknown field refuses the event: nothing stored
    }
    rec.observe({ type: "view", item: "SKU-0001", ts: now - 3000 });
    rec.observe({ type: "cart", item: "SKU-0002", ts: now - 1000, price: 2.5 });
    other.observe({ type: "purchase", item: "SKU-0003", ts: now - 2000, price: 4 });
    await other.exportEvents();
    return JSON.parse(await rec.exportEvents());
  }, { now });
  assert.deepEqual(exported.events, [
    { type: "view", item: "SKU-0001", ts: now - 3000 },
    { type: "purchase", item: "SKU-0003", ts: now - 2000, price: 4 },
    { type: "cart", item: "SKU-0002", ts: now - 1000, price: 2.5 },
  ]);
  assert.ok(Math.abs(Date.parse(exported.exportedAt) - Date.now()) < 60_000);
  assert.deepEqual(Object.keys((await records("export"))[0]).sort(), ["item", "ts", "type"], "only an event's fields are stored");
});

test("corrupt records and records this bundle refuses are skipped, deleted and reported; the rest load", async () => {
  const now = Date.now();
  await onPage(async (Edgerec, { now }) => {
    const rec = await Edgerec.create({ bundle: "/models/fixture/", persist: { name: "corrupt" } });
    rec.observeMany([{ type: "view", item: "SKU-0001", ts: now - 2000 }, { type: "cart", item: "SKU-0002", ts: now - 1000 }]);
    await rec.exportEvents();
  }, { now });
  await putRaw("corrupt", ["not an event", { type: "view", ts: now }, { type: "view", item: "SKU-0003", ts: "yesterday" }, { type: "view", item: "NOT-IN-CATALOGUE", ts: now - 500 }]);
  const loaded = await onPage(async (Edgerec) => {
    const errors = [];
    const rec = await Edgerec.create({ bundle: "/models/fixture/", persist: { name: "corrupt", onError: (e) => errors.push(e) } });
    return { items: rec.events.map((e) => e.item), persistence: rec.persistence, errors, top: (await rec.recommend({ k: 3 })).length };
  });
  assert.deepEqual(loaded.items, ["SKU-0001", "SKU-0002"]);
  assert.equal(loaded.persistence.stored, 2);
  assert.equal(loaded.persistence.error.code, "RECORDS_SKIPPED");
  assert.match(loaded.persistence.error.message, /^4 stored records were skipped and deleted: 3 not an event, 1 refused by this bundle \(UNKNOWN_ITEM\); the other 2 were loaded$/);
  assert.deepEqual(loaded.errors, [loaded.persistence.error]);
  assert.equal(loaded.top, 3);
  assert.deepEqual((await records("corrupt")).map((r) => r.item), ["SKU-0001", "SKU-0002"]);
});

test("a blocked database: create carries on in memory after the timeout and says why", async () => {
  const result = await onPage(async (Edgerec) => {
    // Another script holds the database open and ignores the request to close it, while a
    // deletion waits for it: every later open waits behind that deletion.
    const holder = await new Promise((resolve, reject) => {
      const open = indexedDB.open("blocked");
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const deletion = indexedDB.deleteDatabase("blocked");
    const started = performance.now();
    const rec = await Edgerec.create({ bundle: "/models/fixture/", persist: { name: "blocked" } });
    const waited = performance.now() - started;
    rec.observe({ type: "view", item: "SKU-0001", ts: Date.now() });
    const top = await rec.recommend({ k: 3 });
    const persistence = rec.persistence;
    const events = rec.events.length;
    holder.close();
    await new Promise((resolve) => (deletion.onsuccess = resolve));
    await rec.forget(); // opens the database again to delete what it may hold
    return { waited, top: top.length, persistence, events, afterForget: rec.persistence };
  });
  assert.ok(result.waited >= 2_900 && result.waited < 10_000, `waited ${result.waited} ms`);
  assert.equal(result.persistence.error.code, "BLOCKED");
  assert.match(result.persistence.error.message, /did not open within 3 s.*memory only/);
  assert.equal(result.persistence.storage, "memory");
  assert.deepEqual([result.top, result.events], [3, 1]);
  assert.deepEqual({ ...result.afterForget, error: undefined }, { consent: true, storage: "indexeddb", stored: 0, error: undefined }, "forget tries the database again");
});

test("a database deleted mid-session: the engine keeps answering, and the next event is stored again", async () => {
  const now = Date.now();
  const result = await onPage(async (Edgerec, { now }) => {
    const rec = await Edgerec.create({ bundle: "/models/fixture/", persist: { name: "deleted" } });
    rec.observe({ type: "view", item: "SKU-0001", ts: now - 2000 });
    await rec.exportEvents();
    await new Promise((resolve, reject) => {
      const deletion = indexedDB.deleteDatabase("deleted");
      deletion.onsuccess = resolve;
      deletion.onerror = () => reject(deletion.error);
    });
    rec.observe({ type: "cart", item: "SKU-0002", ts: now - 1000 });
    const top = (await rec.recommend({ k: 3 })).length;
    await rec.exportEvents();
    return { top, events: rec.events.length, persistence: rec.persistence };
  }, { now });
  assert.deepEqual(result, { top: 3, events: 2, persistence: { consent: true, storage: "indexeddb", stored: 1 } });
  assert.deepEqual((await records("deleted")).map((r) => r.item), ["SKU-0002"]);
});

test("a full quota: the write fails, is reported, and the engine keeps the events in memory", async () => {
  // A fresh profile whose quota is set before it stores anything (Chromium keeps an origin's
  // quota once its storage is open): 1 byte, so the first write is refused.
  const fresh = await launch();
  try {
    const tab = await fresh.newPage();
    await tab.goto(`${server.url}/tests/browser/blank.html`);
    const cdp = await fresh.newCDPSession(tab);
    await cdp.send("Storage.overrideQuotaForOrigin", { origin: server.url, quotaSize: 1 });
    const result = await tab.evaluate(async () => {
      const { Edgerec } = await import("/dist/index.js");
      const errors = [];
      const rec = await Edgerec.create({ bundle: "/models/fixture/", cache: "none", persist: { name: "quota", onError: (e) => errors.push(e) } });
      rec.observeMany(Array.from({ length: 50 }, (_, i) => ({ type: "view", item: `SKU-00${10 + i}`, ts: Date.now() - 60_000 + i })));
      await rec.exportEvents();
      return { errors, persistence: rec.persistence, events: rec.events.length, top: (await rec.recommend({ k: 3 })).length };
    });
    assert.equal(result.persistence.error?.code, "QUOTA_EXCEEDED", JSON.stringify(result.persistence));
    assert.match(result.persistence.error.message, /^writing events failed: the browser's storage quota is used up \(QuotaExceededError: .*\); the events stay in memory$/);
    assert.deepEqual(result.errors, [result.persistence.error]);
    assert.deepEqual([result.events, result.top, result.persistence.stored], [50, 3, 0]);
  } finally {
    await fresh.close();
  }
});

test("in a module Web Worker: the events it stores are loaded by the page", async () => {
  const { events } = recentCase();
  const reply = await page.evaluate(({ events }) => new Promise((resolve) => {
    const source = `
      import { Edgerec } from "${location.origin}/dist/index.js";
      onmessage = async ({ data }) => {
        const rec = await Edgerec.create({ bundle: "${location.origin}/models/fixture/", persist: { name: "worker" } });
        rec.observeMany(data);
        await rec.exportEvents();
        postMessage(rec.persistence);
      };`;
    const worker = new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })), { type: "module" });
    worker.onmessage = ({ data }) => resolve(data);
    worker.onerror = (e) => resolve({ error: e.message });
    worker.postMessage(events);
  }), { events });
  assert.deepEqual(reply, { consent: true, storage: "indexeddb", stored: 8 });
  const loaded = await onPage(async (Edgerec) => (await Edgerec.create({ bundle: "/models/fixture/", persist: { name: "worker" } })).events);
  assert.deepEqual(loaded, events);
});
