/**
 * How the hook is started: the command line that runs it under each runtime
 * (Deno's narrow permission flags, Bun's flags), and what no runtime it
 * starts may inherit. The launcher script (see {@linkcode launcherScript})
 * builds the same command lines from the same constants.
 *
 * Owns: `hookArgv`, `denoRunFlags`, the runtimes' flags, finding a runtime's binary, hook.ts as JavaScript
 * for Node, shell quoting.
 * Uses: runtime, state_dir, config.
 *
 * @module
 */

import { ENV_NAMES, MANAGED_SETTINGS_DIRS } from "./config.ts";
import { claudeDirectory, type EnvLookup, STATE_LAYOUT } from "./state_dir.ts";
import { attempt } from "./runtime.ts";
import type { Runtime, RuntimeKind } from "./runtime.ts";

/** What the narrowest Deno flags are made of: the tracker's host and Claude Code's folder (transcripts). */
export interface NarrowAccess {
  /** The ping URL's host, with its port if it has one. */
  pingHost: string;
  /** Claude Code's configuration folder (`CLAUDE_CONFIG_DIR`, default `~/.claude`). */
  claudeDir: string;
  /** Its `projects/` folder with symlinks resolved, when that is elsewhere (a `~/.claude` kept in dotfiles, say). */
  projectsDir?: string;
}

/**
 * Why a path cannot go into Deno's narrow permission flags, or undefined when
 * it can: Deno splits a flag's list at commas, so `--allow-write=/tmp/a,b/x`
 * would grant `/tmp/a` and `b/x` instead.
 *
 * @param paths The paths the flags would name.
 * @returns One line naming the path, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.match(denoFlagProblem(["/tmp/a,b/.claude"]) ?? "", /comma/);
 * assert.equal(denoFlagProblem(["/home/me/.claude"]), undefined);
 * ```
 */
export function denoFlagProblem(paths: readonly string[]): string | undefined {
  const bad = paths.find((path) => path.includes(","));
  return bad === undefined
    ? undefined
    : `the path "${bad}" holds a comma, which Deno's permission flags cannot express`;
}

/**
 * Bun's flags: no configuration (Bun reads `bunfig.toml` from the folder it
 * starts in, a repository's, and the user's global one, whose `preload` runs
 * code; `--config` replaces both), no `.env` of the project, no auto-install.
 */
export const BUN_RUN_FLAGS: readonly string[] = ["--config=/dev/null", "--no-env-file", "--no-install"];

/** Deno's flags before the permissions: no `deno.json` or lock file of the folder it starts in, never a prompt. */
export const DENO_BASE_FLAGS: readonly string[] = ["--no-config", "--no-lock", "--no-prompt"];

/**
 * The Deno flags the hook and its sender run with. Narrowed (what `install`
 * writes): the network to the tracker's host only, the environment to the
 * variables the hook reads, reading to Claude Code's transcripts
 * (`projects/`, not its credentials), managed settings (an organisation's
 * prices), the state directory and Deno itself,
 * writing to the state directory, running only Deno (the sender), and knowing
 * its own user id (to check the state directory's owner). Without
 * `narrow`: any host, any variable, any file.
 *
 * @param denoPath The Deno binary.
 * @param stateDir The state directory.
 * @param narrow The tracker's host and Claude Code's folder, to narrow the flags.
 * @returns Flags for `deno run`, before the script.
 * @throws {TypeError} When a path holds a comma (see {@linkcode denoFlagProblem}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const flags = denoRunFlags("/usr/bin/deno", "/home/me/.claude/telemhq");
 * assert.ok(flags.includes("--allow-write=/home/me/.claude/telemhq"));
 * ```
 */
export function denoRunFlags(denoPath: string, stateDir: string, narrow?: NarrowAccess): string[] {
  const reads = narrow === undefined ? [] : [
    `${narrow.claudeDir}/projects`,
    ...(narrow.projectsDir ? [narrow.projectsDir] : []),
    stateDir,
    denoPath,
    ...MANAGED_SETTINGS_DIRS,
  ];
  const problem = denoFlagProblem([stateDir, denoPath, ...reads]);
  if (problem !== undefined) throw new TypeError(problem);
  if (narrow === undefined) {
    return [
      ...DENO_BASE_FLAGS,
      "--allow-net",
      "--allow-env",
      "--allow-read",
      `--allow-write=${stateDir}`,
      `--allow-run=${denoPath}`,
      "--allow-sys=uid",
    ];
  }
  return [
    ...DENO_BASE_FLAGS,
    `--allow-net=${narrow.pingHost}`,
    `--allow-env=${ENV_NAMES.join(",")}`,
    `--allow-read=${[...new Set(reads)].join(",")}`,
    `--allow-write=${stateDir}`,
    `--allow-run=${denoPath}`,
    "--allow-sys=uid",
  ];
}

