// The edge handler, the same in every runtime (workerd, Deno, Node): a request carries the
// shopper's recent events and gets the top k with a quote for each. The engine is created once
// per isolate (process) and holds no session: every request brings its own events.
//
//   POST /recommend  { "events": [{ "type", "item", "ts" }], "k": 10, "sessionKey": "…" }
//   → 200 { "modelVersion", "items": [{ "item", "score", "quote": { "price", "listPrice", … } }] }
//   → 4xx { "error": { "code", "message" } } for a bad request; the isolate keeps serving.

/** The largest request body read, in bytes (1,000 events fit in about 100 KB). */
export const MAX_BODY_BYTES = 256 * 1024;
const MAX_K = 100;

/** The HTTP status of each engine error a request can cause. */
const STATUS = { TOO_MANY_EVENTS: 413, UNKNOWN_ITEM: 422, INVALID_EVENT: 400, INVALID_ARGUMENT: 400 };

function reply(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function problem(status, code, message) {
  return reply(status, { error: { code, message } });
}

/** Reads at most MAX_BODY_BYTES of the body, or returns null if it is longer. */
async function boundedText(request) {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) return null;
  const reader = request.body?.getReader();
  if (!reader) return "";
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/** A fetch-style handler over `engine()`, which resolves to the isolate's one Edgerec. */
export function createHandler(engine) {
  return async function handle(request) {
    const { pathname } = new URL(request.url);
    if (pathname !== "/recommend") return problem(404, "NOT_FOUND", "POST /recommend");
    if (request.method !== "POST") return problem(405, "METHOD_NOT_ALLOWED", "use POST");
    const text = await boundedText(request);
    if (text === null) return problem(413, "BODY_TOO_LARGE", `the body exceeds ${MAX_BODY_BYTES} bytes`);
    let body;
    try {
      body = JSON.parse(text);
    } catch (e) {
      return problem(400, "MALFORMED_JSON", `the body is not JSON: ${e.message}`);
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return problem(400, "INVALID_ARGUMENT", "expected an object such as { events: [...], k: 10 }");
    }
    const { events = [], k = 10, sessionKey } = body;
    if (!Number.isInteger(k) || k < 1 || k > MAX_K) return problem(400, "INVALID_ARGUMENT", `k must be an integer from 1 to ${MAX_K}`);
    if (sessionKey !== undefined && typeof sessionKey !== "string") return problem(400, "INVALID_ARGUMENT", "sessionKey must be a string");
    const rec = await engine();
    try {
      const top = await rec.recommend({ k, events });
      const quotes = await rec.quote(top.map((t) => t.item), { events, sessionKey, objective: "revenue" });
      return reply(200, { modelVersion: rec.modelVersion, items: top.map((t, i) => ({ ...t, quote: quotes[i] })) });
    } catch (e) {
      if (e?.name === "EdgerecError" && e.code in STATUS) return problem(STATUS[e.code], e.code, e.message);
      throw e;
    }
  };
}
