/**
 * The sender: one detached process drains the spool, outside Claude Code's
 * wait. It holds the lock, sends every due ping (adding usage first), retries
 * with backoff, keeps counters in `status.json`, and stays a while for more
 * pings before it leaves.
 *
 * Owns: `deliverSpool`, `startSender`, `DeliveryStatus`. Uses: runtime,
 * config, ping_url, spool, lock, send, launch, ledger (enrichment).
 *
 * @module
 */

import { type HookConfig, narrowAccess, STATE_LAYOUT } from "./config.ts";
import { HookSkip } from "./input.ts";
import { selfCommand } from "./launch.ts";
import { enrichEntry } from "./ledger.ts";
import { claimLockForSender, senderIsRunning, SenderLock } from "./lock.ts";
import { parsePingUrl } from "./ping_url.ts";
import { readJsonFile, type Runtime, sleep, writeJsonAtomically } from "./runtime.ts";
import { backoffMs, type SendOutcome, sendPing } from "./send.ts";
import { type ClaimedEntry, type DroppedCounts, type LoadedEntry, Spool } from "./spool.ts";

/** Delivery counters and the last problem, kept in `<state>/status.json` for `flush` and `doctor`. */
export interface DeliveryStatus {
  /** Pings delivered, in all. */
  delivered: number;
  /** Pings the tracker refused, in all. */
  rejected: number;
  /** Pings dropped from the spool unsent, by reason. */
  dropped: DroppedCounts;
  /** When the last ping was delivered, ISO 8601. */
  last_delivered_at?: string;
  /** The last failed attempt. */
  last_error?: { at: string; reason: string; status?: number; outcome: SendOutcome };
}

/** What one sender run did, for `flush`'s report. */
export interface DeliveryReport {
  /** Pings delivered by this run. */
  delivered: number;
  /** Pings refused during this run. */
  rejected: number;
  /** Pings still waiting for a retry. */
  waiting: number;
  /** The counters in `status.json`. */
  status: DeliveryStatus;
  /** True when another sender was already running. */
  busy: boolean;
}

function emptyStatus(): DeliveryStatus {
  return { delivered: 0, rejected: 0, dropped: { too_many: 0, too_old: 0, unreadable: 0 } };
}

/**
 * Reads `status.json`; an absent or broken file counts as no deliveries yet.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @returns The counters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * assert.equal((await readStatus(detectRuntime(), "/nonexistent")).delivered, 0);
 * ```
 */
export async function readStatus(runtime: Runtime, stateDir: string): Promise<DeliveryStatus> {
  const saved = await readJsonFile(await runtime.fs(), `${stateDir}/${STATE_LAYOUT.status}`);
  return { ...emptyStatus(), ...(saved !== null && typeof saved === "object" ? saved : {}) };
}

/**
 * Sends one spooled ping and records what happened: deleted, rescheduled or
 * moved to `failed/`. Usage is added first, once, and saved under the claim
 * so that a retry sends the same numbers and never counts them again.
 */
async function attemptEntry(
  runtime: Runtime,
  config: HookConfig,
  spool: Spool,
  item: LoadedEntry,
  status: DeliveryStatus,
): Promise<SendOutcome | "gone"> {
  const claimed: ClaimedEntry | undefined = await spool.claim(item);
  if (claimed === undefined) return "gone";
  if (!claimed.entry.enriched && claimed.entry.local !== undefined) {
    claimed.entry = await enrichEntry(runtime, config, claimed.entry);
    await spool.update(claimed);
  }
  let url: URL;
  try {
    url = parsePingUrl(claimed.entry.url);
  } catch (error) {
    await spool.remove(claimed);
    status.rejected++;
    status.last_error = { at: new Date().toISOString(), reason: (error as Error).message, outcome: "rejected" };
    return "rejected";
  }
  const result = await sendPing(url, claimed.entry.payload, config.timeoutMs);
  const at = new Date().toISOString();
  if (result.outcome === "delivered") {
    await spool.remove(claimed);
    status.delivered++;
    status.last_delivered_at = at;
    return "delivered";
  }
  status.last_error = { at, reason: result.reason ?? "unknown", status: result.status, outcome: result.outcome };
  if (result.outcome === "rejected") {
    // Not retried: a revoked or mistyped tracker must not be hammered. Kept for doctor to show.
    await spool.moveToFailed(claimed);
    status.rejected++;
    return "rejected";
  }
  const attempts = claimed.entry.attempts + 1;
  const wait = Math.max(
    result.retryAfterMs ?? 0,
    backoffMs(attempts, config.retryBaseMs, config.retryMaxMs, Math.random()),
  );
  claimed.entry = { ...claimed.entry, attempts, next_at: Date.now() + wait };
  item.entry = claimed.entry;
  await spool.reschedule(claimed);
  return "retry";
}

