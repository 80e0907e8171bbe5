/**
 * The hook's settings: read from the environment (docs/settings.md), with
 * the ping URL saved by `install` as a fallback, and the folders it works in.
 *
 * Owns: `HookConfig` (the hook's own settings: "config" throughout; Claude
 * Code's settings files are `settings.ts`'s), the environment variables read,
 * install's saved values, where managed settings are. Uses: paths, runtime, files,
 * state_dir.
 *
 * @module
 */

import { hostPlatform } from "./paths.ts";
import { attempt, type FsPromises, type Runtime } from "./runtime.ts";
import { readJsonFile, readSmallFile } from "./files.ts";
import {
  type EnvLookup,
  parentsProblem,
  STATE_LAYOUT,
  stateDirectory,
  stateDirProblem,
  stateDirSettingProblem,
} from "./state_dir.ts";

/** The largest `config.json` read: it holds a URL and a salt. */
const MAX_CONFIG_BYTES = 64 * 1024;

/** Every environment variable the hook reads (Deno's `--allow-env` list). */
export const ENV_NAMES: readonly string[] = [
  "HOME",
  "CLAUDE_CONFIG_DIR",
  "TELEMHQ_PING_URL",
  "CLAUDE_PLUGIN_OPTION_PING_URL",
  "TELEMHQ_MEMBER",
  "CLAUDE_PLUGIN_OPTION_MEMBER",
  "TELEMHQ_HOOK_DEBUG",
  "TELEMHQ_STATE_DIR",
  "TELEMHQ_TIMEOUT_MS",
  "TELEMHQ_SPOOL_MAX_PINGS",
  "TELEMHQ_SPOOL_MAX_AGE_DAYS",
  "TELEMHQ_RETRY_BASE_MS",
  "TELEMHQ_RETRY_MAX_MS",
  "TELEMHQ_SENDER_IDLE_MS",
  "TELEMHQ_SENDER_CONCURRENCY",
  "TELEMHQ_PRICES",
  "TELEMHQ_HASH_SALT",
  "TELEMHQ_EVENT_DIR",
];

/** Settings read from the environment. */
export interface HookConfig {
  /** The raw ping URL, or undefined when not configured. */
  pingUrl?: string;
  /** Where the ping URL came from. */
  pingUrlSource?: "TELEMHQ_PING_URL" | "the plugin's ping_url option" | "config file";
  /** A team member's label, when the user set one: `TELEMHQ_MEMBER`, the plugin's option, or install's. */
  member?: string;
  /** A secret the team shares, mixed into `cwd_hash` and `transcript_path_hash` (see docs/fields.md). */
  hashSalt?: string;
  /** Time limit of one ping request, in milliseconds. */
  timeoutMs: number;
  /** Print a one-line reason to stderr when the ping is not sent. */
  debug: boolean;
  /** Where the spool and the sender's lock and status live; undefined when no home is known. */
  stateDir?: string;
  /** Most pings the spool keeps; the oldest are dropped first. */
  spoolMaxPings: number;
  /** Oldest ping the spool keeps, in milliseconds. */
  spoolMaxAgeMs: number;
  /** First wait before a retry, in milliseconds. */
  retryBaseMs: number;
  /** Longest wait between retries, in milliseconds. */
  retryMaxMs: number;
  /** How long an idle sender waits for more pings before it exits, in milliseconds. */
  senderIdleMs: number;
  /** How many pings a sender has in flight at once (1 to 16). */
  senderConcurrency: number;
}

/** What loading the settings found of the state directory, which holds install's saved values. */
export interface StateDirCheck {
  /** Why it must not be used (relative, not private, another user's); undefined when it may be, or is not there yet. */
  problem?: string;
  /** It existed and was checked, it and every folder above it: nobody needs to check it again this run. */
  checked: boolean;
}

/** The settings, and what was found of the state directory while reading them. */
export interface LoadedConfig {
  /** The settings. */
  config: HookConfig;
  /** The state directory's check. */
  state: StateDirCheck;
}

/** Default time limit of the ping request, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 10_000;

function numberSetting(raw: string | undefined, fallback: number, min: number, max: number): number {
  const value = Number(raw);
  return raw !== undefined && raw.trim() !== "" && Number.isFinite(value)
    ? Math.min(Math.max(Math.round(value), min), max)
    : fallback;
}

/**
 * Reads the hook's settings from the environment; see docs/settings.md.
 *
 * @param env Looks up an environment variable.
 * @returns The settings, with defaults and numbers clamped to sane ranges.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const config = readConfig((name) => ({ TELEMHQ_PING_URL: "https://telemhq.com/ping/T" })[name]);
 * assert.equal(config.timeoutMs, DEFAULT_TIMEOUT_MS);
 * ```
 */
