import type { QuoteReason } from "./codes.js";

/** What the shopper did with an item. */
export type EventType = "view" | "cart" | "purchase";

/** One shopper event. */
export interface ShopperEvent {
  /** What happened. */
  type: EventType;
  /** The item's id: the shop's SKU, as listed in the bundle's `items.json`. */
  item: string;
  /** When, in milliseconds since the Unix epoch (`Date.now()`); at most 5 minutes in the future. */
  ts: number;
  /** The price the shopper saw, if known: finite and not negative. */
  price?: number;
}

/** Where scoring runs. This build scores on the CPU; `"gpu"` and `"auto"` fall back to it. */
export type Device = "auto" | "cpu" | "gpu";

/** Where scoring runs now: the GPU through WebGPU, or the CPU (wasm SIMD128). */
export type Backend = "cpu" | "gpu";

/** Where verified bundle files are kept between `create` calls. */
export type CacheMode =
  /** The Cache API where the runtime has one (browsers, workers), else memory. */
  | "auto"
  /** In memory, for the life of the JS module (one page, one isolate). */
  | "memory"
  /** Nowhere: every `create` downloads the bundle again. */
  | "none";

/** A bundle's files as bytes, keyed by file name; `manifest.json` is required. */
export type BundleBytes = Record<string, Uint8Array>;

/** Download progress, reported as bundle bytes arrive or come from the cache. */
export interface Progress {
  /** The file this report is about. */
  file: string;
  /** Bytes of the whole bundle available so far. */
  loaded: number;
  /** Bytes of the whole bundle, from its manifest. */
  total: number;
  /** Whether this file came from the cache rather than the network. */
  cached: boolean;
}

// The types below name `URL`, `WebAssembly.Module` and `fetch` through `globalThis`, so that they
// check in any program (a browser's DOM library, Node's types, or `--lib es2022` alone), each
// being what the program's own types declare.

/** `URL`, where the program's types declare it. */
export type UrlLike = typeof globalThis extends { URL: { prototype: infer U } } ? U : never;

/** `WebAssembly.Module`, where the program's types declare it; else any object. */
export type WasmModule = typeof globalThis extends { WebAssembly: { Module: { prototype: infer M } } } ? M : object;

/** `AbortSignal`, where the program's types declare it. */
export type AbortSignalLike = typeof globalThis extends { AbortSignal: { prototype: infer S } } ? S : { readonly aborted: boolean };

/** The type of `fetch`, where the program's types declare it. */
export type FetchFunction = typeof globalThis extends { fetch: infer F } ? F : (input: string, init?: object) => Promise<unknown>;

/**
 * The engine's WebAssembly: a compiled module (how Cloudflare Workers import a `.wasm`), its bytes,
 * or its URL (what a bundler's asset import of `edgerec/edgerec.wasm` gives; in Node, Deno and Bun
 * a `file:` URL is read from disk).
 */
export type WasmSource = WasmModule | ArrayBuffer | ArrayBufferView | UrlLike | string;

/** `CreateOptions.build`: which models run (see there). */
export type BuildChoice = "auto" | "onnx";

/** The wasm build an engine runs on: `"cpu"` (the default), `"gpu"` or `"onnx"`. */
export type BuildName = "cpu" | "gpu" | "onnx";

