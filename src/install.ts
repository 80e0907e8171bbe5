/**
 * `install`: what the TelemHQ guide does by hand, in one command. It copies
 * the hook and its launcher into Claude Code's `hooks/` folder, saves the
 * ping URL in the private state directory (never in a settings file),
 * records what it installed, and merges the launcher's command into a
 * scope's settings file, for the hook events the user's Claude Code knows
 * (an older one would skip the whole file, the user's own hooks too, over
 * one it does not). Plan, check, write, report: nothing is written until
 * everything is checked.
 *
 * Owns: `installCommand`, the managed policies. Uses: input, events, paths, runtime,
 * files, state_dir, ping_url, launch, launcher, cli_args, settings, claude_code,
 * install_record, install_plan, policy, marketplace, policy_file.
 *
 * @module
 */

import { CommandError, parseArgs } from "./cli_args.ts";
import { CLAUDE_CODE_FEATURES, compareVersions, isClaudeCodeVersion, settingsRejection } from "./claude_code.ts";
import { INSTALL_EVENTS } from "./events.ts";
import { readJsonFile, writeFileAtomically } from "./files.ts";
import { readAll, terminalSafe } from "./input.ts";
import {
  eventsFor,
  HOOK_TIMEOUT_S,
  type InstallPlan,
  kept,
  leftOutNotes,
  ourEntry,
  planInstall,
  typedPingUrl,
} from "./install_plan.ts";
import { cachedRuntimeWarning, type InstallRecord, readInstallRecord } from "./install_record.ts";
import { nodeEntrySource, shellWord } from "./launch.ts";
import { launcherScript, POLICY_HOOK_COMMAND, POLICY_LAUNCHER_PATH } from "./launcher.ts";
import { DEFAULT_MARKETPLACE, marketplaceSource } from "./marketplace.ts";
import { redactUrl } from "./ping_url.ts";
import { hostPathStyle, parentFolder } from "./paths.ts";
import type { Runtime } from "./runtime.ts";
import {
  addHooks,
  enabledTelemhqPlugins,
  findOurHooks,
  formatSettings,
  HOOK_FILE_NAMES,
  installedHookFiles,
  NODE_ENTRY_FILE_NAME,
  projectDirectory,
  readSettings,
  removeOurHooks,
  replaceFile,
  scanSettings,
  type Settings,
} from "./settings.ts";
import { enablingPolicy, scanManagedSettings } from "./policy.ts";
import { writePolicy } from "./policy_file.ts";
import { ensureStateDir, STATE_LAYOUT } from "./state_dir.ts";

/** The plugin's id in the policy: TelemHQ's plugin in its marketplace (a mirror keeps the marketplace's name). */
const PLUGIN_ID = "telemhq@telemhq";

/** Refuses, before anything is written, a file whose folder (or nearest existing parent) this user cannot write. */
async function assertWritable(runtime: Runtime, path: string): Promise<void> {
  const fs = await runtime.fs();
  const style = hostPathStyle();
  let dir = parentFolder(path, style) ?? path;
  for (let parent = parentFolder(dir, style); (await runtime.lstat(dir)) === undefined && parent !== undefined;) {
    dir = parent;
    parent = parentFolder(dir, style);
  }
  const writable = await fs.access(dir, 2 /* W_OK */).then(() => true, () => false);
  if (!writable) throw new CommandError(`Cannot install: "${dir}" is not writable, so "${path}" cannot be written.`);
}

/**
 * Makes the state directory safe to use: created 0700, or, when it is this user's own folder that others may
 * only read, made 0700. A folder others may write (a shared one such as /tmp) is refused, never changed.
 */
async function prepareStateDir(runtime: Runtime, stateDir: string): Promise<void> {
  const problem = await ensureStateDir(runtime, stateDir);
  if (problem !== undefined) throw new CommandError(`Cannot install: ${problem}.`);
  const facts = await runtime.lstat(stateDir);
  if (facts !== undefined && (facts.mode & 0o077) !== 0) await (await runtime.fs()).chmod(stateDir, 0o700);
}

/**
 * `install`: copies the hook into Claude Code's `hooks/` folder, saves the
 * ping URL in the private state directory (never in a settings file that may
 * be committed), and merges the hook into the chosen settings file, keeping
 * everything else in it as it was. Running it twice changes nothing more. It
 * plans, checks everything, writes, then reports.
 *
 * @param runtime The runtime adapter.
 * @param args `--url URL|- [--scope user|project|local|managed] [--dir DIR] [--runtime deno|bun|node]
 *   [--tool-activity] [--hash-salt SALT]`.
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * await installCommand(detectRuntime(), ["--url", "https://telemhq.com/ping/TOKEN"]);
 * ```
 */
