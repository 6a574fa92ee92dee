/**
 * edgerec: recommendations from a shopper's recent events, computed on the device.
 *
 * ```js
 * const rec = await Edgerec.create({ bundle: "https://cdn.example/models/grocery/" });
 * rec.observe({ type: "view", item: "SKU-1234", ts: Date.now() });
 * const top = await rec.recommend({ k: 12 });
 * ```
 * @module
 */
import { Engine } from "../pkg/edgerec.js";
import { EdgerecError, rethrowing } from "./errors.js";
import { fetchBundle, type FetchedBundle } from "./fetch-bundle.js";
import type {
  BundleBytes,
  CreateOptions,
  Device,
  Manifest,
  Quote,
  QuoteOptions,
  Recommendation,
  RecommendOptions,
  ShopperEvent,
} from "./types.js";
import { loadWasm } from "./wasm-loader.js";

export { EdgerecError } from "./errors.js";
export type * from "./types.js";

const DEVICES: readonly Device[] = ["auto", "cpu", "gpu"];

/** One loaded model bundle and one shopper's session. Create with `Edgerec.create`. */
export class Edgerec {
  #engine: Engine | undefined;
  readonly #manifest: Manifest;

  private constructor(engine: Engine) {
    this.#engine = engine;
    this.#manifest = engine.manifest() as Manifest;
  }

  /** Loads the wasm (once), fetches or takes the bundle, verifies it and optimises the model. */
  static async create(options: CreateOptions): Promise<Edgerec> {
    const device = options?.device ?? "auto";
    if (!DEVICES.includes(device)) {
      throw new EdgerecError("INVALID_ARGUMENT", `invalid argument \`device\`: expected "auto", "cpu" or "gpu", got ${JSON.stringify(device)}`);
    }
    if (!options?.bundle) {
      throw new EdgerecError("INVALID_ARGUMENT", "invalid argument `bundle`: a base URL or the bundle's files as bytes");
    }
    const [bundle] = await Promise.all([readBundle(options), loadWasm(options.wasm)]);
    const engine = rethrowing(() => new Engine(bundle.manifest, bundle.signature, bundle.files, options.publicKey, options.pricing));
    return new Edgerec(engine);
  }

  /** The bundle's manifest. */
  get manifest(): Manifest {
    return this.#manifest;
  }

  /** The model's version, from the manifest. */
  get modelVersion(): string {
    return this.#manifest.modelVersion;
  }

  /** Where scoring runs: `"cpu"` in this build. */
  get backend(): "cpu" {
    return "cpu";
  }

  /** The events held in the session (the last 1,000; the model reads the last `seqLen`), oldest first. */
  get events(): ShopperEvent[] {
    return rethrowing(() => this.#live().session()) as ShopperEvent[];
  }

  /** Adds one event to the session; an invalid event throws and changes nothing. */
  observe(event: ShopperEvent): void {
    this.observeMany([event]);
  }

  /** Adds events to the session: all of them, or none if any is invalid. At most 1,000 per call. */
  observeMany(events: ShopperEvent[]): void {
    rethrowing(() => this.#live().observe(events));
  }

  /** The top `k` items for the session, or for `options.events` (leaving the session untouched). */
  async recommend(options: RecommendOptions = {}): Promise<Recommendation[]> {
    return rethrowing(() => this.#live().recommend(options)) as Recommendation[];
  }

  /**
   * Personalised prices for `items` inside the merchant's guardrails, one per item in order. An
   * item keeps its first price for the rest of the session (or `sessionKey`). Needs a bundle with
   * a price head (`PRICING_UNAVAILABLE` otherwise).
   */
  async quote(items: string[], options: QuoteOptions = {}): Promise<Quote[]> {
    return rethrowing(() => this.#live().quote(items, options)) as Quote[];
  }

  /** Wipes every event the engine holds for this shopper, and the prices quoted to them. */
  async forget(): Promise<void> {
    rethrowing(() => this.#live().forget());
  }

  /** Frees the engine's memory; any later call throws `DISPOSED`. Safe to call twice. */
  dispose(): void {
    this.#engine?.free();
    this.#engine = undefined;
  }

  #live(): Engine {
    if (!this.#engine) throw new EdgerecError("DISPOSED", "this engine was disposed; create a new one");
    return this.#engine;
  }
}

async function readBundle(options: CreateOptions): Promise<FetchedBundle> {
  const { bundle } = options;
  if (typeof bundle === "string" || bundle instanceof URL) {
    const fetchFn = options.fetch ?? globalThis.fetch;
    return fetchBundle(baseUrl(bundle), {
      fetch: fetchFn,
      cache: options.cache ?? "auto",
      wantSignature: options.publicKey !== undefined,
      onProgress: options.onProgress,
    });
  }
  return splitBytes(bundle);
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

function splitBytes(bundle: BundleBytes): FetchedBundle {
  const { "manifest.json": manifest, "manifest.sig": signature, ...files } = bundle;
  if (!(manifest instanceof Uint8Array)) {
    throw new EdgerecError("MISSING_FILE", 'bundle file "manifest.json" is missing');
  }
  return { manifest, signature, files };
}