/**
 * Drains the spool as the only sender: takes the lock, sends every due ping,
 * retries with backoff, and stays a while for more pings (`senderIdleMs`)
 * before it lets go. After letting go it looks once more, so a ping spooled
 * while it was leaving is not stranded.
 *
 * @param runtime The runtime adapter.
 * @param config The settings; `config.stateDir` must be set.
 * @param options `flush`: send every ping now, ignoring backoff, and leave when done;
 *   `maxRunMs`: leave after this long; `lockToken`: the token of a lock a hook claimed for this sender.
 * @returns What it delivered, and what is still waiting.
 *
 * @example
 * ```ts ignore
 * const runtime = detectRuntime();
 * const report = await deliverSpool(runtime, await loadConfig(runtime), { flush: true });
 * ```
 */
export async function deliverSpool(
  runtime: Runtime,
  config: HookConfig,
  options: { flush?: boolean; maxRunMs?: number; lockToken?: string } = {},
): Promise<DeliveryReport> {
  const stateDir = config.stateDir;
  if (stateDir === undefined) throw new HookSkip("no state directory: set HOME or TELEMHQ_STATE_DIR");
  const fs = await runtime.fs();
  const spool = new Spool(fs, stateDir, config);
  await fs.mkdir(spool.dir, { recursive: true, mode: 0o700 });
  const statusPath = `${stateDir}/${STATE_LAYOUT.status}`;
  const report: DeliveryReport = { delivered: 0, rejected: 0, waiting: 0, status: emptyStatus(), busy: false };
  const deadline = Date.now() + (options.maxRunMs ?? 10 * 60_000);
  let claim = options.lockToken;
  while (true) {
    const lock = await SenderLock.take(runtime, stateDir, claim);
    claim = undefined;
    if (lock === undefined) {
      report.busy = true;
      break;
    }
    try {
      const status = await readStatus(runtime, stateDir);
      const seen = new Set<string>();
      let idleSince = Date.now();
      while (!lock.lost && Date.now() < deadline) {
        const flush = options.flush ||
          await fs.rm(`${stateDir}/${STATE_LAYOUT.flushRequest}`).then(() => true, () => false);
        const entries = await spool.load(status.dropped);
        const now = Date.now();
        // Activity is a new ping or a delivery; failed retries are not, so a sender facing a dead
        // tracker leaves once its waits grow longer than senderIdleMs, and a later hook restarts it.
        if (entries.some((item) => !seen.has(item.name)) || entries.arriving > 0) idleSince = now;
        for (const item of entries) seen.add(item.name);
        const due = entries.filter((item) => flush || item.entry.next_at <= now);
        const settled = new Set<string>();
        for (const item of due) {
          if (lock.lost) break;
          const outcome = await attemptEntry(runtime, config, spool, item, status);
          if (outcome !== "retry") settled.add(item.name); // "gone": another sender settled it
          if (outcome === "delivered") {
            report.delivered++;
            idleSince = Date.now();
          }
          if (outcome === "rejected") report.rejected++;
        }
        if (due.length > 0 || !(await fs.stat(statusPath).then(() => true, () => false))) {
          await writeJsonAtomically(fs, statusPath, status);
        }
        report.status = status;
        const waiting = entries.filter((item) => !settled.has(item.name) && item.entry.next_at > Date.now());
        report.waiting = waiting.length;
        // After a flush, let go at once: `flush` is waiting to take the lock and report.
        if (flush) break;
        const untilDue = waiting.reduce((soonest, item) => Math.min(soonest, item.entry.next_at), Infinity) -
          Date.now();
        // A ping not tried yet (a SessionEnd waiting its turn) is never left behind.
        const untried = waiting.some((item) => item.entry.attempts === 0);
        if (!untried && Date.now() - idleSince >= config.senderIdleMs && untilDue > config.senderIdleMs) break;
        await sleep(Math.max(20, Math.min(250, untilDue)));
      }
    } finally {
      await lock.release();
    }
    if (lock.lost || options.flush || Date.now() >= deadline) break;
    // Look once more after letting go: a hook that saw our lock just before we left relies on it.
    const spooled = await spool.load(report.status.dropped);
    const pending = spooled.some((item) => item.entry.next_at <= Date.now() || item.entry.attempts === 0);
    if (spooled.arriving === 0 && !pending) break;
  }
  return report;
}

/**
 * Starts a detached sender for the spool, unless one is running. The lock is
 * claimed for it first (see {@linkcode claimLockForSender}).
 *
 * @param runtime The runtime adapter.
 * @param config The settings (state directory, ping URL for Deno's narrow flags).
 * @returns True when a sender was started or is running; false when this script cannot start one.
 *
 * @example
 * ```ts ignore
 * const runtime = detectRuntime();
 * await startSender(runtime, await loadConfig(runtime));
 * ```
 */
export async function startSender(runtime: Runtime, config: HookConfig): Promise<boolean> {
  const stateDir = config.stateDir;
  if (stateDir === undefined) return false;
  if (await senderIsRunning(runtime, stateDir)) return true;
  const token = await claimLockForSender(runtime, stateDir);
  if (token === undefined && await senderIsRunning(runtime, stateDir)) return true;
  const args = token !== undefined ? ["deliver", "--lock", token] : ["deliver"];
  const command = selfCommand(runtime, args, stateDir, narrowAccess((name) => runtime.env(name), config.pingUrl));
  if (command === undefined) return false;
  await runtime.startDetached(command);
  return true;
}
