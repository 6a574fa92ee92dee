// Serves the demo shop on 127.0.0.1 and prints its address: www/ on the grocery bundle, or on
// another bundle folder (one the bring-your-own-data command wrote, say). Everything the page
// loads comes from this server: the page, the package and the bundle.
//   node scripts/serve-shop.mjs [--port 8080] [--bundle path/to/bundle]
//   npm run shop -- --bundle path/to/bundle     (or EDGEREC_BUNDLE=path/to/bundle npm run shop)
// A bundle outside models/grocery is served at /bundle/ and the page is opened with
// ?bundle=/bundle/; it needs manifest.json, the files it lists and items.json (names, category
// and department are shown when present). Without a price head the shop shows no prices.
import { existsSync } from "node:fs";
import { mkdtemp, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

import { serveStatic } from "./static-server.mjs";

const { values } = parseArgs({
  options: { port: { type: "string", default: "8080" }, bundle: { type: "string", default: process.env.EDGEREC_BUNDLE } },
});
const repo = fileURLToPath(new URL("../", import.meta.url));
let root = repo;
let query = "";
if (values.bundle) {
  // npm runs scripts from the package's folder; INIT_CWD is where `npm run shop` was typed.
  const bundle = resolve(process.env.INIT_CWD ?? process.cwd(), values.bundle);
  for (const file of ["manifest.json", "items.json"]) {
    if (!existsSync(join(bundle, file))) {
      console.error(`--bundle ${values.bundle}: ${file} is missing there (a bundle folder holds manifest.json, items.json and the files the manifest lists)`);
      process.exit(2);
    }
  }
  // A root of links: the repository's www/, dist/, pkg/ and pkg-gpu/, and the bundle at /bundle/.
  root = await mkdtemp(join(tmpdir(), "edgerec-shop-"));
  for (const dir of ["www", "dist", "pkg", "pkg-gpu", "models"]) await symlink(join(repo, dir), join(root, dir));
  await symlink(bundle, join(root, "bundle"));
  query = "?bundle=/bundle/";
  console.log(`the bundle: ${bundle}`);
}
const server = await serveStatic(root, Number(values.port));
console.log(`the demo shop: ${server.url}/www/${query}   (add ${query ? "&" : "?"}device=cpu or device=gpu to choose; Ctrl-C stops)`);
