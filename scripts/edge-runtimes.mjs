// Starts the edge example in a runtime on a free loopback port: workerd (the Cloudflare
// runtime, from npm), Node, or Deno (from npm). Resolves to { url, pid, log, stop }. Used by the
// edge tests and the load benchmark.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** A program installed by npm install, by name. */
export const BIN = (name) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The command that serves the example on `port` in `runtime`. */
function command(runtime, port) {
  switch (runtime) {
    case "workerd":
      return [BIN("workerd"), ["serve", "examples/cloudflare-worker/config.capnp", "--socket-addr", `http=127.0.0.1:${port}`]];
    case "node":
      return [process.execPath, ["examples/cloudflare-worker/node-server.mjs", "--port", String(port)]];
    case "deno":
      return [BIN("deno"), ["run", "--allow-read=.", "--allow-net=127.0.0.1", "--allow-env", "examples/cloudflare-worker/deno-server.mjs", String(port)]];
    default:
      throw new Error(`unknown runtime ${runtime}`);
  }
}

/** Starts the example in `runtime` (pinned to CPU core `cpu` when given) and waits until it answers. */
export async function start(runtime, { cpu } = {}) {
  return serve((port) => command(runtime, port), { cpu, name: runtime });
}

/**
 * Starts the server that `commandFor(port)` gives (`[program, args]`, run in `cwd`, pinned to CPU
 * core `cpu` when given) on a free loopback port and waits until it answers.
 */
export async function serve(commandFor, { cpu, cwd = ROOT, name = "the server" } = {}) {
  const port = await freePort();
  const [program, programArgs] = commandFor(port);
  const [bin, args] = cpu === undefined ? [program, programArgs] : ["taskset", ["-c", String(cpu), program, ...programArgs]];
  const child = spawn(bin, args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DENO_NO_UPDATE_CHECK: "1" } });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${log}`);
    try {
      await fetch(`${url}/`);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    pid: child.pid,
    log: () => log,
    stop: () => new Promise((resolve) => {
      child.once("exit", resolve);
      child.kill();
    }),
  };
}
