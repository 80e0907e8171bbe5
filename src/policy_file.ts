/**
 * Writes a team's policy where this machine's Claude Code reads it, for
 * `install --scope managed --write`: as a drop-in of our own,
 * `managed-settings.d/telemhq.json`, so that the organisation's own
 * `managed-settings.json` is never touched, and never over a file install did
 * not write (one that holds anything but a TelemHQ policy's keys).
 *
 * Owns: `writePolicy`, `POLICY_DROP_IN`. Uses: paths, runtime, files, config, cli_args, launcher.
 *
 * @module
 */

import type { Runtime } from "./runtime.ts";
import { readSmallFile, writeFileAtomically } from "./files.ts";
import { managedSettingsDirectory } from "./config.ts";
import { hostPlatform } from "./paths.ts";
import { CommandError } from "./cli_args.ts";
import { POLICY_LAUNCHER_PATH } from "./launcher.ts";

/** Our drop-in's name in `managed-settings.d/`. */
export const POLICY_DROP_IN = "telemhq.json";

/** The keys a TelemHQ policy holds, and nothing else. */
const POLICY_KEYS: ReadonlySet<string> = new Set([
  "hooks",
  "extraKnownMarketplaces",
  "enabledPlugins",
  "pluginConfigs",
]);

/**
 * Writes a policy as this machine's drop-in (Linux and macOS), readable by
 * every user (Claude Code runs as them). Refuses, changing nothing: another
 * platform, a folder this user cannot write (run it as root), or a drop-in
 * of that name that is not a TelemHQ policy.
 *
 * @param runtime The runtime adapter.
 * @param policy The policy.
 * @returns The file written.
 *
 * @example
 * ```ts ignore
 * await writePolicy(detectRuntime(), { enabledPlugins: { "telemhq@telemhq": true } });
 * ```
 */
export async function writePolicy(runtime: Runtime, policy: Record<string, unknown>): Promise<string> {
  const platform = hostPlatform();
  const dir = platform === "win32" ? "" : managedSettingsDirectory(platform);
  if (dir === "") {
    throw new CommandError(
      `Cannot write the policy on Windows: copy the printed policy (without --write) into ` +
        `C:\\Program Files\\ClaudeCode\\managed-settings.d\\${POLICY_DROP_IN} yourself.`,
      2,
    );
  }
  const fs = await runtime.fs();
  const folder = `${dir}/managed-settings.d`;
  const path = `${folder}/${POLICY_DROP_IN}`;
  const existing = await runtime.lstat(path);
  if (existing !== undefined) {
    const text = existing.kind === "file" ? await readSmallFile(fs, path, 1 << 20) : undefined;
    if (text === undefined || !isOurPolicy(text)) {
      throw new CommandError(
        `Cannot write the policy: "${path}" exists and is not a policy install wrote. Move it away, or print the ` +
          `policy (without --write) and merge it yourself; nothing was changed.`,
      );
    }
  }
  try {
    await fs.mkdir(folder, { recursive: true, mode: 0o755 });
    await writeFileAtomically(fs, path, JSON.stringify(policy, null, 2) + "\n", 0o644);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new CommandError(
      `Cannot write the policy to "${path}": ${code === "EACCES" || code === "EPERM" ? "permission denied" : code}. ` +
        `Run it as root (sudo), or print the policy (without --write); nothing was changed.`,
    );
  }
  return path;
}

/** Whether a drop-in holds only what a TelemHQ policy holds: our keys, and our plugin or our launcher. */
function isOurPolicy(text: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  if (keys.length === 0 || keys.some((key) => !POLICY_KEYS.has(key))) return false;
  return text.includes('"telemhq@') || text.includes(POLICY_LAUNCHER_PATH);
}
