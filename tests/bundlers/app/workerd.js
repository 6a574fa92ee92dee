// The program in workerd (bundled with the `workerd` and `worker` conditions): the wasm and the
// bundle's files are modules of the worker, as Cloudflare Workers import them. Answers with JSON.
import { Edgerec, EdgerecError } from "edgerec";

import wasm from "./edgerec.wasm";
import encoder from "./grocery/encoder.safetensors";
import items from "./grocery/items.json";
import table from "./grocery/items.safetensors";
import manifest from "./grocery/manifest.json";
import price from "./grocery/price.safetensors";
import { program } from "./program.js";

// The files the default build reads (it never reads the ONNX graphs).
const files = { "manifest.json": manifest, "encoder.safetensors": encoder, "items.json": items, "items.safetensors": table, "price.safetensors": price };
const bundle = Object.fromEntries(Object.entries(files).map(([name, data]) => [name, new Uint8Array(data)]));

export default {
  async fetch() {
    try {
      return Response.json(await program({ Edgerec, EdgerecError }, { bundle, wasm }));
    } catch (e) {
      return Response.json({ error: String(e?.stack ?? e), code: e?.code }, { status: 500 });
    }
  },
};
