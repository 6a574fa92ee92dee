// The wire format, written once: every TypeScript type of js/types.ts that crosses into or out of
// the wasm core names the same fields as the Rust type serde reads or writes (src/), so that a field
// added, renamed or removed on one side fails here until the other follows. (Error codes and quote
// reasons: codes.test.mjs.)
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { test } from "node:test";

import ts from "typescript";

const ROOT = new URL("../../", import.meta.url);

/** Every .rs file under src/, as text, test modules dropped. */
async function rustSources() {
  const files = (await readdir(new URL("src/", ROOT), { recursive: true })).filter((f) => f.endsWith(".rs"));
  return Promise.all(files.map(async (f) => (await readFile(new URL(`src/${f}`, ROOT), "utf8")).split(/#\[cfg\(test\)\]/)[0]));
}

const camel = (snake) => snake.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

/** The JSON field names of Rust struct `name`: its `pub` fields, renamed as its serde attributes say. */
function rustFields(sources, name) {
  for (const text of sources) {
    const at = text.search(new RegExp(`pub struct ${name} \\{`));
    if (at < 0) continue;
    const attributes = text.slice(text.lastIndexOf("\n\n", at), at);
    const body = text.slice(text.indexOf("{", at) + 1, text.indexOf("\n}", at));
    const fields = [];
    let rename;
    for (const line of body.split("\n").map((l) => l.trim())) {
      const renamed = /^#\[serde\(.*rename = "([^"]+)"/.exec(line);
      if (renamed) rename = renamed[1];
      if (/^#\[serde\(.*\bskip\b(?!_)/.test(line)) rename = null;
      const field = /^pub ([a-z_0-9]+):/.exec(line);
      if (field) {
        if (rename !== null) fields.push(rename ?? (/rename_all = "camelCase"/.test(attributes) ? camel(field[1]) : field[1]));
        rename = undefined;
      }
    }
    return fields.sort();
  }
  throw new Error(`no struct ${name} in src/`);
}

/** The property names of interface `name` in js/types.ts. */
async function tsFields(name) {
  const source = ts.createSourceFile("types.ts", await readFile(new URL("js/types.ts", ROOT), "utf8"), ts.ScriptTarget.ES2022, true);
  const node = source.statements.find((s) => ts.isInterfaceDeclaration(s) && s.name.text === name);
  assert.ok(node, `js/types.ts declares no interface ${name}`);
  return node.members.filter(ts.isPropertySignature).map((m) => m.name.text).sort();
}

/** TypeScript interface → Rust struct, and the fields only the wrapper reads (never sent to the core). */
const PAIRS = [
  ["ShopperEvent", "RawEvent", []],
  ["RecommendOptions", "RecommendRequest", ["events"]],
  ["Recommendation", "Recommendation", []],
  ["Reason", "Reason", []],
  ["QuoteOptions", "QuoteOptions", ["events"]],
  ["Quote", "Quote", []],
  ["QuoteExplanation", "QuoteExplanation", []],
  ["PricingSettings", "PricingSettings", []],
  ["SessionLimits", "StoreLimits", []],
  ["SessionStats", "StoreStats", []],
  ["Manifest", "Manifest", []],
  ["EncoderSpec", "EncoderSpec", []],
  ["PriceHeadSpec", "PriceHeadSpec", []],
  ["FileEntry", "FileEntry", []],
  ["Privacy", "Privacy", []],
];

test("the TypeScript wire types name the fields the Rust core reads and writes", async () => {
  const sources = await rustSources();
  for (const [tsName, rustName, wrapperOnly] of PAIRS) {
    const fields = (await tsFields(tsName)).filter((f) => !wrapperOnly.includes(f));
    assert.deepEqual(fields, rustFields(sources, rustName), `${tsName} (js/types.ts) against ${rustName} (src/)`);
  }
});
