/**
 * The install record, `<state>/install.json`: what `install` wrote (the
 * runtime, the hook file, the command), so that `doctor` and `uninstall` read
 * it rather than guess.
 *
 * Owns: `InstallRecord`, reading it, and whether its runtime lasts. Uses: runtime, files, state_dir, claude_code.
 *
 * @module
 */

import { isClaudeCodeVersion } from "./claude_code.ts";
import type { Runtime, RuntimeKind } from "./runtime.ts";
import { readJsonFile } from "./files.ts";
import { STATE_LAYOUT } from "./state_dir.ts";

/** What `install` wrote, kept in `<state>/install.json` so that `doctor` and `uninstall` read it rather than guess. */
export interface InstallRecord {
  /** The runtime the hook runs under. */
  runtime: RuntimeKind;
  /** That runtime's binary, by the absolute path the user's PATH names (not resolved: an upgrade keeps it). */
  runtime_path: string;
  /** The installed hook file. */
  hook_file: string;
  /** The command line that runs the hook for an event (the launcher builds it again each time). */
  hook_argv: string[];
  /** The launcher script beside the hook (absent in records of versions before it). */
  launcher?: string;
  /** The launcher's options install wrote into the settings command (see `launcherArgs`). */
  launcher_args?: string[];
  /** Settings files that `install` created (and `uninstall` may remove once they hold nothing else). */
  created_settings: string[];
  /** Whether tool activity was chosen (kept for the next run). */
  tool_activity?: boolean;
  /** The Claude Code version `--claude-version` named, for doctor when no `claude` is found. */
  claude_version?: string;
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
    ? {
      ...record,
      created_settings: strings(record.created_settings) ? record.created_settings! : [],
      launcher: typeof record.launcher === "string" && record.launcher.startsWith("/") ? record.launcher : undefined,
      launcher_args: strings(record.launcher_args) ? record.launcher_args : undefined,
      tool_activity: typeof record.tool_activity === "boolean" ? record.tool_activity : undefined,
      claude_version: typeof record.claude_version === "string" && isClaudeCodeVersion(record.claude_version)
        ? record.claude_version
        : undefined,
    } as InstallRecord
    : undefined;
}

/** Where npm's `npx` and Bun's `bunx` keep the packages they fetch on demand: caches their owners clean. */
const CACHED_RUNTIME_FOLDERS = /\/(?:_npx|\.bunx-[^/]*|bunx-[^/]*)\//;

/**
 * A warning when the runtime install recorded lives in a cache of fetched
 * packages (`npx deno@2 run -A hook.ts install`): the hook works until the
 * cache is cleaned, then no runtime runs it.
 *
 * @param runtimePath The runtime's path, as install recorded it.
 * @returns One sentence, or undefined when the path is a lasting one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.match(cachedRuntimeWarning("/home/a/.npm/_npx/7a40/node_modules/.bin/deno") ?? "", /--runtime node/);
 * assert.equal(cachedRuntimeWarning("/usr/local/bin/bun"), undefined);
 * ```
 */
export function cachedRuntimeWarning(runtimePath: string): string | undefined {
  if (!CACHED_RUNTIME_FOLDERS.test(runtimePath)) return undefined;
  return `the runtime ${runtimePath} lives in npx's or bunx's cache of fetched packages, which npm or Bun may empty ` +
    "(npm cache npx rm, an upgrade, a reboot for bunx's in /tmp), and then the hook has no runtime. Run install again " +
    "with --runtime node (Node 20 or later runs it), or under a Bun or Deno installed for good (https://bun.sh, " +
    "https://deno.com).";
}