export async function installCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  if (args.includes("--plugin")) return await printPluginPolicy(runtime, args);
  if (scopeValue(args) === "managed") return await printSettingsPolicy(runtime, args);
  const plan = await planInstall(runtime, args);
  const hookSource = await runtime.readTextFile(runtime.scriptPath!);
  if (hookSource === undefined) throw new CommandError("Cannot install: cannot read this hook's own file.");
  if (plan.settingsPath === undefined) return await printSettingsPolicy(runtime, args);
  const checked = await checkBeforeInstall(runtime, plan, plan.settingsPath);
  await writeInstall(runtime, plan, checked, hookSource);
  console.log(terminalSafe((await installReport(runtime, plan, checked)).join("\n")));
  return 0;
}

/**
 * The plugin route's team policy: the marketplace the lead names (`--marketplace`, TelemHQ's by default), the plugin
 * enabled for everyone, and optionally one URL shared by the team (`--url`) and tool activity. No path of this
 * machine: it works on every machine it is copied to.
 */
async function printPluginPolicy(runtime: Runtime, args: readonly string[]): Promise<number> {
  const values = parseArgs(
    args,
    ["--scope", "--marketplace", "--url", "--claude-version"],
    ["--plugin", "--tool-activity", "--no-tool-activity", "--write"],
  );
  if (values["--scope"] !== "managed") throw new CommandError("Cannot install: --plugin goes with --scope managed.", 2);
  const given = values["--claude-version"];
  if (
    given !== undefined && (!isClaudeCodeVersion(given) || compareVersions(given, CLAUDE_CODE_FEATURES.pluginData) < 0)
  ) {
    throw new CommandError(
      `Cannot print the policy: the plugin needs Claude Code ${CLAUDE_CODE_FEATURES.pluginData} or later on every machine ` +
        `(--claude-version ${given.slice(0, 20)}); use the settings route (install --scope managed) for older ones.`,
      2,
    );
  }
  const source = marketplaceSource(values["--marketplace"] ?? DEFAULT_MARKETPLACE);
  const shared = values["--url"] === undefined ? undefined : await sharedPingUrl(runtime, values["--url"]);
  const toolActivity = values["--tool-activity"] ? true : values["--no-tool-activity"] ? false : undefined;
  const options = {
    ...(shared !== undefined ? { ping_url: shared.href } : {}),
    ...(toolActivity !== undefined ? { tool_activity: toolActivity } : {}),
  };
  const policy = {
    extraKnownMarketplaces: { telemhq: { source } },
    enabledPlugins: { [PLUGIN_ID]: true },
    ...(Object.keys(options).length > 0 ? { pluginConfigs: { [PLUGIN_ID]: { options } } } : {}),
  };
  await emitPolicy(runtime, policy, values["--write"] !== undefined);
  // A folder or file on a shared drive: it should at least be there on the machine the policy is made on.
  const path = "path" in source ? source.path : undefined;
  if (path !== undefined && (await runtime.lstat(path)) === undefined) {
    console.error(
      `Warning: ${path} does not exist here: make sure it does on every machine, or members get no plugin.`,
    );
  }
  console.error(
    [
      "A managed policy goes where Claude Code reads it (install --write puts it there as a drop-in): /etc/claude-code/managed-settings.json " +
      "(Linux), /Library/Application Support/ClaudeCode/managed-settings.json (macOS), " +
      "C:\\Program Files\\ClaudeCode\\managed-settings.json (Windows), or a file beside it in managed-settings.d/.",
      shared === undefined
        ? `Each member then sets their ping URL: printf '{"ping_url":"%s"}' "$URL" | claude plugin configure ${PLUGIN_ID} --values-stdin.`
        : "Warning: the shared ping URL is in a file every user of each machine can read; its token is the team's.",
      "Each member checks their machine with: sh <plugin folder>/hooks/telemhq.sh doctor --ping.",
    ].join("\n"),
  );
  return 0;
}

/** A team's policy: printed for the lead to deploy, or with `--write` written as this machine's drop-in. */
async function emitPolicy(runtime: Runtime, policy: Record<string, unknown>, write: boolean): Promise<void> {
  if (!write) {
    console.log(JSON.stringify(policy, null, 2));
    return;
  }
  const path = await writePolicy(runtime, policy);
  console.log(`Wrote the policy to ${path}: Claude Code reads it at its next start, for every user of this machine.`);
}

