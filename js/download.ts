import { EdgerecError } from "./errors.js";
import type { AbortSignalLike } from "./types.js";

/** How bundle files are downloaded: the caller's `fetch`, time limit, retries and signal. */
export interface DownloadLimits {
  fetch: typeof fetch;
  /** Milliseconds one request may take, its body included, before `FETCH_TIMEOUT`. */
  timeoutMs: number;
  /** How many times a transient failure (a network error, HTTP 5xx or 429) is tried again. */
  retries: number;
  /** Stops every download (`ABORTED`). */
  signal?: AbortSignal;
}

/** What one download may bring. */
export interface Wanted {
  /** The most bytes the body may have: more is refused as soon as it shows. */
  maxBytes: number;
  /** The body must be exactly `maxBytes` (a bundle file: its manifest's size; `SIZE_MISMATCH`). */
  exact?: boolean;
  /** A 404 gives `undefined` instead of an error. */
  optional?: boolean;
  /** Bytes of the body received so far in this attempt. */
  onBytes?: (received: number) => void;
}

/** `CreateOptions.timeoutMs` by default: the longest one file's request may take. */
const DEFAULT_TIMEOUT_MS = 30_000;
/** `CreateOptions.retries` by default. */
const DEFAULT_RETRIES = 2;
const MAX_RETRIES = 10;
/** The longest timer a runtime keeps (setTimeout's limit, about 24.8 days). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** The wait before the first retry; each later wait doubles it. */
const FIRST_BACKOFF_MS = 200;

/** The download limits of `create`'s options, checked: a bad one is `INVALID_ARGUMENT`, named. */
export function downloadLimits(options: { fetch?: unknown; timeoutMs?: unknown; retries?: unknown; signal?: unknown }): DownloadLimits {
  const { fetch: fetchFn = globalThis.fetch, timeoutMs = DEFAULT_TIMEOUT_MS, retries = DEFAULT_RETRIES, signal } = options;
  const invalid = (name: string, expected: string, got: unknown) =>
    new EdgerecError("INVALID_ARGUMENT", `invalid argument \`${name}\`: expected ${expected}, got ${describe(got)}`);
  if (typeof fetchFn !== "function") throw invalid("fetch", "a fetch function", fetchFn);
  if (typeof timeoutMs !== "number" || !(timeoutMs > 0 && timeoutMs <= MAX_TIMEOUT_MS)) {
    throw invalid("timeoutMs", `milliseconds above 0, at most ${MAX_TIMEOUT_MS}`, timeoutMs);
  }
  if (!Number.isInteger(retries) || (retries as number) < 0 || (retries as number) > MAX_RETRIES) {
    throw invalid("retries", `a whole number from 0 to ${MAX_RETRIES}`, retries);
  }
  if (signal !== undefined && !isAbortSignal(signal)) throw invalid("signal", "an AbortSignal", signal);
  return { fetch: fetchFn as typeof fetch, timeoutMs, retries: retries as number, signal: signal as AbortSignal | undefined };
}

function isAbortSignal(value: unknown): value is AbortSignalLike {
  const signal = value as { aborted?: unknown; addEventListener?: unknown } | null;
  return typeof signal === "object" && signal !== null && typeof signal.aborted === "boolean" && typeof signal.addEventListener === "function";
}

function describe(value: unknown): string {
  if (value === null || typeof value === "number" || typeof value === "boolean") return String(value);
  return typeof value === "string" ? JSON.stringify(value.slice(0, 80)) : `a value of type ${typeof value}`;
}

/** Throws `ABORTED` when the caller's signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new EdgerecError("ABORTED", "create was aborted by its `signal`");
}

/** A failure worth trying again: its message, for the error given once the retries run out. */
class Transient {
  constructor(readonly message: string) {}
}

/**
 * Downloads `url` within `limits`: each attempt within `timeoutMs`, transient failures tried again
 * after 200 ms, 400 ms, 800 ms…, the body refused once longer than `wanted.maxBytes` (by its
 * Content-Length before any byte is read, then while it streams).
 */
export async function download(url: URL, wanted: Wanted & { optional: true }, limits: DownloadLimits): Promise<Uint8Array | undefined>;
export async function download(url: URL, wanted: Wanted, limits: DownloadLimits): Promise<Uint8Array>;
export async function download(url: URL, wanted: Wanted, limits: DownloadLimits): Promise<Uint8Array | undefined> {
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(limits.signal);
    const result = await attemptOnce(url, wanted, limits);
    if (!(result instanceof Transient)) return result;
    if (attempt >= limits.retries) {
      const tries = attempt + 1;
      throw new EdgerecError("FETCH_FAILED", `${result.message} (${tries} ${tries === 1 ? "try" : "tries"})`);
    }
    await sleep(FIRST_BACKOFF_MS * 2 ** attempt, limits.signal);
  }
}

