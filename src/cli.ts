/**
 * The command line: with no arguments, the hook (what Claude Code runs);
 * otherwise a command people type (`install`, `uninstall`, `doctor`,
 * `flush`, `log`, `command`), each with its own `--help`, or one the hook
 * runs itself (`deliver`, the detached sender; `ping-test`, for `doctor`).
 * Every command prints one clear line and exits non-zero on any failure.
 *
 * Owns: the command table and its help, `flush`, `log`, `command`, dispatch,
 * the main-module check. Uses: input, payload, runtime, state_dir, config,
 * ping_url, launch, spool, lock, send, journal, sender, run_hook, cli_args,
 * install, doctor.
 *
 * @module
 */

import { CommandError, parseArgs } from "./cli_args.ts";
import { loadConfig, narrowAccess } from "./config.ts";
import { doctorCommand } from "./doctor.ts";
import { describeError } from "./input.ts";
import { installCommand, uninstallCommand } from "./install.ts";
import { claimTokenIn } from "./lock.ts";
import { readJournal } from "./journal.ts";
import { fastPathCommand, hookArgv, shellWord } from "./launch.ts";
import { buildPayload, HOOK_VERSION } from "./payload.ts";
import { parsePingUrl, redactSecrets } from "./ping_url.ts";
import { runHook } from "./run_hook.ts";
import { detectRuntime, nodeFs, type Runtime, sleep } from "./runtime.ts";
import { sendPing } from "./send.ts";
import { deliverSpool, type DeliveryReport, readStatus } from "./sender.ts";
import { Spool } from "./spool.ts";
import { STATE_LAYOUT } from "./state_dir.ts";

/** A command people type: its usage line, what it does, and how it runs. */
interface Command {
  usage: string;
  summary: string;
  details?: string;
  run(runtime: Runtime, args: readonly string[]): Promise<number>;
}

/** The name this file answers to in help: the npm bin under Node, else the script's own name. */
function programName(runtime: Runtime): string {
  if (runtime.kind === "node") return "telemhq-claude-code";
  return runtime.scriptPath?.split("/").pop() ?? "hook.ts";
}

const COMMANDS: Readonly<Record<string, Command>> = {
  install: {
    usage: "install --url URL|- [--scope user|project|local|managed] [--dir DIR] [--runtime deno|bun] " +
      "[--tool-activity] [--hash-salt SALT]",
    summary: "copy the hook into ~/.claude/hooks, save the ping URL, wire it into a settings file",
    details: `The ping URL holds your tracker's token. To keep it out of the process list, give --url - and
the URL on standard input, or set TELEMHQ_PING_URL and leave --url out.
--scope project writes the repository's .claude/settings.json (its git root, or --dir DIR).
--hash-salt mixes a secret your team shares into cwd_hash and transcript_path_hash.`,
    run: installCommand,
  },
  uninstall: {
    usage: "uninstall [--scope user|project|local] [--dir DIR]",
    summary: "remove exactly what install added; with the last scope, the hook file, the saved URL and the spool",
    details: "Run flush first to send pings still waiting: uninstall drops them with the last scope.",
    run: uninstallCommand,
  },
  doctor: {
    usage: "doctor [--ping]",
    summary: "check the URL, the settings, the runtime, the state directory, the spool and refused pings",
    details: "--ping sends a test ping through the installed hook, with the permissions it runs with.",
    run: doctorCommand,
  },
  flush: {
    usage: "flush [--retry-failed]",
    summary: "deliver every spooled ping now and report what happened",
    details: "--retry-failed first puts the pings the tracker refused back in the spool (after fixing the URL).",
    run: flushCommand,
  },
  log: {
    usage: "log [--json] [--limit N]",
    summary: "show the pings delivered, newest first: when, the tracker's answer, the exact body sent",
    run: logCommand,
  },
  command: {
    usage: "command [--direct]",
    summary: "print the settings.json hook command for this runtime and file (the shell fast path)",
    details: "--direct prints a command that runs this file directly instead.",
    run: printHookCommand,
  },
};

function usageText(runtime: Runtime): string {
  const name = programName(runtime);
  const usage = Object.values(COMMANDS).map((command) => `  ${name} ${command.usage}\n      ${command.summary}`);
  return `TelemHQ hook for Claude Code ${HOOK_VERSION}

Usage:
${usage.join("\n")}
  ${name}
      read one hook event on stdin and spool its ping (what Claude Code runs)
  ${name} COMMAND --help
      help on one command

Settings come from the environment (TELEMHQ_PING_URL, TELEMHQ_STATE_DIR, TELEMHQ_TIMEOUT_MS,
TELEMHQ_HOOK_DEBUG=1, ...) and from what install saved; see the README.`;
}

