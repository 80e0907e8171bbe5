/**
 * The sender: one detached process drains the spool, outside Claude Code's
 * wait. It holds the lock, sends every due ping (adding usage first), retries
 * with backoff, keeps counters in `status.json`, and stays a while for more
 * pings before it leaves. Each pass is a few named steps: poll the spool,
 * pick what is due, send it, settle the outcomes, decide whether to leave.
 *
 * Owns: `deliverSpool`, `startSender`, `DeliveryReport`. Uses: input, runtime,
 * files, state_dir, config, destination, launch, spool, lock, trackers,
 * prices, attempts.
 *
 * @module
 */

import { type AttemptOutcome, Attempts, type DeliveryStatus, emptyStatus, readStatus } from "./attempts.ts";
import type { HookConfig } from "./config.ts";
import { removeUnusedDestinations } from "./destination.ts";
import { removeLeftoverTemporaries, writeJsonAtomically } from "./files.ts";
import { HookSkip } from "./input.ts";
import { narrowAccess, selfCommand } from "./launch.ts";
import { claimLockForSender, releaseClaimedLock, senderArgs, senderIsRunning, SenderLock } from "./lock.ts";
import { loadManagedPricing } from "./prices.ts";
import { attempt, type FsPromises, type Runtime, sleep } from "./runtime.ts";
import { type LoadedEntry, Spool } from "./spool.ts";
import { ensureStateDir, STATE_LAYOUT, subfolderProblem } from "./state_dir.ts";
import { Paces, soonestDueWithPace, Targets } from "./trackers.ts";

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

/** How a sender runs: see {@linkcode deliverSpool}. */
export interface DeliverOptions {
  /** Try every ping once now, ignoring backoff, and leave when done. */
  flush?: boolean;
  /** Leave after this long. */
  maxRunMs?: number;
  /** The token of a lock a hook claimed for this sender. */
  lockToken?: string;
  /** Called after each batch (flush's progress line). */
  progress?: () => Promise<void>;
  /** Asked to stop (a flush interrupted by Ctrl-C): the pass ends, the lock is released. */
  stopped?: () => boolean;
}

/** The longest tracker-asked wait a flush sits through (a 429's Retry-After, a short backoff); longer ends it. */
const FLUSH_PATIENCE_MS = 5_000;
/** A batch is this many rounds of `senderConcurrency` requests: status and new pings are looked at between batches. */
const BATCH_ROUNDS = 16;

/** What one pass found in the spool. */
interface Pass {
  /** Every readable entry, oldest first. */
  entries: LoadedEntry[] & { arriving: number; added: number };
  /** Each entry's URL, for those that can go now. */
  urls: Map<string, URL>;
  /** The entries that can go now (their tracker is known and reachable). */
  sendable: LoadedEntry[];
  /** Why some entries cannot go now (no URL, out of this Deno's reach). */
  problem?: string;
}

/**
 * Drains the spool as the only sender: takes the lock, sends every due ping,
 * retries with backoff, and stays a while for more pings (`senderIdleMs`)
 * before it lets go. After letting go it looks once more, so a ping spooled
 * while it was leaving is not stranded.
 *
 * @param runtime The runtime adapter.
 * @param config The settings; `config.stateDir` must be set.
 * @param options How it runs (see {@linkcode DeliverOptions}).
 * @returns What it delivered, and what is still waiting.
 *
 * @example
 * ```ts ignore
 * const runtime = detectRuntime();
 * const report = await deliverSpool(runtime, (await loadConfig(runtime)).config, { flush: true });
 * ```
 */
export async function deliverSpool(
  runtime: Runtime,
  config: HookConfig,
  options: DeliverOptions = {},
): Promise<DeliveryReport> {
  return await (await Delivery.open(runtime, config, options)).run();
}

