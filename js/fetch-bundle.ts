import { fileStore, type FileStore } from "./cache.js";
import { EdgerecError } from "./errors.js";
import type { BundleBytes, CacheMode, FileEntry, Progress } from "./types.js";

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
export type FileChoice = (manifest: Uint8Array) => (name: string) => boolean;

interface FetchOptions {
  fetch: typeof fetch;
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

/** The files a manifest lists, read without trusting it: the core checks it properly. */
export function listedFiles(manifest: Uint8Array): [string, FileEntry][] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(manifest));
  } catch (e) {
    throw new EdgerecError("INVALID_MANIFEST", `manifest.json is not JSON: ${(e as Error).message}`);
  }
  const files = (parsed as { files?: unknown })?.files;
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

/** Fetches a bundle from its base URL: the manifest fresh, each file from the cache when its hash matches. */
export async function fetchBundle(base: URL, options: FetchOptions): Promise<FetchedBundle> {
  const manifest = await download(options.fetch, new URL("manifest.json", base));
  const signature = options.wantSignature
    ? await download(options.fetch, new URL("manifest.sig", base), { optional: true })
    : undefined;
  const reads = options.wanted(manifest);
  const entries = listedFiles(manifest).filter(([name]) => reads(name));
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
      files[name] = await cachedFile(store, options.fetch, new URL(name, base), name, entry, advance);
      // cachedFile accepts only bytes whose sha256 is the manifest's.
      digests[name] = entry.sha256;
    }),
  );
  return { manifest, signature, files, digests };
}

async function cachedFile(
  store: FileStore,
  fetchFn: typeof fetch,
  url: URL,
  name: string,
  entry: FileEntry,
  advance: (file: string, bytes: number, cached: boolean) => void,
): Promise<Uint8Array> {
  const hit = await store.get(entry.sha256);
  if (hit && hit.byteLength === entry.bytes && (await sha256Hex(hit)) === entry.sha256) {
    advance(name, hit.byteLength, true);
    return hit;
  }
  const bytes = await download(fetchFn, url, { expectedBytes: entry.bytes, onChunk: (n) => advance(name, n, false) });
  const actual = await sha256Hex(bytes);
  if (actual !== entry.sha256) {
    throw new EdgerecError("CHECKSUM_MISMATCH", `bundle file "${name}" has sha256 ${actual}; the manifest says ${entry.sha256}`);
  }
  await store.put(entry.sha256, bytes);
  return bytes;
}

interface DownloadOptions {
  /** A 404 gives `undefined` instead of an error. */
  optional?: boolean;
  /** Stop as soon as the body proves longer or shorter than this. */
  expectedBytes?: number;
  onChunk?: (bytes: number) => void;
}

async function download(fetchFn: typeof fetch, url: URL, options: { optional: true }): Promise<Uint8Array | undefined>;
async function download(fetchFn: typeof fetch, url: URL, options?: DownloadOptions): Promise<Uint8Array>;
async function download(fetchFn: typeof fetch, url: URL, options: DownloadOptions = {}): Promise<Uint8Array | undefined> {
  let response: Response;
  try {
    response = await fetchFn(url, { credentials: "omit" });
  } catch (e) {
    throw new EdgerecError("FETCH_FAILED", `could not fetch ${url.href}: ${(e as Error).message}`);
  }
  if (options.optional && response.status === 404) return undefined;
  if (!response.ok || !response.body) {
    throw new EdgerecError("FETCH_FAILED", `could not fetch ${url.href}: HTTP ${response.status}`);
  }
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (options.expectedBytes !== undefined && length > options.expectedBytes) {
      await reader.cancel();
      throw sizeMismatch(url, options.expectedBytes, `more than ${options.expectedBytes}`);
    }
    chunks.push(value);
    options.onChunk?.(value.byteLength);
  }
  if (options.expectedBytes !== undefined && length !== options.expectedBytes) {
    throw sizeMismatch(url, options.expectedBytes, String(length));
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function sizeMismatch(url: URL, expected: number, actual: string): EdgerecError {
  return new EdgerecError("SIZE_MISMATCH", `bundle file ${url.href} is ${actual} bytes; the manifest says ${expected}`);
}