/**
 * The command line that runs a hook file under a runtime, with that runtime's flags.
 *
 * @param kind The runtime.
 * @param runtimePath Its binary.
 * @param hookFile The hook file (hook.ts, or the npm build's bundle under Node).
 * @param stateDir The state directory (Deno's write permission).
 * @param narrow For Deno: narrow the flags to this host and folder.
 * @returns The argv, without the hook's own arguments.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const argv = hookArgv("bun", "/usr/bin/bun", "/home/me/.claude/hooks/telemhq.ts", "/home/me/.claude/telemhq");
 * assert.deepEqual(argv, ["/usr/bin/bun", ...BUN_RUN_FLAGS, "/home/me/.claude/hooks/telemhq.ts"]);
 * ```
 */
export function hookArgv(
  kind: RuntimeKind,
  runtimePath: string,
  hookFile: string,
  stateDir: string,
  narrow?: NarrowAccess,
): string[] {
  if (kind === "deno") return [runtimePath, "run", ...denoRunFlags(runtimePath, stateDir, narrow), hookFile];
  if (kind === "bun") return [runtimePath, ...BUN_RUN_FLAGS, hookFile];
  return [runtimePath, hookFile];
}

/**
 * The command that runs this script again with `args` (to start a sender):
 * with what this process was given, so narrow flags only if it runs narrowed.
 *
 * @param runtime The runtime adapter.
 * @param args Arguments for the script.
 * @param stateDir The state directory.
 * @param narrow The narrow access to use when this process runs narrowed.
 * @returns The argv, or undefined when this script is not a local file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * const argv = selfCommand(detectRuntime(), ["deliver"], "/home/me/.claude/telemhq");
 * assert.deepEqual(argv?.slice(-1), ["deliver"]);
 * ```
 */
export function selfCommand(
  runtime: Runtime,
  args: readonly string[],
  stateDir: string,
  narrow?: NarrowAccess,
): string[] | undefined {
  if (runtime.scriptPath === undefined) return undefined;
  const access = runtime.mayReach() ? undefined : narrow;
  return [...hookArgv(runtime.kind, runtime.execPath, runtime.scriptPath, stateDir, access), ...args];
}

/**
 * Quotes a word for a POSIX shell.
 *
 * @param word Any string.
 * @returns The word, quoted only when it needs to be.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(shellWord("/usr/bin/deno"), "/usr/bin/deno");
 * assert.equal(shellWord("it's"), `'it'"'"'s'`);
 * ```
 */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'"'"'`)}'`;
}

/**
 * Finds a runtime's binary by the path the user's `PATH` names (a version manager's or Homebrew's link, which
 * an upgrade keeps, where the file it leads to goes): for this process's runtime, the PATH entry that leads
 * to it, else its own path; for another, the first on PATH or where its installer puts it. Only absolute PATH
 * entries count.
 *
 * @param runtime The runtime adapter.
 * @param kind The runtime to find.
 * @returns Its binary, or undefined when none is found.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * assert.ok((await findRuntimeBinary(detectRuntime(), "deno"))?.startsWith("/"));
 * ```
 */
export async function findRuntimeBinary(runtime: Runtime, kind: RuntimeKind): Promise<string | undefined> {
  const fs = await runtime.fs();
  const home = runtime.env("HOME");
  const dirs = [...(runtime.env("PATH") ?? "").split(":"), `${home}/.${kind}/bin`].filter((dir) => dir.startsWith("/"));
  const self = runtime.kind === kind ? await runtime.realpath(runtime.execPath) : undefined;
  for (const dir of dirs) {
    const path = `${dir}/${kind}`;
    if (!(await fs.access(path, 1 /* X_OK */).then(() => true, () => false))) continue;
    if (self === undefined || (await runtime.realpath(path)) === self) return path;
  }
  return runtime.kind === kind ? runtime.execPath : undefined;
}

/**
 * What Deno's narrow flags for a ping URL are made of, when Claude Code's folder is known.
 *
 * @param env Looks up an environment variable.
 * @param pingUrl The ping URL in force.
 * @returns The tracker's host and Claude Code's folder, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const narrow = narrowAccess((name) => ({ HOME: "/home/me" })[name], "https://telemhq.com/ping/T");
 * assert.deepEqual(narrow, { pingHost: "telemhq.com", claudeDir: "/home/me/.claude" });
 * ```
 */
