/**
 * The on-device event store behind `CreateOptions.persist`: the shopper's events in IndexedDB (a
 * page or a Web Worker), deleted past an expiry in days and beyond a cap in events. It knows
 * events and IndexedDB, nothing of the engine: `create` hands it a function that takes events into
 * the session. Its operations run one after another on one queue, so a `clear` issued after a
 * write lands after it. No storage failure is thrown: each is kept as `status.error` and passed to
 * `onError`, and the engine carries on in memory.
 * @module
 */
import { EdgerecError } from "./errors.js";
import type { PersistError, PersistErrorCode, PersistOptions, Persistence, ShopperEvent } from "./types.js";

const STORE = "events";
const BY_TIME = "ts";
const DAY_MS = 86_400_000;
/** The engine's session holds this many events: keeping more would keep what is never read. */
const SESSION_EVENTS = 1_000;
const EVENT_TYPES: ReadonlySet<string> = new Set(["view", "cart", "purchase"]);

/** How long `create` waits for the database to open (or be deleted) before carrying on in memory (`BLOCKED`). */
const OPEN_TIMEOUT_MS = 3_000;

/** `PersistOptions` checked, with the defaults filled in. */
export interface PersistSettings {
  /** The database's name. */
  name: string;
  /** The expiry, in days after an event's `ts`. */
  days: number;
  /** The cap: the newest this many events are kept. */
  maxEvents: number;
  /** Whether events may be stored, at `create`. */
  consent: boolean;
  /** The shop's callback for storage failures. */
  onError?: (error: PersistError) => void;
}

/** Checks `persist` and fills in its defaults; a bad value throws `INVALID_ARGUMENT` (a caller's mistake, not storage's). */
export function persistSettings(options: PersistOptions): PersistSettings {
  const bad = (field: string, expected: string, got: unknown) =>
    new EdgerecError("INVALID_ARGUMENT", `invalid argument \`${["persist", field].filter(Boolean).join(".")}\`: expected ${expected}, got ${JSON.stringify(got) ?? String(got)}`);
  if (typeof options !== "object" || options === null) throw bad("", "an object", options);
  const { name = "edgerec-events", days = 30, maxEvents = SESSION_EVENTS, consent = true, onError } = options;
  if (typeof name !== "string" || name === "") throw bad("name", "a non-empty string", name);
  if (typeof days !== "number" || !(days > 0) || !Number.isFinite(days)) throw bad("days", "a positive number of days", days);
  if (!Number.isInteger(maxEvents) || maxEvents < 1 || maxEvents > SESSION_EVENTS) throw bad("maxEvents", "an integer from 1 to 1000", maxEvents);
  if (typeof consent !== "boolean") throw bad("consent", "true or false", consent);
  if (onError !== undefined && typeof onError !== "function") throw bad("onError", "a function", onError);
  return { name, days, maxEvents, consent, onError };
}

/** A storage failure on its way to `status.error`. */
class StoreFailure extends Error {
  /** A failure with its code and a message in words. */
  constructor(readonly code: PersistErrorCode, message: string) {
    super(message);
  }
}

/** The browser's error in words: its name and message. */
function described(e: unknown): string {
  return e instanceof Error || e instanceof DOMException ? `${e.name}: ${e.message}` : String(e);
}

/** This runtime's IndexedDB, if it has one. */
function indexedDbHere(): IDBFactory | undefined {
  return (globalThis as { indexedDB?: IDBFactory }).indexedDB;
}

/** `value` as an event (only the fields an event has), or `undefined` when it is not one. */
function asEvent(value: unknown): ShopperEvent | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { type, item, ts, price } = value as Record<string, unknown>;
  if (typeof type !== "string" || !EVENT_TYPES.has(type) || typeof item !== "string" || item === "") return undefined;
  if (typeof ts !== "number" || !Number.isFinite(ts)) return undefined;
  if (price === undefined || price === null) return { type: type as ShopperEvent["type"], item, ts };
  if (typeof price !== "number" || !Number.isFinite(price) || price < 0) return undefined;
  return { type: type as ShopperEvent["type"], item, ts, price };
}

