// Builds the crate's WebAssembly as wasm-pack.toml lists it: one `wasm-pack build` per build, each
// with its own CARGO_TARGET_DIR (so the CPU and GPU builds stop invalidating each other), and none
// at all for a build whose inputs are unchanged since it wrote its files. Each glue is then made a
// factory of instances (scripts/glue-factory.mjs); wasm-bindgen's own glue is kept next to it, so
// a change of the transform alone re-applies it without running cargo.
//   node scripts/build-wasm.mjs [name ...] [--force]     (npm run build:wasm; default: every build)
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

import { parse } from "smol-toml";

import { factoryTypes, toFactory } from "./glue-factory.mjs";

/** The repository root, where wasm-pack.toml is. */
export const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The files wasm-pack writes for a build, by what they are. */
export function outputs(build) {
  return {
    glue: join(build.outDir, `${build.outName}.js`),
    glueTypes: join(build.outDir, `${build.outName}.d.ts`),
    wasm: join(build.outDir, `${build.outName}_bg.wasm`),
    wasmTypes: join(build.outDir, `${build.outName}_bg.wasm.d.ts`),
  };
}

/** Where wasm-bindgen's own glue and its types are kept once the factory replaces them. */
function rawGlue(build) {
  return { glue: join(build.outDir, ".wasm-bindgen.js"), glueTypes: join(build.outDir, ".wasm-bindgen.d.ts") };
}

/** The transform's version: a hash of its source, recorded in the stamp. */
const TRANSFORM = createHash("sha256").update(readFileSync(new URL("./glue-factory.mjs", import.meta.url))).digest("hex");

/** The builds of wasm-pack.toml, checked: `{ name, features, outDir, outName, targetDir, wasmOpt }`. */
export function readBuilds(file = join(ROOT, "wasm-pack.toml")) {
  const config = parse(readFileSync(file, "utf8"));
  const builds = config.build;
  if (!Array.isArray(builds) || builds.length === 0) throw new Error(`${file}: no [[build]] entries`);
  const seen = new Map();
  return builds.map((b, i) => {
    const where = `${file}: build ${i + 1}`;
    for (const key of ["name", "out-dir", "out-name", "target-dir"]) {
      if (typeof b[key] !== "string" || b[key] === "") throw new Error(`${where}: \`${key}\` must be a non-empty string`);
    }
    if (!Array.isArray(b.features) || !b.features.every((f) => typeof f === "string")) {
      throw new Error(`${where} (${b.name}): \`features\` must be a list of cargo feature names`);
    }
    for (const key of ["name", "out-dir", "out-name", "target-dir"]) {
      const other = seen.get(`${key}=${b[key]}`);
      if (other) throw new Error(`${where} (${b.name}): \`${key}\` "${b[key]}" is also build ${other}'s: each build needs its own`);
      seen.set(`${key}=${b[key]}`, b.name);
    }
    return {
      name: b.name,
      features: b.features,
      outDir: b["out-dir"],
      outName: b["out-name"],
      targetDir: b["target-dir"],
      wasmOpt: b["wasm-opt"] ?? config["wasm-opt"] ?? false,
    };
  });
}

/** Every file under `dir`, sorted, as paths from ROOT. */
function filesUnder(dir) {
  if (!existsSync(join(ROOT, dir))) return [];
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(ROOT, join(e.parentPath ?? e.path, e.name)))
    .sort();
}

function version(command) {
  const run = spawnSync(command, ["--version"], { encoding: "utf8" });
  if (run.error || run.status !== 0) throw new Error(`\`${command} --version\` failed: is it installed? (bash scripts/setup.sh installs it)`);
  return run.stdout.trim();
}

/**
 * A hash of everything a build's output depends on: the crate's sources and manifests, the build's
 * entry, the toolchain's versions and the environment variables cargo reads for flags and profiles.
 */
export function fingerprint(build, tools) {
  const hash = createHash("sha256");
  hash.update(JSON.stringify({ build, tools }));
  const env = Object.keys(process.env).filter((k) => /^(RUSTFLAGS|CARGO_ENCODED_RUSTFLAGS|CARGO_PROFILE_|CARGO_BUILD_)/.test(k)).sort();
  for (const k of env) hash.update(`${k}=${process.env[k]}\n`);
  const inputs = ["Cargo.toml", "Cargo.lock", ".cargo/config.toml", "rust-toolchain.toml", "rust-toolchain", "build.rs", ...filesUnder("src")];
  for (const file of inputs) {
    const path = join(ROOT, file);
    if (!existsSync(path)) continue;
    hash.update(`${file}\0`);
    hash.update(readFileSync(path));
  }
  return hash.digest("hex");
}

