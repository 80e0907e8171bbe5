/**
 * The sender: one detached process drains the spool, outside Claude Code's
 * wait. It holds the lock, sends every due ping (adding usage first), retries
 * with backoff, keeps counters in `status.json`, and stays a while for more
 * pings before it leaves.
 *
 * Owns: `deliverSpool`, `startSender`, `DeliveryStatus`. Uses: input, fields,
 * runtime, files, state_dir, config, destination, launch, spool, lock, send,
 * trackers, journal, ledger.
 *
 * @module
 */

import { type HookConfig, loadManagedPricing, narrowAccess } from "./config.ts";
import { removeUnusedDestinations } from "./destination.ts";
import { Paces, soonestDueWithPace, Targets } from "./trackers.ts";
import { describeError, HookSkip } from "./input.ts";
import { appendToJournal } from "./journal.ts";
import { selfCommand } from "./launch.ts";
import { enrichEntry, forgetSession } from "./ledger.ts";
import { claimLockForSender, releaseClaimedLock, senderArgs, senderIsRunning, SenderLock } from "./lock.ts";
import { checkPayload } from "./fields.ts";
import { attempt, type Runtime, sleep } from "./runtime.ts";
import { readJsonFile, removeLeftoverTemporaries, writeJsonAtomically } from "./files.ts";
import { backoffMs, type SendOutcome, sendPing } from "./send.ts";
import { type ClaimedEntry, type DroppedCounts, type LoadedEntry, Spool } from "./spool.ts";
import { ensureStateDir, STATE_LAYOUT, subfolderProblem } from "./state_dir.ts";

async function firstProblem(checks: Promise<string | undefined>[]): Promise<string | undefined> {
  return (await Promise.all(checks)).find((problem) => problem !== undefined);
}

/** Delivery counters and the last problem, kept in `<state>/status.json` for `flush` and `doctor`. */
export interface DeliveryStatus {
  /** Pings delivered, in all. */
  delivered: number;
  /** Pings the tracker refused, in all (kept in `failed/`). */
  rejected: number;
  /** Pings set aside in `failed/` after failing here again and again (a full disk, a broken file). */
  faulted: number;
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
  /** Pings set aside during this run after repeated local errors. */
  faulted: number;
  /** Pings still waiting for a retry. */
  waiting: number;
  /** The counters in `status.json`. */
  status: DeliveryStatus;
  /** True when another sender was already running. */
  busy: boolean;
}

function emptyStatus(): DeliveryStatus {
  return { delivered: 0, rejected: 0, faulted: 0, dropped: { too_many: 0, too_old: 0, unreadable: 0 } };
}

/** Local errors one ping may cause before it is set aside in `failed/`, so that it never stalls the rest. */
const MAX_FAULTS = 5;
/** The longest tracker-asked wait a flush sits through (a 429's Retry-After, a short backoff); longer ends it. */
const FLUSH_PATIENCE_MS = 5_000;

/** The outcome of one attempt: sent, retried later, refused, set aside after local errors, or settled by another sender. */
type AttemptOutcome = SendOutcome | "faulted" | "gone";

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
  const saved = await readJsonFile(await runtime.fs(), `${stateDir}/${STATE_LAYOUT.status}`) as
    | Record<string, unknown>
    | undefined;
  const status = emptyStatus();
  if (saved === null || typeof saved !== "object") return status;
  // Each field checked: a broken status file must not stop every sender.
  const count = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0 ? n as number : 0;
  status.delivered = count(saved.delivered);
  status.rejected = count(saved.rejected);
  status.faulted = count(saved.faulted);
  const dropped = (saved.dropped ?? {}) as Record<string, unknown>;
  status.dropped = {
    too_many: count(dropped?.too_many),
    too_old: count(dropped?.too_old),
    unreadable: count(dropped?.unreadable),
  };
  if (typeof saved.last_delivered_at === "string") status.last_delivered_at = saved.last_delivered_at.slice(0, 40);
  const error = saved.last_error as Record<string, unknown> | undefined;
  if (error !== null && typeof error === "object" && typeof error.at === "string" && typeof error.reason === "string") {
    const outcome = ["delivered", "retry", "rejected"].includes(error.outcome as string) ? error.outcome : "retry";
    status.last_error = {
      at: error.at.slice(0, 40),
      reason: error.reason.slice(0, 300),
      outcome: outcome as SendOutcome,
      ...(Number.isSafeInteger(error.status) ? { status: error.status as number } : {}),
    };
  }
  return status;
}

