/**
 * `import wasm from "edgerec/edgerec.wasm"` (or `edgerec/edgerec-gpu.wasm`): what a bundler's
 * asset import of the engine's wasm file gives (its URL with esbuild's `file` loader, webpack's
 * `asset/resource`, Rollup's url plugin, Vite's `?url`; a `WebAssembly.Module` in Cloudflare
 * Workers), to pass to `Edgerec.create` as `wasm` (or `gpuWasm`). Copied into dist/ by `build:js`.
 * @module
 */
import type { WasmSource } from "./types.js";

declare const wasm: WasmSource;
export default wasm;
