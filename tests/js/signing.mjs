// Signing keys for the tests: the fixture's (derived from its seed, as models/training/bundle_writer.py
// derives it) and fresh ones, and the fixture's manifest edited and signed again.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from "node:crypto";

/** PKCS#8 DER of an ed25519 private key, before its 32-byte seed. */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** An ed25519 key: its private half and its public half as `publicKey` takes it (64 hex digits). */
function keyOf(privateKey) {
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  return { privateKey, publicHex: spki.subarray(spki.length - 32).toString("hex") };
}

/** The key that signs models/fixture/manifest.json. */
export function fixtureKey() {
  const seed = createHash("sha256").update("edgerec fixture signing key").digest();
  return keyOf(createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: "der", type: "pkcs8" }));
}

/** A new key, known to no other test. */
export function freshKey() {
  return keyOf(generateKeyPairSync("ed25519").privateKey);
}

/** `files` with its manifest edited by `change` and signed by `key` (unsigned when `key` is null). */
export function signedWith(files, key, change = () => {}) {
  const manifest = JSON.parse(new TextDecoder().decode(files["manifest.json"]));
  change(manifest);
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  const { "manifest.sig": _, ...rest } = files;
  if (key === null) return { ...rest, "manifest.json": bytes };
  return { ...rest, "manifest.json": bytes, "manifest.sig": new Uint8Array(sign(null, bytes, key.privateKey)) };
}
