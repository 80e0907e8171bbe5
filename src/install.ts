/**
 * `install` and `uninstall`: what the TelemHQ guide does by hand, in one
 * command. `install` copies the hook into Claude Code's `hooks/` folder, saves
 * the ping URL in the private state directory (never in a settings file),
 * records what it installed, and merges the shell fast path into a scope's
 * settings file, for the hook events the user's Claude Code knows (an older
 * one would skip the whole file, the user's own hooks too, over one it does
 * not); `uninstall` removes exactly that, and with the last scope
 * everything the hook kept (the saved URL, the spool, the journal).
 *
 * Owns: the install plan. Uses: input, events,
 * runtime, files, state_dir, config, ping_url, launch, launcher, cli_args, settings, claude_code, fields,
 * install_record.
 *
 * @module
 */

import { CommandError, parseArgs } from "./cli_args.ts";
import { claudeDirectory, loadConfig, stateDirectory, stateDirSettingProblem } from "./config.ts";
import { INSTALL_EVENTS } from "./events.ts";
import { MEMBER_PATTERN } from "./fields.ts";
import {
  CLAUDE_CODE_FEATURES,
  type ClaudeCodeInUse,
  claudeCodeInUse,
  compareVersions,
  HOOK_EVENT_SINCE,
  isClaudeCodeVersion,
  knowsEvent,
  settingsRejection,
} from "./claude_code.ts";
import { denoFlagProblem, findRuntimeBinary, hookArgv, shellWord } from "./launch.ts";
import { LAUNCHER_FILE_NAME, launcherArgs, launcherCommand, launcherScript } from "./launcher.ts";
import { parsePingUrl, redactUrl } from "./ping_url.ts";
import { readAll, terminalSafe } from "./input.ts";
import { runQuietly, type Runtime, type RuntimeKind } from "./runtime.ts";
import { readJsonFile, writeFileAtomically } from "./files.ts";
import { type InstallRecord, readInstallRecord } from "./install_record.ts";
import {
  addHooks,
  enabledTelemhqPlugins,
  findOurHooks,
  formatSettings,
  HOOK_FILE_NAMES,
  INSTALL_SCOPES,
  installedHookFiles,
  type InstallScope,
  projectDirectory,
  readSettings,
  removeOurHooks,
  replaceFile,
  scanSettings,
  scopeOf,
  scopeSettingsPath,
  type Settings,
  SETTINGS_SCOPES,
} from "./settings.ts";
import { ensureStateDir, parentsProblem, STATE_LAYOUT, stateDirProblem } from "./state_dir.ts";

/** Claude Code's time limit for our hook, in seconds (the fast path takes milliseconds). */
const HOOK_TIMEOUT_S = 10;

/** The first Node that runs TypeScript as it is (type stripping on by default). */
const NODE_RUNS_TS = [22, 18] as const;

interface InstallPlan {
  scope: InstallScope;
  record: InstallRecord;
  url: URL;
  /** The salt to save; null: none (`--no-hash-salt`); undefined: keep the saved one. */
  hashSalt?: string | null;
  /** The member label to save; null: none (`--no-member`); undefined: keep the saved one. */
  member?: string | null;
  /** Whether to wire tool activity; undefined: as the scope's settings had it. */
  toolActivity?: boolean;
  claudeDir: string;
  stateDir: string;
  settingsPath?: string;
  command: string;
  events: readonly (readonly [string, string?])[];
  /** The Claude Code the hooks are wired for. */
  claude: ClaudeCodeInUse;
  /** Whether `--claude-version` named it. */
  claudeVersionGiven: boolean;
}

/** Whether a Node binary runs TypeScript files as they are (22.18 or later). */
async function nodeRunsTypeScript(nodePath: string): Promise<boolean> {
  const version = (await runQuietly([nodePath, "--version"], 10_000))?.stdout.match(/^v(\d+)\.(\d+)/);
  if (version === null || version === undefined) return false;
  const [major, minor] = [Number(version[1]), Number(version[2])];
  return major > NODE_RUNS_TS[0] || (major === NODE_RUNS_TS[0] && minor >= NODE_RUNS_TS[1]);
}

