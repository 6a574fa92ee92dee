/**
 * edgerec in Node, Deno and Bun (the package's `node` and `deno` export conditions): the same API
 * as the browser entry, with the package's own wasm files read from disk, since `fetch` reads no
 * `file:` URL there. Browsers, workers and bundlers get `index.js`, which imports nothing of Node.
 * @module
 */
import { readFile } from "node:fs/promises";

import { setDefaultWasmSource } from "./wasm-loader.js";

setDefaultWasmSource(async (url) => (url.protocol === "file:" ? new Uint8Array(await readFile(url)) : url));

export * from "./index.js";
