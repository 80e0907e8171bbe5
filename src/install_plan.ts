/**
 * What `install` will do, decided and checked before anything is written:
 * the runtime (by the path `PATH` names), the files, the ping URL and the
 * options, the Claude Code the events are wired for, and the settings
 * command. Nothing here writes.
 *
 * Owns: `InstallPlan`, `planInstall`, the events to wire. Uses: input,
 * events, paths, runtime, runtime_detect, state_dir, config, ping_url, launch, launcher, cli_args,
 * settings, claude_code, fields, install_record.
 *
 * @module
 */

import { CommandError, parseArgs } from "./cli_args.ts";
import { INSTALL_EVENTS } from "./events.ts";
import { MEMBER_PATTERN } from "./fields.ts";
import {
  CLAUDE_CODE_FEATURES,
  type ClaudeCodeInUse,
  claudeCodeInUse,
  compareVersions,
  findGitBash,
  HOOK_EVENT_SINCE,
  isClaudeCodeVersion,
  knowsEvent,
} from "./claude_code.ts";
import { loadConfig } from "./config.ts";
import { readAll } from "./input.ts";
import type { InstallRecord } from "./install_record.ts";
import { denoFlagProblem, findRuntimeBinary, hookArgv, javascriptOf } from "./launch.ts";
import { LAUNCHER_FILE_NAME, launcherArgs, launcherCommand } from "./launcher.ts";
import { foldersAbove, hostPlatform } from "./paths.ts";
import { parsePingUrl, redactUrl } from "./ping_url.ts";
import type { Runtime, RuntimeKind } from "./runtime.ts";
import { runQuietly } from "./runtime_detect.ts";
import { HOOK_FILE_NAMES, INSTALL_SCOPES, type InstallScope, scopeOf, scopeSettingsPath } from "./settings.ts";
import { claudeDirectory, stateDirectory, stateDirSettingProblem } from "./state_dir.ts";

/** Claude Code's time limit for our hook, in seconds (the fast path takes milliseconds). */
/** How long Claude Code gives our hook command, in seconds: the launcher returns in milliseconds. */
export const HOOK_TIMEOUT_S = 10;

/** The oldest Node the hook runs on, as JavaScript (the npm build's floor too). */
const NODE_OLDEST = 20;

/** A script for `node -e` that prints a file's JavaScript, types stripped (Node 22.13 and later). */
const STRIP_WITH_NODE = 'process.stdout.write(require("node:module").stripTypeScriptTypes(' +
  'require("node:fs").readFileSync(process.argv[1], "utf8"), { mode: "strip" }))';

/** What install will do. */
export interface InstallPlan {
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
  /** For Node from hook.ts: the hook as JavaScript, installed instead of the TypeScript. */
  javascript?: string;
  settingsPath?: string;
  command: string;
  events: readonly (readonly [string, string?])[];
  /** The Claude Code the hooks are wired for. */
  claude: ClaudeCodeInUse;
  /** Whether `--claude-version` named it. */
  claudeVersionGiven: boolean;
}

/** A Node binary's major version, or undefined when it does not say. */
async function nodeMajor(nodePath: string): Promise<number | undefined> {
  const version = (await runQuietly([nodePath, "--version"], 10_000))?.stdout.match(/^v(\d+)\./);
  return version === null || version === undefined ? undefined : Number(version[1]);
}

/**
 * hook.ts as JavaScript for the Node install: stripped here when this runtime can (Deno, Node 22.13+), else by
 * the Node it is for; a Node that cannot either gets a clear refusal.
 */
async function javascriptFor(runtime: Runtime, nodePath: string, source: string, text: string): Promise<string> {
  const module = await import("node:module") as { stripTypeScriptTypes?: (code: string, o: object) => string };
  if (typeof module.stripTypeScriptTypes === "function") return javascriptOf(text, module.stripTypeScriptTypes);
  const run = await runQuietly([nodePath, "--no-warnings", "-e", STRIP_WITH_NODE, source], 30_000);
  if (run?.code === 0 && run.stdout.length > 0) return javascriptOf(text, () => run.stdout);
  throw new CommandError(
    `Cannot install for Node: neither ${runtime.name} nor ${nodePath} can turn hook.ts into JavaScript (Node ` +
      `22.13 and Deno can). Run install under one of them, or use the npm build (npx @telemhq/claude-code install).`,
  );
}

