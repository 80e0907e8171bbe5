/**
 * Claude Code's settings files, as `install`, `uninstall` and `doctor` use
 * them: which file each scope means, the project's folder (its git root, as
 * Claude Code finds it), reading one (refused with its line when broken),
 * finding, adding and removing our hook entries, the scan of every file
 * Claude Code merges, and writing one back atomically with a backup, keeping
 * everything else as it was.
 *
 * Owns: the scopes, the project's folder, `readSettings`, our hook entries in
 * settings and the hook file names they run, `scanSettings`, the TelemHQ
 * plugins they enable, `replaceFile`.
 * Uses: input, paths, runtime, files, launcher, cli_args.
 *
 * @module
 */

import { CommandError } from "./cli_args.ts";
import { describeError } from "./input.ts";
import { foldersToSearchUp, homeDirectory, hostPathStyle } from "./paths.ts";
import { nodeFs, type Runtime } from "./runtime.ts";
import { openRegularFile, writeFileAtomically } from "./files.ts";
import { LAUNCHER_FILE_NAME } from "./launcher.ts";

/** The largest settings file read (Claude Code's are a few kilobytes). */
const MAX_SETTINGS_BYTES = 1 << 20;

/** Where `install` wires the hook: `~/.claude/settings.json`, the repository's shared or local file, or a printed policy. */
export type InstallScope = "user" | "project" | "local" | "managed";

/** The scopes that are a settings file on this machine, in the order Claude Code's docs list them. */
export const SETTINGS_SCOPES: readonly Exclude<InstallScope, "managed">[] = ["user", "project", "local"];

/** Every scope `install` accepts. */
export const INSTALL_SCOPES: readonly InstallScope[] = [...SETTINGS_SCOPES, "managed"];

/**
 * The settings file of a scope.
 *
 * @param scope The scope.
 * @param claudeDir Claude Code's folder (the user scope).
 * @param projectDir The project's folder (project and local scopes).
 * @returns The file, or undefined for `managed` (a printed policy).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(settingsPathFor("local", "/home/me/.claude", "/src/api"), "/src/api/.claude/settings.local.json");
 * ```
 */
export function settingsPathFor(scope: InstallScope, claudeDir: string, projectDir: string): string | undefined {
  if (scope === "user") return `${claudeDir}/settings.json`;
  if (scope === "project") return `${projectDir}/.claude/settings.json`;
  if (scope === "local") return `${projectDir}/.claude/settings.local.json`;
  return undefined;
}

/** A settings file's content: any JSON object. */
export type Settings = Record<string, unknown>;

/** One hook entry of a settings file, as far as we read it. */
export interface HookEntry {
  type?: string;
  command?: string;
  timeout?: number;
}

/** A group of hook entries under an event, with its matcher. */
export interface HookGroup {
  matcher?: string;
  hooks?: HookEntry[];
}

/**
 * Reads a settings file: absent is empty; not JSON or not an object is refused, with the line.
 *
 * @param path The file.
 * @returns The settings, and the file's text when it exists.
 * @throws {CommandError} When it cannot be read or is not a JSON object with an object `hooks`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(await readSettings("/nonexistent/settings.json"), { settings: {} });
 * ```
 */
