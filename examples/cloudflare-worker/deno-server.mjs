// The edge handler under Deno: the bundle read once from models/grocery, served by Deno.serve.
//   deno run --allow-read=. --allow-net=127.0.0.1 examples/cloudflare-worker/deno-server.mjs [port]
import { Edgerec } from "../../dist/index-node.js"; // the package's node/deno entry: its wasm read from disk
import { readBundleDir } from "../../dist/node.js";
import { createHandler, SESSION_LIMITS } from "./handler.mjs";

const bundleDir = new URL("../../models/grocery/", import.meta.url).pathname;
const engine = Edgerec.create({ bundle: await readBundleDir(bundleDir), device: "cpu", sessions: SESSION_LIMITS });
await engine;
const handle = createHandler(() => engine);

Deno.serve({ hostname: "127.0.0.1", port: Number(Deno.args[0] ?? 8789), onListen: ({ port }) => console.log(`listening on http://127.0.0.1:${port}`) }, async (request) => {
  try {
    return await handle(request);
  } catch (e) {
    return Response.json({ error: { code: "INTERNAL", message: String(e?.message ?? e) } }, { status: 500 });
  }
});
