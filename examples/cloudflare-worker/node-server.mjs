// The edge handler under Node: the bundle read once from models/grocery, requests bridged from
// node:http to the fetch API the handler speaks.
//   node examples/cloudflare-worker/node-server.mjs [--port 8788]
import { createServer } from "node:http";
import { Readable } from "node:stream";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

import { Edgerec } from "edgerec";
import { readBundleDir } from "edgerec/node";
import { createHandler, SESSION_LIMITS } from "./handler.mjs";

const { values } = parseArgs({ options: { port: { type: "string", default: "8788" } } });
const bundleDir = fileURLToPath(new URL("../../models/grocery/", import.meta.url));
const engine = Edgerec.create({ bundle: await readBundleDir(bundleDir), device: "cpu", sessions: SESSION_LIMITS });
await engine;
const handle = createHandler(() => engine);

const server = createServer(async (req, res) => {
  let url;
  try {
    // The handler reads only the path; a Host header or a target that makes no URL is the client's error.
    url = new URL(req.url, "http://localhost");
  } catch {
    res.writeHead(400, { "content-type": "application/json", connection: "close" }).end(JSON.stringify({ error: { code: "BAD_REQUEST", message: "the request target is not a URL path" } }));
    return;
  }
  try {
    const request = new Request(url, {
      method: req.method,
      headers: req.headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : Readable.toWeb(req),
      duplex: "half",
    });
    const response = await handle(request);
    // A body the handler refused unread cannot be skipped on a kept-alive connection: close it.
    const headers = { ...Object.fromEntries(response.headers), ...(req.complete ? {} : { connection: "close" }) };
    res.writeHead(response.status, headers);
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (e) {
    res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "INTERNAL", message: String(e?.message ?? e) } }));
  }
});
server.listen(Number(values.port), "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