/** The ping URL: `--url URL`, `--url -` (the first line of stdin, off the process list), or TELEMHQ_PING_URL. */
async function pingUrlArgument(runtime: Runtime, value: string | undefined): Promise<URL> {
  // Without --url: the environment's, else the one saved before (a re-run after an upgrade keeps it).
  const { config: saved } = await loadConfig(runtime);
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
  return typedPingUrl(raw, "install");
}

/**
 * A ping URL someone typed for a command (install, a team's policy): checked as the hook checks it, and refused
 * when it cannot be a tracker's whole URL (no token after `/ping`, the guide's placeholder, a `#fragment`).
 *
 * @param raw The URL as given.
 * @param action What the command does, for its one-line error ("install", "print the policy").
 * @returns The URL.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(typedPingUrl("https://telemhq.com/ping/T0K3N", "install").host, "telemhq.com");
 * assert.throws(() => typedPingUrl("https://telemhq.com/ping/", "install"), /holds no tracking token/);
 * ```
 */
export function typedPingUrl(raw: string, action: string): URL {
  let url: URL;
  try {
    url = parsePingUrl(raw);
  } catch (error) {
    // The message names the host at most, never the token.
    throw new CommandError(
      `Cannot ${action}: ${(error as Error).message.replace("TELEMHQ_PING_URL", "the ping URL")}.`,
      2,
    );
  }
  // A URL without its token, or the guide's placeholder, could never be accepted by a tracker.
  const path = url.pathname.replace(/\/+$/, "");
  if (path === "" || /(^|\/)ping$/i.test(path) || /YOUR_/i.test(url.pathname) || url.hash !== "") {
    throw new CommandError(
      `Cannot ${action}: ${redactUrl(url)} holds no tracking token` +
        (url.hash !== "" ? " (or holds a #fragment, which is never sent)" : "") +
        `. Copy the whole ping URL from your TelemHQ tracker.`,
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

export async function planInstall(runtime: Runtime, args: readonly string[]): Promise<InstallPlan> {
  const values = parseArgs(
    args,
    ["--url", "--scope", "--runtime", "--dir", "--hash-salt", "--claude-version", "--member"],
    ["--tool-activity", "--no-tool-activity", "--no-hash-salt", "--no-member", "--plugin"],
  );
  const scope = scopeOf(values["--scope"], INSTALL_SCOPES, "install");
  const labels = checkedLabels(values);
  const chosen = chooseRuntime(runtime, values["--runtime"]);
  if (values["--url"] === "-" && values["--hash-salt"] === "-") {
    throw new CommandError(
      "Cannot install: --url - and --hash-salt - both want standard input. Give one of them another way " +
        "(TELEMHQ_PING_URL, or TELEMHQ_HASH_SALT).",
      2,
    );
  }
  const url = await pingUrlArgument(runtime, values["--url"]);
  const hashSalt = values["--no-hash-salt"] ? null : await hashSaltArgument(runtime, values["--hash-salt"]);
  const { kind, source, sourceKind } = chosen;
  const runtimePath = await installedRuntimePath(runtime, kind);
  // Node runs the hook as JavaScript: no type stripping on every event, and Node 20 runs it too.
  const hookText = kind === "node" && sourceKind === "ts" ? await runtime.readTextFile(source) : undefined;
  const javascript = hookText === undefined ? undefined : await javascriptFor(runtime, runtimePath, source, hookText);
  const folders = await installFolders(runtime, kind, sourceKind, runtimePath);
  const { claudeDir, stateDir, hookFile, projectsDir } = folders;
  // Deno checks --allow-run against its real path: the launcher resolves the link each time, and so does this.
  const resolved = kind === "deno" ? await runtime.realpath(runtimePath) : undefined;
  // A version manager's shim (mise) resolves to the manager, not to Deno: the shim it is, then.
  const realRuntime = resolved !== undefined && /\/deno$/.test(resolved) ? resolved : runtimePath;
  const argv = hookArgv(kind, realRuntime, hookFile, stateDir, { pingHost: url.host, claudeDir, projectsDir });
  const launcher = `${claudeDir}/hooks/${LAUNCHER_FILE_NAME}`;
  const claude = await claudeCodeForScope(runtime, scope, claudeDir, labels.claudeVersion);
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
    member: values["--no-member"] ? null : labels.member,
    toolActivity: values["--tool-activity"] ? true : values["--no-tool-activity"] ? false : undefined,
    claudeDir,
    stateDir,
    javascript,
    settingsPath: await scopeSettingsPath(runtime, scope, claudeDir, values["--dir"], "install"),
    command: launcherCommand(launcher, launcherArgs(kind, runtimePath, hookFile, url.host)),
    events: INSTALL_EVENTS.always,
    claude,
    claudeVersionGiven: labels.claudeVersion !== undefined,
  };
}

/** The runtime to install for, and the hook file this process runs from (hook.ts, or the npm build's bundle). */
function chooseRuntime(
  runtime: Runtime,
  wanted: string | undefined,
): { kind: RuntimeKind; source: string; sourceKind: "ts" | "mjs" } {
  const kind = (wanted ?? runtime.kind) as RuntimeKind;
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
    throw new CommandError(
      `Cannot install for ${kind} from the JavaScript build Node runs: run install with hook.ts under ${kind}.`,
      2,
    );
  }
  return { kind, source, sourceKind };
}

/** The labels given on the command line, checked: a member label and the fleet's oldest Claude Code. */
function checkedLabels(values: Record<string, string | undefined>): { member?: string; claudeVersion?: string } {
  const member = values["--member"];
  if (member !== undefined && !MEMBER_PATTERN.test(member)) {
    throw new CommandError(
      "Cannot install: --member wants a short label (letters, digits and . _ @ + -, up to 64), such as ana or ana@acme.",
      2,
    );
  }
  const claudeVersion = values["--claude-version"];
  if (claudeVersion !== undefined && !isClaudeCodeVersion(claudeVersion)) {
    throw new CommandError(
      `Cannot install: --claude-version wants a version such as 2.1.332, not "${claudeVersion.slice(0, 20)}".`,
      2,
    );
  }
  return { member, claudeVersion };
}

/** The runtime's path as the user's PATH names it, checked to be recent enough. */
async function installedRuntimePath(runtime: Runtime, kind: RuntimeKind): Promise<string> {
  const runtimePath = await findRuntimeBinary(runtime, kind);
  if (runtimePath === undefined) {
    throw new CommandError(
      `Cannot install: ${kind} is not on PATH or in ~/.${kind}/bin. Install it, or choose another --runtime.`,
    );
  }
  if (kind === "node" && ((await nodeMajor(runtimePath)) ?? 0) < NODE_OLDEST) {
    throw new CommandError(
      `Cannot install for Node: ${runtimePath} is older than ${NODE_OLDEST}. Install Node ${NODE_OLDEST} or later, ` +
        `or choose --runtime bun or deno.`,
    );
  }
  const problem = await runtimePlacementProblem(runtime, runtimePath);
  if (problem !== undefined) {
    throw new CommandError(
      `Cannot install with ${kind} at "${runtimePath}": ${problem}, so another user could swap the program every ` +
        `event runs. Install ${kind} where only you or root can change it, or choose another --runtime.`,
    );
  }
  return runtimePath;
}

/**
 * Why another user could swap a runtime's program, or undefined: a control character in its path (the launcher keeps
 * one word a line), or the file, its link, or a folder above either owned by someone other than this user or root,
 * or writable by every user and not sticky. A sticky one (/tmp) is left to the launcher, which runs a program there
 * only when it is this user's own, and to the warning install prints. Windows has no owners to read here.
 */
async function runtimePlacementProblem(runtime: Runtime, runtimePath: string): Promise<string | undefined> {
  // deno-lint-ignore no-control-regex -- the characters it refuses
  if (/[\u0000-\u001f\u007f]/.test(runtimePath)) return "its path holds a control character";
  if (hostPlatform() === "win32") return undefined;
  const real = await runtime.realpath(runtimePath);
  const chain = [runtimePath, ...foldersAbove(runtimePath, "posix")];
  if (real !== undefined) chain.push(real, ...foldersAbove(real, "posix"));
  const uid = runtime.uid();
  for (const path of new Set(chain)) {
    const facts = await runtime.lstat(path);
    if (facts === undefined) continue;
    if (facts.uid !== 0 && uid !== undefined && facts.uid !== uid) return `"${path}" belongs to another user`;
    const open = facts.kind !== "symlink" && (facts.mode & 0o002) !== 0 && (facts.mode & 0o1000) === 0;
    if (open) return `"${path}" is writable by every user`;
  }
  return undefined;
}

/** Where the hook, its state and Claude Code's transcripts live, refused when Deno's flags could not name them. */
async function installFolders(
  runtime: Runtime,
  kind: RuntimeKind,
  sourceKind: "ts" | "mjs",
  runtimePath: string,
): Promise<{ claudeDir: string; stateDir: string; hookFile: string; projectsDir?: string }> {
  const env = (name: string) => runtime.env(name);
  const claudeDir = claudeDirectory(env);
  const stateDir = stateDirectory(env);
  if (claudeDir === undefined || stateDir === undefined) {
    throw new CommandError(`Cannot install: ${stateDirSettingProblem(env) ?? "HOME is not set"}.`);
  }
  if (hostPlatform() === "win32" && await findGitBash(runtime) === undefined) {
    throw new CommandError(
      "Cannot install: Claude Code on Windows runs hooks in Git Bash, and there is none here (without it, " +
        "PowerShell runs them, which cannot run this hook). Install Git for Windows, or set " +
        "CLAUDE_CODE_GIT_BASH_PATH to its bash.exe, then run install again.",
    );
  }
  const hookFile = `${claudeDir}/hooks/${HOOK_FILE_NAMES[kind === "node" ? "mjs" : sourceKind]}`;
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
  return { claudeDir, stateDir, hookFile, projectsDir };
}

/** The Claude Code the settings are written for: this machine's, or for a shared file the one given. */
async function claudeCodeForScope(
  runtime: Runtime,
  scope: string,
  claudeDir: string,
  given: string | undefined,
): Promise<InstallPlan["claude"]> {
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
  return claude;
}

/** An option given now (null: cleared), else the one saved before, if it is a non-empty string. */
export function kept(given: string | null | undefined, saved: unknown): string | undefined {
  if (given === null) return undefined;
  return given ?? (typeof saved === "string" && saved !== "" ? saved : undefined);
}

/** The events a plan may wire for its Claude Code, and those it leaves out (that version does not know them). */
export function eventsFor(plan: Pick<InstallPlan, "claude">, wanted: readonly (readonly [string, string?])[]) {
  return {
    events: wanted.filter(([event]) => knowsEvent(event, plan.claude.version)),
    leftOut: wanted.filter(([event]) => !knowsEvent(event, plan.claude.version)).map(([event]) => event),
  };
}

export function leftOutNotes(claude: ClaudeCodeInUse, leftOut: readonly string[]): string[] {
  const version = claude.version;
  if (leftOut.length === 0) return [];
  if (version === undefined && claude.description.startsWith("unknown for a file others share")) {
    return [
      `Note: the Claude Code versions of a shared file's readers are not known, so only the events every Claude ` +
      `Code with hooks fires are wired; ${leftOut.join(", ")} left out. Give --claude-version (the oldest your ` +
      `team runs) to wire them.`,
    ];
  }
  if (version === undefined) {
    return [
      `Note: Claude Code's version is not known (${
        claude.description.replace(/^not found \((.*)\)$/, "no claude found: $1")
      }), ` +
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

export function ourEntry(plan: InstallPlan) {
  return { type: "command", command: plan.command, timeout: HOOK_TIMEOUT_S };
}
