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
 * The most an argument may hold: 4 MiB of JSON text (counted as the copy goes, as
 * `JSON.stringify` writes it: strings with their quotes and escapes, numbers by their digits, the
 * punctuation) and 262,144 values (each string, number, array or object one): room for 1,000
 * events, or 100,000 candidate ids of up to about 40 characters. A larger argument is refused as
 * soon as the copy reaches a bound, and an array or object with more elements than there are
 * values left before any of them is read, so that neither this copy nor the engine's reading of
 * it can hold the thread or the memory for long.
 */
const MAX_ARGUMENT = { chars: 1 << 22, values: 1 << 18 } as const;

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
 * argument's name in errors. When `value` is an array, `checkLength` sees its length (read once)
 * before any element is read, and may refuse it by throwing.
 */
export function plain(value: unknown, name: string, checkLength?: (length: number) => void): unknown {
  return copy(value, name, 0, { ...MAX_ARGUMENT, argument: name }, checkLength);
}

/**
 * `value`'s length when it is an array (read inside try/catch; a Proxy's `length` that is not an
 * array length is refused), else `undefined`.
 */
function arrayLength(value: unknown, name: string): number | undefined {
  if (!read(() => Array.isArray(value), name)) return undefined;
  const length = read(() => (value as unknown[]).length, `${name}.length`);
  if (typeof length !== "number" || !Number.isSafeInteger(length) || length < 0) {
    throw new EdgerecError("INVALID_ARGUMENT", `invalid argument \`${name}\`: its length is not an array length`);
  }
  return length;
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
    // An entry left undefined counts as absent.
    if (bytes === undefined) delete files[file];
    else files[file] = uint8Array(bytes, `bundle[${JSON.stringify(file)}]`);
  }
  return files;
}

/**
 * A new view of a genuine `Uint8Array`'s bytes (the caller's own properties on it, such as a
 * `slice` of their own, left behind); anything else is refused.
 */
function uint8Array(value: unknown, name: string): unknown {
  if (typeof value !== "object" || value === null || tagOf.call(value) !== "Uint8Array") {
    throw new EdgerecError("INVALID_ARGUMENT", `invalid argument \`${name}\`: expected a Uint8Array`);
  }
  // A view of a detached buffer cannot be made: refused as unreadable.
  return read(() => new Uint8Array(bufferOf.call(value) as ArrayBuffer, offsetOf.call(value) as number, lengthOf.call(value) as number), name);
}

/** What an argument's copy may still take (`MAX_ARGUMENT`'s units), and the argument's name. */
interface Budget {
  chars: number;
  values: number;
  argument: string;
}

/** Takes `chars` characters and `values` values from `budget`, or refuses the argument, reached at `at`, when they are not left. */
function spend(budget: Budget, chars: number, at: string, values = 1): void {
  if (!(chars <= budget.chars && values <= budget.values)) throw tooLarge(budget, at);
  budget.chars -= chars;
  budget.values -= values;
}

/** Refuses the argument at once when the `count` elements of its part `at` cannot fit in what `budget` has left. */
function fits(budget: Budget, count: number, at: string): void {
  if (!(count <= budget.values)) throw tooLarge(budget, at);
}

/** The error refusing `budget`'s argument as larger than `MAX_ARGUMENT`, the bound reached at its part `at`. */
function tooLarge(budget: Budget, at: string): EdgerecError {
  const where = at === budget.argument ? "" : ` (reached at \`${at}\`)`;
  return new EdgerecError(
    "INVALID_ARGUMENT",
    `invalid argument \`${budget.argument}\`: larger than one argument may be, ${MAX_ARGUMENT.chars} characters of JSON or ${MAX_ARGUMENT.values} values${where}`,
  );
}

/** The characters of JSON around `count` elements or entries: the brackets and the commas between them. */
function punctuation(count: number): number {
  return count === 0 ? 2 : count + 1;
}

/** The length of `text` as `JSON.stringify` writes it (quotes, and escapes: 2 or 6 characters), or more than `most`. */
function jsonLength(text: string, most: number): number {
  let length = text.length + 2;
  for (let i = 0; i < text.length && length <= most; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20) length += [8, 9, 10, 12, 13].includes(c) ? 1 : 5;
    else if (c === 0x22 || c === 0x5c) length += 1;
    else if (c >= 0xd800 && c <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++; // a pair: as it is
    else if (c >= 0xd800 && c <= 0xdfff) length += 5; // a lone surrogate: \uXXXX
  }
  return length;
}

function copy(value: unknown, name: string, depth: number, budget: Budget, checkLength?: (length: number) => void): unknown {
  // Not data: JSON would drop a function or a symbol silently (a `k` of one would become the
  // default) and throw on a BigInt.
  if (typeof value === "function" || typeof value === "symbol" || typeof value === "bigint") {
    throw new EdgerecError("INVALID_ARGUMENT", `invalid argument \`${name}\`: expected data, got a ${typeof value === "bigint" ? "BigInt" : typeof value}`);
  }
  if (typeof value !== "object" || value === null) {
    // Its JSON: a string quoted and escaped, `undefined` as null, anything else (a number, a
    // boolean, null) as its text.
    const chars = typeof value === "string" ? jsonLength(value, budget.chars) : value === undefined ? 4 : String(value).length;
    spend(budget, chars, name);
    return value;
  }
  if (depth >= MAX_DEPTH) {
    throw new EdgerecError("INVALID_ARGUMENT", `invalid argument \`${name}\`: nested more than ${MAX_DEPTH} levels deep (a cycle?)`);
  }
  const length = arrayLength(value, name);
  if (length !== undefined) {
    checkLength?.(length);
    spend(budget, punctuation(length), name);
    fits(budget, length, name);
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
  if (budget) {
    fits(budget, keys.length, name);
    spend(budget, punctuation(keys.length), name);
  }
  for (const key of keys) {
    // The key's JSON: quoted and escaped, and its colon; its value is counted as it is copied.
    if (budget) spend(budget, jsonLength(key, budget.chars) + 1, `${name}.${key}`, 0);
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
