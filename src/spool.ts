/**
 * The spool: every ping is written here before any network work, so nothing
 * is lost when the tracker is down or a process is killed. The hook writes an
 * entry (hot path); the sender loads, claims, reschedules and settles entries.
 *
 * Owns: `SpoolEntry`, `spoolPing`, the `Spool` a sender works on, claims.
 * Uses: input, events, fields, payload, runtime, files, state_dir, destination.
 *
 * @module
 */

import { type DestinationId, isDestinationId } from "./destination.ts";
import { eventRule } from "./events.ts";
import type { HookInput } from "./input.ts";
import { checkPayload, type Payload } from "./fields.ts";
import { eventName, stringField, tokenField } from "./payload.ts";
import type { FsPromises, Runtime } from "./runtime.ts";
import { readJsonFile, TEMPORARY_SUFFIX, writeJsonAtomically } from "./files.ts";
import { STATE_LAYOUT } from "./state_dir.ts";

/**
 * One spooled ping, as stored in `<state>/spool/<ping_id>.json`. It holds no
 * ping URL: it names its tracker by a destination id (see
 * {@linkcode destinationOf}), so a token never lingers in the spool and
 * each ping goes to the tracker of the session that produced it.
 */
export interface SpoolEntry {
  /** Format version (1 also held the URL, which is ignored). */
  v: 2;
  /** The ping. */
  payload: Payload;
  /** Its tracker: `saved` (install's URL when sent) or a destination id; absent in older entries (the URL in force). */
  to?: DestinationId;
  /** When it was spooled, in milliseconds. */
  created_at: number;
  /** Failed attempts so far. */
  attempts: number;
  /** Earliest time of the next attempt, in milliseconds. */
  next_at: number;
  /** Where the sender reads usage from; never sent, and dropped once read. */
  local?: UsageSource;
  /** True once usage fields were added (so a retry does not read or count them again). */
  enriched?: boolean;
  /** Local errors while handling it (a full disk, a broken file); after a few it is set aside in `failed/`. */
  faults?: number;
  /** Why it is in `failed/`, once it is there. */
  failed?: FailedReason;
  /** A word for the journal about how its cost was computed (a Claude Code version whose rules were not checked). */
  note?: string;
}

/** Why a ping was set aside in `failed/`. */
export interface FailedReason {
  /** When, ISO 8601. */
  at: string;
  /** One line, without the token. */
  reason: string;
  /** The tracker's HTTP status, when it refused the ping. */
  status?: number;
}

/** Paths and ids the sender needs to read a ping's usage; kept in the private spool only. */
export interface UsageSource {
  /** The session transcript. */
  transcript_path?: string;
  /** The subagent's transcript (SubagentStop). */
  agent_transcript_path?: string;
  /** The turn's prompt id. */
  prompt_id?: string;
  /** The hook's own working directory (where Claude Code started it; never the event's): its repository. */
  cwd?: string;
  /** The session's `TELEMHQ_PRICES`, as given: its pings are priced by its own table, not the sender's. */
  prices?: string;
}

/** The longest `TELEMHQ_PRICES` kept for a ping. */
const MAX_PRICES_CHARS = 16 * 1024;

/** The longest path kept from an event (Linux's PATH_MAX). */
const MAX_PATH_CHARS = 4096;

/** A path from an event, as the sender may use it: absolute, without NUL, of sane length. */
function plainPath(value: unknown): string | undefined {
  return typeof value === "string" && value.startsWith("/") && value.length <= MAX_PATH_CHARS &&
      !value.includes("\u0000")
    ? value
    : undefined;
}

/** How long a ping that carries the session's totals waits for the session's other pings before its first attempt. */
const SESSION_END_DELAY_MS = 2000;

/**
 * What the sender needs from an event to add usage to its ping later: the
 * transcript paths and the turn's id, for the events that carry usage.
 *
 * @param input The hook event.
 * @param hookCwd The hook process's own working directory (for the repository's name).
 * @returns The usage source, or undefined for other events.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const source = usageSource({ hook_event_name: "Stop", transcript_path: "/t.jsonl", prompt_id: "p1" });
 * assert.equal(source?.prompt_id, "p1");
 * ```
 */
