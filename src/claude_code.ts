/**
 * Which Claude Code runs here, and what it accepts. The first version that
 * fires each hook event (data, recorded from real releases by
 * `scripts/probe-hook-events.ts`); finding the `claude` executables where
 * Claude Code's installers put them and reading their versions from their
 * files, without running them; and the settings a version ignores as a whole:
 * up to 2.1.100, one hook event it does not know (or one malformed hook
 * entry) makes Claude Code skip the whole file, the user's own hooks, `env`
 * and permissions with it, silently in `-p` mode.
 *
 * Owns: `HOOK_EVENT_SINCE`, `CLAUDE_CODE_FEATURES`, `compareVersions`,
 * `knowsEvent`, `findClaudeCode`, `settingsRejection`, `ignoredEvents`,
 * `findGitBash`. Uses: paths, runtime, runtime_detect, files.
 *
 * @module
 */

import { isAbsolutePath, isInsideFolder, isNetworkPath, parentFolder, samePath } from "./paths.ts";
import type { Runtime } from "./runtime.ts";
import { runQuietly } from "./runtime_detect.ts";
import { openRegularFile, readSmallFile } from "./files.ts";

/**
 * The first Claude Code release whose settings accept each hook event, found
 * by bisecting every release on npm (`deno task record:hook-events`). Events wired
 * into a settings file of an older release make it skip the whole file (up to
 * 2.1.100) or only that event (from 2.1.101). Hooks run from 1.0.38.
 */
export const HOOK_EVENT_SINCE: Readonly<Record<string, string>> = {
  PreToolUse: "1.0.23",
  PostToolUse: "1.0.23",
  Notification: "1.0.23",
  Stop: "1.0.31",
  SubagentStop: "1.0.41",
  PreCompact: "1.0.48",
  UserPromptSubmit: "1.0.53",
  SessionStart: "1.0.62",
  SessionEnd: "1.0.85",
  SubagentStart: "2.0.44",
  PermissionRequest: "2.0.45",
  PostToolUseFailure: "2.0.56",
  Setup: "2.1.10",
  TeammateIdle: "2.1.33",
  TaskCompleted: "2.1.33",
  ConfigChange: "2.1.48",
  WorktreeCreate: "2.1.50",
  WorktreeRemove: "2.1.50",
  Elicitation: "2.1.63",
  ElicitationResult: "2.1.63",
  InstructionsLoaded: "2.1.69",
  PostCompact: "2.1.76",
  StopFailure: "2.1.78",
  CwdChanged: "2.1.83",
  FileChanged: "2.1.83",
  TaskCreated: "2.1.84",
  PermissionDenied: "2.1.88",
  UserPromptExpansion: "2.1.116",
  PostToolBatch: "2.1.118",
  MessageDisplay: "2.1.152",
  DirectoryAdded: "2.1.219",
  PreModelSwitch: "2.1.251",
  PostModelSwitch: "2.1.251",
  PreSkillShellCommand: "2.1.332",
};

/** Where temporary folders go. */
function tmpDirectory(runtime: Runtime): string {
  return (runtime.env("TMPDIR") || "/tmp").replace(/\/+$/, "") || "/tmp";
}

/** The first release with each hook `type` (a type a release does not know fails its settings file up to 2.1.100). */
const HOOK_TYPE_SINCE: Readonly<Record<string, string>> = {
  command: "1.0.23",
  prompt: "2.0.30",
  agent: "2.0.44",
  http: "2.1.48",
  mcp_tool: "2.1.332",
};

/** Releases where Claude Code's handling of hooks and plugins changed, as the probe found them. */
export const CLAUDE_CODE_FEATURES: Readonly<{
  hooksRun: string;
  asyncHooks: string;
  unknownEventsDropped: string;
  pluginInstall: string;
  pluginOptions: string;
  pluginData: string;
  pluginUnknownEventsDropped: string;
  promptIdInHooks: string;
}> = {
  /** The first release that runs hooks at all. */
  hooksRun: "1.0.38",
  /** `async: true` on a command hook (stripped, so the hook blocks, before). */
  asyncHooks: "2.1.15",
  /** An unknown event in a settings file is dropped with a warning, not the whole file. */
  unknownEventsDropped: "2.1.101",
  /** `claude plugin install`. */
  pluginInstall: "2.0.20",
  /** A plugin's `userConfig` and `CLAUDE_PLUGIN_OPTION_*` in its hooks. */
  pluginOptions: "2.1.75",
  /** `CLAUDE_PLUGIN_DATA`. */
  pluginData: "2.1.78",
  /** An unknown event in a plugin's hooks.json drops that entry, not all its hooks. */
  pluginUnknownEventsDropped: "2.1.257",
  /** `prompt_id` in every hook's input. */
  promptIdInHooks: "2.1.196",
};

