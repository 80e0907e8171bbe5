/**
 * Where each waiting ping goes and when: its session's tracker (the
 * destination its spool entry names, or the URL `install` saved), and that
 * tracker's pace, so that a tracker that fails or asks to wait holds back its
 * own pings only.
 *
 * Owns: `Targets`, `Paces`. Uses: runtime, config, ping_url,
 * destination, spool, send.
 *
 * @module
 */

import { type HookConfig, readSavedSettings } from "./config.ts";
import { resolveDestination, SAVED_DESTINATION } from "./destination.ts";
import { parsePingUrl } from "./ping_url.ts";
import type { FsPromises, Runtime } from "./runtime.ts";
import { TrackerPace } from "./send.ts";
import type { LoadedEntry, SpoolEntry } from "./spool.ts";

/** Where one ping can go now, or why it cannot. */
type Target = { url: URL } | { problem: string };

/** A URL this sender may send to, or why not: refused by the URL rules, or out of this Deno's reach. */
function usableUrl(runtime: Runtime, raw: string | undefined, missing: string): Target {
  if (raw === undefined) return { problem: missing };
  let url: URL;
  try {
    url = parsePingUrl(raw);
  } catch (error) {
    return { problem: (error as Error).message };
  }
  if (!runtime.mayReach(url.host)) {
    return {
      problem: `this Deno hook may only reach the tracker it was installed for, not ${url.host}: ` +
        `run install again with the ping URL in force`,
    };
  }
  return { url };
}

/**
 * Each ping's tracker, as its spool entry names it (see
 * {@linkcode destinationOf}): `saved` is the URL `install` saved, read again
 * each pass (a rotated token applies at once); an id is its destination file
 * (fixed by its name, so read once); an entry of an older version that names
 * none goes to the URL in force for this sender.
 */
export class Targets {
  #runtime: Runtime;
  #config: HookConfig;
  #fs: FsPromises;
  #byId = new Map<string, Target>();
  #saved: Target | undefined;

  constructor(runtime: Runtime, config: HookConfig, fs: FsPromises) {
    this.#runtime = runtime;
    this.#config = config;
    this.#fs = fs;
  }

  /** Forgets the saved URL: it is read again on the next look. */
  refresh(): void {
    this.#saved = undefined;
  }

  /** Where one entry goes now. */
  async of(entry: SpoolEntry): Promise<Target> {
    if (entry.to === undefined) {
      return usableUrl(this.#runtime, this.#config.pingUrl, "no ping URL: run install --url, or set TELEMHQ_PING_URL");
    }
    if (entry.to === SAVED_DESTINATION) {
      this.#saved ??= usableUrl(
        this.#runtime,
        (await readSavedSettings(this.#runtime, this.#config.stateDir!)).pingUrl,
        "no ping URL saved by install: run install --url again",
      );
      return this.#saved;
    }
    let target = this.#byId.get(entry.to);
    if (target === undefined) {
      const url = await resolveDestination(this.#fs, this.#config.stateDir!, entry.to);
      // Only a destination read is kept: a hook writes the file just after its ping, so a missing one is looked
      // for again on the next pass.
      if (url === undefined) return { problem: "the tracker of some pings is unknown here (no destination file)" };
      target = usableUrl(this.#runtime, url.href, "");
      this.#byId.set(entry.to, target);
    }
    return target;
  }

  /** The entries that can go now, each with its URL, and the first reason some cannot. */
  async sort(entries: readonly LoadedEntry[]): Promise<{ urls: Map<string, URL>; problem?: string }> {
    const urls = new Map<string, URL>();
    let problem: string | undefined;
    for (const item of entries) {
      const target = await this.of(item.entry);
      if ("url" in target) urls.set(item.name, target.url);
      else problem ??= target.problem;
    }
    return { urls, problem };
  }
}

/**
 * Each tracker's pace (see {@linkcode TrackerPace}): a tracker that fails or
 * asks to wait slows its own pings only, never another session's tracker.
 * Keyed by the destination a spool entry names.
 */
export class Paces {
  #paces = new Map<string, TrackerPace>();
  #inFlight = new Map<string, number>();
  #baseMs: number;
  #maxMs: number;

  constructor(baseMs: number, maxMs: number) {
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
  }

  /** The destination key of an entry (older entries, which name none, share one). */
  keyOf(item: LoadedEntry): string {
    return item.entry.to ?? "";
  }

  /** The pace of an entry's tracker. */
  of(item: LoadedEntry): TrackerPace {
    const key = this.keyOf(item);
    let pace = this.#paces.get(key);
    if (pace === undefined) this.#paces.set(key, pace = new TrackerPace(this.#baseMs, this.#maxMs));
    return pace;
  }

  /** Someone asked for delivery now: every tracker's own backoff ends (its Retry-After holds). */
  tryNow(): void {
    for (const pace of this.#paces.values()) pace.tryNow();
  }

  /** Requests in flight to an entry's tracker. */
  inFlight(item: LoadedEntry): number {
    return this.#inFlight.get(this.keyOf(item)) ?? 0;
  }

  /** Counts a request to an entry's tracker in flight (+1) or done (-1). */
  track(item: LoadedEntry, change: 1 | -1): void {
    this.#inFlight.set(this.keyOf(item), this.inFlight(item) + change);
  }
}

/**
 * When the first of some entries may go: its own schedule or its tracker's
 * wait, whichever is later (a loop: `Math.min(...items)` throws past about
 * 125,000 arguments, and a backlog holds 10,000 or more).
 */
export function soonestDueWithPace(items: readonly LoadedEntry[], paces: Paces): number {
  let soonest = Infinity;
  const now = Date.now();
  for (const item of items) soonest = Math.min(soonest, Math.max(item.entry.next_at, now + paces.of(item).waitMs(now)));
  return soonest;
}
