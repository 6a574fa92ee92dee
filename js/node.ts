/**
 * Node, Deno and Bun helpers (they read the file system): `import { readBundleDir } from "edgerec/node"`.
 * @module
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";

import { EdgerecError } from "./errors.js";
import { checkListedSize, checkSize, listedFiles, parseManifest } from "./fetch-bundle.js";
import type { BundleBytes } from "./types.js";

/**
 * Reads a bundle folder: `manifest.json`, `manifest.sig` when present, and every file the manifest
 * lists. Each must be a regular file, and its size is checked before it is read (the manifest and
 * signature against their bounds, `FILE_TOO_LARGE`; a listed file against the manifest's byte
 * count, `SIZE_MISMATCH`), so that no oversized file is read into memory.
 */
export async function readBundleDir(dir: string): Promise<BundleBytes> {
  const manifest = await readChecked(dir, "manifest.json", (size) => checkSize("manifest.json", size));
  const bundle: BundleBytes = { "manifest.json": manifest };
  const signature = await readChecked(dir, "manifest.sig", (size) => checkSize("manifest.sig", size), true);
  // An unsigned bundle is fine unless the caller pins a key, which the engine then reports.
  if (signature) bundle["manifest.sig"] = signature;
  const parsed = parseManifest(manifest);
  for (const [name] of listedFiles(parsed)) {
    bundle[name] = await readChecked(dir, name, (size) => checkListedSize(parsed, name, size));
  }
  return bundle;
}

/**
 * The bytes of `dir`/`name`, once `check` has accepted its size (read no further than that size,
 * should the file grow meanwhile); `undefined` for a missing optional file. Opened without
 * blocking, so that a FIFO in its place is refused instead of waiting for a writer.
 */
async function readChecked(dir: string, name: string, check: (size: number) => void): Promise<Uint8Array>;
async function readChecked(dir: string, name: string, check: (size: number) => void, optional: true): Promise<Uint8Array | undefined>;
async function readChecked(dir: string, name: string, check: (size: number) => void, optional = false): Promise<Uint8Array | undefined> {
  const unreadable = (reason: string) => new EdgerecError("MISSING_FILE", `bundle file "${name}" could not be read from ${dir}: ${reason}`);
  let handle;
  try {
    handle = await open(join(dir, name), constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    if (optional && (e as { code?: string }).code === "ENOENT") return undefined;
    throw unreadable((e as Error).message);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw unreadable("not a regular file");
    check(stats.size);
    const bytes = new Uint8Array(stats.size);
    let at = 0;
    while (at < bytes.length) {
      const { bytesRead } = await handle.read(bytes, at, bytes.length - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return bytes.subarray(0, at);
  } catch (e) {
    throw e instanceof EdgerecError ? e : unreadable((e as Error).message);
  } finally {
    await handle.close();
  }
}
