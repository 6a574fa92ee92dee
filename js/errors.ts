import type { ErrorCode } from "./codes.js";

/** Every error edgerec throws. `code` is stable: match on it, not on the message. */
export class EdgerecError extends Error {
  /** A stable name for what went wrong, e.g. `"INVALID_EVENT"` or `"CHECKSUM_MISMATCH"`. */
  readonly code: ErrorCode;

  /** An error with a stable `code` and a message a person can act on; `cause`, what led to it. */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EdgerecError";
    this.code = code;
  }
}

/**
 * `e` as an `EdgerecError` when it is one, or one of the wasm core's own errors (a plain `Error`
 * named `EdgerecError` with a string `code`); `undefined` for anything else, such as a trap.
 */
export function coreError(e: unknown): EdgerecError | undefined {
  if (e instanceof EdgerecError) return e;
  if (e instanceof Error && e.name === "EdgerecError" && typeof (e as { code?: unknown }).code === "string") {
    // The core's codes are the Rust half of ErrorCode (tests/js/codes.test.mjs keeps them equal).
    return new EdgerecError((e as Error & { code: ErrorCode }).code, e.message);
  }
  return undefined;
}
