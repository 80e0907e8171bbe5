/**
 * How the hook is started: the command line that runs it under each runtime
 * (Deno's narrow permission flags, Bun's flags), and the shell fast path that
 * Claude Code runs, which hands the event to a detached hook in milliseconds.
 *
 * Owns: `hookArgv`, `denoRunFlags`, `fastPathCommand`, shell quoting.
 * Uses: runtime, config.
 *
 * @module
 */

import { ENV_NAMES, MANAGED_SETTINGS_DIRS } from "./config.ts";
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

/** Bun's flags: no `.env` of the project, no auto-install. */
const BUN_RUN_FLAGS: readonly string[] = ["--no-env-file", "--no-install"];

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
      "--no-config",
      "--no-lock",
      "--no-prompt",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      `--allow-write=${stateDir}`,
      `--allow-run=${denoPath}`,
      "--allow-sys=uid",
    ];
  }
  return [
    "--no-config",
    "--no-lock",
    "--no-prompt",
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
 * assert.deepEqual(argv, ["/usr/bin/bun", "--no-env-file", "--no-install", "/home/me/.claude/hooks/telemhq.ts"]);
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
 * import { detectRuntime } from "@telemhq/claude-code";
 * const argv = selfCommand(detectRuntime(), ["deliver"], "/home/me/.claude/telemhq");
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
 * The shell fast path, for a settings.json hook command: hands the event to
 * `hook.ts --detached` started in its own session, and exits. The shell takes
 * about 2 ms, so this survives where Claude Code does not wait: `async` hooks
 * when a `claude -p` run ends and `StopFailure` in print mode, whose hook
 * processes get SIGTERM 15-25 ms after they start (measured with 2.1.332),
 * before Deno or Bun has even started the script. The shell ignores SIGTERM
 * and SIGHUP, and an ignored signal stays ignored across fork and exec, so
 * neither it nor the hook it starts can be ended by that teardown until the
 * hook has spooled the ping (Claude Code follows with SIGKILL 1.5 s later).
 * The detached hook reads the event from the same pipe (it stays open while
 * the hook holds it), spools the ping, and starts a sender, which restores
 * the default handling of both signals.
 *
 * @param hookCommand The command that runs `hook.ts` (see {@linkcode hookArgv}).
 * @returns A command line for `sh -c`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const line = fastPathCommand(["/usr/bin/bun", "/home/me/.claude/hooks/telemhq.ts"]);
 * assert.ok(line.includes("setsid /usr/bin/bun /home/me/.claude/hooks/telemhq.ts --detached"));
 * ```
 */
export function fastPathCommand(hookCommand: readonly string[]): string {
  const hook = [...hookCommand, "--detached"].map(shellWord).join(" ");
  // A background job's stdin is /dev/null unless redirected, so the event's pipe is kept as fd 3
  // and handed over. setsid (Linux) or POSIX::setsid (perl, macOS) puts the hook in a session of
  // its own, out of reach of whatever ends Claude Code's hook processes.
  const io = "<&3 >/dev/null 2>&1 &";
  // Claude Code ends hooks it no longer waits for with SIGTERM to their process group and every
  // descendant (seen with 2.1.332): ignored here, for the shell and, across fork and exec, the hook.
  return `trap '' TERM HUP; exec 3<&0; if command -v setsid >/dev/null 2>&1; then setsid ${hook} ${io} ` +
    `elif command -v perl >/dev/null 2>&1; then perl -MPOSIX -e 'POSIX::setsid(); exec @ARGV' ${hook} ${io} ` +
    `else ${hook} ${io} fi`;
}
