// Serves the repository on 127.0.0.1 and prints the demo shop's address (www/ on the grocery
// bundle). Everything the page loads comes from this server: the page, the package, the bundle.
//   node scripts/serve-shop.mjs [--port 8080]
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

import { serveStatic } from "./static-server.mjs";

const { values } = parseArgs({ options: { port: { type: "string", default: "8080" } } });
const server = await serveStatic(fileURLToPath(new URL("../", import.meta.url)), Number(values.port));
console.log(`the demo shop: ${server.url}/www/   (?device=cpu or ?device=gpu to choose; Ctrl-C stops)`);
