/**
 * The file layer for everything off the hook's hot path: files of the state
 * directory and Claude Code's folder opened without following symlinks and
 * without blocking on a FIFO, small files read within a size, and files
 * written atomically (a private temporary file renamed into place).
 *
 * Owns: `openRegularFile`, `readSmallFile`, `readJsonFile`,
 * `writeFileAtomically`, temporary files. Uses: runtime.
 *
 * @module
 */

import { attempt, type FsPromises, nodeFs } from "./runtime.ts";

/** The names of the `open` flags the hook uses. */
export type OpenFlag = "O_RDONLY" | "O_WRONLY" | "O_APPEND" | "O_CREAT" | "O_NOFOLLOW" | "O_NONBLOCK";

/**
 * The number `open` takes for a list of flags, from this system's constants.
 *
 * @param names The flags.
 * @returns Their bitwise or.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(typeof await openFlags(["O_RDONLY", "O_NOFOLLOW"]), "number");
 * ```
 */
export async function openFlags(names: readonly OpenFlag[]): Promise<number> {
  const { constants } = await nodeFs();
  return names.reduce((flags, name) => flags | (constants[name] ?? 0), 0);
}

/** Opening flags of a file the hook only reads: never through a symlink, never waiting on a FIFO. */
const READ_FLAGS: readonly OpenFlag[] = ["O_RDONLY", "O_NOFOLLOW", "O_NONBLOCK"];

/**
 * Opens a file for reading without following a symlink at its path and
 * without blocking on a FIFO or device, and checks that it is a regular file.
 *
 * @param fs The file API.
 * @param path The file.
 * @param followSymlink Open what a symlink at `path` points to (a user's own dotfiles), still only a regular file.
 * @param accept A further check of the opened file's owner and mode (made on the open file, so nothing can swap it).
 * @returns The open file (the caller closes it) and its size.
 * @throws When the path is not a regular file, fails `accept`, or cannot be opened.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as fs from "node:fs/promises";
 * await assert.rejects(() => openRegularFile(fs, "/dev/null"), /not a regular file/);
 * ```
 */
export async function openRegularFile(
  fs: FsPromises,
  path: string,
  followSymlink = false,
  accept?: (owner: { uid: number; mode: number }) => boolean,
): Promise<{ file: import("node:fs/promises").FileHandle; size: number }> {
  const flags = followSymlink ? READ_FLAGS.filter((flag) => flag !== "O_NOFOLLOW") : READ_FLAGS;
  const file = await fs.open(path, await openFlags(flags));
  const stat = await file.stat().catch(async (error) => {
    await file.close();
    throw error;
  });
  if (!stat.isFile()) {
    await file.close();
    throw new Error(`not a regular file: ${path}`);
  }
  if (accept !== undefined && !accept({ uid: stat.uid, mode: stat.mode & 0o7777 })) {
    await file.close();
    throw new Error(`not a file to trust: ${path}`);
  }
  return { file, size: stat.size };
}

/**
 * Reads a small file of the state directory: a regular file only (never
 * through a symlink, never a FIFO), at most `maxBytes`.
 *
 * @param fs The file API.
 * @param path The file.
 * @param maxBytes The most bytes to read; a larger file gives undefined.
 * @param followSymlink Read what a symlink at `path` points to (still only a regular file).
 * @param accept A further check of the opened file's owner and mode (see {@linkcode openRegularFile}).
 * @returns Its text, or undefined when it is missing, not a regular file, too large, refused or unreadable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as fs from "node:fs/promises";
 * assert.equal(await readSmallFile(fs, "/nonexistent/status.json"), undefined);
 * ```
 */
export async function readSmallFile(
  fs: FsPromises,
  path: string,
  maxBytes = 1 << 20,
  followSymlink = false,
  accept?: (owner: { uid: number; mode: number }) => boolean,
): Promise<string | undefined> {
  try {
    const { file, size } = await openRegularFile(fs, path, followSymlink, accept);
    try {
      if (size > maxBytes) return undefined;
      const buffer = new Uint8Array(size);
      const { bytesRead } = await file.read(buffer, 0, size, 0);
      return new TextDecoder().decode(buffer.subarray(0, bytesRead));
    } finally {
      await file.close();
    }
  } catch {
    return undefined;
  }
}

/**
 * Reads a small JSON file of the state directory (see {@linkcode readSmallFile}).
 *
 * @param fs The file API.
 * @param path The file.
 * @returns The parsed value, unchecked (callers check its shape), or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as fs from "node:fs/promises";
 * assert.equal(await readJsonFile(fs, "/nonexistent/status.json"), undefined);
 * ```
 */
export async function readJsonFile(fs: FsPromises, path: string): Promise<unknown> {
  const text = await readSmallFile(fs, path);
  return text === undefined ? undefined : attempt(() => JSON.parse(text), undefined);
}

/** The end of a temporary file's name: `<file>.<uuid>.tmp`, renamed over `<file>` once written. */
export const TEMPORARY_SUFFIX = ".tmp";

/**
 * Removes temporary files (`<file>.<uuid>.tmp`) that a process killed or
 * stopped by a full disk left in a folder: only those older than a minute,
 * so that no write in progress loses its file. Never follows a symlink.
 *
 * @param fs The file API.
 * @param dir The folder.
 * @returns How many were removed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as fs from "node:fs/promises";
 * assert.equal(await removeLeftoverTemporaries(fs, "/nonexistent"), 0);
 * ```
 */
export async function removeLeftoverTemporaries(fs: FsPromises, dir: string): Promise<number> {
  const leftover = /\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;
  let removed = 0;
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!leftover.test(name)) continue;
    const stat = await fs.lstat(`${dir}/${name}`).catch(() => undefined);
    if (stat === undefined || stat.isDirectory() || Date.now() - stat.mtimeMs < 60_000) continue;
    if (await fs.rm(`${dir}/${name}`).then(() => true, () => false)) removed++;
  }
  return removed;
}

/**
 * Writes a file atomically: a new private temporary file beside it (created
 * exclusively, so never through a symlink), then a rename over the file (which
 * replaces a symlink there rather than writing through it).
 *
 * @param fs The file API.
 * @param path The file.
 * @param text Its content.
 * @param mode Its permission bits.
 *
 * @example
 * ```ts ignore
 * await writeFileAtomically(await nodeFs(), `${stateDir}/config.json`, "{}\n", 0o600);
 * ```
 */
export async function writeFileAtomically(fs: FsPromises, path: string, text: string, mode = 0o600): Promise<void> {
  const temporary = `${path}.${crypto.randomUUID()}${TEMPORARY_SUFFIX}`;
  const file = await fs.open(temporary, "wx", 0o600);
  try {
    try {
      await file.writeFile(text);
      // The umask may have taken bits away; the final mode is set on the new file itself.
      await file.chmod(mode);
    } finally {
      await file.close();
    }
    await fs.rename(temporary, path);
  } catch (error) {
    // A full disk must not leave temporary files behind, one per failed write.
    await fs.rm(temporary, { force: true }).catch(() => {});
    throw error;
  }
}

/**
 * Writes a JSON file atomically (see {@linkcode writeFileAtomically}), readable by this user only.
 *
 * @param fs The file API.
 * @param path The file.
 * @param value Any JSON value.
 *
 * @example
 * ```ts ignore
 * await writeJsonAtomically(await nodeFs(), `${stateDir}/status.json`, { delivered: 1 });
 * ```
 */
export async function writeJsonAtomically(fs: FsPromises, path: string, value: unknown): Promise<void> {
  await writeFileAtomically(fs, path, JSON.stringify(value) + "\n");
}
