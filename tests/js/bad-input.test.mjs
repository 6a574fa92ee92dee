// Every bad input gets an EdgerecError with its code, and the engine keeps working after it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { appendFile, mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

import { EdgerecError } from "edgerec";
import { readBundleDir } from "edgerec/node";
import { BUILD, create, expected, FIXTURE, fixtureBytes, MODEL_FILE, rehash, serve } from "./helpers.mjs";

const now = Date.now();
const view = (item, ts = now) => ({ type: "view", item, ts });
let rec;

before(async () => {
  rec = await create({ bundle: await fixtureBytes() });
  rec.observe(view("SKU-0001", now - 1000));
});

const code = (c) => (e) => {
  assert.ok(e instanceof EdgerecError, `an EdgerecError, got ${e}`);
  assert.equal(e.code, c, e.message);
  return true;
};

/** The session holds its one event and recommendations still come. */
async function assertWorking() {
  assert.deepEqual(rec.events.map((e) => e.item), ["SKU-0001"]);
  assert.equal((await rec.recommend({ k: 5 })).length, 5);
}

const badEvents = {
  "an event with no item": [{ type: "view", ts: now }],
  "an unknown event type": [{ type: "wishlist", item: "SKU-0002", ts: now }],
  "a NaN timestamp": [view("SKU-0002", NaN)],
  "a future timestamp": [view("SKU-0002", now + 3_600_000)],
  "a negative price": [{ ...view("SKU-0002"), price: -3 }],
  "an item id that is not a string": [{ type: "view", item: 42, ts: now }],
  "an event that is not an object": ["view SKU-0002"],
  "a bad event after a good one": [view("SKU-0002"), { type: "view", item: "SKU-0003" }],
};

for (const [name, events] of Object.entries(badEvents)) {
  test(`${name}: INVALID_EVENT, nothing changes`, async () => {
    assert.throws(() => rec.observeMany(events), code("INVALID_EVENT"));
    await assert.rejects(rec.recommend({ events }), code("INVALID_EVENT"));
    await assertWorking();
  });
}

test("an unknown item id rejects the whole batch: UNKNOWN_ITEM", async () => {
  assert.throws(() => rec.observeMany([view("SKU-0002"), view("SKU-9999")]), code("UNKNOWN_ITEM"));
  await assert.rejects(rec.recommend({ candidates: ["SKU-9999"] }), code("UNKNOWN_ITEM"));
  await assertWorking();
});

test("10,000 events at once: TOO_MANY_EVENTS", async () => {
  const events = Array.from({ length: 10_000 }, (_, i) => view("SKU-0004", now - i));
  assert.throws(() => rec.observeMany(events), code("TOO_MANY_EVENTS"));
  await assert.rejects(rec.recommend({ events }), code("TOO_MANY_EVENTS"));
  await assertWorking();
});

test("k = 0, k larger than the catalogue, k not an integer: INVALID_ARGUMENT", async () => {
  for (const k of [0, 61, -1, 2.5, "ten", NaN]) {
    await assert.rejects(rec.recommend({ k }), code("INVALID_ARGUMENT"), `k = ${k}`);
  }
  assert.equal((await rec.recommend({ k: 60 })).length, 60);
  await assertWorking();
});

test("events that are not an array: INVALID_ARGUMENT", async () => {
  assert.throws(() => rec.observeMany({ type: "view" }), code("INVALID_ARGUMENT"));
  await assert.rejects(rec.recommend({ events: "all" }), code("INVALID_ARGUMENT"));
  await assertWorking();
});

const badBundles = {
  "a truncated model file": ["SIZE_MISMATCH", (f) => ({ ...f, [MODEL_FILE]: f[MODEL_FILE].slice(0, 1000) })],
  "a truncated model file, re-listed in the manifest": ["INVALID_MODEL", (f) => rehash(f, MODEL_FILE, f[MODEL_FILE].slice(0, 1000))],
  "a sha256 mismatch": ["CHECKSUM_MISMATCH", (f) => {
    const table = f["items.safetensors"].slice();
    table[table.length - 1] ^= 1;
    return { ...f, "items.safetensors": table };
  }],
  "a manifest of an unknown format version": ["UNSUPPORTED_FORMAT_VERSION", (f) => {
    const m = JSON.parse(new TextDecoder().decode(f["manifest.json"]));
    return { ...f, "manifest.json": new TextEncoder().encode(JSON.stringify({ ...m, formatVersion: 3 })) };
  }],
  "a missing file": ["MISSING_FILE", ({ "items.json": _, ...f }) => f],
};

