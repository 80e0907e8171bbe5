/**
 * The command line: with no arguments, the hook (what Claude Code runs);
 * otherwise a command people type (`install`, `uninstall`, `doctor`,
 * `flush`, `log`, `command`), each with its own `--help`, or one the hook
 * runs itself (`deliver`, the detached sender; `ping-test`, for `doctor`).
 * Every command prints one clear line and exits non-zero on any failure.
 *
 * Owns: the command table and its help, `flush`, `status`, `log`, `command`, dispatch,
 * the main-module check. Uses: input, paths, payload, runtime, runtime_detect, state_dir, config,
 * ping_url, launch, launcher, spool, lock, send, journal, attempts, sender, run_hook, cli_args,
 * install, uninstall, doctor, report.
 *
 * @module
 */

import { CommandError, parseArgs, withoutStop } from "./cli_args.ts";
import { type HookConfig, loadConfig } from "./config.ts";
import { fileUrlPath, hostPathStyle, isAbsolutePath, parentFolder, pathName } from "./paths.ts";
import { STATE_LAYOUT, stateDirectory } from "./state_dir.ts";
import { doctorCommand, testPayload } from "./doctor.ts";
import { describeError, HookSkip, terminalSafe } from "./input.ts";
import { installCommand } from "./install.ts";
import { uninstallCommand } from "./uninstall.ts";
import { claimTokenIn, senderIsRunning } from "./lock.ts";
import { findRuntimeBinary, hookArgv, narrowAccess, shellWord } from "./launch.ts";
import { LAUNCHER_FILE_NAME, launcherArgs, launcherCommand } from "./launcher.ts";
import { HOOK_VERSION } from "./payload.ts";
import { parsePingUrl, redactSecrets } from "./ping_url.ts";
import { runHook } from "./run_hook.ts";
import { attempt, nodeFs, type Runtime, sleep } from "./runtime.ts";
import { detectRuntime } from "./runtime_detect.ts";
import { sendPing } from "./send.ts";
import { readStatus } from "./attempts.ts";
import { type DeliverOptions, deliverSpool, type DeliveryReport, startSender } from "./sender.ts";
import { Spool } from "./spool.ts";
import { reportCommand } from "./report.ts";
import { readJournal } from "./journal.ts";

/** A command people type: its usage line, what it does, and how it runs. */
interface Command {
  usage: string;
  summary: string;
  details?: string;
  run(runtime: Runtime, args: readonly string[]): Promise<number>;
}

/** The name this file answers to in help: the npm bin under Node, else the script's own name. */
function programName(runtime: Runtime): string {
  if (runtime.scriptPath === undefined) return runtime.kind === "node" ? "telemhq-claude-code" : "hook.ts";
  // The npm build's code is bin/hook.mjs, and people type the command npm made of it.
  if (/[\\/]bin[\\/]hook\.mjs$/.test(runtime.scriptPath)) return "telemhq-claude-code";
  return terminalSafe(pathName(runtime.scriptPath, hostPathStyle()), true);
}

