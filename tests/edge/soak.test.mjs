// A short soak of the edge example (bench/soak-edge.mjs, fixed seed): 20,000 requests in workerd
// and in Node, returning shoppers among hostile requests of every kind, after the session store
// is filled to its cap. No 5xx, no status a kind should not get, no quote above its list price,
// and memory flat over the second half (the long run: `node bench/soak-edge.mjs`, docs/security.md).
import assert from "node:assert/strict";
import { test } from "node:test";

import { report, soak } from "../../bench/soak-edge.mjs";

/**
 * The second-half growth allowed in 20,000 requests: Node's heaps are at their working size by
 * then; workerd's still grow towards theirs (measured here: 8 and 18 MB over requests 10,000 to
 * 20,000 after the store is full), so it gets twice Node's 32 MB.
 */
const MAX_GROWTH_MB = { workerd: 64, node: 32 };

for (const runtime of ["workerd", "node"]) {
  test(`the edge example in ${runtime} through 20,000 mixed requests: no 5xx, memory flat`, async () => {
    const result = await soak({ runtime, requests: 20_000, seed: 7, maxGrowthMb: MAX_GROWTH_MB[runtime] });
    for (const line of report(result)) console.log(line);
    assert.deepEqual(result.failures, []);
    assert.equal(result.requests, 20_000);
    for (const kind of ["shopper", "noCookieFlood", "forgedCookie", "hugeBody", "tooManyEvents", "badHost"]) {
      assert.ok(Object.keys(result.counts[kind]).length > 0, `${kind} requests were sent`);
    }
  });
}