for (const [name, [expectedCode, tamper]] of Object.entries(badBundles)) {
  test(`${name}: ${expectedCode}`, async () => {
    const files = await tamper(await fixtureBytes());
    await assert.rejects(create({ bundle: files }), code(expectedCode));
    await assertWorking();
    (await create({ bundle: await fixtureBytes() })).dispose();
  });
}

test("a bad signature with a pinned key: BAD_SIGNATURE", async () => {
  const files = await fixtureBytes();
  const sig = files["manifest.sig"].slice();
  sig[3] ^= 0x10;
  await assert.rejects(create({ bundle: { ...files, "manifest.sig": sig }, publicKey: expected.publicKey }), code("BAD_SIGNATURE"));
  const { "manifest.sig": _, ...unsigned } = files;
  await assert.rejects(create({ bundle: unsigned, publicKey: expected.publicKey }), code("BAD_SIGNATURE"));
  await assert.rejects(create({ bundle: files, publicKey: "not hex" }), code("INVALID_ARGUMENT"));
  await assertWorking();
});

test("over HTTP, a wrong-sized or tampered download is dropped before the core sees it", async () => {
  const files = await fixtureBytes();
  const longer = new Uint8Array(files[MODEL_FILE].byteLength + 10);
  longer.set(files[MODEL_FILE]);
  const tampered = files["items.json"].slice();
  tampered[5] ^= 1;
  for (const [bad, expectedCode] of [[{ [MODEL_FILE]: longer }, "SIZE_MISMATCH"], [{ "items.json": tampered }, "CHECKSUM_MISMATCH"]]) {
    const server = await serve({ ...files, ...bad });
    try {
      await assert.rejects(create({ bundle: server.url, cache: "none" }), code(expectedCode));
    } finally {
      await server.close();
    }
  }
  const server = await serve({});
  try {
    await assert.rejects(create({ bundle: server.url }), code("FETCH_FAILED"));
  } finally {
    await server.close();
  }
});

test("bad create options: INVALID_ARGUMENT", async () => {
  await assert.rejects(create({ bundle: await fixtureBytes(), device: "tpu" }), code("INVALID_ARGUMENT"));
  await assert.rejects(create({}), code("INVALID_ARGUMENT"));
});

/** An array of `length` (holes) whose elements count their reads in `reads.count`. */
function countingArray(length, reads) {
  return new Proxy(new Array(length), {
    get(target, key, receiver) {
      if (typeof key === "string" && /^\d+$/.test(key)) reads.count += 1;
      return Reflect.get(target, key, receiver);
    },
  });
}

test("a million events: TOO_MANY_EVENTS before any of them is read", async () => {
  const reads = { count: 0 };
  assert.throws(() => rec.observeMany(countingArray(1_000_000, reads)), code("TOO_MANY_EVENTS"));
  assert.equal(reads.count, 0);
  // The length is read once: one that grows after the check is not read again.
  const lengths = [1];
  const growing = new Proxy(new Array(200_000), {
    get(target, key, receiver) {
      if (key === "length") return lengths.shift() ?? 200_000;
      if (typeof key === "string" && /^\d+$/.test(key)) reads.count += 1;
      return Reflect.get(target, key, receiver);
    },
  });
  assert.throws(() => rec.observeMany(growing), code("INVALID_EVENT"));
  assert.equal(reads.count, 1);
  await assertWorking();
});

