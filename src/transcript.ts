/**
 * Reading Claude Code's transcripts (JSON lines) from the end: a turn is at
 * the end of its transcript, and a transcript can be hundreds of megabytes,
 * so lines are read backward in chunks and never all held at once.
 *
 * Owns: `readLinesBackward`, the transcript line shape, finding one turn's
 * lines, `markedTranscriptLines` (a whole transcript's lines that hold usage,
 * a prompt or a file change, for `report`). Uses: runtime, files.
 *
 * @module
 */

import { type FsPromises, nodeFs } from "./runtime.ts";
import { openRegularFile } from "./files.ts";

/** The parts of a transcript line the usage reader looks at; every field is unchecked. */
export interface TranscriptLine {
  /** `"user"`, `"assistant"`, or other kinds. */
  type?: unknown;
  /** The turn's prompt id, on user lines (Claude Code 2.1+). */
  promptId?: unknown;
  /** The API request id, on assistant lines. */
  requestId?: unknown;
  /** When the line was written, ISO 8601. */
  timestamp?: unknown;
  /** The git branch Claude Code saw. */
  gitBranch?: unknown;
  /** The version of Claude Code that wrote the line. */
  version?: unknown;
  /** True on lines Claude Code adds itself (not typed by the user). */
  isMeta?: unknown;
  /** True on a subagent's lines (written into the session's file before 2.0). */
  isSidechain?: unknown;
  /** True on the summary a compaction writes in place of the conversation. */
  isCompactSummary?: unknown;
  /** The line's own id. */
  uuid?: unknown;
  /** The model id Claude Code asked for, on assistant lines (what it prices). */
  requestedModel?: unknown;
  /** A tool's structured result, on the user line holding it (Write and Edit: the file's patch). */
  toolUseResult?: unknown;
  /** The API message. */
  message?: {
    id?: unknown;
    model?: unknown;
    usage?: Record<string, unknown>;
    content?: unknown;
  };
}

/** The most bytes read back from a transcript's end for one ping (a turn is at the end). */
const MAX_READ_BYTES = 1 << 30;
/** A longer line is skipped, not gathered: no transcript line that matters is this long. */
const MAX_LINE_BYTES = 16 << 20;

/**
 * Reads a file's lines from the end, in chunks: the work depends on how far
 * back the caller reads, not on the size of the file. Only a regular file is
 * read (never a FIFO or a device, never through a symlink), and at most its
 * last `maxBytes`.
 *
 * @param path A file.
 * @param chunkBytes Bytes read at a time.
 * @param maxBytes The most bytes read back from the end.
 * @returns Lines, last first (a line is split at "\n" bytes, then decoded as UTF-8).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "first\nsecond\n");
 * const lines = [];
 * for await (const line of readLinesBackward(path)) lines.push(line);
 * assert.deepEqual(lines, ["second", "first"]);
 * ```
 */
export async function* readLinesBackward(
  path: string,
  chunkBytes = 64 * 1024,
  maxBytes = MAX_READ_BYTES,
): AsyncGenerator<string> {
  const { file, size } = await openRegularFile(await nodeFs(), path);
  try {
    let position = size;
    const floor = Math.max(0, size - maxBytes);
    let carry = new Uint8Array(0);
    const decoder = new TextDecoder();
    while (position > floor) {
      const length = Math.min(chunkBytes, position - floor);
      position -= length;
      const chunk = new Uint8Array(length + carry.length);
      await file.read(chunk, 0, length, position);
      chunk.set(carry, length);
      // "\n" never occurs inside a multi-byte UTF-8 sequence: splitting bytes there is safe.
      let end = chunk.length;
      for (let index = chunk.length - 1; index >= 0; index--) {
        if (chunk[index] !== 0x0a) continue;
        if (end > index + 1) yield decoder.decode(chunk.subarray(index + 1, end));
        end = index;
      }
      carry = chunk.slice(0, end);
      // A line longer than any real one: skip it rather than copy it again and again.
      if (carry.length > MAX_LINE_BYTES) {
        const newline = chunk.lastIndexOf(0x0a, end - 1);
        carry = new Uint8Array(0);
        if (newline < 0) {
          while (position > floor) {
            const length = Math.min(chunkBytes, position - floor);
            position -= length;
            const skip = new Uint8Array(length);
            await file.read(skip, 0, length, position);
            const at = skip.lastIndexOf(0x0a);
            if (at >= 0) {
              carry = skip.slice(0, at);
              break;
            }
          }
        }
      }
    }
    if (carry.length > 0) yield decoder.decode(carry);
  } finally {
    await file.close();
  }
}

