/**
 * `install` and `uninstall`: what the TelemHQ guide does by hand, in one
 * command. `install` copies the hook into Claude Code's `hooks/` folder, saves
 * the ping URL in the private state directory (never in a settings file),
 * records what it installed, and merges the shell fast path into a scope's
 * settings file; `uninstall` removes exactly that, and with the last scope
 * everything the hook kept (the saved URL, the spool, the journal).
 *
 * Owns: the install plan, the install record, finding runtimes and the
 * project's folder, the scan of the settings files. Uses: input, events,
 * runtime, state_dir, config, ping_url, launch, cli_args, settings.
 *
 * @module
 */

import { CommandError, parseArgs } from "./cli_args.ts";
import { claudeDirectory, stateDirectory } from "./config.ts";
import { INSTALL_EVENTS } from "./events.ts";
import { denoFlagProblem, fastPathCommand, hookArgv, shellWord } from "./launch.ts";
import { parsePingUrl, redactUrl } from "./ping_url.ts";
import { readAll } from "./input.ts";
import { readJsonFile, runQuietly, type Runtime, type RuntimeKind, writeFileAtomically } from "./runtime.ts";
import {
  addHooks,
  findOurHooks,
  formatSettings,
  INSTALL_SCOPES,
  type InstallScope,
  readSettings,
  removeOurHooks,
  replaceFile,
  type Settings,
  SETTINGS_SCOPES,
  settingsPathFor,
  type WiredHook,
} from "./settings.ts";
import { ensureStateDir, STATE_LAYOUT, stateDirProblem } from "./state_dir.ts";

/** The installed hook's file name in Claude Code's `hooks/` folder: hook.ts's TypeScript, or the npm build's JavaScript. */
const HOOK_FILE_NAMES = { ts: "telemhq.ts", mjs: "telemhq.mjs" } as const;

/** Claude Code's time limit for our hook, in seconds (the fast path takes milliseconds). */
const HOOK_TIMEOUT_S = 10;

/** The first Node that runs TypeScript as it is (type stripping on by default). */
const NODE_RUNS_TS = [22, 18] as const;

/**
 * Every path the installed hook may have: entries running any of them are ours.
 *
 * @param claudeDir Claude Code's folder.
 * @returns The paths.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(installedHookFiles("/h/.claude"), ["/h/.claude/hooks/telemhq.ts", "/h/.claude/hooks/telemhq.mjs"]);
 * ```
 */
export function installedHookFiles(claudeDir: string): string[] {
  return Object.values(HOOK_FILE_NAMES).map((name) => `${claudeDir}/hooks/${name}`);
}

/** What `install` wrote, kept in `<state>/install.json` so that `doctor` and `uninstall` read it rather than guess. */
export interface InstallRecord {
  /** The runtime the hook runs under. */
  runtime: RuntimeKind;
  /** That runtime's binary, by absolute path, as `install` resolved it. */
  runtime_path: string;
  /** The installed hook file. */
  hook_file: string;
  /** The command line that runs the hook (inside the fast path). */
  hook_argv: string[];
  /** Settings files that `install` created (and `uninstall` may remove once they hold nothing else). */
  created_settings: string[];
}

/**
 * Reads `install.json`; undefined when absent or not of the expected shape.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @returns The record.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * assert.equal(await readInstallRecord(detectRuntime(), "/nonexistent"), undefined);
 * ```
 */
export async function readInstallRecord(runtime: Runtime, stateDir: string): Promise<InstallRecord | undefined> {
  const value = await readJsonFile(await runtime.fs(), `${stateDir}/${STATE_LAYOUT.install}`);
  const record = value as Partial<InstallRecord> | undefined;
  const strings = (list: unknown) => Array.isArray(list) && list.every((item) => typeof item === "string");
  const valid = record !== null && typeof record === "object" &&
    ["deno", "bun", "node"].includes(record.runtime as string) &&
    typeof record.runtime_path === "string" && record.runtime_path.startsWith("/") &&
    typeof record.hook_file === "string" && strings(record.hook_argv);
  return valid
    ? { ...record, created_settings: strings(record.created_settings) ? record.created_settings! : [] } as InstallRecord
    : undefined;
}

/** One settings file, scanned for our hook entries. */
export interface ScannedSettings {
  /** The scope. */
  scope: InstallScope;
  /** Its file. */
  path: string;
  /** Our entries in it (empty when it does not exist). */
  hooks: WiredHook[];
  /** Why it could not be read, if it could not. */
  error?: string;
}

/**
 * Reads every settings file on this machine that Claude Code merges (user,
 * project, local) and lists our hook entries in each: the one scan `install`,
 * `uninstall` and `doctor` share.
 *
 * @param claudeDir Claude Code's folder.
 * @param projectDir The project's folder, if there is one.
 * @returns One item per scope.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const scanned = await scanSettings("/nonexistent/.claude", "/nonexistent/project");
 * assert.deepEqual(scanned.map((file) => file.hooks.length), [0, 0, 0]);
 * ```
 */