/** Options of `Edgerec.create`. */
export interface CreateOptions {
  /** The bundle: the base URL of its folder (fetched), or its files as bytes. Required. */
  bundle: string | UrlLike | BundleBytes;
  /**
   * Where scoring runs. `"cpu"`: the CPU build only. `"gpu"`: WebGPU whenever an adapter exists
   * (an emulated one too). `"auto"` (default): WebGPU on a hardware adapter for catalogues of at
   * least `AUTO_GPU_MIN_ITEMS` items, else the CPU. No adapter, a failed request or a lost device
   * falls back to the CPU without an error; `backend` says which path is in use.
   */
  device?: Device;
  /**
   * Which models run. `"auto"` (default): the bundle's plain weights on the default (or GPU)
   * build, which links no ONNX reader; the ONNX build only for a bundle whose models come only as
   * ONNX (format 1, or a merchant's own architecture). `"onnx"`: the ONNX build, running
   * `interest.onnx` and `price.onnx` with tract, whatever else the bundle has (CPU scoring).
   */
  build?: BuildChoice;
  /**
   * The ed25519 public key (64 hex digits) that signs the bundle, or several during a key rotation
   * (any of them may sign). When set, every bundle must carry a `manifest.sig` that verifies
   * (`BAD_SIGNATURE`), and a release older than one already accepted for these keys is refused
   * (`BUNDLE_DOWNGRADE`). Anything else, `null` included, is `INVALID_ARGUMENT`. Default: none.
   */
  publicKey?: string | string[];
  /** Called as bundle bytes arrive. Default: none. */
  onProgress?: (progress: Progress) => void;
  /**
   * Where verified files are cached, keyed by sha256, and where the highest release accepted for a
   * pinned key is remembered (with `"auto"`, the Cache API where there is one; always in memory too).
   * Default `"auto"`.
   */
  cache?: CacheMode;
  /**
   * The engine's WebAssembly (the CPU build). Default: the package's own `edgerec/edgerec.wasm`,
   * next to its glue. Another build's file here is refused with `WASM_MISMATCH`.
   */
  wasm?: WasmSource;
  /**
   * The GPU build's WebAssembly, loaded only when WebGPU is used. Default: the package's
   * `edgerec/edgerec-gpu.wasm`. Another build's file here is refused with `WASM_MISMATCH`.
   */
  gpuWasm?: WasmSource;
  /**
   * The ONNX build's WebAssembly, loaded only when the bundle needs it or `build: "onnx"` asks.
   * Default: the package's `edgerec/edgerec-onnx.wasm`. Another build's file is refused with
   * `WASM_MISMATCH`.
   */
  onnxWasm?: WasmSource;
  /** The `fetch` used for the bundle. Default: `globalThis.fetch`. */
  fetch?: FetchFunction;
  /**
   * Milliseconds each bundle request may take, its body included, before `FETCH_TIMEOUT`.
   * Default 30,000.
   */
  timeoutMs?: number;
  /**
   * How many times a transient failure (a network error, HTTP 5xx or 429) is tried again, after
   * 200 ms, then 400 ms, 800 ms…; 0 to 10. Other HTTP errors fail at once. Default 2.
   */
  retries?: number;
  /** Stops `create` (`ABORTED`): the downloads in flight are cancelled. Default: none. */
  signal?: AbortSignalLike;
  /** The merchant's pricing settings, validated at creation (`INVALID_PRICING`). Default: the defaults below. */
  pricing?: PricingSettings;
  /** The caps of the store of keyed sessions (`rec.session(key)`). Default: the defaults below. */
  sessions?: SessionLimits;
  /**
   * Keep the shopper's events on this device, in IndexedDB (a page or a Web Worker): loaded into
   * the session by `create`, each observed event written through, `forget` wiping them. Storage
   * never fails a call: where IndexedDB is missing or fails, the engine keeps the events in memory
   * and `persistence` (and `onError`) says why. Default: none (memory only).
   */
  persist?: PersistOptions;
}

/**
 * The caps of an engine's store of keyed sessions: past either cap the least recently used go,
 * and a session unused for `idleMinutes` goes. The page's own shopper is not in the store.
 */
export interface SessionLimits {
  /** The most sessions kept: 1 to 1,000,000. Default 10,000. */
  maxSessions?: number;
  /** The most bytes they may hold (the engine's estimate of each); at least 2 MiB. Default 64 MiB. */
  maxBytes?: number;
  /** Minutes without a call after which a session is dropped. Default 30. */
  idleMinutes?: number;
}

/** What the store of keyed sessions holds (`rec.sessions`). */
export interface SessionStats {
  /** Sessions held. */
  sessions: number;
  /** Their estimated bytes, keys included. */
  bytes: number;
  /** The caps in force. */
  limits: Required<SessionLimits>;
}

