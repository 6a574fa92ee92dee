/**
 * edgerec in Node, Deno and Bun (the package's `node` and `deno` export conditions): the same API
 * as the browser entry, with wasm given by `file:` URL (the package's own files among them) read
 * from disk, since Node's `fetch` reads no `file:` URL. Browsers, workers and bundlers get
 * `index.js`, which imports nothing of Node.
 * @module
 */
import { EdgerecError } from "./errors.js";
import { readRegularFile } from "./read-file.js";
import { setWasmUrlReader } from "./wasm-loader.js";

/** The most bytes of a wasm file read from disk (each build's is a few MB). */
const MAX_WASM_BYTES = 64 << 20;

setWasmUrlReader(async (url) => {
  if (url.protocol !== "file:") return url;
  return readRegularFile(url, (size) => {
    if (size > MAX_WASM_BYTES) {
      throw new EdgerecError("WASM_LOAD_FAILED", `${url.href} is ${size} bytes: no wasm of edgerec's is larger than ${MAX_WASM_BYTES}`);
    }
  });
});

export * from "./index.js";
