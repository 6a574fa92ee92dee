import { EdgerecError } from "./errors.js";
import type { CacheMode } from "./types.js";

/**
 * Anti-rollback: the highest manifest `release` accepted while each key was pinned. Kept in memory
 * for the life of the JS module (one page, one worker, one edge isolate) and, where the bundle
 * cache is the Cache API (`cache: "auto"` in a runtime that has one), there too, so that it
 * outlives a reload. `cache: "memory"` and `"none"` keep it in memory only.
 */
const accepted = new Map<string, number>();

/** The Cache API entry of a key's highest release: the same cache as the bundle files. */
const cacheKey = (publicKey: string) => `https://edgerec.invalid/__edgerec/release/${publicKey}`;

async function fromCacheApi(publicKey: string): Promise<number> {
  try {
    const hit = await (await caches.open("edgerec")).match(cacheKey(publicKey));
    const release = hit ? Number(await hit.text()) : 0;
    return Number.isSafeInteger(release) ? release : 0;
  } catch {
    return 0;
  }
}

async function toCacheApi(publicKey: string, release: number): Promise<void> {
  try {
    await (await caches.open("edgerec")).put(cacheKey(publicKey), new Response(String(release)));
  } catch {
    // No usable Cache API: memory keeps it.
  }
}

/**
 * Accepts a verified manifest's `release` for the pinned `keys`: refused with `BUNDLE_DOWNGRADE`
 * when lower than the highest accepted for any of them (the keys of a rotation share one series of
 * releases), else remembered for each. Nothing is remembered when no key is pinned: an unsigned
 * manifest's number proves nothing.
 */
export async function acceptRelease(keys: readonly string[], release: number, cache: CacheMode): Promise<void> {
  const persistent = cache === "auto" && typeof caches !== "undefined";
  for (const key of keys) {
    const highest = Math.max(accepted.get(key) ?? 0, persistent ? await fromCacheApi(key) : 0);
    if (release < highest) {
      throw new EdgerecError(
        "BUNDLE_DOWNGRADE",
        `the bundle is release ${release}, older than release ${highest}, which a bundle signed for key ${key.slice(0, 8)}… already had here: refusing a rollback`,
      );
    }
  }
  for (const key of keys) {
    accepted.set(key, Math.max(accepted.get(key) ?? 0, release));
    if (persistent) await toCacheApi(key, accepted.get(key)!);
  }
}