/**
 * Adds usage to an entry that carries it, once, under a claim, and puts it
 * back: done one entry at a time, oldest first, so that a session's ledger
 * sees its turns before its end. Any error stays with this entry.
 */
async function enrichOne(
  runtime: Runtime,
  config: HookConfig,
  spool: Spool,
  item: LoadedEntry,
  status: DeliveryStatus,
): Promise<AttemptOutcome | undefined> {
  if (item.entry.enriched || item.entry.local === undefined) return undefined;
  const claimed = await spool.claim(item);
  if (claimed === undefined) return "gone";
  try {
    claimed.entry = await enrichEntry(runtime, config, claimed.entry);
    await spool.update(claimed);
    await forgetSession(runtime, config, claimed.entry);
    item.entry = claimed.entry;
    await spool.release(claimed);
    return undefined;
  } catch (error) {
    return await faultEntry(config, spool, item, claimed, status, describeError(error));
  }
}

/**
 * Sends one spooled ping and records what happened: deleted (and journaled),
 * rescheduled (its tracker slows down: see {@linkcode TrackerPace}) or
 * moved to `failed/`. The entry is claimed first, so two senders never send
 * it at once. Any error while handling it stays with this entry (see
 * {@linkcode faultEntry}).
 */
async function sendOne(
  runtime: Runtime,
  config: HookConfig,
  spool: Spool,
  url: URL,
  item: LoadedEntry,
  status: DeliveryStatus,
  paces: Paces,
): Promise<AttemptOutcome> {
  const pace = paces.of(item);
  const claimed: ClaimedEntry | undefined = await spool.claim(item);
  if (claimed === undefined) return "gone";
  try {
    const result = await sendPing(url, claimed.entry.payload, config.timeoutMs);
    const at = new Date().toISOString();
    if (result.outcome === "delivered") {
      await spool.remove(claimed);
      status.delivered++;
      status.last_delivered_at = at;
      // The tracker is back: whatever of its pings waited out a backoff is due now (its Retry-After still holds).
      if (pace.delivered()) spool.makeDue((other) => paces.keyOf(other) === paces.keyOf(item));
      const body = JSON.stringify(checkPayload(claimed.entry.payload));
      await appendToJournal(runtime, config.stateDir!, { delivered_at: at, status: result.status, body })
        .catch(() => {});
      return "delivered";
    }
    status.last_error = { at, reason: result.reason, status: result.status, outcome: result.outcome };
    if (result.outcome === "rejected") {
      // Not retried: a revoked or mistyped tracker must not be hammered. Kept for doctor and --retry-failed.
      await spool.moveToFailed(claimed, { at, reason: result.reason, status: result.status });
      status.rejected++;
      // A refusal may be the tracker's (a revoked token, a bad deploy, a captive portal), not the ping's:
      // the drain slows to one probe per backoff rather than refuse the whole backlog in seconds.
      if (result.status !== undefined) pace.failed(undefined);
      return "rejected";
    }
    pace.failed(result.retryAfterMs);
    const attempts = claimed.entry.attempts + 1;
    const wait = Math.max(
      result.retryAfterMs ?? 0,
      backoffMs(attempts, config.retryBaseMs, config.retryMaxMs, Math.random()),
    );
    claimed.entry = { ...claimed.entry, attempts, next_at: Date.now() + wait };
    item.entry = claimed.entry;
    await spool.reschedule(claimed);
    return "retry";
  } catch (error) {
    return await faultEntry(config, spool, item, claimed, status, describeError(error));
  }
}

/**
 * Delivers a batch of due entries: usage added first, in order, then sent a
 * few at a time (`TELEMHQ_SENDER_CONCURRENCY`), oldest first, over connections
 * the runtime keeps open. A tracker that asks to wait stops its own pings in
 * the batch (they stay due, untouched); the other trackers' go on.
 */