/** The ping URL: `--url URL`, `--url -` (the first line of stdin, off the process list), or TELEMHQ_PING_URL. */
async function pingUrlArgument(runtime: Runtime, value: string | undefined): Promise<URL> {
  // Without --url: the environment's, else the one saved before (a re-run after an upgrade keeps it).
  const saved = await loadConfig(runtime);
  let raw = value ?? runtime.env("TELEMHQ_PING_URL") ??
    (saved.pingUrlSource === "config file" ? saved.pingUrl : undefined);
  if (value === "-") raw = new TextDecoder().decode(await readAll(runtime.stdin(), 64 * 1024)).split("\n")[0];
  if (raw === undefined || raw.trim() === "") {
    throw new CommandError(
      "Cannot install: no ping URL. Give --url with your tracker's ping URL, --url - to read it from stdin, " +
        "or set TELEMHQ_PING_URL.",
      2,
    );
  }
  let url: URL;
  try {
    url = parsePingUrl(raw);
  } catch (error) {
    // The message names the host at most, never the token.
    throw new CommandError(
      `Cannot install: ${(error as Error).message.replace("TELEMHQ_PING_URL", "the ping URL")}.`,
      2,
    );
  }
  // A URL without its token, or the guide's placeholder, could never be accepted by a tracker.
  if (url.pathname.replace(/\/+$/, "") === "" || /YOUR_/i.test(url.pathname)) {
    throw new CommandError(
      `Cannot install: ${redactUrl(url)} holds no tracking token. Copy the whole ping URL from your TelemHQ tracker.`,
      2,
    );
  }
  return url;
}

/** The hash salt: `--hash-salt SALT`, or `--hash-salt -` (the first line of stdin, off the process list). */
async function hashSaltArgument(runtime: Runtime, value: string | undefined): Promise<string | undefined> {
  if (value !== "-") return value;
  const line = new TextDecoder().decode(await readAll(runtime.stdin(), 64 * 1024)).split("\n")[0].replace(/\r$/, "");
  if (line === "") {
    throw new CommandError(
      "Cannot install: --hash-salt - read an empty line from standard input: give the salt there.",
      2,
    );
  }
  return line;
}

