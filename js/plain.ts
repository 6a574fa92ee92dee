/**
 * Caller-supplied arguments copied into fresh plain data before anything crosses into the wasm,
 * so that no caller code (a getter, a Proxy trap, a revoked proxy) ever runs while the core is on
 * the stack: an exception there would unwind through the wasm and leave it mid-call. Each read is
 * made here, inside try/catch; what throws becomes `INVALID_ARGUMENT`, naming the argument.
 * @module
 */
import { EdgerecError } from "./errors.js";

/** How deep arguments nest at most (an event inside `options.events` is 3 deep): deeper is refused, cycles with it. */
const MAX_DEPTH = 8;

/**
 * The most an argument may hold, in characters of its JSON text, about (each value counts 1, a
 * string or key its length more): 4 MiB, room for 1,000 events or 100,000 candidate ids. A larger
 * one is refused as soon as the copy reaches the bound (an array or string that cannot fit before
 * any of it is copied), so that neither this copy nor the engine's reading of it can hold the
 * thread or the memory for long.
 */
export const MAX_ARGUMENT_SIZE = 1 << 22;

/** The options of `create` whose values are data the core reads, copied deeply. */
const CREATE_DATA = ["device", "build", "cache", "pricing", "sessions", "publicKey", "timeoutMs", "retries"] as const;

/** `%TypedArray%.prototype`, whose getters read a typed array's internal slots (a proxy or a look-alike has none). */
const TYPED_ARRAY = Object.getPrototypeOf(Uint8Array.prototype) as object;
const slot = (name: string | symbol) => Object.getOwnPropertyDescriptor(TYPED_ARRAY, name)?.get as (this: unknown) => unknown;
const tagOf = slot(Symbol.toStringTag);
const bufferOf = slot("buffer");
const offsetOf = slot("byteOffset");
const lengthOf = slot("byteLength");

/**
 * A copy of `value` made only of primitives (no symbol or BigInt), arrays and plain objects (own
 * enumerable string keys, as JSON and structured clone read them; `toJSON` is never called). `name` is the
 * argument's name in errors.
 */
export function plain(value: unknown, name: string): unknown {
  return copy(value, name, 0, { left: MAX_ARGUMENT_SIZE });
}

/** `value`'s length when it is an array (read once, inside try/catch), else `undefined`. */
export function arrayLength(value: unknown, name: string): number | undefined {
  if (!read(() => Array.isArray(value), name)) return undefined;
  return read(() => (value as unknown[]).length, `${name}.length`);
}

/**
 * `create`'s options, copied: the data options deeply, the bundle's files as fresh views of
 * genuine `Uint8Array`s, a `URL` as its text (`publicKey` is checked by `pinnedKeys`); other options
 * (functions, wasm sources) are taken as they are, read once.
 */
export function createOptions<T extends object>(options: T | undefined | null): T {
  if (options === undefined || options === null) return {} as T;
  const copied = ownEntries(options, "options");
  for (const key of CREATE_DATA) {
    if (Object.hasOwn(copied, key)) copied[key] = plain(copied[key], key);
  }
  copied.bundle = bundle(copied.bundle);
  return copied as T;
}

/** The bundle option: a string as it is, a `URL` as its text, an object of files as fresh views. */
function bundle(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  const url = read(() => (value instanceof URL ? URL.prototype.toString.call(value) : undefined), "bundle");
  if (url !== undefined) return url;
  const files = ownEntries(value, "bundle");
  for (const [file, bytes] of Object.entries(files)) {
    files[file] = uint8Array(bytes, `bundle[${JSON.stringify(file)}]`);
  }
  return files;
}

/**
 * A new view of a genuine `Uint8Array`'s bytes (the caller's own properties on it, such as a
 * `slice` of their own, left behind); anything else as it is when a primitive, else refused.
 */
function uint8Array(value: unknown, name: string): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (tagOf.call(value) !== "Uint8Array") {
    throw new EdgerecError("INVALID_ARGUMENT", `invalid argument \`${name}\`: expected a Uint8Array`);
  }
  return new Uint8Array(bufferOf.call(value) as ArrayBuffer, offsetOf.call(value) as number, lengthOf.call(value) as number);
}

/** What an argument's copy may still take, in `MAX_ARGUMENT_SIZE`'s units. */
interface Budget {
  left: number;
}

/** Takes `size` units from `budget`, or refuses the argument `name` when they are not left. */
function spend(budget: Budget, size: number, name: string): void {
  if (!(size <= budget.left)) throw tooLarge(name);
  budget.left -= size;
}

/** The error refusing the argument `name` as larger than `MAX_ARGUMENT_SIZE`. */
function tooLarge(name: string): EdgerecError {
  return new EdgerecError("INVALID_ARGUMENT", `invalid argument \`${name}\`: larger than ${MAX_ARGUMENT_SIZE} characters of JSON, the most one argument may hold`);
}

function copy(value: unknown, name: string, depth: number, budget: Budget): unknown {
  // Not data: JSON would drop a function or a symbol silently (a `k` of one would become the
  // default) and throw on a BigInt.
  if (typeof value === "function" || typeof value === "symbol" || typeof value === "bigint") {
    throw new EdgerecError("INVALID_ARGUMENT", `invalid argument \`${name}\`: expected data, got a ${typeof value === "bigint" ? "BigInt" : typeof value}`);
  }
  spend(budget, 1 + (typeof value === "string" ? value.length : 0), name);
  if (typeof value !== "object" || value === null) return value;
  if (depth >= MAX_DEPTH) {
    throw new EdgerecError("INVALID_ARGUMENT", `invalid argument \`${name}\`: nested more than ${MAX_DEPTH} levels deep (a cycle?)`);
  }
  const length = arrayLength(value, name);
  if (length !== undefined) {
    // Each element takes at least one unit: an array that cannot fit is refused before any of it is read.
    if (!(length <= budget.left)) throw tooLarge(name);
    const out: unknown[] = [];
    for (let i = 0; i < length; i++) {
      const at = `${name}[${i}]`;
      out.push(copy(read(() => (value as unknown[])[i], at), at, depth + 1, budget));
    }
    return out;
  }
  const out = ownEntries(value, name, budget);
  for (const key of Object.keys(out)) out[key] = copy(out[key], `${name}.${key}`, depth + 1, budget);
  return out;
}

/**
 * A plain object of `value`'s own enumerable string-keyed properties, each read once (values not
 * copied); with a `budget`, each key spends its length before its value is read.
 */
function ownEntries(value: object, name: string, budget?: Budget): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys = read(() => Object.keys(value), name);
  if (budget && !(keys.length <= budget.left)) throw tooLarge(name);
  for (const key of keys) {
    if (budget) spend(budget, key.length, `${name}.${key}`);
    // defineProperty: a key "__proto__" stays a key, and sets no prototype.
    Object.defineProperty(out, key, {
      value: read(() => (value as Record<string, unknown>)[key], `${name}.${key}`),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** `f()`, with any exception it raises (the caller's getter or Proxy trap) as `INVALID_ARGUMENT`. */
function read<T>(f: () => T, name: string): T {
  try {
    return f();
  } catch (e) {
    throw new EdgerecError("INVALID_ARGUMENT", `invalid argument \`${name}\`: reading it threw${describe(e)}`);
  }
}

/** `: <the thrown error's message>`, when it has one of its own. */
function describe(e: unknown): string {
  try {
    const message = typeof e === "string" ? e : Object.getOwnPropertyDescriptor(e as object, "message")?.value;
    return typeof message === "string" ? `: ${message}` : "";
  } catch {
    return "";
  }
}
