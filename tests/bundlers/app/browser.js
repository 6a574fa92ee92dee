// The page's script, built by each bundler: the wasm's URL comes from the bundler's asset import
// of `edgerec/edgerec.wasm`, the bundle from the page's own server.
import { Edgerec, EdgerecError } from "edgerec";
import wasm from "edgerec/edgerec.wasm";

import { program } from "./program.js";

window.result = program({ Edgerec, EdgerecError }, { bundle: "/models/grocery/", wasm }).catch((e) => ({ error: String(e?.stack ?? e), code: e?.code }));
