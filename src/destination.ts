/**
 * Where each ping goes: the tracker configured for the session that produced
 * it, and no other. Claude Code gives each session its own environment (a
 * project's `env`, a plugin's option), while one sender delivers every
 * session's pings; so a spool entry names its tracker by an id, and the URLs
 * (with their tokens) live in one private file each, `destinations/<id>.json`
 * (0600), never in the spool. The URL `install` saved is named `saved`: it
 * is read when the ping is sent, so a rotated token applies to pings already
 * waiting.
 *
 * Owns: destination ids, the `destinations/` folder. Uses: runtime, files, sha256,
 * state_dir, ping_url.
 *
 * @module
 */

import { parsePingUrl } from "./ping_url.ts";
import type { FileFacts, FsPromises, Runtime } from "./runtime.ts";
import { readJsonFile } from "./files.ts";
import { type Sha256Hex, webCryptoSha256Hex } from "./sha256.ts";
import { STATE_LAYOUT } from "./state_dir.ts";

/** A spool entry's tracker: `saved` (the URL install saved, read when sending), or the id of a destination file. */
export type DestinationId = string;

/** The destination of pings whose session used the URL `install` saved. */
export const SAVED_DESTINATION: DestinationId = "saved";

/** A destination file's id: 32 hex digits. */
const DESTINATION_ID = /^[0-9a-f]{32}$/;

/**
 * Whether a value is a destination a spool entry may name.
 *
 * @param value Anything read from a spool entry.
 * @returns True for `saved` or 32 hex digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(isDestinationId("saved"), true);
 * assert.equal(isDestinationId("../config"), false);
 * ```
 */
export function isDestinationId(value: unknown): value is DestinationId {
  return value === SAVED_DESTINATION || (typeof value === "string" && DESTINATION_ID.test(value));
}

/**
 * The id of a ping URL: a hash of it, so that the same tracker always gets
 * the same file, and a spool entry names it without holding the token.
 *
 * @param url The ping URL, checked.
 * @param sha256Hex The SHA-256 to use.
 * @returns 32 hex digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { webCryptoSha256Hex } from "@telemhq/claude-code";
 * const id = await destinationId(new URL("https://telemhq.com/ping/T"), webCryptoSha256Hex);
 * assert.match(id, /^[0-9a-f]{32}$/);
 * ```
 */
export async function destinationId(url: URL, sha256Hex: Sha256Hex): Promise<DestinationId> {
  return (await sha256Hex(`destination\u0000${url.href}`)).slice(0, 32);
}

function destinationPath(stateDir: string, id: DestinationId): string {
  return `${stateDir}/${STATE_LAYOUT.destinations}/${id}.json`;
}

/**
 * Names the tracker of a ping the hook is about to spool: `saved` for the URL
 * `install` saved, else the id of the URL in force (see
 * {@linkcode destinationId}).
 *
 * @param runtime The runtime adapter.
 * @param url The ping URL in force for this session.
 * @param fromSavedConfig Whether that URL is the one `install` saved.
 * @returns The destination to write into the spool entry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * assert.equal(await destinationOf(detectRuntime(), new URL("https://telemhq.com/ping/T"), true), "saved");
 * ```
 */
export async function destinationOf(runtime: Runtime, url: URL, fromSavedConfig: boolean): Promise<DestinationId> {
  return fromSavedConfig ? SAVED_DESTINATION : await destinationId(url, runtime.sha256Hex);
}

/**
 * Makes sure a destination's file exists and holds its URL once its ping is
 * spooled: created (0600, exclusively, never through a symlink) when it is
 * new, and written again when it holds anything else (a crash between its
 * creation and its write leaves it empty, and a file the sender cannot read
 * would keep that tracker's pings waiting until they are too old). Done after
 * the ping is spooled: the cleaning (see {@linkcode removeUnusedDestinations})
 * looks for pings naming a destination again after removing it, so between
 * the two, a destination a ping names always ends up on disk.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory (checked).
 * @param id The destination (nothing to do for `saved`).
 * @param url Its ping URL.
 * @throws When the file cannot be written (a full disk): the ping cannot be sent from the spool.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * const runtime = detectRuntime();
 * const stateDir = await Deno.makeTempDir();
 * const url = new URL("https://telemhq.com/ping/T");
 * const id = await destinationOf(runtime, url, false);
 * await keepDestination(runtime, stateDir, id, url);
 * assert.equal((await resolveDestination(await runtime.fs(), stateDir, id))?.href, url.href);
 * ```
 */
