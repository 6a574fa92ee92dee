import * as cpuBuild from "../pkg/edgerec.js";
import { EdgerecError } from "./errors.js";

type WasmSource = WebAssembly.Module | BufferSource | URL | string;

/** Which wasm: the default CPU build, or the GPU build (WebGPU through wgpu), loaded only when asked. */
export type Build = "cpu" | "gpu";

/** What either build's JS glue exports. */
export type Glue = typeof cpuBuild;

/** The GPU build's engine: the CPU build's, plus the WebGPU calls. */
export interface GpuEngine extends cpuBuild.Engine {
  useGpu(allowSoftware: boolean): Promise<{ backend: "cpu" | "gpu"; adapter?: string; reason?: string }>;
  recommendOnGpu(request: unknown): Promise<unknown>;
  loseGpuDevice(): void;
}

const ready: Partial<Record<Build, Promise<Glue>>> = {};

/**
 * Instantiates one build of the engine's WebAssembly once per JS module. Later calls reuse the
 * first instance, whatever source they name.
 */
export function loadWasm(build: Build, source?: WasmSource): Promise<Glue> {
  ready[build] ??= instantiate(build, source).catch((e) => {
    ready[build] = undefined;
    throw new EdgerecError("WASM_LOAD_FAILED", `could not instantiate edgerec's ${build} WebAssembly: ${(e as Error).message}`);
  });
  return ready[build];
}

async function instantiate(build: Build, source?: WasmSource): Promise<Glue> {
  const glue: Glue = build === "cpu" ? cpuBuild : ((await import("../pkg-gpu/edgerec.js")) as unknown as Glue);
  await glue.default({ module_or_path: source ?? (await defaultSource(build)) });
  return glue;
}

/** In Node and Deno the package's own file is read from disk (fetch does not read file: URLs there). */
async function defaultSource(build: Build): Promise<WasmSource | undefined> {
  const url = build === "cpu" ? new URL("../pkg/edgerec_bg.wasm", import.meta.url) : new URL("../pkg-gpu/edgerec_bg.wasm", import.meta.url);
  if (url.protocol !== "file:") return undefined; // init fetches it next to its glue
  const { readFile } = await import(/* @vite-ignore */ "node:fs/promises" as string);
  return (await readFile(url)) as Uint8Array;
}
