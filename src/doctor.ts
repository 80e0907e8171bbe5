/**
 * `doctor`: checks, in plain words, everything a ping needs: the URL (token
 * redacted) and whether the installed hook may reach it, the settings files
 * Claude Code merges (our hook wired once per event, as `install` wrote it),
 * the hook file and the runtime `install` recorded (never a program named in a
 * settings file), the state directory and its modes, the spool, the pings the
 * tracker refused, and the last delivery; `--ping` sends a test ping through
 * the installed hook, with its permissions.
 *
 * Owns: `doctorCommand`, `testPayload`. Uses: input, paths, payload, runtime, runtime_detect, state_dir, config,
 * ping_url, launcher, lock, spool, send, attempts, cli_args, install_record, settings,
 * fields, claude_code, events, policy.
 *
 * @module
 */

import { parseArgs, withoutStop } from "./cli_args.ts";
import { type HookConfig, loadConfig } from "./config.ts";
import { claudeDirectory } from "./state_dir.ts";
import { describeError, terminalSafe } from "./input.ts";
import { cachedRuntimeWarning, type InstallRecord, readInstallRecord } from "./install_record.ts";
import { enabledTelemhqPlugins, projectDirectory, type ScannedSettings, scanSettings } from "./settings.ts";
import { enablingPolicy, pluginPingUrl, scanManagedSettings } from "./policy.ts";
import {
  type ClaudeCodeInUse,
  claudeCodeInUse,
  findGitBash,
  ignoredEvents,
  knowsEvent,
  settingsRejection,
} from "./claude_code.ts";
import { hostPlatform } from "./paths.ts";
import { INSTALL_EVENTS } from "./events.ts";
import { launcherCommand, launcherScript, POLICY_LAUNCHER_PATH } from "./launcher.ts";
import { buildPayload } from "./payload.ts";
import type { Payload } from "./fields.ts";
import { parsePingUrl, redactUrl } from "./ping_url.ts";
import type { Runtime } from "./runtime.ts";
import { runQuietly } from "./runtime_detect.ts";
import { sendPing, type SendResult } from "./send.ts";
import { senderIsRunning } from "./lock.ts";
import { readStatus } from "./attempts.ts";
import { Spool } from "./spool.ts";
import { STATE_LAYOUT } from "./state_dir.ts";

/** doctor's report: a line per check; problems are counted for the exit code. */
class Report {
  problems = 0;

  ok(text: string): void {
    console.log(`ok       ${terminalSafe(text, true)}`);
  }

  note(text: string): void {
    console.log(`note     ${terminalSafe(text, true)}`);
  }

  problem(text: string): void {
    this.problems++;
    console.log(`PROBLEM  ${terminalSafe(text, true)}`);
  }
}

/** What to do about a status the tracker refused pings with. */
function refusalAdvice(status: number | undefined): string {
  if (status === 401 || status === 403 || status === 404) {
    return "the tracker refused the token: check the ping URL, then run install --url again and flush --retry-failed";
  }
  return "check the ping URL and the tracker, then run flush --retry-failed";
}

/** The hosts Deno's `--allow-net=` in a command line allows, or undefined when it allows any (or is not Deno's). */
function allowedHosts(argv: readonly string[]): string[] | undefined {
  const flag = argv.find((arg) => arg.startsWith("--allow-net="));
  return flag === undefined ? undefined : flag.slice("--allow-net=".length).split(",");
}

/**
 * `doctor`: checks everything a ping needs and says what to do about each
 * problem. `--ping` also sends a test ping through the installed hook.
 *
 * @param runtime The runtime adapter.
 * @param args `[--ping]`.
 * @returns 0 when all is well, 1 otherwise.
 *
 * @example
 * ```ts ignore
 * await doctorCommand(detectRuntime(), ["--ping"]);
 * ```
 */
