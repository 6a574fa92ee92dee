import { EdgerecError } from "./errors.js";

/** An ed25519 public key as `publicKey` takes it: 64 hex digits. */
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
/** The most keys pinned at once: a rotation needs two or three. */
const MAX_KEYS = 16;

/**
 * The keys `publicKey` pins, lower-case: none when it is absent; one key (64 hex digits) or
 * several (a non-empty array of them, during a key rotation), any of which may sign. Anything
 * else, `null` included, is `INVALID_ARGUMENT`: never read as "no key".
 */
export function pinnedKeys(publicKey: unknown): string[] {
  if (publicKey === undefined) return [];
  const list = Array.isArray(publicKey) ? publicKey : [publicKey];
  if (list.length === 0 || list.length > MAX_KEYS || !list.every((key) => typeof key === "string" && HEX_KEY.test(key))) {
    const got = publicKey === null ? "null" : Array.isArray(publicKey)
        ? `an array of ${publicKey.length}`
        : typeof publicKey === "string"
          ? `a string of ${publicKey.length} characters`
          : typeof publicKey;
    throw new EdgerecError(
      "INVALID_ARGUMENT",
      `invalid argument \`publicKey\`: expected an ed25519 public key as 64 hex digits, or an array of 1 to ${MAX_KEYS} of them (a key rotation), got ${got}`,
    );
  }
  return [...new Set(list.map((key: string) => key.toLowerCase()))];
}
