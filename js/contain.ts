import { coreError, EdgerecError } from "./errors.js";

/** What a raw engine of any build's glue has that containment needs. */
interface RawEngine {
  free(): void;
  /** wasm-bindgen's: detaches the JS object from its wasm memory without calling into the wasm. */
  __destroy_into_raw(): number;
}

/** The message of every `ENGINE_FAILED` thrown by an engine whose wasm trapped (stable: tests match it). */
export const ENGINE_FAILED_MESSAGE =
  "this engine's WebAssembly trapped and the engine was stopped: dispose() it and create another (other engines are unaffected)";

/** The message of `ENGINE_FAILED` from `create`, when the wasm trapped while loading the bundle. */
export const CREATE_FAILED_MESSAGE =
  "the engine's WebAssembly trapped while loading the bundle: no engine was created (other engines are unaffected)";

/**
 * One raw engine, alone in its own wasm instance, failing closed. A call that ends in anything
 * but the core's own error (a trap, `WebAssembly.RuntimeError`; or any other exception from
 * inside the wasm or its glue, which may have left the instance's memory half-written) marks the
 * engine failed: that call and every later one throw `ENGINE_FAILED` (the first with the trap as
 * its `cause`) and nothing runs in that instance again. `dispose()` always works.
 */
export class Contained<E extends RawEngine> {
  #engine: E | undefined;
  #failed = false;

  private constructor(engine: E) {
    this.#engine = engine;
  }

  /**
   * Runs `make`, which creates a raw engine in a fresh instance: the core's errors become
   * `EdgerecError`s, and a trap `ENGINE_FAILED` (the instance is then dropped whole).
   */
  static create<E extends RawEngine>(make: () => E): Contained<E> {
    try {
      return new Contained(make());
    } catch (e) {
      throw coreError(e) ?? new EdgerecError("ENGINE_FAILED", CREATE_FAILED_MESSAGE, { cause: e });
    }
  }

  /** Runs `f` on the engine: throws `DISPOSED` after `dispose()`, `ENGINE_FAILED` once it has trapped. */
  call<T>(f: (engine: E) => T): T {
    const engine = this.#live();
    try {
      return f(engine);
    } catch (e) {
      throw this.#classify(e);
    }
  }

  /** `call` for a call that answers with a promise (the GPU build's): its rejection is classified alike. */
  async callAsync<T>(f: (engine: E) => Promise<T>): Promise<T> {
    const pending = this.call(f);
    try {
      return await pending;
    } catch (e) {
      throw this.#classify(e);
    }
  }

  /** Frees the engine (a failed one is only let go: its instance is never entered again). Safe to call twice. */
  dispose(): void {
    const engine = this.#engine;
    this.#engine = undefined;
    this.#failed = false;
    if (!engine) return;
    try {
      engine.free();
    } catch {
      // A trap while freeing (wasm-bindgen has detached the object first): the instance is let go whole.
    }
  }

  #live(): E {
    if (this.#failed) throw new EdgerecError("ENGINE_FAILED", ENGINE_FAILED_MESSAGE);
    if (!this.#engine) throw new EdgerecError("DISPOSED", "this engine was disposed; create a new one");
    return this.#engine;
  }

  /** The error a call ends with: the core's as it is; anything else fails the engine. */
  #classify(e: unknown): EdgerecError {
    const known = coreError(e);
    if (known) return known;
    if (!this.#failed) {
      this.#failed = true;
      // Detached without entering the instance: wasm-bindgen's finalizer would otherwise free
      // the engine inside the trapped instance when the object is collected.
      this.#engine?.__destroy_into_raw();
      this.#engine = undefined;
    }
    return new EdgerecError("ENGINE_FAILED", ENGINE_FAILED_MESSAGE, { cause: e });
  }
}
