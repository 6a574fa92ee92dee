/**
 * edgerec in Node, Deno and Bun (the package's `node` and `deno` export conditions): the same API
 * as the browser entry, with wasm given by `file:` URL (the package's own files among them) read
 * from disk, since Node's `fetch` reads no `file:` URL. Browsers, workers and bundlers get `index.js`, which imports nothing of Node.
 * @module
 */
import { readFile } from "node:fs/promises";

import { setWasmUrlReader } from "./wasm-loader.js";

setWasmUrlReader(async (url) => (url.protocol === "file:" ? new Uint8Array(await readFile(url)) : url));

export * from "./index.js";
