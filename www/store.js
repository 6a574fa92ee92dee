// The shopper's events on this device, in IndexedDB: kept at most `retentionDays` (default 30)
// and at most `maxEvents` (default 1,000, the engine's session size); nothing leaves the device.
const DB = "edgerec-shop";
const STORE = "events";
const DAY_MS = 86_400_000;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

/** Opens the store. */
export async function openEventStore({ retentionDays = 30, maxEvents = 1000 } = {}) {
  const open = indexedDB.open(DB, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(STORE, { autoIncrement: true }).createIndex("ts", "ts");
  const db = await request(open);

  /** Drops events past the retention period, then the oldest past the cap; returns what is left, oldest first. */
  async function prune(now = Date.now()) {
    const tx = db.transaction(STORE, "readwrite");
    const store = tx.objectStore(STORE);
    const keys = await request(store.index("ts").getAllKeys());
    const values = await request(store.index("ts").getAll());
    const kept = [];
    values.forEach((event, i) => {
      if (event.ts < now - retentionDays * DAY_MS) store.delete(keys[i]);
      else kept.push([keys[i], event]);
    });
    for (const [key] of kept.splice(0, Math.max(0, kept.length - maxEvents))) store.delete(key);
    await done(tx);
    return kept.map(([, event]) => event);
  }

  return {
    /** Adds events, then applies the limits. */
    async add(events) {
      const tx = db.transaction(STORE, "readwrite");
      for (const event of events) tx.objectStore(STORE).add(event);
      await done(tx);
      return prune();
    },
    /** Every event held, oldest first, after applying the limits. */
    all: () => prune(),
    /** How many records the database holds (for the tests' "forget leaves nothing"). */
    count: async () => request(db.transaction(STORE).objectStore(STORE).count()),
    /** Deletes every event. */
    async clear() {
      const tx = db.transaction(STORE, "readwrite");
      tx.objectStore(STORE).clear();
      await done(tx);
    },
  };
}
