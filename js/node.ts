/**
 * Node, Deno and Bun helpers (they read the file system): `import { readBundleDir } from "edgerec/node"`.
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import { EdgerecError } from "./errors.js";
import { listedFiles, parseManifest } from "./fetch-bundle.js";
import type { BundleBytes } from "./types.js";

/** Reads a bundle folder: `manifest.json`, `manifest.sig` when present, and every file the manifest lists. */
export async function readBundleDir(dir: string): Promise<BundleBytes> {
  const read = async (name: string): Promise<Uint8Array> => {
    try {
      return new Uint8Array(await readFile(join(dir, name)));
    } catch (e) {
      throw new EdgerecError("MISSING_FILE", `bundle file "${name}" could not be read from ${dir}: ${(e as Error).message}`);
    }
  };
  const manifest = await read("manifest.json");
  const bundle: BundleBytes = { "manifest.json": manifest };
  try {
    bundle["manifest.sig"] = new Uint8Array(await readFile(join(dir, "manifest.sig")));
  } catch {
    // An unsigned bundle: fine unless the caller pins a key, which the engine then reports.
  }
  for (const [name] of listedFiles(parseManifest(manifest))) bundle[name] = await read(name);
  return bundle;
}