/** `CreateOptions.persist`: the on-device event store (IndexedDB). */
export interface PersistOptions {
  /** The IndexedDB database's name (one per origin). Default `"edgerec-events"`. */
  name?: string;
  /** Events older than this many days (by their `ts`) are deleted. Default 30. */
  days?: number;
  /** At most this many events are kept, the newest: an integer from 1 to 1,000. Default 1,000. */
  maxEvents?: number;
  /**
   * Whether the shopper agreed to having their events kept on the device: your consent manager's
   * answer. `false`: nothing is written and the database is deleted. Default `true`.
   */
  consent?: boolean;
  /** Called with each storage failure as it happens (the latest is also in `persistence.error`). */
  onError?: (error: PersistError) => void;
}

/** What went wrong with the event store; the engine keeps working in memory either way. */
export type PersistErrorCode =
  /** No IndexedDB here (Node, Deno, workerd, some private modes), or it refused to open. */
  | "UNAVAILABLE"
  /** The database did not open in time: another connection holds it (a blocked upgrade or deletion). */
  | "BLOCKED"
  /** A write failed for lack of space (the browser's quota). */
  | "QUOTA_EXCEEDED"
  /** Stored records that are not events, or that this bundle refuses, were skipped and deleted at load. */
  | "RECORDS_SKIPPED"
  /** Any other failure of a read, write or deletion (the message has the browser's). */
  | "STORAGE_FAILED";

/** A storage failure, reported and never thrown. */
export interface PersistError {
  /** What went wrong. */
  code: PersistErrorCode;
  /** What happened, in words, with the browser's own message. */
  message: string;
}

/** `Edgerec.persistence`: the event store's state now. */
export interface Persistence {
  /** Whether the shopper's events are recorded on the device (`persist.consent`, then `setConsent`). */
  consent: boolean;
  /** Where new events go: `"indexeddb"`, or `"memory"` only (consent off, or no usable IndexedDB: see `error`). */
  storage: "indexeddb" | "memory";
  /** How many events IndexedDB held after the latest completed operation. */
  stored: number;
  /** The latest storage failure since `create`, if any. */
  error?: PersistError;
}

/** The merchant's guardrails for quotes. Amounts are fractions (0.05 = 5%), not percentages. */
export interface PricingSettings {
  /** Cost as a fraction of the list price for items the catalogue has no cost for. Default 0.7. */
  defaultCostRatio?: number;
  /** A quote is never below cost × (1 + minMargin). Default 0.05. */
  minMargin?: number;
  /** The largest discount off the list price. Default 0.3. */
  maxDiscount?: number;
  /** The merchant's floor, as a fraction of the list price. Default 0. */
  floorRatio?: number;
  /** Allowed cent endings of a discounted price, e.g. `[49, 99]`. Default: every ending in 9. */
  priceEndings?: number[];
  /** Which disclosure applies. Default `"EU"`. */
  jurisdiction?: "EU" | "US-NY" | "OTHER";
  /** The disclosure's language (`en`, `de`, `fr`, `es`, `it`, `nl`; others get English). Default `"en"`. */
  locale?: string;
  /**
   * The most a shopper's discount on an item may differ from the discount a shopper the device
   * knows nothing about gets, as a fraction of the list price (0.05: five points); two shoppers'
   * discounts then differ by at most twice it. Needs a price head with a shopper-level response
   * (`manifest.priceHead.response`). Default: no cap.
   */
  maxShopperSpread?: number | null;
}

/** Options of `quote`. */
export interface QuoteOptions {
  /** What the price serves. Default `"margin"` (expected margin). */
  objective?: "margin" | "revenue" | "conversion";
  /** For `"conversion"`: the margin over cost every price must keep (required there). */
  minMargin?: number;
  /**
   * The page's own shopper only (`rec.quote`): price for these events instead of the session,
   * remembering the prices nowhere. At most 1,000. A keyed session refuses it.
   */
  events?: ShopperEvent[];
  /**
   * A promotion budget for the session (margin objective only): `share` (above 0, at most 1) of
   * the expected revenue at list price of every item the session is quoted may go to discounts,
   * given where the expected margin per unit of expected discount is highest. The expected
   * discount of each offer is counted when it is made and never exceeds the budget. The budget
   * lives with the session in memory (a call with its own `events` has a budget of its own).
   */
  budget?: { share: number } | null;
  /** Give each quote its `explanation`: the demand curve, the guardrails' bounds and the objective. Default false. */
  explain?: boolean;
}

