/**
 * The hook itself, what Claude Code runs for each event: read the event,
 * build the ping, make it durable in the spool, and leave delivery to a
 * sender, so Claude Code never waits for the network. Never throws, never
 * writes to stdout.
 *
 * Owns: `runHook`. Uses: input, fields, paths, payload, runtime, state_dir, config,
 * ping_url, destination, spool, send, sender.
 *
 * @module
 */

import { type HookConfig, loadConfig } from "./config.ts";
import { describeError, HookSkip, MAX_EVENT_BYTES, parseEvent, readAll } from "./input.ts";
import type { Payload } from "./fields.ts";
import { buildPayload } from "./payload.ts";
import { parsePingUrl } from "./ping_url.ts";
import type { Runtime } from "./runtime.ts";
import { sendPing } from "./send.ts";
import { deliverSpool, startSender } from "./sender.ts";
import { alreadySent, spoolPing, usageSource } from "./spool.ts";
import { destinationOf, keepDestination } from "./destination.ts";
import { homeDirectory, hostPathStyle, isAbsolutePath } from "./paths.ts";
import { ensureStateDir, STATE_LAYOUT, subfolderProblem } from "./state_dir.ts";

/**
 * Runs the hook once: reads the event from stdin, builds the payload, makes it
 * durable in the spool, and starts a detached sender unless one is running.
 * Started by the shell fast path (`--detached`) it does the same: a process
 * it starts is not among those Claude Code's teardown listed, so the sender
 * outlives it. When no sender can be started, it delivers for a moment itself
 * (within the timeout); when the spool cannot be written, it sends the ping
 * directly, as the reference script does.
 *
 * @param runtime The runtime adapter (see {@linkcode detectRuntime}).
 * @returns `undefined` when all went well, otherwise a one-line reason (printed under debug only).
 *
 * @example
 * ```ts ignore
 * const problem = await runHook(detectRuntime());
 * ```
 */
export async function runHook(runtime: Runtime): Promise<string | undefined> {
  try {
    const { config, state } = await loadConfig(runtime);
    if (config.pingUrl === undefined) {
      return state.problem !== undefined
        ? `${state.problem}; its saved ping URL was not read: nothing sent`
        : "TELEMHQ_PING_URL is not set (nor saved by install): nothing sent";
    }
    const url = parsePingUrl(config.pingUrl);
    const input = parseEvent(await readAll(runtime.stdin(), MAX_EVENT_BYTES));
    const payload = await buildPayload(input, {
      fallbackCwd: hookFolder(runtime),
      runtime: runtime.name,
      sha256Hex: runtime.sha256Hex,
      hashSalt: config.hashSalt,
      member: config.member,
      homeDir: homeDirectory((name) => runtime.env(name), hostPathStyle()),
    });
    const unsafe = config.stateDir === undefined
      ? state.problem ?? "no state directory (set HOME or TELEMHQ_STATE_DIR)"
      // loadConfig checked an existing state directory and its parents already: only a new one is made and checked.
      : state.problem ??
        (state.checked ? undefined : await ensureStateDir(runtime, config.stateDir)) ??
        await subfolderProblem(runtime, `${config.stateDir}/${STATE_LAYOUT.spool}`) ??
        await subfolderProblem(runtime, `${config.stateDir}/${STATE_LAYOUT.destinations}`);
    if (unsafe !== undefined) return await sendDirectly(config, url, payload, unsafe);
    // The same event, handed to a second hook (the plugin and a settings install both wired), was taken already.
    if (await alreadySent(runtime, config.stateDir!, payload.ping_id)) {
      return config.debug ? "this event's ping was sent already (another hook had it): nothing to do" : undefined;
    }
    // This session's tracker, by name: the one sender delivers every session's pings, each to its own tracker.
    const to = await destinationOf(runtime, url, config.pingUrlSource === "config file");
    let spooled: string | undefined;
    try {
      // The sender reads the repository's name from this process's folder (where Claude Code started it).
      const local = usageSource(input, hookFolder(runtime), runtime.env("TELEMHQ_PRICES"));
      spooled = await spoolPing(runtime, config.stateDir!, payload, local, to);
      await keepDestination(runtime, config.stateDir!, to, url);
    } catch (error) {
      // Nothing half-made stays: a ping the sender could not send would only wait to be set aside.
      if (spooled !== undefined) await runtime.removeFile(spooled).catch(() => {});
      return await sendDirectly(
        config,
        url,
        payload,
        `cannot write the spool in "${config.stateDir}" (${describeError(error)})`,
      );
    }
    // Kept in the spool either way: once the permission covers the URL again, the pings go out.
    const warning = !runtime.mayReach(url.host)
      ? `this Deno hook may not reach ${url.host} (it was installed for another tracker): run install again`
      : config.debug
      ? await spoolWarning(runtime, config)
      : undefined;
    let problem: string;
    try {
      if (await startSender(runtime, config)) return warning;
      problem = "cannot start a sender: the hook does not run from a local file";
    } catch (error) {
      problem = `cannot start a sender (${describeError(error)})`;
    }
    return await deliverFromHook(runtime, config, problem);
  } catch (error) {
    if (error instanceof HookSkip) return error.message;
    // An unexpected error's text could hold event content: report its kind only.
    return `hook failed unexpectedly (${describeError(error)})`;
  }
}

/**
 * The folder Claude Code started the hook in (the project's): the launcher
 * starts hook.ts from "/" with `--detached` and names that folder in
 * `TELEMHQ_EVENT_DIR` (a command line is readable by every local user; the
 * environment only by this one).
 */
function hookFolder(runtime: Runtime): string {
  const named = runtime.args[0] === "--detached" ? runtime.env("TELEMHQ_EVENT_DIR") : undefined;
  return named !== undefined && isAbsolutePath(named) ? named : runtime.cwd();
}

/** The spool cannot be written: send the ping from here, the way the reference script does. */
async function sendDirectly(
  config: HookConfig,
  url: URL,
  payload: Payload,
  problem: string,
): Promise<string | undefined> {
  const result = await sendPing(url, payload, config.timeoutMs);
  if (result.outcome === "delivered") return config.debug ? `${problem}: sent directly` : undefined;
  return `${problem}, and the ping was not delivered: ${result.reason}`;
}

/** Spooled, but no sender could be started: be the sender for a moment, through the lock. */
async function deliverFromHook(runtime: Runtime, config: HookConfig, problem: string): Promise<string | undefined> {
  const report = await deliverSpool(runtime, { ...config, senderIdleMs: 0 }, { maxRunMs: config.timeoutMs });
  if (report.busy) return config.debug ? `${problem}; a sender is running, and delivers it` : undefined;
  if (report.waiting === 0) return config.debug ? `${problem}: delivered from the hook` : undefined;
  return `${problem}; the ping is kept in the spool: ${report.status.last_error?.reason ?? "not delivered yet"}`;
}

/** Under debug only: says when the spool is over its limit (the oldest pings will be dropped). */
async function spoolWarning(runtime: Runtime, config: HookConfig): Promise<string | undefined> {
  const fs = await runtime.fs();
  const count = (await fs.readdir(`${config.stateDir}/${STATE_LAYOUT.spool}`).catch(() => [] as string[])).length;
  if (count <= config.spoolMaxPings) return undefined;
  return `the spool holds ${count} pings, over its limit of ${config.spoolMaxPings}: the oldest will be dropped; ` +
    `is the tracker reachable? Run "flush" to see`;
}
