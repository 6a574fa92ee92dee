// The edge handler, the same in every runtime (workerd, Deno, Node). The engine is created once
// per isolate (process) and keeps each shopper's session in its bounded store, keyed by a session
// id the server issued in a signed cookie (session-cookie.mjs): a request sends only its new
// events, and gets the top k with a quote for each. A request without a valid cookie starts a
// fresh session (and gets its cookie); no key a client sends is ever used.
//
//   POST /recommend  { "events": [{ "type", "item", "ts" }], "k": 10 }   (both optional)
//   → 200 { "modelVersion", "items": [{ "item", "score", "quote": { "price", "listPrice", … } }] }
//   → 4xx { "error": { "code", "message" } } for a bad request; the isolate keeps serving.
//   POST /forget     → 204: the shopper's session is dropped.
import { sessionCookies } from "./session-cookie.mjs";


/** The largest request body read, in bytes (1,000 events fit in about 100 KB). */
export const MAX_BODY_BYTES = 256 * 1024;
const MAX_K = 100;

/**
 * The caps of the engine's session store, which every runtime's server passes to `create`: the
 * isolate's memory for sessions stays under 32 MiB however many shoppers (or attackers without a
 * cookie, each of whom starts a session) come.
 */
export const SESSION_LIMITS = { maxSessions: 10_000, maxBytes: 32 * 2 ** 20, idleMinutes: 30 };

/** The fields a request body may have. */
const FIELDS = new Set(["events", "k"]);

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

/**
 * A fetch-style handler over `engine()`, which resolves to the isolate's one Edgerec. `options`:
 * the session cookies' `secret` and `maxAgeSeconds` (see session-cookie.mjs).
 */
export function createHandler(engine, options = {}) {
  // Made at the first request: Workers allow no random values in the global scope.
  let cookies;
  return async function handle(request) {
    let pathname;
    try {
      ({ pathname } = new URL(request.url));
    } catch {
      // workerd builds the URL from the Host header: a Host that makes no URL is the client's error.
      return problem(400, "BAD_REQUEST", "the request's URL (its Host header or target) is not a URL");
    }
    if (pathname !== "/recommend" && pathname !== "/forget") return problem(404, "NOT_FOUND", "POST /recommend or POST /forget");
    if (request.method !== "POST") return problem(405, "METHOD_NOT_ALLOWED", "use POST");
    cookies ??= sessionCookies(options);
    const sessions = await cookies;
    const known = await sessions.read(request);
    const issued = known === undefined ? await sessions.issue() : undefined;
    const rec = await engine();
    const session = rec.session(known ?? issued.id);
    const withCookie = (response) => {
      if (issued) response.headers.append("set-cookie", issued.setCookie);
      return response;
    };
    if (pathname === "/forget") {
      await session.forget();
      return withCookie(new Response(null, { status: 204 }));
    }
    const text = await boundedText(request);
    if (text === null) return withCookie(problem(413, "BODY_TOO_LARGE", `the body exceeds ${MAX_BODY_BYTES} bytes`));
    let body;
    try {
      body = text === "" ? {} : JSON.parse(text);
    } catch (e) {
      return withCookie(problem(400, "MALFORMED_JSON", `the body is not JSON: ${e.message}`));
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return withCookie(problem(400, "INVALID_ARGUMENT", "expected an object such as { events: [...], k: 10 }"));
    }
    const unknown = Object.keys(body).find((key) => !FIELDS.has(key));
    if (unknown !== undefined) return withCookie(problem(400, "INVALID_ARGUMENT", `unknown field ${JSON.stringify(unknown.slice(0, 40))}: a request has events and k`));
    const { events = [], k = 10 } = body;
    if (!Number.isInteger(k) || k < 1 || k > MAX_K) return withCookie(problem(400, "INVALID_ARGUMENT", `k must be an integer from 1 to ${MAX_K}`));
    try {
      session.observeMany(events);
      const top = await session.recommend({ k });
      const quotes = await session.quote(top.map((t) => t.item), { objective: "revenue" });
      return withCookie(reply(200, { modelVersion: rec.modelVersion, items: top.map((t, i) => ({ ...t, quote: quotes[i] })) }));
    } catch (e) {
      if (e?.name === "EdgerecError" && e.code in STATUS) return withCookie(problem(STATUS[e.code], e.code, e.message));
      throw e;
    }
  };
}