/** One sender run, step by step. */
class Delivery {
  readonly report: DeliveryReport = {
    delivered: 0,
    rejected: 0,
    faulted: 0,
    waiting: 0,
    status: emptyStatus(),
    busy: false,
  };
  #runtime: Runtime;
  #config: HookConfig;
  #options: DeliverOptions;
  #stateDir: string;
  #fs: FsPromises;
  #spool: Spool;
  #targets: Targets;
  #paces: Paces;
  #attempts?: Attempts;
  #deadline: number;
  #managed: Awaited<ReturnType<typeof loadManagedPricing>>;
  // Within one hold of the lock:
  #idleSince = 0;
  #flushing = false;
  #tried = new Set<string>();

  private constructor(runtime: Runtime, config: HookConfig, options: DeliverOptions, stateDir: string, fs: FsPromises) {
    this.#runtime = runtime;
    this.#config = config;
    this.#options = options;
    this.#stateDir = stateDir;
    this.#fs = fs;
    this.#spool = new Spool(fs, stateDir, config);
    this.#targets = new Targets(runtime, config, fs);
    this.#paces = new Paces(config.retryBaseMs, config.retryMaxMs);
    this.#deadline = Date.now() + (options.maxRunMs ?? 10 * 60_000);
  }

  /** Checks the state directory and its folders, cleans what a crash left, and reads the organisation's prices. */
  static async open(runtime: Runtime, config: HookConfig, options: DeliverOptions): Promise<Delivery> {
    const stateDir = config.stateDir;
    if (stateDir === undefined) throw new HookSkip("no state directory: set HOME or TELEMHQ_STATE_DIR");
    const folders = [
      STATE_LAYOUT.spool,
      STATE_LAYOUT.failed,
      STATE_LAYOUT.sessions,
      STATE_LAYOUT.destinations,
      STATE_LAYOUT.sent,
    ];
    let unsafe = await ensureStateDir(runtime, stateDir);
    for (const name of folders) unsafe ??= await subfolderProblem(runtime, `${stateDir}/${name}`);
    if (unsafe !== undefined) throw new HookSkip(unsafe);
    const fs = await runtime.fs();
    const delivery = new Delivery(runtime, config, options, stateDir, fs);
    await fs.mkdir(delivery.#spool.dir, { mode: 0o700 }).catch(() => {});
    // What a full disk or a killed process left half-written: temporary files nobody will rename.
    for (const dir of ["", STATE_LAYOUT.spool, STATE_LAYOUT.failed, STATE_LAYOUT.sessions]) {
      await removeLeftoverTemporaries(fs, dir === "" ? stateDir : `${stateDir}/${dir}`);
    }
    await delivery.#dropUnusedDestinations();
    await delivery.#spool.pruneSent();
    // Claude Code honours an organisation's own prices from its managed settings: so does the usage.
    delivery.#managed = await loadManagedPricing(runtime);
    return delivery;
  }

  /** Takes the lock and drains, again after letting go while a ping arrives; leaves nothing of a token behind. */
  async run(): Promise<DeliveryReport> {
    let claim = this.#options.lockToken;
    while (true) {
      const lock = await SenderLock.take(this.#runtime, this.#stateDir, claim);
      claim = undefined;
      if (lock === undefined) {
        this.report.busy = true;
        break;
      }
      try {
        await this.#drain(lock);
      } finally {
        await lock.release();
      }
      if (lock.lost || this.#options.flush || this.#stopped() || Date.now() >= this.#deadline) break;
      if (!(await this.#pingArrivedMeanwhile())) break;
    }
    // A tracker's token stays on disk only while a ping waits for it (another sender's, if busy, does that).
    if (!this.report.busy) await this.#dropUnusedDestinations();
    return this.report;
  }

  /** Passes over the spool while the lock is ours: poll, pick what is due, send, settle, and decide to leave. */
  async #drain(lock: SenderLock): Promise<void> {
    const status = await readStatus(this.#runtime, this.#stateDir);
    this.#attempts = new Attempts({
      runtime: this.#runtime,
      config: this.#config,
      spool: this.#spool,
      status,
      paces: this.#paces,
      managed: this.#managed,
    });
    this.report.status = status;
    this.#idleSince = Date.now();
    // Flushing: every ping is tried once now, whatever its backoff. `flush` asks a running sender by a file.
    this.#flushing = this.#options.flush === true;
    this.#tried.clear();
    while (!lock.lost && Date.now() < this.#deadline && !this.#stopped()) {
      await this.#takeFlushRequest();
      const pass = await this.#poll(status);
      const due = this.#pickDue(pass);
      const outcomes = due.length === 0
        ? new Map<string, AttemptOutcome>()
        : await this.#attempts.batch(due, pass.urls, () => lock.lost || this.#stopped());
      await this.#settle(pass, due, outcomes, status);
      if (outcomes.size === due.length && due.length === this.#config.senderConcurrency * BATCH_ROUNDS) continue;
      if (await this.#flushIsOver(pass)) break;
      const wait = this.#nextLook(pass, outcomes);
      if (wait === undefined) break;
      await sleep(wait);
    }
  }

  /** A flush command asked a running sender (by a file) to try everything now: our own backoff ends. */
  async #takeFlushRequest(): Promise<void> {
    if (this.#flushing) return;
    if (!(await this.#fs.rm(`${this.#stateDir}/${STATE_LAYOUT.flushRequest}`).then(() => true, () => false))) return;
    this.#flushing = true;
    this.#tried.clear();
    this.#paces.tryNow();
  }

  /**
   * Reads the spool: new pings, and where each can go. One that cannot go now (no URL, out of this Deno's
   * reach) waits, its reason in status.json, and counts for nothing else.
   */
  async #poll(status: DeliveryStatus): Promise<Pass> {
    // The URL install saved may change while a sender runs (a rotated token): the next ping goes to the new one.
    this.#targets.refresh();
    const entries = await this.#spool.load(status.dropped);
    const { urls, problem } = await this.#targets.sort(entries);
    // Activity is a new ping or a delivery; failed retries are not, so a sender facing a dead tracker leaves
    // once its waits grow longer than senderIdleMs, and a later hook restarts it.
    if (entries.added > 0 || entries.arriving > 0) this.#idleSince = Date.now();
    return { entries, urls, sendable: entries.filter((item) => urls.has(item.name)), problem };
  }

  /** The pings to try now: due (or, flushing, not tried yet) and not held back by their tracker. */
  #pickDue(pass: Pass): LoadedEntry[] {
    const now = Date.now();
    return pass.sendable
      .filter((item) => this.#paces.of(item).waitMs(now) === 0)
      .filter((item) => this.#flushing ? !this.#tried.has(item.name) : item.entry.next_at <= now)
      .slice(0, this.#config.senderConcurrency * BATCH_ROUNDS);
  }

  /** Counts what the batch did, and saves the counters when something changed. */
  async #settle(
    pass: Pass,
    due: readonly LoadedEntry[],
    outcomes: ReadonlyMap<string, AttemptOutcome>,
    status: DeliveryStatus,
  ): Promise<void> {
    for (const [name, outcome] of outcomes) {
      this.#tried.add(name);
      if (outcome === "delivered") {
        this.report.delivered++;
        this.#idleSince = Date.now();
      }
      if (outcome === "rejected") this.report.rejected++;
      if (outcome === "faulted") this.report.faulted++;
    }
    const newProblem = pass.problem !== undefined && status.last_error?.reason !== pass.problem;
    if (newProblem) status.last_error = { at: new Date().toISOString(), reason: pass.problem!, outcome: "retry" };
    const statusPath = `${this.#stateDir}/${STATE_LAYOUT.status}`;
    if (due.length > 0 || newProblem || !(await this.#fs.lstat(statusPath).then(() => true, () => false))) {
      await writeJsonAtomically(this.#fs, statusPath, status).catch(() => {});
    }
    await this.#options.progress?.();
    this.report.waiting = pass.entries.filter((item) => stillWaiting(item, outcomes)).length;
  }

  /**
   * A flush is over once every ping was tried, or its tracker asks for a longer wait than anyone waits for
   * at a prompt (an outage: what is left is reported, and the sender keeps at it). A flush command waiting on
   * a running sender gets its answer by a file. True when this run was the flush and may leave.
   */
  async #flushIsOver(pass: Pass): Promise<boolean> {
    if (!this.#flushing) return false;
    const flushed = pass.sendable.every((item) =>
      this.#paces.of(item).waitMs() > FLUSH_PATIENCE_MS ||
      (this.#tried.has(item.name) && this.#paces.of(item).waitMs() === 0)
    );
    if (!flushed) return false;
    await this.#runtime.createPrivateFile(`${this.#stateDir}/${STATE_LAYOUT.flushDone}`, new Date().toISOString())
      .catch(() => false);
    this.#flushing = false;
    return this.#options.flush === true;
  }

  /**
   * How long to sleep before the next pass, or undefined to leave: idle for `senderIdleMs` with nothing due
   * sooner. A ping not tried yet (a SessionEnd waiting its turn) is never left behind, unless its tracker is
   * failing: then it waits behind the probe, like the rest, for the next hook to start a sender.
   */
  #nextLook(pass: Pass, outcomes: ReadonlyMap<string, AttemptOutcome>): number | undefined {
    const waiting = pass.sendable.filter((item) => stillWaiting(item, outcomes));
    // A ping without a usable URL will not be due until the configuration changes: it is not waited for.
    const untilDue = soonestDueWithPace(waiting, this.#paces) - Date.now();
    const untried = waiting.some((item) => item.entry.attempts === 0 && !this.#paces.of(item).probing());
    const idle = Date.now() - this.#idleSince >= this.#config.senderIdleMs;
    if (!untried && idle && untilDue > this.#config.senderIdleMs) return undefined;
    // While every waiting ping's tracker asks to wait, or no ping has a URL this sender may use, nothing can go:
    // look less often (a backlog is read from memory anyway). Otherwise new pings are looked for 4 times a second.
    const paused = waiting.length > 0 && waiting.every((item) => this.#paces.of(item).waitMs() > 0);
    const stuck = waiting.length === 0 && pass.problem !== undefined;
    return Math.max(20, Math.min(paused || stuck ? 5000 : 250, untilDue));
  }

  /**
   * After letting go, one more look: a hook that saw our lock just before we left relies on it. Without the
   * lock, claims are not ours to judge (another sender may be sending them). While its tracker fails, only a
   * new ping counts: the rest wait behind the probe, for a later hook.
   */
  async #pingArrivedMeanwhile(): Promise<boolean> {
    const spooled = await this.#spool.load(this.report.status.dropped, false);
    this.#targets.refresh();
    const { urls } = await this.#targets.sort(spooled);
    const sendable = spooled.filter((item) => urls.has(item.name));
    const pending = sendable.length > 0 && (spooled.added > 0 ||
      sendable.some((item) =>
        !this.#paces.of(item).probing() && (item.entry.next_at <= Date.now() || item.entry.attempts === 0)
      ));
    return spooled.arriving > 0 || pending;
  }

  /** A tracker's token stays on disk only while a ping waits for it. */
  async #dropUnusedDestinations(): Promise<void> {
    await removeUnusedDestinations(this.#fs, this.#stateDir, () => this.#spool.destinationsInUse()).catch(() => 0);
  }

  #stopped(): boolean {
    return this.#options.stopped?.() === true;
  }
}

/** Whether a ping is still waiting after a batch: not tried in it, or tried and due again later. */
function stillWaiting(item: LoadedEntry, outcomes: ReadonlyMap<string, AttemptOutcome>): boolean {
  const outcome = outcomes.get(item.name);
  return outcome === undefined || outcome === "retry";
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
