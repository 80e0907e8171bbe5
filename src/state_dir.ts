/**
 * The state directory: where the spool, the lock, the delivery status, the
 * session ledgers and the saved ping URL live. Everything in it is trusted by
 * the hook and the sender, so the directory must be this user's own and
 * writable by no one else; a directory that is not is refused, never used.
 *
 * Owns: where the state directory and Claude Code's folder are
 * (`stateDirectory`, `claudeDirectory`), `STATE_LAYOUT`, the safety check of
 * the directory, file names made from event values. Uses: input, paths,
 * sha256, runtime.
 *
 * @module
 */

import { describeError } from "./input.ts";
import {
  foldersAbove,
  homeDirectory,
  hostPathStyle,
  isAbsolutePath,
  isInsideFolder,
  type PathStyle,
  samePath,
  withoutTrailingSeparator,
} from "./paths.ts";
import type { FileFacts, Runtime } from "./runtime.ts";
import type { Sha256Hex } from "./sha256.ts";

/** Looks up an environment variable. */
export type EnvLookup = (name: string) => string | undefined;

/**
 * Claude Code's configuration folder: `CLAUDE_CONFIG_DIR`, else `.claude` in
 * the home folder (`USERPROFILE` on Windows: see {@linkcode homeDirectory}).
 *
 * @param env Looks up an environment variable.
 * @param style How the platform writes paths; the one this code runs on by default.
 * @returns The folder, or undefined when no home is known.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(claudeDirectory((name) => ({ HOME: "/home/me" })[name]), "/home/me/.claude");
 * ```
 */
export function claudeDirectory(env: EnvLookup, style: PathStyle = hostPathStyle()): string | undefined {
  const config = env("CLAUDE_CONFIG_DIR")?.trim();
  if (config) return isAbsolutePath(config, style) ? withoutTrailingSeparator(config, style) : undefined;
  const home = homeDirectory(env, style);
  return home === undefined ? undefined : `${home}${separatorOf(home, style)}.claude`;
}

/** The separator to join a name to `folder` with: the one it is written with (`/` on POSIX). */
function separatorOf(folder: string, style: PathStyle): string {
  if (style === "posix") return "/";
  return folder.includes("\\") || !folder.includes("/") ? "\\" : "/";
}

/**
 * Why the environment names no usable state directory, when it names a relative one.
 *
 * @param env Looks up an environment variable.
 * @returns One line, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.match(stateDirSettingProblem((name) => ({ TELEMHQ_STATE_DIR: ".telemhq" })[name]) ?? "", /absolute/);
 * ```
 */
export function stateDirSettingProblem(env: EnvLookup, style: PathStyle = hostPathStyle()): string | undefined {
  const homes = style === "windows" ? ["USERPROFILE", "HOME"] : ["HOME"];
  for (const name of ["TELEMHQ_STATE_DIR", "CLAUDE_CONFIG_DIR", ...homes]) {
    const value = env(name)?.trim();
    if (!value) continue;
    if (!isAbsolutePath(value, style)) {
      return `${name} "${value.slice(0, 80)}" is not an absolute path: the state directory must be one`;
    }
    return undefined;
  }
  return undefined;
}

/**
 * The state directory: `TELEMHQ_STATE_DIR`, else `telemhq/` in Claude Code's
 * configuration folder (see {@linkcode claudeDirectory}).
 *
 * @param env Looks up an environment variable.
 * @param style How the platform writes paths; the one this code runs on by default.
 * @returns The directory, or undefined when neither it nor a home is known.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(stateDirectory((name) => ({ HOME: "/home/me" })[name]), "/home/me/.claude/telemhq");
 * ```
 */
export function stateDirectory(env: EnvLookup, style: PathStyle = hostPathStyle()): string | undefined {
  const explicit = env("TELEMHQ_STATE_DIR")?.trim();
  if (explicit) return isAbsolutePath(explicit, style) ? withoutTrailingSeparator(explicit, style) : undefined;
  const claudeDir = claudeDirectory(env, style);
  return claudeDir === undefined ? undefined : `${claudeDir}${separatorOf(claudeDir, style)}telemhq`;
}

