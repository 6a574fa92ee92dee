import type * as CpuGlue from "../pkg/edgerec.js";
import { EdgerecError } from "./errors.js";
import type { WasmSource } from "./types.js";

/**
 * One instance of a build's wasm, with a copy of its JS glue of its own (the GPU build's engine
 * adds the WebGPU calls): what `loadWasm` gives each engine.
 */
export type Glue = CpuGlue.Instance;

/** The GPU build's engine: the CPU build's, plus the WebGPU calls. */
export interface GpuEngine extends CpuGlue.Engine {
  useGpu(allowSoftware: boolean): Promise<{ backend: "cpu" | "gpu"; adapter?: string; reason?: string }>;
  recommendOnGpu(session: string | undefined, request: unknown, events: unknown): Promise<unknown>;
  loseGpuDevice(): void;
}

/** One wasm build of wasm-pack.toml, as the wrapper loads it. */
interface BuildEntry {
  /** The package's export of its wasm file (`edgerec/<file>`). */
  file: string;
  /** The option of `Edgerec.create` that gives its wasm instead of the package's file. */
  option: string;
  /** Its glue factory, imported on first use (a literal import, so that bundlers find it). */
  glue(): Promise<unknown>;
  /** Its wasm next to the glue (a literal `new URL`, so that bundlers that follow them emit it). */
  url(): URL;
  /** An export only this build's wasm has, which tells it from the others; none for the CPU build. */
  marker?: string;
}

/**
 * The builds (`wasm-pack.toml` lists them too; tests/js/package.test.mjs checks that they agree).
 * Each glue pairs only with its own wasm: the loader identifies the wasm before instantiating it.
 */
export const BUILDS = {
  cpu: {
    file: "edgerec.wasm",
    option: "wasm",
    glue: () => import("../pkg/edgerec.js"),
    url: () => new URL("../pkg/edgerec_bg.wasm", import.meta.url),
  },
  gpu: {
    file: "edgerec-gpu.wasm",
    option: "gpuWasm",
    glue: () => import("../pkg-gpu/edgerec-gpu.js"),
    url: () => new URL("../pkg-gpu/edgerec-gpu_bg.wasm", import.meta.url),
    marker: "engine_useGpu",
  },
  onnx: {
    file: "edgerec-onnx.wasm",
    option: "onnxWasm",
    glue: () => import("../pkg-onnx/edgerec-onnx.js"),
    url: () => new URL("../pkg-onnx/edgerec-onnx_bg.wasm", import.meta.url),
    marker: "onnxRuntime",
  },
} satisfies Record<string, BuildEntry>;

/**
 * Which wasm: the default CPU build (plain-weights models), the GPU build (the same, with WebGPU
 * through wgpu) or the ONNX build (tract-onnx), the last two loaded only when needed.
 */
export type Build = keyof typeof BUILDS;

/** An export every build of edgerec has: a module without it is not edgerec's. */
const EDGEREC_EXPORT = "__wbg_engine_free";

/** How a wasm URL is read (the package's own files, or a URL the caller gives): fetched, by default. */
let readUrl: (url: URL) => Promise<URL | Uint8Array> = async (url) => url;

/** Sets how wasm URLs are read (the Node entry reads `file:` ones from disk, which its `fetch` cannot). */
export function setWasmUrlReader(read: (url: URL) => Promise<URL | Uint8Array>): void {
  readUrl = read;
}

/** Each build's compiled module, checked, once per JS module. */
const compiled: Partial<Record<Build, Promise<WebAssembly.Module>>> = {};

/**
 * A fresh instance of one build of the engine's WebAssembly, with its own memory, tables and glue
 * state: a trap in one instance can never reach another. The module is compiled once per JS
 * module and shared: later calls reuse the first one, whatever source they name; a failed
 * compilation is tried again by the next call.
 */
export async function loadWasm(build: Build, source?: WasmSource): Promise<Glue> {
  compiled[build] ??= compileBuild(build, source).catch((e) => {
    compiled[build] = undefined;
    throw e;
  });
  try {
    const module = await compiled[build];
    const glue = (await BUILDS[build].glue()) as typeof CpuGlue;
    return SYNC_ALLOWED ? glue.instantiateSync(module) : await glue.instantiate(module);
  } catch (e) {
    if (e instanceof EdgerecError) throw e;
    throw new EdgerecError("WASM_LOAD_FAILED", `could not instantiate edgerec's ${build} WebAssembly: ${(e as Error).message}`);
  }
}

