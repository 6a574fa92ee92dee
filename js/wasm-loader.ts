import init from "../pkg/edgerec.js";
import { EdgerecError } from "./errors.js";

type WasmSource = WebAssembly.Module | BufferSource | URL | string;

let ready: Promise<void> | undefined;

/**
 * Instantiates the engine's WebAssembly once per JS module. Later calls reuse the first
 * instance, whatever source they name.
 */
export function loadWasm(source?: WasmSource): Promise<void> {
  ready ??= instantiate(source).catch((e) => {
    ready = undefined;
    throw new EdgerecError("WASM_LOAD_FAILED", `could not instantiate edgerec's WebAssembly: ${(e as Error).message}`);
  });
  return ready;
}

async function instantiate(source?: WasmSource): Promise<void> {
  await init({ module_or_path: source ?? (await defaultSource()) });
}

/** In Node and Deno the package's own file is read from disk (fetch does not read file: URLs there). */
async function defaultSource(): Promise<WasmSource | undefined> {
  const url = new URL("../pkg/edgerec_bg.wasm", import.meta.url);
  if (url.protocol !== "file:") return undefined; // init fetches it next to edgerec.js
  const { readFile } = await import(/* @vite-ignore */ "node:fs/promises" as string);
  return (await readFile(url)) as Uint8Array;
}
