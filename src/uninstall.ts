/**
 * `uninstall`: removes exactly what `install` added, and with the last scope
 * everything the hook kept, unless the plugin still uses it.
 *
 * Owns: `uninstallCommand`. Uses: input, runtime, state_dir, cli_args,
 * settings, install_record, policy.
 *
 * @module
 */

import { CommandError, parseArgs } from "./cli_args.ts";
import { terminalSafe } from "./input.ts";
import { readInstallRecord } from "./install_record.ts";
import type { Runtime } from "./runtime.ts";
import {
  enabledTelemhqPlugins,
  formatSettings,
  installedHookFiles,
  projectDirectory,
  readSettings,
  removeOurHooks,
  replaceFile,
  scanSettings,
  scopeOf,
  scopeSettingsPath,
  SETTINGS_SCOPES,
} from "./settings.ts";
import { scanManagedSettings } from "./policy.ts";
import {
  claudeDirectory,
  parentsProblem,
  STATE_LAYOUT,
  stateDirectory,
  stateDirProblem,
  stateDirSettingProblem,
} from "./state_dir.ts";

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
      lines.push(`Removed ${settingsPath}, which install had created (${entries(removed)}).`);
    } else {
      await replaceFile(settingsPath, formatSettings(settings, text), { mode: 0o644 });
      lines.push(`Removed the TelemHQ hook from ${settingsPath} (${entries(removed)}).`);
    }
    // install's backup of this file has served: the file is as it was, but for our entries.
    await fs.rm(`${settingsPath}.telemhq-backup`, { force: true });
  } else {
    lines.push(`Nothing to remove in ${settingsPath}: it does not run the TelemHQ hook.`);
  }
  const scanned = await scanSettings(claudeDir, await projectDirectory(runtime, values["--dir"]));
  const managed = await scanManagedSettings(await runtime.fs(), claudeDir);
  // A team's policy that runs this user's launcher keeps needing it: without it every event would fail loudly.
  const stillUsed = [...scanned, ...managed].filter((file) => file.hooks.length > 0).map((file) => file.path);
  for (const file of scanned.filter((file) => file.error !== undefined)) lines.push(`Warning: ${file.error}`);
  const plugins = enabledTelemhqPlugins([...scanned, ...managed]);
  if (stillUsed.length > 0) {
    lines.push(
      `Kept the hook file and the saved ping URL: ${stillUsed.join(" and ")} still run${
        stillUsed.length === 1 ? "s" : ""
      } the hook, so pings keep flowing.`,
    );
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
  return removed.length > 0 ? `Removed ${listed(removed)}.` : "No hook file to remove.";
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

/** "1 entry", "3 entries". */
function entries(count: number): string {
  return `${count} ${count === 1 ? "entry" : "entries"}`;
}

/** "a", "a and b", "a, b and c". */
function listed(items: readonly string[]): string {
  return items.length <= 2 ? items.join(" and ") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}
