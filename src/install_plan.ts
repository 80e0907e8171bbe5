/**
 * What `install` will do, decided and checked before anything is written:
 * the runtime (by the path `PATH` names), the files, the ping URL and the
 * options, the Claude Code the events are wired for, and the settings
 * command. Nothing here writes.
 *
 * Owns: `InstallPlan`, `planInstall`, the events to wire. Uses: input,
 * events, runtime, state_dir, config, ping_url, launch, launcher, cli_args,
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
  HOOK_EVENT_SINCE,
  isClaudeCodeVersion,
  knowsEvent,
} from "./claude_code.ts";
import { loadConfig } from "./config.ts";
import { readAll } from "./input.ts";
import type { InstallRecord } from "./install_record.ts";
import { denoFlagProblem, findRuntimeBinary, hookArgv } from "./launch.ts";
import { LAUNCHER_FILE_NAME, launcherArgs, launcherCommand } from "./launcher.ts";
import { parsePingUrl, redactUrl } from "./ping_url.ts";
import { runQuietly, type Runtime, type RuntimeKind } from "./runtime.ts";
import { HOOK_FILE_NAMES, INSTALL_SCOPES, type InstallScope, scopeOf, scopeSettingsPath } from "./settings.ts";
import { claudeDirectory, stateDirectory, stateDirSettingProblem } from "./state_dir.ts";

/** Claude Code's time limit for our hook, in seconds (the fast path takes milliseconds). */
const HOOK_TIMEOUT_S = 10;

/** The first Node that runs TypeScript as it is (type stripping on by default). */
const NODE_RUNS_TS = [22, 18] as const;

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

export async function planInstall(runtime: Runtime, args: readonly string[]): Promise<InstallPlan> {
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

/** An option given now (null: cleared), else the one saved before, if it is a non-empty string. */
export function kept(given: string | null | undefined, saved: unknown): string | undefined {
  if (given === null) return undefined;
  return given ?? (typeof saved === "string" && saved !== "" ? saved : undefined);
}

/** The events a plan may wire for its Claude Code, and those it leaves out (that version does not know them). */
export function eventsFor(plan: InstallPlan, wanted: readonly (readonly [string, string?])[]) {
  return {
    events: wanted.filter(([event]) => knowsEvent(event, plan.claude.version)),
    leftOut: wanted.filter(([event]) => !knowsEvent(event, plan.claude.version)).map(([event]) => event),
  };
}

export function leftOutNotes(claude: ClaudeCodeInUse, leftOut: readonly string[]): string[] {
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

export function ourEntry(plan: InstallPlan) {
  return { type: "command", command: plan.command, timeout: HOOK_TIMEOUT_S };
}
