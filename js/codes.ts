/**
 * The stable codes edgerec gives: match on them, not on messages. The Rust core's codes are listed
 * in `src/error.rs` and its quote reasons in `src/pricing`; `tests/js/codes.test.mjs` fails when
 * these unions and the core disagree.
 * @module
 */

/** `EdgerecError.code`: what went wrong. */
export type ErrorCode =
  /** An event lacks a field, has an unknown type, a bad timestamp or price (the message names its index). */
  | "INVALID_EVENT"
  /** An event or a candidate names an item the bundle's catalogue lacks. */
  | "UNKNOWN_ITEM"
  /** More than 1,000 events in one call. */
  | "TOO_MANY_EVENTS"
  /** An argument is out of range or of the wrong type (the message names it). */
  | "INVALID_ARGUMENT"
  /** `manifest.json` is not a valid manifest (format 1 or 2). */
  | "INVALID_MANIFEST"
  /** The bundle's format version is one this release does not read. */
  | "UNSUPPORTED_FORMAT_VERSION"
  /** A file the manifest lists is absent. */
  | "MISSING_FILE"
  /** A bundle file's length differs from the manifest's. */
  | "SIZE_MISMATCH"
  /** A bundle file's sha256 differs from the manifest's. */
  | "CHECKSUM_MISMATCH"
  /** A key is pinned and `manifest.sig` is missing or does not verify. */
  | "BAD_SIGNATURE"
  /** The manifest's `expires` has passed. */
  | "BUNDLE_EXPIRED"
  /** The item table breaks the bundle contract. */
  | "INVALID_CATALOG"
  /** The encoder or the price head breaks the bundle contract. */
  | "INVALID_MODEL"
  /** The bundle's models come only as ONNX and the build in use reads plain weights (the wrapper then loads the ONNX build). */
  | "ONNX_BUILD_REQUIRED"
  /** A model failed at run time or gave a non-finite output. */
  | "INFERENCE_FAILED"
  /** A pricing setting is out of range (raised by `create`). */
  | "INVALID_PRICING"
  /** `quote` on a bundle without a price head or the catalogue's prices. */
  | "PRICING_UNAVAILABLE"
  /** (JS) The bundle could not be fetched (after the retries, for a transient failure). */
  | "FETCH_FAILED"
  /** (JS) A bundle request took longer than `timeoutMs`. */
  | "FETCH_TIMEOUT"
  /** (JS) `create`'s `signal` fired. */
  | "ABORTED"
  /** (JS) `manifest.json` (over 1 MiB) or `manifest.sig` is larger than it may be. */
  | "FILE_TOO_LARGE"
  /** (JS) The bundle's release is older than one already accepted for the pinned key. */
  | "BUNDLE_DOWNGRADE"
  /** (JS) The wasm could not be fetched, compiled or instantiated. */
  | "WASM_LOAD_FAILED"
  /** (JS) The wasm given is not the build asked for: say, the CPU file as `gpuWasm` or `onnxWasm`, or the GPU file as `wasm`. */
  | "WASM_MISMATCH"
  /** (JS) The engine was disposed. */
  | "DISPOSED"
  /** (JS) The engine's WebAssembly trapped: it was stopped, and throws this until disposed (other engines are unaffected). */
  | "ENGINE_FAILED";

/** `Quote.reason`: why a quote has its price. */
export type QuoteReason =
  /** A price below the list price, best for the objective inside every guardrail. */
  | "PERSONAL_DISCOUNT"
  /** The list price is the objective's best price. */
  | "LIST_PRICE_BEST"
  /** No allowed price exists below the list price (floors, maximum discount, endings). */
  | "GUARDRAILS_INFEASIBLE"
  /** The price head's output was not finite: the list price. */
  | "MODEL_OUTPUT_UNUSABLE"
  /** No allowed price meets the objective's own bound (the conversion objective's `minMargin`). */
  | "OBJECTIVE_INFEASIBLE"
  /** The session's promotion budget could not cover the offer this item would have had. */
  | "BUDGET_SPENT";
