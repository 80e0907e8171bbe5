/**
 * The hook's settings: read from the environment (the README's table), with
 * the ping URL saved by `install` as a fallback, and the folders it works in.
 *
 * Owns: `HookConfig`, the environment variables read, Claude Code's folder and
 * the state directory. Uses: runtime, state_dir, launch, prices.
 *
 * @module
 */

import type { NarrowAccess } from "./launch.ts";
import { type ManagedPricing, managedPricing, type PriceBook, priceTable } from "./prices.ts";
import { attempt, readJsonFile, type Runtime } from "./runtime.ts";
import { parentsProblem, STATE_LAYOUT, stateDirProblem } from "./state_dir.ts";

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
];

/** Settings read from the environment. */
export interface HookConfig {
  /** The raw ping URL, or undefined when not configured. */
  pingUrl?: string;
  /** Where the ping URL came from. */
  pingUrlSource?: "TELEMHQ_PING_URL" | "the plugin's ping_url option" | "config file";
  /** A team member's label, when the user set one: `TELEMHQ_MEMBER`, the plugin's option, or install's. */
  member?: string;
  /** A secret the team shares, mixed into `cwd_hash` and `transcript_path_hash` (see the README). */
  hashSalt?: string;
  /** Time limit of one ping request, in milliseconds. */
  timeoutMs: number;
  /** Print a one-line reason to stderr when the ping is not sent. */
  debug: boolean;
  /** Where the spool and the sender's lock and status live; undefined when no home is known. */
  stateDir?: string;
  /** Why the state directory must not be used (it exists but is not safe); see {@linkcode stateDirProblem}. */
  stateDirProblem?: string;
  /** The state directory existed and was checked (it and its parents): nobody needs to check it again. */
  stateDirChecked?: boolean;
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
  /** The prices in force: the catalog, managed `modelPricing` (read by the sender), `TELEMHQ_PRICES` over all. */
  prices: PriceBook;
}

/** Looks up an environment variable. */
export type EnvLookup = (name: string) => string | undefined;

/** Default time limit of the ping request, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 10_000;

function numberSetting(raw: string | undefined, fallback: number, min: number, max: number): number {
  const value = Number(raw);
  return raw !== undefined && raw.trim() !== "" && Number.isFinite(value)
    ? Math.min(Math.max(Math.round(value), min), max)
    : fallback;
}

/**
 * Claude Code's configuration folder: `CLAUDE_CONFIG_DIR`, else `~/.claude`.
 *
 * @param env Looks up an environment variable.
 * @returns The folder, or undefined when no home is known.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(claudeDirectory((name) => ({ HOME: "/home/me" })[name]), "/home/me/.claude");
 * ```
 */
export function claudeDirectory(env: EnvLookup): string | undefined {
  const config = env("CLAUDE_CONFIG_DIR")?.trim();
  if (config) return config.replace(/\/+$/, "");
  const home = env("HOME")?.trim();
  return home ? `${home.replace(/\/+$/, "")}/.claude` : undefined;
}

/**
 * The state directory: `TELEMHQ_STATE_DIR`, else `telemhq/` in Claude Code's
 * configuration folder (see {@linkcode claudeDirectory}).
 *
 * @param env Looks up an environment variable.
 * @returns The directory, or undefined when neither it nor a home is known.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(stateDirectory((name) => ({ HOME: "/home/me" })[name]), "/home/me/.claude/telemhq");
 * ```
 */
export function stateDirectory(env: EnvLookup): string | undefined {
  const explicit = env("TELEMHQ_STATE_DIR")?.trim();
  if (explicit) return explicit;
  const claudeDir = claudeDirectory(env);
  return claudeDir === undefined ? undefined : `${claudeDir}/telemhq`;
}

/**
 * Reads the hook's settings from the environment; see the README's table.
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
    prices: { overrides: priceTable(env("TELEMHQ_PRICES")) },
  };
}

/**
 * The settings, with what `install` saved in `<state>/config.json` (the ping
 * URL, the hash salt) where the environment has none: hooks started from IDEs
 * and desktop apps often do not see the shell's environment. The state
 * directory is checked first: one that is not safe is never read (its
 * problem is in `stateDirProblem`).
 *
 * @param runtime The runtime adapter.
 * @returns The settings.
 *
 * @example
 * ```ts
 * import { detectRuntime } from "@telemhq/claude-code";
 * const config = await loadConfig(detectRuntime());
 * ```
 */