const COMMANDS: Readonly<Record<string, Command>> = {
  install: {
    usage: "install --url URL|- [--scope user|project|local|managed] [--dir DIR] [--runtime deno|bun|node] " +
      "[--[no-]tool-activity] [--hash-salt SALT|- | --no-hash-salt] [--member LABEL | --no-member] " +
      "[--claude-version X.Y.Z] | install --scope managed --plugin [--marketplace SOURCE] [--url URL|-] " +
      "[--[no-]tool-activity] [--claude-version X.Y.Z] [--write]",
    summary: "copy the hook into ~/.claude/hooks, save the ping URL, wire it into a settings file",
    details: `The ping URL holds your tracker's token. To keep it out of the process list, give --url - and
the URL on standard input, or set TELEMHQ_PING_URL and leave --url out.
--scope project writes the repository's .claude/settings.json (its git root, or --dir DIR).
--runtime picks the program that runs the hook (default: the one running install; under Node, only node: 20+).
--tool-activity also wires PostToolUse (Bash, Edit, MultiEdit, Write) and PostToolUseFailure (every tool):
a ping per tool call, with its name and duration, never its input or output. A re-run keeps the choices made before.
--hash-salt mixes a secret your team shares into cwd_hash and transcript_path_hash (--hash-salt - reads it
from standard input).
--member adds your label (a name your team rolls up by) to every ping; off unless given.
Only the hook events your Claude Code knows are wired (an older one skips a whole settings file over one
it does not know): install reads the version of each claude it finds, and wires for the oldest;
--claude-version says which version to wire for instead (an IDE's own Claude Code, a fleet's pinned one).
--scope managed prints a team's policy for the settings route: it runs each user's own launcher, and each member
then runs install --url once (no settings file of theirs is written while the policy runs the hook).
--scope managed --plugin prints a team's policy for the plugin route: --marketplace names where the plugin comes
from (owner/repo[#ref], a git URL[#ref], the URL of a marketplace.json, or an absolute path; TelemHQ's by default),
--url one ping URL shared by the team (in a file every user can read; without it each member configures theirs).
--write (as root, Linux and macOS) writes either policy as the drop-in managed-settings.d/telemhq.json.`,
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
  status: {
    usage: "status",
    summary: "what the hook is doing now: pings waiting, the sender, the last delivery, refused pings",
    run: statusCommand,
  },
  log: {
    usage: "log [--json] [--limit N]",
    summary: "show the pings delivered, newest first: when, the tracker's answer, the exact body sent",
    run: logCommand,
  },
  report: {
    usage: "report [--by day|week|month|session|project|model] [--since DATE] [--until DATE] [--project NAME] [--json]",
    summary: "what Claude Code spent here, from every transcript it kept: tokens, cost, turns, searches, lines",
    details: `Local days, both inclusive; weeks start on Monday; --project takes a project folder's name. Reads what
cleanupPeriodDays kept; * marks a model with no known price (see TELEMHQ_PRICES); by model, turns and lines show -.`,
    run: reportCommand,
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
TELEMHQ_HOOK_DEBUG=1, ...) and from what install saved; see docs/settings.md.`;
}

function commandHelp(runtime: Runtime, command: Command): string {
  const help = `Usage: ${programName(runtime)} ${command.usage}\n\n${command.summary}.`;
  return command.details === undefined ? help : `${help}\n\n${command.details}`;
}

/**
 * `flush`: delivers the spool now and prints a report. A sender already
 * running is asked to send everything now, and the report waits for it.
 * Exit code 0 when every ping was delivered (none refused, dropped, stuck or left waiting).
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
  const { config, state } = await loadConfig(runtime);
  const stateDir = config.stateDir;
  if (state.problem !== undefined) throw new CommandError(`Cannot flush: ${state.problem}.`);
  if (stateDir === undefined) {
    throw new CommandError("Cannot flush: no state directory. Set HOME or TELEMHQ_STATE_DIR.");
  }
  if (await runtime.lstat(stateDir) === undefined) {
    console.log(`Nothing to flush: no ping was spooled yet (no state directory "${stateDir}").`);
    return 0;
  }
  const fs = await runtime.fs();
  let retried = 0;
  if (values["--retry-failed"]) retried = await new Spool(fs, stateDir, config).retryFailed();
  const before = await readStatus(runtime, stateDir);
  const progress = flushProgress(runtime, stateDir, before.delivered);
  // Ctrl-C ends the pass and lets go of the sender's lock (a second Ctrl-C exits at once).
  let interrupted = false;
  runtime.onInterrupt(() => interrupted ? runtime.exit(130) : void (interrupted = true));
  const report = await flushPasses(runtime, config, { flush: true, progress, stopped: () => interrupted });
  const status = await readStatus(runtime, stateDir);
  const spool = new Spool(fs, stateDir, config);
  const waiting = await spool.waiting();
  // With no sender left, every claim is a ping stuck mid-send; with one running, only those older than a request.
  const stuck = await senderIsRunning(runtime, stateDir) ? await spool.staleClaims() : await spool.claims();
  const setAside = (await spool.failedEntries()).length;
  const droppedNow = droppedCount(status) - droppedCount(before);
  await progress(true);
  if (retried > 0) console.log(`Put ${retried} refused ping${retried === 1 ? "" : "s"} back in the spool.`);
  console.log(terminalSafe(flushSummary({
    delivered: status.delivered - before.delivered,
    rejected: status.rejected - before.rejected,
    faulted: status.faulted - before.faulted,
    waiting,
    status,
    busy: false,
  }, stateDir)));
  if (interrupted) {
    // What is left goes on in the background, as after any hook.
    await startSender(runtime, config).catch(() => false);
    console.log("Interrupted: a sender goes on delivering in the background.");
    return 130;
  }
  // The ones this flush set aside are in its summary already: these are the ones from before.
  const setAsideNow = status.rejected - before.rejected + status.faulted - before.faulted;
  printFlushWarnings(stateDir, { setAside: Math.max(0, setAside - setAsideNow), droppedNow, stuck });
  // What this run saw counts even when status.json could not be written (a full disk).
  const clean = waiting === 0 && setAside === 0 && stuck === 0 && droppedNow === 0 &&
    status.rejected === before.rejected && status.faulted === before.faulted && report.rejected === 0 &&
    report.faulted === 0;
  return clean ? 0 : 1;
}

/**
 * Tries every ping once: here when no sender runs, else by asking the running one (a file it looks for) and
 * following it until it has tried them all, or has left and the rest is done here.
 */
async function flushPasses(runtime: Runtime, config: HookConfig, options: DeliverOptions): Promise<DeliveryReport> {
  const stateDir = config.stateDir!;
  const done = `${stateDir}/${STATE_LAYOUT.flushDone}`;
  await (await runtime.fs()).rm(done, { force: true });
  let report = await deliverSpool(runtime, config, options);
  if (report.busy) {
    await runtime.createPrivateFile(`${stateDir}/${STATE_LAYOUT.flushRequest}`, "").catch(() => false);
    while (report.busy && !options.stopped?.() && await runtime.lstat(done) === undefined) {
      await sleep(200);
      await options.progress?.();
      // A sender that left (or died) meanwhile: do the rest here.
      if (!(await senderIsRunning(runtime, stateDir))) report = await deliverSpool(runtime, config, options);
    }
  }
  await (await runtime.fs()).rm(done, { force: true });
  return report;
}

/** What a flush leaves for the user to act on: pings set aside before, dropped now, or stuck mid-send. */
function printFlushWarnings(stateDir: string, left: { setAside: number; droppedNow: number; stuck: number }): void {
  const { setAside, droppedNow, stuck } = left;
  if (setAside > 0) {
    console.log(
      `${setAside} ping${
        setAside === 1 ? " was" : "s were"
      } set aside earlier in "${stateDir}/${STATE_LAYOUT.failed}": ` +
        `once the cause is fixed, run flush --retry-failed to send ${setAside === 1 ? "it" : "them"} again.`,
    );
  }
  if (droppedNow > 0) {
    console.log(
      `${droppedNow} ping${droppedNow === 1 ? " was" : "s were"} dropped during this flush without being sent ` +
        `(see "So far" above): check the state folder's disk, then run doctor.`,
    );
  }
  if (stuck > 0) {
    console.log(
      `${stuck} ping${stuck === 1 ? " is" : "s are"} stuck mid-send in "${stateDir}/${STATE_LAYOUT.spool}" ` +
        `(a sender stopped while sending): run flush again; if they stay, check the disk and run doctor.`,
    );
  }
}