function commandHelp(runtime: Runtime, command: Command): string {
  const help = `Usage: ${programName(runtime)} ${command.usage}\n\n${command.summary}.`;
  const runtimeNote = runtime.kind === "node"
    ? "\nUnder Node, --runtime is node (this npm build runs under Node)."
    : "";
  return command.details === undefined ? help + runtimeNote : `${help}\n\n${command.details}${runtimeNote}`;
}

/**
 * `flush`: delivers the spool now and prints a report. A sender already
 * running is asked to send everything now, and the report waits for it.
 * Exit code 0 when every ping was delivered (none refused, none left waiting).
 *
 * @param runtime The runtime adapter.
 * @param args `[--retry-failed]`.
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * const code = await flushCommand(detectRuntime(), []);
 * ```
 */
export async function flushCommand(runtime: Runtime, args: readonly string[] = []): Promise<number> {
  const values = parseArgs(args, [], ["--retry-failed"]);
  const config = await loadConfig(runtime);
  const stateDir = config.stateDir;
  if (stateDir === undefined) {
    throw new CommandError("Cannot flush: no state directory. Set HOME or TELEMHQ_STATE_DIR.");
  }
  if (config.stateDirProblem !== undefined) throw new CommandError(`Cannot flush: ${config.stateDirProblem}.`);
  let retried = 0;
  if (values["--retry-failed"]) retried = await new Spool(await runtime.fs(), stateDir, config).retryFailed();
  // A running sender may deliver for us: the report counts every delivery since flush began.
  const deliveredBefore = (await readStatus(runtime, stateDir)).delivered;
  let report = await deliverSpool(runtime, config, { flush: true });
  if (report.busy) {
    // A sender is running: ask it to send everything now and leave, then take over.
    await runtime.createPrivateFile(`${stateDir}/${STATE_LAYOUT.flushRequest}`, "").catch(() => false);
    const deadline = Date.now() + 30_000;
    while (report.busy && Date.now() < deadline) {
      await sleep(200);
      report = await deliverSpool(runtime, config, { flush: true });
    }
    if (report.busy) throw new CommandError(`Cannot flush: a sender in "${stateDir}" is busy. Try again in a minute.`);
  }
  report = { ...report, delivered: Math.max(report.delivered, report.status.delivered - deliveredBefore) };
  if (retried > 0) console.log(`Put ${retried} refused ping${retried === 1 ? "" : "s"} back in the spool.`);
  console.log(flushSummary(report, stateDir));
  return report.waiting === 0 && report.rejected === 0 && report.faulted === 0 ? 0 : 1;
}

