/**
 * `install` and `uninstall`: what the TelemHQ guide does by hand, in one
 * command. `install` copies the hook into Claude Code's `hooks/` folder, saves
 * the ping URL in the private state directory (never in a settings file),
 * records what it installed, and merges the shell fast path into a scope's
 * settings file; `uninstall` removes exactly that.
 *
 * Owns: the install plan, the install record, finding runtimes, the scan of
 * the settings files. Uses: runtime, config, ping_url, launch, events,
 * cli_args, settings.
 *
 * @module
 */

import { CommandError, parseArgs } from "./cli_args.ts";
import { claudeDirectory, STATE_LAYOUT, stateDirectory } from "./config.ts";
import { INSTALL_EVENTS } from "./events.ts";
import { fastPathCommand, hookArgv, shellWord } from "./launch.ts";
import { parsePingUrl, redactUrl } from "./ping_url.ts";
import { readJsonFile, type Runtime, type RuntimeKind } from "./runtime.ts";
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

/** The installed hook's file name in Claude Code's `hooks/` folder: TypeScript for Deno and Bun, the npm build's JavaScript for Node. */
const HOOK_FILE_NAMES: Readonly<Record<RuntimeKind, string>> = {
  deno: "telemhq.ts",
  bun: "telemhq.ts",
  node: "telemhq.mjs",
};

/** Claude Code's time limit for our hook, in seconds (the fast path takes milliseconds). */
const HOOK_TIMEOUT_S = 10;

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
  return [...new Set(Object.values(HOOK_FILE_NAMES))].map((name) => `${claudeDir}/hooks/${name}`);
}

/** What `install` wrote, kept in `<state>/install.json` so that `doctor` reads it rather than guessing. */
export interface InstallRecord {
  /** The runtime the hook runs under. */
  runtime: RuntimeKind;
  /** That runtime's binary, by absolute path. */
  runtime_path: string;
  /** The installed hook file. */
  hook_file: string;
  /** The command line that runs the hook (inside the fast path). */
  hook_argv: string[];
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
  const valid = record !== null && typeof record === "object" &&
    ["deno", "bun", "node"].includes(record.runtime as string) && typeof record.runtime_path === "string" &&
    typeof record.hook_file === "string" && Array.isArray(record.hook_argv) &&
    record.hook_argv.every((word) => typeof word === "string");
  return valid ? record as InstallRecord : undefined;
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
 * project, local) and lists our hook entries in each: the one scan `uninstall`
 * and `doctor` share.
 *
 * @param claudeDir Claude Code's folder.
 * @param projectDir The project's folder.
 * @returns One item per scope.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const scanned = await scanSettings("/nonexistent/.claude", "/nonexistent/project");
 * assert.deepEqual(scanned.map((file) => file.hooks.length), [0, 0, 0]);
 * ```
 */
export async function scanSettings(claudeDir: string, projectDir: string): Promise<ScannedSettings[]> {
  const hookFiles = installedHookFiles(claudeDir);
  const scanned: ScannedSettings[] = [];
  for (const scope of SETTINGS_SCOPES) {
    const path = settingsPathFor(scope, claudeDir, projectDir)!;
    try {
      scanned.push({ scope, path, hooks: findOurHooks((await readSettings(path)).settings, hookFiles) });
    } catch (error) {
      scanned.push({ scope, path, hooks: [], error: (error as Error).message });
    }
  }
  return scanned;
}

interface InstallPlan {
  scope: InstallScope;
  record: InstallRecord;
  url: URL;
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

async function planInstall(runtime: Runtime, args: readonly string[]): Promise<InstallPlan> {
  const values = parseArgs(args, ["--url", "--scope", "--runtime"], ["--tool-activity"]);
  const rawUrl = values["--url"] ?? runtime.env("TELEMHQ_PING_URL");
  if (rawUrl === undefined) {
    throw new CommandError("Cannot install: no ping URL. Give --url https://telemhq.com/ping/YOUR_TOKEN.", 2);
  }
  let url: URL;
  try {
    url = parsePingUrl(rawUrl);
  } catch (error) {
    // The message names the host at most, never the token.
    throw new CommandError(
      `Cannot install: ${(error as Error).message.replace("TELEMHQ_PING_URL", "the ping URL")}.`,
      2,
    );
  }
  const scope = (values["--scope"] ?? "user") as InstallScope;
  if (!INSTALL_SCOPES.includes(scope)) {
    throw new CommandError(`Cannot install: unknown scope "${scope}". Use user, project, local or managed.`, 2);
  }
  const kind = (values["--runtime"] ?? runtime.kind) as RuntimeKind;
  if (kind !== "deno" && kind !== "bun" && kind !== "node") {
    throw new CommandError(`Cannot install: runtime "${kind}" is not supported. Use --runtime deno, bun or node.`, 2);
  }
  if ((kind === "node") !== (runtime.kind === "node")) {
    // Node runs the npm build (JavaScript); Deno and Bun run hook.ts: install copies the file it runs from.
    throw new CommandError(
      kind === "node"
        ? "Cannot install for Node.js from Deno or Bun: run install through the npm package (npx @telemhq/claude-code install ...)."
        : `Cannot install for ${kind} from the npm build: run install with hook.ts under ${kind}.`,
      2,
    );
  }
  const runtimePath = await findRuntime(runtime, kind);
  if (runtimePath === undefined) {
    throw new CommandError(
      `Cannot install: ${kind} is not on PATH or in ~/.${kind}/bin. Install it, or choose --runtime ${
        kind === "deno" ? "bun" : "deno"
      }.`,
    );
  }
  const env = (name: string) => runtime.env(name);
  const claudeDir = claudeDirectory(env);
  const stateDir = stateDirectory(env);
  if (claudeDir === undefined || stateDir === undefined) throw new CommandError("Cannot install: HOME is not set.");
  const hookFile = `${claudeDir}/hooks/${HOOK_FILE_NAMES[kind]}`;
  const argv = hookArgv(kind, runtimePath, hookFile, stateDir, { pingHost: url.host, claudeDir });
  return {
    scope,
    record: { runtime: kind, runtime_path: runtimePath, hook_file: hookFile, hook_argv: argv },
    url,
    claudeDir,
    stateDir,
    settingsPath: settingsPathFor(scope, claudeDir, runtime.cwd()),
    command: fastPathCommand(argv),
    events: [...INSTALL_EVENTS.always, ...(values["--tool-activity"] ? INSTALL_EVENTS.toolActivity : [])],
  };
}

function ourEntry(plan: InstallPlan) {
  return { type: "command", command: plan.command, timeout: HOOK_TIMEOUT_S };
}

/**
 * `install`: copies the hook into Claude Code's `hooks/` folder, saves the
 * ping URL in the private state directory (never in a settings file that may
 * be committed), and merges the hook into the chosen settings file, keeping
 * everything else in it as it was. Running it twice changes nothing more.
 *
 * @param runtime The runtime adapter.
 * @param args `--url URL [--scope user|project|local|managed] [--runtime deno|bun] [--tool-activity]`.
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * await installCommand(detectRuntime(), ["--url", "https://telemhq.com/ping/TOKEN"]);
 * ```
 */