const droppedCount = ({ dropped }: { dropped: Record<"too_many" | "too_old" | "unreadable", number> }): number =>
  dropped.too_many + dropped.too_old + dropped.unreadable;

/**
 * On a terminal, a line that shows a long flush going: pings delivered, left, and the rate; elsewhere nothing.
 * Called with `last`, it ends the line.
 */
function flushProgress(runtime: Runtime, stateDir: string, deliveredBefore: number): (last?: boolean) => Promise<void> {
  const terminal = runtime.terminal();
  const started = Date.now();
  let shown = false;
  return async (last = false) => {
    if (terminal === undefined || (!last && Date.now() - started < 1000)) return;
    if (last) {
      if (shown) terminal.write("\n");
      return;
    }
    const delivered = (await readStatus(runtime, stateDir)).delivered - deliveredBefore;
    if (delivered < 0) return;
    const left = (await (await runtime.fs()).readdir(`${stateDir}/${STATE_LAYOUT.spool}`).catch(() => [] as string[]))
      .filter((name) => name.endsWith(".json")).length;
    const rate = delivered / ((Date.now() - started) / 1000);
    // While nothing goes, say why: the tracker's last answer.
    const status = await readStatus(runtime, stateDir);
    const stalled = rate === 0 && status.last_error !== undefined && Date.parse(status.last_error.at) >= started
      ? `; waiting: ${terminalSafe(withoutStop(status.last_error.reason).slice(0, 100), true)}`
      : "";
    terminal.write(`\r\x1b[KFlushing: ${delivered} delivered, ${left} left (${rate.toFixed(0)} pings/s)${stalled}`);
    shown = true;
  };
}

