/**
 * Reading the event: the bytes Claude Code writes to the hook's stdin, up to
 * a limit, parsed into an object, and the reasons the hook skips an event.
 *
 * Owns: `HookSkip`, stdin reading and event parsing, `terminalSafe` (text
 * from files and the network on its way to a terminal). Uses: nothing.
 *
 * @module
 */

/** The largest event the hook reads from stdin; larger events send nothing. */
export const MAX_EVENT_BYTES: number = 128 * 1024 * 1024;

/**
 * A Claude Code hook event as it arrives on stdin. Every field is `unknown`
 * because the hook must survive whatever it is given; the payload builder
 * checks each field's type before it uses it.
 */
export type HookInput = Readonly<Record<string, unknown>>;

/** Why the hook sent nothing: a reason for the debug line, never shown otherwise. */
export class HookSkip extends Error {
  /** @param message One line, safe to print (holds no secret). */
  constructor(message: string) {
    super(message);
    this.name = "HookSkip";
  }
}

/**
 * An error's code or name, never its message, which may quote content or paths.
 *
 * @param error Anything thrown.
 * @returns For example `"ENOENT"` or `"TypeError"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(describeError(new TypeError("secret text")), "TypeError");
 * ```
 */
export function describeError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string") return code;
  return error instanceof Error ? error.name : typeof error;
}

/**
 * Parses the event bytes Claude Code wrote to stdin.
 *
 * @param bytes The whole of stdin.
 * @returns The event object.
 * @throws {HookSkip} When stdin is empty, not UTF-8, not JSON, or not a JSON object.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(parseEvent(new TextEncoder().encode('{"hook_event_name":"Stop"}')).hook_event_name, "Stop");
 * ```
 */
export function parseEvent(bytes: Uint8Array): HookInput {
  if (bytes.length === 0) throw new HookSkip("stdin was empty: no event to report");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HookSkip("stdin is not valid UTF-8: event ignored");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // A RangeError here is nesting too deep for the runtime's parser.
    const why = error instanceof RangeError ? "nested too deeply" : "not valid JSON";
    throw new HookSkip(`stdin is ${why}: event ignored`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new HookSkip("stdin is JSON but not an object: event ignored");
  }
  return value as HookInput;
}

/**
 * Reads a byte stream to its end, refusing more than `limit` bytes.
 *
 * @param stream Chunks, for example stdin.
 * @param limit Most bytes to accept.
 * @returns All bytes read.
 * @throws {HookSkip} When the stream holds more than `limit` bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const bytes = await readAll(new Blob(["{}"]).stream(), 1024);
 * assert.equal(bytes.length, 2);
 * ```
 */
export async function readAll(stream: AsyncIterable<Uint8Array>, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > limit) throw new HookSkip(`event is larger than ${limit} bytes: event ignored`);
    chunks.push(chunk);
  }
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/**
 * Characters that move a terminal's cursor, change its title or colours, or
 * reorder what it shows: C0 controls but tab and line feed, DEL, C1
 * controls (U+0080-U+009F: `\u009b` is a CSI on many terminals), and the
 * Unicode bidirectional and invisible format controls, and the tag
 * characters (U+E0000-U+E007F, a surrogate pair each), which spell text no
 * one sees.
 */
const TERMINAL_UNSAFE =
  // deno-lint-ignore no-control-regex -- the characters it matches
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]|\udb40[\udc00-\udc7f]/g;

/**
 * Makes text from a file or the network safe to print: every character that
 * could drive the terminal (see above) is shown as a `\uXXXX` escape instead.
 * Every command prints what it did not write itself through this function.
 *
 * @param text Any text.
 * @param oneLine Escape line feeds and tabs too (for a value inside one line).
 * @returns The text, with only printable characters, tab and line feed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(terminalSafe("Stop\u001b]0;x\u0007"), "Stop\\u001b]0;x\\u0007");
 * assert.equal(terminalSafe("a\u202eb\u009bc"), "a\\u202eb\\u009bc");
 * assert.equal(terminalSafe("two\nlines"), "two\nlines");
 * assert.equal(terminalSafe("two\nlines", true), "two\\u000alines");
 * assert.equal(terminalSafe("ok\u{E0061}"), "ok\\udb40\\udc61"); // a tag character: hidden text
 * ```
 */
export function terminalSafe(text: string, oneLine = false): string {
  // Each UTF-16 unit of a match, as an escape: a tag character shows as its pair.
  const escape = (chars: string) =>
    chars.split("").map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");
  const safe = text.replace(TERMINAL_UNSAFE, escape);
  // deno-lint-ignore no-control-regex -- the characters it matches
  return oneLine ? safe.replace(/[\u0009\u000a]/g, escape) : safe;
}
