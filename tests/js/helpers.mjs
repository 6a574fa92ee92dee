// Shared by the Node tests: the build under test, the fixture bundle as bytes or over loopback HTTP.
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { Edgerec } from "edgerec";
import { readBundleDir } from "edgerec/node";

/**
 * The build the API tests run on: `EDGEREC_TEST_BUILD=onnx` runs them on the ONNX build
 * (scripts/test.sh runs them on both), else the build a bundle gets by default.
 */
export const BUILD = process.env.EDGEREC_TEST_BUILD === "onnx" ? "onnx" : "auto";

/** The file the build under test reads the encoder from (the default build never fetches the ONNX). */
export const MODEL_FILE = BUILD === "onnx" ? "interest.onnx" : "encoder.safetensors";

/** `Edgerec.create` on the build under test. */
export function create(options) {
  return Edgerec.create({ build: BUILD, ...options });
}

/** The raw engine class of the build under test, from its glue's shared copy (instantiated here). */
export async function rawEngine() {
  const [glue, file] = BUILD === "onnx"
    ? [await import("../../pkg-onnx/edgerec-onnx.js"), "pkg-onnx/edgerec-onnx_bg.wasm"]
    : [await import("../../pkg/edgerec.js"), "pkg/edgerec_bg.wasm"];
  glue.initSync({ module: await readFile(new URL(`../../${file}`, import.meta.url)) });
  return glue.Engine;
}

export const FIXTURE = fileURLToPath(new URL("../../models/fixture/", import.meta.url));

export const expected = JSON.parse(await readFile(join(FIXTURE, "expected.json"), "utf8"));

/** A fresh copy of the fixture's files, safe to tamper with. */
export async function fixtureBytes() {
  return readBundleDir(FIXTURE);
}

/** Serves `files` (name -> bytes) on 127.0.0.1, counting requests per path. */
export async function serve(files) {
  const hits = {};
  const server = createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url, "http://x").pathname.replace(/^\/bundle\//, ""));
    hits[name] = (hits[name] ?? 0) + 1;
    const body = files[name];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": body.byteLength });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}/bundle/`;
  return { url, hits, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** Rewrites the manifest entry of `name` to match `bytes`, as a bundle re-made with that file would. */
export async function rehash(files, name, bytes) {
  const { createHash } = await import("node:crypto");
  const manifest = JSON.parse(new TextDecoder().decode(files["manifest.json"]));
  manifest.files[name] = { bytes: bytes.byteLength, sha256: createHash("sha256").update(bytes).digest("hex") };
  return { ...files, [name]: bytes, "manifest.json": new TextEncoder().encode(JSON.stringify(manifest)) };
}