export async function readSettings(path: string): Promise<{ settings: Settings; text?: string }> {
  const fs = await nodeFs();
  let text: string;
  try {
    // A regular file of sane size only: a repository's settings file could be a FIFO or /dev/zero.
    const { file, size } = await openRegularFile(fs, path, true);
    try {
      if (size > MAX_SETTINGS_BYTES) throw Object.assign(new Error("too large"), { code: "EFBIG" });
      const bytes = new Uint8Array(size);
      const { bytesRead } = await file.read(bytes, 0, size, 0);
      text = new TextDecoder().decode(bytes.subarray(0, bytesRead));
    } finally {
      await file.close();
    }
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return { settings: {} };
    const why = (error as Error).message?.startsWith("not a regular file")
      ? "not a regular file"
      : describeError(error);
    throw new CommandError(`Cannot read settings file "${path}": ${why}. Check it, then run this again.`);
  }
  if (text.trim() === "") return { settings: {}, text };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Runtimes word JSON errors differently (Bun and Deno give no position): find the line ourselves.
    const at = jsonErrorLine(text);
    const line = at === undefined ? "" : ` at line ${at}`;
    throw new CommandError(
      `Cannot read settings file "${path}": not valid JSON${line}. Fix it, then run this again; nothing was changed.`,
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new CommandError(
      `Cannot read settings file "${path}": it is not a JSON object. Fix it, then run this again; nothing was changed.`,
    );
  }
  const hooks = (value as Settings).hooks;
  if (hooks !== undefined && (hooks === null || typeof hooks !== "object" || Array.isArray(hooks))) {
    throw new CommandError(
      `Cannot read settings file "${path}": "hooks" is not an object. Fix it, then run this again; nothing was changed.`,
    );
  }
  return { settings: value as Settings, text };
}

const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const JSON_LITERAL = /true|false|null/y;
const JSON_ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

/**
 * The line of the first mistake in a text that is not valid JSON (RFC 8259),
 * found by scanning it: the same answer under Deno, Bun and Node, whose
 * `JSON.parse` errors differ (and may give no position at all).
 *
 * @param text The text.
 * @returns The 1-based line of the first mistake, or undefined when the text is valid JSON.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(jsonErrorLine('{\n  "a": 1,\n  "b": ,\n}'), 3);
 * assert.equal(jsonErrorLine('{"a": [1, 2]}'), undefined);
 * ```
 */
export function jsonErrorLine(text: string): number | undefined {
  let at = 0;
  const stack: string[] = [];
  let expect: "value" | "key" | "colon" | "after" = "value";
  const lineOf = (offset: number) => text.slice(0, offset).split("\n").length;
  const match = (pattern: RegExp) => {
    pattern.lastIndex = at;
    if (!pattern.test(text)) return false;
    at = pattern.lastIndex;
    return true;
  };
  const string = () => {
    at++;
    while (at < text.length) {
      const char = text[at];
      if (char === '"') {
        at++;
        return true;
      }
      if (char === "\\") {
        if (!match(JSON_ESCAPE)) return false;
      } else if (char < " ") return false;
      else at++;
    }
    return false;
  };
  while (true) {
    while (at < text.length && " \t\n\r".includes(text[at])) at++;
    if (at >= text.length) return stack.length === 0 && expect === "after" ? undefined : lineOf(at);
    const char = text[at];
    if (expect === "value") {
      if (char === "{" || char === "[") {
        stack.push(char);
        at++;
        expect = char === "{" ? "key" : "value";
        while (at < text.length && " \t\n\r".includes(text[at])) at++;
        if (text[at] === (char === "{" ? "}" : "]")) {
          stack.pop();
          at++;
          expect = "after";
        }
      } else if (char === '"' ? string() : match(JSON_NUMBER) || match(JSON_LITERAL)) expect = "after";
      else return lineOf(at);
    } else if (expect === "key") {
      if (char !== '"' || !string()) return lineOf(at);
      expect = "colon";
    } else if (expect === "colon") {
      if (char !== ":") return lineOf(at);
      at++;
      expect = "value";
    } else {
      const open = stack[stack.length - 1];
      if (char === "," && open !== undefined) {
        at++;
        expect = open === "{" ? "key" : "value";
      } else if ((char === "}" && open === "{") || (char === "]" && open === "[")) {
        stack.pop();
        at++;
      } else return lineOf(at);
    }
  }
}

/** Whether a hook entry's command runs one of our hook files. */
function runsOurHook(command: unknown, hookFiles: readonly string[]): command is string {
  return typeof command === "string" && hookFiles.some((file) => command.includes(file));
}