export async function keepDestination(runtime: Runtime, stateDir: string, id: DestinationId, url: URL): Promise<void> {
  if (id === SAVED_DESTINATION) return;
  const path = destinationPath(stateDir, id);
  const text = JSON.stringify({ url: url.href }) + "\n";
  // Usually there already, whole: one lstat and one small read, rather than a create that fails.
  const facts = await runtime.lstat(path);
  if (facts !== undefined && await holdsText(runtime, path, facts, text)) return;
  // Anything else there (an empty or damaged file, a directory or a symlink planted in the folder) is removed
  // first; what cannot be removed makes the create below fail, and the hook sends the ping directly instead.
  if (facts !== undefined) await runtime.removeFile(path).catch(() => {});
  let created: boolean;
  try {
    created = await runtime.createPrivateFile(path, text);
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ENOENT" && (error as Error).name !== "NotFound") throw error;
    await runtime.makePrivateDirectory(`${stateDir}/${STATE_LAYOUT.destinations}`);
    created = await runtime.createPrivateFile(path, text);
  }
  // Not created: something is there again. A file is another hook's for the same tracker (the name is the URL's
  // hash), perhaps being written this moment: the ping stays spooled. Anything else is no destination file.
  if (!created && (await runtime.lstat(path))?.kind !== "file") {
    throw new Error(`cannot write "${path}": something else is there`);
  }
}

/**
 * Whether a regular file holds exactly `text`, an ASCII text (a URL's `href` is ASCII: its size in bytes is its
 * length), by its size first: a read only when it can match.
 */
async function holdsText(runtime: Runtime, path: string, facts: FileFacts, text: string): Promise<boolean> {
  return facts.kind === "file" && facts.size === text.length && await runtime.readTextFile(path) === text;
}

/**
 * The ping URL a destination id names, from its file, checked: the file must
 * hold a URL whose id is its name (a file swapped for another tracker's is
 * refused) and that {@linkcode parsePingUrl} accepts.
 *
 * @param fs The file API.
 * @param stateDir The state directory.
 * @param id A destination id (not `saved`).
 * @returns The URL, or undefined when the file is missing or does not hold its URL.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as fs from "node:fs/promises";
 * assert.equal(await resolveDestination(fs, "/nonexistent", "0".repeat(32)), undefined);
 * ```
 */
export async function resolveDestination(
  fs: FsPromises,
  stateDir: string,
  id: DestinationId,
): Promise<URL | undefined> {
  if (!DESTINATION_ID.test(id)) return undefined;
  const saved = await readJsonFile(fs, destinationPath(stateDir, id)) as { url?: unknown } | undefined;
  if (saved === null || typeof saved !== "object" || typeof saved.url !== "string") return undefined;
  try {
    const url = parsePingUrl(saved.url);
    return (await destinationId(url, webCryptoSha256Hex)) === id ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes the destination files no waiting ping names: a tracker's token
 * stays on disk only while a ping waits for it (a plugin's URL is otherwise
 * kept in Claude Code's credential store only). A file is put back when,
 * once it is gone, `inUse` says a ping names it after all (a hook spooled one
 * meanwhile; the hook writes the file after its ping, so one of the two
 * always leaves it in place).
 *
 * @param fs The file API.
 * @param stateDir The state directory.
 * @param inUse Reads the destinations that waiting or set-aside pings name, now.
 * @returns How many files were removed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as fs from "node:fs/promises";
 * assert.equal(await removeUnusedDestinations(fs, "/nonexistent", () => Promise.resolve(new Set())), 0);
 * ```
 */
export async function removeUnusedDestinations(
  fs: FsPromises,
  stateDir: string,
  inUse: () => Promise<ReadonlySet<DestinationId>>,
): Promise<number> {
  const dir = `${stateDir}/${STATE_LAYOUT.destinations}`;
  const ids = (await fs.readdir(dir).catch(() => [] as string[]))
    .map((name) => name.endsWith(".json") ? name.slice(0, -5) : "")
    .filter((id) => DESTINATION_ID.test(id));
  // Reading every waiting ping costs: only when there is a destination to keep or remove.
  const named = ids.length === 0 ? new Set<DestinationId>() : await inUse();
  let removed = 0;
  for (const id of ids) {
    if (named.has(id)) continue;
    const path = `${dir}/${id}.json`;
    const url = await resolveDestination(fs, stateDir, id);
    if (!(await fs.rm(path).then(() => true, () => false))) continue;
    removed++;
    if (url !== undefined && (await inUse()).has(id)) {
      await fs.writeFile(path, JSON.stringify({ url: url.href }) + "\n", { flag: "wx", mode: 0o600 }).catch(() => {});
      removed--;
    }
  }
  return removed;
}
