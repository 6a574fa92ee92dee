// The TypeScript unions of error codes and quote reasons (js/codes.ts) against what can produce
// them: the Rust core's codes (src/error.rs), its quote reasons (src/pricing) and the codes the JS
// wrapper throws itself (js/*.ts). Fails when one side gains or loses a code the other lacks.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { test } from "node:test";

import ts from "typescript";

const ROOT = new URL("../../", import.meta.url);
const read = (path) => readFile(new URL(path, ROOT), "utf8");

/** The string literals of the union type alias `name` in js/codes.ts. */
async function union(name) {
  const source = ts.createSourceFile("codes.ts", await read("js/codes.ts"), ts.ScriptTarget.ES2022, true);
  const alias = source.statements.find((s) => ts.isTypeAliasDeclaration(s) && s.name.text === name);
  assert.ok(alias && ts.isUnionTypeNode(alias.type), `js/codes.ts declares no union type ${name}`);
  return alias.type.types.map((t) => {
    assert.ok(ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal), `${name}: every member must be a string literal`);
    return t.literal.text;
  });
}

/** Rust source without its `#[cfg(test)]` module, which may name codes it expects. */
const withoutTests = (text) => text.split(/#\[cfg\(test\)\]/)[0];

/** The codes `Error::code` returns in src/error.rs. */
async function rustErrorCodes() {
  const text = withoutTests(await read("src/error.rs"));
  const body = text.slice(text.indexOf("pub fn code(&self)"));
  return [...body.matchAll(/=>\s*"([A-Z][A-Z0-9_]*)"/g)].map((m) => m[1]);
}

/** The reasons src/pricing gives a quote: the literal of every `list_only(..)` and `make_quote(.., "…")`. */
async function rustQuoteReasons() {
  const reasons = [];
  for (const file of (await readdir(new URL("src/pricing/", ROOT))).filter((f) => f.endsWith(".rs"))) {
    const text = withoutTests(await read(`src/pricing/${file}`));
    for (const m of text.matchAll(/\b(?:list_only|make_quote)\((?:[^;{}()"]*?,\s*)?"([A-Z][A-Z0-9_]*)"\s*\)/g)) reasons.push(m[1]);
  }
  return reasons;
}

/** The codes the JS wrapper throws itself: `new EdgerecError("…"` in js/*.ts. */
async function jsErrorCodes() {
  const codes = [];
  for (const file of (await readdir(new URL("js/", ROOT))).filter((f) => f.endsWith(".ts"))) {
    for (const m of (await read(`js/${file}`)).matchAll(/new EdgerecError\(\s*"([A-Z][A-Z0-9_]*)"/g)) codes.push(m[1]);
  }
  return codes;
}

const sorted = (list) => [...new Set(list)].sort();

test("ErrorCode is exactly the Rust core's codes and the wrapper's own", async () => {
  const rust = await rustErrorCodes();
  assert.ok(rust.length >= 15, `found only ${rust.length} codes in src/error.rs: has Error::code changed shape?`);
  const js = await jsErrorCodes();
  assert.ok(js.includes("WASM_MISMATCH") && js.includes("DISPOSED"), "the wrapper's own codes were not found in js/");
  assert.deepEqual(sorted(await union("ErrorCode")), sorted([...rust, ...js]));
});

test("QuoteReason is exactly the reasons src/pricing gives", async () => {
  const rust = await rustQuoteReasons();
  assert.ok(rust.length >= 5, `found only ${rust.length} reasons in src/pricing: has the quote's reason changed shape?`);
  assert.deepEqual(sorted(await union("QuoteReason")), sorted(rust));
});

test("the README's and the guide's tables of errors list every code, and the guide every reason", async () => {
  for (const file of ["README.md", "docs/guide.md"]) {
    const text = await read(file);
    for (const code of await union("ErrorCode")) assert.match(text, new RegExp(`\`${code}\``), `${file} does not mention ${code}`);
  }
  const guide = await read("docs/guide.md");
  for (const reason of await union("QuoteReason")) assert.match(guide, new RegExp(`\`${reason}\``), `docs/guide.md does not mention ${reason}`);
});
