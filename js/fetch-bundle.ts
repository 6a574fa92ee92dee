import { fileStore, type FileStore } from "./cache.js";
import { download, type DownloadLimits } from "./download.js";
import { EdgerecError } from "./errors.js";
import type { BundleBytes, CacheMode, FileEntry, Manifest, Progress } from "./types.js";

/**
 * What a download hands to the core, which checks it before using any byte: the files the build
 * reads, and the sha256 of those the platform hashed (the core hashes the others itself).
 */
export interface FetchedBundle {
  manifest: Uint8Array;
  signature?: Uint8Array;
  files: BundleBytes;
  digests: Record<string, string>;
}

/** Given the manifest's bytes, which of its files the build that will run it reads. */
export type FileChoice = (manifest: Partial<Manifest> | undefined) => (name: string) => boolean;

interface FetchOptions {
  limits: DownloadLimits;
  cache: CacheMode;
  wantSignature: boolean;
  onProgress?: (progress: Progress) => void;
  wanted: FileChoice;
}

/** Lower-case hex sha256 of `bytes`, by WebCrypto. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Each file's sha256 by the platform's digest (Web Crypto, native code), for the core to compare
 * with the manifest instead of hashing in wasm; none where Web Crypto is missing (a page served
 * over plain HTTP), and the core hashes them all.
 */
export async function platformDigests(files: BundleBytes): Promise<Record<string, string>> {
  if (!(globalThis as { crypto?: { subtle?: unknown } }).crypto?.subtle) return {};
  const digests: Record<string, string> = {};
  await Promise.all(Object.entries(files).map(async ([name, bytes]) => void (digests[name] = await sha256Hex(bytes))));
  return digests;
}

/**
 * The manifest as JSON, or `undefined` when it does not parse: the wrapper's one reading of it,
 * for what it must know before any core runs (the build, and which files to fetch). The core
 * parses and checks it properly.
 */
export function parseManifest(bytes: Uint8Array): Partial<Manifest> | undefined {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as Partial<Manifest>;
  } catch {
    return undefined;
  }
}

/** The files a manifest lists, read without trusting it: the core checks it properly. */
export function listedFiles(manifest: Partial<Manifest> | undefined): [string, FileEntry][] {
  if (manifest === undefined) throw new EdgerecError("INVALID_MANIFEST", "manifest.json is not JSON");
  const files = (manifest as { files?: unknown })?.files;
  if (typeof files !== "object" || files === null) {
    throw new EdgerecError("INVALID_MANIFEST", "manifest.json has no `files` object");
  }
  const entries = Object.entries(files as Record<string, FileEntry>);
  for (const [name, entry] of entries) {
    if (!SAFE_FILE_NAME.test(name)) {
      throw new EdgerecError("INVALID_MANIFEST", `manifest.json lists "${name}": file names must be plain names inside the bundle folder`);
    }
    if (!Number.isSafeInteger(entry?.bytes) || entry.bytes < 0 || typeof entry.sha256 !== "string") {
      throw new EdgerecError("INVALID_MANIFEST", `manifest.json: "${name}" needs a byte count and a sha256`);
    }
  }
  return entries;
}

/** A name inside the bundle's folder: no path separators, no leading dot. */
const SAFE_FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * The most bytes of `manifest.json` (a manifest lists a few files, in a few kilobytes) and of
 * `manifest.sig` (a signature is 64 bytes; the core says so of another length) taken, however the
 * bundle arrives: fetched, read from a folder or given as bytes.
 */
const MANIFEST_FILE_MAX_BYTES = { "manifest.json": 1 << 20, "manifest.sig": 1024 } as const;

/** Refuses (`FILE_TOO_LARGE`) a `manifest.json` or `manifest.sig` of `size` bytes, more than `MANIFEST_FILE_MAX_BYTES`. */
export function checkManifestFileSize(name: keyof typeof MANIFEST_FILE_MAX_BYTES, size: number): void {
  if (size > MANIFEST_FILE_MAX_BYTES[name]) {
    throw new EdgerecError("FILE_TOO_LARGE", `bundle file "${name}" is ${size} bytes, more than the ${MANIFEST_FILE_MAX_BYTES[name]} it may be`);
  }
}