export async function loadConfig(runtime: Runtime): Promise<HookConfig> {
  const config = readConfig((name) => runtime.env(name));
  if (config.stateDir === undefined) return config;
  const facts = await runtime.lstat(config.stateDir);
  if (facts === undefined) return config;
  config.stateDirProblem = stateDirProblem(config.stateDir, facts, runtime.uid()) ??
    await parentsProblem(runtime, config.stateDir);
  config.stateDirChecked = true;
  if (
    config.stateDirProblem !== undefined ||
    (config.pingUrl !== undefined && config.hashSalt !== undefined && config.member !== undefined)
  ) {
    return config;
  }
  // Only a small regular file: a FIFO or a device there must not hang the hook or eat its memory.
  const path = `${config.stateDir}/${STATE_LAYOUT.config}`;
  const file = await runtime.lstat(path);
  const saved = file?.kind === "file" && file.size <= MAX_CONFIG_BYTES ? await runtime.readTextFile(path) : undefined;
  const values: Record<string, unknown> = saved === undefined ? {} : attempt(() => JSON.parse(saved), {}) ?? {};
  if (config.pingUrl === undefined && typeof values.ping_url === "string" && values.ping_url.trim() !== "") {
    config.pingUrl = values.ping_url.trim();
    config.pingUrlSource = "config file";
  }
  if (config.hashSalt === undefined && typeof values.hash_salt === "string" && values.hash_salt !== "") {
    config.hashSalt = values.hash_salt;
  }
  if (config.member === undefined && typeof values.member === "string" && values.member !== "") {
    config.member = values.member;
  }
  return config;
}

/**
 * What Deno's narrow flags for a ping URL are made of, when Claude Code's folder is known.
 *
 * @param env Looks up an environment variable.
 * @param pingUrl The ping URL in force.
 * @returns The tracker's host and Claude Code's folder, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const narrow = narrowAccess((name) => ({ HOME: "/home/me" })[name], "https://telemhq.com/ping/T");
 * assert.deepEqual(narrow, { pingHost: "telemhq.com", claudeDir: "/home/me/.claude" });
 * ```
 */
export function narrowAccess(env: EnvLookup, pingUrl: string | undefined): NarrowAccess | undefined {
  const claudeDir = claudeDirectory(env);
  const host = pingUrl === undefined ? undefined : attempt(() => new URL(pingUrl).host, undefined);
  return claudeDir === undefined || host === undefined ? undefined : { pingHost: host, claudeDir };
}

/** Where Claude Code reads managed (policy) settings from, by platform; drop-ins in `managed-settings.d/`. */
export const MANAGED_SETTINGS_DIRS: readonly string[] = [
  "/etc/claude-code",
  "/Library/Application Support/ClaudeCode",
];

/**
 * An organisation's `modelPricing`, from the managed settings files Claude
 * Code honours it from (`managed-settings.json`, then its `managed-settings.d/`
 * drop-ins in name order, the last one to set it winning). Policy from MDM
 * or served by Anthropic's server is out of a hook's reach.
 *
 * @param runtime The runtime adapter.
 * @returns The pricing, or undefined when no managed file sets it.
 *
 * @example
 * ```ts
 * import { detectRuntime } from "@telemhq/claude-code";
 * await loadManagedPricing(detectRuntime());
 * ```
 */
export async function loadManagedPricing(runtime: Runtime): Promise<ManagedPricing | undefined> {
  const fs = await runtime.fs();
  let value: unknown;
  for (const dir of MANAGED_SETTINGS_DIRS) {
    const dropIns = (await fs.readdir(`${dir}/managed-settings.d`).catch(() => [] as string[]))
      .filter((name) => name.endsWith(".json")).sort().map((name) => `${dir}/managed-settings.d/${name}`);
    for (const path of [`${dir}/managed-settings.json`, ...dropIns]) {
      const settings = await readJsonFile(fs, path) as { modelPricing?: unknown } | undefined;
      if (settings !== null && typeof settings === "object" && settings.modelPricing !== undefined) {
        value = settings.modelPricing;
      }
    }
  }
  return managedPricing(value);
}
