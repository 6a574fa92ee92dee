// The program bundled for Node by esbuild (`platform: "node"`): the file loader emits the wasm next
// to the bundle and gives its path relative to the bundle, which the program resolves into a
// `file:` URL (read from disk by the package's Node entry).
import { Edgerec, EdgerecError } from "edgerec";
import wasm from "edgerec/edgerec.wasm";
import { readBundleDir } from "edgerec/node";

import { program } from "./program.js";

const result = await program(
  { Edgerec, EdgerecError },
  { bundle: await readBundleDir("node_modules/edgerec/models/grocery"), wasm: new URL(wasm, import.meta.url) },
);
console.log(JSON.stringify(result));