/** One of our hook entries found in a settings file. */
export interface WiredHook {
  /** The event it runs on. */
  event: string;
  /** Its command. */
  command: string;
  /** Which of our hook files it runs. */
  hookFile: string;
}

/**
 * Lists the hook entries of a settings file that run one of our hook files.
 *
 * @param settings A settings file's content.
 * @param hookFiles Our hook files.
 * @returns One item per entry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const settings = { hooks: { Stop: [{ hooks: [{ type: "command", command: "bun /h/telemhq.ts" }] }] } };
 * assert.equal(findOurHooks(settings, ["/h/telemhq.ts"])[0].event, "Stop");
 * ```
 */
export function findOurHooks(settings: Settings, hookFiles: readonly string[]): WiredHook[] {
  const found: WiredHook[] = [];
  for (const [event, groups] of Object.entries((settings.hooks ?? {}) as Record<string, unknown>)) {
    for (const group of Array.isArray(groups) ? groups as HookGroup[] : []) {
      for (const hook of Array.isArray(group?.hooks) ? group.hooks : []) {
        if (!runsOurHook(hook?.command, hookFiles)) continue;
        const command = hook.command!;
        found.push({ event, command, hookFile: hookFiles.find((file) => command.includes(file))! });
      }
    }
  }
  return found;
}

/**
 * Removes every hook entry that runs one of `hookFiles`; groups and events it empties go too.
 *
 * @param settings A settings file's content, changed in place.
 * @param hookFiles Our hook files.
 * @returns How many entries were removed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const settings = { hooks: { Stop: [{ hooks: [{ type: "command", command: "bun /h/telemhq.ts" }] }] } };
 * assert.equal(removeOurHooks(settings, ["/h/telemhq.ts"]), 1);
 * assert.deepEqual(settings, {});
 * ```
 */
export function removeOurHooks(settings: Settings, hookFiles: readonly string[]): number {
  const hooks = settings.hooks as Record<string, unknown> | undefined;
  if (hooks === undefined) return 0;
  let removed = 0;
  for (const [event, groups] of Object.entries(hooks)) {
    if (!Array.isArray(groups)) continue;
    const kept = (groups as HookGroup[]).flatMap((group) => {
      if (!Array.isArray(group?.hooks)) return [group];
      const others = group.hooks.filter((hook) => !runsOurHook(hook?.command, hookFiles));
      removed += group.hooks.length - others.length;
      if (others.length === group.hooks.length) return [group];
      return others.length === 0 ? [] : [{ ...group, hooks: others }];
    });
    if (kept.length === 0 && groups.length > 0) delete hooks[event];
    else hooks[event] = kept;
  }
  if (Object.keys(hooks).length === 0) delete settings.hooks;
  return removed;
}

/**
 * Adds one hook entry per event, each in a group of its own, after the events' other groups.
 *
 * @param settings A settings file's content, changed in place.
 * @param events The events, each with its matcher if any.
 * @param entry The hook entry to add.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const settings = {};
 * addHooks(settings, [["Stop"]], { type: "command", command: "true", timeout: 10 });
 * assert.deepEqual(settings, { hooks: { Stop: [{ hooks: [{ type: "command", command: "true", timeout: 10 }] }] } });
 * ```
 */
export function addHooks(
  settings: Settings,
  events: readonly (readonly [string, string?])[],
  entry: HookEntry,
): void {
  const hooks = (settings.hooks ??= {}) as Record<string, HookGroup[]>;
  for (const [event, matcher] of events) {
    const group: HookGroup = { ...(matcher !== undefined ? { matcher } : {}), hooks: [{ ...entry }] };
    hooks[event] = [...(Array.isArray(hooks[event]) ? hooks[event] : []), group];
  }
}

/**
 * Serializes settings as the file was written: its indentation, its final newline.
 *
 * @param settings A settings file's content.
 * @param original The file's text before, if it existed.
 * @returns The new text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(formatSettings({ a: 1 }, '{\n    "b": 2\n}\n'), '{\n    "a": 1\n}\n');
 * ```
 */