/** One item's price. */
export interface Quote {
  /** The item's id. */
  item: string;
  /** The price to show. */
  price: number;
  /** The list price; no quote is above it. */
  listPrice: number;
  /** The lowest price of the last 30 days: the only reference a discount is shown against (EU Omnibus rule). */
  referencePrice: number;
  /** The discount to show, in percent of `referencePrice`; 0 means show none. */
  discountPct: number;
  /** Whether the price was set for this shopper; show `disclosure` beside it. */
  personalised: boolean;
  /** The text to show beside a personalised price (by jurisdiction and locale); null otherwise. */
  disclosure: string | null;
  /** Why this price (one of `QuoteReason`). */
  reason: QuoteReason;
  /**
   * With `explain: true`: what the price was computed from, as it was when the item was first
   * priced in the session.
   */
  explanation?: QuoteExplanation;
}

/** What a quote was computed from (`quote(items, { explain: true })`). Amounts in currency units. */
export interface QuoteExplanation {
  /** The objective the price serves. */
  objective: "margin" | "revenue" | "conversion";
  /**
   * The price head's demand curve for this item and shopper, P(buy at p) =
   * 1 / (1 + exp(−(base − elasticity · ln(p / listPrice)))); null when its outputs were unusable.
   */
  curve: { base: number; elasticity: number } | null;
  /** The engine's interest score for the item. */
  interest: number | null;
  /**
   * What the shopper's own events say about their price response, when the head has a
   * shopper-level response: their purchases with a price before this week, the ones paid below
   * list, and the deal share the head read (shrunk towards the population's).
   */
  shopper: { purchases: number; discounted: number; dealShare: number } | null;
  /**
   * The curve for a shopper the device knows nothing about (the population's deal share, mean
   * interest), when the head has a shopper-level response: what the shopper's signals moved.
   */
  referenceCurve: { base: number; elasticity: number } | null;
  /**
   * When the item was first priced under a `budget`: the expected discount this quote committed
   * and what was left of the session's budget (null for an item first priced without one).
   */
  budget: { spend: number; remaining: number } | null;
  /** The cost assumed: the catalogue's, or listPrice × `defaultCostRatio`. */
  cost: number;
  /** Each guardrail's bound on the price. */
  guardrails: {
    /** The list price: no quote is above it. */
    ceiling: number;
    /** cost × (1 + `minMargin`). */
    minMarginPrice: number;
    /** listPrice × (1 − `maxDiscount`). */
    maxDiscountPrice: number;
    /** listPrice × `floorRatio`. */
    floorPrice: number;
    /** The binding lower bound: the highest of the three above. */
    lowest: number;
    /** The 30-day low: the only reference a discount is shown against. */
    reference: number;
    /** The conversion objective's bound, cost × (1 + its `minMargin`); absent for the others. */
    objectiveMinPrice?: number | null;
  };
  /** The cent endings a personalised price may have. */
  priceEndings: number[];
}

/** Options of `recommend`. */
export interface RecommendOptions {
  /** How many items: 1 to the catalogue's size. Default 10. */
  k?: number;
  /** Item ids never to return. Ids the catalogue lacks are ignored. Default: none. */
  exclude?: string[];
  /** Rank only these ids (e.g. server-sent candidates); each must be in the catalogue. Default: all. */
  candidates?: string[];
  /**
   * The page's own shopper only (`rec.recommend`): rank for these events instead of the session,
   * which stays untouched (for a server that keeps the events itself). At most 1,000. A keyed
   * session refuses it.
   */
  events?: ShopperEvent[];
  /**
   * Give each recommendation `why`: the recent events whose absence lowers its score most,
   * computed by the engine (one encoder run per event the model reads). Default false.
   */
  explain?: boolean;
}

/** One recommended item. */
export interface Recommendation {
  /** The item's id. */
  item: string;
  /** Its score (about the dot product of the user and item vectors); higher is better. */
  score: number;
  /** With `explain: true`: up to 3 events that led to it, largest effect first. */
  why?: Reason[];
}

/** An event that led to a recommendation. */
export interface Reason {
  /** The event's item. */
  item: string;
  /** What the shopper did. */
  type: ShopperEvent["type"];
  /** When, in milliseconds since the Unix epoch. */
  ts: number;
  /** How much the recommendation's score falls without this event. */
  effect: number;
}

