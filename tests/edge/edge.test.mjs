// The edge example (examples/cloudflare-worker/) in workerd, Node and Deno: a shopper's session is
// kept in the engine under a server-issued, signed cookie; a request sends its new events and gets
// the top k with guarded quotes; bad requests get a 4xx with a clear message and the isolate keeps
// serving; no client-chosen key reaches a session; memory stays bounded under a flood of
// cookie-less sessions; every runtime answers the same.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";

import { start } from "../../scripts/edge-runtimes.mjs";

const bundle = new URL("../../models/grocery/", import.meta.url);
const ids = JSON.parse(await readFile(new URL("items.json", bundle), "utf8")).map((i) => i.id);
const { modelVersion } = JSON.parse(await readFile(new URL("manifest.json", bundle), "utf8"));
const now = Date.now();
const events = [3, 17, 250, 17].map((row, i) => ({ type: i % 2 ? "cart" : "view", item: ids[row], ts: now - 10_000 + i }));
const answers = {};

function post(url, body, { cookie, path = "/recommend" } = {}) {
  const headers = cookie ? { cookie } : {};
  return fetch(`${url}${path}`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
}

/** The `name=value` part of a response's Set-Cookie, or undefined. */
function cookieOf(response) {
  return response.headers.get("set-cookie")?.split(";")[0];
}

const priced = (body) => body.items.map((i) => [i.item, i.score, i.quote.price]);

async function rssMb(pid) {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

for (const runtime of ["workerd", "node", "deno"]) {
  describe(`the edge example in ${runtime}`, () => {
    let server;
    let shopper;
    before(async () => {
      server = await start(runtime);
    });
    after(async () => server?.stop());

    test("a first request gets a signed session cookie and the top k with quotes", async () => {
      const response = await post(server.url, { events, k: 10 });
      assert.equal(response.status, 200);
      shopper = cookieOf(response);
      assert.match(shopper, /^__Host-edgerec_session=[\w-]{22}\.[\w-]{43}$/);
      assert.match(response.headers.get("set-cookie"), /HttpOnly; Secure; SameSite=Lax/);
      const body = await response.json();
      assert.equal(body.modelVersion, modelVersion);
      assert.equal(body.items.length, 10);
      for (const { item, quote } of body.items) {
        assert.equal(quote.item, item);
        assert.ok(quote.price <= quote.listPrice && quote.price >= 0.7 * 1.05 * quote.listPrice - 0.01, JSON.stringify(quote));
      }
      answers[runtime] = priced(body);
    });

    test("the session is kept in the engine: a later request sends no events and gets the same answer", async () => {
      const response = await post(server.url, { k: 10 }, { cookie: shopper });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("set-cookie"), null, "a valid cookie is kept");
      assert.deepEqual(priced(await response.json()), answers[runtime]);
    });

    test("sessions never cross: another shopper, a forged cookie and a client-sent key each get their own", async () => {
      const other = await post(server.url, { k: 10 });
      assert.notEqual(cookieOf(other), shopper);
      const empty = priced(await other.json());
      assert.notDeepEqual(empty, answers[runtime], "a new shopper does not see the first one's events");
      const [name, value] = shopper.split("=");
      const forged = `${name}=${value.slice(0, 23)}${value[23] === "A" ? "B" : "A"}${value.slice(24)}`;
      const withForged = await post(server.url, { k: 10 }, { cookie: forged });
      assert.ok(cookieOf(withForged), "a cookie the server did not sign starts a fresh session");
      assert.deepEqual(priced(await withForged.json()), empty);
      const other2 = cookieOf(await post(server.url, { k: 10 }));
      const planted = await post(server.url, { k: 10 }, { cookie: `${other2}; ${shopper}` });
      assert.ok(cookieOf(planted), "two session cookies (one planted) are no session: a fresh one is issued");
      assert.deepEqual(priced(await planted.json()), empty);
      const keyed = await post(server.url, { k: 10, sessionKey: value.split(".")[0] });
      assert.equal(keyed.status, 400);
      assert.match((await keyed.json()).error.message, /sessionKey/);
    });

    test("bad requests get a 4xx with a clear message, and the isolate keeps serving", async () => {
      const cases = [
        ["{not json", 400, "MALFORMED_JSON"],
        [JSON.stringify([1, 2]), 400, "INVALID_ARGUMENT"],
        [{ events, k: 0 }, 400, "INVALID_ARGUMENT"],
        [{ events: Array.from({ length: 10_000 }, (_, i) => ({ type: "view", item: ids[i % ids.length], ts: now - i })) }, 413, "BODY_TOO_LARGE"],
        [{ events: Array.from({ length: 1001 }, (_, i) => ({ type: "view", item: ids[i % 50], ts: now - i })) }, 413, "TOO_MANY_EVENTS"],
        [{ events: [{ type: "view", item: "NO-SUCH-SKU", ts: now }] }, 422, "UNKNOWN_ITEM"],
        [{ events: [{ type: "teleport", item: ids[0], ts: now }] }, 400, "INVALID_EVENT"],
        [{ events: [{ type: "view", item: ids[0], ts: "yesterday" }] }, 400, "INVALID_EVENT"],
        [" ".repeat(1_000_000), 413, "BODY_TOO_LARGE"],
      ];
      for (const [body, status, code] of cases) {
        const response = await post(server.url, body, { cookie: shopper });
        const answer = await response.json();
        assert.equal(response.status, status, JSON.stringify(answer));
        assert.equal(answer.error.code, code);
        assert.ok(answer.error.message.length > 5);
      }
      assert.equal((await fetch(`${server.url}/recommend`)).status, 405);
      assert.equal((await fetch(`${server.url}/elsewhere`, { method: "POST" })).status, 404);
      const again = await post(server.url, { k: 10 }, { cookie: shopper });
      assert.equal(again.status, 200, "still serving");
      assert.deepEqual(priced(await again.json()), answers[runtime], "refused requests changed nothing");
    });

    test("POST /forget drops the shopper's session", async () => {
      const response = await post(server.url, "", { cookie: shopper, path: "/forget" });
      assert.equal(response.status, 204);
      const after = await post(server.url, { k: 10 }, { cookie: shopper });
      assert.notDeepEqual(priced(await after.json()), answers[runtime]);
    });
    test("10,000 cookie-less sessions of 200 events each: the store's cap holds and memory stays flat", async () => {
      const flood = JSON.stringify({ k: 1, events: Array.from({ length: 200 }, (_, i) => ({ type: "view", item: ids[(i * 7) % ids.length], ts: now - 100_000 + i })) });
      const send = async (count) => {
        for (let i = 0; i < count; i++) {
          const response = await post(server.url, flood);
          assert.equal(response.status, 200);
          await response.arrayBuffer();
        }
        return rssMb(server.pid);
      };
      const warm = await rssMb(server.pid);
      // 10,000 sessions of about 9 KB each would be 90 MB: the store keeps at most 32 MiB of them
      // (SESSION_LIMITS). The stated ceiling: the store's cap plus 64 MB for what the runtime's
      // own heaps take in parsing 20 MB of bodies (measured 55-85 MB in all, flat from there on;
      // in process, the wasm memory stays at 40 MB from the 6,000th session to the 30,000th).
      const full = await send(5000);
      const later = await send(5000);
      console.log(`${runtime}: RSS ${warm.toFixed(0)} MB before, ${full.toFixed(0)} MB after 5,000 flooding sessions, ${later.toFixed(0)} MB after 10,000`);
      assert.ok(later - warm < 32 + 64, `${runtime} grew ${(later - warm).toFixed(0)} MB through 10,000 flooding sessions (cap 32 MiB)`);
    });
  });
}

test("every runtime gives the same answer", () => {
  assert.deepEqual(answers.node, answers.workerd);
  assert.deepEqual(answers.deno, answers.workerd);
});