async function attemptOnce(url: URL, wanted: Wanted, limits: DownloadLimits): Promise<Uint8Array | undefined | Transient> {
  const controller = new AbortController();
  const stopError = () =>
    limits.signal?.aborted
      ? new EdgerecError("ABORTED", `create was aborted by its \`signal\` while fetching ${url.href}`)
      : new EdgerecError("FETCH_TIMEOUT", `${url.href} did not arrive within ${limits.timeoutMs} ms (\`timeoutMs\`)`);
  // Raced against every wait, so that a fetch which ignores its signal cannot hang the load.
  const stopped = new Promise<never>((_, reject) => controller.signal.addEventListener("abort", () => reject(stopError()), { once: true }));
  stopped.catch(() => {});
  const timer = setTimeout(() => controller.abort(), limits.timeoutMs);
  const onAbort = () => controller.abort();
  limits.signal?.addEventListener("abort", onAbort, { once: true });
  let response: Response | undefined;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let finished = false;
  try {
    try {
      // Called as a plain function: a browser's fetch throws "Illegal invocation" as a method of another object.
      const fetchFn = limits.fetch;
      response = await Promise.race([fetchFn(url, { credentials: "omit", signal: controller.signal }), stopped]);
    } catch (e) {
      if (e instanceof EdgerecError) throw e;
      if (controller.signal.aborted) throw stopError();
      return new Transient(`could not fetch ${url.href}: ${(e as Error)?.message ?? e}`);
    }
    if (wanted.optional && response.status === 404) return undefined;
    if (response.status >= 500 || response.status === 429) return new Transient(`could not fetch ${url.href}: HTTP ${response.status}`);
    if (!response.ok || !response.body) {
      throw new EdgerecError("FETCH_FAILED", `could not fetch ${url.href}: HTTP ${response.status}`);
    }
    const declared = declaredLength(response);
    if (declared !== undefined && (wanted.exact ? declared !== wanted.maxBytes : declared > wanted.maxBytes)) {
      throw tooLong(url, wanted, declared);
    }
    reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let length = 0;
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await Promise.race([reader.read(), stopped]);
      } catch (e) {
        if (e instanceof EdgerecError) throw e;
        if (controller.signal.aborted) throw stopError();
        return new Transient(`the download of ${url.href} broke off: ${(e as Error)?.message ?? e}`);
      }
      if (chunk.done) break;
      length += chunk.value.byteLength;
      if (length > wanted.maxBytes) throw tooLong(url, wanted, length);
      chunks.push(chunk.value);
      wanted.onBytes?.(length);
    }
    finished = true;
    if (wanted.exact && length !== wanted.maxBytes) throw tooLong(url, wanted, length);
    return concat(chunks, length);
  } finally {
    clearTimeout(timer);
    limits.signal?.removeEventListener("abort", onAbort);
    // A body left unread (refused, timed out, aborted) is cancelled, closing its connection.
    if (!finished) (reader ?? response?.body)?.cancel().catch(() => {});
  }
}

/** The body's length as the server states it, when it is the length `fetch` will deliver. */
function declaredLength(response: Response): number | undefined {
  const encoding = response.headers.get("content-encoding");
  const length = response.headers.get("content-length");
  if ((encoding && encoding.toLowerCase() !== "identity") || length === null || !/^\d+$/.test(length.trim())) return undefined;
  return Number(length.trim());
}

function tooLong(url: URL, wanted: Wanted, actual: number): EdgerecError {
  if (wanted.exact) {
    const size = actual > wanted.maxBytes ? `more than ${wanted.maxBytes}` : String(actual);
    return new EdgerecError("SIZE_MISMATCH", `bundle file ${url.href} is ${size} bytes; the manifest says ${wanted.maxBytes}`);
  }
  return new EdgerecError("FILE_TOO_LARGE", `${url.href} is more than ${wanted.maxBytes} bytes, the most it may be (${actual} seen)`);
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** Waits `ms`, or rejects with `ABORTED` as soon as the signal fires. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new EdgerecError("ABORTED", "create was aborted by its `signal` while waiting to retry"));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
