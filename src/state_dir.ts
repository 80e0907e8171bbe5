/**
 * The state directory: where the spool, the lock, the delivery status, the
 * session ledgers and the saved ping URL live. Everything in it is trusted by
 * the hook and the sender, so the directory must be this user's own and
 * writable by no one else; a directory that is not is refused, never used.
 *
 * Owns: `STATE_LAYOUT`, the safety check of the directory, file names made
 * from event values. Uses: input, sha256, runtime.
 *
 * @module
 */

import { describeError } from "./input.ts";
import type { FileFacts, Runtime } from "./runtime.ts";
import type { Sha256Hex } from "./sha256.ts";

/** The state directory's file names. */
export const STATE_LAYOUT = {
  spool: "spool",
  failed: "failed",
  sessions: "sessions",
  config: "config.json",
  install: "install.json",
  lock: "sender.lock",
  status: "status.json",
  journal: "delivered.jsonl",
  journalOld: "delivered.1.jsonl",
  flushRequest: "flush.request",
} as const;

/**
 * Why a state directory must not be used, from what `lstat` says of it: it
 * is a symlink, not a directory, another user's, or writable by group or
 * others (anyone who can write it could plant a lock, a spool entry or a
 * symlink there).
 *
 * @param dir The directory.
 * @param facts What `lstat` says of it.
 * @param uid This process's user id (undefined where there is none: not checked).
 * @returns One line saying what is wrong and what to do, or undefined when it is safe.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const facts = { kind: "directory", uid: 1000, mode: 0o777, mtimeMs: 0, size: 0 } as const;
 * assert.match(stateDirProblem("/tmp/x", facts, 1000) ?? "", /writable by other users/);
 * ```
 */
export function stateDirProblem(dir: string, facts: FileFacts, uid: number | undefined): string | undefined {
  if (facts.kind === "symlink") {
    return `the state directory "${dir}" is a symlink: set TELEMHQ_STATE_DIR to the folder itself`;
  }
  if (facts.kind !== "directory") return `the state directory "${dir}" is not a directory`;
  if (uid !== undefined && facts.uid !== uid) {
    return `the state directory "${dir}" belongs to another user (uid ${facts.uid}): use a folder of your own`;
  }
  if ((facts.mode & 0o022) !== 0) {
    return `the state directory "${dir}" is writable by other users (mode ${
      (facts.mode & 0o777).toString(8)
    }): run chmod 700 on it, or use a folder of your own`;
  }
  return undefined;
}

/**
 * Makes sure the state directory exists and is safe to use: creates it
 * (0700) when it is missing, then checks it (see {@linkcode stateDirProblem}).
 *
 * @param runtime The runtime adapter.
 * @param dir The state directory.
 * @returns Undefined when it is safe to use, else why not (one line).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * const dir = await Deno.makeTempDir();
 * assert.equal(await ensureStateDir(detectRuntime(), `${dir}/state`), undefined);
 * ```
 */
export async function ensureStateDir(runtime: Runtime, dir: string): Promise<string | undefined> {
  let facts = await runtime.lstat(dir);
  if (facts === undefined) {
    try {
      await runtime.makePrivateDirectory(dir);
    } catch (error) {
      return `cannot create the state directory "${dir}" (${describeError(error)})`;
    }
    facts = await runtime.lstat(dir);
    if (facts === undefined) return `cannot see the state directory "${dir}" after creating it`;
  }
  return stateDirProblem(dir, facts, runtime.uid());
}

/**
 * The file name of a session's ledger: a hash of its id, so that no value
 * from an event (a `session_id` of `x/../../settings`, say) becomes a path.
 *
 * @param sessionId The session id, as the event gave it.
 * @param sha256Hex The SHA-256 to use.
 * @returns `<32 hex digits>.json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { webCryptoSha256Hex } from "@telemhq/claude-code";
 * assert.match(await ledgerFileName("x/../../settings", webCryptoSha256Hex), /^[0-9a-f]{32}\.json$/);
 * ```
 */
export async function ledgerFileName(sessionId: string, sha256Hex: Sha256Hex): Promise<string> {
  return `${(await sha256Hex(`session\u0000${sessionId}`)).slice(0, 32)}.json`;
}