async function sendBatch(
  runtime: Runtime,
  config: HookConfig,
  spool: Spool,
  urls: ReadonlyMap<string, URL>,
  due: readonly LoadedEntry[],
  status: DeliveryStatus,
  paces: Paces,
  stopped: () => boolean,
): Promise<Map<string, AttemptOutcome>> {
  const outcomes = new Map<string, AttemptOutcome>();
  for (const item of due) {
    const outcome = await enrichOne(runtime, config, spool, item, status);
    if (outcome !== undefined) outcomes.set(item.name, outcome);
  }
  const sendable = due.filter((item) => !outcomes.has(item.name));
  let next = 0;
  const worker = async () => {
    while (next < sendable.length && !stopped()) {
      const item = sendable[next];
      const pace = paces.of(item);
      if (pace.waitMs() > 0) {
        // Its tracker asks to wait: the ping stays due, untouched, and the next one goes.
        next++;
        continue;
      }
      // While a tracker is failing, one request at a time probes it; the others wait for its answer.
      if (pace.probing() && paces.inFlight(item) > 0) {
        await sleep(50);
        continue;
      }
      next++;
      paces.track(item, 1);
      try {
        outcomes.set(item.name, await sendOne(runtime, config, spool, urls.get(item.name)!, item, status, paces));
      } finally {
        paces.track(item, -1);
      }
    }
  };
  const lanes = Math.min(config.senderConcurrency, sendable.length);
  await Promise.all(Array.from({ length: lanes }, () => worker()));
  return outcomes;
}

/**
 * An error while handling one entry (a full disk, a broken file) stays with
 * it: it is retried with backoff, and after {@linkcode MAX_FAULTS} it is set
 * aside in `failed/` with its reason; the pings behind it keep flowing.
 */