/** A team's shared ping URL: `--url URL`, or `--url -` (the first line of stdin, off the process list). */
async function sharedPingUrl(runtime: Runtime, value: string): Promise<URL> {
  const raw = value === "-"
    ? new TextDecoder().decode(await readAll(runtime.stdin(), 64 * 1024)).split("\n")[0]
    : value;
  return typedPingUrl(raw, "print the policy");
}

/** The `--scope` given, however it was written (`--scope X` or `--scope=X`). */
function scopeValue(args: readonly string[]): string | undefined {
  const index = args.findIndex((arg) => arg === "--scope" || arg.startsWith("--scope="));
  if (index === -1) return undefined;
  return args[index].startsWith("--scope=") ? args[index].slice("--scope=".length) : args[index + 1];
}

/**
 * `--scope managed`, the settings route's team policy: every event runs each user's own launcher
 * ({@linkcode POLICY_HOOK_COMMAND}, no path of this machine), for the events every Claude Code of the fleet knows
 * (`--claude-version`: the oldest). Each member then runs install once, which copies the hook, saves their URL and,
 * seeing the policy, writes no settings file of theirs.
 */
async function printSettingsPolicy(runtime: Runtime, args: readonly string[]): Promise<number> {
  if (args.some((arg) => arg === "--url" || arg.startsWith("--url="))) {
    throw new CommandError(
      "Cannot print the policy: a shared URL goes only with the plugin route (install --scope managed --plugin " +
        "--url ...): in a settings policy's env every command Claude Code runs would see it. Members give their own.",
      2,
    );
  }
  const values = parseArgs(args, ["--scope", "--claude-version"], ["--tool-activity", "--no-tool-activity", "--write"]);
  const given = values["--claude-version"];
  if (given !== undefined && !isClaudeCodeVersion(given)) {
    throw new CommandError(
      `Cannot print the policy: --claude-version wants a version such as 2.1.332, not "${given.slice(0, 20)}".`,
      2,
    );
  }
  if (given !== undefined && compareVersions(given, CLAUDE_CODE_FEATURES.hooksRun) < 0) {
    throw new CommandError(
      `Cannot print the policy: Claude Code ${given} runs no hooks (they run from ${CLAUDE_CODE_FEATURES.hooksRun}).`,
      2,
    );
  }
  const claude = given === undefined
    ? { description: "unknown for a file others share (give --claude-version: the oldest your team runs)" }
    : { version: given, description: `${given} (the oldest in the fleet, as --claude-version said)` };
  const wanted = [...INSTALL_EVENTS.always, ...(values["--tool-activity"] ? INSTALL_EVENTS.toolActivity : [])];
  const { events, leftOut } = eventsFor({ claude }, wanted);
  const policy: Settings = {};
  addHooks(policy, events, { type: "command", command: POLICY_HOOK_COMMAND, timeout: HOOK_TIMEOUT_S });
  await emitPolicy(runtime, policy, values["--write"] !== undefined);
  for (const note of leftOutNotes(claude, leftOut)) console.error(terminalSafe(note));
  console.error(
    [
      "The policy runs each user's own ~/.claude/hooks/telemhq.sh, so it holds no path or URL of " +
      "one machine. It goes where Claude Code reads policy (/etc/claude-code/managed-settings.json on Linux, " +
      "/Library/Application Support/ClaudeCode/managed-settings.json on macOS, or a file in managed-settings.d/).",
      "Each member then runs install once with their own URL (bun hook.ts install --url -): it copies the hook, " +
      "saves the URL and, seeing this policy, writes no settings file. Bun, Deno or Node 20+ must be on the PATH " +
      "Claude Code starts with; or roll out the plugin instead (install --scope managed --plugin).",
    ].join("\n"),
  );
  return 0;
}

/** What install checked before writing anything: the settings as they will be, and the options in force. */
interface CheckedInstall {
  settingsPath: string;
  /** The settings file's text now (undefined: it does not exist yet), and its new text. */
  text?: string;
  updated: string;
  previous?: InstallRecord;
  toolActivity: boolean;
  events: readonly (readonly [string, string?])[];
  leftOut: readonly string[];
  salt?: string;
  member?: string;
  /** The managed settings file that runs the hook for this user (then the user's settings get no entry). */
  policy?: string;
}