/** The state directory's file names. */
export const STATE_LAYOUT = {
  spool: "spool",
  failed: "failed",
  sessions: "sessions",
  destinations: "destinations",
  sent: "sent",
  config: "config.json",
  install: "install.json",
  lock: "sender.lock",
  status: "status.json",
  journal: "delivered.jsonl",
  journalOld: "delivered.1.jsonl",
  flushRequest: "flush.request",
  flushDone: "flush.done",
  nodeCompileCache: "node-compile-cache",
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
 * @param style How the platform writes paths: Windows has no mode bits to check (its
 *   folders all report `0o666`); {@linkcode parentsProblem} checks where the folder is instead.
 * @returns One line saying what is wrong and what to do, or undefined when it is safe.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const facts = { kind: "directory", uid: 1000, mode: 0o777, mtimeMs: 0, size: 0 } as const;
 * assert.match(stateDirProblem("/tmp/x", facts, 1000) ?? "", /writable by other users/);
 * ```
 */
export function stateDirProblem(
  dir: string,
  facts: FileFacts,
  uid: number | undefined,
  style: PathStyle = hostPathStyle(),
): string | undefined {
  if (facts.kind === "symlink") {
    return `the state directory "${dir}" is a symlink: set TELEMHQ_STATE_DIR to the folder itself`;
  }
  if (facts.kind !== "directory") return `the state directory "${dir}" is not a directory`;
  if (uid !== undefined && facts.uid !== uid) {
    return `the state directory "${dir}" belongs to another user (uid ${facts.uid}): use a folder of your own`;
  }
  if (style === "posix" && (facts.mode & 0o022) !== 0) {
    return `the state directory "${dir}" is writable by other users (mode ${facts.mode.toString(8)}): ` +
      `set TELEMHQ_STATE_DIR to a private folder of your own (never a shared one such as /tmp)`;
  }
  return undefined;
}

/**
 * Why the folders above a state directory make it unsafe, or undefined. On
 * macOS and Linux each one, symlinks resolved, must be root's or this user's
 * and writable by no one else, or sticky (like `/tmp`, where others cannot
 * rename what is ours): anyone who can write a parent could swap the state
 * directory for their own. Windows has neither owners nor mode bits to read
 * here: there the folder must be inside the user's own profile, which only
 * they may write, reached through no symlink or junction, and not on a
 * network share (see {@linkcode windowsPlacementProblem}).
 *
 * @param runtime The runtime adapter.
 * @param dir The state directory (it must exist).
 * @param style How the platform writes paths; the one this code runs on by default.
 * @returns One line, or undefined when every parent is safe.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * assert.equal(await parentsProblem(detectRuntime(), "/"), undefined);
 * ```
 */
export async function parentsProblem(
  runtime: Runtime,
  dir: string,
  style: PathStyle = hostPathStyle(),
): Promise<string | undefined> {
  const real = await runtime.realpath(dir);
  if (real === undefined) return `cannot resolve the state directory "${dir}"`;
  if (style === "windows") {
    // The profile of the account this process runs as, from its login, never from the environment: a USERPROFILE of
    // "C:\\" would otherwise make a folder every user can write pass as private.
    const home = await accountHome() ?? homeDirectory((name) => runtime.env(name), style);
    const realHome = home === undefined ? undefined : await runtime.realpath(home);
    return windowsPlacementProblem(dir, real, realHome);
  }
  const uid = runtime.uid();
  for (const path of foldersAbove(real, style)) {
    const facts = await runtime.lstat(path);
    if (facts === undefined) {
      // The installed Deno hook may read the state directory but not ~/.claude above it (its credentials are
      // there): install and doctor, which run with every permission, check what it cannot see.
      if (!runtime.mayInspect(path)) continue;
      return `cannot see "${path}", a parent of the state directory`;
    }
    const owned = facts.uid === 0 || uid === undefined || facts.uid === uid;
    const open = (facts.mode & 0o022) !== 0 && (facts.mode & 0o1000) === 0;
    if (!owned || open) {
      return `"${path}", a parent of the state directory "${dir}", can be changed by other users: ` +
        `use a state directory in a folder of your own`;
    }
  }
  return undefined;
}

/** The home folder of the account this process runs as, from the system's user database (not the environment). */
async function accountHome(): Promise<string | undefined> {
  try {
    const home = (await import("node:os")).userInfo().homedir;
    return typeof home === "string" && home !== "" ? home : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why a state directory on Windows must not be used, or undefined: it must
 * be reached through no symlink or junction (its real path is itself), not
 * sit on a network share (`\\\\server\\share`), and be inside the user's own
 * profile (`USERPROFILE`), the one place Windows keeps private to the user by
 * default; a folder at the root of a drive is often writable by every user.
 *
 * @param dir The state directory, as configured.
 * @param real Its real path.
 * @param realHome The real path of the user's profile, when known.
 * @returns One line, or undefined when it is safe.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const dir = "C:\\Users\\alice\\.claude\\telemhq";
 * assert.equal(windowsPlacementProblem(dir, dir, "C:\\Users\\alice"), undefined);
 * assert.match(windowsPlacementProblem("D:\\telemhq", "D:\\telemhq", "C:\\Users\\alice") ?? "", /profile/);
 * ```
 */
export function windowsPlacementProblem(dir: string, real: string, realHome: string | undefined): string | undefined {
  const shared = (path: string) => /^[\\/]{2}(?![?.][\\/][A-Za-z]:)/.test(path);
  if (shared(dir) || shared(real)) {
    return `the state directory "${dir}" is on a network share: set TELEMHQ_STATE_DIR to a folder on this computer`;
  }
  if (!samePath(dir, real, "windows")) {
    return `the state directory "${dir}" is reached through a symlink or junction (it is "${real}"): ` +
      `set TELEMHQ_STATE_DIR to the folder itself`;
  }
  if (realHome === undefined) {
    return `cannot find your user profile (USERPROFILE) to check the state directory "${dir}"`;
  }
  if (!isInsideFolder(real, realHome, "windows")) {
    return `the state directory "${dir}" is not inside your user profile ("${realHome}"), where only you may write: ` +
      `set TELEMHQ_STATE_DIR to a folder inside it`;
  }
  return undefined;
}

/**
 * Why a folder inside the state directory (`spool`, `failed`, `sessions`)
 * must not be used, or undefined: it must be a real folder of this user's
 * (never a symlink to somewhere else), or not exist yet.
 *
 * @param runtime The runtime adapter.
 * @param path The folder.
 * @returns One line, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * assert.equal(await subfolderProblem(detectRuntime(), "/nonexistent/spool"), undefined);
 * ```
 */
export async function subfolderProblem(runtime: Runtime, path: string): Promise<string | undefined> {
  const facts = await runtime.lstat(path);
  if (facts === undefined) return undefined;
  const uid = runtime.uid();
  if (facts.kind !== "directory" || (uid !== undefined && facts.uid !== uid)) {
    return `"${path}" is not a folder of your own (a symlink?): remove it`;
  }
  return undefined;
}

/**
 * Makes sure the state directory exists and is safe to use: creates it
 * (0700) when it is missing, then checks it (see {@linkcode stateDirProblem})
 * and every folder above it (see {@linkcode parentsProblem}).
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
  return stateDirProblem(dir, facts, runtime.uid()) ?? await parentsProblem(runtime, dir);
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
