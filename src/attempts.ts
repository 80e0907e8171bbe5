/**
 * One ping's attempt, as the sender makes it: usage added under a claim,
 * then sent and settled (delivered and journaled, rescheduled with backoff,
 * refused into `failed/`, or set aside after repeated local faults), and a
 * batch of them a few at a time. The counters it keeps go to `status.json`.
 *
 * Owns: `Attempts`, `DeliveryStatus`, `readStatus`. Uses: input, fields,
 * runtime, files, config, state_dir, spool, send, trackers, journal, prices,
 * ledger.
 *
 * @module
 */

import type { HookConfig } from "./config.ts";
import { checkPayload } from "./fields.ts";
import { readJsonFile } from "./files.ts";
import { describeError } from "./input.ts";
import { appendToJournal } from "./journal.ts";
import { enrichEntry, forgetSession } from "./ledger.ts";
import type { ManagedPricing } from "./prices.ts";
import { type Runtime, sleep } from "./runtime.ts";
import { backoffMs, type SendOutcome, sendPing } from "./send.ts";
import type { ClaimedEntry, DroppedCounts, LoadedEntry, Spool } from "./spool.ts";
import { STATE_LAYOUT } from "./state_dir.ts";
import type { Paces } from "./trackers.ts";

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

/**
 * No deliveries yet.
 *
 * @returns Counters at zero.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(emptyStatus().delivered, 0);
 * ```
 */
