// scripts/glue-factory.mjs: wasm-bindgen's glue made a factory of instances, and any glue of
// another shape refused with what was found, rather than transformed into something broken.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

import { toFactory } from "../../scripts/glue-factory.mjs";

// wasm-bindgen's own glue of the default build, kept by scripts/build-wasm.mjs.
const raw = await readFile(new URL("../../pkg/.wasm-bindgen.js", import.meta.url), "utf8");

test("the kept glue transforms into what pkg/edgerec.js holds, and instances share nothing", async () => {
  const { glue, names } = toFactory(raw, "edgerec.js");
  assert.equal(glue, await readFile(new URL("../../pkg/edgerec.js", import.meta.url), "utf8"));
  assert.ok(names.includes("Engine"));
  const factory = await import("../../pkg/edgerec.js");
  const module = new WebAssembly.Module(await readFile(new URL("../../pkg/edgerec_bg.wasm", import.meta.url)));
  const [a, b] = [factory.instantiateSync(module), await factory.instantiate(module)];
  assert.notEqual(a.exports.memory, b.exports.memory);
  assert.notEqual(a.Engine, b.Engine);
  assert.notEqual(a.Engine, factory.Engine, "the module's own exports are a third copy");
});

test("a glue of another shape is refused, naming what differs", () => {
  const refused = (source, what) => assert.throws(() => toFactory(source, "x.js"), (e) => e.message.startsWith("x.js: ") && e.message.includes(what));
  refused(raw.replace("export { initSync, __wbg_init as default };", "export { initSync };"), "last line");
  refused(`import { x } from "./snippets/x.js";\n${raw}`, "top-level `import`");
  refused(raw.replace("export class Engine {", "export const Engine = class {"), "exports in a form");
  refused(raw.replace("let wasmModule, wasmInstance, wasm;", "var wasm;"), "let wasmModule");
  refused(raw.replace("    __destroy_into_raw() {", "    detach() {"), "__destroy_into_raw");
  refused(toFactory(raw, "x.js").glue, "transformed already");
});