export function formatSettings(settings: Settings, original: string | undefined): string {
  const indent = original?.match(/^([ \t]+)"/m)?.[1] ?? "  ";
  const newline = original === undefined || original.endsWith("\n") ? "\n" : "";
  return JSON.stringify(settings, null, indent) + newline;
}

/**
 * Writes a settings or state file atomically (a new temporary file, then a
 * rename: never written through a symlink), keeping a backup of what it
 * replaces the same way. The file keeps its mode, unless `mode` must hold
 * (a file with a secret is 0600 whatever it was).
 *
 * @param path The file.
 * @param text Its new content.
 * @param options `backup`: its content before, kept as `<path>.telemhq-backup`; `mode`: the mode of a new
 *   file; `forceMode`: set `mode` even on an existing file.
 *
 * @example
 * ```ts ignore
 * await replaceFile(settingsPath, formatSettings(settings, text), { backup: text, mode: 0o644 });
 * ```
 */
export async function replaceFile(
  path: string,
  text: string,
  options: { backup?: string; mode: number; forceMode?: boolean },
): Promise<void> {
  const fs = await nodeFs();
  await fs.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o700 });
  const existing = options.forceMode
    ? undefined
    : await fs.stat(path).then((stat) => stat.mode & 0o777, () => undefined);
  if (options.backup !== undefined) await writeFileAtomically(fs, `${path}.telemhq-backup`, options.backup, 0o600);
  await writeFileAtomically(fs, path, text, existing ?? options.mode);
}

/** What Node starts the installed JavaScript hook through (see `nodeEntrySource`). */
export const NODE_ENTRY_FILE_NAME = "telemhq-node.mjs";

/** The installed hook's file name in Claude Code's `hooks/` folder: hook.ts's TypeScript, or the npm build's JavaScript. */
export const HOOK_FILE_NAMES = { ts: "telemhq.ts", mjs: "telemhq.mjs" } as const;

/**
 * Every file install puts in Claude Code's `hooks/` (the hook, and its launcher): entries running them are ours.
 *
 * @param claudeDir Claude Code's folder.
 * @returns The paths.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(installedHookFiles("/h/.claude"), [
 *   "/h/.claude/hooks/telemhq.ts",
 *   "/h/.claude/hooks/telemhq.mjs",
 *   "/h/.claude/hooks/telemhq-node.mjs",
 *   "/h/.claude/hooks/telemhq.sh",
 * ]);
 * ```
 */
export function installedHookFiles(claudeDir: string): string[] {
  return [...Object.values(HOOK_FILE_NAMES), NODE_ENTRY_FILE_NAME, LAUNCHER_FILE_NAME].map((name) =>
    `${claudeDir}/hooks/${name}`
  );
}

/** One settings file, scanned for our hook entries. */
export interface ScannedSettings {
  /** The scope. */
  scope: InstallScope;
  /** Its file. */
  path: string;
  /** Our entries in it (empty when it does not exist). */
  hooks: WiredHook[];
  /** Its content, when it exists and could be read. */
  settings?: Settings;
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
      const { settings, text } = await readSettings(path);
      scanned.push({
        scope,
        path,
        hooks: findOurHooks(settings, hookFiles),
        ...(text !== undefined ? { settings } : {}),
      });
    } catch (error) {
      scanned.push({ scope, path, hooks: [], error: (error as Error).message });
    }
  }
  return scanned;
}

/**
 * The TelemHQ plugins (`telemhq@<marketplace>`) the scanned settings files enable.
 *
 * @param scanned The settings files (see {@linkcode scanSettings}).
 * @returns The plugin ids, each once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const scanned = [{ scope: "user" as const, path: "/s", hooks: [], settings: { enabledPlugins: { "telemhq@telemhq": true } } }];
 * assert.deepEqual(enabledTelemhqPlugins(scanned), ["telemhq@telemhq"]);
 * ```
 */
