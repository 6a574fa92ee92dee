// The packed package (`npm pack`) as a shop's project gets it: installed from the tarball into a
// new project, then the same small program (app/program.js) built by Vite, esbuild, webpack and
// Rollup and run in headless Chromium, and run in Node, Deno and workerd; every environment must
// give the same answer. Also: the README's quick start run verbatim, and the package's types under
// strict tsc without skipLibCheck. Needs `npm run build` first (scripts/test.sh runs it).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { launch } from "../browser/chromium.mjs";
import { outputs, readBuilds } from "../../scripts/build-wasm.mjs";
import { BIN, serve } from "../../scripts/edge-runtimes.mjs";
import { serveStatic } from "../../scripts/static-server.mjs";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const APP = fileURLToPath(new URL("app/", import.meta.url));
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");

let work, project, browser;
/** Each environment's answer, by name. */
const answers = {};

/** The first ```js block of the section headed `heading` in a Markdown file of the repository. */
async function codeBlock(file, heading) {
  const text = await readFile(join(ROOT, file), "utf8");
  const start = text.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `${file} has no section "${heading}"`);
  const block = text.slice(start).match(/```js\n([\s\S]*?)```/);
  assert.ok(block, `${file}: no js block under "${heading}"`);
  return block[1];
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), "edgerec-tarball-"));
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], { cwd: ROOT, maxBuffer: 1 << 26 });
  const tarball = join(work, JSON.parse(stdout)[0].filename);
  project = join(work, "shop");
  await mkdir(project);
  await writeFile(join(project, "package.json"), JSON.stringify({ name: "shop", private: true, type: "module" }));
  await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], { cwd: project });
  await cp(APP, join(project, "src"), { recursive: true });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