async function planInstall(runtime: Runtime, args: readonly string[]): Promise<InstallPlan> {
  const values = parseArgs(
    args,
    ["--url", "--scope", "--runtime", "--dir", "--hash-salt", "--claude-version", "--member"],
    ["--tool-activity", "--no-tool-activity", "--no-hash-salt", "--no-member", "--plugin"],
  );
  const scope = scopeOf(values["--scope"], INSTALL_SCOPES, "install");
  const kind = (values["--runtime"] ?? runtime.kind) as RuntimeKind;
  if (kind !== "deno" && kind !== "bun" && kind !== "node") {
    throw new CommandError(`Cannot install: runtime "${kind}" is not supported. Use --runtime deno, bun or node.`, 2);
  }
  const source = runtime.scriptPath;
  const sourceKind = source?.endsWith(".ts") ? "ts" : source?.endsWith(".mjs") ? "mjs" : undefined;
  if (source === undefined || sourceKind === undefined) {
    throw new CommandError(
      "Cannot install: this hook does not run from a local hook.ts or npm build. Download it first.",
    );
  }
  if (sourceKind === "mjs" && kind !== "node") {
    // The npm build is JavaScript for Node; Deno and Bun run hook.ts itself.
    throw new CommandError(`Cannot install for ${kind} from the npm build: run install with hook.ts under ${kind}.`, 2);
  }
  if (values["--url"] === "-" && values["--hash-salt"] === "-") {
    throw new CommandError(
      "Cannot install: --url - and --hash-salt - both want standard input. Give one of them another way " +
        "(TELEMHQ_PING_URL, or TELEMHQ_HASH_SALT).",
      2,
    );
  }
  const url = await pingUrlArgument(runtime, values["--url"]);
  const hashSalt = values["--no-hash-salt"] ? null : await hashSaltArgument(runtime, values["--hash-salt"]);
  const runtimePath = await findRuntimeBinary(runtime, kind);
  if (runtimePath === undefined) {
    throw new CommandError(
      `Cannot install: ${kind} is not on PATH or in ~/.${kind}/bin. Install it, or choose another --runtime.`,
    );
  }
  if (kind === "node" && sourceKind === "ts" && !(await nodeRunsTypeScript(runtimePath))) {
    throw new CommandError(
      `Cannot install for Node: ${runtimePath} is older than ${NODE_RUNS_TS.join(".")} and cannot run hook.ts. ` +
        `Install Node 22.18 or later, or use the npm build (npx @telemhq/claude-code install ...).`,
    );
  }
  const env = (name: string) => runtime.env(name);
  const claudeDir = claudeDirectory(env);
  const stateDir = stateDirectory(env);
  if (claudeDir === undefined || stateDir === undefined) {
    throw new CommandError(`Cannot install: ${stateDirSettingProblem(env) ?? "HOME is not set"}.`);
  }
  const hookFile = `${claudeDir}/hooks/${HOOK_FILE_NAMES[sourceKind]}`;
  // The transcripts' real folder too: Deno checks a permission against the path a symlink leads to.
  const projects = await runtime.realpath(`${claudeDir}/projects`);
  const projectsDir = projects !== undefined && projects !== `${claudeDir}/projects` ? projects : undefined;
  const commaProblem = kind === "deno"
    ? denoFlagProblem([stateDir, `${claudeDir}/projects`, projectsDir ?? "", runtimePath, hookFile])
    : undefined;
  if (commaProblem !== undefined) {
    throw new CommandError(
      `Cannot install for Deno: ${commaProblem}. Set TELEMHQ_STATE_DIR or CLAUDE_CONFIG_DIR to a path ` +
        `without commas, or choose --runtime bun.`,
    );
  }
  // Deno checks --allow-run against its real path: the launcher resolves the link each time, and so does this.
  const realRuntime = kind === "deno" ? await runtime.realpath(runtimePath) ?? runtimePath : runtimePath;
  const argv = hookArgv(kind, realRuntime, hookFile, stateDir, { pingHost: url.host, claudeDir, projectsDir });
  const launcher = `${claudeDir}/hooks/${LAUNCHER_FILE_NAME}`;
  const member = values["--member"];
  if (member !== undefined && !MEMBER_PATTERN.test(member)) {
    throw new CommandError(
      "Cannot install: --member wants a short label (letters, digits and . _ @ + -, up to 64), such as ana or ana@acme.",
      2,
    );
  }
  const given = values["--claude-version"];
  if (given !== undefined && !isClaudeCodeVersion(given)) {
    throw new CommandError(
      `Cannot install: --claude-version wants a version such as 2.1.332, not "${given.slice(0, 20)}".`,
      2,
    );
  }
  // A file others share (a repository's, a fleet's policy) is read by Claude Codes this machine does not have.
  const shared = scope === "project" || scope === "managed";
  const claude = shared && given === undefined
    ? { description: "unknown for a file others share (give --claude-version: the oldest your team runs)" }
    : await claudeCodeInUse(runtime, claudeDir, given);
  if (claude.version !== undefined && compareVersions(claude.version, CLAUDE_CODE_FEATURES.hooksRun) < 0) {
    throw new CommandError(
      `Cannot install: Claude Code ${claude.version} runs no hooks (they run from ${CLAUDE_CODE_FEATURES.hooksRun}). ` +
        `Upgrade Claude Code, then run install again.`,
    );
  }
  return {
    scope,
    record: {
      runtime: kind,
      runtime_path: runtimePath,
      hook_file: hookFile,
      hook_argv: argv,
      launcher,
      launcher_args: launcherArgs(kind, runtimePath, hookFile, url.host),
      created_settings: [],
    },
    url,
    hashSalt,
    member: values["--no-member"] ? null : member,
    toolActivity: values["--tool-activity"] ? true : values["--no-tool-activity"] ? false : undefined,
    claudeDir,
    stateDir,
    settingsPath: await scopeSettingsPath(runtime, scope, claudeDir, values["--dir"], "install"),
    command: launcherCommand(launcher, launcherArgs(kind, runtimePath, hookFile, url.host)),
    events: INSTALL_EVENTS.always,
    claude,
    claudeVersionGiven: given !== undefined,
  };
}

/** The managed settings that install TelemHQ's plugin from its marketplace for everyone (the plugin route). */
const PLUGIN_POLICY = {
  extraKnownMarketplaces: { telemhq: { source: { source: "github", repo: "telemhq/claude-code" } } },
  enabledPlugins: { "telemhq@telemhq": true },
} as const;

