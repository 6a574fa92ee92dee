import type { ErrorCode } from "./codes.js";

/** Every error edgerec throws. `code` is stable: match on it, not on the message. */
export class EdgerecError extends Error {
  /** A stable name for what went wrong, e.g. `"INVALID_EVENT"` or `"CHECKSUM_MISMATCH"`. */
  readonly code: ErrorCode;

  /** An error with a stable `code` and a message a person can act on. */
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "EdgerecError";
    this.code = code;
  }
}

/** Runs `f`, turning the wasm core's errors (plain `Error`s with a `code`) into `EdgerecError`s. */
export function rethrowing<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw asEdgerecError(e);
  }
}

/** Awaits `f()`, turning a rejection by the wasm core into an `EdgerecError` as `rethrowing` does. */
export async function rethrowingAsync<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw asEdgerecError(e);
  }
}

function asEdgerecError(e: unknown): Error {
  if (e instanceof EdgerecError) return e;
  if (e instanceof Error && typeof (e as { code?: unknown }).code === "string") {
    // The core's codes are the Rust half of ErrorCode (tests/js/codes.test.mjs keeps them equal).
    return new EdgerecError((e as Error & { code: ErrorCode }).code, e.message);
  }
  return e instanceof Error ? e : new Error(String(e));
}
