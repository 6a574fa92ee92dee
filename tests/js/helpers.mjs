// Shared by the Node tests: the fixture bundle as bytes or over loopback HTTP.
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { readBundleDir } from "edgerec/node";

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
