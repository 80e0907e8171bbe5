/**
 * The command line: with no arguments, the hook (what Claude Code runs);
 * otherwise a command people type (`install`, `uninstall`, `doctor`,
 * `flush`, `command`) or the detached sender (`deliver`). Runs when this file
 * is the main module.
 *
 * Owns: the help text, `flush`, `command`, dispatch, the main-module check.
 * Uses: runtime, config, launch, payload, run_hook, sender, cli_args,
 * install, doctor.
 *
 * @module
 */

import { CommandError } from "./cli_args.ts";
import { loadConfig, readConfig, STATE_LAYOUT } from "./config.ts";
import { doctorCommand } from "./doctor.ts";
import { installCommand, uninstallCommand } from "./install.ts";
import { fastPathCommand, selfCommand, shellWord } from "./launch.ts";
import { HOOK_VERSION } from "./payload.ts";
import { runHook } from "./run_hook.ts";
import { detectRuntime, nodeFs, type Runtime, sleep } from "./runtime.ts";
import { deliverSpool, type DeliveryReport } from "./sender.ts";

const HELP = `TelemHQ hook for Claude Code ${HOOK_VERSION}

Usage:
  hook.ts install --url URL [--scope user|project|local|managed] [--runtime deno|bun] [--tool-activity]
                     copy the hook into ~/.claude/hooks, save the ping URL, wire it into settings.json
  hook.ts uninstall [--scope user|project|local]
                     remove exactly what install added
  hook.ts doctor [--ping]
                     check the URL, the settings, the runtime, the spool; --ping sends a test ping
  hook.ts            read one hook event on stdin and spool its ping (what Claude Code runs)
  hook.ts --detached the same, started by the shell fast path: also delivers the spool
  hook.ts flush      deliver every spooled ping now and report what happened
  hook.ts command    print the settings.json hook command for this runtime and file
                     (the shell fast path; --direct: run this file directly instead)
  hook.ts --help     show this help

Settings come from the environment: TELEMHQ_PING_URL, TELEMHQ_TIMEOUT_MS,
TELEMHQ_STATE_DIR, TELEMHQ_HOOK_DEBUG=1 (see the README).`;

/**
 * `flush`: delivers the spool now and prints a report. Exit code 0 when
 * every ping was delivered (none refused, none left waiting).
 *
 * @param runtime The runtime adapter.
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * const code = await flushCommand(detectRuntime());
 * ```
 */
export async function flushCommand(runtime: Runtime): Promise<number> {
  const config = await loadConfig(runtime);
  const stateDir = config.stateDir;
  if (stateDir === undefined) {
    console.error("Cannot flush: no state directory. Set HOME or TELEMHQ_STATE_DIR.");
    return 1;
  }
  let report = await deliverSpool(runtime, config, { flush: true });
  if (report.busy) {
    // A sender is running: ask it to send everything now and leave, then take over.
    await runtime.writePrivateFile(`${stateDir}/${STATE_LAYOUT.flushRequest}`, "");
    const deadline = Date.now() + 30_000;
    while (report.busy && Date.now() < deadline) {
      await sleep(200);
      report = await deliverSpool(runtime, config, { flush: true });
    }
    if (report.busy) {
      console.error(`Cannot flush: a sender in "${stateDir}" is busy. Try again in a minute.`);
      return 1;
    }
  }
  console.log(flushSummary(report, stateDir));
  return report.waiting === 0 && report.rejected === 0 ? 0 : 1;
}

function flushSummary(report: DeliveryReport, stateDir: string): string {
  const { status } = report;
  const lines = [`Delivered ${report.delivered} ping${report.delivered === 1 ? "" : "s"} now.`];
  if (report.rejected > 0) {
    lines.push(
      `${report.rejected} refused by the tracker (${status.last_error?.reason}): check TELEMHQ_PING_URL; kept in "${stateDir}/${STATE_LAYOUT.failed}".`,
    );
  }
  if (report.waiting > 0) {
    lines.push(`${report.waiting} still waiting to be retried; last error: ${status.last_error?.reason}.`);
  }
  const dropped = status.dropped.too_many + status.dropped.too_old + status.dropped.unreadable;
  lines.push(
    `In all: ${status.delivered} delivered, ${status.rejected} refused, ${dropped} dropped ` +
      `(${status.dropped.too_many} over the spool limit, ${status.dropped.too_old} too old, ${status.dropped.unreadable} unreadable).`,
  );
  return lines.join("\n");
}