/** An option given now (null: cleared), else the one saved before, if it is a non-empty string. */
function kept(given: string | null | undefined, saved: unknown): string | undefined {
  if (given === null) return undefined;
  return given ?? (typeof saved === "string" && saved !== "" ? saved : undefined);
}

/** The events a plan may wire for its Claude Code, and those it leaves out (that version does not know them). */
function eventsFor(plan: InstallPlan, wanted: readonly (readonly [string, string?])[]) {
  return {
    events: wanted.filter(([event]) => knowsEvent(event, plan.claude.version)),
    leftOut: wanted.filter(([event]) => !knowsEvent(event, plan.claude.version)).map(([event]) => event),
  };
}

function leftOutNotes(claude: ClaudeCodeInUse, leftOut: readonly string[]): string[] {
  const version = claude.version;
  if (leftOut.length === 0) return [];
  if (version === undefined) {
    return [
      `Note: Claude Code's version is ${claude.description.replace(/^not found/, "not known (no claude found)")}, ` +
      `so only the events every Claude Code with hooks fires are wired; ${leftOut.join(", ")} left out. ` +
      `Run install again where claude is on PATH, or give --claude-version.`,
    ];
  }
  const since = leftOut.map((event) => `${event} (from ${HOOK_EVENT_SINCE[event]})`).join(", ");
  const them = leftOut.length === 1 ? "it" : "them";
  return [
    `Note: Claude Code ${version} does not fire ${since}: left out, so that it still loads this file. ` +
    (claude.description.includes("the oldest counts")
      ? `Remove the older claude (or, if you never run it, give --claude-version), then run install again to add ${them}.`
      : `After upgrading Claude Code, run install again to add ${them}.`),
  ];
}

function ourEntry(plan: InstallPlan) {
  return { type: "command", command: plan.command, timeout: HOOK_TIMEOUT_S };
}

