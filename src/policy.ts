/**
 * What an organisation's policy and Claude Code's plugin options say about
 * the hook: the managed settings files (read as Claude Code reads them), the
 * TelemHQ plugin enabled by them, and where the plugin's ping URL is kept
 * (the member's credential store, or a shared URL in `pluginConfigs`), for
 * `doctor`, `install` and `uninstall`. The URL is only ever checked and shown
 * redacted; nothing here writes.
 *
 * Owns: `scanManagedSettings`, `pluginPingUrl`, `enablingPolicy`.
 * Uses: paths, runtime, files, config, launcher, settings.
 *
 * @module
 */

import { homeDirectory, hostPathStyle, hostPlatform, isAbsolutePath } from "./paths.ts";
import type { FsPromises, Runtime } from "./runtime.ts";
import { readSmallFile } from "./files.ts";
import { managedSettingsPaths, readManagedSettings } from "./config.ts";
import { POLICY_LAUNCHER_PATH } from "./launcher.ts";
import { findOurHooks, installedHookFiles, readSettings, type ScannedSettings, type Settings } from "./settings.ts";

/** The largest credentials file read (Claude Code's holds a few tokens). */
const MAX_CREDENTIALS_BYTES = 1 << 20;

/**
 * Reads every managed settings file Claude Code merges, in its order, as
 * {@linkcode ScannedSettings} of scope `managed`: a file that cannot be read
 * (broken JSON, a symlink to a file root does not own) is listed with why.
 *
 * @param fs The file API.
 * @param claudeDir Claude Code's folder (whose hook files our entries run).
 * @returns The files, in merge order (a later one's keys win).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as fs from "node:fs/promises";
 * const scanned = await scanManagedSettings(fs, "/home/dev/.claude");
 * assert.ok(scanned.every((file) => file.scope === "managed"));
 * ```
 */
export async function scanManagedSettings(fs: FsPromises, claudeDir: string): Promise<ScannedSettings[]> {
  const scanned: ScannedSettings[] = [];
  for (const path of await managedSettingsPaths(fs)) {
    let settings: Settings;
    try {
      const link = await fs.lstat(path);
      if (link.isSymbolicLink()) {
        // Through a symlink only to a file root owns and only root can change, as Claude Code reads it.
        const value = await readManagedSettings(fs, path);
        if (value === null || typeof value !== "object" || Array.isArray(value)) {
          throw new Error(
            `Cannot read managed settings file "${path}": a symlink to a file that is not root's, or not JSON.`,
          );
        }
        settings = value as Settings;
      } else {
        settings = (await readSettings(path)).settings;
      }
    } catch (error) {
      scanned.push({ scope: "managed", path, hooks: [], error: (error as Error).message });
      continue;
    }
    // A team's policy runs each user's own launcher (POLICY_LAUNCHER_PATH); a machine's, the paths install wrote.
    const hookFiles = [...installedHookFiles(claudeDir), POLICY_LAUNCHER_PATH];
    scanned.push({ scope: "managed", path, hooks: findOurHooks(settings, hookFiles), settings });
  }
  return scanned;
}

/**
 * The managed settings file that enables a plugin, when an organisation's
 * policy does (the last one to say so, as Claude Code merges them).
 *
 * @param scanned The settings files, managed ones included.
 * @param pluginId For example `telemhq@acme`.
 * @returns The file's path, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const policy = { scope: "managed" as const, path: "/etc/claude-code/managed-settings.json", hooks: [] };
 * const scanned = [{ ...policy, settings: { enabledPlugins: { "telemhq@acme": true } } }];
 * assert.equal(enablingPolicy(scanned, "telemhq@acme"), policy.path);
 * ```
 */
export function enablingPolicy(scanned: readonly ScannedSettings[], pluginId: string): string | undefined {
  let path: string | undefined;
  for (const file of scanned) {
    if (file.scope !== "managed") continue;
    const plugins = file.settings?.enabledPlugins as Record<string, unknown> | undefined;
    if (plugins !== null && typeof plugins === "object" && typeof plugins[pluginId] === "boolean") {
      path = plugins[pluginId] ? file.path : undefined;
    }
  }
  return path;
}

