# workerd's configuration for the edge example: one worker whose modules are the package, its
# wasm and the grocery bundle, served on 127.0.0.1:8787 (tests pass --socket-addr http=…).
#   npx workerd serve examples/cloudflare-worker/config.capnp
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .edgerec)],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);

# Module names are paths from the repository root, so the package's relative imports resolve.
const edgerec :Workerd.Worker = (
  modules = [
    (name = "examples/cloudflare-worker/worker.mjs", esModule = embed "worker.mjs"),
    (name = "examples/cloudflare-worker/handler.mjs", esModule = embed "handler.mjs"),
    (name = "examples/cloudflare-worker/session-cookie.mjs", esModule = embed "session-cookie.mjs"),
    (name = "dist/index.js", esModule = embed "../../dist/index.js"),
    (name = "dist/errors.js", esModule = embed "../../dist/errors.js"),
    (name = "dist/contain.js", esModule = embed "../../dist/contain.js"),
    (name = "dist/plain.js", esModule = embed "../../dist/plain.js"),
    (name = "dist/fetch-bundle.js", esModule = embed "../../dist/fetch-bundle.js"),
    (name = "dist/cache.js", esModule = embed "../../dist/cache.js"),
    (name = "dist/persist.js", esModule = embed "../../dist/persist.js"),
    (name = "dist/download.js", esModule = embed "../../dist/download.js"),
    (name = "dist/keys.js", esModule = embed "../../dist/keys.js"),
    (name = "dist/releases.js", esModule = embed "../../dist/releases.js"),
    (name = "dist/wasm-loader.js", esModule = embed "../../dist/wasm-loader.js"),
    (name = "pkg/edgerec.js", esModule = embed "../../pkg/edgerec.js"),
    (name = "pkg/edgerec_bg.wasm", wasm = embed "../../pkg/edgerec_bg.wasm"),
    (name = "models/grocery/manifest.json", data = embed "../../models/grocery/manifest.json"),
    (name = "models/grocery/encoder.safetensors", data = embed "../../models/grocery/encoder.safetensors"),
    (name = "models/grocery/items.json", data = embed "../../models/grocery/items.json"),
    (name = "models/grocery/items.safetensors", data = embed "../../models/grocery/items.safetensors"),
    (name = "models/grocery/price.safetensors", data = embed "../../models/grocery/price.safetensors"),
  ],
  compatibilityDate = "2025-09-01",
);