/** Refuses, before anything is written, a file whose folder (or nearest existing parent) this user cannot write. */
async function assertWritable(runtime: Runtime, path: string): Promise<void> {
  const fs = await runtime.fs();
  let dir = path.slice(0, path.lastIndexOf("/")) || "/";
  while ((await runtime.lstat(dir)) === undefined && dir !== "/") dir = dir.slice(0, dir.lastIndexOf("/")) || "/";
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
 * everything else in it as it was. Running it twice changes nothing more.
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
  if (args.includes("--plugin")) {
    // The plugin route's team policy needs no URL and no path of this machine: each member configures the plugin.
    const values = parseArgs(args, ["--scope"], ["--plugin"]);
    if (values["--scope"] !== "managed") {
      throw new CommandError("Cannot install: --plugin goes with --scope managed.", 2);
    }
    console.log(JSON.stringify(PLUGIN_POLICY, null, 2));
    console.error(
      "Managed policy for the plugin printed: it adds TelemHQ's marketplace and enables the plugin for everyone; each " +
        "member then sets the ping URL (claude plugin configure telemhq@telemhq --values-stdin).",
    );
    return 0;
  }
  const plan = await planInstall(runtime, args);
  const hookSource = await runtime.readTextFile(runtime.scriptPath!);
  if (hookSource === undefined) throw new CommandError("Cannot install: cannot read this hook's own file.");
  if (plan.settingsPath === undefined) {
    // managed: print the policy for a team rollout; the hook file must be at the same path on each machine.
    const policy: Settings = {};
    const { events, leftOut } = eventsFor(plan, [
      ...plan.events,
      ...(plan.toolActivity ? INSTALL_EVENTS.toolActivity : []),
    ]);
    addHooks(policy, events, ourEntry(plan));
    console.log(JSON.stringify(policy, null, 2));
    for (const note of leftOutNotes(plan.claude, leftOut)) console.error(terminalSafe(note));
    console.error(
      `Managed policy printed. Deploy the hook to "${plan.record.hook_file}" and the ping URL to "${plan.stateDir}/${STATE_LAYOUT.config}" on each machine.\n` +
        `Or roll out the plugin instead: install --scope managed --plugin prints its policy.`,
    );
    return 0;
  }
  // Everything is checked before anything is written.
  const { settings, text } = await readSettings(plan.settingsPath);
  const launcher = plan.record.launcher!;
  for (const path of [plan.record.hook_file, launcher, `${plan.stateDir}/${STATE_LAYOUT.config}`, plan.settingsPath]) {
    await assertWritable(runtime, path);
  }
  // Options given once stay until changed: a second install (after a 401, say) keeps tool activity and the salt.
  const hookFiles = installedHookFiles(plan.claudeDir);
  const previous = await readInstallRecord(runtime, plan.stateDir);
  const toolActivity = plan.toolActivity ?? previous?.tool_activity ??
    findOurHooks(settings, hookFiles).some((hook) =>
      INSTALL_EVENTS.toolActivity.some(([event]) => event === hook.event)
    );
  const { events, leftOut } = eventsFor(plan, [...plan.events, ...(toolActivity ? INSTALL_EVENTS.toolActivity : [])]);
  const savedConfig = await readJsonFile(await runtime.fs(), `${plan.stateDir}/${STATE_LAYOUT.config}`) as
    | { hash_salt?: unknown; member?: unknown }
    | undefined;
  const salt = kept(plan.hashSalt, savedConfig?.hash_salt);
  const member = kept(plan.member, savedConfig?.member);
  removeOurHooks(settings, hookFiles);
  addHooks(settings, events, ourEntry(plan));
  // Up to 2.1.100 Claude Code skips a whole settings file over one entry it does not know: the user's hooks too.
  const rejection = plan.claude.version === undefined ? undefined : settingsRejection(settings, plan.claude.version);
  if (rejection !== undefined) {
    throw new CommandError(
      `Cannot install: Claude Code ${plan.claude.version} would skip all of ${plan.settingsPath} (every hook, env ` +
        `and permission in it): ${rejection}. Fix or remove that entry, then run install again; nothing was changed.`,
    );
  }
  const updated = formatSettings(settings, text);
  await prepareStateDir(runtime, plan.stateDir);
  const fs = await runtime.fs();
  await fs.mkdir(`${plan.claudeDir}/hooks`, { recursive: true, mode: 0o700 });
  await fs.chmod(`${plan.claudeDir}/hooks`, 0o700);
  await replaceFile(plan.record.hook_file, hookSource, { mode: 0o600, forceMode: true });
  await replaceFile(launcher, launcherScript(), { mode: 0o700, forceMode: true });
  const saved = {
    ping_url: plan.url.href,
    ...(salt !== undefined ? { hash_salt: salt } : {}),
    ...(member !== undefined ? { member } : {}),
  };
  await writeFileAtomically(fs, `${plan.stateDir}/${STATE_LAYOUT.config}`, JSON.stringify(saved) + "\n", 0o600);
  const created = new Set(previous?.created_settings ?? []);
  if (text === undefined) created.add(plan.settingsPath);
  const record: InstallRecord = {
    ...plan.record,
    created_settings: [...created].sort(),
    tool_activity: toolActivity,
    ...(plan.claudeVersionGiven ? { claude_version: plan.claude.version } : {}),
  };
  await writeFileAtomically(fs, `${plan.stateDir}/${STATE_LAYOUT.install}`, JSON.stringify(record, null, 2) + "\n");
  if (updated !== text) await replaceFile(plan.settingsPath, updated, { backup: text, mode: 0o644 });
  const lines = [
    `Installed the TelemHQ hook for Claude Code.`,
    `  hook:      ${plan.record.hook_file}, started by ${launcher}`,
    `  runtime:   ${plan.record.runtime_path}`,
    `  settings:  ${plan.settingsPath} (${events.map(([event]) => event).join(", ")})`,
    `  Claude Code: ${plan.claude.description}`,
    `  ping URL:  ${redactUrl(plan.url)}, saved in ${plan.stateDir}/${STATE_LAYOUT.config}`,
    `  options:   tool activity ${toolActivity ? "on" : "off (--tool-activity)"}; hash salt ${
      salt !== undefined ? "set" : "none (--hash-salt)"
    }; member ${member !== undefined ? `"${member}"` : "none (--member)"}`,
  ];
  lines.push(...leftOutNotes(plan.claude, leftOut));
  if (plan.scope === "project") {
    lines.push(
      `Note: ${plan.settingsPath} is shared through the repository, and the hook command in it holds this ` +
        `machine's absolute paths; teammates install their own, or use --scope local.`,
    );
  }
  const root = plan.settingsPath.slice(0, plan.settingsPath.lastIndexOf("/.claude/"));
  if (plan.scope !== "user" && root !== runtime.cwd()) {
    lines.push(`Note: Claude Code reads this file when it is started in ${root} (not in a folder below it).`);
  }
  // Claude Code runs an identical command once, however many files name it; two different ones, twice.
  const scanned = await scanSettings(plan.claudeDir, await projectDirectory(runtime, undefined));
  for (const plugin of enabledTelemhqPlugins(scanned)) {
    lines.push(
      `Warning: the TelemHQ plugin (${plugin}) is enabled too: each event is still sent once (one ping_id), but ` +
        `runs two hooks. Keep one: claude plugin uninstall ${plugin}, or uninstall here.`,
    );
  }
  const twice = scanned
    .filter((file) => file.path !== plan.settingsPath && file.hooks.some((hook) => hook.command !== plan.command));
  for (const file of twice) {
    lines.push(
      `Warning: ${file.path} runs another TelemHQ hook command; Claude Code would send every ping twice. ` +
        `Remove one: uninstall --scope ${file.scope}, or install there again.`,
    );
  }
  lines.push(`Check it with: /bin/sh ${shellWord(launcher)} doctor --ping`);
  console.log(terminalSafe(lines.join("\n")));
  return 0;
}