async function faultEntry(
  config: HookConfig,
  spool: Spool,
  item: LoadedEntry,
  claimed: ClaimedEntry,
  status: DeliveryStatus,
  code: string,
): Promise<AttemptOutcome> {
  const at = new Date().toISOString();
  const faults = (claimed.entry.faults ?? 0) + 1;
  const reason = `could not handle a spooled ping here (${code}), ${faults} time${faults === 1 ? "" : "s"}`;
  status.last_error = { at, reason, outcome: faults >= MAX_FAULTS ? "rejected" : "retry" };
  try {
    if (faults >= MAX_FAULTS) {
      await spool.moveToFailed(claimed, { at, reason });
      status.faulted++;
      return "faulted";
    }
    const wait = backoffMs(faults, config.retryBaseMs, config.retryMaxMs, Math.random());
    claimed.entry = { ...claimed.entry, faults, next_at: Date.now() + wait };
    item.entry = claimed.entry;
    await spool.reschedule(claimed);
  } catch {
    // Even that failed: the claim stays, and is put back once it is old (see Spool.load).
  }
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
 * @param options `flush`: try every ping once now, ignoring backoff, and leave when done;
 *   `maxRunMs`: leave after this long; `lockToken`: the token of a lock a hook claimed for this sender;
 *   `progress`: called after each batch (flush's progress line).
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
  options: {
    flush?: boolean;
    maxRunMs?: number;
    lockToken?: string;
    progress?: () => Promise<void>;
    /** Asked to stop (a flush interrupted by Ctrl-C): the pass ends, the lock is released. */
    stopped?: () => boolean;
  } = {},
): Promise<DeliveryReport> {
  const stateDir = config.stateDir;
  if (stateDir === undefined) throw new HookSkip("no state directory: set HOME or TELEMHQ_STATE_DIR");
  const unsafe = config.stateDirProblem ?? await ensureStateDir(runtime, stateDir) ??
    await firstProblem(
      [STATE_LAYOUT.spool, STATE_LAYOUT.failed, STATE_LAYOUT.sessions, STATE_LAYOUT.destinations].map((name) =>
        subfolderProblem(runtime, `${stateDir}/${name}`)
      ),
    );
  if (unsafe !== undefined) throw new HookSkip(unsafe);
  const fs = await runtime.fs();
  const spool = new Spool(fs, stateDir, config);
  await fs.mkdir(spool.dir, { mode: 0o700 }).catch(() => {});
  // What a full disk or a killed process left half-written: temporary files nobody will rename.
  for (const dir of ["", STATE_LAYOUT.spool, STATE_LAYOUT.failed, STATE_LAYOUT.sessions]) {
    await removeLeftoverTemporaries(fs, dir === "" ? stateDir : `${stateDir}/${dir}`);
  }
  // A tracker's token stays on disk only while pings wait for it.
  await removeUnusedDestinations(fs, stateDir, () => spool.destinationsInUse());
  const statusPath = `${stateDir}/${STATE_LAYOUT.status}`;
  const report: DeliveryReport = {
    delivered: 0,
    rejected: 0,
    faulted: 0,
    waiting: 0,
    status: emptyStatus(),
    busy: false,
  };
  const targets = new Targets(runtime, config, fs);
  // Claude Code honours an organisation's own prices from its managed settings: so does the usage.
  const priced = { ...config, prices: { ...config.prices, managed: await loadManagedPricing(runtime) } };
  const paces = new Paces(config.retryBaseMs, config.retryMaxMs);
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
      let idleSince = Date.now();
      // Flushing: every ping is tried once now, whatever its backoff. `flush` asks a running sender by a file.
      let flushing = options.flush === true;
      const tried = new Set<string>();
      while (!lock.lost && Date.now() < deadline && options.stopped?.() !== true) {
        if (!flushing && await fs.rm(`${stateDir}/${STATE_LAYOUT.flushRequest}`).then(() => true, () => false)) {
          flushing = true;
          tried.clear();
          // Someone asked for delivery now: our own backoff ends (a tracker's Retry-After holds).
          paces.tryNow();
        }
        // The URL install saved may change while a sender runs (a rotated token): the next ping goes to the new one.
        targets.refresh();
        const entries = await spool.load(status.dropped);
        // Each ping goes to its own session's tracker; one that cannot go now (no URL, out of this Deno's reach)
        // waits in the spool, the reason in status.json, and counts for nothing below.
        const { urls, problem } = await targets.sort(entries);
        const sendable = entries.filter((item) => urls.has(item.name));
        const now = Date.now();
        // Activity is a new ping or a delivery; failed retries are not, so a sender facing a dead
        // tracker leaves once its waits grow longer than senderIdleMs, and a later hook restarts it.
        if (entries.added > 0 || entries.arriving > 0) idleSince = now;
        const newProblem = problem !== undefined && status.last_error?.reason !== problem;
        if (newProblem) status.last_error = { at: new Date().toISOString(), reason: problem, outcome: "retry" };
        const due = sendable
          .filter((item) => paces.of(item).waitMs(now) === 0)
          .filter((item) => flushing ? !tried.has(item.name) : item.entry.next_at <= now)
          .slice(0, config.senderConcurrency * BATCH_ROUNDS);
        const outcomes = due.length === 0 ? new Map<string, AttemptOutcome>() : await sendBatch(
          runtime,
          priced,
          spool,
          urls,
          due,
          status,
          paces,
          () => lock.lost || options.stopped?.() === true,
        );
        for (const [name, outcome] of outcomes) {
          tried.add(name);
          if (outcome === "delivered") {
            report.delivered++;
            idleSince = Date.now();
          }
          if (outcome === "rejected") report.rejected++;
          if (outcome === "faulted") report.faulted++;
        }
        if (due.length > 0 || newProblem || !(await fs.lstat(statusPath).then(() => true, () => false))) {
          await writeJsonAtomically(fs, statusPath, status).catch(() => {});
        }
        await options.progress?.();
        report.status = status;
        const stillWaiting = (item: LoadedEntry) => {
          const outcome = outcomes.get(item.name);
          return outcome === undefined || outcome === "retry";
        };
        report.waiting = entries.filter(stillWaiting).length;
        const waiting = sendable.filter(stillWaiting);
        const moreNow = outcomes.size === due.length && due.length === config.senderConcurrency * BATCH_ROUNDS;
        if (moreNow) continue;
        // A flush is over once every ping was tried, or its tracker asks for a longer wait than anyone waits
        // for at a prompt (an outage: what is left is reported, and the sender keeps at it).
        const flushed = sendable.every((item) =>
          paces.of(item).waitMs() > FLUSH_PATIENCE_MS || (tried.has(item.name) && paces.of(item).waitMs() === 0)
        );
        if (flushing && flushed) {
          // Every ping was tried: a flush command waiting on a running sender gets its answer.
          await runtime.createPrivateFile(`${stateDir}/${STATE_LAYOUT.flushDone}`, new Date().toISOString())
            .catch(() => false);
          if (options.flush) break;
          flushing = false;
        }
        // A ping without a usable URL will not be due until the configuration changes: it is not waited for.
        const untilDue = soonestDueWithPace(waiting, paces) - Date.now();
        // A ping not tried yet (a SessionEnd waiting its turn) is never left behind, unless its tracker is
        // failing: then it waits behind the probe, like the rest, for the next hook to start a sender.
        const untried = waiting.some((item) => item.entry.attempts === 0 && !paces.of(item).probing());
        if (!untried && Date.now() - idleSince >= config.senderIdleMs && untilDue > config.senderIdleMs) break;
        // While every waiting ping's tracker asks to wait, or no ping has a URL this sender may use, nothing can go:
        // look less often (a backlog is read from memory anyway). Otherwise new pings are looked for 4 times a second.
        const paused = waiting.length > 0 && waiting.every((item) => paces.of(item).waitMs() > 0);
        const stuck = waiting.length === 0 && problem !== undefined;
        await sleep(Math.max(20, Math.min(paused || stuck ? 5000 : 250, untilDue)));
      }
    } finally {
      await lock.release();
    }
    if (lock.lost || options.flush || options.stopped?.() === true || Date.now() >= deadline) break;
    // Look once more after letting go: a hook that saw our lock just before we left relies on it.
    // Without the lock, claims are not ours to judge: another sender may be sending them.
    const spooled = await spool.load(report.status.dropped, false);
    targets.refresh();
    const { urls } = await targets.sort(spooled);
    const sendable = spooled.filter((item) => urls.has(item.name));
    // While its tracker fails, only a new ping counts: the rest wait behind the probe, for a later hook.
    const pending = sendable.length > 0 && (spooled.added > 0 ||
      sendable.some((item) =>
        !paces.of(item).probing() && (item.entry.next_at <= Date.now() || item.entry.attempts === 0)
      ));
    if (spooled.arriving === 0 && !pending) break;
  }
  // Leaving: a tracker's token stays on disk only while a ping waits for it (another sender's, if busy, does that).
  if (!report.busy) await removeUnusedDestinations(fs, stateDir, () => spool.destinationsInUse()).catch(() => 0);
  return report;
}

