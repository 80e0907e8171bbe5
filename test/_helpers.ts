// Test-only helpers: hook processes as Claude Code runs them, state
// directories, bounded waits. The shared parts live in scripts/_dev.ts.
import { hookCommand, pinnedClaudeBinary, type ProcessRun, runProcess, type RuntimeName } from "../scripts/_dev.ts";

export * from "../scripts/_dev.ts";

/** What one hook process did. */
export type HookRun = ProcessRun;

/**
 * Settings for a hook under test: its own state directory, and short retry
 * and idle times so that its sender finishes within the test.
 */
export function testEnv(stateDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TELEMHQ_STATE_DIR: stateDir,
    TELEMHQ_RETRY_BASE_MS: "50",
    TELEMHQ_RETRY_MAX_MS: "400",
    TELEMHQ_SENDER_IDLE_MS: "300",
    ...extra,
  };
}

/** A fresh state directory; removing it makes any sender still running in it exit. */
export function tempStateDir(): string {
  return Deno.makeTempDirSync({ prefix: "telemhq-state-" });
}

/**
 * Runs the hook as Claude Code does: a new process, the event on stdin,
 * settings in the environment (and nothing else of the test's environment).
 * `env.TELEMHQ_STATE_DIR` must be set: it also narrows Deno's write permission.
 */
export async function runHook(
  runtime: RuntimeName,
  stdin: string | Uint8Array,
  env: Record<string, string>,
  options: { cwd?: string; killAfterMs?: number } = {},
): Promise<HookRun> {
  const stateDir = env.TELEMHQ_STATE_DIR;
  if (stateDir === undefined) throw new Error("runHook() needs TELEMHQ_STATE_DIR in env");
  return await runProcess(hookCommand(runtime, stateDir), {
    env,
    stdin,
    cwd: options.cwd ?? Deno.makeTempDirSync({ prefix: "telemhq-cwd-" }),
    timeoutMs: options.killAfterMs ?? 30_000,
  });
}

/** Waits until `check` is true, polling; throws with `what` after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The files in a state subdirectory (spool, inbox, failed), or [] when it does not exist. */
export function listState(stateDir: string, subdirectory = ""): string[] {
  try {
    return [...Deno.readDirSync(`${stateDir}/${subdirectory}`)].map((entry) => entry.name).sort();
  } catch {
    return [];
  }
}

let claudeBin: string | undefined;

/**
 * A PATH on which `claude` is the pinned Claude Code (2.1.332), as on a
 * user's machine: `install` reads its version and wires every event it knows.
 * The folder goes when the test file is done.
 */
export function pathWithClaude(): string {
  if (claudeBin === undefined) {
    const bin = Deno.makeTempDirSync({ prefix: "telemhq-claude-bin-" });
    Deno.symlinkSync(pinnedClaudeBinary(), `${bin}/claude`);
    globalThis.addEventListener("unload", () => Deno.removeSync(bin, { recursive: true }));
    claudeBin = bin;
  }
  return `${claudeBin}:/usr/bin:/bin`;
}
