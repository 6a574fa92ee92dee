// Pinned keys: validated by type, several during a rotation, every bundle signed, no rollback to an
// older release, no expired bundle.
import assert from "node:assert/strict";
import { test } from "node:test";

import { EdgerecError } from "edgerec";
import { create, expected, fixtureBytes, rawEngine, serve } from "./helpers.mjs";
import { fixtureKey, freshKey, signedWith } from "./signing.mjs";

const code = (c) => (e) => {
  assert.ok(e instanceof EdgerecError, `an EdgerecError, got ${e}`);
  assert.equal(e.code, c, e.message);
  return true;
};

/** Creates an engine from `files`, then disposes it; returns its manifest's release. */
async function load(files, options = {}) {
  const rec = await create({ bundle: files, ...options });
  const release = rec.manifest.release;
  rec.dispose();
  return release;
}

test("publicKey of the wrong type or form is INVALID_ARGUMENT naming it, before anything is fetched", async () => {
  const server = await serve(await fixtureBytes());
  try {
    const bad = [null, 42, true, {}, { key: expected.publicKey }, [], [42], [expected.publicKey, null], "not hex", expected.publicKey.slice(2), `${expected.publicKey}00`];
    for (const publicKey of bad) {
      await assert.rejects(create({ bundle: server.url, publicKey }), (e) => code("INVALID_ARGUMENT")(e) && /publicKey/.test(e.message), String(publicKey));
      await assert.rejects(create({ bundle: await fixtureBytes(), publicKey }), code("INVALID_ARGUMENT"), String(publicKey));
    }
    assert.deepEqual(server.hits, {}, "nothing was fetched");
  } finally {
    await server.close();
  }
});

test("the wasm engine itself refuses a key of the wrong type, or too many keys, with INVALID_ARGUMENT", async () => {
  const Engine = await rawEngine();
  const { "manifest.json": manifest, "manifest.sig": sig, ...files } = await fixtureBytes();
  const tooMany = Array.from({ length: 17 }, () => expected.publicKey);
  for (const publicKey of [null, 42, true, {}, [], [7], tooMany, "not hex"]) {
    assert.throws(() => new Engine(manifest, sig, files, publicKey), (e) => e.code === "INVALID_ARGUMENT" && /publicKey/.test(e.message), String(publicKey));
  }
  new Engine(manifest, sig, files, tooMany.slice(0, 16)).free();
  new Engine(manifest, sig, files, expected.publicKey).free();
});

test("publicKey: null never skips verification", async () => {
  const unsigned = signedWith(await fixtureBytes(), null);
  await assert.rejects(create({ bundle: unsigned, publicKey: null }), code("INVALID_ARGUMENT"));
});

test("a pinned key requires every bundle to be signed, over HTTP too", async () => {
  const unsigned = signedWith(await fixtureBytes(), null);
  await assert.rejects(create({ bundle: unsigned, publicKey: expected.publicKey }), (e) => code("BAD_SIGNATURE")(e) && /manifest\.sig/.test(e.message));
  const server = await serve(unsigned);
  try {
    await assert.rejects(create({ bundle: server.url, publicKey: expected.publicKey }), code("BAD_SIGNATURE"));
    assert.equal(server.hits["manifest.sig"], 1);
  } finally {
    await server.close();
  }
});

test("key rotation: any of several pinned keys may sign, no other", async () => {
  const [old, next] = [freshKey(), freshKey()];
  const files = await fixtureBytes();
  const byOld = signedWith(files, old, (m) => (m.release = 1));
  const byNext = signedWith(files, next, (m) => (m.release = 2));
  assert.equal(await load(byOld, { publicKey: [next.publicHex, old.publicHex] }), 1);
  assert.equal(await load(byNext, { publicKey: [old.publicHex, next.publicHex.toUpperCase()] }), 2);
  await assert.rejects(create({ bundle: byNext, publicKey: [old.publicHex] }), code("BAD_SIGNATURE"));
  await assert.rejects(create({ bundle: byNext, publicKey: old.publicHex }), code("BAD_SIGNATURE"));
  await assert.rejects(create({ bundle: byNext, publicKey: [expected.publicKey, old.publicHex] }), code("BAD_SIGNATURE"));
});