export function narrowAccess(env: EnvLookup, pingUrl: string | undefined): NarrowAccess | undefined {
  const claudeDir = claudeDirectory(env);
  const host = pingUrl === undefined ? undefined : attempt(() => new URL(pingUrl).host, undefined);
  return claudeDir === undefined || host === undefined ? undefined : { pingHost: host, claudeDir };
}

/**
 * hook.ts as plain JavaScript, for Node (which then neither needs 22.18 nor strips types on every start): the
 * same code, line for line, its types blanked out by the type stripper Node and Deno share
 * (`stripTypeScriptTypes` of `node:module`), under a Node shebang and a line that says where it comes from.
 *
 * @param source hook.ts's text.
 * @param strip The type stripper.
 * @returns The JavaScript.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stripTypeScriptTypes } from "node:module";
 * const javascript = javascriptOf("#!/usr/bin/env -S deno run\nconst x: number = 1;\n", stripTypeScriptTypes);
 * assert.match(javascript, /^#!\/usr\/bin\/env node\n\/\/ GENERATED from hook\.ts/);
 * assert.match(javascript, /const x {9}= 1;/);
 * ```
 */
export function javascriptOf(source: string, strip: (code: string, options: { mode: "strip" }) => string): string {
  return strip(source, { mode: "strip" }).replace(
    /^#!.*\n/,
    "#!/usr/bin/env node\n// GENERATED from hook.ts by `deno task build:hook` (types stripped, nothing else changed): edit src/.\n",
  );
}

/**
 * The file Node starts the hook through (the npm bin, the plugin's `hook-node.mjs`, the installed
 * `telemhq-node.mjs`): it enables Node's compile cache (22.1+) before it loads the hook's JavaScript, so that a
 * cached compile spares each event some 10 ms. The cache runs code, so it lives only in the user's private state
 * folder, `<state>/node-compile-cache`, and only when that folder, the state folder and every folder above them
 * are safe (Node's default, a shared folder under /tmp, lets another local user plant code). Plain JavaScript:
 * it runs before the hook.
 *
 * @param hookFile The JavaScript beside it to run (`hook.mjs`, `telemhq.mjs`).
 * @returns The file's text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.match(nodeEntrySource("telemhq.mjs"), /await import\(new URL\("\.\/telemhq\.mjs", import\.meta\.url\)\.href\)/);
 * ```
 */
export function nodeEntrySource(hookFile: string): string {
  return NODE_ENTRY.replaceAll("@@HOOK@@", hookFile);
}

const NODE_ENTRY = `#!/usr/bin/env node
// The TelemHQ hook for Claude Code, started by Node: see README.md. The hook itself is @@HOOK@@.
const fs = process.getBuiltinModule?.("node:fs");
const uid = process.getuid?.();

// Folders only this user (or root, above) can change: a compile cache elsewhere could be made to run another's code.
function privateCacheFolder() {
  const env = process.env;
  const absolute = (path) => typeof path === "string" && path.startsWith("/");
  const claudeDir = env.CLAUDE_CONFIG_DIR ? env.CLAUDE_CONFIG_DIR : absolute(env.HOME) ? env.HOME + "/.claude" : "";
  const state = (env.TELEMHQ_STATE_DIR || claudeDir + "/telemhq").replace(/\\/+$/, "");
  if (fs === undefined || uid === undefined || !absolute(state)) return undefined;
  const ours = (path, exact) => {
    const stat = fs.lstatSync(path, { throwIfNoEntry: false });
    if (stat === undefined || !stat.isDirectory()) return false;
    if (exact) return stat.uid === uid && (stat.mode & 0o077) === 0;
    return (stat.uid === uid || stat.uid === 0) && ((stat.mode & 0o022) === 0 || (stat.mode & 0o1000) !== 0);
  };
  for (let end = state.lastIndexOf("/"); end > 0; end = state.lastIndexOf("/", end - 1)) {
    if (!ours(state.slice(0, end), false)) return undefined;
  }
  if (!ours(state, true)) return undefined;
  const cache = state + "/${STATE_LAYOUT.nodeCompileCache}";
  if (fs.lstatSync(cache, { throwIfNoEntry: false }) === undefined) fs.mkdirSync(cache, { mode: 0o700 });
  return ours(cache, true) ? cache : undefined;
}

try {
  const cache = privateCacheFolder();
  if (cache !== undefined) process.getBuiltinModule?.("node:module")?.enableCompileCache?.(cache);
} catch {
  // No cache: the hook only runs a few milliseconds slower.
}
const { runCommandLine } = await import(new URL("./@@HOOK@@", import.meta.url).href);
await runCommandLine();
`;