test("an argument over 4 MiB of JSON: INVALID_ARGUMENT, an oversized array before it is read", async () => {
  const tooLarge = (e) => code("INVALID_ARGUMENT")(e) && /larger than one argument may be, 4194304 characters of JSON or 262144 values/.test(e.message);
  const reads = { count: 0 };
  await assert.rejects(rec.recommend({ exclude: countingArray(5_000_000, reads) }), tooLarge);
  await assert.rejects(rec.explain(countingArray(5_000_000, reads)), tooLarge);
  await assert.rejects(rec.quote(countingArray(5_000_000, reads)), tooLarge);
  assert.equal(reads.count, 0);
  // Few elements, long strings: refused at the string that passes the bound.
  const long = Array.from({ length: 20 }, (_, i) => `${i}`.padEnd(300_000, "x"));
  await assert.rejects(rec.recommend({ exclude: long }), tooLarge);
  assert.throws(() => rec.observeMany([{ type: "view", item: long[0].repeat(15), ts: now }]), tooLarge);
  // Counted as JSON.stringify writes it: exactly the bound is copied (and the core finds no such
  // item), one character more is refused.
  const exact = "x".repeat((1 << 22) - 4);
  assert.equal(JSON.stringify([exact]).length, 1 << 22);
  await assert.rejects(rec.explain([exact]), code("UNKNOWN_ITEM"));
  await assert.rejects(rec.explain([`${exact}x`]), tooLarge);
  // Escapes count as JSON writes them: a control character 6, a lone surrogate 6.
  await assert.rejects(rec.explain(["\u0001".repeat(1_000_000)]), tooLarge);
  await assert.rejects(rec.explain(["\udc00".repeat(1_000_000)]), tooLarge);
  // Many short values: refused by their count before any is read, naming the argument; numbers by their digits.
  await assert.rejects(rec.recommend({ candidates: countingArray(300_000, reads) }), (e) => tooLarge(e) && /`options`.*\(reached at `options\.candidates`\)/.test(e.message));
  assert.equal(reads.count, 0);
  await assert.rejects(rec.recommend({ candidates: new Array(200_000).fill(-1.2345678901234567e-300) }), tooLarge);
  // 100,000 ids (about 2.8 million characters) are within it.
  const exclude = Array.from({ length: 100_000 }, (_, i) => `not-in-the-catalogue-${i}`);
  assert.equal((await rec.recommend({ k: 5, exclude })).length, 5);
  await assertWorking();
});

test("an array whose length is not an array length: INVALID_ARGUMENT, and the engine keeps working", async () => {
  for (const length of [Symbol("length"), 5n, { valueOf: () => { throw new Error("boom"); } }, NaN, -1, 2.5]) {
    const lying = new Proxy([], { get: (target, key, receiver) => (key === "length" ? length : Reflect.get(target, key, receiver)) });
    assert.throws(() => rec.observeMany(lying), code("INVALID_ARGUMENT"), String(length?.toString?.()));
    await assert.rejects(rec.recommend({ candidates: lying }), code("INVALID_ARGUMENT"));
    await assert.rejects(rec.explain(lying), code("INVALID_ARGUMENT"));
  }
  await assertWorking();
});

