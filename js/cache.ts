import type { CacheMode } from "./types.js";

/** A store of verified bundle files, keyed by their sha256. */
export interface FileStore {
  /** The bytes stored under `sha256`, if any. */
  get(sha256: string): Promise<Uint8Array | undefined>;
  /** Stores verified bytes under their `sha256`. */
  put(sha256: string, bytes: Uint8Array): Promise<void>;
  /** Drops what is stored under `sha256` (bytes that no longer match it). */
  delete(sha256: string): Promise<void>;
}

const memory = new Map<string, Uint8Array>();

/** Files kept for the life of this JS module: one page, one worker, one edge isolate. */
const memoryStore: FileStore = {
  async get(sha256) {
    return memory.get(sha256);
  },
  async put(sha256, bytes) {
    memory.set(sha256, bytes);
  },
  async delete(sha256) {
    memory.delete(sha256);
  },
};

const noStore: FileStore = {
  async get() {
    return undefined;
  },
  async put() {},
  async delete() {},
};

/** Files kept in the Cache API under a same-origin key per hash; memory if the Cache API fails. */
function cacheApiStore(base: URL): FileStore {
  const key = (sha256: string) => new URL(`/__edgerec/sha256/${sha256}`, base).href;
  const open = () => caches.open("edgerec");
  return {
    async get(sha256) {
      try {
        const hit = await (await open()).match(key(sha256));
        return hit ? new Uint8Array(await hit.arrayBuffer()) : memoryStore.get(sha256);
      } catch {
        return memoryStore.get(sha256);
      }
    },
    async put(sha256, bytes) {
      try {
        await (await open()).put(key(sha256), new Response(bytes as BufferSource));
      } catch {
        await memoryStore.put(sha256, bytes);
      }
    },
    async delete(sha256) {
      await memoryStore.delete(sha256);
      try {
        await (await open()).delete(key(sha256));
      } catch {
        // No Cache API after all: memory held the entry, if anything did.
      }
    },
  };
}

/** The store a cache mode means in this runtime, for a bundle at `base`. */
export function fileStore(mode: CacheMode, base: URL): FileStore {
  switch (mode) {
    case "none":
      return noStore;
    case "memory":
      return memoryStore;
    case "auto":
      return typeof caches !== "undefined" && /^https?:$/.test(base.protocol) ? cacheApiStore(base) : memoryStore;
  }
}
