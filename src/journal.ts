/**
 * The journal: the exact bodies of the pings delivered, newest kept, so that
 * a user can check what left the machine (`log`). It holds what was sent and
 * when and how the tracker answered, nothing more (never the URL).
 *
 * Owns: the journal files, `appendToJournal`, `readJournal`. Uses: runtime, files,
 * state_dir.
 *
 * @module
 */

import { attempt, type Runtime } from "./runtime.ts";
import { type OpenFlag, openFlags, readSmallFile } from "./files.ts";
import { STATE_LAYOUT } from "./state_dir.ts";

/** One delivered ping, as the journal keeps it. */
export interface JournalRecord {
  /** When the tracker accepted it, ISO 8601. */
  delivered_at: string;
  /** The tracker's HTTP status. */
  status: number;
  /** The exact body sent. */
  body: string;
  /** How its cost was computed, when that needs saying (see `pricingNote`). */
  note?: string;
}

/** A journal file is set aside (replacing the older one) past this size: the two hold the newest ~2,000 pings. */
const JOURNAL_FILE_BYTES = 1 << 20;

/** Opening flags of the journal: append, create, never through a symlink. */
const APPEND_FLAGS: readonly OpenFlag[] = ["O_WRONLY", "O_APPEND", "O_CREAT", "O_NOFOLLOW", "O_NONBLOCK"];

/**
 * Adds a delivered ping to the journal (0600), setting the current file aside
 * when it is full.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @param record What was sent, when, and the answer's status.
 *
 * @example
 * ```ts ignore
 * await appendToJournal(runtime, stateDir, { delivered_at: new Date().toISOString(), status: 200, body });
 * ```
 */
export async function appendToJournal(runtime: Runtime, stateDir: string, record: JournalRecord): Promise<void> {
  const path = `${stateDir}/${STATE_LAYOUT.journal}`;
  const fs = await runtime.fs();
  const file = await fs.open(path, await openFlags(APPEND_FLAGS), 0o600);
  try {
    if (!(await file.stat()).isFile()) throw new Error(`not a regular file: ${path}`);
    await file.appendFile(JSON.stringify(record) + "\n");
    if ((await file.stat()).size > JOURNAL_FILE_BYTES) {
      await fs.rename(path, `${stateDir}/${STATE_LAYOUT.journalOld}`);
    }
  } finally {
    await file.close();
  }
}

/**
 * The journal's records, newest first.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @param limit The most records to return.
 * @returns The records (broken lines skipped), or undefined when a journal file is there but cannot be read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * assert.deepEqual(await readJournal(detectRuntime(), "/nonexistent", 10), []);
 * ```
 */
export async function readJournal(
  runtime: Runtime,
  stateDir: string,
  limit: number,
): Promise<JournalRecord[] | undefined> {
  const fs = await runtime.fs();
  const records: JournalRecord[] = [];
  for (const name of [STATE_LAYOUT.journal, STATE_LAYOUT.journalOld]) {
    const text = await readSmallFile(fs, `${stateDir}/${name}`, 2 * JOURNAL_FILE_BYTES);
    // A journal that is there but cannot be read is not an empty one.
    if (text === undefined && await runtime.lstat(`${stateDir}/${name}`) !== undefined) return undefined;
    const lines = (text ?? "").split("\n").filter((line) => line !== "").reverse();
    for (const line of lines) {
      const record = attempt(() => JSON.parse(line) as JournalRecord, undefined);
      if (typeof record?.delivered_at === "string" && typeof record.body === "string") records.push(record);
      if (records.length >= limit) return records;
    }
  }
  return records;
}
