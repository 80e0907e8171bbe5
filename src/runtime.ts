/**
 * The one place that knows which runtime runs the hook: Deno, Bun or Node.
 * The adapter says which it is and where its binary is, and gives the rest of
 * the hook its environment, stdin, hash, processes and files. Each runtime
 * uses its own calls on the hook's hot path (every Claude Code event pays for
 * it); everything else reads and writes files through `node:fs/promises`,
 * loaded here and nowhere else.
 *
 * Owns: runtime detection, the adapters, the file-system layer (`nodeFs`,
 * JSON files). Uses: sha256.
 *
 * @module
 */

import { type Sha256Hex, sha256HexSync, webCryptoSha256Hex } from "./sha256.ts";

/** The runtimes the hook runs under. */
export type RuntimeKind = "deno" | "bun" | "node";

/** Node's promise-based file API (`node:fs/promises`), which Deno, Bun and Node all provide. */
export type FsPromises = typeof import("node:fs/promises");

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
  /** The process's stdin as a byte stream. */
  stdin(): AsyncIterable<Uint8Array>;
  /** SHA-256 as hex, by the cheapest means this runtime has. */
  sha256Hex: Sha256Hex;
  /** The full file API, loaded on first use (off the hook's hot path). */
  fs(): Promise<FsPromises>;
  /** Creates or replaces a file readable by this user only (0600). */
  writePrivateFile(path: string, text: string): Promise<void>;
  /** Creates a directory and its parents, readable by this user only (0700). */
  makePrivateDirectory(path: string): Promise<void>;
  /** A file's modification time in milliseconds, or undefined when it does not exist. */
  modifiedAt(path: string): Promise<number | undefined>;
  /** Creates a private file only if nothing exists at `path`: true when created, false when something exists; rejects on other errors. */
  createExclusive(path: string, text: string): Promise<boolean>;
  /** A file's text, or undefined when it cannot be read. */
  readTextFile(path: string): Promise<string | undefined>;
  /** Starts a process in its own session with stdio closed; resolves once it is started, not when it ends. */
  startDetached(argv: readonly string[]): Promise<void>;
  /** Whether this process may reach any host (Deno's narrowed flags say no); always true under Bun and Node. */
  mayReachAnyHost(): boolean;
  /** Ends the process. */
  exit(code: number): never;
}

interface DenoLike {
  version: { deno: string };
  args: string[];
  env: { get(name: string): string | undefined };
  cwd(): string;
  execPath(): string;
  stdin: { readSync(buffer: Uint8Array): number | null };
  writeTextFileSync(path: string, data: string, options: { mode: number; createNew?: boolean }): void;
  mkdirSync(path: string, options: { recursive: boolean; mode: number }): void;
  statSync(path: string): { mtime: Date | null };
  readTextFileSync(path: string): string;
  permissions: { querySync(descriptor: { name: string }): { state: string } };
  Command: new (command: string, options: Record<string, unknown>) => { spawn(): { unref(): void } };
  exit(code: number): never;
}

interface BunLike {
  stdin: { stream(): AsyncIterable<Uint8Array> };
  write(path: string, data: string): Promise<number>;
  file(path: string): { exists(): Promise<boolean>; lastModified: number; text(): Promise<string> };
  spawn(argv: readonly string[], options: Record<string, unknown>): { unref(): void };
}

interface ProcessLike {
  getBuiltinModule?(id: string): unknown;
  versions: Record<string, string | undefined>;
  argv: string[];
  execPath: string;
  env: Record<string, string | undefined>;
  cwd(): string;
  umask(mask: number): number;
  exit(code: number): never;
}

const scope = globalThis as { Deno?: DenoLike; Bun?: BunLike; process?: ProcessLike };

