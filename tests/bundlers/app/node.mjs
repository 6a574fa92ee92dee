// The program in Node and Deno: the package's `node` (or `deno`) condition reads its own wasm from
// disk, and `edgerec/node` reads the bundle folder. Prints the result as JSON.
import { Edgerec, EdgerecError } from "edgerec";
import { readBundleDir } from "edgerec/node";

import { program } from "./program.js";

const result = await program({ Edgerec, EdgerecError }, { bundle: await readBundleDir("node_modules/edgerec/models/grocery") });
console.log(JSON.stringify(result));
