/**
 * The spool: every ping is written here before any network work, so nothing
 * is lost when the tracker is down or a process is killed. The hook writes an
 * entry (hot path); the sender loads, claims, reschedules and settles entries.
 *
 * Owns: `SpoolEntry`, `spoolPing`, the `Spool` a sender works on, claims.
 * Uses: runtime, events, payload, config.
 *
 * @module
 */

import { STATE_LAYOUT } from "./config.ts";
import { eventRule } from "./events.ts";
import type { HookInput } from "./input.ts";
import { eventName, type Payload, stringField, tokenField } from "./payload.ts";
import { type FsPromises, readJsonFile, type Runtime, writeJsonAtomically } from "./runtime.ts";

/** One spooled ping, as stored in `<state>/spool/<ping_id>.json`. */
export interface SpoolEntry {
  /** Format version. */
  v: 1;
  /** The ping URL (the file is private: 0600 in a 0700 directory). */
  url: string;
  /** The ping. */
  payload: Payload;
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
}

/** Paths and ids the sender needs to read a ping's usage; kept in the private spool only. */
export interface UsageSource {
  /** The session transcript. */
  transcript_path?: string;
  /** The subagent's transcript (SubagentStop). */
  agent_transcript_path?: string;
  /** The turn's prompt id. */
  prompt_id?: string;
}

/** How long a ping that carries the session's totals waits for the session's other pings before its first attempt. */
const SESSION_END_DELAY_MS = 2000;

/**
 * What the sender needs from an event to add usage to its ping later: the
 * transcript paths and the turn's id, for the events that carry usage.
 *
 * @param input The hook event.
 * @returns The usage source, or undefined for other events.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const source = usageSource({ hook_event_name: "Stop", transcript_path: "/t.jsonl", prompt_id: "p1" });
 * assert.equal(source?.prompt_id, "p1");
 * ```
 */
export function usageSource(input: HookInput): UsageSource | undefined {
  if (eventRule(eventName(input)).usage === undefined) return undefined;
  return {
    transcript_path: stringField(input, "transcript_path"),
    agent_transcript_path: stringField(input, "agent_transcript_path"),
    prompt_id: tokenField(input, "prompt_id"),
  };
}

/**
 * Makes a ping durable: writes it into the spool as `<ping_id>.json` (a ping
 * fired twice is spooled once). Creates the private state directory on first use.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @param url The ping URL.
 * @param payload The ping.
 * @param local Where the sender reads the ping's usage from (see {@linkcode usageSource}).
 * @returns The entry's path.
 *
 * @example
 * ```ts ignore
 * await spoolPing(detectRuntime(), "/home/me/.claude/telemhq", url, payload);
 * ```
 */