const sha256 = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");
const stampPath = (build) => join(ROOT, build.outDir, ".edgerec-build.json");

/** Whether every file a stamp lists is there with the hash it records. */
const unaltered = (files) =>
  Object.entries(files ?? {}).every(([file, hash]) => existsSync(join(ROOT, file)) && sha256(join(ROOT, file)) === hash);

/**
 * What `build` needs: `"none"` (its files are there, unaltered, made from inputs with this
 * fingerprint by this transform), `"transform"` (wasm-bindgen's output is there and current, the
 * factory is not: re-apply the transform) or `"build"` (run wasm-pack).
 */
function needs(build, print) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(stampPath(build), "utf8"));
  } catch {
    return "build";
  }
  if (stamp.fingerprint !== print || Object.keys(stamp.files ?? {}).length !== 4) return "build";
  if (stamp.transform === undefined) {
    // Stamped before the transform existed: its glue is wasm-bindgen's own, kept as the raw copy.
    if (!unaltered(stamp.files)) return "build";
    const out = outputs(build);
    for (const [kind, path] of Object.entries(rawGlue(build))) copyFileSync(join(ROOT, out[kind]), join(ROOT, path));
    return "transform";
  }
  if (!unaltered(stamp.raw)) return "build";
  return stamp.transform === TRANSFORM && unaltered(stamp.files) ? "none" : "transform";
}

/** Writes the factory glue and its types from wasm-bindgen's (kept aside), and the build's stamp. */
function makeFactory(build, print) {
  const out = outputs(build);
  const raw = rawGlue(build);
  const { glue, names } = toFactory(readFileSync(join(ROOT, raw.glue), "utf8"), out.glue);
  writeFileSync(join(ROOT, out.glue), glue);
  writeFileSync(join(ROOT, out.glueTypes), readFileSync(join(ROOT, raw.glueTypes), "utf8") + factoryTypes(names));
  const hashes = (files) => Object.fromEntries(Object.values(files).map((f) => [f, sha256(join(ROOT, f))]));
  const stamp = { fingerprint: print, transform: TRANSFORM, raw: hashes(raw), files: hashes(out) };
  writeFileSync(stampPath(build), `${JSON.stringify(stamp, null, 2)}\n`);
}

/** Runs wasm-pack for one build, in its own cargo target directory. */
function runWasmPack(build) {
  const args = ["build", "--target", "web", "--release", "--no-pack", "--out-dir", build.outDir, "--out-name", build.outName];
  if (!build.wasmOpt) args.push("--no-opt");
  args.push("--", "--locked");
  if (build.features.length) args.push("--features", build.features.join(","));
  console.log(`build-wasm: ${build.name}: CARGO_TARGET_DIR=${build.targetDir} wasm-pack ${args.join(" ")}`);
  const run = spawnSync("wasm-pack", args, {
    cwd: ROOT,
    stdio: "inherit",
    env: { ...process.env, CARGO_TARGET_DIR: join(ROOT, build.targetDir) },
  });
  if (run.error) throw new Error(`could not run wasm-pack: ${run.error.message} (bash scripts/setup.sh installs it)`);
  if (run.status !== 0) throw new Error(`wasm-pack failed for the ${build.name} build (exit ${run.status})`);
}

/** Builds the named builds (all by default), skipping those that are up to date unless `force`. */
export function buildWasm({ names = [], force = false } = {}) {
  const builds = readBuilds();
  const unknown = names.filter((n) => !builds.some((b) => b.name === n));
  if (unknown.length) throw new Error(`no build named ${unknown.join(", ")} in wasm-pack.toml (builds: ${builds.map((b) => b.name).join(", ")})`);
  const tools = { rustc: version("rustc"), wasmPack: version("wasm-pack"), wasmBindgen: version("wasm-bindgen") };
  for (const build of builds.filter((b) => names.length === 0 || names.includes(b.name))) {
    const started = performance.now();
    const print = fingerprint(build, tools);
    const need = force ? "build" : needs(build, print);
    if (need === "none") {
      console.log(`build-wasm: ${build.name}: up to date (${build.outDir}/), checked in ${Math.round(performance.now() - started)} ms`);
      continue;
    }
    if (need === "build") {
      runWasmPack(build);
      const out = outputs(build);
      for (const [kind, path] of Object.entries(rawGlue(build))) copyFileSync(join(ROOT, out[kind]), join(ROOT, path));
    }
    makeFactory(build, print);
    const what = need === "build" ? "built" : "glue made a factory";
    console.log(`build-wasm: ${build.name}: ${what} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { force: { type: "boolean", default: false } } });
  try {
    buildWasm({ names: positionals, force: values.force });
  } catch (e) {
    console.error(`build-wasm: ${e.message}`);
    process.exit(1);
  }
}