/**
 * Whether this thread may compile and instantiate a large module synchronously: a browser's main
 * thread may not (over 4 KB); Node, Deno and workers may, and doing so skips two round trips
 * through the event loop that a busy machine makes long (measured in Node on 2 loaded cores:
 * 30-40 ms asynchronously, about 1 ms synchronously, for the instantiation alone).
 */
const SYNC_ALLOWED = (globalThis as { window?: unknown }).window === undefined;

/** Compiles a build's wasm (the package's own file unless a source is given) and checks that it is that build's. */
async function compileBuild(build: Build, source: WasmSource | undefined): Promise<WebAssembly.Module> {
  const module = await compile(source ?? BUILDS[build].url(), BUILDS[build].option);
  checkPairing(build, module);
  return module;
}

/**
 * Compiles a source into a module (a module is taken as it is: Cloudflare Workers compile none);
 * a URL is read by `readUrl`. `option` names the source in errors.
 */
async function compile(source: WasmSource, option: string): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  const read = isBytes(source) ? source : await readUrl(asUrl(source, option));
  if (isBytes(read)) {
    return SYNC_ALLOWED ? new WebAssembly.Module(read as BufferSource) : WebAssembly.compile(read as BufferSource);
  }
  const response = await fetch(read);
  if (!response.ok) throw new Error(`${read}: HTTP ${response.status}`);
  if (typeof WebAssembly.compileStreaming === "function" && response.headers.get("content-type")?.startsWith("application/wasm")) {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

/** Whether a source is bytes (an `ArrayBuffer` or a view of one), compiled as they are. */
function isBytes(source: unknown): source is ArrayBuffer | ArrayBufferView {
  return source instanceof ArrayBuffer || ArrayBuffer.isView(source);
}

/**
 * A URL source (text or `URL`) as a URL, resolved as `fetch` would: against the document's base
 * URL, else the worker's location. A path is refused saying how to resolve it (in Node and Deno,
 * where there is no page, a bundler's file loader gives one relative to the bundle; a Windows
 * path "C:\\…" would parse as a URL of a one-letter scheme).
 */
function asUrl(source: WasmSource, option: string): URL {
  if (source instanceof URL) return source;
  const text = String(source);
  const base = pageBase();
  let url: URL | undefined;
  try {
    url = new URL(text, base);
  } catch {
    // Refused below.
  }
  if (url === undefined || /^[a-z]:$/i.test(url.protocol)) {
    const where = base === undefined ? ", and there is no page to resolve it against" : "";
    throw new EdgerecError(
      "WASM_LOAD_FAILED",
      `\`${option}\` ${JSON.stringify(text)} is not a URL${where}: pass a URL (a bundler's path relative to the bundle: new URL(${option}, import.meta.url)) or the file's bytes`,
    );
  }
  return url;
}

/** The URL relative ones resolve against: the document's base URL, else the worker's location; none in Node or Deno. */
function pageBase(): string | undefined {
  try {
    return (globalThis as { document?: { baseURI?: string } }).document?.baseURI ?? globalThis.location?.href;
  } catch {
    return undefined; // a runtime whose `location` throws when unset
  }
}

/**
 * Refuses a wasm that is not `build`'s before any glue touches it: each build's glue only works
 * with its own wasm, and a glue given another build's would fail later with a plain TypeError.
 */
function checkPairing(build: Build, module: WebAssembly.Module): void {
  const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const { option } = BUILDS[build];
  const wanted = `edgerec's ${build} build (edgerec/${BUILDS[build].file})`;
  if (!exported.has(EDGEREC_EXPORT)) {
    throw new EdgerecError("WASM_MISMATCH", `the WebAssembly given as \`${option}\` is not edgerec's: pass ${wanted}`);
  }
  const entries: [string, BuildEntry][] = Object.entries(BUILDS);
  const found = entries.find(([, b]) => b.marker !== undefined && exported.has(b.marker))?.[0] ?? "cpu";
  if (found !== build) {
    const file = entries.find(([name]) => name === found)?.[1].file;
    throw new EdgerecError("WASM_MISMATCH", `the WebAssembly given as \`${option}\` is edgerec's ${found} build (edgerec/${file}), not ${wanted}`);
  }
}
