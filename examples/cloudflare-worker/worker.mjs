// A Cloudflare Worker (workerd): the wasm and the grocery bundle's files that the default build reads
// are imported as modules (workerd compiles no wasm from bytes at run time; the ONNX graphs are not
// needed); the engine is created once per isolate.
import { Edgerec } from "../../dist/index.js";
import wasm from "../../pkg/edgerec_bg.wasm";
import manifest from "../../models/grocery/manifest.json";
import encoder from "../../models/grocery/encoder.safetensors";
import items from "../../models/grocery/items.json";
import table from "../../models/grocery/items.safetensors";
import price from "../../models/grocery/price.safetensors";
import { createHandler, SESSION_LIMITS } from "./handler.mjs";

let engine;
const handle = createHandler(() => {
  engine ??= Edgerec.create({
    wasm,
    device: "cpu",
    sessions: SESSION_LIMITS,
    bundle: Object.fromEntries(
      Object.entries({ "manifest.json": manifest, "encoder.safetensors": encoder, "items.json": items, "items.safetensors": table, "price.safetensors": price })
        .map(([name, data]) => [name, new Uint8Array(data)]),
    ),
  }).catch((e) => {
    engine = undefined; // the next request tries again
    throw e;
  });
  return engine;
});

export default {
  async fetch(request) {
    try {
      return await handle(request);
    } catch (e) {
      return new Response(JSON.stringify({ error: { code: "INTERNAL", message: String(e?.message ?? e) } }), { status: 500 });
    }
  },
};
