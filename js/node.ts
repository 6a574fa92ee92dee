/**
 * Node, Deno and Bun helpers (they read the file system): `import { readBundleDir } from "edgerec/node"`.
 * @module
 */
import { open } from "node:fs/promises";
import { join } from "node:path";

import { EdgerecError } from "./errors.js";
import { checkSize, listedFiles, parseManifest } from "./fetch-bundle.js";
import type { BundleBytes } from "./types.js";

/**
 * Reads a bundle folder: `manifest.json`, `manifest.sig` when present, and every file the manifest
 * lists. Each file's size is checked before it is read (the manifest and signature against their
 * bounds, `FILE_TOO_LARGE`; a listed file against the manifest's byte count, `SIZE_MISMATCH`), so
 * that an oversized file is never read into memory.
 */
export async function readBundleDir(dir: string): Promise<BundleBytes> {
  const manifest = await readChecked(dir, "manifest.json", (size) => checkSize("manifest.json", size));
  const bundle: BundleBytes = { "manifest.json": manifest };
  const signature = await readChecked(dir, "manifest.sig", (size) => checkSize("manifest.sig", size), true);
  // An unsigned bundle is fine unless the caller pins a key, which the engine then reports.
  if (signature) bundle["manifest.sig"] = signature;
  for (const [name, entry] of listedFiles(parseManifest(manifest))) {
    bundle[name] = await readChecked(dir, name, (size) => {
      if (size !== entry.bytes) {
        throw new EdgerecError("SIZE_MISMATCH", `bundle file "${name}" in ${dir} is ${size} bytes; the manifest says ${entry.bytes}`);
      }
    });
  }
  return bundle;
}

/**
 * The bytes of `dir`/`name`, once `check` has accepted its size (read no further than that size,
 * should the file grow meanwhile); `undefined` for a missing optional file.
 */
async function readChecked(dir: string, name: string, check: (size: number) => void): Promise<Uint8Array>;
async function readChecked(dir: string, name: string, check: (size: number) => void, optional: true): Promise<Uint8Array | undefined>;
async function readChecked(dir: string, name: string, check: (size: number) => void, optional = false): Promise<Uint8Array | undefined> {
  const unreadable = (e: unknown) => new EdgerecError("MISSING_FILE", `bundle file "${name}" could not be read from ${dir}: ${(e as Error).message}`);
  let handle;
  try {
    handle = await open(join(dir, name), "r");
  } catch (e) {
    if (optional) return undefined;
    throw unreadable(e);
  }
  try {
    const { size } = await handle.stat();
    check(size);
    const bytes = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      const { bytesRead } = await handle.read(bytes, at, size - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return bytes.subarray(0, at);
  } catch (e) {
    throw e instanceof EdgerecError ? e : unreadable(e);
  } finally {
    await handle.close();
  }
}