function flushSummary(report: DeliveryReport, stateDir: string): string {
  const { status } = report;
  const lines = [`Delivered ${report.delivered} ping${report.delivered === 1 ? "" : "s"} now.`];
  if (report.rejected > 0) {
    lines.push(
      `${report.rejected} refused by the tracker (${status.last_error?.reason}): check the ping URL, then run ` +
        `install --url again and flush --retry-failed; kept in "${stateDir}/${STATE_LAYOUT.failed}".`,
    );
  }
  if (report.faulted > 0) {
    lines.push(`${report.faulted} set aside in "${stateDir}/${STATE_LAYOUT.failed}" after failing here repeatedly.`);
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
 * `log`: prints the pings delivered, newest first: when each was delivered,
 * the tracker's answer, and the exact body sent. `--json` prints one JSON
 * object per line (`delivered_at`, `status`, `ping`) for tools.
 *
 * @param runtime The runtime adapter.
 * @param args `[--json] [--limit N]`.
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * await logCommand(detectRuntime(), ["--json"]);
 * ```
 */
export async function logCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  const values = parseArgs(args, ["--limit"], ["--json"]);
  const limit = Number(values["--limit"] ?? 1000);
  if (!Number.isInteger(limit) || limit < 1) {
    throw new CommandError(`Cannot show the log: --limit "${values["--limit"]}" is not a whole number above 0.`, 2);
  }
  const config = await loadConfig(runtime);
  if (config.stateDir === undefined) throw new CommandError("Cannot show the log: HOME is not set.");
  if (config.stateDirProblem !== undefined) throw new CommandError(`Cannot show the log: ${config.stateDirProblem}.`);
  const records = await readJournal(runtime, config.stateDir, limit);
  for (const record of records) {
    console.log(
      values["--json"]
        ? JSON.stringify({ delivered_at: record.delivered_at, status: record.status, ping: JSON.parse(record.body) })
        : `${record.delivered_at}  ${record.status}  ${record.body}`,
    );
  }
  if (!values["--json"]) {
    console.error(records.length === 0 ? "No ping was delivered yet." : `${records.length} pings, newest first.`);
  }
  return 0;
}

/**
 * `command`: prints the hook command for settings.json: this runtime and this
 * file, by absolute path (hooks started from IDEs and desktop apps get a minimal
 * PATH), with the permissions `install` would give it, through the shell fast
 * path unless `--direct` is given.
 *
 * @param runtime The runtime adapter.
 * @param args The arguments after `command`.
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * await printHookCommand(detectRuntime(), ["--direct"]);
 * ```
 */
export async function printHookCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  const values = parseArgs(args, [], ["--direct"]);
  const config = await loadConfig(runtime);
  if (config.stateDir === undefined) {
    throw new CommandError("Cannot print the hook command: no state directory. Set HOME or TELEMHQ_STATE_DIR.");
  }
  if (runtime.scriptPath === undefined) {
    throw new CommandError("Cannot print the hook command: this hook does not run from a local file. Save it first.");
  }
  const narrow = narrowAccess((name) => runtime.env(name), config.pingUrl);
  const hook = hookArgv(runtime.kind, runtime.execPath, runtime.scriptPath, config.stateDir, narrow);
  console.log(values["--direct"] ? hook.map(shellWord).join(" ") : fastPathCommand(hook));
  return 0;
}

/** `ping-test`: sends one test ping with this process's permissions and prints the result as JSON (for doctor). */
async function pingTest(runtime: Runtime): Promise<number> {
  const config = await loadConfig(runtime);
  if (config.pingUrl === undefined) throw new CommandError("Cannot send a test ping: no ping URL.");
  const url = parsePingUrl(config.pingUrl);
  const payload = await buildPayload(
    { hook_event_name: "DoctorPing", session_id: crypto.randomUUID(), cwd: runtime.cwd() },
    { fallbackCwd: runtime.cwd(), runtime: runtime.name, sha256Hex: runtime.sha256Hex, hashSalt: config.hashSalt },
  );
  const result = await sendPing(url, payload, config.timeoutMs);
  console.log(JSON.stringify(result));
  return result.outcome === "delivered" ? 0 : 1;
}

/** Runs a command people type: its help, its Deno permissions, and one clear line for any failure. */
async function runCommand(runtime: Runtime, name: string, command: Command, args: readonly string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(commandHelp(runtime, command));
    return 0;
  }
  const missing = runtime.missingPermissions();
  if (missing.length > 0) {
    throw new CommandError(
      `Cannot run ${name}: Deno was not given the permissions it needs (${missing.join(", ")}). ` +
        `Run it as: deno run -A ${shellWord(runtime.scriptPath ?? "hook.ts")} ${name}`,
    );
  }
  return await command.run(runtime, args);
}

/**
 * The command line: with no arguments, the hook (what Claude Code runs);
 * otherwise a command (see `--help`). Ends the process: the hook always exits
 * 0 and prints nothing (it must never disturb Claude Code); a command prints
 * one clear line and exits non-zero on any failure (2 for a usage mistake).
 * Run when this file is the main module; the npm build's bin calls it.
 *
 * @returns Never returns: exits with the command's code.
 *
 * @example
 * ```ts ignore
 * await runCommandLine();
 * ```
 */
export async function runCommandLine(): Promise<void> {
  const runtime = detectRuntime();
  const [name, ...args] = runtime.args;
  let code: number;
  if (name === undefined || name === "--detached") {
    const problem = await runHook(runtime, { detached: name === "--detached" });
    if (problem !== undefined && runtime.env("TELEMHQ_HOOK_DEBUG") === "1") {
      // Debug output goes to stderr only: Claude Code reads hook stdout.
      console.error(`TelemHQ hook: ${problem}`);
    }
    runtime.exit(0);
  }
  try {
    if (name === "deliver") {
      // The detached sender: no terminal, nobody to tell; problems land in status.json.
      await deliverSpool(runtime, await loadConfig(runtime), { lockToken: claimTokenIn(args) }).catch(() => {});
      code = 0;
    } else if (name === "ping-test") {
      code = await pingTest(runtime);
    } else if (name === "--help" || name === "-h" || name === "help") {
      console.log(usageText(runtime));
      code = 0;
    } else if (Object.hasOwn(COMMANDS, name)) {
      code = await runCommand(runtime, name, COMMANDS[name], args);
    } else {
      throw new CommandError(`Unknown command "${name}". Run with --help to see the commands.`, 2);
    }
  } catch (error) {
    // One line, never a stack, never a token; an unexpected error says what failed, not its text.
    const message = error instanceof CommandError
      ? error.message
      : `Cannot ${name}: unexpected error (${describeError(error)}). Run doctor to check the installation.`;
    console.error(redactSecrets(message));
    code = error instanceof CommandError ? error.exitCode : 1;
  }
  runtime.exit(code);
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