/** A bundle file's entry in the manifest. */
export interface FileEntry {
  /** Size in bytes. */
  bytes: number;
  /** Lower-case hex sha256. */
  sha256: string;
}

/** The manifest's `encoder`: a SASRec-family encoder's architecture (docs/bundle.md). */
export interface EncoderSpec {
  /** Its weights file. */
  weights: string;
  blocks: number;
  heads: number;
  ffnWidth: number;
  activation: "gelu" | "relu";
  norm: "post";
  layerNormEpsilon: number;
  maskValue: number;
  /** BSARec's low-pass branch, or null. */
  lowPass: { frequencies: number; alpha: number } | null;
  /**
   * The streaming form: each block attends this many positions back, and a session's new event
   * costs one position per block (absent: the window form, re-encoded on every change).
   */
  reach?: number;
}

/** The manifest's `priceHead`: the plain price head's inputs (docs/bundle.md). */
export interface PriceHeadSpec {
  /** Its weights file. */
  weights: string;
  demand: "logistic-log-price";
  /** Its features, in the order of its weights. */
  features: PriceFeature[];
  departments: number;
  /**
   * The shopper-level response, when the head has one: elasticity = softplus(e[dept] +
   * Σ w[j] · (signal_j − mean[j]) / std[j]).
   */
  response?: {
    signals: PriceFeature[];
    mean: number[];
    std: number[];
    /** The population's deal share, towards which a shopper's own is shrunk. */
    dealSharePrior: number;
    /** How many purchases' worth of weight the prior carries. */
    pseudoLines: number;
  } | null;
}

/** An input of the price head. */
export type PriceFeature = "interest" | "display" | "mailer" | "weekSin" | "weekCos" | "dealShare";

/**
 * The manifest's `privacy`: the (ε, δ) differential-privacy guarantee of weights trained with
 * DP-SGD (docs/privacy.md). Absent from the manifest of a model that has no such guarantee.
 */
export interface Privacy {
  /** The unit protected: "shopper", one user's whole history. */
  unit: string;
  /** The neighbouring datasets compared: "add/remove one shopper". */
  adjacency: string;
  /** ε, over every training step that led to the released weights. */
  epsilon: number;
  /** δ. */
  delta: number;
  /** The accountant that computed ε: "rdp" or "prv". */
  accountant: string;
  /** The L2 norm each shopper's gradient was clipped to. */
  maxGradNorm: number;
  /** The noise's standard deviation in units of `maxGradNorm`. */
  noiseMultiplier: number;
  /** Each shopper's probability of being drawn into a step (Poisson sampling). */
  sampleRate: number;
  /** Epochs of training. */
  epochs: number;
  /** Noisy gradient steps. */
  steps: number;
  /** The bundle files the guarantee covers (every file of trained weights, the item table included). */
  covers: string[];
  /** The DP library and its version. */
  library: string;
}

/** `manifest.json` of a bundle. */
export interface Manifest {
  /** The bundle format version (this release reads 1 and 2). */
  formatVersion: number;
  /** The model's version. */
  modelVersion: string;
  /** The release number: each bundle a key signs numbers higher than the last (0 when the manifest has none). */
  release: number;
  /** When the bundle expires (RFC 3339); absent: never. The engine refuses it after that (`BUNDLE_EXPIRED`). */
  expires?: string;
  /** Embedding width. */
  dims: number;
  /** How many recent events the model reads. */
  seqLen: number;
  /** Items in the catalogue. */
  itemCount: number;
  /** The plain-weights encoder's architecture (format 2; docs/bundle.md). Absent: ONNX only. */
  encoder?: EncoderSpec;
  /** The plain-weights price head's inputs (format 2; docs/bundle.md). */
  priceHead?: PriceHeadSpec;
  /** Each file, by name. */
  files: Record<string, FileEntry>;
  /** Quality figures measured on the bundle. */
  metrics: unknown;
  /** How the bundle was made. */
  training: unknown;
  /** The weights' differential-privacy guarantee; absent: they have none. */
  privacy?: Privacy;
}