/**
 * `uninstall`: removes from the scope's settings file exactly the entries
 * `install` added (and the file itself when `install` created it and it holds
 * nothing else). When no settings file runs the hook any more, it also removes
 * the hook file and everything the hook kept: the saved ping URL, the install
 * record, the spool (saying how many unsent pings it dropped), refused pings,
 * session ledgers, the status and the journal.
 *
 * @param runtime The runtime adapter.
 * @param args `[--scope user|project|local] [--dir DIR]`.
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * await uninstallCommand(detectRuntime(), ["--scope", "project"]);
 * ```
 */
export async function uninstallCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  const values = parseArgs(args, ["--scope", "--dir"], []);
  const scope = scopeOf(values["--scope"], SETTINGS_SCOPES, "uninstall");
  const env = (name: string) => runtime.env(name);
  const claudeDir = claudeDirectory(env);
  const stateDir = stateDirectory(env);
  if (claudeDir === undefined || stateDir === undefined) {
    throw new CommandError(`Cannot uninstall: ${stateDirSettingProblem(env) ?? "HOME is not set"}.`);
  }
  const settingsPath = (await scopeSettingsPath(runtime, scope, claudeDir, values["--dir"], "uninstall"))!;
  const hookFiles = installedHookFiles(claudeDir);
  const { settings, text } = await readSettings(settingsPath);
  const removed = removeOurHooks(settings, hookFiles);
  const record = await stateDirProblemOf(runtime, stateDir) === undefined
    ? await readInstallRecord(runtime, stateDir)
    : undefined;
  const fs = await runtime.fs();
  const lines: string[] = [];
  if (removed > 0) {
    if (Object.keys(settings).length === 0 && record?.created_settings.includes(settingsPath)) {
      await fs.rm(settingsPath, { force: true });
      // Its .claude folder too, when nothing else is in it (rmdir refuses a folder that is not empty).
      if (scope !== "user") await fs.rmdir(settingsPath.slice(0, settingsPath.lastIndexOf("/"))).catch(() => {});
      lines.push(`Removed ${settingsPath}, which install had created (${removed} entries).`);
    } else {
      await replaceFile(settingsPath, formatSettings(settings, text), { mode: 0o644 });
      lines.push(`Removed the TelemHQ hook from ${settingsPath} (${removed} entries).`);
    }
    // install's backup of this file has served: the file is as it was, but for our entries.
    await fs.rm(`${settingsPath}.telemhq-backup`, { force: true });
  } else {
    lines.push(`Nothing to remove in ${settingsPath}: it does not run the TelemHQ hook.`);
  }
  const scanned = await scanSettings(claudeDir, await projectDirectory(runtime, values["--dir"]));
  const stillUsed = scanned.filter((file) => file.hooks.length > 0).map((file) => file.path);
  for (const file of scanned.filter((file) => file.error !== undefined)) lines.push(`Warning: ${file.error}`);
  const plugins = enabledTelemhqPlugins(scanned);
  if (stillUsed.length > 0) {
    lines.push(`Kept the hook file: ${stillUsed.join(" and ")} still run${stillUsed.length === 1 ? "s" : ""} it.`);
  } else if (plugins.length > 0) {
    // The plugin shares the state folder (its spool, its journal): only what install itself added goes.
    lines.push(...await removeInstallOnly(runtime, hookFiles, stateDir, plugins));
  } else {
    lines.push(...await removeEverything(runtime, hookFiles, stateDir));
  }
  console.log(terminalSafe(lines.join("\n")));
  return 0;
}

