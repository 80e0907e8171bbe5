/**
 * `doctor`: checks, in plain words, everything a ping needs: the URL (token
 * redacted), the settings files Claude Code merges (our hook wired once per
 * event), the hook file and the runtime `install` recorded, the state
 * directory, the spool, and the last delivery; `--ping` sends a test ping.
 *
 * Owns: `doctorCommand`. Uses: runtime, config, input, payload, ping_url,
 * send, sender, cli_args, install.
 *
 * @module
 */

import { parseArgs } from "./cli_args.ts";
import { claudeDirectory, loadConfig, STATE_LAYOUT } from "./config.ts";
import { describeError } from "./input.ts";
import { installedHookFiles, readInstallRecord, scanSettings } from "./install.ts";
import { buildPayload } from "./payload.ts";
import { parsePingUrl, redactUrl } from "./ping_url.ts";
import type { Runtime } from "./runtime.ts";
import { sendPing } from "./send.ts";
import { readStatus } from "./sender.ts";

/** A line of doctor's report; problems are counted for the exit code. */
class Report {
  problems = 0;

  ok(text: string): void {
    console.log(`ok       ${text}`);
  }

  problem(text: string): void {
    this.problems++;
    console.log(`PROBLEM  ${text}`);
  }
}

/**
 * `doctor`: checks, in plain words, everything a ping needs: the URL (token
 * redacted), the settings files Claude Code merges (our hook wired once per
 * event), the runtime, the state directory, the spool, the last delivery.
 * `--ping` also sends a test ping and shows the answer.
 *
 * @param runtime The runtime adapter.
 * @param args `[--ping]`.
 * @returns 0 when all is well, 1 otherwise.
 *
 * @example
 * ```ts ignore
 * await doctorCommand(detectRuntime(), ["--ping"]);
 * ```
 */
export async function doctorCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  const values = parseArgs(args, [], ["--ping"]);
  const fs = await runtime.fs();
  const config = await loadConfig(runtime);
  const claudeDir = claudeDirectory((name) => runtime.env(name));
  const report = new Report();
  let url: URL | undefined;
  if (config.pingUrl === undefined) {
    report.problem("No ping URL: run install --url ..., or set TELEMHQ_PING_URL where Claude Code starts.");
  } else {
    try {
      url = parsePingUrl(config.pingUrl);
      report.ok(`Ping URL ${redactUrl(url)} (from ${config.pingUrlSource}).`);
    } catch (error) {
      report.problem(`The ping URL (from ${config.pingUrlSource}) is refused: ${(error as Error).message}`);
    }
  }
  if (claudeDir === undefined || config.stateDir === undefined) {
    report.problem("HOME is not set: no settings or state directory to check.");
    return 1;
  }
  const stateDir = config.stateDir;
  const scanned = await scanSettings(claudeDir, runtime.cwd());
  const wired = new Map<string, string[]>();
  for (const file of scanned) {
    if (file.error !== undefined) report.problem(file.error);
    for (const hook of file.hooks) wired.set(hook.event, [...(wired.get(hook.event) ?? []), file.path]);
  }
  if (wired.size === 0) {
    report.problem(`No settings file runs the hook (${installedHookFiles(claudeDir).join(" or ")}): run install.`);
  }
  for (const [event, paths] of wired) {
    if (paths.length === 1) report.ok(`${event} runs the hook (${paths[0]}).`);
    else {
      report.problem(
        `${event} runs the hook ${paths.length} times (${
          paths.join(", ")
        }): Claude Code merges these files; run uninstall for all but one scope.`,
      );
    }
  }
  const record = await readInstallRecord(runtime, stateDir);
  const hookFile = record?.hook_file ?? scanned.flatMap((file) => file.hooks)[0]?.hookFile;
  if (hookFile !== undefined) {
    if (await fs.access(hookFile).then(() => true, () => false)) report.ok(`Hook file ${hookFile} is there.`);
    else if (wired.size > 0) report.problem(`Hook file ${hookFile} is missing: run install again.`);
  }
  if (record !== undefined) {
    // Only the runtime install resolved and recorded, never a word from a settings file.
    const version = await runVersion(record.runtime_path);
    if (version === undefined) {
      report.problem(
        `The runtime ${record.runtime_path} does not run: install it again, or run install with --runtime.`,
      );
    } else report.ok(`Runtime ${record.runtime_path} runs (${version}).`);
  } else if (wired.size > 0) {
    report.problem(`No install record in ${stateDir}: run install again so that doctor can check the runtime.`);
  }
  const probe = `${stateDir}/.doctor-${crypto.randomUUID()}`;
  try {
    await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
    await fs.writeFile(probe, "");
    await fs.rm(probe);
    report.ok(`State directory ${stateDir} is writable.`);
  } catch (error) {
    report.problem(`State directory ${stateDir} is not writable (${describeError(error)}): pings cannot be spooled.`);
  }
  const spoolDir = `${stateDir}/${STATE_LAYOUT.spool}`;
  const spooled = (await fs.readdir(spoolDir).catch(() => [] as string[])).filter((name) => name.endsWith(".json"));
  let oldest = Infinity;
  for (const name of spooled) {
    oldest = Math.min(oldest, await fs.stat(`${spoolDir}/${name}`).then((stat) => stat.mtimeMs, () => Infinity));
  }
  if (spooled.length === 0) report.ok("The spool is empty: every ping was delivered.");
  else if (Date.now() - oldest > 10 * 60_000) {
    report.problem(
      `${spooled.length} pings wait in the spool, the oldest for ${
        Math.round((Date.now() - oldest) / 60_000)
      } min: run flush to see why.`,
    );
  } else report.ok(`${spooled.length} pings wait in the spool (newer than 10 min): delivery is under way.`);
  const status = await readStatus(runtime, stateDir);
  if (
    status.last_error !== undefined &&
    (status.last_delivered_at === undefined || status.last_error.at > status.last_delivered_at)
  ) {
    report.problem(`Last delivery failed at ${status.last_error.at}: ${status.last_error.reason}.`);
  } else if (status.last_delivered_at !== undefined) {
    report.ok(
      `Last delivery at ${status.last_delivered_at}; ${status.delivered} delivered, ${status.rejected} refused in all.`,
    );
  }
  if (values["--ping"] && url !== undefined) {
    const payload = await buildPayload(
      { hook_event_name: "DoctorPing", session_id: crypto.randomUUID(), cwd: runtime.cwd() },
      { fallbackCwd: runtime.cwd(), runtime: runtime.name, sha256Hex: runtime.sha256Hex },
    );
    const result = await sendPing(url, payload, config.timeoutMs);
    if (result.outcome === "delivered") {
      report.ok(`Test ping accepted: ${redactUrl(url)} answered HTTP ${result.status}.`);
    } else report.problem(`Test ping not accepted: ${result.reason}.`);
  }
  const problems = report.problems;
  console.log(problems === 0 ? "\nAll good." : `\n${problems} problem${problems === 1 ? "" : "s"} found.`);
  return problems === 0 ? 0 : 1;
}

/** A runtime's `--version` answer (first line), or undefined when it does not run within 10 s. */
async function runVersion(path: string): Promise<string | undefined> {
  const { execFile } = await import("node:child_process");
  return await new Promise((resolve) => {
    execFile(path, ["--version"], { timeout: 10_000 }, (error, stdout) => {
      resolve(error ? undefined : String(stdout).split("\n")[0].trim());
    });
  });
}
