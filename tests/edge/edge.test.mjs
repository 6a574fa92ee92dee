// The edge example (examples/cloudflare-worker/) in workerd, Node and Deno: a request with the
// shopper's events gets the top k with guarded quotes; bad requests get a 4xx with a clear
// message and the isolate keeps serving; every runtime answers the same.
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

function post(url, body, init = {}) {
  return fetch(`${url}/recommend`, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body), ...init });
}

for (const runtime of ["workerd", "node", "deno"]) {
  describe(`the edge example in ${runtime}`, () => {
    let server;
    before(async () => {
      server = await start(runtime);
    });
    after(async () => server?.stop());

    test("events in, top k with quotes out", async () => {
      const response = await post(server.url, { events, k: 10, sessionKey: "shopper-1" });
      assert.equal(response.status, 200);
      const body = await response.json();
      assert.equal(body.modelVersion, modelVersion);
      assert.equal(body.items.length, 10);
      for (const { item, quote } of body.items) {
        assert.equal(quote.item, item);
        assert.ok(quote.price <= quote.listPrice && quote.price >= 0.7 * 1.05 * quote.listPrice - 0.01, JSON.stringify(quote));
      }
      answers[runtime] = body.items.map((i) => [i.item, i.score, i.quote.price]);
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
        const response = await post(server.url, body);
        const answer = await response.json();
        assert.equal(response.status, status, JSON.stringify(answer));
        assert.equal(answer.error.code, code);
        assert.ok(answer.error.message.length > 5);
      }
      assert.equal((await fetch(`${server.url}/recommend`)).status, 405);
      assert.equal((await fetch(`${server.url}/elsewhere`, { method: "POST" })).status, 404);
      const again = await post(server.url, { events, k: 10, sessionKey: "shopper-1" });
      assert.equal(again.status, 200, "still serving");
      assert.deepEqual((await again.json()).items.map((i) => [i.item, i.score, i.quote.price]), answers[runtime]);
    });
  });
}

test("every runtime gives the same answer", () => {
  assert.deepEqual(answers.node, answers.workerd);
  assert.deepEqual(answers.deno, answers.workerd);
});