function flushSummary(report: DeliveryReport, stateDir: string): string {
  const { status } = report;
  const lines = [`Delivered ${report.delivered} ping${report.delivered === 1 ? "" : "s"} now.`];
  if (report.rejected > 0) {
    lines.push(
      `${report.rejected} refused by the tracker (${
        withoutStop(status.last_error?.reason ?? "")
      }): check the ping URL, then run ` +
        `install --url again and flush --retry-failed; kept in "${stateDir}/${STATE_LAYOUT.failed}".`,
    );
  }
  if (report.faulted > 0) {
    lines.push(`${report.faulted} set aside in "${stateDir}/${STATE_LAYOUT.failed}" after failing here repeatedly.`);
  }
  if (report.waiting > 0) {
    const why = status.last_error === undefined ? "" : `; last error: ${withoutStop(status.last_error.reason)}`;
    lines.push(`${report.waiting} still waiting to be retried${why}.`);
  }
  const dropped = status.dropped.too_many + status.dropped.too_old + status.dropped.unreadable;
  lines.push(
    `So far: ${status.delivered} delivered, ${status.rejected} refused, ${dropped} dropped ` +
      `(${status.dropped.too_many} over the spool limit, ${status.dropped.too_old} too old, ${status.dropped.unreadable} unreadable).`,
  );
  return lines.join("\n");
}

/**
 * The launcher starts a command from "/" (so that no version manager's shim picks the runtime by the folder it was
 * typed in) and names that folder in `TELEMHQ_EVENT_DIR`: the command runs there, as typed.
 */
function enterCallerFolder(runtime: Runtime): void {
  const dir = runtime.env("TELEMHQ_EVENT_DIR");
  if (dir !== undefined && isAbsolutePath(dir) && runtime.cwd() === "/") runtime.chdir(dir);
}

/**
 * `status`: what the hook is doing now, changing nothing: the pings waiting
 * and whether a sender is delivering them, the last delivery and the totals,
 * and pings set aside. Exits 1 when pings wait with no sender, or were set aside.
 *
 * @param runtime The runtime adapter.
 * @param args No options.
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * await statusCommand(detectRuntime(), []);
 * ```
 */
