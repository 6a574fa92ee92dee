/**
 * edgerec: recommendations from a shopper's recent events, computed on the device.
 *
 * ```js
 * const rec = await Edgerec.create({ bundle: "/models/grocery/" }); // the demo bundle, served
 * rec.observe({ type: "view", item: "981760", ts: Date.now() });    // an item id of its catalogue
 * const top = await rec.recommend({ k: 12 });
 * ```
 * An edge function creates one engine per isolate and keeps each shopper in a session:
 * `rec.session(key).observe(…)`, with `key` a credential the server issued.
 * This entry imports nothing of Node: browsers, workers and bundlers get it; Node and Deno get
 * `index-node.js`, the same API reading the package's wasm from disk.
 * @module
 */
import type { Engine } from "../pkg/edgerec.js";
import { Contained } from "./contain.js";
import { downloadLimits, throwIfAborted, type DownloadLimits } from "./download.js";
import { EdgerecError } from "./errors.js";
import { checkListedSize, checkManifestFileSize, fetchBundle, parseManifest, platformDigests, type FetchedBundle, type FileChoice } from "./fetch-bundle.js";
import { pinnedKeys } from "./keys.js";
import { EventStore, exportEvents, persistSettings } from "./persist.js";
import { createOptions, plain } from "./plain.js";
import { acceptRelease } from "./releases.js";
import type {
  Backend,
  BuildChoice,
  BuildName,
  BundleBytes,
  CacheMode,
  CreateOptions,
  Device,
  Manifest,
  Persistence,
  Quote,
  QuoteOptions,
  Recommendation,
  Reason,
  RecommendOptions,
  SessionStats,
  ShopperEvent,
} from "./types.js";
import { loadWasm, type GpuEngine } from "./wasm-loader.js";

export { EdgerecError } from "./errors.js";
export type * from "./codes.js";
export type * from "./types.js";

const DEVICES: readonly Device[] = ["auto", "cpu", "gpu"];
const BUILD_CHOICES: readonly BuildChoice[] = ["auto", "onnx"];
const CACHE_MODES: readonly CacheMode[] = ["auto", "memory", "none"];

/**
 * `device: "auto"` ranks on the GPU only for catalogues of at least this many items, and only on
 * a hardware adapter: below it the wasm CPU path answers before a WebGPU readback could (see
 * the README's performance section for the measurements behind it).
 */
export const AUTO_GPU_MIN_ITEMS = 100_000;

/** How sessions reach their engine: the raw engine, alone in its wasm instance, and its build. */
interface EngineAccess {
  readonly engine: Contained<Engine>;
  readonly build: BuildName;
}

/**
 * One shopper's session: their events, the encoder's last answer for them, and the prices quoted
 * to them. Sessions of one engine never see each other's. Get the page's own shopper as
 * `rec.shopper` (its calls are also `rec.observe`, `rec.recommend`, …), and any other from
 * `rec.session(key)`.
 */
export class Session {
  readonly #engine: EngineAccess;
  readonly #key: string | undefined;
  readonly #store: EventStore | undefined;

  /**
   * @internal Sessions come from `Edgerec`: `rec.shopper`, `rec.session(key)`. `store`: where the
   * page's own shopper's events are also kept (`CreateOptions.persist`).
   */
  constructor(engine: EngineAccess, key: string | undefined, store?: EventStore) {
    this.#engine = engine;
    this.#key = key;
    this.#store = store;
  }

  /** The session's key in the engine's store; `undefined` for the page's own shopper. */
  get key(): string | undefined {
    return this.#key;
  }

  /** The events held (the last 1,000; the model reads the last `seqLen`), oldest first. */
  get events(): ShopperEvent[] {
    return this.#engine.engine.call((e) => e.events(this.#key)) as ShopperEvent[];
  }

  /** Adds one event; an invalid event throws and changes nothing. */
  observe(event: ShopperEvent): void {
    this.observeMany([event]);
  }