export function usageSource(input: HookInput, hookCwd?: string, prices?: string): UsageSource | undefined {
  if (eventRule(eventName(input)).usage === undefined) return undefined;
  return checkUsageSource({
    transcript_path: stringField(input, "transcript_path"),
    agent_transcript_path: stringField(input, "agent_transcript_path"),
    prompt_id: tokenField(input, "prompt_id"),
    cwd: hookCwd,
    prices,
  });
}

function checkUsageSource(value: unknown): UsageSource | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const source = value as Record<string, unknown>;
  const prompt = tokenField(source, "prompt_id");
  const checked: UsageSource = {};
  if (plainPath(source.transcript_path) !== undefined) checked.transcript_path = source.transcript_path as string;
  if (plainPath(source.agent_transcript_path) !== undefined) {
    checked.agent_transcript_path = source.agent_transcript_path as string;
  }
  if (prompt !== undefined) checked.prompt_id = prompt;
  if (plainPath(source.cwd) !== undefined) checked.cwd = source.cwd as string;
  if (typeof source.prices === "string" && source.prices.trim() !== "" && source.prices.length <= MAX_PRICES_CHARS) {
    checked.prices = source.prices;
  }
  return checked;
}

/** The file name of a ping's spool entry: its id, which {@linkcode checkPayload} holds to 32 hex digits. */
const ENTRY_NAME = /^[0-9a-f]{32}\.json$/;

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/**
 * Checks a spool entry read from disk, field by field: the ping (see
 * {@linkcode checkPayload}), the schedule, the local paths. Anything that does
 * not follow the format is refused; a URL an older entry held is ignored.
 *
 * @param value Anything parsed from a spool file.
 * @returns The entry, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(parseSpoolEntry({ v: 2, payload: { event: "Stop" }, created_at: 1, attempts: 0, next_at: 0 }), undefined);
 * ```
 */
export function parseSpoolEntry(value: unknown): SpoolEntry | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const raw = value as Record<string, unknown>;
  const payload = checkPayload(raw.payload);
  if ((raw.v !== 1 && raw.v !== 2) || payload === undefined) return undefined;
  if (!isCount(raw.created_at) || !isCount(raw.attempts) || !isCount(raw.next_at)) return undefined;
  const entry: SpoolEntry = {
    v: 2,
    payload,
    created_at: raw.created_at,
    attempts: raw.attempts,
    next_at: raw.next_at,
  };
  if (isDestinationId(raw.to)) entry.to = raw.to;
  if (raw.local !== undefined && !raw.enriched) entry.local = checkUsageSource(raw.local);
  if (raw.enriched === true) entry.enriched = true;
  if (isCount(raw.faults) && raw.faults > 0) entry.faults = raw.faults;
  const failed = raw.failed as Record<string, unknown> | undefined;
  if (
    failed !== null && typeof failed === "object" && typeof failed.at === "string" && typeof failed.reason === "string"
  ) {
    entry.failed = {
      at: failed.at.slice(0, 40),
      reason: failed.reason.slice(0, 300),
      ...(isCount(failed.status) ? { status: failed.status } : {}),
    };
  }
  return entry;
}

/**
 * Makes a ping durable: writes it into the spool as `<ping_id>.json`,
 * creating the file exclusively (never through a symlink; a ping fired twice
 * is spooled once). The state directory must exist and be safe (see
 * {@linkcode ensureStateDir}); the spool folder in it is created on first use.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @param payload The ping.
 * @param local Where the sender reads the ping's usage from (see {@linkcode usageSource}).
 * @param to The ping's tracker (see {@linkcode destinationOf}).
 * @returns The entry's path when this call wrote it; undefined when the ping was spooled already.
 *
 * @example
 * ```ts ignore
 * await spoolPing(detectRuntime(), "/home/me/.claude/telemhq", payload);
 * ```
 */