/**
 * `command`: prints the hook command for settings.json: this runtime and this
 * file, by absolute path (hooks started from IDEs and desktop apps get a minimal
 * PATH), through the shell fast path unless `--direct` is given.
 *
 * @param runtime The runtime adapter.
 * @param args The arguments after `command`.
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * printHookCommand(detectRuntime(), ["--direct"]);
 * ```
 */
export function printHookCommand(runtime: Runtime, args: readonly string[]): number {
  const unknown = args.find((arg) => arg !== "--direct");
  if (unknown !== undefined) {
    console.error(`Cannot print the hook command: unknown option "${unknown}". Use --direct or nothing.`);
    return 2;
  }
  const stateDir = readConfig((name) => runtime.env(name)).stateDir;
  if (stateDir === undefined) {
    console.error("Cannot print the hook command: no state directory. Set HOME or TELEMHQ_STATE_DIR.");
    return 1;
  }
  const hook = selfCommand(runtime, [], stateDir);
  if (hook === undefined) {
    console.error("Cannot print the hook command: this hook does not run from a local file. Save it first.");
    return 1;
  }
  console.log(args.includes("--direct") ? hook.map(shellWord).join(" ") : fastPathCommand(hook));
  return 0;
}

/**
 * The command line: with no arguments, the hook (what Claude Code runs);
 * otherwise `install`, `uninstall`, `doctor`, `flush`, `command`, `--help`.
 * Ends the process. Run when this file is the main module; the npm build's
 * bin calls it.
 *
 * @returns Never returns: exits with the command's code (always 0 for the hook).
 *
 * @example
 * ```ts ignore
 * await runCommandLine();
 * ```
 */
export async function runCommandLine(): Promise<void> {
  let runtime: Runtime | undefined;
  let code = 0;
  try {
    runtime = detectRuntime();
    const [command] = runtime.args;
    const help = runtime.args.some((arg) => arg === "--help" || arg === "-h") || command === "help";
    if (help && command !== "--detached") {
      console.log(HELP);
    } else if (command === undefined || command === "--detached") {
      const problem = await runHook(runtime, { detached: command === "--detached" });
      if (problem !== undefined && runtime.env("TELEMHQ_HOOK_DEBUG") === "1") {
        // Debug output goes to stderr only: Claude Code reads hook stdout.
        console.error(`TelemHQ hook: ${problem}`);
      }
    } else if (command === "deliver") {
      // The detached sender: no terminal, nobody to tell; problems land in status.json.
      const config = await loadConfig(runtime);
      const lockToken = runtime.args[1] === "--lock" ? runtime.args[2] : undefined;
      await deliverSpool(runtime, config, { lockToken }).catch(() => {});
    } else if (command === "flush") {
      code = await flushCommand(runtime);
    } else if (command === "command") {
      code = printHookCommand(runtime, runtime.args.slice(1));
    } else if (command === "install" || command === "uninstall" || command === "doctor") {
      const run = { install: installCommand, uninstall: uninstallCommand, doctor: doctorCommand }[command];
      code = await run(runtime, runtime.args.slice(1)).catch((error) => {
        if (!(error instanceof CommandError)) throw error;
        console.error(error.message);
        return error.exitCode;
      });
    } else {
      console.error(`Unknown command "${command}". Run with --help to see the commands.`);
      code = 2;
    }
  } finally {
    runtime?.exit(code);
  }
}

/**
 * Whether this file is the program being run. Deno, Bun and Node 24.2+ say so
 * in `import.meta.main`; older Node (the npm build) is asked which script it
 * started, through any symlink npm put on the way.
 */
async function isMainModule(): Promise<boolean> {
  const main = (import.meta as { main?: boolean }).main;
  if (main !== undefined) return main;
  const entry = (globalThis as { process?: { argv?: string[] } }).process?.argv?.[1];
  const self = new URL(import.meta.url);
  if (entry === undefined || self.protocol !== "file:") return false;
  const { realpath } = await nodeFs();
  return (await realpath(entry).catch(() => entry)) === decodeURIComponent(self.pathname);
}

if (await isMainModule()) {
  await runCommandLine();
}
