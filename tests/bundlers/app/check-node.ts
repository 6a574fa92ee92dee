// The Node helpers' types, checked with the Node project's settings only.
import { readBundleDir } from "edgerec/node";

import { run } from "./check.js";

export async function main(): Promise<string[]> {
  return run(await readBundleDir("node_modules/edgerec/models/grocery"));
}
