// Serves the demo shop on 127.0.0.1 and prints its address: www/ on the grocery bundle, or on
// another bundle folder (one the bring-your-own-data command wrote, say). Everything the page
// loads comes from this server: the page, the package and the bundle.
//   node scripts/serve-shop.mjs [--port 8080] [--bundle path/to/bundle [--public-key HEX]]
//   npm run shop -- --bundle path/to/bundle     (or EDGEREC_BUNDLE=path/to/bundle npm run shop)
// A bundle given so is served at /bundle/ and the page is opened with ?bundle=/bundle/; it needs
// manifest.json, the files it lists and items.json (names, category and department are shown
// when present). Without a price head the shop shows no prices. The key the manifest must be
// signed with is --public-key, else public-key.txt beside the bundle folder (where the
// bring-your-own-data command writes it), else none; with one, the page is opened with &key=
// and refuses a bundle whose signature does not verify (BAD_SIGNATURE).
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

import { serveStatic } from "./static-server.mjs";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8080" },
    bundle: { type: "string", default: process.env.EDGEREC_BUNDLE },
    "public-key": { type: "string" },
  },
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
  const links = root;
  for (const signal of ["SIGINT", "SIGTERM"]) {
    // The links only: rm does not follow them into the repository or the bundle.
    process.on(signal, () => rm(links, { recursive: true, force: true }).finally(() => process.exit(0)));
  }
  for (const dir of ["www", "dist", "pkg", "pkg-gpu", "models"]) await symlink(join(repo, dir), join(root, dir));
  await symlink(bundle, join(root, "bundle"));
  query = "?bundle=/bundle/";
  const keyFile = join(bundle, "..", "public-key.txt");
  const key = (values["public-key"] ?? (existsSync(keyFile) ? await readFile(keyFile, "utf8") : "")).trim();
  if (key && !/^[0-9a-fA-F]{64}$/.test(key)) {
    console.error(`the public key must be 64 hex digits (ed25519), got ${JSON.stringify(key)}`);
    process.exit(2);
  }
  if (key) query += `&key=${key}`;
  console.log(`the bundle: ${bundle}${key ? ` (its manifest must be signed by ${key})` : " (no key pinned: its signature is not checked)"}`);
}
const server = await serveStatic(root, Number(values.port));
console.log(`the demo shop: ${server.url}/www/${query}   (add ${query ? "&" : "?"}device=cpu or device=gpu to choose; Ctrl-C stops)`);