/** A built-in module: synchronously where the runtime hands them out (Node 20.16+, Bun), else by import(). */
function builtin<T>(id: string, load: () => Promise<T>): Promise<T> {
  const module = scope.process?.getBuiltinModule?.(id);
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
 * const fs = await nodeFs();
 * await fs.stat(".");
 * ```
 */
export function nodeFs(): Promise<FsPromises> {
  return fsModule ??= builtin("node:fs/promises", () => import("node:fs/promises"));
}

/** Reads a synchronous reader to its end, in chunks. */
async function* readSyncChunks(reader: { readSync(buffer: Uint8Array): number | null }): AsyncIterable<Uint8Array> {
  while (true) {
    const buffer = new Uint8Array(1 << 20);
    const count = reader.readSync(buffer);
    if (count === null) return;
    yield buffer.subarray(0, count);
  }
}

/** The path of this script when it runs from a local file: in the assembled hook.ts, hook.ts itself. */
function thisScriptPath(): string | undefined {
  const url = new URL(import.meta.url);
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : undefined;
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
 * await sleep(1);
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

async function createExclusiveWithFs(path: string, text: string): Promise<boolean> {
  try {
    await (await nodeFs()).writeFile(path, text, { flag: "wx", mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === "EEXIST") return false;
    throw error;
  }
}

/**
 * Detects the runtime (Deno, Bun or Node) and adapts it to {@linkcode Runtime}.
 * Each runtime uses its own file and process APIs on the hook's path: Deno
 * takes about 35 ms to load `node:fs` and Bun about 9 ms, more than the rest of
 * the hook.
 *
 * @returns The adapter.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(detectRuntime().kind, "deno");
 * ```
 */
export function detectRuntime(): Runtime {
  const deno = scope.Deno;
  if (deno !== undefined) return denoRuntime(deno);
  const process = scope.process;
  if (process === undefined) throw new Error("Unsupported runtime: need Deno, Bun or Node.js");
  return scope.Bun !== undefined ? bunRuntime(scope.Bun, process) : nodeRuntime(process);
}

function denoRuntime(deno: DenoLike): Runtime {
  return {
    kind: "deno",
    name: `deno/${deno.version.deno}`,
    execPath: deno.execPath(),
    scriptPath: thisScriptPath(),
    args: deno.args,
    env: (name) => attempt(() => deno.env.get(name), undefined),
    cwd: () => attempt(() => deno.cwd(), ""),
    // Deno's synchronous calls: its async ops and stdin stream cost 3-7 ms each to set up.
    stdin: () => readSyncChunks(deno.stdin),
    sha256Hex: webCryptoSha256Hex,
    fs: nodeFs,
    writePrivateFile: (path, text) => settle(() => deno.writeTextFileSync(path, text, { mode: 0o600 })),
    makePrivateDirectory: (path) => settle(() => deno.mkdirSync(path, { recursive: true, mode: 0o700 })),
    modifiedAt: (path) => settle(() => attempt(() => deno.statSync(path).mtime?.getTime(), undefined)),
    createExclusive: (path, text) =>
      settle(() => {
        try {
          deno.writeTextFileSync(path, text, { mode: 0o600, createNew: true });
          return true;
        } catch (error) {
          if ((error as Error).name === "AlreadyExists") return false;
          throw error;
        }
      }),
    readTextFile: (path) => settle(() => attempt(() => deno.readTextFileSync(path), undefined)),
    startDetached: (argv) =>
      settle(() => {
        const quiet = { stdin: "null", stdout: "null", stderr: "null", detached: true };
        new deno.Command(argv[0], { args: argv.slice(1), ...quiet }).spawn().unref();
      }),
    mayReachAnyHost: () => attempt(() => deno.permissions.querySync({ name: "net" }).state === "granted", true),
    exit: (code) => deno.exit(code),
  };
}

/** What Bun and Node share: both are `process`. */
function processBasics(process: ProcessLike) {
  return {
    execPath: process.execPath,
    scriptPath: thisScriptPath(),
    args: process.argv.slice(2),
    env: (name: string) => process.env[name],
    cwd: () => attempt(() => process.cwd(), ""),
    fs: nodeFs,
    makePrivateDirectory: async (path: string) => {
      await (await nodeFs()).mkdir(path, { recursive: true, mode: 0o700 });
    },
    mayReachAnyHost: () => true,
    exit: (code: number) => process.exit(code),
  };
}

function bunRuntime(bun: BunLike, process: ProcessLike): Runtime {
  // Files Bun.write creates, and the folders it creates for them, are this user's only.
  process.umask(0o077);
  return {
    ...processBasics(process),
    kind: "bun",
    name: `bun/${process.versions.bun}`,
    // Bun's process.stdin (its Node stream emulation) costs about 25 ms to start; Bun.stdin does not.
    stdin: () => bun.stdin.stream(),
    sha256Hex: webCryptoSha256Hex,
    writePrivateFile: async (path, text) => {
      await bun.write(path, text);
    },
    modifiedAt: async (path) => {
      const file = bun.file(path);
      return (await file.exists()) ? file.lastModified : undefined;
    },
    // Bun.write has no exclusive create; node:fs does, off the common path (only to start a sender).
    createExclusive: createExclusiveWithFs,
    readTextFile: (path) => bun.file(path).text().catch(() => undefined),
    startDetached: (argv) =>
      settle(() => bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "ignore", detached: true }).unref()),
  };
}

function nodeRuntime(process: ProcessLike): Runtime {
  // Node's Web Crypto costs about 11 ms to set up and node:crypto about 5 to load, more than
  // hashing a path in plain JavaScript; its process.stdin stream about 9 ms, a plain read of
  // descriptor 0 next to nothing.
  const syncFs = builtin("node:fs", () => import("node:fs"));
  void nodeFs();
  return {
    ...processBasics(process),
    kind: "node",
    name: `node/${process.versions.node}`,
    stdin: async function* () {
      yield (await syncFs).readFileSync(0);
    },
    sha256Hex: (text) => settle(() => sha256HexSync(text)),
    writePrivateFile: async (path, text) => {
      await (await nodeFs()).writeFile(path, text, { mode: 0o600 });
    },
    modifiedAt: async (path) => {
      try {
        return (await (await nodeFs()).stat(path)).mtimeMs;
      } catch {
        return undefined;
      }
    },
    createExclusive: createExclusiveWithFs,
    readTextFile: async (path) => (await nodeFs()).readFile(path, "utf8").catch(() => undefined),
    startDetached: async (argv) => {
      const { spawn } = await builtin("node:child_process", () => import("node:child_process"));
      spawn(argv[0], argv.slice(1), { detached: true, stdio: "ignore" }).unref();
    },
  };
}

/**
 * Reads a JSON file; undefined when it is missing, unreadable or not JSON.
 *
 * @param fs The file API.
 * @param path The file.
 * @returns The parsed value, unchecked: callers check its shape.
 *
 * @example
 * ```ts
 * const status = await readJsonFile(await nodeFs(), "/nonexistent/status.json"); // undefined
 * ```
 */
export async function readJsonFile(fs: FsPromises, path: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(path, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * Writes a JSON file atomically: a private temporary file beside it, then a
 * rename, so a reader never sees half of it.
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
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  await fs.writeFile(temporary, JSON.stringify(value) + "\n", { mode: 0o600 });
  await fs.rename(temporary, path);
}