export async function installCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  const plan = await planInstall(runtime, args);
  const source = runtime.scriptPath;
  const hookSource = source === undefined ? undefined : await runtime.readTextFile(source);
  if (hookSource === undefined) {
    throw new CommandError("Cannot install: this hook does not run from a local file. Download it first.");
  }
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
  const fs = await runtime.fs();
  await fs.mkdir(`${plan.claudeDir}/hooks`, { recursive: true, mode: 0o700 });
  await fs.chmod(`${plan.claudeDir}/hooks`, 0o700);
  await replaceFile(plan.record.hook_file, hookSource, undefined, 0o600);
  await fs.mkdir(plan.stateDir, { recursive: true, mode: 0o700 });
  await replaceFile(
    `${plan.stateDir}/${STATE_LAYOUT.config}`,
    JSON.stringify({ ping_url: plan.url.href }) + "\n",
    undefined,
    0o600,
  );
  await replaceFile(
    `${plan.stateDir}/${STATE_LAYOUT.install}`,
    JSON.stringify(plan.record, null, 2) + "\n",
    undefined,
    0o600,
  );
  if (updated !== text) await replaceFile(plan.settingsPath, updated, text, 0o644);
  console.log([
    `Installed the TelemHQ hook for Claude Code.`,
    `  hook:      ${plan.record.hook_file}`,
    `  runtime:   ${plan.record.runtime_path}`,
    `  settings:  ${plan.settingsPath} (${plan.events.map(([event]) => event).join(", ")})`,
    `  ping URL:  ${redactUrl(plan.url)}, saved in ${plan.stateDir}/${STATE_LAYOUT.config}`,
    `Check it with: ${shellWord(plan.record.runtime_path)}${plan.record.runtime === "deno" ? " run -A" : ""} ${
      shellWord(plan.record.hook_file)
    } doctor --ping`,
  ].join("\n"));
  return 0;
}

/**
 * `uninstall`: removes from the scope's settings file exactly the entries
 * `install` added, and, when no settings file runs the hook any more, the hook
 * file, the saved ping URL and the install record. Pings still in the spool
 * stay (run `flush` first).
 *
 * @param runtime The runtime adapter.
 * @param args `[--scope user|project|local]`.
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * await uninstallCommand(detectRuntime(), ["--scope", "project"]);
 * ```
 */
export async function uninstallCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  const values = parseArgs(args, ["--scope"], []);
  const scope = (values["--scope"] ?? "user") as InstallScope;
  const env = (name: string) => runtime.env(name);
  const claudeDir = claudeDirectory(env);
  const stateDir = stateDirectory(env);
  if (claudeDir === undefined || stateDir === undefined) throw new CommandError("Cannot uninstall: HOME is not set.");
  const settingsPath = settingsPathFor(scope, claudeDir, runtime.cwd());
  if (settingsPath === undefined || !(SETTINGS_SCOPES as readonly string[]).includes(scope)) {
    throw new CommandError(`Cannot uninstall: unknown scope "${scope}". Use user, project or local.`, 2);
  }
  const hookFiles = installedHookFiles(claudeDir);
  const { settings, text } = await readSettings(settingsPath);
  const removed = removeOurHooks(settings, hookFiles);
  if (removed > 0) await replaceFile(settingsPath, formatSettings(settings, text), text, 0o644);
  const stillUsed = (await scanSettings(claudeDir, runtime.cwd()))
    .filter((file) => file.hooks.length > 0 || file.error !== undefined)
    .map((file) => file.path);
  const fs = await runtime.fs();
  if (stillUsed.length === 0) {
    for (const file of hookFiles) await fs.rm(file, { force: true });
    await fs.rm(`${stateDir}/${STATE_LAYOUT.config}`, { force: true });
    await fs.rm(`${stateDir}/${STATE_LAYOUT.install}`, { force: true });
  }
  console.log(
    removed > 0
      ? `Removed the TelemHQ hook from ${settingsPath} (${removed} entries).`
      : `Nothing to remove in ${settingsPath}: it does not run the TelemHQ hook.`,
  );
  console.log(
    stillUsed.length === 0
      ? `Removed the hook file and the saved ping URL. Pings still in ${stateDir}/${STATE_LAYOUT.spool} stay there.`
      : `Kept the hook file: ${stillUsed.join(" and ")} still run it.`,
  );
  return 0;
}