test("an error repeats a long unknown field or value only in part, naming the argument", async () => {
  const long = "k".repeat(1_000_000);
  await assert.rejects(rec.recommend({ [long]: 0 }), (e) => code("INVALID_ARGUMENT")(e) && e.message.length <= 480 && /`options`.*unknown field `kkk.*…/.test(e.message));
  assert.throws(() => rec.observe({ type: long, item: "SKU-0002", ts: now }), (e) => code("INVALID_EVENT")(e) && e.message.length <= 480);
  await assert.rejects(rec.recommend({ k: 0.5 }), (e) => code("INVALID_ARGUMENT")(e) && /`options`/.test(e.message));
  await assertWorking();
});

test("an unknown id is repeated in the error only in part", async () => {
  const long = "x".repeat(100_000);
  for (const call of [() => rec.recommend({ candidates: [long] }), () => rec.explain([long])]) {
    await assert.rejects(call(), (e) => code("UNKNOWN_ITEM")(e) && e.message.length < 300 && e.message.includes(`${"x".repeat(64)}…`));
  }
  await assertWorking();
});

/** The fixture's files with `manifest.json` grown past 1 MiB by trailing spaces (still valid JSON). */
async function oversizedManifest() {
  const files = await fixtureBytes();
  const manifest = new Uint8Array((1 << 20) + 1).fill(0x20);
  manifest.set(files["manifest.json"]);
  return { ...files, "manifest.json": manifest };
}

test("given as bytes: a manifest over 1 MiB or a signature over 1 KiB, FILE_TOO_LARGE; a file of the wrong size, SIZE_MISMATCH", async () => {
  await assert.rejects(create({ bundle: await oversizedManifest() }), code("FILE_TOO_LARGE"));
  const files = await fixtureBytes();
  await assert.rejects(create({ bundle: { ...files, "manifest.sig": new Uint8Array(1025) } }), code("FILE_TOO_LARGE"));
  const huge = new Uint8Array(64 << 20);
  await assert.rejects(create({ bundle: { ...files, "items.json": huge } }), (e) => code("SIZE_MISMATCH")(e) && /"items\.json" is 67108864 bytes/.test(e.message));
  const detached = files["manifest.json"].slice();
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  await assert.rejects(create({ bundle: { ...files, "manifest.json": detached } }), code("INVALID_ARGUMENT"));
  await assert.rejects(create({ bundle: { ...files, "manifest.json": "{}" } }), (e) => code("INVALID_ARGUMENT")(e) && /`bundle\["manifest\.json"\]`: expected a Uint8Array/.test(e.message));
  await assertWorking();
});

test("readBundleDir checks each file's size before reading it", { timeout: 30_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "edgerec-bundle-dir-"));
  try {
    const write = async (files) => {
      for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, name), bytes);
    };
    await write(await oversizedManifest());
    await assert.rejects(readBundleDir(dir), code("FILE_TOO_LARGE"));
    const files = await fixtureBytes();
    await write(files);
    await writeFile(join(dir, "manifest.sig"), new Uint8Array(1025));
    await assert.rejects(readBundleDir(dir), code("FILE_TOO_LARGE"));
    await write(files);
    await appendFile(join(dir, "items.json"), " ");
    await assert.rejects(readBundleDir(dir), (e) => code("SIZE_MISMATCH")(e) && /"items\.json"/.test(e.message));
    // A FIFO in a file's place is refused, never waited on (a reader would block until a writer came).
    for (const name of ["manifest.json", "manifest.sig", "items.json"]) {
      await write(files);
      await rm(join(dir, name));
      await promisify(execFile)("mkfifo", [join(dir, name)]);
      await assert.rejects(readBundleDir(dir), (e) => code("MISSING_FILE")(e) && /not a regular file/.test(e.message), name);
      await rm(join(dir, name));
    }
    await write(files);
    assert.deepEqual(await readBundleDir(dir), files);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("wasm sources in Node: a file: URL is read from disk if a regular file; a path is refused saying how to resolve it", async () => {
  // A fresh process: a process compiles each build once, and later sources are not read.
  const option = BUILD === "onnx" ? "onnxWasm" : "wasm";
  const dir = await mkdtemp(join(tmpdir(), "edgerec-wasm-"));
  try {
    const fifo = join(dir, "edgerec.wasm");
    await promisify(execFile)("mkfifo", [fifo]);
    const huge = join(dir, "huge.wasm"); // sparse: no disk taken
    await writeFile(huge, "");
    await truncate(huge, (64 << 20) + 1);
    const wasm = new URL(`../../${BUILD === "onnx" ? "pkg-onnx/edgerec-onnx_bg.wasm" : "pkg/edgerec_bg.wasm"}`, import.meta.url);
    const sources = ["./edgerec-1234.wasm", "C:\\shop\\edgerec.wasm", pathToFileURL(fifo).href, pathToFileURL(huge).href, wasm.href];
    const program = `
      import { Edgerec } from "edgerec";
      import { readBundleDir } from "edgerec/node";
      const bundle = await readBundleDir(${JSON.stringify(FIXTURE)});
      for (const source of ${JSON.stringify(sources)}) {
        try {
          const rec = await Edgerec.create({ bundle, build: ${JSON.stringify(BUILD)}, ${option}: source });
          console.log(JSON.stringify({ created: rec.modelVersion }));
          rec.dispose();
        } catch (e) {
          console.log(JSON.stringify({ code: e.code, message: e.message }));
        }
      }`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", program], { timeout: 60_000 });
    const [relative, windows, fromFifo, tooLarge, fromDisk] = stdout.trim().split("\n").map((line) => JSON.parse(line));
    for (const [result, source] of [[relative, "\\./edgerec-1234\\.wasm"], [windows, "C:\\\\\\\\shop\\\\\\\\edgerec\\.wasm"]]) {
      assert.equal(result.code, "WASM_LOAD_FAILED");
      assert.match(result.message, new RegExp(`\`${option}\` "${source}" is not a URL.*new URL\\(${option}, import\\.meta\\.url\\)`));
    }
    assert.equal(fromFifo.code, "WASM_LOAD_FAILED");
    assert.match(fromFifo.message, /not a regular file/);
    assert.equal(tooLarge.code, "WASM_LOAD_FAILED");
    assert.match(tooLarge.message, /huge\.wasm is 67108865 bytes: no wasm of edgerec's is larger than 67108864/);
    assert.equal(fromDisk.created, "fixture-1");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
