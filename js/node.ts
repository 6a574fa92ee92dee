/**
 * Node, Deno and Bun helpers (they read the file system): `import { readBundleDir } from "edgerec/node"`.
 * @module
 */
import { join } from "node:path";

import { EdgerecError } from "./errors.js";
import { checkListedSize, checkManifestFileSize, listedFiles, parseManifest } from "./fetch-bundle.js";
import { readRegularFile } from "./read-file.js";
import type { BundleBytes } from "./types.js";

/**
 * Reads a bundle folder: `manifest.json`, `manifest.sig` when present, and every file the manifest
 * lists. Each must be a regular file, and its size is checked before it is read (the manifest and
 * signature against their bounds, `FILE_TOO_LARGE`; a listed file against the manifest's byte
 * count, `SIZE_MISMATCH`), so that no oversized file is read into memory.
 */
export async function readBundleDir(dir: string): Promise<BundleBytes> {
  const manifest = await bundleFile(dir, "manifest.json", (size) => checkManifestFileSize("manifest.json", size));
  const bundle: BundleBytes = { "manifest.json": manifest };
  const signature = await bundleFile(dir, "manifest.sig", (size) => checkManifestFileSize("manifest.sig", size), true);
  // An unsigned bundle is fine unless the caller pins a key, which the engine then reports.
  if (signature) bundle["manifest.sig"] = signature;
  const parsed = parseManifest(manifest);
  for (const [name] of listedFiles(parsed)) {
    bundle[name] = await bundleFile(dir, name, (size) => checkListedSize(parsed, name, size));
  }
  return bundle;
}

/** `dir`/`name` by `readRegularFile`, its failures as `MISSING_FILE`; `undefined` for a missing optional file. */
async function bundleFile(dir: string, name: string, check: (size: number) => void): Promise<Uint8Array>;
async function bundleFile(dir: string, name: string, check: (size: number) => void, optional: true): Promise<Uint8Array | undefined>;
async function bundleFile(dir: string, name: string, check: (size: number) => void, optional = false): Promise<Uint8Array | undefined> {
  try {
    return await readRegularFile(join(dir, name), check);
  } catch (e) {
    if (e instanceof EdgerecError) throw e;
    if (optional && (e as { code?: string }).code === "ENOENT") return undefined;
    throw new EdgerecError("MISSING_FILE", `bundle file "${name}" could not be read from ${dir}: ${(e as Error).message}`);
  }
}