export async function statusCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  parseArgs(args, [], []);
  const { config, state } = await loadConfig(runtime);
  if (state.problem !== undefined) throw new CommandError(`Cannot read the status: ${state.problem}.`);
  const stateDir = config.stateDir;
  if (stateDir === undefined) throw new CommandError("Cannot read the status: no state directory. Set HOME.");
  if (await runtime.lstat(stateDir) === undefined) {
    console.log(`No ping spooled yet: the state directory "${stateDir}" does not exist (the first event creates it).`);
    return 0;
  }
  const spool = new Spool(await runtime.fs(), stateDir, config);
  const [status, waiting, setAside, running] = await Promise.all([
    readStatus(runtime, stateDir),
    spool.waiting(),
    spool.failedEntries().then((entries) => entries.length),
    senderIsRunning(runtime, stateDir),
  ]);
  const sender = !running ? "no sender running" : waiting > 0 ? "a sender is delivering" : "a sender is running, idle";
  const lines = [
    `${waiting} ping${waiting === 1 ? "" : "s"} waiting; ${sender}.`,
    status.last_delivered_at === undefined ? "Nothing delivered yet." : `Last delivery: ${status.last_delivered_at}.`,
    flushSummary({ delivered: 0, rejected: 0, faulted: 0, waiting: 0, status, busy: false }, stateDir)
      .split("\n").pop()!,
  ];
  if (status.last_error !== undefined) {
    lines.push(`Last failed attempt: ${status.last_error.at}, ${withoutStop(status.last_error.reason)}.`);
  }
  if (waiting > 0 && !running) lines.push("Run flush to send the waiting pings now.");
  if (setAside > 0) {
    lines.push(
      `${setAside} set aside in "${stateDir}/${STATE_LAYOUT.failed}": once the cause is fixed (doctor says what it ` +
        `is), run flush --retry-failed.`,
    );
  }
  console.log(terminalSafe(lines.join("\n")));
  return (waiting > 0 && !running) || setAside > 0 ? 1 : 0;
}