/**
 * Everything is checked before anything is written: the files can be written, the options given before are kept
 * (a second install after a 401 keeps tool activity and the salt), and the user's Claude Code still loads the
 * settings file with our entries in it.
 */
async function checkBeforeInstall(runtime: Runtime, plan: InstallPlan, settingsPath: string): Promise<CheckedInstall> {
  const { settings, text } = await readSettings(settingsPath);
  for (const path of [plan.record.hook_file, plan.record.launcher!, `${plan.stateDir}/${STATE_LAYOUT.config}`]) {
    await assertWritable(runtime, path);
  }
  await assertWritable(runtime, settingsPath);
  const hookFiles = installedHookFiles(plan.claudeDir);
  const previous = await readInstallRecord(runtime, plan.stateDir);
  const toolActivity = plan.toolActivity ?? previous?.tool_activity ??
    findOurHooks(settings, hookFiles).some((hook) =>
      INSTALL_EVENTS.toolActivity.some(([event]) => event === hook.event)
    );
  const { events, leftOut } = eventsFor(plan, [...plan.events, ...(toolActivity ? INSTALL_EVENTS.toolActivity : [])]);
  const saved = await readJsonFile(await runtime.fs(), `${plan.stateDir}/${STATE_LAYOUT.config}`) as
    | { hash_salt?: unknown; member?: unknown }
    | undefined;
  removeOurHooks(settings, hookFiles);
  // A team's policy that runs each user's own launcher wires the events for everyone: this user's file gets none.
  const policy = plan.scope === "user" ? await policyRunningLauncher(runtime, plan.claudeDir) : undefined;
  if (policy === undefined) addHooks(settings, events, ourEntry(plan));
  // Up to 2.1.100 Claude Code skips a whole settings file over one entry it does not know: the user's hooks too.
  const rejection = plan.claude.version === undefined ? undefined : settingsRejection(settings, plan.claude.version);
  if (rejection !== undefined) {
    throw new CommandError(
      `Cannot install: Claude Code ${plan.claude.version} would skip all of ${settingsPath} (every hook, env ` +
        `and permission in it): ${rejection}. Fix or remove that entry, then run install again; nothing was changed.`,
    );
  }
  return {
    settingsPath,
    text,
    updated: formatSettings(settings, text),
    previous,
    toolActivity,
    events,
    leftOut,
    salt: kept(plan.hashSalt, saved?.hash_salt),
    member: kept(plan.member, saved?.member),
    policy,
  };
}

/**
 * The managed settings file that runs each user's own launcher (a team's policy from `--scope managed`), if any.
 * A policy that cannot be read is refused: it may run the hook, and a second route would run every event twice.
 */
async function policyRunningLauncher(runtime: Runtime, claudeDir: string): Promise<string | undefined> {
  const managed = await scanManagedSettings(await runtime.fs(), claudeDir);
  const broken = managed.find((file) => file.error !== undefined);
  if (broken !== undefined) {
    throw new CommandError(
      `Cannot install: the managed settings file "${broken.path}" cannot be read (doctor says why), and your ` +
        `organisation's policy may run the hook already. Ask whoever manages this machine to fix it, then run ` +
        `install again; nothing was changed.`,
    );
  }
  return managed.find((file) => file.hooks.some((hook) => hook.hookFile === POLICY_LAUNCHER_PATH))?.path;
}

