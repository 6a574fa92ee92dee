// Debian's Chromium, headless, driven by playwright-core (which never downloads a browser of its own).
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * A fresh browser context with its own profile (a new temporary folder unless `profile` names
 * one); `webgpu` turns on the (SwiftShader) adapter.
 */
export async function launch({ webgpu = false, profile } = {}) {
  profile ??= await mkdtemp(join(tmpdir(), "edgerec-chromium-"));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      ...(webgpu ? ["--enable-unsafe-webgpu"] : ["--disable-gpu"]),
    ],
  });
}
