/**
 * What the hook needs from the runtime that runs it, as one interface
 * ({@linkcode Runtime}), and the small helpers every adapter shares. The
 * adapters themselves live one per runtime (`runtime_deno.ts`,
 * `runtime_process.ts` for Bun and Node); `runtime_detect.ts` picks one.
 * Everything off the hook's hot path reads and writes files through
 * `node:fs/promises`, loaded here (see the file layer in `files.ts`).
 *
 * Owns: the `Runtime` interface, `nodeFs`, what a started process may not
 * inherit, the adapters' shared helpers. Uses: paths, sha256.
 *
 * @module
 */

import { fileUrlPath } from "./paths.ts";
import type { Sha256Hex } from "./sha256.ts";

/**
 * Environment variables that make a runtime load or run code, or drop TLS
 * checks, which a repository's settings (`env`) could set for every hook:
 * never passed to a process the hook starts (the launcher drops them too).
 */
export const UNSAFE_ENV_NAMES: readonly string[] = [
  "NODE_OPTIONS",
  "NODE_COMPILE_CACHE",
  "NODE_REPL_EXTERNAL_MODULE",
  "NODE_TLS_REJECT_UNAUTHORIZED",
  "BUN_OPTIONS",
  "BUN_RUNTIME_TRANSPILER_CACHE_PATH",
  // Bun's inspector: with BUN_INSPECT set, BUN_INSPECT_PRELOAD runs a script before the hook.
  "BUN_INSPECT",
  "BUN_INSPECT_PRELOAD",
  "BUN_INSPECT_CONNECT_TO",
  "DENO_DIR",
  // Where Deno and Bun keep compiled code unless told otherwise.
  "XDG_CACHE_HOME",
];

/** An environment without {@linkcode UNSAFE_ENV_NAMES}. */
export function safeEnvironment(env: Record<string, string | undefined>): Record<string, string> {
  const safe: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !UNSAFE_ENV_NAMES.includes(name)) safe[name] = value;
  }
  return safe;
}

/** The runtimes the hook runs under. */
export type RuntimeKind = "deno" | "bun" | "node";

/** Node's promise-based file API (`node:fs/promises`), which Deno, Bun and Node all provide. */
export type FsPromises = typeof import("node:fs/promises");

/** What `lstat` says of a path: never about what a symlink points to. */
export interface FileFacts {
  /** What is at the path itself. */
  kind: "file" | "directory" | "symlink" | "other";
  /** Its owner's user id. */
  uid: number;
  /** Its permission bits (`0o777` and the sticky, setuid and setgid bits). */
  mode: number;
  /** Its modification time, in milliseconds. */
  mtimeMs: number;
  /** Its size in bytes. */
  size: number;
}

/** What the hook needs from the runtime that runs it. */
export interface Runtime {
  /** Which runtime this is. */
  readonly kind: RuntimeKind;
  /** For example `"deno/2.9.6"`: sent in every ping as `runtime`. */
  readonly name: string;
  /** The runtime's own binary. */
  readonly execPath: string;
  /** The script this code runs from, when it is a local file (hook.ts, or the npm build's bundle). */
  readonly scriptPath: string | undefined;
  /** Command-line arguments after the script. */
  readonly args: readonly string[];
  /** An environment variable, or undefined when unset or not permitted. */
  env(name: string): string | undefined;
  /** The process's working directory, or `""` when not permitted. */
  cwd(): string;
  /** Changes the working directory; false when it cannot. */
  chdir(path: string): boolean;
  /** The process's stdin as a byte stream. */
  stdin(): AsyncIterable<Uint8Array>;
  /** SHA-256 as hex, by the cheapest means this runtime has. */
  sha256Hex: Sha256Hex;
  /** The full file API, loaded on first use (off the hook's hot path). */
  fs(): Promise<FsPromises>;
  /** This process's user id; undefined where the system has none (Windows). */
  uid(): number | undefined;
  /** What is at a path, without following a symlink there; undefined when nothing is (or it cannot be seen). */
  lstat(path: string): Promise<FileFacts | undefined>;
  /** A path with every symlink in it resolved; undefined when it does not exist (or cannot be seen). */
  realpath(path: string): Promise<string | undefined>;
  /**
   * Creates a file readable by this user only (0600), only if nothing exists at `path`, so never
   * through a symlink: true when created, false when something exists; rejects on other errors. A file
   * whose write failed (a full disk) is removed before it rejects: nothing half-written is left.
   */
  createPrivateFile(path: string, text: string): Promise<boolean>;
  /** Removes a file (a symlink itself, never what it points to); rejects when it cannot. */
  removeFile(path: string): Promise<void>;
  /** Creates a directory and its parents, readable by this user only (0700). */
  makePrivateDirectory(path: string): Promise<void>;
  /** A file's text, or undefined when it cannot be read. */
  readTextFile(path: string): Promise<string | undefined>;
  /**
   * Starts a process in its own session with stdio closed, from `/` (so that no configuration of the folder
   * this process runs in applies) and without {@linkcode UNSAFE_ENV_NAMES}; resolves once it is started.
   */
  startDetached(argv: readonly string[]): Promise<void>;
  /** Whether this process may look at `path` at all: Deno's narrow `--allow-read` may say no. */
  mayInspect(path: string): boolean;
  /** Whether this process may reach `host` (`host:port`), or any host when none is given: Deno's flags may say no. */
  mayReach(host?: string): boolean;
  /** The Deno permissions a command needs and this process was not granted; empty under Bun and Node. */
  missingPermissions(): string[];
  /** A way to write to the terminal when stdout is one (for progress lines); undefined otherwise. */
  terminal(): { write(text: string): void } | undefined;
  /**
   * Ends the process on SIGTERM and SIGHUP, whatever it inherited: the fast path starts the hook with both
   * ignored (so that Claude Code's teardown cannot kill it before it has spooled), and a process it starts
   * (the sender) must still be easy to stop.
   */
  exitOnTermination(): void;
  /** Calls `handler` on SIGINT (Ctrl-C) instead of exiting: a command that holds the sender's lock lets it go first. */
  onInterrupt(handler: () => void): void;
  /** Ends the process. */
  exit(code: number): never;
}

