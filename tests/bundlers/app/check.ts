// Type-checked by strict tsc against the packed package (tests/bundlers/tarball.test.mjs), with
// no skipLibCheck: in a Node project (`--lib es2022`, Node's types) and in a browser one (DOM).
import { Edgerec, EdgerecError, type ErrorCode, type Quote, type QuoteReason, type ShopperEvent } from "edgerec";
import wasm from "edgerec/edgerec.wasm";
import gpuWasm from "edgerec/edgerec-gpu.wasm";

/** Every code has a meaning here: the switch must cover the union, and `code` must be the union. */
function describe(code: ErrorCode): string {
  switch (code) {
    case "INVALID_EVENT":
    case "UNKNOWN_ITEM":
    case "TOO_MANY_EVENTS":
    case "INVALID_ARGUMENT":
      return "the caller's input";
    case "INVALID_MANIFEST":
    case "UNSUPPORTED_FORMAT_VERSION":
    case "MISSING_FILE":
    case "SIZE_MISMATCH":
    case "CHECKSUM_MISMATCH":
    case "BAD_SIGNATURE":
    case "BUNDLE_EXPIRED":
    case "BUNDLE_DOWNGRADE":
    case "FILE_TOO_LARGE":
    case "INVALID_CATALOG":
    case "INVALID_MODEL":
    case "ONNX_BUILD_REQUIRED":
      return "the bundle";
    case "INFERENCE_FAILED":
    case "INVALID_PRICING":
    case "PRICING_UNAVAILABLE":
    case "FETCH_FAILED":
    case "FETCH_TIMEOUT":
    case "ABORTED":
    case "WASM_LOAD_FAILED":
    case "WASM_MISMATCH":
    case "DISPOSED":
    case "ENGINE_FAILED":
      return "the set-up";
    default: {
      const unreachable: never = code;
      return unreachable;
    }
  }
}

function shown(reason: QuoteReason): boolean {
  return reason === "PERSONAL_DISCOUNT";
}

export async function run(bundle: Record<string, Uint8Array>): Promise<string[]> {
  const event: ShopperEvent = { type: "view", item: "981760", ts: Date.now() };
  try {
    const rec = await Edgerec.create({ bundle, device: "cpu", cache: "none", wasm, gpuWasm, timeoutMs: 30_000, retries: 2 });
    rec.observe(event);
    const quotes: Quote[] = await rec.quote((await rec.recommend({ k: 3 })).map((t) => t.item));
    return quotes.filter((q) => shown(q.reason)).map((q) => q.item);
  } catch (e) {
    if (e instanceof EdgerecError) return [describe(e.code)];
    throw e;
  }
}