const VERSION = /^(\d{1,4})\.(\d{1,4})\.(\d{1,5})$/;

/**
 * Compares two `X.Y.Z` versions.
 *
 * @param a A version.
 * @param b Another.
 * @returns Negative when `a` is older, 0 when equal, positive when newer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.ok(compareVersions("2.0.77", "2.1.78") < 0);
 * assert.ok(compareVersions("2.1.100", "2.1.99") > 0);
 * ```
 */
export function compareVersions(a: string, b: string): number {
  const parts = (version: string) => (version.match(VERSION) ?? [, 0, 0, 0]).slice(1).map(Number);
  const [x, y] = [parts(a), parts(b)];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/**
 * Whether a string is a Claude Code version (`X.Y.Z`).
 *
 * @param text The string.
 * @returns True for `2.1.332`, false for anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(isClaudeCodeVersion("2.0.77"), true);
 * assert.equal(isClaudeCodeVersion("latest"), false);
 * ```
 */
export function isClaudeCodeVersion(text: string): boolean {
  return VERSION.test(text);
}

/**
 * Whether a Claude Code version knows a hook event. Without a version, only
 * the events every release that runs hooks knows count as known.
 *
 * @param event A hook event name.
 * @param version The Claude Code version, if known.
 * @returns True when that version accepts the event in its settings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(knowsEvent("StopFailure", "2.0.77"), false);
 * assert.equal(knowsEvent("Stop", undefined), true);
 * ```
 */
export function knowsEvent(event: string, version: string | undefined): boolean {
  const since = Object.hasOwn(HOOK_EVENT_SINCE, event) ? HOOK_EVENT_SINCE[event] : undefined;
  if (since === undefined) return false;
  return compareVersions(since, version ?? CLAUDE_CODE_FEATURES.hooksRun) <= 0;
}

/**
 * Why a Claude Code version would skip a whole settings file, or undefined
 * when it loads it: up to 2.1.100, a hook event it does not know, a hook
 * `type` it does not know, or a `timeout` that is not a positive number.
 * (From 2.1.101 such events and entries are dropped one by one: see
 * {@linkcode ignoredEvents}.)
 *
 * @param settings A settings file's content.
 * @param version The Claude Code version.
 * @returns One line naming the event or entry, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const settings = { hooks: { StopFailure: [{ hooks: [{ type: "command", command: "true" }] }] } };
 * assert.match(settingsRejection(settings, "2.0.77")!, /"StopFailure"/);
 * assert.equal(settingsRejection(settings, "2.1.332"), undefined);
 * ```
 */
export function settingsRejection(settings: unknown, version: string): string | undefined {
  const tolerant = compareVersions(version, CLAUDE_CODE_FEATURES.unknownEventsDropped) >= 0;
  const hooks = (settings as { hooks?: unknown } | undefined)?.hooks;
  if (!tolerant) {
    const permissions = permissionsProblem((settings as { permissions?: unknown } | undefined)?.permissions);
    if (permissions !== undefined) return permissions;
  }
  if (hooks === undefined || hooks === null || typeof hooks !== "object" || Array.isArray(hooks)) return undefined;
  for (const [event, groups] of Object.entries(hooks)) {
    // From 2.1.101 a bad entry is dropped alone, except under the events that guard permissions.
    if (tolerant && !GUARD_EVENTS.has(event)) continue;
    if (!knowsEvent(event, version)) {
      const since = Object.hasOwn(HOOK_EVENT_SINCE, event) ? ` (it arrived in ${HOOK_EVENT_SINCE[event]})` : "";
      return `it names the hook event ${shown(event)}, which Claude Code ${version} does not know${since}`;
    }
    if (!Array.isArray(groups)) return `its ${shown(event)} hooks are not a list`;
    for (const group of groups) {
      const shape = groupProblem(group);
      if (shape !== undefined) return `its ${shown(event)} hooks hold ${shape}`;
      for (const entry of (group as { hooks: unknown[] }).hooks) {
        const problem = entryProblem(entry, version);
        if (problem !== undefined) return `its ${shown(event)} hooks hold ${problem}`;
      }
    }
  }
  return undefined;
}

/** Events under which Claude Code still refuses a whole file over a bad entry (they may guard permissions). */
const GUARD_EVENTS: ReadonlySet<string> = new Set(["PreToolUse", "PermissionRequest", "PreSkillShellCommand"]);

/** A name from a settings file, quoted and with its control characters escaped: never raw on a terminal. */
function shown(name: string): string {
  return JSON.stringify(name.slice(0, 60)).replace(/[\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/g, "?");
}

/** `permissions.allow`, `deny` and `ask` must be lists of strings. */
function permissionsProblem(permissions: unknown): string | undefined {
  if (permissions === undefined) return undefined;
  if (permissions === null || typeof permissions !== "object" || Array.isArray(permissions)) {
    return "its permissions are not an object";
  }
  for (const key of ["allow", "deny", "ask"]) {
    const rules = (permissions as Record<string, unknown>)[key];
    if (rules !== undefined && !(Array.isArray(rules) && rules.every((rule) => typeof rule === "string"))) {
      return `its permissions.${key} is not a list of strings`;
    }
  }
  return undefined;
}

/** A matcher group must be an object with an optional string `matcher` and a `hooks` list. */
function groupProblem(group: unknown): string | undefined {
  if (group === null || typeof group !== "object" || Array.isArray(group)) return "an entry that is not an object";
  const { matcher, hooks } = group as { matcher?: unknown; hooks?: unknown };
  if (matcher !== undefined && typeof matcher !== "string") return "a matcher that is not a string";
  if (!Array.isArray(hooks)) return `a group whose "hooks" is not a list`;
  return undefined;
}

function entryProblem(entry: unknown, version: string): string | undefined {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) return "an entry that is not an object";
  const { type, timeout, command, prompt, once, statusMessage } = entry as Record<string, unknown>;
  const since = typeof type === "string" && Object.hasOwn(HOOK_TYPE_SINCE, type) ? HOOK_TYPE_SINCE[type] : undefined;
  if (type === undefined) return "a hook without a type";
  if (since === undefined || compareVersions(since, version) > 0) {
    return `a hook of type ${JSON.stringify(type)?.slice(0, 40)}, which Claude Code ${version} does not know`;
  }
  if (type === "command" && typeof command !== "string") return "a command hook without a command string";
  if ((type === "prompt" || type === "agent") && typeof prompt !== "string") return `a ${type} hook without a prompt`;
  if (timeout !== undefined && !(typeof timeout === "number" && Number.isFinite(timeout) && timeout > 0)) {
    return `a timeout that is not a positive number (${JSON.stringify(timeout)?.slice(0, 20)})`;
  }
  if (once !== undefined && typeof once !== "boolean") return "a once that is not true or false";
  if (statusMessage !== undefined && typeof statusMessage !== "string") return "a statusMessage that is not a string";
  return undefined;
}

/**
 * The hook events in a settings file that a Claude Code version drops, one by
 * one (from 2.1.101; older versions skip the whole file instead).
 *
 * @param settings A settings file's content.
 * @param version The Claude Code version.
 * @returns The event names it does not know, quoted and escaped for a terminal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(ignoredEvents({ hooks: { Stop: [], Nope: [] } }, "2.1.332"), ['"Nope"']);
 * ```
 */
export function ignoredEvents(settings: unknown, version: string): string[] {
  const hooks = (settings as { hooks?: unknown } | undefined)?.hooks;
  if (hooks === undefined || hooks === null || typeof hooks !== "object" || Array.isArray(hooks)) return [];
  return Object.keys(hooks).filter((event) => !knowsEvent(event, version)).map(shown);
}

/** A `claude` executable found on this machine. */
export interface ClaudeCodeFound {
  /** Where it was found (the name on PATH, or an installer's place). */
  path: string;
  /** Its version, read from its files, or from `--version`; undefined when neither says. */
  version?: string;
}

/**
 * Finds the `claude` executables this user may run: on `PATH` and where
 * Claude Code's installers put it (`~/.local/bin`, `~/.claude/local`), each
 * once, with its version read from its files (a native install's `versions/`
 * folder, an npm install's `package.json` or `cli.js` header) or, failing
 * that, from `claude --version`.
 *
 * @param runtime The runtime adapter.
 * @param claudeDir Claude Code's folder (`~/.claude`, or `CLAUDE_CONFIG_DIR`).
 * @returns What was found, `PATH` first.
 *
 * @example
 * ```ts ignore
 * const [first] = await findClaudeCode(detectRuntime(), "/home/me/.claude");
 * console.log(first?.version);
 * ```
 */
export async function findClaudeCode(runtime: Runtime, claudeDir: string): Promise<ClaudeCodeFound[]> {
  const home = runtime.env("HOME");
  const candidates = [
    ...(runtime.env("PATH") ?? "").split(":").filter((dir) => dir.startsWith("/")).map((dir) => `${dir}/claude`),
    ...(home === undefined ? [] : [`${home}/.local/bin/claude`, `${home}/.claude/local/claude`]),
    `${claudeDir}/local/claude`,
  ];
  const found: ClaudeCodeFound[] = [];
  const seen = new Set<string>();
  for (const path of candidates) {
    const real = await runtime.realpath(path);
    if (real === undefined || seen.has(real) || (await runtime.lstat(real))?.kind !== "file") continue;
    seen.add(real);
    // Only the claude a shell would run (the first found) is asked, by the name it is run by: a version
    // manager's shim picks the release from that name. It gets no token and a throwaway HOME.
    const version = await versionFromFiles(runtime, path, real) ??
      (found.length === 0 ? await versionFromCommand(runtime, path) : undefined);
    found.push(version === undefined ? { path } : { path, version });
  }
  return found;
}

/** The version an install's own files state; never a path taken from a file's content. */
async function versionFromFiles(runtime: Runtime, path: string, real: string): Promise<string | undefined> {
  // The native installer: ~/.local/bin/claude -> ~/.local/share/claude/versions/X.Y.Z (Homebrew: Caskroom/claude-code/X.Y.Z/).
  const named = real.match(/\/claude\/versions\/(\d+\.\d+\.\d+)$/) ?? real.match(/\/Caskroom\/claude-code\/([\d.]+)\//);
  if (named !== null && VERSION.test(named[1])) return named[1];
  // npm up to 2.1.112: the CLI is cli.js, whose first line after the shebang says `// Version: X.Y.Z`.
  if (/\/cli\.m?js$/.test(real)) {
    const version = (await readHead(runtime, real)).match(/^\/\/ Version: (\d+\.\d+\.\d+)$/m)?.[1];
    return version !== undefined && VERSION.test(version) ? version : undefined;
  }
  // npm from 2.1.113: bin/claude.exe, the native binary, beside the package's package.json.
  const npmRoot = real.match(/^(.*\/@anthropic-ai\/claude-code)\/bin\/claude(\.exe)?$/)?.[1] ??
    // The "local" install's wrapper script: ~/.claude/local/claude runs ~/.claude/local/node_modules/.bin/claude.
    (path.endsWith("/local/claude")
      ? `${path.slice(0, -"/claude".length)}/node_modules/@anthropic-ai/claude-code`
      : undefined);
  if (npmRoot === undefined) return undefined;
  try {
    const manifest = JSON.parse(await readSmallFile(await runtime.fs(), `${npmRoot}/package.json`, 65_536, true) ?? "");
    if (manifest?.name === "@anthropic-ai/claude-code" && VERSION.test(manifest.version)) return manifest.version;
  } catch {
    // Not an npm install after all.
  }
  return undefined;
}

/** The first bytes of a regular file, as text ("" when it cannot be read): cli.js is 10 MB, its header 2 KB. */
async function readHead(runtime: Runtime, path: string, bytes = 2048): Promise<string> {
  try {
    const { file } = await openRegularFile(await runtime.fs(), path, true);
    try {
      const buffer = new Uint8Array(bytes);
      const { bytesRead } = await file.read(buffer, 0, bytes, 0);
      return new TextDecoder().decode(buffer.subarray(0, bytesRead));
    } finally {
      await file.close();
    }
  } catch {
    return "";
  }
}

/** `claude --version` ("2.1.332 (Claude Code)"): a few ms for a native build, up to a second for an npm one. */
async function versionFromCommand(runtime: Runtime, path: string): Promise<string | undefined> {
  const home = await (await runtime.fs()).mkdtemp(`${tmpDirectory(runtime)}/telemhq-claude-version-`).catch(() =>
    undefined
  );
  if (home === undefined) return undefined;
  const run = await runQuietly([path, "--version"], 5_000, { PATH: runtime.env("PATH") ?? "/usr/bin:/bin", HOME: home })
    .finally(async () => await (await runtime.fs()).rm(home, { recursive: true, force: true }).catch(() => {}));
  const version = run?.code === 0 ? run.stdout.match(/^(\d+\.\d+\.\d+) \(Claude Code\)/)?.[1] : undefined;
  return version !== undefined && VERSION.test(version) ? version : undefined;
}

/** The Claude Code a command works for, and how to say so. */
export interface ClaudeCodeInUse {
  /** Its version; undefined when no `claude` was found, or none said its version. */
  version?: string;
  /** One line: the version and where it is, or what was not found. */
  description: string;
}

/**
 * The Claude Code to wire hooks for: the oldest of the `claude` executables
 * found (a settings file must load in each of them), or the version given.
 *
 * @param runtime The runtime adapter.
 * @param claudeDir Claude Code's folder.
 * @param given A version the user gave (`--claude-version`), already checked.
 * @returns The version and a line describing it.
 *
 * @example
 * ```ts ignore
 * const { version, description } = await claudeCodeInUse(detectRuntime(), "/home/me/.claude");
 * ```
 */
export async function claudeCodeInUse(
  runtime: Runtime,
  claudeDir: string,
  given?: string,
): Promise<ClaudeCodeInUse> {
  if (given !== undefined) return { version: given, description: `${given} (as --claude-version says)` };
  const found = await findClaudeCode(runtime, claudeDir);
  const known = found.filter((item) => item.version !== undefined)
    .sort((a, b) => compareVersions(a.version!, b.version!));
  if (known.length === 0) {
    return {
      description: found.length === 0
        ? "not found (not on PATH, in ~/.local/bin or in ~/.claude/local)"
        : `found at ${found[0].path}, but its version could not be read`,
    };
  }
  // A claude whose version is unknown may be the oldest: then only what every version knows is safe.
  const unknown = found.find((item) => item.version === undefined);
  if (unknown !== undefined) {
    return { description: `found at ${unknown.path}, but its version could not be read` };
  }
  const [oldest, ...newer] = known;
  const others = newer.filter((item) => item.version !== oldest.version);
  return {
    version: oldest.version,
    description: `${oldest.version} (${oldest.path})` +
      (others.length === 0
        ? ""
        : `; also ${others.map((item) => `${item.version} (${item.path})`).join(", ")}: the oldest counts`),
  };
}

/** Where Git for Windows puts Git Bash, as Claude Code looks for it after `CLAUDE_CODE_GIT_BASH_PATH`. */
const GIT_BASH_PLACES: readonly string[] = [
  "C:\\Program Files\\Git\\bin\\bash.exe",
  "C:\\Program Files (x86)\\Git\\bin\\bash.exe",
];

/**
 * The Git Bash Claude Code on Windows runs command hooks in, found the way
 * it finds it: `CLAUDE_CODE_GIT_BASH_PATH` (a `bash.exe` or `sh.exe`), Git
 * for Windows' own folders, then `bin\bash.exe` beside a `git` on PATH (never
 * one inside the current folder). Without one, Claude Code runs hooks in
 * PowerShell, which cannot run this hook's command.
 *
 * @param runtime The runtime adapter.
 * @returns The path, or undefined when there is none.
 *
 * @example
 * ```ts ignore
 * const bash = await findGitBash(detectRuntime());
 * ```
 */
export async function findGitBash(runtime: Runtime): Promise<string | undefined> {
  const isFile = async (path: string) => (await runtime.lstat(path))?.kind === "file";
  const given = runtime.env("CLAUDE_CODE_GIT_BASH_PATH")?.trim();
  if (
    given && isAbsolutePath(given, "windows") && /(?:^|[\\/])(?:bash|sh)(?:\.exe)?$/i.test(given) && await isFile(given)
  ) {
    return given;
  }
  for (const place of GIT_BASH_PLACES) if (await isFile(place)) return place;
  const cwd = runtime.cwd();
  const realCwd = cwd === "" ? undefined : await runtime.realpath(cwd);
  for (const dir of (runtime.env("PATH") ?? "").split(";")) {
    if (!isAbsolutePath(dir, "windows") || isNetworkPath(dir, "windows")) continue;
    // Never a Git inside the current folder (a repository's own bash.exe), however its path is spelled.
    const real = await runtime.realpath(dir);
    if (real === undefined || !await isFile(`${real}\\git.exe`)) continue;
    if (realCwd !== undefined && (samePath(real, realCwd, "windows") || isInsideFolder(real, realCwd, "windows"))) {
      continue;
    }
    // As Claude Code does: two folders up from git.exe (Git\\cmd\\git.exe), then bin\\bash.exe.
    const bash = `${parentFolder(real, "windows") ?? real}\\bin\\bash.exe`;
    if (await isFile(bash)) return bash;
  }
  return undefined;
}
