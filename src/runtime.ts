/**
 * The one place that knows which runtime runs the hook: Deno, Bun or Node.
 * The adapter says which it is and where its binary is, and gives the rest of
 * the hook its environment, stdin, hash, processes and files. Each runtime
 * uses its own calls on the hook's hot path (every Claude Code event pays for
 * it); everything else reads and writes files through `node:fs/promises`,
 * loaded here (see the file layer in `files.ts`).
 *
 * Owns: runtime detection, the adapters, `nodeFs`, running programs,
 * what a started process may not inherit. Uses: sha256.
 *
 * @module
 */

import { type Sha256Hex, sha256HexSync, webCryptoSha256Hex } from "./sha256.ts";

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
  "DENO_DIR",
  // Where Deno and Bun keep compiled code unless told otherwise.
  "XDG_CACHE_HOME",
];

/** An environment without {@linkcode UNSAFE_ENV_NAMES}. */
function safeEnvironment(env: Record<string, string | undefined>): Record<string, string> {
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

interface DenoStat {
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
  uid: number | null;
  mode: number | null;
  mtime: Date | null;
  size: number;
}

interface DenoLike {
  version: { deno: string };
  args: string[];
  env: { get(name: string): string | undefined; toObject(): Record<string, string> };
  cwd(): string;
  execPath(): string;
  uid(): number | null;
  stdin: { readSync(buffer: Uint8Array): number | null };
  openSync(
    path: string,
    options: { write: true; createNew: true; mode: number },
  ): { writeSync(data: Uint8Array): number; close(): void };
  removeSync(path: string): void;
  mkdirSync(path: string, options: { recursive: boolean; mode: number }): void;
  lstatSync(path: string): DenoStat;
  readTextFileSync(path: string): string;
  realPathSync(path: string): string;
  permissions: { querySync(descriptor: { name: string; host?: string; variable?: string }): { state: string } };
  stdout: { isTerminal(): boolean; writeSync(data: Uint8Array): number };
  addSignalListener(signal: string, handler: () => void): void;
  Command: new (command: string, options: Record<string, unknown>) => {
    spawn(): {
      unref(): void;
      kill(signal: string): void;
      output(): Promise<{ code: number; signal: string | null; stdout: Uint8Array }>;
    };
  };
  exit(code: number): never;
}

interface BunLike {
  stdin: { stream(): AsyncIterable<Uint8Array> };
  file(path: string): { text(): Promise<string> };
  spawn(argv: readonly string[], options: Record<string, unknown>): { unref(): void };
}

interface ProcessLike {
  stdout: { isTTY?: boolean; write(text: string): boolean };
  on(signal: string, handler: () => void): void;
  getBuiltinModule?(id: string): unknown;
  versions: Record<string, string | undefined>;
  argv: string[];
  execPath: string;
  env: Record<string, string | undefined>;
  cwd(): string;
  getuid?(): number;
  exit(code: number): never;
}

type NodeFsSync = typeof import("node:fs");

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

let syncFsModule: Promise<NodeFsSync> | undefined;

function nodeFsSync(): Promise<NodeFsSync> {
  return syncFsModule ??= builtin("node:fs", () => import("node:fs"));
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

/**
 * Writes a file this process just created, and closes it; when the write fails (a full disk), the
 * file goes too, so that nothing half-written is ever taken for a spooled ping or a held lock.
 * Only a file this process created exclusively is removed: never one another process made.
 */
function writeWholeOrRemove(write: () => void, close: () => void, remove: () => void): void {
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
function isAlreadyExists(error: unknown): boolean {
  return (error as { code?: unknown }).code === "EEXIST" || (error as Error).name === "AlreadyExists";
}

/** Node's and Bun's lstat, as {@linkcode FileFacts}. */
function factsOf(stat: import("node:fs").Stats): FileFacts {
  const kind = stat.isSymbolicLink() ? "symlink" : stat.isDirectory() ? "directory" : stat.isFile() ? "file" : "other";
  return { kind, uid: stat.uid, mode: stat.mode & 0o7777, mtimeMs: stat.mtimeMs, size: stat.size };
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

/**
 * What a Deno command cannot do without: reading HOME. Without it every answer would be
 * wrong ("no ping URL", "HOME is not set"); the rest is reported by what fails.
 */
const DENO_NEEDS: readonly { name: string; variable?: string }[] = [{ name: "env", variable: "HOME" }];

function denoRuntime(deno: DenoLike): Runtime {
  const granted = (descriptor: { name: string; host?: string; variable?: string; path?: string }) =>
    attempt(() => deno.permissions.querySync(descriptor).state === "granted", false);
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
    uid: () => attempt(() => deno.uid() ?? undefined, undefined),
    lstat: (path) =>
      settle(() =>
        attempt(() => {
          const stat = deno.lstatSync(path);
          const kind = stat.isSymlink ? "symlink" : stat.isDirectory ? "directory" : stat.isFile ? "file" : "other";
          return {
            kind,
            uid: stat.uid ?? -1,
            mode: (stat.mode ?? 0) & 0o7777,
            mtimeMs: stat.mtime?.getTime() ?? 0,
            size: stat.size,
          } satisfies FileFacts;
        }, undefined)
      ),
    realpath: (path) => settle(() => attempt(() => deno.realPathSync(path), undefined)),
    // createNew is O_CREAT|O_EXCL: it fails on anything at the path, a symlink included.
    createPrivateFile: (path, text) =>
      settle(() => {
        let file: { writeSync(data: Uint8Array): number; close(): void };
        try {
          file = deno.openSync(path, { write: true, createNew: true, mode: 0o600 });
        } catch (error) {
          if (isAlreadyExists(error)) return false;
          throw error;
        }
        writeWholeOrRemove(
          () => {
            const bytes = new TextEncoder().encode(text);
            for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
          },
          () => file.close(),
          () => deno.removeSync(path),
        );
        return true;
      }),
    removeFile: (path) => settle(() => deno.removeSync(path)),
    makePrivateDirectory: (path) => settle(() => deno.mkdirSync(path, { recursive: true, mode: 0o700 })),
    readTextFile: (path) => settle(() => attempt(() => deno.readTextFileSync(path), undefined)),
    startDetached: (argv) =>
      settle(() => {
        const quiet = { stdin: "null", stdout: "null", stderr: "null", detached: true, cwd: "/" };
        // Narrowed to a few variables (the launcher started it, without the unsafe ones), the environment passes
        // as it is; with all of it readable, it passes without them.
        const env = granted({ name: "env" }) ? { clearEnv: true, env: safeEnvironment(deno.env.toObject()) } : {};
        new deno.Command(argv[0], { args: argv.slice(1), ...quiet, ...env }).spawn().unref();
      }),
    mayInspect: (path) => granted({ name: "read", path }),
    mayReach: (host) => granted(host === undefined ? { name: "net" } : { name: "net", host }),
    missingPermissions: () => DENO_NEEDS.filter((need) => !granted(need)).map((need) => need.name),
    terminal: () =>
      attempt(() => deno.stdout.isTerminal(), false)
        ? { write: (text) => void deno.stdout.writeSync(new TextEncoder().encode(text)) }
        : undefined,
    exitOnTermination: () => {
      deno.addSignalListener("SIGTERM", () => deno.exit(143));
      deno.addSignalListener("SIGHUP", () => deno.exit(129));
    },
    onInterrupt: (handler) => deno.addSignalListener("SIGINT", handler),
    exit: (code) => deno.exit(code),
  };
}

/** What Bun and Node share: both are `process`, and both have node:fs on the hot path. */
function processBasics(process: ProcessLike) {
  return {
    execPath: process.execPath,
    scriptPath: thisScriptPath(),
    args: process.argv.slice(2),
    env: (name: string) => process.env[name],
    cwd: () => attempt(() => process.cwd(), ""),
    fs: nodeFs,
    uid: () => process.getuid?.(),
    lstat: async (path: string) => {
      const fs = await nodeFsSync();
      return attempt(() => factsOf(fs.lstatSync(path)), undefined);
    },
    realpath: async (path: string) => {
      const fs = await nodeFsSync();
      return attempt(() => fs.realpathSync(path), undefined);
    },
    // "wx" is O_CREAT|O_EXCL: it fails on anything at the path, a symlink included.
    createPrivateFile: async (path: string, text: string) => {
      const fs = await nodeFsSync();
      let fd: number;
      try {
        fd = fs.openSync(path, "wx", 0o600);
      } catch (error) {
        if (isAlreadyExists(error)) return false;
        throw error;
      }
      writeWholeOrRemove(() => fs.writeFileSync(fd, text), () => fs.closeSync(fd), () => fs.unlinkSync(path));
      return true;
    },
    removeFile: async (path: string) => (await nodeFsSync()).unlinkSync(path),
    makePrivateDirectory: async (path: string) => {
      (await nodeFsSync()).mkdirSync(path, { recursive: true, mode: 0o700 });
    },
    mayInspect: () => true,
    mayReach: () => true,
    missingPermissions: () => [],
    terminal: () => process.stdout.isTTY ? { write: (text: string) => void process.stdout.write(text) } : undefined,
    exitOnTermination: () => {
      process.on("SIGTERM", () => process.exit(143));
      process.on("SIGHUP", () => process.exit(129));
    },
    onInterrupt: (handler: () => void) => void process.on("SIGINT", handler),
    exit: (code: number) => process.exit(code),
  };
}

function bunRuntime(bun: BunLike, process: ProcessLike): Runtime {
  return {
    ...processBasics(process),
    kind: "bun",
    name: `bun/${process.versions.bun}`,
    // Bun's process.stdin (its Node stream emulation) costs about 25 ms to start; Bun.stdin does not.
    stdin: () => bun.stdin.stream(),
    sha256Hex: webCryptoSha256Hex,
    readTextFile: (path) => bun.file(path).text().catch(() => undefined),
    startDetached: (argv) =>
      settle(() => {
        const options = { stdin: "ignore", stdout: "ignore", stderr: "ignore", detached: true, cwd: "/" };
        bun.spawn(argv, { ...options, env: safeEnvironment(process.env) }).unref();
      }),
  };
}

function nodeRuntime(process: ProcessLike): Runtime {
  // Node's Web Crypto costs about 11 ms to set up and node:crypto about 5 to load, more than
  // hashing a path in plain JavaScript; its process.stdin stream about 9 ms, a plain read of
  // descriptor 0 next to nothing.
  return {
    ...processBasics(process),
    kind: "node",
    name: `node/${process.versions.node}`,
    stdin: async function* () {
      yield (await nodeFsSync()).readFileSync(0);
    },
    sha256Hex: (text) => settle(() => sha256HexSync(text)),
    readTextFile: async (path) => {
      const fs = await nodeFsSync();
      return attempt(() => fs.readFileSync(path, "utf8"), undefined);
    },
    startDetached: async (argv) => {
      const { spawn } = await builtin("node:child_process", () => import("node:child_process"));
      const options = { detached: true, stdio: "ignore" as const, cwd: "/", env: safeEnvironment(process.env) };
      spawn(argv[0], argv.slice(1), options).unref();
    },
  };
}

/**
 * Runs a program by absolute path (never through a shell) and collects its
 * output, within a time limit: for the commands, never the hook.
 *
 * @param argv The program and its arguments.
 * @param timeoutMs The time limit; past it the program is killed.
 * @returns Its exit code and standard output, or undefined when it could not run or ran too long.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal((await runQuietly(["/bin/echo", "hi"], 5000))?.stdout, "hi\n");
 * ```
 */
export async function runQuietly(
  argv: readonly string[],
  timeoutMs: number,
  env?: Record<string, string>,
): Promise<{ code: number; stdout: string } | undefined> {
  const deno = scope.Deno;
  // Deno's node:child_process rewrites any argument equal to Deno's own path as if Node were run (the launcher
  // is given that path): its own API runs the program as asked.
  if (deno !== undefined) return await runQuietlyUnderDeno(deno, argv, timeoutMs, env);
  const { execFile } = await builtin("node:child_process", () => import("node:child_process"));
  return await new Promise((resolve) => {
    // SIGKILL at the limit: a program that ignores SIGTERM must not hold a command up.
    const options = { timeout: timeoutMs, killSignal: "SIGKILL" as const, maxBuffer: 1 << 20, ...(env ? { env } : {}) };
    execFile(argv[0], argv.slice(1), options, (error, stdout) => {
      const code = (error as { code?: unknown } | null)?.code;
      if (error !== null && typeof code !== "number") resolve(undefined);
      else resolve({ code: typeof code === "number" ? code : 0, stdout: String(stdout) });
    });
  });
}

async function runQuietlyUnderDeno(
  deno: DenoLike,
  argv: readonly string[],
  timeoutMs: number,
  env?: Record<string, string>,
): Promise<{ code: number; stdout: string } | undefined> {
  let child;
  try {
    const options = { args: argv.slice(1), stdin: "null", stdout: "piped", stderr: "null" };
    child = new deno.Command(argv[0], env === undefined ? options : { ...options, env, clearEnv: true }).spawn();
  } catch {
    return undefined;
  }
  let timedOut = false;
  // SIGKILL at the limit: a program that ignores SIGTERM must not hold a command up.
  const timer = setTimeout(() => {
    timedOut = true;
    attempt(() => child.kill("SIGKILL"), undefined);
  }, timeoutMs);
  try {
    const output = await child.output();
    if (timedOut || output.signal !== null) return undefined;
    return { code: output.code, stdout: new TextDecoder().decode(output.stdout.subarray(0, 1 << 20)) };
  } finally {
    clearTimeout(timer);
  }
}