  /** Adds events: all of them, or none if any is invalid. At most 1,000 per call. */
  observeMany(events: ShopperEvent[]): void {
    // The core's count check, before any event is read.
    const copied = plain(events, "events", (count) => this.#engine.engine.call((e) => e.checkEventCount(count))) as ShopperEvent[];
    this.#engine.engine.call((e) => e.observe(this.#key, copied));
    // The copy the core accepted: the caller's array is never read again.
    this.#store?.record(copied);
  }

  /** The top `k` items for the session (or, on the page's own shopper, for `options.events`). */
  async recommend(options: RecommendOptions = {}): Promise<Recommendation[]> {
    const { events, ...request } = (plain(options, "options") ?? {}) as RecommendOptions;
    const { engine, build } = this.#engine;
    if (build === "gpu") {
      return (await engine.callAsync((e) => (e as GpuEngine).recommendOnGpu(this.#key, request, events))) as Recommendation[];
    }
    return engine.call((e) => e.recommend(this.#key, request, events)) as Recommendation[];
  }

  /**
   * Personalised prices for `items` inside the merchant's guardrails, one per item in order. An
   * item keeps its first price for the rest of the session. Needs a bundle with a price head
   * (`PRICING_UNAVAILABLE` otherwise). With `explain: true`, each quote carries its
   * `explanation`: the demand curve, each guardrail's bound and the objective it was priced with.
   */
  async quote(items: string[], options: QuoteOptions = {}): Promise<Quote[]> {
    const ids = plain(items, "items");
    const { events, ...rest } = (plain(options, "options") ?? {}) as QuoteOptions;
    return this.#engine.engine.call((e) => e.quote(this.#key, ids, rest, events)) as Quote[];
  }

  /**
   * Why each of `items` would be recommended to this shopper: up to 3 of their recent events
   * whose absence lowers its score most, largest effect first (as `recommend({ explain: true })`
   * gives them for the items it returns).
   */
  async explain(items: string[]): Promise<Reason[][]> {
    const ids = plain(items, "items");
    return this.#engine.engine.call((e) => e.explain(this.#key, ids, undefined)) as Reason[][];
  }

  /**
   * Wipes every event the engine holds for this shopper, and the prices quoted to them; with
   * `persist`, the stored events too (resolving once they are deleted).
   */
  async forget(): Promise<void> {
    this.#engine.engine.call((e) => e.forget(this.#key));
    await this.#store?.clear();
  }
}

/**
 * One loaded model bundle: the model, shared by every session, and the page's own shopper.
 * Create with `Edgerec.create`; a shop page calls `rec.observe`, `rec.recommend` and `rec.quote`
 * for its one shopper; an edge function keeps each shopper in `rec.session(key)`.
 */
export class Edgerec {
  /** The raw engine, alone in its own wasm instance: a trap there fails this engine only. */
  readonly #engine: Contained<Engine>;
  readonly #manifest: Manifest;
  readonly #build: BuildName;
  readonly #shopper: Session;
  readonly #store: EventStore | undefined;

  private constructor(engine: Contained<Engine>, build: BuildName, store: EventStore | undefined) {
    this.#engine = engine;
    this.#manifest = engine.call((e) => e.manifest()) as Manifest;
    this.#build = build;
    this.#store = store;
    this.#shopper = new Session(this.#access(), undefined, store);
  }

  /**
   * Fetches or takes the bundle (only the files its build reads), instantiates the wasm build it
   * needs (compiled once per JS module, one instance per engine), and verifies and loads the
   * bundle: no file is hashed twice.
   */
  static async create(given: CreateOptions): Promise<Edgerec> {
    const options = createOptions(given);
    refuseUnknown("options", options, CREATE_OPTIONS);
    const device = options?.device ?? "auto";
    if (!DEVICES.includes(device)) {
      throw new EdgerecError("INVALID_ARGUMENT", `invalid argument \`device\`: expected "auto", "cpu" or "gpu", got ${JSON.stringify(device)}`);
    }
    if (!BUILD_CHOICES.includes(options?.build ?? "auto")) {
      throw new EdgerecError("INVALID_ARGUMENT", `invalid argument \`build\`: expected "auto" or "onnx", got ${JSON.stringify(options.build)}`);
    }
    if (options?.cache !== undefined && !CACHE_MODES.includes(options.cache)) {
      throw new EdgerecError("INVALID_ARGUMENT", `invalid argument \`cache\`: expected "auto", "memory" or "none", got ${JSON.stringify(options.cache)}`);
    }
    if (!options?.bundle) {
      throw new EdgerecError("INVALID_ARGUMENT", "invalid argument `bundle`: a base URL or the bundle's files as bytes");
    }
    const persist = options.persist === undefined ? undefined : persistSettings(options.persist);
    const keys = pinnedKeys(options.publicKey);
    const limits = downloadLimits(options);
    throwIfAborted(limits.signal);
    let build = "cpu" as BuildName;
    const bundle = await readBundle(options, keys.length > 0, limits, (parsed) => {
      build = chooseBuild(options.build ?? "auto", device, parsed);
      return filesRead(build, parsed);
    });
    const source = { cpu: options.wasm, gpu: options.gpuWasm, onnx: options.onnxWasm }[build];
    const glue = await loadWasm(build, source);
    throwIfAborted(limits.signal);
    const engine = Contained.create(
      () => new glue.Engine(bundle.manifest, bundle.signature, bundle.files, keys.length > 0 ? keys : undefined, options.pricing, bundle.digests, options.sessions),
    );
    try {
      await acceptRelease(keys, (engine.call((e) => e.manifest()) as Manifest).release, options.cache ?? "auto");
    } catch (e) {
      engine.dispose();
      throw e;
    }
    if (build === "gpu") {
      // A missing adapter or a failed request leaves the engine on the CPU: never an error.
      await engine.callAsync((e) => (e as GpuEngine).useGpu(device === "gpu"));
    }
    // The shopper's stored events into the page's own session; the store never fails `create`.
    const store = persist && (await EventStore.open(persist, (events) => engine.call((e) => e.observe(undefined, plain(events, "events")))));
    return new Edgerec(engine, build, store);
  }

  /** The wasm build this engine runs on: `"cpu"`, `"gpu"` or `"onnx"` (see `CreateOptions.build`). */
  get build(): BuildName {
    return this.#build;
  }

  /** The bundle's manifest. */
  get manifest(): Manifest {
    return this.#manifest;
  }

  /** The model's version, from the manifest. */
  get modelVersion(): string {
    return this.#manifest.modelVersion;
  }

  /**
   * Where scoring runs now: `"gpu"` (WebGPU) or `"cpu"`. A lost GPU device turns it to `"cpu"`
   * on the next call; rankings are the same on both.
   */
  get backend(): Backend {
    return this.#engine.call((e) => e.backend) as Backend;
  }

  /** The page's own shopper: the session `observe`, `recommend`, `quote`, `explain` and `forget` act on. */
  get shopper(): Session {
    return this.#shopper;
  }

  /**
   * The session of `key` in the engine's store (created empty on first use): one per shopper of
   * an edge function, keyed by a credential the server issued (never one the client chose). The
   * store keeps at most `CreateOptions.sessions`' caps; the least recently used and the idle go
   * first, so a session may come back empty. Keys are 1 to 128 bytes of UTF-8, with no lone
   * surrogate (which UTF-8 cannot hold: "\ud800" and "\udc00" would be one key) (`INVALID_ARGUMENT`).
   */
  session(key: string): Session {
    this.#engine.call(() => undefined); // DISPOSED or ENGINE_FAILED now, not at the first use
    if (typeof key !== "string" || LONE_SURROGATE.test(key) || !(key.length > 0 && UTF8.encode(key).length <= MAX_KEY_BYTES)) {
      throw new EdgerecError("INVALID_ARGUMENT", "invalid argument `session`: a session key is a string of 1 to 128 bytes of UTF-8, with no lone surrogate");
    }
    return new Session(this.#access(), key);
  }

  /** What the store of keyed sessions holds, against its caps. */
  get sessions(): SessionStats {
    return this.#engine.call((e) => e.sessionStats()) as SessionStats;
  }

  /** The events held for the page's own shopper, oldest first (`shopper.events`). */
  get events(): ShopperEvent[] {
    return this.#shopper.events;
  }

  /** Adds one event to the page's own shopper; an invalid event throws and changes nothing. */
  observe(event: ShopperEvent): void {
    this.#shopper.observe(event);
  }

  /** Adds events to the page's own shopper: all of them, or none if any is invalid. At most 1,000 per call. */
  observeMany(events: ShopperEvent[]): void {
    this.#shopper.observeMany(events);
  }

  /** The top `k` items for the page's own shopper, or for `options.events` (touching no session). */
  recommend(options: RecommendOptions = {}): Promise<Recommendation[]> {
    return this.#shopper.recommend(options);
  }

  /** Prices for the page's own shopper (or for `options.events`, remembered nowhere): see `Session.quote`. */
  quote(items: string[], options: QuoteOptions = {}): Promise<Quote[]> {
    return this.#shopper.quote(items, options);
  }

  /** Why each of `items` would be recommended to the page's own shopper: see `Session.explain`. */
  explain(items: string[]): Promise<Reason[][]> {
    return this.#shopper.explain(items);
  }

  /** Wipes every event the engine holds for the page's own shopper, and the prices quoted to them (and, with `persist`, the stored events). */
  forget(): Promise<void> {
    return this.#shopper.forget();
  }

  /** The event store's state (`CreateOptions.persist`): consent, where events go, how many are stored, the latest failure. */
  get persistence(): Persistence | undefined {
    return this.#store?.status;
  }

  /**
   * The shopper's consent to keeping their events on the device (needs `persist`): `false` stops
   * writing and deletes the stored events; `true` writes from now on. Resolves once done.
   */
  async setConsent(consent: boolean): Promise<void> {
    this.#engine.call(() => undefined); // DISPOSED or ENGINE_FAILED first
    if (!this.#store) throw new EdgerecError("INVALID_ARGUMENT", "setConsent needs an engine created with `persist`");
    await this.#store.setConsent(consent);
  }

  /** The page's own shopper's events as JSON, `{ exportedAt, events }`: in memory and in storage, each once, oldest first. */
  async exportEvents(): Promise<string> {
    return exportEvents(this.events, this.#store);
  }

  /**
   * Frees the engine's memory, every session's included (and closes the event store); any later
   * call throws `DISPOSED`. Safe to call twice, and on an engine whose wasm trapped (`ENGINE_FAILED`).
   */
  dispose(): void {
    this.#engine.dispose();
    this.#store?.close();
  }

  #access(): EngineAccess {
    return { engine: this.#engine, build: this.#build };
  }
}

/** The longest session key, in bytes of UTF-8 (the core's `MAX_KEY_BYTES`). */
const MAX_KEY_BYTES = 128;
const UTF8 = new TextEncoder();

/** A UTF-16 surrogate not in a pair (a pair matches as one code point under the `u` flag). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** The options `Edgerec.create` knows. */
const CREATE_OPTIONS: readonly (keyof CreateOptions)[] = [
  "bundle", "device", "build", "publicKey", "onProgress", "cache", "wasm", "gpuWasm", "onnxWasm", "fetch", "timeoutMs", "retries", "signal", "pricing", "sessions", "persist",
];

/** Refuses an options object with a field not in `known` (a typo would otherwise be ignored). */
function refuseUnknown(name: string, options: object | undefined, known: readonly string[]): void {
  if (typeof options !== "object" || options === null) return;
  const unknown = Object.keys(options).find((key) => !known.includes(key));
  if (unknown !== undefined) {
    throw new EdgerecError("INVALID_ARGUMENT", `invalid argument \`${name}\`: unknown option ${JSON.stringify(unknown)}, expected one of ${known.join(", ")}`);
  }
}

/** The manifest's `files`, or none when it has no such object (the engine reports that). */
function listed(manifest: Partial<Manifest> | undefined): Record<string, unknown> {
  const files = manifest?.files;
  return typeof files === "object" && files !== null ? files : {};
}

/**
 * Which of the manifest's files a build reads: the default and GPU builds the plain weights and
 * never the ONNX graphs; the ONNX build the graphs, and the price head's plain weights only where
 * the bundle has no `price.onnx`. Nothing else is fetched or hashed.
 */
function filesRead(build: BuildName, manifest: Partial<Manifest> | undefined): (name: string) => boolean {
  const files = listed(manifest);
  if (build !== "onnx") return (name) => Object.hasOwn(files, name) && !name.endsWith(".onnx");
  const unread = new Set([manifest?.encoder?.weights, "price.onnx" in files ? manifest?.priceHead?.weights : undefined]);
  return (name) => Object.hasOwn(files, name) && !unread.has(name);
}

/**
 * The build to load: the ONNX build when asked, or when one of the bundle's models comes only as
 * ONNX (no `encoder` entry, or a `price.onnx` without a `priceHead` entry); else the GPU build when WebGPU exists here and the device asks for it
 * (for `"auto"`, a catalogue large enough to gain; the adapter is checked when the device is
 * requested); else the default CPU build, which also reports a manifest that does not parse.
 */
function chooseBuild(choice: BuildChoice, device: Device, manifest: Partial<Manifest> | undefined): BuildName {
  if (manifest === undefined) return "cpu";
  const onnxOnly = manifest?.encoder == null || (manifest?.priceHead == null && "price.onnx" in listed(manifest));
  if (choice === "onnx" || onnxOnly) return "onnx";
  const gpu = (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu;
  if (!gpu || device === "cpu") return "cpu";
  return device === "gpu" || (manifest.itemCount ?? 0) >= AUTO_GPU_MIN_ITEMS ? "gpu" : "cpu";
}

async function readBundle(options: CreateOptions, wantSignature: boolean, limits: DownloadLimits, wanted: FileChoice): Promise<FetchedBundle> {
  const { bundle } = options;
  if (typeof bundle === "string" || bundle instanceof URL) {
    return fetchBundle(baseUrl(bundle), {
      limits,
      cache: options.cache ?? "auto",
      wantSignature,
      onProgress: options.onProgress,
      wanted,
    });
  }
  return splitBytes(bundle, wanted);
}

function baseUrl(bundle: string | URL): URL {
  const text = bundle.toString();
  const withSlash = text.endsWith("/") ? text : `${text}/`;
  try {
    return new URL(withSlash, globalThis.location?.href);
  } catch {
    throw new EdgerecError("INVALID_ARGUMENT", `invalid argument \`bundle\`: ${JSON.stringify(text)} is not a URL`);
  }
}

/** The files given as bytes that the build reads, with their digests where Web Crypto exists. */
async function splitBytes(bundle: BundleBytes, wanted: FileChoice): Promise<FetchedBundle> {
  const { "manifest.json": manifest, "manifest.sig": signature, ...given } = bundle;
  // Every file is a genuine Uint8Array here (createOptions checked); the manifest and signature
  // are copied too, since the core reads them after the checks below.
  if (manifest === undefined) throw new EdgerecError("MISSING_FILE", 'bundle file "manifest.json" is missing');
  checkManifestFileSize("manifest.json", manifest.byteLength);
  if (signature) checkManifestFileSize("manifest.sig", signature.byteLength);
  const parsed = parseManifest(manifest);
  const reads = wanted(parsed);
  const read = Object.entries(given).filter(([name]) => reads(name));
  // A file of another size than listed is refused before it is copied or hashed.
  for (const [name, bytes] of read) checkListedSize(parsed, name, bytes.byteLength);
  // Copies: the caller's arrays could change after they are hashed here and before the core reads
  // them, and the core trusts these digests.
  const files = Object.fromEntries(read.map(([name, bytes]) => [name, bytes.slice()]));
  return { manifest: manifest.slice(), signature: signature?.slice(), files, digests: await platformDigests(files) };
}