export function readConfig(env: EnvLookup): HookConfig {
  // The environment first, then the plugin's option (Claude Code keeps it in its credential store), then install's file.
  const fromEnv = env("TELEMHQ_PING_URL")?.trim() || undefined;
  const fromPlugin = env("CLAUDE_PLUGIN_OPTION_PING_URL")?.trim() || undefined;
  const member = env("TELEMHQ_MEMBER")?.trim() || env("CLAUDE_PLUGIN_OPTION_MEMBER")?.trim() || undefined;
  const salt = env("TELEMHQ_HASH_SALT");
  const day = 24 * 60 * 60 * 1000;
  return {
    pingUrl: fromEnv ?? fromPlugin,
    pingUrlSource: fromEnv ? "TELEMHQ_PING_URL" : fromPlugin ? "the plugin's ping_url option" : undefined,
    member,
    hashSalt: salt === undefined || salt === "" ? undefined : salt,
    timeoutMs: numberSetting(env("TELEMHQ_TIMEOUT_MS"), DEFAULT_TIMEOUT_MS, 100, 60_000),
    debug: env("TELEMHQ_HOOK_DEBUG") === "1",
    stateDir: stateDirectory(env),
    spoolMaxPings: numberSetting(env("TELEMHQ_SPOOL_MAX_PINGS"), 10_000, 1, 1_000_000),
    spoolMaxAgeMs: numberSetting(env("TELEMHQ_SPOOL_MAX_AGE_DAYS"), 7, 1, 365) * day,
    retryBaseMs: numberSetting(env("TELEMHQ_RETRY_BASE_MS"), 1000, 10, 60_000),
    retryMaxMs: numberSetting(env("TELEMHQ_RETRY_MAX_MS"), 5 * 60_000, 10, 60 * 60_000),
    senderIdleMs: numberSetting(env("TELEMHQ_SENDER_IDLE_MS"), 30_000, 0, 10 * 60_000),
    senderConcurrency: numberSetting(env("TELEMHQ_SENDER_CONCURRENCY"), 8, 1, 16),
  };
}

/**
 * The settings, with what `install` saved in `<state>/config.json` (the ping
 * URL, the hash salt) where the environment has none: hooks started from IDEs
 * and desktop apps often do not see the shell's environment. The state
 * directory is checked first: one that is not safe is never read (its
 * problem is in `state.problem`).
 *
 * @param runtime The runtime adapter.
 * @returns The settings, and the state directory's check.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * const { config, state } = await loadConfig(detectRuntime());
 * assert.equal(typeof config.timeoutMs, "number");
 * assert.equal(typeof state.checked, "boolean");
 * ```
 */
export async function loadConfig(runtime: Runtime): Promise<LoadedConfig> {
  const env = (name: string) => runtime.env(name);
  const config = readConfig(env);
  if (config.stateDir === undefined) return { config, state: { problem: stateDirSettingProblem(env), checked: false } };
  const facts = await runtime.lstat(config.stateDir);
  if (facts === undefined) return { config, state: { checked: false } };
  const problem = stateDirProblem(config.stateDir, facts, runtime.uid()) ??
    await parentsProblem(runtime, config.stateDir);
  const state = { problem, checked: true };
  if (problem !== undefined || (config.pingUrl !== undefined && config.hashSalt !== undefined && config.member)) {
    return { config, state };
  }
  const saved = await readSavedSettings(runtime, config.stateDir);
  if (config.pingUrl === undefined && saved.pingUrl !== undefined) {
    config.pingUrl = saved.pingUrl;
    config.pingUrlSource = "config file";
  }
  config.hashSalt ??= saved.hashSalt;
  config.member ??= saved.member;
  return { config, state };
}

/** What `install` saved in `<state>/config.json`. */
export interface SavedSettings {
  /** The ping URL. */
  pingUrl?: string;
  /** The hash salt. */
  hashSalt?: string;
  /** The member label. */
  member?: string;
}

/**
 * Reads what `install` saved in `<state>/config.json`, from a state
 * directory already checked: only a small regular file (a FIFO or a device
 * there must not hang the hook or eat its memory), each value checked.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @returns The saved values; none when the file is missing or broken.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * assert.deepEqual(await readSavedSettings(detectRuntime(), "/nonexistent"), {});
 * ```
 */