function asked<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Runs `work` in one transaction on the events; resolves with its result once the transaction commits. */
async function withEvents<T>(db: IDBDatabase, mode: IDBTransactionMode, work: (store: IDBObjectStore) => Promise<T>): Promise<T> {
  const tx = db.transaction(STORE, mode);
  const committed = new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new DOMException("the transaction was aborted", "AbortError"));
  });
  try {
    const result = await work(tx.objectStore(STORE));
    await committed;
    return result;
  } catch (e) {
    // A failed request aborts the transaction: one failure, reported once (the request's).
    await committed.catch(() => undefined);
    throw e;
  }
}

/** Opens (creating) the database, or fails: `UNAVAILABLE` when it refuses, `BLOCKED` when it does not answer in time. */
function openDatabase(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    let late = false;
    const request = factory.open(name, 1);
    const timer = setTimeout(() => {
      late = true;
      reject(new StoreFailure("BLOCKED", `IndexedDB database "${name}" did not open within ${OPEN_TIMEOUT_MS / 1000} s: another tab or script holds it (a pending upgrade or deletion); events are kept in memory only`));
    }, OPEN_TIMEOUT_MS);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { autoIncrement: true }).createIndex(BY_TIME, "ts");
    request.onsuccess = () => {
      clearTimeout(timer);
      if (late) request.result.close();
      else resolve(request.result);
    };
    request.onerror = () => {
      clearTimeout(timer);
      reject(new StoreFailure("UNAVAILABLE", `IndexedDB database "${name}" could not be opened (${described(request.error)}); events are kept in memory only`));
    };
  });
}

/** Deletes the database; `BLOCKED` when another connection keeps it open (the deletion then waits for it to close). */
function deleteDatabase(factory: IDBFactory, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = factory.deleteDatabase(name);
    const timer = setTimeout(() => {
      reject(new StoreFailure("BLOCKED", `IndexedDB database "${name}" is held open by another tab or script: its events are deleted once that closes it`));
    }, OPEN_TIMEOUT_MS);
    request.onsuccess = () => {
      clearTimeout(timer);
      resolve();
    };
    request.onerror = () => {
      clearTimeout(timer);
      reject(new StoreFailure("STORAGE_FAILED", `IndexedDB database "${name}" could not be deleted (${described(request.error)})`));
    };
  });
}

/** Deletes the events past the expiry, then the oldest beyond the cap; resolves to how many are left. */
async function prune(store: IDBObjectStore, settings: PersistSettings): Promise<number> {
  const byTime = store.index(BY_TIME);
  const expired = IDBKeyRange.upperBound(Date.now() - settings.days * DAY_MS, true);
  for (const key of await asked(byTime.getAllKeys(expired))) store.delete(key);
  const count = await asked(store.count());
  const excess = count - settings.maxEvents;
  if (excess > 0) for (const key of await asked(byTime.getAllKeys(null, excess))) store.delete(key);
  return Math.min(count, settings.maxEvents);
}