export function enabledTelemhqPlugins(scanned: readonly ScannedSettings[]): string[] {
  // Files are scanned user, project, local: a later file's choice wins, as in Claude Code (a local false disables).
  const enabled = new Map<string, boolean>();
  for (const file of scanned) {
    const plugins = file.settings?.enabledPlugins;
    if (plugins === null || typeof plugins !== "object" || Array.isArray(plugins)) continue;
    for (const [id, on] of Object.entries(plugins)) {
      if (/^telemhq@[A-Za-z0-9._-]{1,64}$/.test(id) && typeof on === "boolean") enabled.set(id, on);
    }
  }
  return [...enabled].filter(([, on]) => on).map(([id]) => id);
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
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * const project = await projectDirectory(detectRuntime(), undefined);
 * assert.ok(project === undefined || project.startsWith("/"));
 * ```
 */
export async function projectDirectory(runtime: Runtime, dir: string | undefined): Promise<string | undefined> {
  const fs = await runtime.fs();
  if (dir !== undefined) return await fs.realpath(dir).catch(() => undefined);
  const style = hostPathStyle();
  const home = homeDirectory((name) => runtime.env(name), style);
  for (const current of foldersToSearchUp(runtime.cwd(), style, home)) {
    if (await runtime.lstat(`${current.replace(/[\\/]$/, "")}/.git`) !== undefined) {
      // Only a repository of this user's: another user's `.git` above us (in /tmp, say) is not our project.
      const uid = runtime.uid();
      const owner = (await runtime.lstat(current))?.uid;
      return uid === undefined || owner === uid ? current : undefined;
    }
  }
  return undefined;
}

/**
 * A scope given on the command line, checked.
 *
 * @param value The `--scope` value, if any (default `user`).
 * @param allowed The scopes the command takes.
 * @param action The command, for the message.
 * @returns The scope.
 * @throws {CommandError} On any other value (exit code 2).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(scopeOf(undefined, INSTALL_SCOPES, "install"), "user");
 * ```
 */
export function scopeOf(value: string | undefined, allowed: readonly InstallScope[], action: string): InstallScope {
  const scope = (value ?? "user") as InstallScope;
  if (!allowed.includes(scope)) {
    throw new CommandError(`Cannot ${action}: unknown scope "${scope}". Use ${allowed.join(", ")}.`, 2);
  }
  return scope;
}

/**
 * The settings file of a scope: a user's own file where its link points, or the
 * repository's file at its root (never through a link in the repository).
 *
 * @param runtime The runtime adapter.
 * @param scope The scope.
 * @param claudeDir Claude Code's folder.
 * @param dir `--dir`, if given.
 * @param action The command, for messages.
 * @returns The file, or undefined for `managed`.
 *
 * @example
 * ```ts ignore
 * const path = await scopeSettingsPath(runtime, "project", claudeDir, undefined, "install");
 * ```
 */
export async function scopeSettingsPath(
  runtime: Runtime,
  scope: InstallScope,
  claudeDir: string,
  dir: string | undefined,
  action: string,
): Promise<string | undefined> {
  if (scope === "managed") return undefined;
  if (scope === "user") {
    // A user's settings file may be a link into their dotfiles: the file it points to is the one to edit.
    const path = settingsPathFor(scope, claudeDir, "")!;
    const facts = await runtime.lstat(path);
    return facts?.kind === "symlink" ? await runtime.realpath(path) ?? path : path;
  }
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
  const path = settingsPathFor(scope, claudeDir, project)!;
  for (const link of [`${project}/.claude`, path]) {
    if ((await runtime.lstat(link))?.kind === "symlink") {
      throw new CommandError(
        `Cannot ${action}: "${link}" is a symlink, and in a repository nothing is read or written through a ` +
          `link (it could lead anywhere). Replace it with a real file or folder, or use --scope user.`,
      );
    }
  }
  return path;
}
