/**
 * edgerec: recommendations from a shopper's recent events, computed on the device.
 *
 * ```js
 * const rec = await Edgerec.create({ bundle: "/models/grocery/" }); // the demo bundle, served
 * rec.observe({ type: "view", item: "981760", ts: Date.now() });    // an item id of its catalogue
 * const top = await rec.recommend({ k: 12 });
 * ```
 * This entry imports nothing of Node: browsers, workers and bundlers get it; Node and Deno get
 * `index-node.js`, the same API reading the package's wasm from disk.
 * @module
 */
import type { Engine } from "../pkg/edgerec.js";
import { downloadLimits, throwIfAborted, type DownloadLimits } from "./download.js";
import { EdgerecError, rethrowing } from "./errors.js";
import { fetchBundle, platformDigests, type FetchedBundle, type FileChoice } from "./fetch-bundle.js";
import { pinnedKeys } from "./keys.js";
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
  Quote,
  QuoteOptions,
  Recommendation,
  RecommendOptions,
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

/** One loaded model bundle and one shopper's session. Create with `Edgerec.create`. */
export class Edgerec {
  #engine: Engine | undefined;
  readonly #manifest: Manifest;
  readonly #build: BuildName;

  private constructor(engine: Engine, build: BuildName) {
    this.#engine = engine;
    this.#manifest = engine.manifest() as Manifest;
    this.#build = build;
  }

  /**
   * Fetches or takes the bundle (only the files its build reads), loads the wasm build it needs
   * (once per JS module), and verifies and loads the bundle: no file is hashed twice.
   */
  static async create(options: CreateOptions): Promise<Edgerec> {
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
    const keys = pinnedKeys(options.publicKey);
    const limits = downloadLimits(options);
    throwIfAborted(limits.signal);
    let build = "cpu" as BuildName;
    const bundle = await readBundle(options, keys.length > 0, limits, (manifest) => {
      const parsed = parseManifest(manifest);
      build = chooseBuild(options.build ?? "auto", device, parsed);
      return filesRead(build, parsed);
    });
    const source = { cpu: options.wasm, gpu: options.gpuWasm, onnx: options.onnxWasm }[build];
    const glue = await loadWasm(build, source);
    throwIfAborted(limits.signal);
    const engine = rethrowing(
      () => new glue.Engine(bundle.manifest, bundle.signature, bundle.files, keys.length > 0 ? keys : undefined, options.pricing, bundle.digests),
    );
    try {
      await acceptRelease(keys, (engine.manifest() as Manifest).release, options.cache ?? "auto");
    } catch (e) {
      engine.free();
      throw e;
    }
    if (build === "gpu") {
      // A missing adapter or a failed request leaves the engine on the CPU: never an error.
      await (engine as GpuEngine).useGpu(device === "gpu");
    }
    return new Edgerec(engine, build);
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
    return this.#live().backend as Backend;
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
    if (this.#build === "gpu") {
      const pending = rethrowing(() => (this.#live() as GpuEngine).recommendOnGpu(options));
      return (await pending) as Recommendation[];
    }
    return rethrowing(() => this.#live().recommend(options)) as Recommendation[];
  }

  /**
   * Personalised prices for `items` inside the merchant's guardrails, one per item in order. An
   * item keeps its first price for the rest of the session (or `sessionKey`). Needs a bundle with
   * a price head (`PRICING_UNAVAILABLE` otherwise). With `explain: true`, each quote carries its
   * `explanation`: the demand curve, each guardrail's bound and the objective it was priced with.
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

/** The manifest as JSON, or `undefined` when it does not parse (the engine reports that). */
function parseManifest(bytes: Uint8Array): Partial<Manifest> | undefined {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as Partial<Manifest>;
  } catch {
    return undefined;
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
  if (!(manifest instanceof Uint8Array)) {
    throw new EdgerecError("MISSING_FILE", 'bundle file "manifest.json" is missing');
  }
  for (const [name, bytes] of Object.entries({ "manifest.sig": signature ?? new Uint8Array(), ...given })) {
    if (!(bytes instanceof Uint8Array)) {
      throw new EdgerecError("INVALID_ARGUMENT", `invalid argument \`files\`: ${JSON.stringify(name)} must be a Uint8Array`);
    }
  }
  const reads = wanted(manifest);
  // Copies: the caller's arrays could change after they are hashed here and before the core reads
  // them, and the core trusts these digests.
  const files = Object.fromEntries(Object.entries(given).filter(([name]) => reads(name)).map(([name, bytes]) => [name, bytes.slice()]));
  return { manifest, signature, files, digests: await platformDigests(files) };
}