/** Where the plugin's ping URL was found, or why it could not be looked for. */
export interface PluginPingUrl {
  /** The URL as stored (a secret: check it, show it redacted, never print it). */
  value?: string;
  /** Where it is kept, in words: "your credential store (...)" or "your organisation's policy (...)". */
  source?: string;
  /** Set when the URL may be set where a hook cannot look (the macOS keychain). */
  unseen?: string;
}

/**
 * The TelemHQ plugin's `ping_url` option as Claude Code resolves it: the
 * member's credential store (`.credentials.json` in Claude Code's folder,
 * or `CLAUDE_SECURESTORAGE_CONFIG_DIR`) over `pluginConfigs` in the merged
 * settings, where a policy's value wins over the user's. On macOS the
 * credential store is the keychain, which a hook does not read.
 *
 * @param runtime The runtime adapter.
 * @param claudeDir Claude Code's folder.
 * @param scanned The settings files Claude Code merges, managed ones last.
 * @param pluginId For example `telemhq@acme`.
 * @returns Where the URL is, and the URL itself for checking.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * const policy = { scope: "managed" as const, path: "/etc/claude-code/managed-settings.json", hooks: [] };
 * const options = { "telemhq@acme": { options: { ping_url: "https://telemhq.com/ping/T" } } };
 * const found = await pluginPingUrl(detectRuntime(), "/nonexistent", [{ ...policy, settings: { pluginConfigs: options } }], "telemhq@acme");
 * assert.equal(found.source, `your organisation's policy (${policy.path})`);
 * ```
 */
export async function pluginPingUrl(
  runtime: Runtime,
  claudeDir: string,
  scanned: readonly ScannedSettings[],
  pluginId: string,
): Promise<PluginPingUrl> {
  const store = credentialsFolder(runtime, claudeDir) + "/.credentials.json";
  const text = await readSmallFile(await runtime.fs(), store, MAX_CREDENTIALS_BYTES);
  const secret = text === undefined ? undefined : optionIn(parseObject(text)?.pluginSecrets, pluginId, false);
  if (secret !== undefined) return { value: secret, source: `your credential store (${store})` };
  let found: PluginPingUrl = {};
  for (const file of scanned) {
    const value = optionIn(file.settings?.pluginConfigs, pluginId, true);
    if (value === undefined) continue;
    found = {
      value,
      source: file.scope === "managed" ? `your organisation's policy (${file.path})` : `settings (${file.path})`,
    };
  }
  if (found.value === undefined && text === undefined && hostPlatform() === "darwin") {
    return { unseen: "the macOS keychain, which doctor does not read" };
  }
  return found;
}

/** `container[pluginId].ping_url` (credentials) or `container[pluginId].options.ping_url` (settings), if a string. */
function optionIn(container: unknown, pluginId: string, inOptions: boolean): string | undefined {
  if (container === null || typeof container !== "object") return undefined;
  const entry = (container as Record<string, unknown>)[pluginId];
  if (entry === null || typeof entry !== "object") return undefined;
  const options = inOptions ? (entry as { options?: unknown }).options : entry;
  if (options === null || typeof options !== "object") return undefined;
  const value = (options as { ping_url?: unknown }).ping_url;
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" ? value as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

/** Claude Code's credential folder: `CLAUDE_SECURESTORAGE_CONFIG_DIR` when set (empty: `~/.claude`), else its own. */
function credentialsFolder(runtime: Runtime, claudeDir: string): string {
  const given = runtime.env("CLAUDE_SECURESTORAGE_CONFIG_DIR");
  if (given === undefined) return claudeDir;
  if (given !== "" && isAbsolutePath(given)) return given;
  return `${homeDirectory((name) => runtime.env(name), hostPathStyle()) ?? ""}/.claude`;
}