/** A batch is this many rounds of `senderConcurrency` requests: status and new pings are looked at between batches. */
const BATCH_ROUNDS = 16;

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
  // A sender gets no more than this process has: when this Deno may not reach the tracker, neither
  // could its sender; the pings wait in the spool, and the hook and doctor say why.
  const host = config.pingUrl === undefined ? undefined : attempt(() => new URL(config.pingUrl!).host, undefined);
  if (host !== undefined && !runtime.mayReach(host)) return true;
  const token = await claimLockForSender(runtime, stateDir);
  if (token === undefined && await senderIsRunning(runtime, stateDir)) return true;
  const narrow = narrowAccess((name) => runtime.env(name), config.pingUrl);
  // The transcripts' real folder too, as the launcher gives the hook: Deno checks the path a symlink leads to.
  const projects = narrow === undefined ? undefined : await runtime.realpath(`${narrow.claudeDir}/projects`);
  if (narrow !== undefined && projects !== undefined && projects !== `${narrow.claudeDir}/projects`) {
    narrow.projectsDir = projects;
  }
  const command = selfCommand(runtime, senderArgs(token), stateDir, narrow);
  if (command === undefined) {
    if (token !== undefined) await releaseClaimedLock(runtime, stateDir, token);
    return false;
  }
  try {
    await runtime.startDetached(command);
  } catch (error) {
    // No sender will adopt the lock claimed for it: let it go, so that the hook can deliver itself.
    if (token !== undefined) await releaseClaimedLock(runtime, stateDir, token);
    throw error;
  }
  return true;
}