export async function spoolPing(
  runtime: Runtime,
  stateDir: string,
  payload: Payload,
  local?: UsageSource,
  to?: DestinationId,
): Promise<string | undefined> {
  const name = `${payload.ping_id}.json`;
  if (!ENTRY_NAME.test(name)) throw new TypeError("a ping_id is 32 hex digits");
  const now = Date.now();
  // A session's last turn and its end fire milliseconds apart, each handled by its own process:
  // SessionEnd waits a moment so that the turn's ping, which adds to its totals, goes first.
  const next = eventRule(payload.event).usage === "session" ? now + SESSION_END_DELAY_MS : 0;
  const entry: SpoolEntry = { v: 2, payload, to, created_at: now, attempts: 0, next_at: next, local };
  const path = `${stateDir}/${STATE_LAYOUT.spool}/${name}`;
  // Written in place, not renamed: a reader skips a file it cannot parse yet,
  // and a writer killed mid-write had not made its ping durable either way.
  const text = JSON.stringify(entry) + "\n";
  let created: boolean;
  try {
    created = await runtime.createPrivateFile(path, text);
  } catch (error) {
    // Only a missing spool folder is made and tried again; any other failure (a full disk) is the caller's to
    // handle: it sends the ping directly. A failed write leaves no file behind (see createPrivateFile).
    if ((error as { code?: unknown }).code !== "ENOENT" && (error as Error).name !== "NotFound") throw error;
    await runtime.makePrivateDirectory(`${stateDir}/${STATE_LAYOUT.spool}`);
    created = await runtime.createPrivateFile(path, text);
  }
  return created ? path : undefined;
}

/** A spool entry as the sender loaded it: its file name and its content. */
export interface LoadedEntry {
  /** The file name in the spool, `<ping_id>.json`. */
  name: string;
  /** The entry. */
  entry: SpoolEntry;
}

/** A spool entry one sender has claimed (renamed) to send it. */
export interface ClaimedEntry extends LoadedEntry {
  /** The claimed file's path. */
  claim: string;
}

/** Pings dropped from the spool without being sent, by reason (kept in `status.json`). */
export interface DroppedCounts {
  /** Over `TELEMHQ_SPOOL_MAX_PINGS` (oldest first). */
  too_many: number;
  /** Older than `TELEMHQ_SPOOL_MAX_AGE_DAYS`. */
  too_old: number;
  /** Not a spool entry a minute after it was written. */
  unreadable: number;
}

/** The spool's limits: from {@linkcode HookConfig}. */
export interface SpoolLimits {
  /** Time limit of one request: a claim older than this (plus a margin) has no live sender. */
  timeoutMs: number;
  /** Most pings kept. */
  spoolMaxPings: number;
  /** Oldest ping kept, in milliseconds. */
  spoolMaxAgeMs: number;
}

/**
 * How long a ping's "sent" mark is kept: a hook given the same event later than this (a second route, a
 * retry of Claude Code's) spools it again. The two routes' hooks run seconds apart at most.
 */
const SENT_KEPT_MS = 60 * 60_000;

/**
 * Whether a ping was already taken by a sender (sent, or being sent): the
 * same event handed to a second hook (the plugin and a settings install both
 * wired) is then not spooled again. One `lstat`, on the hook's hot path.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @param pingId The ping's id.
 * @returns True when a sender marked it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * assert.equal(await alreadySent(detectRuntime(), "/nonexistent", "0".repeat(32)), false);
 * ```
 */
export async function alreadySent(runtime: Runtime, stateDir: string, pingId: string): Promise<boolean> {
  const facts = await runtime.lstat(`${stateDir}/${STATE_LAYOUT.sent}/${pingId}`);
  return facts !== undefined && Date.now() - facts.mtimeMs < SENT_KEPT_MS;
}

/** Marks a spool entry as being sent by one sender: `<name>.sending-<token>`. */
const CLAIM_INFIX = ".sending-";
/** A claim this much older than one request's time limit has no live sender. */
const CLAIM_MARGIN_MS = 2000;
/** Entries refused by the tracker are kept for `doctor`, up to this many. */
const FAILED_KEPT = 10_000;

/**
 * The spool as a sender works on it. An entry is claimed by renaming it,
 * which only one sender can do: two senders (possible for a moment when a
 * lock is taken over) never send the same ping at once, and never bring back
 * one the other delivered.
 */
export class Spool {
  /** The spool folder. */
  readonly dir: string;
  /** Where entries the tracker refused are kept. */
  readonly failedDir: string;
  /** Where the pings a sender took are marked (see {@linkcode alreadySent}). */
  readonly sentDir: string;
  #fs: FsPromises;
  #limits: SpoolLimits;
  /** The entries read so far, by file name; kept current by the sender. */
  #index = new Map<string, LoadedEntry>();
  /** Every file name read so far: an entry put back after a retry is not a new ping. */
  #seen = new Set<string>();

