// A module Web Worker that runs edgerec off the main thread: it answers each message
// `{ bundle, events, k }` with the recommendations, or `{ error: { code, message } }`.
import { Edgerec } from "/dist/index.js";

let rec;
self.onmessage = async ({ data }) => {
  try {
    rec ??= await Edgerec.create({ bundle: data.bundle });
    self.postMessage({ top: await rec.recommend({ k: data.k, events: data.events }) });
  } catch (e) {
    self.postMessage({ error: { code: e.code, message: e.message } });
  }
};