/**
 * Refuses (`SIZE_MISMATCH`, as the core would) a file of `size` bytes that `manifest` lists with
 * another byte count, before it is read whole, copied or hashed; a file it does not list, or a
 * manifest that does not parse, is left to the core.
 */
export function checkListedSize(manifest: Partial<Manifest> | undefined, name: string, size: number): void {
  const files = manifest?.files as Record<string, Partial<FileEntry>> | undefined;
  if (typeof files !== "object" || files === null || !Object.hasOwn(files, name)) return;
  const expected = files[name]?.bytes;
  if (Number.isSafeInteger(expected) && size !== expected) {
    throw new EdgerecError("SIZE_MISMATCH", `bundle file "${name}" is ${size} bytes; the manifest says ${expected}`);
  }
}

/**
 * Fetches a bundle from its base URL: the manifest fresh (at most 1 MiB), each file from the cache
 * when its hash matches, else downloaded (at most its manifest's size).
 */
export async function fetchBundle(base: URL, options: FetchOptions): Promise<FetchedBundle> {
  const { limits } = options;
  const manifest = await download(new URL("manifest.json", base), { maxBytes: MANIFEST_FILE_MAX_BYTES["manifest.json"] }, limits);
  const signature = options.wantSignature
    ? await download(new URL("manifest.sig", base), { maxBytes: MANIFEST_FILE_MAX_BYTES["manifest.sig"], optional: true }, limits)
    : undefined;
  const parsed = parseManifest(manifest);
  const reads = options.wanted(parsed);
  const entries = listedFiles(parsed).filter(([name]) => reads(name));
  const total = entries.reduce((sum, [, entry]) => sum + entry.bytes, 0);
  let loaded = 0;
  const advance = (file: string, bytes: number, cached: boolean) => {
    loaded += bytes;
    options.onProgress?.({ file, loaded, total, cached });
  };
  const store = fileStore(options.cache, base);
  const files: BundleBytes = {};
  const digests: Record<string, string> = {};
  await Promise.all(
    entries.map(async ([name, entry]) => {
      files[name] = await cachedFile(store, limits, new URL(name, base), name, entry, advance);
      // cachedFile accepts only bytes whose sha256 is the manifest's.
      digests[name] = entry.sha256;
    }),
  );
  return { manifest, signature, files, digests };
}

/** One file: from the store when its bytes still match the manifest (else dropped), else downloaded. */
async function cachedFile(
  store: FileStore,
  limits: DownloadLimits,
  url: URL,
  name: string,
  entry: FileEntry,
  advance: (file: string, bytes: number, cached: boolean) => void,
): Promise<Uint8Array> {
  const hit = await store.get(entry.sha256);
  if (hit) {
    if (hit.byteLength === entry.bytes && (await sha256Hex(hit)) === entry.sha256) {
      advance(name, hit.byteLength, true);
      return hit;
    }
    // Corrupted where it was kept: never served again, whether or not the download succeeds.
    await store.delete(entry.sha256);
  }
  // Progress counts each byte once, though a retried download receives some of them again.
  let reported = 0;
  const onBytes = (received: number) => {
    if (received > reported) advance(name, received - reported, false);
    reported = Math.max(reported, received);
  };
  const bytes = await download(url, { maxBytes: entry.bytes, exact: true, onBytes }, limits);
  const actual = await sha256Hex(bytes);
  if (actual !== entry.sha256) {
    throw new EdgerecError("CHECKSUM_MISMATCH", `bundle file "${name}" has sha256 ${actual}; the manifest says ${entry.sha256}`);
  }
  await store.put(entry.sha256, bytes);
  return bytes;
}
