/**
 * The Bun and Node adapters: both are `process`, and both use `node:fs`'s
 * synchronous calls on the hook's hot path; each reads stdin and hashes by
 * its own cheapest means.
 *
 * Owns: `bunRuntime`, `nodeRuntime`, `runQuietlyUnderNode`. Uses: sha256,
 * runtime.
 *
 * @module
 */

import { sha256HexSync } from "./sha256.ts";
import {
  attempt,
  builtin,
  factsOf,
  isAlreadyExists,
  nodeFs,
  nodeFsSync,
  type Runtime,
  safeEnvironment,
  settle,
  thisScriptPath,
  writeWholeOrRemove,
} from "./runtime.ts";

/** The part of the `Bun` global the adapter uses. */
export interface BunLike {
  stdin: { stream(): AsyncIterable<Uint8Array> };
  file(path: string): { text(): Promise<string> };
  spawn(argv: readonly string[], options: Record<string, unknown>): { unref(): void };
  CryptoHasher: new (algorithm: "sha256") => { update(text: string): { digest(encoding: "hex"): string } };
}

/** The part of Node's and Bun's `process` the adapters use. */
export interface ProcessLike {
  stdout: { isTTY?: boolean; write(text: string): boolean };
  on(signal: string, handler: () => void): void;
  getBuiltinModule?(id: string): unknown;
  versions: Record<string, string | undefined>;
  argv: string[];
  execPath: string;
  env: Record<string, string | undefined>;
  cwd(): string;
  chdir(path: string): void;
  getuid?(): number;
  exit(code: number): never;
}

/** What Bun and Node share: both are `process`, and both have node:fs on the hot path. */
function processBasics(process: ProcessLike) {
  return {
    execPath: process.execPath,
    scriptPath: thisScriptPath(),
    args: process.argv.slice(2),
    env: (name: string) => process.env[name],
    cwd: () => attempt(() => process.cwd(), ""),
    chdir: (path: string) => attempt(() => (process.chdir(path), true), false),
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

/** SHA-256 by Bun's own hasher; a Bun without it (or whose hasher fails) gets the plain-JavaScript one: the same digest. */
function bunSha256Hex(bun: BunLike, text: string): string {
  try {
    return new bun.CryptoHasher("sha256").update(text).digest("hex");
  } catch {
    return sha256HexSync(text);
  }
}

/** Adapts Bun to {@linkcode Runtime}. */
export function bunRuntime(bun: BunLike, process: ProcessLike): Runtime {
  return {
    ...processBasics(process),
    kind: "bun",
    name: `bun/${process.versions.bun}`,
    // Bun's process.stdin (its Node stream emulation) costs about 25 ms to start; Bun.stdin does not.
    stdin: () => bun.stdin.stream(),
    // Bun's own hasher is native and synchronous: measured in the hook (27 events each), building the payload takes
    // 1.1 ms less than with Web Crypto, whose digest goes through a thread pool.
    sha256Hex: (text) => settle(() => bunSha256Hex(bun, text)),
    readTextFile: (path) => bun.file(path).text().catch(() => undefined),
    startDetached: (argv) =>
      settle(() => {
        const options = { stdin: "ignore", stdout: "ignore", stderr: "ignore", detached: true, cwd: "/" };
        bun.spawn(argv, { ...options, env: safeEnvironment(process.env) }).unref();
      }),
  };
}

/** Adapts Node to {@linkcode Runtime}. */
export function nodeRuntime(process: ProcessLike): Runtime {
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

/** {@linkcode runQuietly} under Bun and Node: see there. */
export async function runQuietlyUnderNode(
  argv: readonly string[],
  timeoutMs: number,
  env?: Record<string, string>,
): Promise<{ code: number; stdout: string } | undefined> {
  const { execFile } = await builtin("node:child_process", () => import("node:child_process"));
  return await new Promise((resolve) => {
    // SIGKILL at the limit: a program that ignores SIGTERM must not hold a command up.
    // From "/": a version manager's shim picks its program by the folder it runs in, never a repository's.
    const options = {
      cwd: "/",
      timeout: timeoutMs,
      killSignal: "SIGKILL" as const,
      maxBuffer: 1 << 20,
      ...(env ? { env } : {}),
    };
    execFile(argv[0], argv.slice(1), options, (error, stdout) => {
      const code = (error as { code?: unknown } | null)?.code;
      if (error !== null && typeof code !== "number") resolve(undefined);
      else resolve({ code: typeof code === "number" ? code : 0, stdout: String(stdout) });
    });
  });
}