export async function scanSettings(claudeDir: string, projectDir: string | undefined): Promise<ScannedSettings[]> {
  const hookFiles = installedHookFiles(claudeDir);
  const scanned: ScannedSettings[] = [];
  for (const scope of SETTINGS_SCOPES) {
    if (scope !== "user" && projectDir === undefined) continue;
    const path = settingsPathFor(scope, claudeDir, projectDir ?? "")!;
    try {
      scanned.push({ scope, path, hooks: findOurHooks((await readSettings(path)).settings, hookFiles) });
    } catch (error) {
      scanned.push({ scope, path, hooks: [], error: (error as Error).message });
    }
  }
  return scanned;
}

/**
 * The project a command is about: `--dir`, else the git repository around
 * the working directory (Claude Code reads a project's settings at its root).
 *
 * @param runtime The runtime adapter.
 * @param dir The `--dir` value, if given.
 * @returns The folder, or undefined outside a repository without `--dir`.
 *
 * @example
 * ```ts
 * import { detectRuntime } from "@telemhq/claude-code";
 * await projectDirectory(detectRuntime(), undefined);
 * ```
 */
export async function projectDirectory(runtime: Runtime, dir: string | undefined): Promise<string | undefined> {
  const fs = await runtime.fs();
  if (dir !== undefined) return await fs.realpath(dir).catch(() => undefined);
  let current = runtime.cwd();
  while (current !== "") {
    if (await runtime.lstat(`${current}/.git`) !== undefined) return current;
    current = current.slice(0, current.lastIndexOf("/"));
  }
  return undefined;
}

function scopeOf(value: string | undefined, allowed: readonly InstallScope[], action: string): InstallScope {
  const scope = (value ?? "user") as InstallScope;
  if (!allowed.includes(scope)) {
    throw new CommandError(`Cannot ${action}: unknown scope "${scope}". Use ${allowed.join(", ")}.`, 2);
  }
  return scope;
}

/** The settings file of a scope, with the project's folder found for the project and local scopes. */
async function scopeSettingsPath(
  runtime: Runtime,
  scope: InstallScope,
  claudeDir: string,
  dir: string | undefined,
  action: string,
): Promise<string | undefined> {
  if (scope !== "project" && scope !== "local") return settingsPathFor(scope, claudeDir, "");
  const project = await projectDirectory(runtime, dir);
  if (project === undefined) {
    throw new CommandError(
      dir !== undefined
        ? `Cannot ${action}: the folder "${dir}" does not exist.`
        : `Cannot ${action} for --scope ${scope}: "${runtime.cwd()}" is not inside a git repository. ` +
          `Run it from the repository, or name the project with --dir DIR.`,
      2,
    );
  }
  return settingsPathFor(scope, claudeDir, project);
}

interface InstallPlan {
  scope: InstallScope;
  record: InstallRecord;
  url: URL;
  hashSalt?: string;
  claudeDir: string;
  stateDir: string;
  settingsPath?: string;
  command: string;
  events: readonly (readonly [string, string?])[];
}

/** Finds a runtime's binary: this process's if it is that runtime, else on PATH or where its installer puts it. */
async function findRuntime(runtime: Runtime, kind: RuntimeKind): Promise<string | undefined> {
  if (runtime.kind === kind) return runtime.execPath;
  const fs = await runtime.fs();
  const home = runtime.env("HOME");
  const dirs = [...(runtime.env("PATH") ?? "").split(":"), `${home}/.${kind}/bin`].filter((dir) => dir.startsWith("/"));
  for (const dir of dirs) {
    const path = `${dir}/${kind}`;
    if (await fs.access(path, 1 /* X_OK */).then(() => true, () => false)) return await fs.realpath(path);
  }
  return undefined;
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
  let raw = value ?? runtime.env("TELEMHQ_PING_URL");
  if (value === "-") raw = new TextDecoder().decode(await readAll(runtime.stdin(), 64 * 1024)).split("\n")[0];
  if (raw === undefined || raw.trim() === "") {
    throw new CommandError(
      "Cannot install: no ping URL. Give --url https://telemhq.com/ping/YOUR_TOKEN, --url - (read from stdin), " +
        "or set TELEMHQ_PING_URL.",
      2,
    );
  }
  try {
    return parsePingUrl(raw);
  } catch (error) {
    // The message names the host at most, never the token.
    throw new CommandError(
      `Cannot install: ${(error as Error).message.replace("TELEMHQ_PING_URL", "the ping URL")}.`,
      2,
    );
  }
}

