// What the wasm is made of: raw, gzipped and brotli sizes, the bytes of each section, and the code
// section by crate and by function (names from the wasm's name section, demangled by prefix). The
// release build ships without names; for the breakdown build one with them:
//
//   CARGO_PROFILE_RELEASE_STRIP=none npx wasm-pack build --target web --release --out-dir /tmp/pkg-named --no-pack
//   node bench/wasm-size.mjs [pkg/edgerec_bg.wasm] [--top 20]
import { readFileSync } from "node:fs";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

import { machine } from "./machine.mjs";

const args = process.argv.slice(2);
const topAt = args.indexOf("--top");
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 20;
const file = args[0] ?? new URL("../pkg/edgerec_bg.wasm", import.meta.url).pathname;
const bytes = readFileSync(file);

const mb = (n) => (n / 1e6).toFixed(2) + " MB";
const brotli = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
console.log(`machine: ${machine()}`);
console.log(`${file}: raw ${mb(bytes.length)}, gzip -9 ${mb(gzipSync(bytes, { level: 9 }).length)}, brotli 11 ${mb(brotli)}`);

/** A cursor over the module's bytes reading LEB128 integers and names. */
function reader(buf, pos = 0) {
  return {
    get pos() { return pos; },
    set pos(p) { pos = p; },
    u32() {
      let result = 0, shift = 0, byte;
      do { byte = buf[pos++]; result += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80);
      return result;
    },
    name() { const n = this.u32(); const s = buf.toString("utf8", pos, pos + n); pos += n; return s; },
  };
}

const SECTION = ["custom", "type", "import", "function", "table", "memory", "global", "export", "start", "element", "code", "data", "data count"];
const r = reader(bytes, 8);
const sections = [];
let importedFunctions = 0, bodies = [], names = new Map();
while (r.pos < bytes.length) {
  const id = bytes[r.pos++];
  const size = r.u32();
  const start = r.pos;
  let label = SECTION[id] ?? `id ${id}`;
  if (id === 0) {
    label = `custom "${r.name()}"`;
    if (label === 'custom "name"') readNames(reader(bytes, r.pos), start + size);
  } else if (id === 2) {
    for (let i = 0, n = r.u32(); i < n; i++) {
      r.name(); r.name();
      const kind = bytes[r.pos++];
      if (kind === 0) { importedFunctions++; r.u32(); } else skipImport(kind);
    }
  } else if (id === 10) {
    for (let i = 0, n = r.u32(); i < n; i++) { const len = r.u32(); bodies.push(len); r.pos += len; }
  }
  sections.push([label, size]);
  r.pos = start + size;
}

function skipImport(kind) {
  if (kind === 1) { r.pos++; limits(); } else if (kind === 2) limits(); else if (kind === 3) r.pos += 2; else r.u32();
}
function limits() { const flags = bytes[r.pos++]; r.u32(); if (flags & 1) r.u32(); }
function readNames(nr, end) {
  while (nr.pos < end) {
    const sub = bytes[nr.pos++];
    const size = nr.u32();
    const next = nr.pos + size;
    if (sub === 1) for (let i = 0, n = nr.u32(); i < n; i++) { const idx = nr.u32(); names.set(idx, nr.name()); }
    nr.pos = next;
  }
}

/** The crate a symbol belongs to: the first path segment, looking through `<T as Trait>` impls. */
function crateOf(name) {
  const inner = name.replace(/^<+/, "").replace(/^(core::ptr::drop_in_place|core::ops::function::FnOnce::call_once)<+/, "");
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(\[[0-9a-f]+\])?::/.exec(inner);
  return m ? m[1] : name.startsWith("__") || !name.includes("::") ? "(glue and runtime)" : "(other)";
}

console.log("\nsections:");
for (const [label, size] of sections.sort((a, b) => b[1] - a[1])) console.log(`  ${mb(size).padStart(9)}  ${label}`);

const byCrate = new Map(), byFunction = [];
bodies.forEach((len, i) => {
  const name = names.get(importedFunctions + i) ?? `func ${importedFunctions + i}`;
  byCrate.set(crateOf(name), (byCrate.get(crateOf(name)) ?? 0) + len);
  byFunction.push([name, len]);
});
const code = bodies.reduce((a, b) => a + b, 0);
if (names.size === 0) {
  console.log(`\ncode: ${bodies.length} functions, ${mb(code)}; no name section: see the header for a build with names`);
  process.exit(0);
}
console.log(`\ncode by crate (${bodies.length} functions, ${mb(code)}):`);
for (const [crate, size] of [...byCrate].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`  ${mb(size).padStart(9)}  ${(100 * size / code).toFixed(1).padStart(5)}%  ${crate}`);
}
console.log(`\nlargest functions:`);
for (const [name, size] of byFunction.sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`  ${(size / 1e3).toFixed(1).padStart(7)} kB  ${name.slice(0, 150)}`);
}