/**
 * `log`: prints the pings delivered, newest first: when, the tracker's answer, the exact body sent (and a note, when
 * there is one); `--json`, one JSON object per line (`delivered_at`, `status`, `ping`, `note`).
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
  const { config, state } = await loadConfig(runtime);
  if (state.problem !== undefined) throw new CommandError(`Cannot show the log: ${state.problem}.`);
  if (config.stateDir === undefined) throw new CommandError("Cannot show the log: HOME is not set.");
  const records = await readJournal(runtime, config.stateDir, limit);
  if (records === undefined) {
    throw new CommandError(`Cannot show the log: cannot read "${config.stateDir}/${STATE_LAYOUT.journal}".`);
  }
  for (const record of records) {
    // The body is JSON as sent; anything else in the file (a tampered line) is shown escaped, never raw.
    const ping = attempt(() => JSON.parse(record.body), undefined);
    const note = typeof record.note === "string" ? record.note : undefined;
    console.log(
      values["--json"]
        ? JSON.stringify({ delivered_at: record.delivered_at, status: record.status, ping: ping ?? record.body, note })
        : terminalSafe(`${record.delivered_at}  ${record.status}  ${record.body}${note ? `  (${note})` : ""}`, true),
    );
  }
  if (!values["--json"]) {
    console.error(
      records.length === 0
        ? "No ping was delivered yet."
        : `${records.length} ping${records.length === 1 ? "" : "s"}, newest first.`,
    );
  }
  return 0;
}

/**
 * `command`: prints the hook command for settings.json: this runtime and this
 * file, by absolute path (hooks started from IDEs and desktop apps get a minimal
 * PATH), through the launcher beside it (the fast path), or with `--direct`
 * the runtime's own command line, with the permissions `install` would give it.
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
  const { config } = await loadConfig(runtime);
  if (config.stateDir === undefined) {
    throw new CommandError("Cannot print the hook command: no state directory. Set HOME or TELEMHQ_STATE_DIR.");
  }
  if (runtime.scriptPath === undefined) {
    throw new CommandError("Cannot print the hook command: this hook does not run from a local file. Save it first.");
  }
  const narrow = narrowAccess((name) => runtime.env(name), config.pingUrl);
  if (runtime.kind === "deno" && narrow === undefined) {
    // Deno's permissions name the tracker's host: without it, the command would allow every host.
    throw new CommandError(
      "Cannot print the hook command for Deno: no ping URL to take the tracker's host from. " +
        "Run install --url ..., or set TELEMHQ_PING_URL.",
    );
  }
  if (values["--direct"]) {
    const hook = hookArgv(runtime.kind, runtime.execPath, runtime.scriptPath, config.stateDir, narrow);
    console.log(hook.map(shellWord).join(" "));
    return 0;
  }
  // The launcher beside the hook: install's layout (~/.claude/hooks/telemhq.sh), or a clone's (hooks/telemhq.sh).
  const folder = parentFolder(runtime.scriptPath, hostPathStyle()) ?? "/";
  let launcher: string | undefined;
  for (const candidate of [`${folder}/${LAUNCHER_FILE_NAME}`, `${folder}/hooks/${LAUNCHER_FILE_NAME}`]) {
    if ((await runtime.lstat(candidate))?.kind === "file") {
      launcher = candidate;
      break;
    }
  }
  if (launcher === undefined) {
    throw new CommandError(
      `Cannot print the hook command: no ${LAUNCHER_FILE_NAME} beside ${runtime.scriptPath}. Run install, which ` +
        `writes it, or give --direct for a command without the fast path.`,
    );
  }
  // The runtime by the path PATH names (a link an upgrade keeps), as install records it.
  const binary = await findRuntimeBinary(runtime, runtime.kind) ?? runtime.execPath;
  console.log(launcherCommand(launcher, launcherArgs(runtime.kind, binary, runtime.scriptPath, narrow?.pingHost)));
  return 0;
}

/** `ping-test`: sends one test ping with this process's permissions and prints the result as JSON (for doctor). */
async function pingTest(runtime: Runtime): Promise<number> {
  const { config } = await loadConfig(runtime);
  if (config.pingUrl === undefined) throw new CommandError("Cannot send a test ping: no ping URL.");
  const url = parsePingUrl(config.pingUrl);
  const result = await sendPing(url, await testPayload(runtime, config), config.timeoutMs);
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
    // The hook reports an error by its code, never its stack: failing lookups (a file that is not there yet) are
    // part of its every run, and stacks are what makes them cost.
    (Error as { stackTraceLimit?: number }).stackTraceLimit = 0;
    const problem = await runHook(runtime);
    if (problem !== undefined && runtime.env("TELEMHQ_HOOK_DEBUG") === "1") {
      // Debug output goes to stderr only: Claude Code reads hook stdout.
      console.error(`TelemHQ hook: ${problem}`);
    }
    runtime.exit(0);
  }
  try {
    if (name === "deliver") {
      // The detached sender: no terminal, nobody to tell; problems land in status.json. Started by a
      // hook that ignores SIGTERM and SIGHUP (see launcherScript), it must still be easy to stop.
      runtime.exitOnTermination();
      await deliverSpool(runtime, (await loadConfig(runtime)).config, { lockToken: claimTokenIn(args) })
        .catch(() => {});
      code = 0;
    } else if (name === "ping-test") {
      code = await pingTest(runtime);
    } else if (name === "--help" || name === "-h" || name === "help") {
      console.log(usageText(runtime));
      code = 0;
    } else if (Object.hasOwn(COMMANDS, name)) {
      enterCallerFolder(runtime);
      code = await runCommand(runtime, name, COMMANDS[name], args);
    } else {
      throw new CommandError(`Unknown command "${name}". Run with --help to see the commands.`, 2);
    }
  } catch (error) {
    // One line, never a stack, never a token; an unexpected error says what failed, not its text.
    const why = describeError(error);
    const message = error instanceof CommandError
      ? error.message
      : error instanceof HookSkip
      ? `Cannot ${name}: ${error.message}.`
      : why === "ENOSPC" || why === "EDQUOT"
      ? `Cannot ${name}: the disk of "${stateFolderName(runtime)}" is full (${why}). Free some space, then try again.`
      : why === "EROFS"
      ? `Cannot ${name}: "${stateFolderName(runtime)}" is on a read-only disk (EROFS).`
      : `Cannot ${name}: unexpected error (${why}). Run doctor to check the installation.`;
    console.error(terminalSafe(redactSecrets(message), true));
    code = error instanceof CommandError ? error.exitCode : 1;
  }
  runtime.exit(code);
}

/** The state folder, for a message: the one the environment names, else where it would be. */
function stateFolderName(runtime: Runtime): string {
  return stateDirectory((name) => runtime.env(name)) ?? "the state folder";
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
  return (await realpath(entry).catch(() => entry)) === fileUrlPath(self);
}

if (await isMainModule()) {
  await runCommandLine();
}