test("the tarball holds the package and nothing of the repository's tooling", async () => {
  const pkg = join(project, "node_modules/edgerec");
  const top = (await readdir(pkg)).sort();
  const outDirs = readBuilds().map((b) => b.outDir);
  assert.deepEqual(top, ["LICENSE", "README.md", "dist", "models", "package.json", ...outDirs].sort());
  for (const build of readBuilds()) {
    for (const file of Object.values(outputs(build))) assert.ok((await stat(join(pkg, file))).size > 0, `the tarball lacks ${file}`);
  }
  assert.deepEqual((await readdir(join(pkg, "models"))).sort(), ["grocery"]);
  assert.match(await readFile(join(pkg, "LICENSE"), "utf8"), /Apache License\s+Version 2\.0/);
  const readme = await readFile(join(pkg, "README.md"), "utf8");
  assert.doesNotMatch(readme, /\]\(\.\.\//, "the README links outside the package");
});

/** esbuild on one of the app's files (`entry`, in src/): an ES module bundle, with `options` added. */
async function esbuild(entry, options) {
  const { build } = await import("esbuild");
  await build({ entryPoints: [join(project, "src", entry)], bundle: true, format: "esm", logLevel: "warning", ...options });
}

/** Builds app/browser.js with each bundler into `out/<name>/` beside an index.html loading `browser.js`. */
const BUNDLERS = {
  async vite(out) {
    // Vite gives an asset's URL for the `?url` query (the guide's one difference between bundlers).
    const root = join(project, "src-vite");
    await cp(join(project, "src"), root, { recursive: true });
    const entry = await readFile(join(root, "browser.js"), "utf8");
    await writeFile(join(root, "browser.js"), entry.replace('"edgerec/edgerec.wasm"', '"edgerec/edgerec.wasm?url"'));
    const { build } = await import("vite");
    await build({
      root,
      configFile: false,
      logLevel: "warn",
      base: "./",
      build: { outDir: out, emptyOutDir: true },
    });
  },
  async esbuild(out) {
    await esbuild("browser.js", { platform: "browser", outdir: out, loader: { ".wasm": "file" } });
    await cp(join(project, "src/index.html"), join(out, "index.html"));
  },
  async webpack(out) {
    const { default: webpack } = await import("webpack");
    const stats = await promisify(webpack)({
      mode: "production",
      context: project,
      entry: "./src/browser.js",
      output: { path: out, filename: "browser.js", module: true, clean: true },
      experiments: { outputModule: true },
      module: { rules: [{ test: /\.wasm$/, type: "asset/resource" }] },
      performance: { hints: false },
    });
    assert.ok(!stats.hasErrors(), stats.toString("errors-only"));
    await cp(join(project, "src/index.html"), join(out, "index.html"));
  },
  async rollup(out) {
    const { rollup } = await import("rollup");
    const { nodeResolve } = await import("@rollup/plugin-node-resolve");
    const { default: url } = await import("@rollup/plugin-url");
    const bundle = await rollup({
      input: join(project, "src/browser.js"),
      plugins: [nodeResolve({ browser: true }), url({ include: ["**/*.wasm"], limit: 0 })],
      onwarn: () => {},
    });
    await bundle.write({ dir: out, format: "es", entryFileNames: "browser.js" });
    await bundle.close();
    await cp(join(project, "src/index.html"), join(out, "index.html"));
  },
};

for (const [name, build] of Object.entries(BUNDLERS)) {
  test(`${name}: the page's bundle runs in Chromium`, async () => {
    const out = join(project, "out", name);
    const started = performance.now();
    await build(out);
    const built = performance.now() - started;
    // The page's own server holds the bundle too, where a shop would put it.
    await symlink(join(project, "node_modules/edgerec/models"), join(out, "models"));
    const emitted = (await readdir(out, { recursive: true })).filter((f) => f.endsWith(".wasm"));
    assert.ok(emitted.length >= 1, `${name} emitted no wasm`);
    const server = await serveStatic(out);
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    try {
      await page.goto(`${server.url}/index.html`); // after the load event: the module script has run
      const result = await page.evaluate(() => window.result ?? { error: "the page's script did not run" });
      assert.equal(result.error, undefined, `${result.error} (${result.code}); page errors: ${errors.join("; ")}`);
      answers[name] = result;
      const wasmRequests = server.requests.filter((r) => r.endsWith(".wasm"));
      assert.equal(wasmRequests.length, 1, `one wasm fetched: ${wasmRequests}`);
      assert.ok(!server.requests.some((r) => r.includes("gpu")), "the GPU build is never fetched on the CPU path");
      console.log(`# ${name}: built in ${(built / 1000).toFixed(1)} s, ${emitted.length} wasm file(s) emitted`);
    } finally {
      await page.close();
      await server.close();
    }
  });
}

test("Node: the `node` condition reads the package's wasm from disk", async () => {
  const { stdout } = await run(process.execPath, ["src/node.mjs"], { cwd: project });
  answers.node = JSON.parse(stdout);
});

test("esbuild for Node: the wasm emitted by the file loader, read by its path", async () => {
  const out = join(project, "out", "esbuild-node");
  await esbuild("node-bundled.mjs", { platform: "node", outdir: out, loader: { ".wasm": "file" } });
  const { stdout } = await run(process.execPath, [join(out, "node-bundled.js")], { cwd: project });
  answers["esbuild-node"] = JSON.parse(stdout);
});

test("Deno: the same program through npm's node_modules", async () => {
  const { stdout } = await run(BIN("deno"), ["run", "--allow-read", "--allow-env", "src/node.mjs"], {
    cwd: project,
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1" },
  });
  answers.deno = JSON.parse(stdout);
});

test("workerd: bundled with the worker conditions, the wasm and the bundle as modules", async () => {
  const out = join(project, "out", "workerd");
  await esbuild("workerd.js", {
    platform: "browser",
    conditions: ["workerd", "worker"],
    external: ["./edgerec.wasm", "./grocery/*"],
    outfile: join(out, "worker.js"),
  });
  const pkg = join(project, "node_modules/edgerec");
  await symlink(join(pkg, "pkg/edgerec_bg.wasm"), join(out, "edgerec.wasm"));
  await symlink(join(pkg, "models/grocery"), join(out, "grocery"));
  const files = ["manifest.json", "encoder.safetensors", "items.json", "items.safetensors", "price.safetensors"];
  await writeFile(join(out, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .program)],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
const program :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "edgerec.wasm", wasm = embed "edgerec.wasm"),
${files.map((f) => `    (name = "grocery/${f}", data = embed "grocery/${f}"),`).join("\n")}
  ],
  compatibilityDate = "2025-09-01",
);
`);
  const server = await serve((port) => [BIN("workerd"), ["serve", "config.capnp", "--socket-addr", `http=127.0.0.1:${port}`]], { cwd: out, name: "workerd" });
  try {
    const response = await fetch(`${server.url}/`);
    const body = await response.json();
    assert.equal(response.status, 200, `${body.error} (${body.code}): ${server.log()}`);
    answers.workerd = body;
  } finally {
    await server.stop();
  }
});

test("every bundler and runtime gives the same answer, on the grocery bundle", () => {
  const { node } = answers;
  assert.ok(node, "the Node run failed");
  assert.equal(node.badEvent, "UNKNOWN_ITEM");
  assert.equal(node.backend, "cpu");
  assert.equal(node.top.length, 5);
  assert.ok(node.prices.every(([, price]) => price > 0));
  for (const name of ["vite", "esbuild", "webpack", "rollup", "esbuild-node", "deno", "workerd"]) {
    assert.deepEqual(answers[name], node, `${name} differs from Node`);
  }
});

describe("the README's quick start, verbatim", () => {
  test("is the guide's quick start too", async () => {
    assert.equal(await codeBlock("docs/guide.md", "## Quick start"), await codeBlock("README.md", "## Quick start"));
  });

  test("runs in a new project on the installed tarball", async () => {
    await writeFile(join(project, "quickstart.mjs"), await codeBlock("README.md", "## Quick start"));
    const { stdout } = await run(process.execPath, ["quickstart.mjs"], { cwd: project });
    assert.match(stdout, /\b\d{6,8}\b/, "it prints recommended item ids");
    assert.match(stdout, /PERSONAL_DISCOUNT|LIST_PRICE_BEST/, "it prints quotes with their reasons");
  });
});

describe("types: strict tsc without skipLibCheck", () => {
  /** Runs tsc on `files` with `options` (strict, no skipLibCheck); resolves to its output when it fails. */
  async function tsc(name, options, files) {
    const config = join(project, `tsconfig.${name}.json`);
    const compilerOptions = { strict: true, noEmit: true, skipLibCheck: false, target: "es2022", ...options };
    await writeFile(config, JSON.stringify({ compilerOptions, files }));
    return run(process.execPath, [TSC, "-p", config], { cwd: project }).then(() => undefined, (e) => `${e.stdout}${e.stderr}`);
  }
  const bundler = { module: "esnext", moduleResolution: "bundler" };

  test("in a Node project: --lib es2022 with Node's types", async () => {
    const node = { lib: ["es2022"], module: "nodenext", moduleResolution: "nodenext", types: ["node"], typeRoots: [join(ROOT, "node_modules/@types")] };
    assert.equal(await tsc("node", node, ["src/check.ts", "src/check-node.ts"]), undefined);
  });

  test("in a browser project: the DOM library, bundler resolution", async () => {
    assert.equal(await tsc("dom", { lib: ["es2022", "dom"], types: [], ...bundler }, ["src/check.ts"]), undefined);
  });

  test("with --lib es2022 alone (no DOM, no Node types)", async () => {
    assert.equal(await tsc("bare", { lib: ["es2022"], types: [], ...bundler }, ["src/check.ts"]), undefined);
  });

  test("a union is a union: a code or a reason outside it does not type-check", async () => {
    await writeFile(join(project, "src/wrong.ts"), [
      'import type { ErrorCode, QuoteReason } from "edgerec";',
      'export const code: ErrorCode = "NOT_A_CODE";',
      'export const reason: QuoteReason = "NOT_A_REASON";',
    ].join("\n"));
    const output = await tsc("wrong", { lib: ["es2022"], types: [], ...bundler }, ["src/wrong.ts"]);
    assert.match(output ?? "", /NOT_A_CODE/);
    assert.match(output ?? "", /NOT_A_REASON/);
  });
});