/** One shopper's events in IndexedDB. Open with `EventStore.open`. */
export class EventStore {
  readonly #settings: PersistSettings;
  #consent: boolean;
  /** Whether IndexedDB opened: false when it is missing, refused or blocked (events then stay in memory). */
  #usable = false;
  /** The connection; `undefined` before opening, and after another context closed it (reopened on the next write). */
  #db: IDBDatabase | undefined;
  #stored = 0;
  #error: PersistError | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(settings: PersistSettings) {
    this.#settings = settings;
    this.#consent = settings.consent;
  }

  /**
   * Opens the store and hands its events to `accept` (which throws for events it refuses): first
   * deleting the corrupt, the expired and those beyond the cap, then those `accept` refuses
   * (`RECORDS_SKIPPED`). Without consent, deletes the database instead. Never rejects.
   */
  static async open(settings: PersistSettings, accept: (events: ShopperEvent[]) => void): Promise<EventStore> {
    const store = new EventStore(settings);
    await store.#enqueue("opening the event store", () => (settings.consent ? store.#load(accept) : store.#wipe()));
    return store;
  }

  /** The store's state now. */
  get status(): Persistence {
    return {
      consent: this.#consent,
      storage: this.#consent && this.#usable ? "indexeddb" : "memory",
      stored: this.#stored,
      ...(this.#error ? { error: { ...this.#error } } : {}),
    };
  }

  /** Writes `events` through (with consent and a usable database), then applies the expiry and the cap. */
  record(events: ShopperEvent[]): void {
    if (!this.#consent || !this.#usable) return;
    const records = events.map(asEvent).filter((e) => e !== undefined);
    void this.#enqueue("writing events", async () => {
      this.#stored = await withEvents(await this.#database(), "readwrite", async (store) => {
        for (const record of records) store.add(record);
        return prune(store, this.#settings);
      });
    });
  }

  /**
   * Deletes every stored event (with consent: empties the store, opening it again if it failed to
   * open before; without: deletes the database again).
   */
  clear(): Promise<void> {
    return this.#enqueue("deleting the stored events", async () => {
      if (!this.#consent) return this.#wipe();
      if (!this.#usable && !indexedDbHere()) return; // nothing can have been stored
      await withEvents(await this.#database(), "readwrite", async (store) => {
        store.clear();
      });
      this.#usable = true;
      this.#stored = 0;
    });
  }

  /** Turns recording on (from now on) or off (nothing more is written and the database is deleted). */
  setConsent(consent: boolean): Promise<void> {
    if (typeof consent !== "boolean") {
      throw new EdgerecError("INVALID_ARGUMENT", `invalid argument \`consent\`: expected true or false, got ${JSON.stringify(consent)}`);
    }
    if (consent === this.#consent) return this.#enqueue("changing consent", async () => undefined);
    this.#consent = consent;
    // Writes from now on queue behind the opening (and report there if it fails).
    if (consent) this.#usable = true;
    return this.#enqueue(consent ? "opening the event store" : "deleting the event store", async () => {
      if (!consent) return this.#wipe();
      this.#stored = await withEvents(await this.#database(), "readonly", (store) => asked(store.count()));
    });
  }

  /** The stored events, oldest first, once every write before this call has landed; none without consent or storage. */
  async read(): Promise<ShopperEvent[]> {
    const events = await this.#enqueue("reading the stored events", async () => {
      if (!this.#consent || !this.#usable) return [];
      const values = await withEvents(await this.#database(), "readonly", (store) => asked(store.index(BY_TIME).getAll()));
      return values.map(asEvent).filter((e) => e !== undefined);
    });
    return events ?? [];
  }

  /** Closes the connection once the pending writes have landed. */
  close(): void {
    void this.#enqueue("closing the event store", async () => {
      this.#usable = false;
      this.#db?.close();
      this.#db = undefined;
    });
  }

  /** Runs `operation` after every earlier one; a failure is reported (not thrown) and gives `undefined`. */
  #enqueue<T>(doing: string, operation: () => Promise<T>): Promise<T | undefined> {
    const next = this.#queue.then(operation).catch((e: unknown) => {
      this.#report(e, doing);
      return undefined;
    });
    this.#queue = next;
    return next;
  }

  #report(e: unknown, doing: string): void {
    let failure: PersistError;
    if (e instanceof StoreFailure) failure = { code: e.code, message: e.message };
    else if ((e as { name?: unknown })?.name === "QuotaExceededError") {
      failure = { code: "QUOTA_EXCEEDED", message: `${doing} failed: the browser's storage quota is used up (${described(e)}); the events stay in memory` };
    } else failure = { code: "STORAGE_FAILED", message: `${doing} failed (${described(e)}); the events stay in memory` };
    if (failure.code === "UNAVAILABLE" || failure.code === "BLOCKED") this.#usable = false;
    this.#error = failure;
    try {
      this.#settings.onError?.({ ...failure });
    } catch (thrown) {
      // The shop's callback failed: surface that as an uncaught error, without stopping the store.
      setTimeout(() => {
        throw thrown;
      });
    }
  }

  /** The open connection: opening (creating) the database when there is none. */
  async #database(): Promise<IDBDatabase> {
    if (this.#db) return this.#db;
    const factory = indexedDbHere();
    if (!factory) {
      throw new StoreFailure("UNAVAILABLE", "there is no IndexedDB here (Node, Deno and workerd have none): events are kept in memory only");
    }
    let db: IDBDatabase;
    try {
      db = await openDatabase(factory, this.#settings.name);
    } catch (e) {
      // open() itself throws where storage is forbidden (an opaque origin, some private modes).
      throw e instanceof StoreFailure ? e : new StoreFailure("UNAVAILABLE", `IndexedDB refused to open "${this.#settings.name}" (${described(e)}); events are kept in memory only`);
    }
    if (!db.objectStoreNames.contains(STORE)) {
      db.close();
      throw new StoreFailure("UNAVAILABLE", `IndexedDB database "${this.#settings.name}" exists without an "${STORE}" store (another script made it); events are kept in memory only`);
    }
    // Another context deletes or upgrades the database, or the browser closes it (site data
    // cleared): let go, and open it again on the next write.
    const release = () => {
      if (this.#db === db) this.#db = undefined;
    };
    db.onversionchange = () => {
      db.close();
      release();
    };
    db.onclose = release;
    this.#db = db;
    return db;
  }

  /** Opens the database and hands its usable events to `accept`, deleting the rest. */
  async #load(accept: (events: ShopperEvent[]) => void): Promise<void> {
    const db = await this.#database();
    this.#usable = true;
    const { kept, corrupt } = await withEvents(db, "readwrite", async (store) => {
      const keys = await asked(store.getAllKeys());
      const values = await asked(store.getAll());
      const cutoff = Date.now() - this.#settings.days * DAY_MS;
      let fresh: { key: IDBValidKey; event: ShopperEvent }[] = [];
      let corrupt = 0;
      values.forEach((value, i) => {
        const event = asEvent(value);
        if (event === undefined) corrupt += 1;
        if (event === undefined || event.ts < cutoff) store.delete(keys[i]);
        else fresh.push({ key: keys[i], event });
      });
      fresh.sort((a, b) => a.event.ts - b.event.ts);
      for (const { key } of fresh.slice(0, Math.max(0, fresh.length - this.#settings.maxEvents))) store.delete(key);
      fresh = fresh.slice(-this.#settings.maxEvents);
      return { kept: fresh, corrupt };
    });
    const refused = takeEach(kept, accept);
    if (refused.length) {
      await withEvents(db, "readwrite", async (store) => {
        for (const { key } of refused) store.delete(key);
      });
    }
    this.#stored = kept.length - refused.length;
    if (corrupt + refused.length > 0) {
      const why = [corrupt ? `${corrupt} not an event` : "", refused.length ? `${refused.length} refused by this bundle (${refused[0].reason})` : ""];
      throw new StoreFailure("RECORDS_SKIPPED", `${corrupt + refused.length} stored records were skipped and deleted: ${why.filter(Boolean).join(", ")}; the other ${this.#stored} were loaded`);
    }
  }

  /** Closes the connection and deletes the database. */
  async #wipe(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
    const factory = indexedDbHere();
    if (factory) await deleteDatabase(factory, this.#settings.name);
    this.#stored = 0;
  }
}

/** Hands `kept` to `accept` in one batch, or one by one when the batch is refused; returns the refused, with why. */
function takeEach<K>(kept: { key: K; event: ShopperEvent }[], accept: (events: ShopperEvent[]) => void): { key: K; reason: string }[] {
  try {
    if (kept.length) accept(kept.map((k) => k.event));
    return [];
  } catch {
    const refused: { key: K; reason: string }[] = [];
    for (const { key, event } of kept) {
      try {
        accept([event]);
      } catch (e) {
        refused.push({ key, reason: (e as { code?: string }).code ?? described(e) });
      }
    }
    return refused;
  }
}

/** A key per event, equal for equal events. */
const eventKey = (e: ShopperEvent) => JSON.stringify([e.type, e.item, e.ts, e.price ?? null]);

/**
 * The shopper's events as JSON, `{ exportedAt, events }`: those `held` in memory and those in
 * `store` (another tab's too), each once, oldest first, with only the fields an event has.
 */
export async function exportEvents(held: ShopperEvent[], store: EventStore | undefined): Promise<string> {
  const events = held.map(asEvent).filter((e) => e !== undefined);
  const inMemory = new Map<string, number>();
  for (const e of events) inMemory.set(eventKey(e), (inMemory.get(eventKey(e)) ?? 0) + 1);
  for (const e of store ? await store.read() : []) {
    const left = inMemory.get(eventKey(e)) ?? 0;
    if (left > 0) inMemory.set(eventKey(e), left - 1);
    else events.push(e);
  }
  events.sort((a, b) => a.ts - b.ts);
  return JSON.stringify({ exportedAt: new Date().toISOString(), events }, null, 2);
}