/** Node's synchronous file API (`node:fs`): the hot path's, under Bun and Node. */
export type NodeFsSync = typeof import("node:fs");

/** A built-in module: synchronously where the runtime hands them out (Node 20.16+, Bun), else by import(). */
export function builtin<T>(id: string, load: () => Promise<T>): Promise<T> {
  const module = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process?.getBuiltinModule?.(
    id,
  );
  return module !== undefined ? Promise.resolve(module as T) : load();
}

let fsModule: Promise<FsPromises> | undefined;

/**
 * `node:fs/promises`, loaded once: the file API of everything off the hook's
 * hot path (the sender, the usage reader, the commands).
 *
 * @returns The module.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const fs = await nodeFs();
 * assert.equal(fs, await nodeFs(), "loaded once");
 * ```
 */
export function nodeFs(): Promise<FsPromises> {
  return fsModule ??= builtin("node:fs/promises", () => import("node:fs/promises"));
}

let syncFsModule: Promise<NodeFsSync> | undefined;

export function nodeFsSync(): Promise<NodeFsSync> {
  return syncFsModule ??= builtin("node:fs", () => import("node:fs"));
}

/**
 * Reads a synchronous reader to its end, in chunks: small first (an event is a few KiB, and a large buffer costs
 * its allocation on every event), larger as more comes.
 */
export async function* readSyncChunks(
  reader: { readSync(buffer: Uint8Array): number | null },
): AsyncIterable<Uint8Array> {
  for (let size = 1 << 16;; size = Math.min(size * 4, 1 << 22)) {
    const buffer = new Uint8Array(size);
    const count = reader.readSync(buffer);
    if (count === null) return;
    yield buffer.subarray(0, count);
  }
}

/** The path of this script when it runs from a local file: in the assembled hook.ts, hook.ts itself. */
export function thisScriptPath(): string | undefined {
  const url = new URL(import.meta.url);
  return url.protocol === "file:" ? fileUrlPath(url) : undefined;
}

/** Runs a synchronous action as a promise: its result resolves it, its exception rejects it. */
export function settle<T>(action: () => T): Promise<T> {
  return new Promise((resolve) => resolve(action()));
}

/**
 * Waits.
 *
 * @param ms Milliseconds.
 * @returns A promise resolved after `ms`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const started = Date.now();
 * await sleep(5);
 * assert.ok(Date.now() - started >= 4);
 * ```
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs an action; its exception gives `fallback` instead. */
export function attempt<T>(action: () => T, fallback: T): T {
  try {
    return action();
  } catch {
    return fallback;
  }
}

/**
 * Writes a file this process just created, and closes it; when the write fails (a full disk), the
 * file goes too, so that nothing half-written is ever taken for a spooled ping or a held lock.
 * Only a file this process created exclusively is removed: never one another process made.
 */
export function writeWholeOrRemove(write: () => void, close: () => void, remove: () => void): void {
  try {
    write();
  } catch (error) {
    attempt(close, undefined);
    attempt(remove, undefined);
    throw error;
  }
  close();
}

/** Whether an error says that something already exists at the path. */
export function isAlreadyExists(error: unknown): boolean {
  return (error as { code?: unknown }).code === "EEXIST" || (error as Error).name === "AlreadyExists";
}

/** Node's and Bun's lstat, as {@linkcode FileFacts}. */
export function factsOf(stat: import("node:fs").Stats): FileFacts {
  const kind = stat.isSymbolicLink() ? "symlink" : stat.isDirectory() ? "directory" : stat.isFile() ? "file" : "other";
  return { kind, uid: stat.uid, mode: stat.mode & 0o7777, mtimeMs: stat.mtimeMs, size: stat.size };
}