export async function doctorCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  const values = parseArgs(args, [], ["--ping"]);
  const { config, state } = await loadConfig(runtime);
  const claudeDir = claudeDirectory((name) => runtime.env(name));
  const report = new Report();
  if (claudeDir === undefined || config.stateDir === undefined) {
    report.problem(
      state.problem !== undefined
        ? `${state.problem}: no settings or state directory to check.`
        : "HOME is not set: no settings or state directory to check.",
    );
    return finish(report);
  }
  const stateDir = config.stateDir;
  if (state.problem !== undefined) {
    report.problem(`${capitalize(state.problem)}. Nothing in it is used until it is fixed.`);
    return finish(report);
  }
  const record = await readInstallRecord(runtime, stateDir);
  const project = await projectDirectory(runtime, undefined);
  // Every file Claude Code merges, an organisation's policy last (its keys win).
  const scanned = [
    ...await scanSettings(claudeDir, project),
    ...await scanManagedSettings(await runtime.fs(), claudeDir),
  ];
  const plugins = enabledTelemhqPlugins(scanned);
  const url = await checkUrl(runtime, report, config, record, { claudeDir, scanned, plugins });
  const found = await claudeCodeInUse(runtime, claudeDir);
  // No claude found here (an IDE's own, a fleet's pinned one): the version install was told, if any.
  const claude = found.version === undefined && record?.claude_version !== undefined
    ? { version: record.claude_version, description: `${record.claude_version} (as install's --claude-version said)` }
    : found;
  if (project !== undefined) report.note(`Project settings are read from ${project}, its repository's root.`);
  checkSettings(report, scanned, record, claude);
  checkClaudeCode(report, scanned, claude);
  if (hostPlatform() === "win32") await checkGitBash(runtime, report);
  await checkInstall(runtime, report, record, url, plugins.length > 0);
  await checkStateFiles(runtime, report, stateDir);
  await checkDelivery(runtime, report, config, stateDir);
  if (values["--ping"] && url !== undefined) await testPing(runtime, report, url, record, config);
  else if (values["--ping"]) {
    // --ping asks for proof: without a test ping sent, doctor cannot say all is good.
    report.problem("No test ping sent: no ping URL is known here (see above).");
  }
  return finish(report);
}

