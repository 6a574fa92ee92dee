/**
 * Reading a file from disk without trusting what is there: `readBundleDir` reads bundle files with
 * it, and the Node entry the wasm given by `file:` URL.
 * @module
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";

/**
 * The bytes of the regular file at `path`, once `check` has accepted its size (read no further
 * than that size, should the file grow meanwhile). Opened without blocking, so that a FIFO is
 * refused instead of waited on; anything but a regular file (a FIFO, a device, a folder) is an
 * `Error` naming the path.
 */
export async function readRegularFile(path: string | URL, check: (size: number) => void): Promise<Uint8Array> {
  // O_NONBLOCK is undefined on Windows, which has no FIFOs of this kind.
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new Error(`${path}: not a regular file`);
    check(stats.size);
    const bytes = new Uint8Array(stats.size);
    let at = 0;
    while (at < bytes.length) {
      const { bytesRead } = await handle.read(bytes, at, bytes.length - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return bytes.subarray(0, at);
  } finally {
    await handle.close();
  }
}
