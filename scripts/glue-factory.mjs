// Turns wasm-bindgen's `--target web` glue, which keeps one instance's state at module level, into
// a factory: each call of `instantiate(module)` / `instantiateSync(module)` runs a fresh copy of
// the glue, so every instance of the wasm has its own memory, tables and glue state (the wrapper
// gives each engine one: a trap in one can never reach another). The module keeps the glue's own
// exports (`Engine`, `initSync`, the default `init`, ...), bound to one shared copy as before.
// scripts/build-wasm.mjs applies it after wasm-pack; it refuses any glue whose shape it does not
// know, rather than emit a glue that breaks later.

/** The line wasm-bindgen ends its web glue with. */
const TRAILER = "export { initSync, __wbg_init as default };";

/** What the factory needs of the glue: each must appear verbatim, at the start of a line. */
const REQUIRED = [
  "let wasmModule, wasmInstance, wasm;",
  "function __wbg_get_imports() {",
  "function __wbg_finalize_init(instance, module) {",
  "function initSync(module) {",
  "async function __wbg_init(module_or_path) {",
];

/** The comment that marks a glue this transform wrote. */
const MARK = "// edgerec: per-instance glue written by scripts/glue-factory.mjs";

/** Fails the build with what was expected of the glue. */
function refuse(file, what) {
  throw new Error(`${file}: ${what}: wasm-bindgen's glue is not the shape scripts/glue-factory.mjs transforms (a new wasm-bindgen version?); update the transform`);
}

/**
 * The glue as a factory. `source` is wasm-bindgen's glue for `file` (named in errors); returns the
 * new glue and the names of the exports each instance carries.
 */
export function toFactory(source, file) {
  if (source.includes(MARK)) refuse(file, "it was transformed already");
  const lines = source.replace(/\s+$/, "").split("\n");
  const header = /^\/\* @ts-self-types="[^"]+" \*\/$/.test(lines[0]) ? [lines.shift()] : [];
  if (lines.at(-1) !== TRAILER) refuse(file, `its last line is not \`${TRAILER}\``);
  lines.pop();
  for (const needed of REQUIRED) {
    if (!lines.includes(needed)) refuse(file, `no line \`${needed}\``);
  }
  const names = [];
  const body = lines.map((line, i) => {
    if (/^(import\b|await\b)/.test(line)) refuse(file, `line ${i + 1} is a top-level \`${line.split(/\s/)[0]}\``);
    if (!line.startsWith("export")) return line;
    const m = /^export (class|function) ([A-Za-z_$][\w$]*)\b/.exec(line);
    if (!m) refuse(file, `line ${i + 1} exports in a form the transform does not know: ${line}`);
    names.push(m[2]);
    return line.slice("export ".length);
  });
  if (!names.includes("Engine")) refuse(file, "it exports no class `Engine`");
  if (!source.includes("    __destroy_into_raw() {")) refuse(file, "`Engine` has no `__destroy_into_raw()`");
  const indented = body.map((line) => (line === "" ? line : `    ${line}`)).join("\n");
  const glue = `${[...header, MARK].join("\n")}

/** A fresh copy of wasm-bindgen's glue: its module state (\`wasm\`, caches) belongs to this call alone. */
function glue() {
${indented}
    return { ${names.join(", ")}, initSync, __wbg_init, __wbg_get_imports, __wbg_finalize_init };
}

/** The glue's own exports, bound to one shared copy exactly as wasm-bindgen wrote them. */
const shared = glue();
export const { ${[...names, "initSync"].join(", ")} } = shared;
export default shared.__wbg_init;

/** One copy of the glue made for one instance: what it exports, and the instance's raw exports. */
function bind(copy, instance, module) {
    const exports = copy.__wbg_finalize_init(instance, module);
    return { ${names.map((n) => `${n}: copy.${n}`).join(", ")}, exports };
}

/** Instantiates \`module\` synchronously with a fresh copy of the glue (its own memory, tables and state). */
export function instantiateSync(module) {
    const copy = glue();
    return bind(copy, new WebAssembly.Instance(module, copy.__wbg_get_imports()), module);
}

/** Instantiates \`module\` with a fresh copy of the glue (its own memory, tables and state). */
export async function instantiate(module) {
    const copy = glue();
    return bind(copy, await WebAssembly.instantiate(module, copy.__wbg_get_imports()), module);
}
`;
  return { glue, names };
}

/** Declarations of the factory's exports, appended to the glue's `.d.ts`. */
export function factoryTypes(names) {
  return `
/** wasm-bindgen's own: detaches the object from its instance (finalizer unregistered) without calling into the wasm. */
export interface Engine {
    __destroy_into_raw(): number;
}

/** One instance of the wasm, with a copy of the glue of its own (added by scripts/glue-factory.mjs). */
export interface Instance {
${names.map((n) => `    ${n}: typeof ${n};`).join("\n")}
    /** The instance's raw exports, its memory among them. */
    exports: InitOutput;
}

/** Instantiates \`module\` synchronously with a fresh copy of the glue (its own memory, tables and state). */
export function instantiateSync(module: WebAssembly.Module): Instance;

/** Instantiates \`module\` with a fresh copy of the glue (its own memory, tables and state). */
export function instantiate(module: WebAssembly.Module): Promise<Instance>;
`;
}