/** Writes the state directory, the hook and its launcher, the saved URL, the install record, then the settings. */
async function writeInstall(runtime: Runtime, plan: InstallPlan, checked: CheckedInstall, hookSource: string) {
  await prepareStateDir(runtime, plan.stateDir);
  const fs = await runtime.fs();
  await fs.mkdir(`${plan.claudeDir}/hooks`, { recursive: true, mode: 0o700 });
  await fs.chmod(`${plan.claudeDir}/hooks`, 0o700);
  await replaceFile(plan.record.hook_file, plan.javascript ?? hookSource, { mode: 0o600, forceMode: true });
  if (plan.record.runtime === "node") {
    // Node starts the hook through a small file that gives it a private compile cache (about 10 ms per event).
    const entry = `${plan.claudeDir}/hooks/${NODE_ENTRY_FILE_NAME}`;
    await replaceFile(entry, nodeEntrySource(HOOK_FILE_NAMES.mjs), { mode: 0o600, forceMode: true });
  }
  const installed = { kind: plan.record.runtime, path: plan.record.runtime_path };
  await replaceFile(plan.record.launcher!, launcherScript(installed), { mode: 0o700, forceMode: true });
  const saved = {
    ping_url: plan.url.href,
    ...(checked.salt !== undefined ? { hash_salt: checked.salt } : {}),
    ...(checked.member !== undefined ? { member: checked.member } : {}),
  };
  await writeFileAtomically(fs, `${plan.stateDir}/${STATE_LAYOUT.config}`, JSON.stringify(saved) + "\n", 0o600);
  // Under a team's policy, a settings file that does not exist stays so: nothing of ours would be in it.
  const writeSettings = checked.updated !== checked.text &&
    !(checked.text === undefined && checked.policy !== undefined);
  const created = new Set(checked.previous?.created_settings ?? []);
  if (checked.text === undefined && writeSettings) created.add(checked.settingsPath);
  const record: InstallRecord = {
    ...plan.record,
    created_settings: [...created].sort(),
    tool_activity: checked.toolActivity,
    ...(plan.claudeVersionGiven ? { claude_version: plan.claude.version } : {}),
  };
  await writeFileAtomically(fs, `${plan.stateDir}/${STATE_LAYOUT.install}`, JSON.stringify(record, null, 2) + "\n");
  if (writeSettings) {
    await replaceFile(checked.settingsPath, checked.updated, { backup: checked.text, mode: 0o644 });
  }
}

/** What install did, with the options in force, and what the user should know about the other scopes. */
async function installReport(runtime: Runtime, plan: InstallPlan, checked: CheckedInstall): Promise<string[]> {
  const { settingsPath, salt, member } = checked;
  const lines = [
    `Installed the TelemHQ hook for Claude Code.`,
    `  hook:      ${plan.record.hook_file}, started by ${plan.record.launcher}`,
    `  runtime:   ${plan.record.runtime_path}`,
    checked.policy === undefined
      ? `  settings:  ${settingsPath} (${checked.events.map(([event]) => event).join(", ")})`
      : `  settings:  none changed: your organisation's policy (${checked.policy}) runs the hook`,
    `  Claude Code: ${plan.claude.description}`,
    `  ping URL:  ${redactUrl(plan.url)}, saved in ${plan.stateDir}/${STATE_LAYOUT.config}`,
    `  options:   tool activity ${
      checked.policy !== undefined ? "as the policy wires it" : checked.toolActivity ? "on" : "off (--tool-activity)"
    }; hash salt ${salt !== undefined ? "set" : "none (--hash-salt)"}; member ${
      member !== undefined ? `"${member}"` : "none (--member)"
    }`,
    ...leftOutNotes(plan.claude, checked.leftOut),
  ];
  const cached = cachedRuntimeWarning(plan.record.runtime_path);
  if (cached !== undefined) lines.push(`Warning: ${cached}`);
  if (plan.scope === "project") {
    lines.push(
      `Note: ${settingsPath} is shared through the repository, and the hook command in it holds this ` +
        `machine's absolute paths; teammates install their own, or use --scope local.`,
    );
  }
  const root = settingsPath.slice(0, settingsPath.lastIndexOf("/.claude/"));
  if (plan.scope !== "user" && root !== runtime.cwd()) {
    lines.push(`Note: Claude Code reads this file when it is started in ${root} (not in a folder below it).`);
  }
  // Claude Code runs an identical command once, however many files name it; two different ones, twice.
  const scanned = await scanSettings(plan.claudeDir, await projectDirectory(runtime, undefined));
  const managed = await scanManagedSettings(await runtime.fs(), plan.claudeDir);
  for (const plugin of enabledTelemhqPlugins([...scanned, ...managed])) {
    lines.push(
      `Warning: the TelemHQ plugin (${plugin}) is enabled too: each event is still sent once (one ping_id), but ` +
        (enablingPolicy(managed, plugin) !== undefined
          ? `runs two hooks. Your organisation's policy enables the plugin: run uninstall to remove this install.`
          : `runs two hooks. Keep one: claude plugin uninstall ${plugin}, or uninstall here.`),
    );
  }
  for (
    const file of scanned.filter((file) =>
      file.path !== settingsPath && file.hooks.some((hook) => hook.command !== plan.command)
    )
  ) {
    lines.push(
      `Warning: ${file.path} runs another TelemHQ hook command; Claude Code would send every ping twice. ` +
        `Remove one: uninstall --scope ${file.scope}, or install there again.`,
    );
  }
  lines.push(`Check it with: /bin/sh ${shellWord(plan.record.launcher!)} doctor --ping`);
  return lines;
}