export async function spoolPing(
  runtime: Runtime,
  stateDir: string,
  url: URL,
  payload: Payload,
  local?: UsageSource,
): Promise<string> {
  const now = Date.now();
  // A session's last turn and its end fire milliseconds apart, each handled by its own process:
  // SessionEnd waits a moment so that the turn's ping, which adds to its totals, goes first.
  const next = eventRule(payload.event).usage === "session" ? now + SESSION_END_DELAY_MS : 0;
  const entry: SpoolEntry = { v: 1, url: url.href, payload, created_at: now, attempts: 0, next_at: next, local };
  const path = `${stateDir}/${STATE_LAYOUT.spool}/${payload.ping_id}.json`;
  // Written in place, not renamed: a reader skips a file it cannot parse yet,
  // and a writer killed mid-write had not made its ping durable either way.
  const text = JSON.stringify(entry) + "\n";
  try {
    await runtime.writePrivateFile(path, text);
  } catch {
    await runtime.makePrivateDirectory(`${stateDir}/${STATE_LAYOUT.spool}`);
    await runtime.writePrivateFile(path, text);
  }
  return path;
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

/** Marks a spool entry as being sent by one sender: `<name>.sending-<token>`. */
const CLAIM_INFIX = ".sending-";
/** Entries refused by the tracker are kept for `doctor`, up to this many. */
const FAILED_KEPT = 100;

function isSpoolEntry(value: unknown): value is SpoolEntry {
  const entry = value as SpoolEntry;
  return typeof entry === "object" && entry !== null && entry.v === 1 && typeof entry.url === "string" &&
    typeof entry.payload === "object" && entry.payload !== null && typeof entry.created_at === "number" &&
    typeof entry.attempts === "number" && typeof entry.next_at === "number";
}

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
  #fs: FsPromises;
  #limits: SpoolLimits;

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
  }

  /**
   * Reads the spool, dropping unreadable, too old and too many entries (oldest
   * first), and putting back entries whose sender died while sending them.
   * `arriving` counts files a hook is still writing (unreadable but young): a
   * ping on its way, which a sender must not leave behind.
   */
  async load(dropped: DroppedCounts): Promise<LoadedEntry[] & { arriving: number }> {
    const fs = this.#fs;
    const now = Date.now();
    await this.#recoverClaims(await fs.readdir(this.dir).catch(() => [] as string[]), now);
    const names = (await fs.readdir(this.dir).catch(() => [] as string[])).filter((name) => name.endsWith(".json"));
    const loaded: LoadedEntry[] = [];
    let arriving = 0;
    for (const name of names) {
      const entry = await readJsonFile(fs, `${this.dir}/${name}`);
      if (isSpoolEntry(entry)) {
        loaded.push({ name, entry });
        continue;
      }
      // A file still being written parses a moment later; one that stays unreadable is dropped.
      const stat = await fs.stat(`${this.dir}/${name}`).catch(() => undefined);
      if (stat !== undefined && now - stat.mtimeMs > 60_000) {
        await fs.rm(`${this.dir}/${name}`, { force: true });
        dropped.unreadable++;
      } else if (stat !== undefined) {
        arriving++;
      }
    }
    loaded.sort((a, b) => a.entry.created_at - b.entry.created_at);
    const tooOld = loaded.filter((item) => now - item.entry.created_at > this.#limits.spoolMaxAgeMs);
    const kept = loaded.filter((item) => now - item.entry.created_at <= this.#limits.spoolMaxAgeMs);
    const tooMany = kept.splice(0, Math.max(0, kept.length - this.#limits.spoolMaxPings));
    for (const item of [...tooOld, ...tooMany]) await fs.rm(`${this.dir}/${item.name}`, { force: true });
    dropped.too_old += tooOld.length;
    dropped.too_many += tooMany.length;
    return Object.assign(kept, { arriving });
  }

  /** A claim older than one request's time limit (plus a margin) has no live sender: its attempt is over. */
  async #recoverClaims(names: string[], now: number): Promise<void> {
    for (const name of names.filter((name) => name.includes(CLAIM_INFIX))) {
      const stat = await this.#fs.stat(`${this.dir}/${name}`).catch(() => undefined);
      if (stat === undefined || now - stat.mtimeMs <= this.#limits.timeoutMs + 2000) continue;
      await this.#fs.rename(`${this.dir}/${name}`, `${this.dir}/${name.slice(0, name.indexOf(CLAIM_INFIX))}`)
        .catch(() => {});
    }
  }

  /** Claims an entry for this sender; undefined when another sender settled it meanwhile. */
  async claim(item: LoadedEntry): Promise<ClaimedEntry | undefined> {
    const claim = `${this.dir}/${item.name}${CLAIM_INFIX}${crypto.randomUUID()}`;
    const claimed = await this.#fs.rename(`${this.dir}/${item.name}`, claim).then(() => true, () => false);
    return claimed ? { ...item, claim } : undefined;
  }

  /** Saves a claimed entry's new content under its claim (usage added: a retry sends the same). */
  async update(claimed: ClaimedEntry): Promise<void> {
    await writeJsonAtomically(this.#fs, claimed.claim, claimed.entry);
  }

  /** Removes a claimed entry: delivered, or not worth keeping. */
  async remove(claimed: ClaimedEntry): Promise<void> {
    await this.#fs.rm(claimed.claim, { force: true });
  }

  /** Moves a claimed entry the tracker refused to `failed/` (the newest {@linkcode FAILED_KEPT} are kept). */
  async moveToFailed(claimed: ClaimedEntry): Promise<void> {
    // Not recursive: if the state directory was removed, do not bring it back.
    await this.#fs.mkdir(this.failedDir, { mode: 0o700 }).catch(() => {});
    await this.#fs.rename(claimed.claim, `${this.failedDir}/${claimed.name}`)
      .catch(() => this.#fs.rm(claimed.claim, { force: true }));
    await this.#trimFailed();
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
    const names = (await fs.readdir(this.failedDir).catch(() => [] as string[])).sort();
    if (names.length <= FAILED_KEPT) return;
    const stats = await Promise.all(
      names.map(async (name) => ({ name, mtime: (await fs.stat(`${this.failedDir}/${name}`)).mtimeMs })),
    );
    stats.sort((a, b) => a.mtime - b.mtime);
    for (const { name } of stats.slice(0, stats.length - FAILED_KEPT)) {
      await fs.rm(`${this.failedDir}/${name}`, { force: true });
    }
  }
}