function finish(report: Report): number {
  const problems = report.problems;
  console.log(problems === 0 ? "\nAll good." : `\n${problems} problem${problems === 1 ? "" : "s"} found.`);
  return problems === 0 ? 0 : 1;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

async function checkUrl(
  runtime: Runtime,
  report: Report,
  config: HookConfig,
  record: InstallRecord | undefined,
  claude: { claudeDir: string; scanned: readonly ScannedSettings[]; plugins: readonly string[] },
): Promise<URL | undefined> {
  if (config.pingUrl === undefined && claude.plugins.length > 0) {
    return await checkPluginUrl(runtime, report, claude.claudeDir, claude.scanned, claude.plugins[0]);
  }
  if (config.pingUrl === undefined) {
    const brokenPolicy = claude.scanned.some((file) => file.scope === "managed" && file.error !== undefined);
    report.problem(
      brokenPolicy
        ? "No ping URL found: a managed settings file cannot be read (below), and it may enable the plugin that " +
          "holds the URL: have it fixed before you install anything."
        : "No ping URL: run install --url ..., or set TELEMHQ_PING_URL where Claude Code starts.",
    );
    return undefined;
  }
  let url: URL;
  try {
    url = parsePingUrl(config.pingUrl);
  } catch (error) {
    report.problem(`The ping URL (from ${config.pingUrlSource}) is refused: ${(error as Error).message}.`);
    return undefined;
  }
  report.ok(`Ping URL ${redactUrl(url)} (from ${config.pingUrlSource}).`);
  // Without a launcher (an older install), the recorded command is the hook's: its permissions are fixed.
  const hosts = record === undefined || record.launcher !== undefined ? undefined : allowedHosts(record.hook_argv);
  if (hosts !== undefined && !hosts.includes(url.host)) report.problem(hostProblem(hosts, url));
  return url;
}

/** The plugin's ping_url option, where Claude Code keeps it: checked, shown redacted. */
async function checkPluginUrl(
  runtime: Runtime,
  report: Report,
  claudeDir: string,
  scanned: readonly ScannedSettings[],
  plugin: string,
): Promise<URL | undefined> {
  const found = await pluginPingUrl(runtime, claudeDir, scanned, plugin);
  if (found.unseen !== undefined) {
    report.note(
      `The ping URL is the plugin's ping_url option, kept in ${found.unseen}: claude plugin configure ${plugin} ` +
        `shows whether it is set.`,
    );
    return undefined;
  }
  if (found.value === undefined) {
    report.problem(
      `The TelemHQ plugin (${plugin}) has no ping URL: set its ping_url option (printf '{"ping_url":"%s"}' "$URL" | ` +
        `claude plugin configure ${plugin} --values-stdin), or ask whoever manages your machine.`,
    );
    return undefined;
  }
  let url: URL;
  try {
    url = parsePingUrl(found.value);
  } catch (error) {
    report.problem(`The plugin's ping URL (from ${found.source}) is refused: ${(error as Error).message}.`);
    return undefined;
  }
  report.ok(`Ping URL ${redactUrl(url)} (the plugin's ping_url option, from ${found.source}).`);
  return url;
}

function hostProblem(hosts: readonly string[], url: URL): string {
  return `The installed Deno hook may only reach ${hosts.join(", ")}, but the ping URL in force is for ${url.host}: ` +
    `run install again with that URL.`;
}

function checkSettings(
  report: Report,
  scanned: readonly ScannedSettings[],
  record: InstallRecord | undefined,
  claude: ClaudeCodeInUse,
): void {
  const wired = new Map<string, { paths: string[]; commands: Set<string> }>();
  const launcher = record === undefined ? undefined : recordedLauncher(record);
  const expected = launcher === undefined ? undefined : launcherCommand(launcher[1], launcher.slice(2));
  let unreadable = false;
  for (const file of scanned) {
    if (file.error !== undefined) {
      unreadable = true;
      report.problem(file.error);
    }
    // A file this Claude Code skips whole runs nothing: its problem is reported with the version below.
    if (claude.version !== undefined && settingsRejection(file.settings, claude.version) !== undefined) continue;
    for (const hook of file.hooks) {
      const seen = wired.get(hook.event) ?? { paths: [], commands: new Set<string>() };
      seen.paths.push(file.path);
      seen.commands.add(hook.command);
      wired.set(hook.event, seen);
      // A team's policy runs each user's launcher by its own command (see POLICY_HOOK_COMMAND).
      const policy = file.scope === "managed" && hook.hookFile === POLICY_LAUNCHER_PATH;
      if (expected !== undefined && hook.command !== expected && !policy) {
        report.problem(
          `${file.path} runs the hook on ${hook.event} with another command than install wrote: run install again.`,
        );
      }
    }
  }
  const plugins = enabledTelemhqPlugins(scanned);
  for (const plugin of plugins) {
    const policy = enablingPolicy(scanned, plugin);
    report.ok(
      policy === undefined
        ? `The TelemHQ plugin (${plugin}) is enabled.`
        : `The TelemHQ plugin (${plugin}) is enabled by your organisation's policy (${policy}).`,
    );
  }
  if (plugins.length > 0 && wired.size > 0) {
    report.note(
      `Both the TelemHQ plugin (${plugins.join(", ")}) and ${
        [...new Set([...wired.values()].flatMap((seen) => seen.paths))].join(", ")
      } run the hook: each event is spooled and sent once (one ping_id), but runs twice. Keep one: ` +
        (enablingPolicy(scanned, plugins[0]) !== undefined
          ? `your organisation's policy enables the plugin, so run uninstall.`
          : `run uninstall, or claude plugin uninstall ${plugins[0]}.`),
    );
  }
  if (wired.size === 0 && plugins.length === 0 && !unreadable) {
    report.problem("No settings file runs the hook, and the TelemHQ plugin is not enabled: run install.");
  }
  for (const [event, { paths, commands }] of wired) {
    if (paths.length === 1) report.ok(`${event} runs the hook (${paths[0]}).`);
    else if (commands.size === 1) {
      // Claude Code runs identical commands from merged files once.
      report.ok(`${event} runs the hook once (the same command in ${paths.join(", ")}).`);
    } else {
      report.problem(
        `${event} runs the hook ${commands.size} times, with different commands (${
          paths.join(", ")
        }): Claude Code merges these files; run uninstall for all but one scope.`,
      );
    }
  }
}

/**
 * Whether the user's Claude Code loads each settings file (up to 2.1.100 it
 * skips a whole file over one hook event or entry it does not know), and the
 * events it fires that install would wire now (after an upgrade).
 */
function checkClaudeCode(report: Report, scanned: readonly ScannedSettings[], claude: ClaudeCodeInUse): void {
  const { version, description } = claude;
  if (version === undefined) {
    report.note(`Claude Code ${description}: which hook events it knows is not checked.`);
    return;
  }
  report.ok(`Claude Code ${description}.`);
  for (const file of scanned) {
    if (file.settings === undefined) continue;
    const rejection = settingsRejection(file.settings, version);
    if (rejection !== undefined) {
      report.problem(
        `Claude Code ${version} skips all of ${file.path} (every hook, env and permission in it): ${rejection}. ` +
          `Remove that entry; if it is the TelemHQ hook's, run install again.`,
      );
      continue;
    }
    const ignored = ignoredEvents(file.settings, version);
    if (ignored.length > 0) {
      report.note(`Claude Code ${version} ignores ${ignored.join(", ")} in ${file.path}: it does not know them.`);
    }
  }
  const wired = new Set(scanned.flatMap((file) => file.hooks.map((hook) => hook.event)));
  if (wired.size === 0) return;
  const toolActivity = INSTALL_EVENTS.toolActivity.some(([event]) => wired.has(event));
  const missing = [...INSTALL_EVENTS.always, ...(toolActivity ? INSTALL_EVENTS.toolActivity : [])]
    .map(([event]) => event)
    .filter((event) => knowsEvent(event, version) && !wired.has(event));
  if (missing.length > 0) {
    report.note(
      `Claude Code ${version} also fires ${missing.join(", ")}: run install again to wire ${
        missing.length === 1 ? "it" : "them"
      }.`,
    );
  }
}

/** On Windows: the Git Bash Claude Code runs hooks in; without it, PowerShell runs them and this hook never runs. */
async function checkGitBash(runtime: Runtime, report: Report): Promise<void> {
  const bash = await findGitBash(runtime);
  if (bash !== undefined) report.ok(`Git Bash at ${bash}: Claude Code runs the hook's command there.`);
  else {
    report.problem(
      "No Git Bash found: Claude Code runs hooks in PowerShell without it, which cannot run this hook. " +
        "Install Git for Windows, or set CLAUDE_CODE_GIT_BASH_PATH to its bash.exe.",
    );
  }
}

/** The launcher and its options as install recorded them, when it wrote one (older versions did not). */
function recordedLauncher(record: InstallRecord): string[] | undefined {
  return record.launcher === undefined || record.launcher_args === undefined
    ? undefined
    : ["/bin/sh", record.launcher, ...record.launcher_args];
}

async function checkInstall(
  runtime: Runtime,
  report: Report,
  record: InstallRecord | undefined,
  url: URL | undefined,
  pluginEnabled: boolean,
): Promise<void> {
  if (record === undefined && pluginEnabled) {
    // The plugin's hooks.json runs its own launcher: an install would only add a second route.
    report.note(
      "No install record: the plugin's launcher runs the hook, under the first of Bun, Deno or Node 20+ it finds.",
    );
    return;
  }
  if (record === undefined) {
    report.note("No install record: the runtime and hook file are not checked. Run install to record them.");
    return;
  }
  if (await runtime.lstat(record.hook_file) === undefined) {
    report.problem(`Hook file ${record.hook_file} is missing: run install again.`);
    return;
  }
  report.ok(`Hook file ${record.hook_file} is there.`);
  const launcher = recordedLauncher(record);
  if (launcher === undefined) {
    report.problem("The hook was installed by an older version, without its launcher: run install again.");
    return;
  }
  const installed = { kind: record.runtime, path: record.runtime_path };
  if ((await runtime.readTextFile(record.launcher!)) !== launcherScript(installed)) {
    report.problem(`The launcher ${record.launcher} is missing or not this version's: run install again.`);
    return;
  }
  // Only what install recorded is run, never a word from a settings file; the launcher picks the runtime.
  const argv = (await runQuietly([...launcher, "--print-argv"], 10_000))?.stdout.split("\n").filter(Boolean) ?? [];
  if (argv.length === 0) {
    report.problem(
      `No runtime runs the hook: ${record.runtime_path} is gone and no other was found. Install Bun, Deno or ` +
        `Node 20+, then run install again.`,
    );
    return;
  }
  const version = await runQuietly([argv[0], "--version"], 10_000);
  const loads = await runQuietly([...launcher, "--help"], 20_000);
  if (version?.code !== 0 || loads?.code !== 0) {
    report.problem(`The hook does not start with ${argv[0]}: run install again.`);
    return;
  }
  // The launcher narrows Deno's network to the URL in force where Claude Code runs it, else the one install saved.
  const hosts = allowedHosts(argv);
  if (url !== undefined && hosts !== undefined && !hosts.includes(url.host)) report.problem(hostProblem(hosts, url));
  const runs = `runs the hook (${version.stdout.split("\n")[0].trim()})`;
  const recorded = await runtime.realpath(record.runtime_path);
  if (recorded === undefined) {
    report.problem(
      `The runtime install recorded, ${record.runtime_path}, is gone; the hook runs under ${argv[0]} instead, ` +
        `which ${runs}. Run install again to record it.`,
    );
  } else {
    report.ok(`Runtime ${record.runtime_path} ${runs}.`);
    const cached = cachedRuntimeWarning(record.runtime_path);
    if (cached !== undefined) report.note(`But ${cached}`);
  }
}

async function checkStateFiles(runtime: Runtime, report: Report, stateDir: string): Promise<void> {
  const fs = await runtime.fs();
  const facts = await runtime.lstat(stateDir);
  if (facts !== undefined && (facts.mode & 0o077) !== 0) {
    report.problem(
      `State directory ${stateDir} can be read by other users (mode ${(facts.mode & 0o777).toString(8)}): ` +
        `run chmod 700 on it, or run install again.`,
    );
  }
  const config = await runtime.lstat(`${stateDir}/${STATE_LAYOUT.config}`);
  if (config !== undefined && (config.mode & 0o077) !== 0) {
    report.problem(
      `${stateDir}/${STATE_LAYOUT.config} holds the token and can be read by other users (mode ${
        (config.mode & 0o777).toString(8)
      }): run chmod 600 on it, or run install again.`,
    );
  }
  if (facts === undefined) {
    report.note(`State directory ${stateDir} does not exist yet: the first ping creates it.`);
    return;
  }
  const probe = `${stateDir}/.doctor-${crypto.randomUUID()}`;
  try {
    await fs.writeFile(probe, "", { flag: "wx", mode: 0o600 });
    await fs.rm(probe);
    report.ok(`State directory ${stateDir} is private and writable.`);
  } catch (error) {
    report.problem(`State directory ${stateDir} is not writable (${describeError(error)}): pings cannot be spooled.`);
  }
}

async function checkDelivery(runtime: Runtime, report: Report, config: HookConfig, stateDir: string): Promise<void> {
  const fs = await runtime.fs();
  const spool = new Spool(fs, stateDir, config);
  const spooled = (await fs.readdir(spool.dir).catch(() => [] as string[])).filter((name) => name.endsWith(".json"));
  let oldest = Infinity;
  for (const name of spooled) {
    oldest = Math.min(oldest, await fs.lstat(`${spool.dir}/${name}`).then((stat) => stat.mtimeMs, () => Infinity));
  }
  const waiting = spooled.length === 1 ? "1 ping waits" : `${spooled.length} pings wait`;
  if (spooled.length === 0) report.ok("No ping waits in the spool.");
  else if (!await senderIsRunning(runtime, stateDir)) {
    report.problem(`${waiting} in the spool and no sender is running: run flush to send them and see why.`);
  } else if (Date.now() - oldest > 10 * 60_000) {
    report.problem(
      `${waiting} in the spool, the oldest for ${
        Math.round((Date.now() - oldest) / 60_000)
      } min: run flush to see why.`,
    );
  } else {
    const status = await readStatus(runtime, stateDir);
    const failing = status.last_error !== undefined &&
      (status.last_delivered_at === undefined || status.last_error.at > status.last_delivered_at);
    report.ok(
      failing
        ? `${waiting} in the spool: the sender retries ${
          spooled.length === 1 ? "it" : "them"
        } (the last error is below).`
        : `${waiting} in the spool: the sender is delivering.`,
    );
  }
  const failed = await spool.failedEntries();
  if (failed.length > 0) {
    const latest = failed.map((item) => item.entry.failed).filter((why) => why !== undefined)
      .sort((a, b) => (a.at < b.at ? 1 : -1))[0];
    report.problem(
      `${failed.length} ping${failed.length === 1 ? " was" : "s were"} refused or set aside (latest: ${
        withoutStop(latest?.reason ?? "unknown")
      }): ${refusalAdvice(latest?.status)}.`,
    );
  }
  const status = await readStatus(runtime, stateDir);
  if (
    status.last_error !== undefined &&
    (status.last_delivered_at === undefined || status.last_error.at > status.last_delivered_at)
  ) {
    report.problem(`Last delivery failed at ${status.last_error.at}: ${withoutStop(status.last_error.reason)}.`);
  } else if (status.last_delivered_at !== undefined) {
    report.ok(
      `Last delivery at ${status.last_delivered_at}; ${status.delivered} delivered, ${status.rejected} refused in all.`,
    );
  }
}

/**
 * A test ping that names no real project or session: sent from "/" with a
 * fresh session id, so the tracker's dashboards are not touched by it.
 *
 * @param runtime The runtime adapter.
 * @param config The hook's configuration (its hash salt).
 * @returns The payload.
 *
 * @example
 * ```ts ignore
 * const payload = await testPayload(detectRuntime(), await loadConfig(detectRuntime()));
 * ```
 */
export async function testPayload(runtime: Runtime, config: HookConfig): Promise<Payload> {
  return await buildPayload(
    { hook_event_name: "DoctorPing", session_id: crypto.randomUUID(), cwd: "/" },
    { fallbackCwd: "/", runtime: runtime.name, sha256Hex: runtime.sha256Hex, hashSalt: config.hashSalt },
  );
}

/** Sends a test ping through the installed hook (its runtime, its permissions), or from here without a record. */
async function testPing(
  runtime: Runtime,
  report: Report,
  url: URL,
  record: InstallRecord | undefined,
  config: HookConfig,
): Promise<void> {
  let result: SendResult | undefined;
  if (record !== undefined) {
    const run = await runQuietly([...(recordedLauncher(record) ?? record.hook_argv), "ping-test"], 30_000);
    try {
      result = JSON.parse(run?.stdout.trim().split("\n").pop() ?? "") as SendResult;
    } catch {
      report.problem(`The installed hook could not send a test ping: run install again.`);
      return;
    }
  } else {
    result = await sendPing(url, await testPayload(runtime, config), config.timeoutMs);
  }
  if (result.outcome === "delivered") {
    report.ok(
      `Test ping accepted: ${redactUrl(url)} answered HTTP ${result.status}. It is marked event "DoctorPing", ` +
        `with a session id of its own: a tracker can tell it from real work.`,
    );
  } else {
    report.problem(
      `Test ping not accepted: ${withoutStop(result.reason)}${
        result.outcome === "rejected" ? `; ${refusalAdvice(result.status)}` : ""
      }.`,
    );
  }
}