/**
 * Parses one transcript line; a broken or half-written line gives undefined (it is skipped).
 *
 * @param line One line of JSON.
 * @returns The line, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(parseLine('{"type":"user"}')?.type, "user");
 * assert.equal(parseLine('{"type":'), undefined);
 * ```
 */
export function parseLine(line: string): TranscriptLine | undefined {
  try {
    const value = JSON.parse(line);
    return value !== null && typeof value === "object" ? value as TranscriptLine : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What starts a user line's text that no prompt starts: Claude Code's own notes of an interrupt, of a local
 * command (`/cost`) and its output, and of a `!` shell command.
 */
const NOT_PROMPTS = /^(?:\[Request interrupted by user|<(?:command-name|command-message|local-command-\w+|bash-\w+)>)/;

/**
 * Whether a transcript line is a real prompt of the user: a user line whose
 * content is text (and pasted images), not a tool result, a meta line, a subagent's prompt, a
 * compaction's summary, or Claude Code's note of an interrupt, a local command
 * or a shell command. Claude Code before `promptId` marks a turn's start only so.
 *
 * @param line A parsed transcript line.
 * @returns True for a prompt.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(isUserPrompt({ type: "user", message: { content: "hi" } }), true);
 * assert.equal(isUserPrompt({ type: "user", message: { content: [{ type: "tool_result" }] } }), false);
 * assert.equal(isUserPrompt({ type: "user", message: { content: "<command-name>/cost</command-name>" } }), false);
 * assert.equal(isUserPrompt({ type: "user", message: { content: [null] } }), false);
 * ```
 */
export function isUserPrompt(line: TranscriptLine): boolean {
  if (line.type !== "user" || line.isMeta === true || line.isSidechain === true || line.isCompactSummary === true) {
    return false;
  }
  const content = line.message?.content;
  if (typeof content === "string") return !NOT_PROMPTS.test(content);
  if (!Array.isArray(content)) return false;
  // Text and pasted images make a prompt; whatever else a hostile line holds in place of a block does not.
  const kinds = content.map((block) => block !== null && typeof block === "object" ? block.type : undefined);
  const first = content[kinds.indexOf("text")] as { text?: unknown } | undefined;
  return kinds.every((kind) => kind === "text" || kind === "image") && typeof first?.text === "string" &&
    !NOT_PROMPTS.test(first.text);
}

/**
 * Reads the lines of one turn from the end of a transcript. A turn's user
 * lines (the prompt and its tool results) carry its `promptId`; other lines
 * between them belong to it. Without a `promptId` (older Claude Code), the
 * turn is everything from the last real user prompt on.
 *
 * @param path The session transcript.
 * @param promptId The turn's prompt id, if known.
 * @returns The turn's lines in file order, or undefined when the turn is not there.
 *
 * @example
 * ```ts ignore
 * const lines = await readTurnLines(event.transcript_path, event.prompt_id);
 * ```
 */
export async function readTurnLines(path: string, promptId: string | undefined): Promise<TranscriptLine[] | undefined> {
  const turn: TranscriptLine[] = []; // last line first
  let earliestOfTurn = -1;
  for await (const text of readLinesBackward(path)) {
    const line = parseLine(text);
    if (line === undefined) continue;
    const linePrompt = typeof line.promptId === "string" ? line.promptId : undefined;
    if (promptId !== undefined && linePrompt !== undefined) {
      if (linePrompt === promptId) {
        turn.push(line);
        earliestOfTurn = turn.length - 1;
        continue;
      }
      if (earliestOfTurn >= 0) break; // the turn before ours: done
      turn.length = 0; // a later turn: what we collected so far is not ours
      continue;
    }
    turn.push(line);
    if (promptId === undefined && isUserPrompt(line)) {
      earliestOfTurn = turn.length - 1;
      break;
    }
  }
  // Lines before the turn's first line (read after it, going backward) belong to the turn before.
  return earliestOfTurn < 0 ? undefined : turn.slice(0, earliestOfTurn + 1).reverse();
}

/** A line longer than this is skipped: no line with usage is this long. */
const MAX_REPORT_LINE_BYTES = 16 << 20;
const REPORT_CHUNK_BYTES = 256 << 10;

/**
 * What a line must hold to matter to a report: usage, a prompt (by its `promptId`, or in releases before it, a user
 * line as Claude Code writes it: not the API request blobs, whose messages have no `type`), or a file change. Most
 * bytes are content.
 */
const REPORT_MARKERS = ['"usage"', '"promptId"', '"structuredPatch"', '"type":"user","message":{"role":"user"'];

/**
 * The lines of a file that hold one of {@linkcode REPORT_MARKERS}, streamed in
 * chunks; a last line without its newline too (it may be half-written). Lines
 * without a marker are never cut out of the chunk: the scan jumps from marker
 * to marker, so its work is the file's size, not its number of lines. A line
 * longer than `MAX_REPORT_LINE_BYTES` is dropped whole, and only the bytes the
 * file had when opened are read (a file that keeps growing ends).
 *
 * @param fs The file API.
 * @param path A transcript (a regular file; never through a symlink).
 * @param searchBytes Search the bytes (Buffer's native search, in Bun and Node) and decode only the lines found;
 *   otherwise decode each chunk and search the text (Deno, whose Buffer search is written in JavaScript).
 * @returns The lines.
 *
 * @example
 * ```ts ignore
 * for await (const line of markedTranscriptLines(await runtime.fs(), path, true)) JSON.parse(line);
 * ```
 */
export async function* markedTranscriptLines(
  fs: FsPromises,
  path: string,
  searchBytes: boolean,
): AsyncGenerator<string> {
  const { Buffer } = await import("node:buffer");
  const { file, size } = await openRegularFile(fs, path);
  const decoder = new TextDecoder();
  const markers = REPORT_MARKERS.map((marker) => Buffer.from(marker));
  const buffer = Buffer.alloc(REPORT_CHUNK_BYTES);
  let carry = Buffer.alloc(0);
  let overlong = false;
  try {
    for (let left = size, done = false; !done;) {
      const { bytesRead } = left <= 0
        ? { bytesRead: 0 }
        : await file.read(buffer, 0, Math.min(buffer.length, left), null);
      left -= bytesRead;
      done = bytesRead === 0;
      const chunk = buffer.subarray(0, bytesRead);
      const newline = chunk.indexOf(NEWLINE);
      if (newline === -1 && !done) {
        // Still inside one line: only gathered while it may matter; never searched until it ends.
        if (!overlong && carry.length + chunk.length > MAX_REPORT_LINE_BYTES) {
          [carry, overlong] = [Buffer.alloc(0), true];
        }
        if (!overlong) carry = Buffer.concat([carry, chunk]);
        continue;
      }
      // The line an overlong one ends with is dropped with it.
      const bytes = overlong
        ? (newline === -1 ? Buffer.alloc(0) : chunk.subarray(newline + 1))
        : carry.length === 0
        ? chunk
        : Buffer.concat([carry, chunk]);
      overlong = false;
      // Whole lines only (a newline byte is never inside a UTF-8 character): decoded without a stream.
      const last = done ? bytes.length : bytes.lastIndexOf(NEWLINE);
      const limit = Math.max(last, 0);
      if (searchBytes) {
        const find = (index: number, from: number) => bytes.indexOf(markers[index], from);
        for (const [from, to] of markedLines(limit, markers.length, find, bytes, NEWLINE)) {
          yield decoder.decode(bytes.subarray(from, to));
        }
      } else {
        const text = decoder.decode(bytes.subarray(0, limit));
        const find = (index: number, from: number) => text.indexOf(REPORT_MARKERS[index], from);
        for (const [from, to] of markedLines(text.length, markers.length, find, text, "\n")) yield text.slice(from, to);
      }
      // A copy: the read buffer is used again.
      carry = done ? Buffer.alloc(0) : Buffer.from(last === -1 ? bytes : bytes.subarray(last + 1));
    }
  } finally {
    await file.close();
  }
}

const NEWLINE = 10;

/** A text or bytes, as far as finding newlines goes. */
interface Lines<T> {
  indexOf(value: T, from?: number): number;
  lastIndexOf(value: T, from?: number): number;
  length: number;
}

/**
 * Where the lines before `limit` that hold a marker are: found marker by marker (`find` gives a marker's next place
 * from a position), each line once.
 */
function* markedLines<T>(
  limit: number,
  markerCount: number,
  find: (index: number, from: number) => number,
  lines: Lines<T>,
  newline: T,
): Generator<[number, number]> {
  const next = Array.from({ length: markerCount }, (_, index) => find(index, 0));
  for (let position = 0; position < limit;) {
    let found = -1;
    for (let index = 0; index < markerCount; index++) {
      if (next[index] !== -1 && next[index] < position) next[index] = find(index, position);
      if (next[index] !== -1 && next[index] < limit && (found === -1 || next[index] < found)) found = next[index];
    }
    if (found === -1) return;
    const start = lines.lastIndexOf(newline, found) + 1;
    const end = Math.min(limit, (lines.indexOf(newline, found) + 1 || lines.length + 1) - 1);
    yield [start, end];
    position = end + 1;
  }
}