async function planInstall(runtime: Runtime, args: readonly string[]): Promise<InstallPlan> {
  const values = parseArgs(
    args,
    ["--url", "--scope", "--runtime", "--dir", "--hash-salt"],
    ["--tool-activity"],
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
  const url = await pingUrlArgument(runtime, values["--url"]);
  const runtimePath = await findRuntime(runtime, kind);
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
  if (claudeDir === undefined || stateDir === undefined) throw new CommandError("Cannot install: HOME is not set.");
  const hookFile = `${claudeDir}/hooks/${HOOK_FILE_NAMES[sourceKind]}`;
  const commaProblem = kind === "deno"
    ? denoFlagProblem([stateDir, `${claudeDir}/projects`, runtimePath, hookFile])
    : undefined;
  if (commaProblem !== undefined) {
    throw new CommandError(
      `Cannot install for Deno: ${commaProblem}. Set TELEMHQ_STATE_DIR or CLAUDE_CONFIG_DIR to a path ` +
        `without commas, or choose --runtime bun.`,
    );
  }
  const argv = hookArgv(kind, runtimePath, hookFile, stateDir, { pingHost: url.host, claudeDir });
  return {
    scope,
    record: { runtime: kind, runtime_path: runtimePath, hook_file: hookFile, hook_argv: argv, created_settings: [] },
    url,
    hashSalt: values["--hash-salt"],
    claudeDir,
    stateDir,
    settingsPath: await scopeSettingsPath(runtime, scope, claudeDir, values["--dir"], "install"),
    command: fastPathCommand(argv),
    events: [...INSTALL_EVENTS.always, ...(values["--tool-activity"] ? INSTALL_EVENTS.toolActivity : [])],
  };
}

function ourEntry(plan: InstallPlan) {
  return { type: "command", command: plan.command, timeout: HOOK_TIMEOUT_S };
}

/** Makes the state directory safe to use: created 0700, or tightened to 0700 when it is this user's own. */
async function prepareStateDir(runtime: Runtime, stateDir: string): Promise<void> {
  const fs = await runtime.fs();
  const facts = await runtime.lstat(stateDir);
  if (facts?.kind === "directory" && facts.uid === runtime.uid() && (facts.mode & 0o077) !== 0) {
    await fs.chmod(stateDir, 0o700);
  }
  const problem = await ensureStateDir(runtime, stateDir);
  if (problem !== undefined) throw new CommandError(`Cannot install: ${problem}.`);
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
  const plan = await planInstall(runtime, args);
  const hookSource = await runtime.readTextFile(runtime.scriptPath!);
  if (hookSource === undefined) throw new CommandError("Cannot install: cannot read this hook's own file.");
  if (plan.settingsPath === undefined) {
    // managed: print the policy for a team rollout; the hook file must be at the same path on each machine.
    const policy: Settings = {};
    addHooks(policy, plan.events, ourEntry(plan));
    console.log(JSON.stringify(policy, null, 2));
    console.error(
      `Managed policy printed. Deploy the hook to "${plan.record.hook_file}" and the ping URL to "${plan.stateDir}/${STATE_LAYOUT.config}" on each machine.`,
    );
    return 0;
  }
  // Everything is checked before anything is written.
  const { settings, text } = await readSettings(plan.settingsPath);
  removeOurHooks(settings, installedHookFiles(plan.claudeDir));
  addHooks(settings, plan.events, ourEntry(plan));
  const updated = formatSettings(settings, text);
  await prepareStateDir(runtime, plan.stateDir);
  const fs = await runtime.fs();
  await fs.mkdir(`${plan.claudeDir}/hooks`, { recursive: true, mode: 0o700 });
  await fs.chmod(`${plan.claudeDir}/hooks`, 0o700);
  await replaceFile(plan.record.hook_file, hookSource, { mode: 0o600, forceMode: true });
  const saved = { ping_url: plan.url.href, ...(plan.hashSalt !== undefined ? { hash_salt: plan.hashSalt } : {}) };
  await writeFileAtomically(fs, `${plan.stateDir}/${STATE_LAYOUT.config}`, JSON.stringify(saved) + "\n", 0o600);
  const previous = await readInstallRecord(runtime, plan.stateDir);
  const created = new Set(previous?.created_settings ?? []);
  if (text === undefined) created.add(plan.settingsPath);
  const record = { ...plan.record, created_settings: [...created].sort() };
  await writeFileAtomically(fs, `${plan.stateDir}/${STATE_LAYOUT.install}`, JSON.stringify(record, null, 2) + "\n");
  if (updated !== text) await replaceFile(plan.settingsPath, updated, { backup: text, mode: 0o644 });
  const lines = [
    `Installed the TelemHQ hook for Claude Code.`,
    `  hook:      ${plan.record.hook_file}`,
    `  runtime:   ${plan.record.runtime_path}`,
    `  settings:  ${plan.settingsPath} (${plan.events.map(([event]) => event).join(", ")})`,
    `  ping URL:  ${redactUrl(plan.url)}, saved in ${plan.stateDir}/${STATE_LAYOUT.config}`,
  ];
  if (plan.scope === "project") {
    lines.push(
      `Note: ${plan.settingsPath} is shared through the repository, and the hook command in it holds this ` +
        `machine's absolute paths; teammates install their own, or use --scope local.`,
    );
  }
  const twice = (await scanSettings(plan.claudeDir, await projectDirectory(runtime, undefined)))
    .filter((file) => file.path !== plan.settingsPath && file.hooks.length > 0);
  for (const file of twice) {
    lines.push(
      `Warning: ${file.path} runs the hook too; Claude Code merges settings files and would send every ping ` +
        `twice. Remove one: uninstall --scope ${file.scope}.`,
    );
  }
  lines.push(
    `Check it with: ${shellWord(plan.record.runtime_path)}${plan.record.runtime === "deno" ? " run -A" : ""} ${
      shellWord(plan.record.hook_file)
    } doctor --ping`,
  );
  console.log(lines.join("\n"));
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
  if (claudeDir === undefined || stateDir === undefined) throw new CommandError("Cannot uninstall: HOME is not set.");
  const settingsPath = (await scopeSettingsPath(runtime, scope, claudeDir, values["--dir"], "uninstall"))!;
  const hookFiles = installedHookFiles(claudeDir);
  const { settings, text } = await readSettings(settingsPath);
  const removed = removeOurHooks(settings, hookFiles);
  const safeState = await runtime.lstat(stateDir).then((facts) =>
    facts !== undefined && stateDirProblem(stateDir, facts, runtime.uid()) === undefined
  );
  const record = safeState ? await readInstallRecord(runtime, stateDir) : undefined;
  const fs = await runtime.fs();
  const lines: string[] = [];
  if (removed > 0) {
    if (Object.keys(settings).length === 0 && record?.created_settings.includes(settingsPath)) {
      await fs.rm(settingsPath, { force: true });
      lines.push(`Removed ${settingsPath}, which install had created (${removed} entries).`);
    } else {
      await replaceFile(settingsPath, formatSettings(settings, text), { backup: text, mode: 0o644 });
      lines.push(`Removed the TelemHQ hook from ${settingsPath} (${removed} entries).`);
    }
  } else {
    lines.push(`Nothing to remove in ${settingsPath}: it does not run the TelemHQ hook.`);
  }
  const scanned = await scanSettings(claudeDir, await projectDirectory(runtime, values["--dir"]));
  const stillUsed = scanned.filter((file) => file.hooks.length > 0).map((file) => file.path);
  for (const file of scanned.filter((file) => file.error !== undefined)) lines.push(`Warning: ${file.error}`);
  if (stillUsed.length > 0) {
    lines.push(`Kept the hook file: ${stillUsed.join(" and ")} still run${stillUsed.length === 1 ? "s" : ""} it.`);
  } else {
    lines.push(...await removeEverything(runtime, hookFiles, safeState ? stateDir : undefined));
  }
  console.log(lines.join("\n"));
  return 0;
}

/** With the last scope gone: the hook files and, in a safe state directory, everything the hook kept. */
async function removeEverything(
  runtime: Runtime,
  hookFiles: readonly string[],
  stateDir: string | undefined,
): Promise<string[]> {
  const fs = await runtime.fs();
  const removed: string[] = [];
  for (const file of hookFiles) {
    if (await runtime.lstat(file) !== undefined) {
      await fs.rm(file, { force: true });
      removed.push(file);
    }
  }
  if (stateDir === undefined) {
    return [removed.length > 0 ? `Removed ${removed.join(" and ")}.` : "No hook file to remove."];
  }
  const unsent = (await fs.readdir(`${stateDir}/${STATE_LAYOUT.spool}`).catch(() => [] as string[]))
    .filter((name) => name.endsWith(".json")).length;
  let kept = 0;
  for (const name of Object.values(STATE_LAYOUT)) {
    const path = `${stateDir}/${name}`;
    if (await runtime.lstat(path) === undefined) continue;
    await fs.rm(path, { recursive: true, force: true });
    kept++;
  }
  await fs.rmdir(stateDir).catch(() => {}); // only when nothing else is in it
  const lines = [removed.length > 0 ? `Removed ${removed.join(" and ")}.` : "No hook file to remove."];
  lines.push(
    kept > 0
      ? `Removed the saved ping URL and everything the hook kept in ${stateDir}` +
        (unsent > 0 ? `, including ${unsent} unsent ping${unsent === 1 ? "" : "s"}.` : ".")
      : `Nothing was kept in ${stateDir}.`,
  );
  return lines;
}