test("a release older than one accepted for the key is BUNDLE_DOWNGRADE; the same or a newer one loads", async () => {
  const key = freshKey();
  const files = await fixtureBytes();
  const release = (n) => signedWith(files, key, (m) => (m.release = n));
  const pinned = { publicKey: key.publicHex };
  assert.equal(await load(release(5), pinned), 5);
  await assert.rejects(create({ bundle: release(3), ...pinned }), (e) => code("BUNDLE_DOWNGRADE")(e) && /release 3.*release 5/.test(e.message));
  const withoutRelease = signedWith(files, key, (m) => delete m.release);
  await assert.rejects(create({ bundle: withoutRelease, ...pinned }), code("BUNDLE_DOWNGRADE"), "no release reads as 0");
  assert.equal(await load(release(5), pinned), 5, "the same release again");
  assert.equal(await load(release(6), pinned), 6);
  await assert.rejects(create({ bundle: release(5), ...pinned }), code("BUNDLE_DOWNGRADE"));

  // Rotating in a second key: the series goes on, whichever key signs.
  const next = freshKey();
  const byNext = (n) => signedWith(files, next, (m) => (m.release = n));
  await assert.rejects(create({ bundle: byNext(4), publicKey: [key.publicHex, next.publicHex] }), code("BUNDLE_DOWNGRADE"));
  assert.equal(await load(byNext(7), { publicKey: [key.publicHex, next.publicHex] }), 7);
  await assert.rejects(create({ bundle: byNext(6), publicKey: next.publicHex }), code("BUNDLE_DOWNGRADE"));

  // Without a pinned key a release number proves nothing, and nothing is refused or remembered.
  assert.equal(await load(signedWith(files, null, (m) => (m.release = 1))), 1);
});

test("over HTTP, a CDN serving an older signed manifest back is refused: BUNDLE_DOWNGRADE", async () => {
  const key = freshKey();
  const files = await fixtureBytes();
  const [newer, older] = await Promise.all([serve(signedWith(files, key, (m) => (m.release = 9))), serve(signedWith(files, key, (m) => (m.release = 8)))]);
  try {
    (await create({ bundle: newer.url, publicKey: key.publicHex })).dispose();
    await assert.rejects(create({ bundle: older.url, publicKey: key.publicHex }), code("BUNDLE_DOWNGRADE"));
    assert.equal(older.hits["manifest.sig"], 1, "the older manifest was verified first");
  } finally {
    await Promise.all([newer.close(), older.close()]);
  }
});

test("a refused downgrade changes nothing: engines already made keep working", async () => {
  const key = freshKey();
  const files = await fixtureBytes();
  const rec = await create({ bundle: signedWith(files, key, (m) => (m.release = 2)), publicKey: key.publicHex });
  await assert.rejects(create({ bundle: signedWith(files, key, (m) => (m.release = 1)), publicKey: key.publicHex }), code("BUNDLE_DOWNGRADE"));
  assert.equal((await rec.recommend({ k: 3, events: expected.cases[2].events })).length, 3);
  rec.dispose();
});

test("with the Cache API, the highest release is kept there and outlives the JS module's memory", async () => {
  const entries = new Map();
  const cache = {
    async match(key) {
      return entries.has(String(key)) ? new Response(entries.get(String(key))) : undefined;
    },
    async put(key, response) {
      entries.set(String(key), await response.text());
    },
    async delete(key) {
      return entries.delete(String(key));
    },
  };
  globalThis.caches = { open: async () => cache };
  try {
    const key = freshKey();
    const files = await fixtureBytes();
    const release = (n) => signedWith(files, key, (m) => (m.release = n));
    assert.equal(await load(release(3), { publicKey: key.publicHex }), 3);
    assert.deepEqual([...entries.values()], ["3"]);

    // A release accepted on an earlier visit (this module never saw it) is in the cache only.
    const earlier = freshKey();
    const entry = [...entries.keys()][0].replace(key.publicHex, earlier.publicHex);
    entries.set(entry, "9");
    const old = signedWith(files, earlier, (m) => (m.release = 8));
    await assert.rejects(create({ bundle: old, publicKey: earlier.publicHex }), code("BUNDLE_DOWNGRADE"));
    assert.equal(await load(old, { publicKey: earlier.publicHex, cache: "memory" }), 8, 'cache: "memory" keeps releases in memory only');
  } finally {
    delete globalThis.caches;
  }
});

test("an expired manifest is BUNDLE_EXPIRED, signed or not; an unexpired one loads", async () => {
  const files = await fixtureBytes();
  const key = freshKey();
  const expired = signedWith(files, key, (m) => (m.expires = "2020-01-01T00:00:00Z"));
  await assert.rejects(create({ bundle: expired, publicKey: key.publicHex }), code("BUNDLE_EXPIRED"));
  await assert.rejects(create({ bundle: signedWith(files, null, (m) => (m.expires = "2020-01-01T00:00:00Z")) }), code("BUNDLE_EXPIRED"));
  const current = signedWith(files, key, (m) => (m.expires = "2999-01-01T00:00:00Z"));
  const rec = await create({ bundle: current, publicKey: key.publicHex });
  assert.equal(rec.manifest.expires, "2999-01-01T00:00:00Z");
  rec.dispose();
  await assert.rejects(create({ bundle: signedWith(files, null, (m) => (m.expires = "next year")) }), code("INVALID_MANIFEST"));
});

test("the fixture's key is the one its expected outputs name", () => {
  assert.equal(fixtureKey().publicHex, expected.publicKey);
});