  /**
   * @param fs The file API.
   * @param stateDir The state directory.
   * @param limits The spool's limits.
   */
  constructor(fs: FsPromises, stateDir: string, limits: SpoolLimits) {
    this.#fs = fs;
    this.#limits = limits;
    this.dir = `${stateDir}/${STATE_LAYOUT.spool}`;
    this.failedDir = `${stateDir}/${STATE_LAYOUT.failed}`;
    this.sentDir = `${stateDir}/${STATE_LAYOUT.sent}`;
  }

  /**
   * Reads the spool, dropping unreadable, too old and too many entries (oldest
   * first), and putting back entries whose sender died while sending them.
   * Only files it has not read yet are read: the entries it knows are kept in
   * memory (the sender updates them as it goes), so the work per pass does not
   * grow with a backlog. `arriving` counts files a hook is still writing
   * (unreadable but young): a ping on its way, which a sender must not leave
   * behind; `added` counts pings never seen before.
   */
  async load(
    dropped: DroppedCounts,
    recoverClaims = true,
  ): Promise<LoadedEntry[] & { arriving: number; added: number }> {
    const fs = this.#fs;
    const now = Date.now();
    const all = await fs.readdir(this.dir).catch(() => [] as string[]);
    if (recoverClaims && all.some((name) => name.includes(CLAIM_INFIX)) && await this.#recoverClaims(all, now)) {
      all.splice(0, all.length, ...await fs.readdir(this.dir).catch(() => [] as string[]));
    }
    // Only names a hook gives its entries: anything else in the folder is neither read nor removed.
    const present = new Set(all.filter((name) => ENTRY_NAME.test(name)));
    for (const name of this.#index.keys()) if (!present.has(name)) this.#index.delete(name);
    let arriving = 0;
    let added = 0;
    for (const name of present) {
      if (this.#index.has(name)) continue;
      const entry = parseSpoolEntry(await readJsonFile(fs, `${this.dir}/${name}`));
      if (entry !== undefined) {
        this.#index.set(name, { name, entry });
        if (!this.#seen.has(name)) added++;
        this.#seen.add(name);
        continue;
      }
      // A file still being written parses a moment later; one that stays unreadable (or is not a
      // spool entry at all: a symlink, say) is dropped; rm removes a symlink, never what it points to.
      const stat = await fs.lstat(`${this.dir}/${name}`).catch(() => undefined);
      // Young means written within the last minute: a file dated in the future is not "arriving" forever.
      if (stat !== undefined && (now - stat.mtimeMs > 60_000 || stat.mtimeMs - now > 60_000)) {
        await fs.rm(`${this.dir}/${name}`, { force: true }).catch(() => {});
        dropped.unreadable++;
      } else if (stat !== undefined) {
        arriving++;
      }
    }
    const loaded = [...this.#index.values()].sort((a, b) => a.entry.created_at - b.entry.created_at);
    const tooOld = loaded.filter((item) => now - item.entry.created_at > this.#limits.spoolMaxAgeMs);
    const kept = loaded.filter((item) => now - item.entry.created_at <= this.#limits.spoolMaxAgeMs);
    const tooMany = kept.splice(0, Math.max(0, kept.length - this.#limits.spoolMaxPings));
    for (const item of [...tooOld, ...tooMany]) {
      await fs.rm(`${this.dir}/${item.name}`, { force: true }).catch(() => {});
      this.#index.delete(item.name);
    }
    dropped.too_old += tooOld.length;
    dropped.too_many += tooMany.length;
    return Object.assign(kept, { arriving, added });
  }

  /** How many pings wait in the spool: its readable entries, without reading them into the sender's index. */
  async waiting(): Promise<number> {
    let count = 0;
    for (const name of await this.#fs.readdir(this.dir).catch(() => [] as string[])) {
      if (ENTRY_NAME.test(name) && parseSpoolEntry(await readJsonFile(this.#fs, `${this.dir}/${name}`))) count++;
    }
    return count;
  }

  /**
   * Claims older than one request's time limit (plus a margin): pings a sender took to send and never
   * settled (it died, or the disk is full). The next sender puts them back; until then they wait.
   */
  async staleClaims(): Promise<number> {
    const now = Date.now();
    let count = 0;
    for (const name of await this.#fs.readdir(this.dir).catch(() => [] as string[])) {
      if (!name.includes(CLAIM_INFIX)) continue;
      const stat = await this.#fs.lstat(`${this.dir}/${name}`).catch(() => undefined);
      if (stat !== undefined && now - stat.mtimeMs > this.#limits.timeoutMs + CLAIM_MARGIN_MS) count++;
    }
    return count;
  }

  /** The destinations that waiting pings (claimed ones too) and set-aside ones name. */
  async destinationsInUse(): Promise<Set<DestinationId>> {
    const named = new Set<DestinationId>();
    for (const dir of [this.dir, this.failedDir]) {
      for (const name of await this.#fs.readdir(dir).catch(() => [] as string[])) {
        if (!ENTRY_NAME.test(name.split(CLAIM_INFIX)[0]) || name.endsWith(TEMPORARY_SUFFIX)) continue;
        const entry = parseSpoolEntry(await readJsonFile(this.#fs, `${dir}/${name}`));
        if (entry?.to !== undefined) named.add(entry.to);
      }
    }
    return named;
  }

  /** Every claim in the spool: pings a sender took to send and has not settled (after a flush, with no sender: stuck). */
  async claims(): Promise<number> {
    const names = await this.#fs.readdir(this.dir).catch(() => [] as string[]);
    return names.filter((name) => name.includes(CLAIM_INFIX) && !name.endsWith(TEMPORARY_SUFFIX)).length;
  }

  /** Makes the known entries that `which` picks due now, in memory: their tracker is back, nobody waits out a backoff. */
  makeDue(which: (item: LoadedEntry) => boolean): void {
    for (const item of this.#index.values()) if (which(item)) item.entry = { ...item.entry, next_at: 0 };
  }

  /** Puts a claimed entry back under its name, as it is now (its usage added, say), for a later send. */
  async release(claimed: ClaimedEntry): Promise<void> {
    await this.#fs.rename(claimed.claim, `${this.dir}/${claimed.name}`).catch(() => {});
  }

  /** A claim older than one request's time limit (plus a margin) has no live sender: its attempt is over. */
  async #recoverClaims(names: string[], now: number): Promise<boolean> {
    let recovered = false;
    for (const name of names.filter((name) => name.includes(CLAIM_INFIX))) {
      const stat = await this.#fs.lstat(`${this.dir}/${name}`).catch(() => undefined);
      if (stat === undefined || now - stat.mtimeMs <= this.#limits.timeoutMs + CLAIM_MARGIN_MS) continue;
      // A claim's temporary file, left by a crash mid-write, is not an entry: it goes.
      if (name.endsWith(".tmp")) {
        await this.#fs.rm(`${this.dir}/${name}`, { force: true }).catch(() => {});
        continue;
      }
      await this.#fs.rename(`${this.dir}/${name}`, `${this.dir}/${name.slice(0, name.indexOf(CLAIM_INFIX))}`)
        .then(() => recovered = true, () => {});
    }
    return recovered;
  }

  /** Marks a ping as taken by a sender (see {@linkcode alreadySent}); a mark that cannot be written costs nothing. */
  async markSent(item: LoadedEntry): Promise<void> {
    const mark = `${this.sentDir}/${item.entry.payload.ping_id}`;
    await this.#fs.writeFile(mark, "", { flag: "wx", mode: 0o600 }).catch(async (error) => {
      if ((error as { code?: unknown }).code !== "ENOENT") return;
      await this.#fs.mkdir(this.sentDir, { mode: 0o700 }).catch(() => {});
      await this.#fs.writeFile(mark, "", { flag: "wx", mode: 0o600 }).catch(() => {});
    });
  }

  /** Removes the "sent" marks older than {@linkcode SENT_KEPT_MS}. */
  async pruneSent(): Promise<void> {
    const now = Date.now();
    for (const name of await this.#fs.readdir(this.sentDir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{32}$/.test(name)) continue;
      const stat = await this.#fs.lstat(`${this.sentDir}/${name}`).catch(() => undefined);
      if (stat !== undefined && now - stat.mtimeMs >= SENT_KEPT_MS) {
        await this.#fs.rm(`${this.sentDir}/${name}`, { force: true }).catch(() => {});
      }
    }
  }

  /** Claims an entry for this sender; undefined when another sender settled it meanwhile. */
  async claim(item: LoadedEntry): Promise<ClaimedEntry | undefined> {
    const claim = `${this.dir}/${item.name}${CLAIM_INFIX}${crypto.randomUUID()}`;
    const claimed = await this.#fs.rename(`${this.dir}/${item.name}`, claim).then(() => true, () => false);
    if (!claimed) return undefined;
    // A rename keeps the entry's old mtime: the claim's age, which tells another sender whether its owner
    // is still at work, must start now.
    const now = new Date();
    await this.#fs.utimes(claim, now, now).catch(() => {});
    return { ...item, claim };
  }

  /** Saves a claimed entry's new content under its claim (usage added: a retry sends the same). */
  async update(claimed: ClaimedEntry): Promise<void> {
    await writeJsonAtomically(this.#fs, claimed.claim, claimed.entry);
  }

  /** Removes a claimed entry: delivered, or not worth keeping. */
  async remove(claimed: ClaimedEntry): Promise<void> {
    await this.#fs.rm(claimed.claim, { force: true });
  }

  /**
   * Sets a claimed entry aside in `failed/` with why (the tracker refused it, or it kept failing
   * here); the newest {@linkcode FAILED_KEPT} are kept, for `doctor` and `flush --retry-failed`.
   */
  async moveToFailed(claimed: ClaimedEntry, why: FailedReason): Promise<void> {
    claimed.entry = { ...claimed.entry, failed: why };
    await writeJsonAtomically(this.#fs, claimed.claim, claimed.entry).catch(() => {});
    // Not recursive: if the state directory was removed, do not bring it back.
    await this.#fs.mkdir(this.failedDir, { mode: 0o700 }).catch(() => {});
    await this.#fs.rename(claimed.claim, `${this.failedDir}/${claimed.name}`)
      .catch(() => this.#fs.rm(claimed.claim, { force: true }));
    await this.#trimFailed();
  }

  /** The entries set aside in `failed/`, with why. */
  async failedEntries(): Promise<LoadedEntry[]> {
    const names = (await this.#fs.readdir(this.failedDir).catch(() => [] as string[])).filter((name) =>
      ENTRY_NAME.test(name)
    );
    const entries: LoadedEntry[] = [];
    for (const name of names) {
      const entry = parseSpoolEntry(await readJsonFile(this.#fs, `${this.failedDir}/${name}`));
      if (entry !== undefined) entries.push({ name, entry });
    }
    return entries;
  }

  /** Puts every entry of `failed/` back into the spool, due now: after the ping URL was fixed. */
  async retryFailed(): Promise<number> {
    let count = 0;
    for (const { name, entry } of await this.failedEntries()) {
      const { failed: _failed, faults: _faults, ...rest } = entry;
      await writeJsonAtomically(this.#fs, `${this.dir}/${name}`, { ...rest, attempts: 0, next_at: 0 });
      await this.#fs.rm(`${this.failedDir}/${name}`, { force: true });
      count++;
    }
    return count;
  }

  /**
   * Puts a claimed entry back with its new schedule. The new state goes in under the entry's own
   * name, then the claim goes: a crash in between leaves a claim that is later put back onto the
   * same name, never a second ping.
   */
  async reschedule(claimed: ClaimedEntry): Promise<void> {
    await writeJsonAtomically(this.#fs, `${this.dir}/${claimed.name}`, claimed.entry);
    await this.#fs.rm(claimed.claim, { force: true });
  }

  async #trimFailed(): Promise<void> {
    const fs = this.#fs;
    const names = (await fs.readdir(this.failedDir).catch(() => [] as string[])).filter((name) =>
      ENTRY_NAME.test(name)
    );
    if (names.length <= FAILED_KEPT) return;
    const stats = await Promise.all(
      names.map(async (name) => ({
        name,
        mtime: await fs.lstat(`${this.failedDir}/${name}`).then((stat) => stat.mtimeMs, () => 0),
      })),
    );
    stats.sort((a, b) => a.mtime - b.mtime);
    for (const { name } of stats.slice(0, stats.length - FAILED_KEPT)) {
      await fs.rm(`${this.failedDir}/${name}`, { force: true });
    }
  }
}