export function emptyStatus(): DeliveryStatus {
  return { delivered: 0, rejected: 0, faulted: 0, dropped: { too_many: 0, too_old: 0, unreadable: 0 } };
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

/** Local errors one ping may cause before it is set aside in `failed/`, so that it never stalls the rest. */
const MAX_FAULTS = 5;

/** The outcome of one attempt: sent, retried later, refused, set aside after local errors, or settled by another sender. */
export type AttemptOutcome = SendOutcome | "faulted" | "gone";

/** What one sender's attempts work with. */
export interface AttemptContext {
  /** The runtime adapter. */
  runtime: Runtime;
  /** The settings. */
  config: HookConfig;
  /** The spool. */
  spool: Spool;
  /** The counters, updated as pings go. */
  status: DeliveryStatus;
  /** Each tracker's pace. */
  paces: Paces;
  /** An organisation's managed prices, read once per sender. */
  managed?: ManagedPricing;
}

/**
 * The attempts of one sender: each ping claimed before anything is done
 * with it (so two senders never handle it at once), any error kept with that
 * ping, and its tracker's pace kept up to date.
 */
export class Attempts {
  #context: AttemptContext;

  /** @param context What the attempts work with. */
  constructor(context: AttemptContext) {
    this.#context = context;
  }

  /**
   * Delivers a batch of due entries: usage added first, in order (a session's
   * ledger sees its turns before its end), then sent a few at a time
   * (`TELEMHQ_SENDER_CONCURRENCY`), oldest first, over connections the
   * runtime keeps open. A tracker that asks to wait stops its own pings in
   * the batch (they stay due, untouched); the other trackers' go on.
   */
  async batch(
    due: readonly LoadedEntry[],
    urls: ReadonlyMap<string, URL>,
    stopped: () => boolean,
  ): Promise<Map<string, AttemptOutcome>> {
    const outcomes = new Map<string, AttemptOutcome>();
    for (const item of due) {
      const outcome = await this.enrich(item);
      if (outcome !== undefined) outcomes.set(item.name, outcome);
    }
    const sendable = due.filter((item) => !outcomes.has(item.name));
    let next = 0;
    const { paces, config } = this.#context;
    const lane = async () => {
      while (next < sendable.length && !stopped()) {
        const item = sendable[next];
        const pace = paces.of(item);
        // Its tracker asks to wait: the ping stays due, untouched, and the next one goes.
        if (pace.waitMs() > 0) {
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
        outcomes.set(item.name, await this.send(item, urls.get(item.name)!).finally(() => paces.track(item, -1)));
      }
    };
    await Promise.all(Array.from({ length: Math.min(config.senderConcurrency, sendable.length) }, lane));
    return outcomes;
  }

  /** Adds usage to an entry that carries it, once, under a claim, and puts it back; undefined when it may go. */
  async enrich(item: LoadedEntry): Promise<AttemptOutcome | undefined> {
    if (item.entry.enriched || item.entry.local === undefined) return undefined;
    const { runtime, config, spool, managed } = this.#context;
    const claimed = await spool.claim(item);
    if (claimed === undefined) return "gone";
    try {
      claimed.entry = await enrichEntry(runtime, config, claimed.entry, managed);
      await spool.update(claimed);
      await forgetSession(runtime, config, claimed.entry);
      item.entry = claimed.entry;
      await spool.release(claimed);
      return undefined;
    } catch (error) {
      return await this.fault(item, claimed, describeError(error));
    }
  }

  /** Sends one ping, under a claim, and settles it by what the tracker answered. */
  async send(item: LoadedEntry, url: URL): Promise<AttemptOutcome> {
    const claimed: ClaimedEntry | undefined = await this.#context.spool.claim(item);
    if (claimed === undefined) return "gone";
    // Taken: the same event handed to a second hook (both routes wired) is not spooled again (see alreadySent).
    await this.#context.spool.markSent(item);
    try {
      const result = await sendPing(url, claimed.entry.payload, this.#context.config.timeoutMs);
      const at = new Date().toISOString();
      if (result.outcome === "delivered") return await this.#delivered(item, claimed, at, result.status);
      this.#context.status.last_error = { at, reason: result.reason, status: result.status, outcome: result.outcome };
      if (result.outcome === "rejected") return await this.#refused(item, claimed, at, result.reason, result.status);
      return await this.#retryLater(item, claimed, result.retryAfterMs);
    } catch (error) {
      return await this.fault(item, claimed, describeError(error));
    }
  }

  /** Delivered: the entry goes, the body is journaled, and a tracker that is back gets its waiting pings now. */
  async #delivered(item: LoadedEntry, claimed: ClaimedEntry, at: string, status?: number): Promise<AttemptOutcome> {
    const { runtime, config, spool, paces } = this.#context;
    await spool.remove(claimed);
    this.#context.status.delivered++;
    this.#context.status.last_delivered_at = at;
    // The tracker is back: whatever of its pings waited out a backoff is due now (its Retry-After still holds).
    if (paces.of(item).delivered()) spool.makeDue((other) => paces.keyOf(other) === paces.keyOf(item));
    const body = JSON.stringify(checkPayload(claimed.entry.payload));
    const note = typeof claimed.entry.note === "string" ? claimed.entry.note.slice(0, 300) : undefined;
    await appendToJournal(runtime, config.stateDir!, { delivered_at: at, status: status ?? 0, body, note })
      .catch(() => {});
    return "delivered";
  }

  /**
   * Refused: not retried (a revoked or mistyped tracker must not be hammered), kept for doctor and
   * `flush --retry-failed`. A refusal may be the tracker's (a revoked token, a bad deploy, a captive portal), not
   * the ping's: its drain slows to one probe per backoff rather than refuse the whole backlog in seconds.
   */
  async #refused(
    item: LoadedEntry,
    claimed: ClaimedEntry,
    at: string,
    reason: string,
    status?: number,
  ): Promise<AttemptOutcome> {
    await this.#context.spool.moveToFailed(claimed, { at, reason, status });
    this.#context.status.rejected++;
    if (status !== undefined) this.#context.paces.of(item).failed(undefined);
    return "rejected";
  }

  /** Not now (5xx, 429, a timeout): back into the spool with its own backoff, never sooner than the tracker asked. */
  async #retryLater(item: LoadedEntry, claimed: ClaimedEntry, retryAfterMs?: number): Promise<AttemptOutcome> {
    const { config, spool, paces } = this.#context;
    paces.of(item).failed(retryAfterMs);
    const attempts = claimed.entry.attempts + 1;
    const wait = Math.max(retryAfterMs ?? 0, backoffMs(attempts, config.retryBaseMs, config.retryMaxMs, Math.random()));
    claimed.entry = { ...claimed.entry, attempts, next_at: Date.now() + wait };
    item.entry = claimed.entry;
    await spool.reschedule(claimed);
    return "retry";
  }

  /**
   * An error while handling one entry (a full disk, a broken file) stays with
   * it: it is retried with backoff, and after {@linkcode MAX_FAULTS} it is set
   * aside in `failed/` with its reason; the pings behind it keep flowing.
   */
  async fault(item: LoadedEntry, claimed: ClaimedEntry, code: string): Promise<AttemptOutcome> {
    const { config, spool, status } = this.#context;
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
}
