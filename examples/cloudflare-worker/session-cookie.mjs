// The shopper's session credential at the edge: a random id the server issues, signed with an
// HMAC-SHA256 key only the server holds, in an HttpOnly cookie. A client cannot choose or guess
// another shopper's id, and a cookie the server did not sign is ignored (a fresh session instead).
// Web Crypto only: the same code in workerd, Deno and Node.

/**
 * The cookie's name. `__Host-` makes browsers accept it only from this origin, Secure, with
 * `Path=/` and no `Domain`, so a sibling subdomain cannot plant one of its own in the shopper's
 * browser.
 */
export const COOKIE = "__Host-edgerec_session";

const encoder = new TextEncoder();

function base64url(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64url(text) {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/**
 * Issues and verifies session cookies with `secret` (at least 32 bytes; default: random, so
 * sessions last as long as the isolate, which is where they are kept anyway).
 */
export async function sessionCookies({ secret, maxAgeSeconds = 1800 } = {}) {
  const raw = secret === undefined ? crypto.getRandomValues(new Uint8Array(32)) : typeof secret === "string" ? encoder.encode(secret) : secret;
  if (raw.byteLength < 32) throw new Error("the session secret must be at least 32 bytes");
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  return {
    /** The verified session id of `request`'s cookie, or `undefined` when it has none that verifies. */
    async read(request) {
      const cookie = request.headers.get("cookie") ?? "";
      const values = cookie.split(";").map((c) => c.trim()).filter((c) => c.startsWith(`${COOKIE}=`));
      // More than one is no session: the first could be one planted to pull the shopper into
      // another's session (a fresh one is issued instead).
      const value = values.length === 1 ? values[0].slice(COOKIE.length + 1) : undefined;
      const [id, mac] = value?.split(".") ?? [];
      if (!id || !mac || id.length !== 22 || mac.length !== 43) return undefined;
      try {
        return (await crypto.subtle.verify("HMAC", key, fromBase64url(mac), encoder.encode(id))) ? id : undefined;
      } catch {
        return undefined;
      }
    },
    /** A fresh session id (128 random bits) and the `Set-Cookie` value that carries it. */
    async issue() {
      const id = base64url(crypto.getRandomValues(new Uint8Array(16)));
      const mac = base64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(id))));
      return { id, setCookie: `${COOKIE}=${id}.${mac}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=${maxAgeSeconds}` };
    },
  };
}
