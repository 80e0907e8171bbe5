/**
 * The Deno adapter: Deno's own synchronous calls on the hook's hot path (its
 * async ops and stdin stream cost 3-7 ms each to set up, and `node:fs` about
 * 35 ms to load), its permission checks, and running a program without Deno's
 * `node:child_process` rewriting.
 *
 * Owns: `denoRuntime`, `runQuietlyUnderDeno`, Deno's permission questions.
 * Uses: sha256, runtime.
 *
 * @module
 */

import { webCryptoSha256Hex } from "./sha256.ts";
import {
  attempt,
  type FileFacts,
  isAlreadyExists,
  nodeFs,
  readSyncChunks,
  type Runtime,
  safeEnvironment,
  settle,
  thisScriptPath,
  writeWholeOrRemove,
} from "./runtime.ts";

interface DenoStat {
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
  uid: number | null;
  mode: number | null;
  mtime: Date | null;
  size: number;
}

/** The part of the `Deno` global the adapter uses. */
export interface DenoLike {
  version: { deno: string };
  args: string[];
  env: { get(name: string): string | undefined; toObject(): Record<string, string> };
  cwd(): string;
  chdir(path: string): void;
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

/**
 * What a Deno command cannot do without: reading HOME. Without it every answer would be
 * wrong ("no ping URL", "HOME is not set"); the rest is reported by what fails.
 */
const DENO_NEEDS: readonly { name: string; variable?: string }[] = [{ name: "env", variable: "HOME" }];

/** Adapts Deno to {@linkcode Runtime}. */
export function denoRuntime(deno: DenoLike): Runtime {
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
    chdir: (path) => attempt(() => (deno.chdir(path), true), false),
    // Deno's synchronous calls: its async ops and stdin stream cost 3-7 ms each to set up.
    stdin: () => readSyncChunks(deno.stdin),
    // Deno's Web Crypto is native: measured in the hook (22 events each), building the payload takes 0.3 ms less
    // than with the plain JavaScript hash, which only Node needs.
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

/** {@linkcode runQuietly} under Deno: see there. */
export async function runQuietlyUnderDeno(
  deno: DenoLike,
  argv: readonly string[],
  timeoutMs: number,
  env?: Record<string, string>,
): Promise<{ code: number; stdout: string } | undefined> {
  let child;
  try {
    // From "/": a version manager's shim picks its program by the folder it runs in, never a repository's.
    const options = { args: argv.slice(1), cwd: "/", stdin: "null", stdout: "piped", stderr: "null" };
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