export async function readSavedSettings(runtime: Runtime, stateDir: string): Promise<SavedSettings> {
  const path = `${stateDir}/${STATE_LAYOUT.config}`;
  const file = await runtime.lstat(path);
  const text = file?.kind === "file" && file.size <= MAX_CONFIG_BYTES ? await runtime.readTextFile(path) : undefined;
  const values: Record<string, unknown> = text === undefined ? {} : attempt(() => JSON.parse(text), {}) ?? {};
  const saved: SavedSettings = {};
  if (typeof values.ping_url === "string" && values.ping_url.trim() !== "") saved.pingUrl = values.ping_url.trim();
  if (typeof values.hash_salt === "string" && values.hash_salt !== "") saved.hashSalt = values.hash_salt;
  if (typeof values.member === "string" && values.member !== "") saved.member = values.member;
  return saved;
}

/** Where Claude Code reads managed (policy) settings from, by platform; drop-ins in `managed-settings.d/`. */
export const MANAGED_SETTINGS_DIRS: readonly string[] = [
  "/etc/claude-code",
  "/Library/Application Support/ClaudeCode",
];

/** Where Claude Code on Windows reads managed settings from (it also reads a registry policy, not read here). */
export const WINDOWS_MANAGED_SETTINGS_DIR = "C:\\Program Files\\ClaudeCode";

/**
 * The folder Claude Code reads managed settings from on a platform: only
 * that one (on Linux, `/Library/...` is no policy of Claude Code's; on
 * macOS, `/etc/claude-code` is none either).
 *
 * @param platform The platform, as Node names it; this one by default.
 * @returns The folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(managedSettingsDirectory("darwin"), "/Library/Application Support/ClaudeCode");
 * assert.equal(managedSettingsDirectory("linux"), "/etc/claude-code");
 * ```
 */
export function managedSettingsDirectory(platform: string = hostPlatform()): string {
  if (platform === "darwin") return MANAGED_SETTINGS_DIRS[1];
  return platform === "win32" ? WINDOWS_MANAGED_SETTINGS_DIR : MANAGED_SETTINGS_DIRS[0];
}

/**
 * The managed settings files present, in the order Claude Code merges them
 * (a later one's keys win): each folder's `managed-settings.json`, then its
 * `managed-settings.d/*.json` by name.
 *
 * @param fs The file API.
 * @returns The paths.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as fs from "node:fs/promises";
 * assert.ok((await managedSettingsPaths(fs)).every((path) => path.endsWith(".json")));
 * ```
 */
export async function managedSettingsPaths(fs: FsPromises): Promise<string[]> {
  const paths: string[] = [];
  const dir = managedSettingsDirectory();
  const main = `${dir}/managed-settings.json`;
  if (await fs.lstat(main).then(() => true, () => false)) paths.push(main);
  const dropIns = (await fs.readdir(`${dir}/managed-settings.d`).catch(() => [] as string[]))
    // Claude Code skips hidden drop-ins (".team.json"): so does everything that reads them here.
    .filter((name) => name.endsWith(".json") && !name.startsWith(".")).sort();
  paths.push(...dropIns.map((name) => `${dir}/managed-settings.d/${name}`));
  return paths;
}

/** A file only root can have written: root's, and writable by no one else. */
function onlyRootWrites(owner: { uid: number; mode: number }): boolean {
  return owner.uid === 0 && (owner.mode & 0o022) === 0;
}

/**
 * Reads a managed settings file: in place, or through a symlink (the way
 * configuration management tools often deploy it) only to a file that root
 * owns and only root can change, as Claude Code itself reads it.
 *
 * @param fs The file API.
 * @param path The file.
 * @returns The parsed value, unchecked, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as fs from "node:fs/promises";
 * assert.equal(await readManagedSettings(fs, "/nonexistent/managed-settings.json"), undefined);
 * ```
 */
export async function readManagedSettings(fs: FsPromises, path: string): Promise<unknown> {
  const link = await fs.lstat(path).catch(() => undefined);
  if (link === undefined) return undefined;
  if (!link.isSymbolicLink()) return await readJsonFile(fs, path);
  const text = await readSmallFile(fs, path, 1 << 20, true, onlyRootWrites);
  return text === undefined ? undefined : attempt(() => JSON.parse(text), undefined);
}