/** With the plugin still enabled: removes the hook files, the saved URL and the install record, and keeps the rest. */
async function removeInstallOnly(
  runtime: Runtime,
  hookFiles: readonly string[],
  stateDir: string,
  plugins: readonly string[],
): Promise<string[]> {
  const files = await removeHookFiles(runtime, hookFiles);
  const fs = await runtime.fs();
  for (const name of [STATE_LAYOUT.config, STATE_LAYOUT.install]) await fs.rm(`${stateDir}/${name}`, { force: true });
  return [
    files,
    `Removed the saved ping URL; kept the rest of ${stateDir}: the TelemHQ plugin (${plugins.join(", ")}) is ` +
    `enabled and uses it (its spool and its log). Run "claude plugin uninstall" first to remove everything.`,
  ];
}

/** Why a state directory that exists must not be trusted, or undefined (also when it does not exist). */
async function stateDirProblemOf(runtime: Runtime, stateDir: string): Promise<string | undefined> {
  const facts = await runtime.lstat(stateDir);
  if (facts === undefined) return undefined;
  return stateDirProblem(stateDir, facts, runtime.uid()) ?? await parentsProblem(runtime, stateDir);
}

/** With the last scope gone: the hook files and, in a safe state directory, everything the hook kept. */
/** Removes the hook files install wrote, and their folder when nothing else is in it; says what it removed. */
async function removeHookFiles(runtime: Runtime, hookFiles: readonly string[]): Promise<string> {
  const fs = await runtime.fs();
  const removed: string[] = [];
  for (const file of hookFiles) {
    if (await runtime.lstat(file) === undefined) continue;
    await fs.rm(file, { force: true });
    removed.push(file);
  }
  if (hookFiles.length > 0) await fs.rmdir(hookFiles[0].slice(0, hookFiles[0].lastIndexOf("/"))).catch(() => {});
  return removed.length > 0 ? `Removed ${removed.join(" and ")}.` : "No hook file to remove.";
}

async function removeEverything(runtime: Runtime, hookFiles: readonly string[], stateDir: string): Promise<string[]> {
  const fs = await runtime.fs();
  const files = await removeHookFiles(runtime, hookFiles);
  // The token goes whatever else: removing a name is safe even in a folder others can write.
  const unsafe = await stateDirProblemOf(runtime, stateDir);
  if (unsafe !== undefined) {
    for (const name of [STATE_LAYOUT.config, STATE_LAYOUT.install]) await fs.rm(`${stateDir}/${name}`, { force: true });
    return [files, `Removed the saved ping URL, and left the rest of ${stateDir}: ${unsafe}.`];
  }
  // A ping a sender is sending is renamed "<id>.json.sending-...": unsent too, until it is delivered.
  const unsent = (await fs.readdir(`${stateDir}/${STATE_LAYOUT.spool}`).catch(() => [] as string[]))
    .filter((name) => /^[0-9a-f]{32}\.json(\.sending-[^.]+)?$/.test(name)).length;
  let kept = 0;
  for (const name of Object.values(STATE_LAYOUT)) {
    const path = `${stateDir}/${name}`;
    if (await runtime.lstat(path) === undefined) continue;
    await fs.rm(path, { recursive: true, force: true });
    kept++;
  }
  await fs.rmdir(stateDir).catch(() => {}); // only when nothing else is in it
  const lines = [files];
  lines.push(
    kept > 0
      ? `Removed the saved ping URL and everything the hook kept in ${stateDir}` +
        (unsent > 0 ? `, including ${unsent} unsent ping${unsent === 1 ? "" : "s"}.` : ".")
      : `Nothing was kept in ${stateDir}.`,
  );
  return lines;
}
