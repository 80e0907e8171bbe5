#!/usr/bin/env -S deno run --no-config --no-lock -A
/**
 * The TelemHQ hook for Claude Code: reads one hook event from stdin and sends
 * a privacy-safe metadata ping to the TelemHQ tracker.
 *
 * One self-contained file on purpose (users curl-install it, and can read all
 * of it): it uses web-standard APIs and `node:` built-ins only, and runs
 * unchanged under Deno, Bun and Node 22.18+ (erasable TypeScript only).
 * Imported as a module it only exports its building blocks; run as the main
 * module it runs the hook, or a command (see `--help`).
 *
 * GENERATED from the modules in src/ by `deno task build:hook`: edit those,
 * not this file. Its parts, in order:
 *
 *  1. src/input.ts            Reading the event.
 *  2. src/events.ts           Claude Code's hook events, as data.
 *  3. src/sha256.ts           SHA-256 as hex.
 *  4. src/fields.ts           What may leave the machine.
 *  5. src/paths.ts            Paths the way the platform the hook runs on reads them.
 *  6. src/payload.ts          Building the ping.
 *  7. src/runtime.ts          What the hook needs from the runtime that runs it, as one interface ({@linkcode Runtime}), and the small helpers every adapter shares.
 *  8. src/runtime_deno.ts     The Deno adapter.
 *  9. src/runtime_process.ts  The Bun and Node adapters.
 * 10. src/runtime_detect.ts   The one place that knows which runtime runs the hook.
 * 11. src/files.ts            The file layer for everything off the hook's hot path.
 * 12. src/git_repo.ts         The repository a session works in, as TelemHQ's roll-ups name it.
 * 13. src/state_dir.ts        The state directory.
 * 14. src/config.ts           The hook's settings.
 * 15. src/ping_url.ts         The ping URL.
 * 16. src/destination.ts      Where each ping goes.
 * 17. src/launch.ts           How the hook is started.
 * 18. src/launcher.ts         The launcher.
 * 19. src/spool.ts            The spool.
 * 20. src/lock.ts             The sender's lock.
 * 21. src/send.ts             One ping request.
 * 22. src/trackers.ts         Where each waiting ping goes and when.
 * 23. src/journal.ts          The journal.
 * 24. src/transcript.ts       Reading Claude Code's transcripts (JSON lines) from the end.
 * 25. src/catalog.ts          The model catalog Claude Code prices by, as data.
 * 26. src/price_eras.ts       How each range of Claude Code releases computed a response's cost, as data.
 * 27. src/legacy_prices.ts    How Claude Code releases before the catalog era (1.0.0 to 2.1.195) found a response's price.
 * 28. src/prices.ts           What a response costs, the way Claude Code itself computes it.
 * 29. src/usage.ts            Tokens and cost of a turn (or a subagent run), from its transcript lines.
 * 30. src/ledger.ts           Adding usage to a ping, once, just before it is sent.
 * 31. src/attempts.ts         One ping's attempt, as the sender makes it.
 * 32. src/sender.ts           The sender.
 * 33. src/run_hook.ts         The hook itself, what Claude Code runs for each event.
 * 34. src/cli_args.ts         The commands' shared parts.
 * 35. src/settings.ts         Claude Code's settings files, as `install`, `uninstall` and `doctor` use them.
 * 36. src/policy.ts           What an organisation's policy and Claude Code's plugin options say about the hook.
 * 37. src/marketplace.ts      The marketplace a team's policy installs the plugin from, as Claude Code's `extraKnownMarketplaces` takes it.
 * 38. src/policy_file.ts      Writes a team's policy where this machine's Claude Code reads it, for `install --scope managed --write`.
 * 39. src/claude_code.ts      Which Claude Code runs here, and what it accepts.
 * 40. src/install_record.ts   The install record, `<state>/install.json`.
 * 41. src/install_plan.ts     What `install` will do, decided and checked before anything is written.
 * 42. src/install.ts          `install`.
 * 43. src/uninstall.ts        `uninstall`.
 * 44. src/doctor.ts           `doctor`.
 * 45. src/report.ts           `report`.
 * 46. src/cli.ts              The command line.
 *
 * @module
 */

// ---------------------------------------------------------------------------
// src/input.ts
//
// Reading the event: the bytes Claude Code writes to the hook's stdin, up to
// a limit, parsed into an object, and the reasons the hook skips an event.
//
// Owns: `HookSkip`, stdin reading and event parsing, `terminalSafe` (text
// from files and the network on its way to a terminal). Uses: nothing.

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
 */
function describeError(error: unknown): string {
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
 */
function terminalSafe(text: string, oneLine = false): string {
  // Each UTF-16 unit of a match, as an escape: a tag character shows as its pair.
  const escape = (chars: string) =>
    chars.split("").map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");
  const safe = text.replace(TERMINAL_UNSAFE, escape);
  // deno-lint-ignore no-control-regex -- the characters it matches
  return oneLine ? safe.replace(/[\u0009\u000a]/g, escape) : safe;
}

// ---------------------------------------------------------------------------
// src/events.ts
//
// Claude Code's hook events, as data: which mean failure, which fire once per
// prompt, which carry usage, which `install` wires and with what matcher.
// Every other list of events is derived from {@linkcode HOOK_EVENTS}.
//
// Owns: the event table and the lists derived from it. Uses: nothing.

/** The names of the hook events Claude Code fires (others may appear). */
export type HookEventName =
  | "SessionStart"
  | "SessionEnd"
  | "UserPromptSubmit"
  | "PreToolUse"
  | "PostToolUse"
  | "PostToolUseFailure"
  | "PostToolBatch"
  | "PermissionRequest"
  | "Notification"
  | "SubagentStart"
  | "SubagentStop"
  | "Stop"
  | "StopFailure"
  | "PreCompact"
  | "PostCompact";

/** What the hook knows about one event. */
export interface EventRule {
  /** The event always means failure (as in the reference script). */
  readonly failed?: true;
  /** Claude Code fires it at most once per prompt (turn), so `prompt_id` identifies it. */
  readonly oncePerPrompt?: true;
  /**
   * Claude Code fires it once as a session ends: the session, its last prompt and the reason identify it
   * (a resumed session that ends again after a new prompt gets a new id).
   */
  readonly oncePerSession?: true;
  /** Its ping carries usage: the turn's, the subagent's, or the session's totals. */
  readonly usage?: "turn" | "subagent" | "session";
  /** `install` wires it: always, or with `--tool-activity`; with this matcher, if any. */
  readonly install?: { readonly when: "always" | "toolActivity"; readonly matcher?: string };
}

/** Every event the hook treats specially; events not listed get a plain ping. */
export const HOOK_EVENTS: Readonly<Partial<Record<HookEventName, EventRule>>> = {
  UserPromptSubmit: { oncePerPrompt: true },
  PostToolUse: { install: { when: "toolActivity", matcher: "Bash|Edit|MultiEdit|Write" } },
  PostToolUseFailure: { failed: true, install: { when: "toolActivity", matcher: "*" } },
  Stop: { oncePerPrompt: true, usage: "turn", install: { when: "always" } },
  StopFailure: { failed: true, oncePerPrompt: true, usage: "turn", install: { when: "always", matcher: "*" } },
  // SubagentStop and SessionEnd carry the subagents' usage and the session's totals.
  SubagentStop: { usage: "subagent", install: { when: "always" } },
  SessionEnd: { oncePerSession: true, usage: "session", install: { when: "always" } },
};

/**
 * The rule for an event name, or an empty rule for events without one.
 *
 * @param event A hook event name.
 * @returns Its rule.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(eventRule("Stop").usage, "turn");
 * assert.deepEqual(eventRule("Notification"), {});
 * ```
 */
export function eventRule(event: string): EventRule {
  return Object.hasOwn(HOOK_EVENTS, event) ? HOOK_EVENTS[event as HookEventName]! : {};
}

function eventsWhere(test: (rule: EventRule) => boolean): string[] {
  return Object.entries(HOOK_EVENTS).filter(([, rule]) => test(rule)).map(([event]) => event);
}

/** Events that always mean failure, as in the reference script. */
export const FAILED_EVENTS: ReadonlySet<string> = new Set(eventsWhere((rule) => rule.failed === true));

/** The hook events `install` wires, with their matchers: derived from {@linkcode HOOK_EVENTS}. */
const INSTALL_EVENTS: Readonly<Record<"always" | "toolActivity", readonly (readonly [string, string?])[]>> = {
  // Worked out when asked: the hook, which runs for every event, never asks.
  get always() {
    return installEvents("always");
  },
  get toolActivity() {
    return installEvents("toolActivity");
  },
};

function installEvents(when: "always" | "toolActivity"): (readonly [string, string?])[] {
  return eventsWhere((rule) => rule.install?.when === when)
    .map((event) => {
      const matcher = eventRule(event).install?.matcher;
      return matcher === undefined ? [event] as const : [event, matcher] as const;
    });
}

// ---------------------------------------------------------------------------
// src/sha256.ts
//
// SHA-256 as hex: through Web Crypto, and in plain JavaScript for Node,
// where loading a crypto module costs more than hashing a path.
//
// Owns: the two SHA-256 implementations. Uses: nothing.

/** SHA-256 round constants and initial state (FIPS 180-4): cube and square roots of the first primes. */
// deno-fmt-ignore
const SHA256_K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const SHA256_H = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/** A function that hashes a string's UTF-8 bytes with SHA-256 and returns 64 lowercase hex digits. */
export type Sha256Hex = (text: string) => Promise<string>;

function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/**
 * SHA-256 of a string's UTF-8 bytes through Web Crypto, as hex: the default
 * hash of the payload builder.
 *
 * @param text Any string.
 * @returns 64 lowercase hex digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(
 *   await webCryptoSha256Hex("abc"),
 *   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
 * );
 * ```
 */
export async function webCryptoSha256Hex(text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

/**
 * SHA-256 in plain JavaScript, for short strings (paths, ids) where loading a
 * crypto module costs more than hashing: Node's `node:crypto` takes about 5 ms
 * to load and its Web Crypto about 11, per hook process. The test suite holds
 * it to Web Crypto's result.
 *
 * @param text Any string; hashed as its UTF-8 bytes.
 * @returns 64 lowercase hex digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(sha256HexSync("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
 * ```
 */
export function sha256HexSync(text: string): string {
  const bytes = new TextEncoder().encode(text);
  const padded = new Uint8Array((((bytes.length + 8) >> 6) + 1) << 6);
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bytes.length / 0x20000000));
  view.setUint32(padded.length - 4, (bytes.length << 3) >>> 0);
  const state = Uint32Array.from(SHA256_H);
  const words = new Uint32Array(64);
  const rotate = (value: number, bits: number) => (value >>> bits) | (value << (32 - bits));
  for (let offset = 0; offset < padded.length; offset += 64) {
    for (let i = 0; i < 16; i++) words[i] = view.getUint32(offset + i * 4);
    for (let i = 16; i < 64; i++) {
      const a = words[i - 15];
      const b = words[i - 2];
      const s0 = rotate(a, 7) ^ rotate(a, 18) ^ (a >>> 3);
      const s1 = rotate(b, 17) ^ rotate(b, 19) ^ (b >>> 10);
      words[i] = (words[i - 16] + s0 + words[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, h] = state;
    for (let i = 0; i < 64; i++) {
      const t1 =
        (h + (rotate(e, 6) ^ rotate(e, 11) ^ rotate(e, 25)) + ((e & f) ^ (~e & g)) + SHA256_K[i] + words[i]) >>> 0;
      const t2 = ((rotate(a, 2) ^ rotate(a, 13) ^ rotate(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    const next = [a, b, c, d, e, f, g, h];
    for (let i = 0; i < 8; i++) state[i] = (state[i] + next[i]) >>> 0;
  }
  return [...state].map((word) => word.toString(16).padStart(8, "0")).join("");
}

// ---------------------------------------------------------------------------
// src/fields.ts
//
// What may leave the machine: the `Payload` type (every field a ping can
// carry, and nothing else), each field's rule for its value, and the checks
// that hold a ping to them, when it is built and when it is read back from
// disk.
//
// Owns: `Payload`, `PAYLOAD_FIELDS`, the field rules, `checkPayload`,
// `allowlisted`, the enumerations of allowed values. Uses: nothing.

/**
 * The ping sent to TelemHQ. Every field is listed here: nothing else can
 * leave the machine. Optional fields are omitted when the event lacks them.
 */
export interface Payload {
  /** Always `"anthropic"`. */
  provider: "anthropic";
  /** Always `"claude-code"`. */
  tool: "claude-code";
  /** `"failed"` for `PostToolUseFailure`, `StopFailure`, or an event with an `error`. */
  status: "success" | "failed";
  /** The hook event name, for example `"Stop"`. */
  event: string;
  /** The last component of the working directory, as the reference script sends it. */
  project: string;
  /** Claude Code's session id. */
  session_id?: string;
  /** The tool's name on tool events, for example `"Bash"`. */
  tool_name?: string;
  /** The tool call's id on tool events. */
  tool_use_id?: string;
  /** Claude Code's permission mode, for example `"default"`. */
  permission_mode?: string;
  /** First 12 hex digits of the SHA-256 of the working directory. */
  cwd_hash?: string;
  /** First 12 hex digits of the SHA-256 of the transcript path. */
  transcript_path_hash?: string;
  /** The StopFailure error code, only when it is one of {@linkcode STOP_FAILURE_ERRORS}. */
  error?: string;
  /** Length of the assistant's last message in Unicode code points (never the text). */
  last_assistant_message_chars?: number;
  /** Stable id of this ping: the same event always gets the same id. */
  ping_id: string;
  /** Id of the user prompt (turn) the event belongs to. */
  prompt_id?: string;
  /** Subagent id on subagent events. */
  agent_id?: string;
  /** Subagent type, for example `"general-purpose"`. */
  agent_type?: string;
  /** How long the tool call took, on tool events; the turn's length on Stop and StopFailure. */
  duration_ms?: number;
  /** Whether the user interrupted the failed tool call. */
  is_interrupt?: boolean;
  /** Whether a Stop hook already made Claude continue this turn. */
  stop_hook_active?: boolean;
  /** How the session started (`startup`, `resume`, `clear`, `compact`, `fork`). */
  source?: string;
  /** Why the session ended (`clear`, `resume`, `logout`, `prompt_input_exit`, `other`). */
  reason?: string;
  /** What started a compaction (`manual`, `auto`). */
  trigger?: string;
  /** Tool calls in a `PostToolBatch` batch, or in the turn (Stop, StopFailure) or subagent run. */
  tool_calls?: number;
  /** Stop, StopFailure: the turn's uncached input tokens; SubagentStop: the subagent's. */
  input_tokens?: number;
  /** Output tokens of the turn (or subagent). */
  output_tokens?: number;
  /** Tokens written to the prompt cache in the turn (or subagent). */
  cache_creation_input_tokens?: number;
  /** Tokens read from the prompt cache in the turn (or subagent). */
  cache_read_input_tokens?: number;
  /** The four token counts added up. */
  total_tokens?: number;
  /** The model that produced most of the output. */
  model?: string;
  /** Every model used, when the turn switched models. */
  models?: string[];
  /** List-price cost in US dollars; absent when a model's price is unknown. */
  cost_usd?: number;
  /** The git branch Claude Code recorded for the turn. */
  git_branch?: string;
  /** The `owner/name` of the repository's `origin` remote (never its URL), on Stop, StopFailure, SubagentStop, SessionEnd. */
  git_repo?: string;
  /** API responses in the turn (or subagent), each counted once. */
  api_requests?: number;
  /** Web searches the model ran in the turn (or subagent). */
  web_search_requests?: number;
  /** `"fast"` when a response of the turn (or subagent) ran in fast mode. */
  speed?: "fast";
  /** Lines the turn's (or subagent's) Write and Edit calls added, counted as Claude Code counts them. */
  lines_added?: number;
  /** Lines they removed. */
  lines_removed?: number;
  /** SessionEnd: uncached input tokens of the session's pings since it (re)started. */
  session_input_tokens?: number;
  /** SessionEnd: output tokens since the session (re)started. */
  session_output_tokens?: number;
  /** SessionEnd: cache write tokens since the session (re)started. */
  session_cache_creation_input_tokens?: number;
  /** SessionEnd: cache read tokens since the session (re)started. */
  session_cache_read_input_tokens?: number;
  /** SessionEnd: all tokens since the session (re)started. */
  session_total_tokens?: number;
  /** SessionEnd: cost since the session (re)started; absent when a price was unknown. */
  session_cost_usd?: number;
  /** SessionEnd: API responses since the session (re)started. */
  session_api_requests?: number;
  /** SessionEnd: turns (Stop and StopFailure) since the session (re)started. */
  session_turns?: number;
  /** SessionEnd: web searches since the session (re)started. */
  session_web_search_requests?: number;
  /** SessionEnd: lines added since the session (re)started. */
  session_lines_added?: number;
  /** SessionEnd: lines removed since the session (re)started. */
  session_lines_removed?: number;
  /** When the hook received the event, ISO 8601 UTC. */
  occurred_at: string;
  /** Version of this hook. */
  hook_version: string;
  /** Runtime that ran the hook, for example `"deno/2.9.6"`. */
  runtime: string;
  /** A team member's label, when the user set one (`install --member`, the plugin's option); off by default. */
  member?: string;
}

/**
 * StopFailure error codes that Claude Code sends (its hook matcher values).
 * Only these go out as `error`; any other `error` value (PostToolUseFailure's
 * holds the failed command's output) is never sent.
 */
export const STOP_FAILURE_ERRORS: ReadonlySet<string> = new Set([
  "rate_limit",
  "overloaded",
  "authentication_failed",
  "oauth_org_not_allowed",
  "account_on_hold",
  "verification_required",
  "billing_error",
  "invalid_request",
  "model_not_found",
  "server_error",
  "max_output_tokens",
  "cloud_credential_error",
  "unknown",
]);

/** Values Claude Code uses for SessionStart `source`, SessionEnd `reason` and compaction `trigger`. */
const ENUM_FIELDS: Readonly<Record<"source" | "reason" | "trigger", ReadonlySet<string>>> = {
  source: new Set(["startup", "resume", "clear", "compact", "fork"]),
  reason: new Set(["clear", "resume", "logout", "prompt_input_exit", "other", "bypass_permissions_disabled"]),
  trigger: new Set(["manual", "auto", "init", "maintenance"]),
};

/**
 * Ids, tool names and agent types are machine tokens (a UUID, `toolu_...`,
 * `mcp__github__create_issue`, `plugin:agent`); anything else in those fields
 * (free text, a path, an address, an object) is dropped rather than sent.
 */
const TOKEN_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
/** A permission mode: a word (`default`, `acceptEdits`, `bypassPermissions`, `plan`, `dontAsk`, `auto`). */
const MODE_PATTERN: RegExp = /^[A-Za-z]{1,32}$/;
/**
 * What a project name may hold: letters and digits of any script and most
 * punctuation, never a path separator (`/`, or the `\\` of a Windows path read
 * on another system), a control or line-separator character, a lone
 * surrogate, a private-use or unassigned one, or an invisible one: the format
 * characters (bidirectional controls, zero-width spaces, tag characters that
 * spell hidden text), the Hangul fillers and the grapheme joiner; only the
 * zero-width joiner and non-joiner, which emoji and some scripts need, pass.
 */
const PROJECT_PATTERN: RegExp =
  /^(?!.*[\p{Co}\p{Cn}\u034f\u115f\u1160\u3164\uffa0])(?!.*(?![\u200c\u200d])\p{Cf})[^/\\\p{Cc}\p{Cs}\u2028\u2029]{1,255}$/u;
/** A hook event name. */
const EVENT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
/** The longest project name sent. */
const MAX_PROJECT_CHARS = 255;
/**
 * A plain model id: letters, digits, `.`, `_`, `-` (a Bedrock id such as
 * `us.anthropic.claude-sonnet-4-6` passes). Never an ARN (it holds an account
 * id), a path, or free text.
 */
const MODEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;
/** A repository's `owner/name`. */
const GIT_REPO_PATTERN: RegExp = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;
/** A team member's label: a name or an e-mail-like handle, nothing longer or stranger. */
const MEMBER_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;
/** What a git branch name may hold here: letters, digits and the punctuation refs commonly use. */
const BRANCH_PATTERN = /^[\p{L}\p{N}._/@+#-]{1,255}$/u;

/**
 * How a field's value must look to be sent: a pattern, a set of allowed
 * values, or a kind of number; checked when a ping is built and again when a
 * spooled ping is read back from disk (a file anyone could have edited).
 */
type FieldRule = RegExp | ReadonlySet<string> | "count" | "usd" | "boolean" | "models";

/** Every {@linkcode Payload} field with its rule: the compiler refuses a field missing here or not in `Payload`. */
const PAYLOAD_RULES: { readonly [Field in keyof Payload]-?: FieldRule } = {
  provider: new Set(["anthropic"]),
  tool: new Set(["claude-code"]),
  status: new Set(["success", "failed"]),
  event: EVENT_NAME_PATTERN,
  project: PROJECT_PATTERN,
  session_id: TOKEN_PATTERN,
  tool_name: TOKEN_PATTERN,
  tool_use_id: TOKEN_PATTERN,
  permission_mode: MODE_PATTERN,
  cwd_hash: /^[0-9a-f]{12}$/,
  transcript_path_hash: /^[0-9a-f]{12}$/,
  error: STOP_FAILURE_ERRORS,
  last_assistant_message_chars: "count",
  ping_id: /^[0-9a-f]{32}$/,
  prompt_id: TOKEN_PATTERN,
  agent_id: TOKEN_PATTERN,
  agent_type: TOKEN_PATTERN,
  duration_ms: "count",
  is_interrupt: "boolean",
  stop_hook_active: "boolean",
  source: ENUM_FIELDS.source,
  reason: ENUM_FIELDS.reason,
  trigger: ENUM_FIELDS.trigger,
  tool_calls: "count",
  input_tokens: "count",
  output_tokens: "count",
  cache_creation_input_tokens: "count",
  cache_read_input_tokens: "count",
  total_tokens: "count",
  model: MODEL_PATTERN,
  models: "models",
  cost_usd: "usd",
  git_branch: BRANCH_PATTERN,
  git_repo: GIT_REPO_PATTERN,
  api_requests: "count",
  web_search_requests: "count",
  speed: new Set(["fast"]),
  lines_added: "count",
  lines_removed: "count",
  session_input_tokens: "count",
  session_output_tokens: "count",
  session_cache_creation_input_tokens: "count",
  session_cache_read_input_tokens: "count",
  session_total_tokens: "count",
  session_cost_usd: "usd",
  session_api_requests: "count",
  session_turns: "count",
  session_web_search_requests: "count",
  session_lines_added: "count",
  session_lines_removed: "count",
  occurred_at: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/,
  hook_version: /^\d{1,4}\.\d{1,4}\.\d{1,4}(-[0-9A-Za-z.-]{1,32})?$/,
  runtime: /^[A-Za-z0-9._-]{1,32}\/[A-Za-z0-9._+-]{1,32}$/,
  member: MEMBER_PATTERN,
};

/** The names of every field a ping may carry, in the order of {@linkcode Payload}: the allowlist. */
export const PAYLOAD_FIELDS: readonly (keyof Payload)[] = Object.keys(PAYLOAD_RULES) as (keyof Payload)[];

/** The fields without which a ping is not a ping. */
const REQUIRED_FIELDS: readonly (keyof Payload)[] = [
  "provider",
  "tool",
  "status",
  "event",
  "project",
  "ping_id",
  "occurred_at",
  "hook_version",
  "runtime",
];

function followsRule(value: unknown, rule: FieldRule): boolean {
  if (rule instanceof RegExp) return typeof value === "string" && rule.test(value);
  if (rule === "count") return Number.isSafeInteger(value) && (value as number) >= 0;
  if (rule === "usd") return typeof value === "number" && Number.isFinite(value) && value >= 0 && value < 1e9;
  if (rule === "boolean") return typeof value === "boolean";
  if (rule === "models") {
    return Array.isArray(value) && value.length <= 16 && value.every((model) => followsRule(model, MODEL_PATTERN));
  }
  return typeof value === "string" && rule.has(value);
}

/**
 * Checks a ping read back from disk (or given by a library user) field by
 * field: keeps the allowlisted fields whose values follow their rules, drops
 * the rest, and refuses a ping that lacks a required field.
 *
 * @param value Anything.
 * @returns The ping with only valid allowlisted fields, or undefined when it is not a ping.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildPayload } from "@telemhq/claude-code";
 * const ping = await buildPayload({ hook_event_name: "Stop" }, { fallbackCwd: "/x", runtime: "deno/2.9.6" });
 * assert.deepEqual(checkPayload({ ...ping, model: "a\n/home/alice", extra: 1 }), ping);
 * assert.equal(checkPayload({ provider: "anthropic" }), undefined);
 * ```
 */
export function checkPayload(value: unknown): Payload | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const source = value as Record<string, unknown>;
  const checked: Record<string, unknown> = {};
  for (const field of PAYLOAD_FIELDS) {
    if (Object.hasOwn(source, field) && followsRule(source[field], PAYLOAD_RULES[field])) {
      checked[field] = source[field];
    }
  }
  // A project name that may not be sent is "unknown", as projectName() makes it: the ping itself still goes.
  if (typeof source.project === "string" && checked.project === undefined) checked.project = "unknown";
  return REQUIRED_FIELDS.every((field) => field in checked) ? checked as unknown as Payload : undefined;
}

/**
 * A model id as it may be sent: a plain id (see the rule above), else nothing.
 *
 * @param model A model id from a transcript.
 * @returns The id, or undefined when it is not a plain id.
 */
function plainModelId(model: string): string | undefined {
  return MODEL_PATTERN.test(model) ? model : undefined;
}

/**
 * A git branch as it may be sent, else nothing. `HEAD` is no branch: Claude
 * Code records it outside a repository and on a detached checkout.
 *
 * @param branch A branch name from a transcript.
 * @returns The name, or undefined.
 */
function plainBranch(branch: string): string | undefined {
  return BRANCH_PATTERN.test(branch) && branch !== "HEAD" ? branch : undefined;
}

/**
 * A copy of a payload with only the allowlisted fields, in their order: what
 * is serialized and sent, whatever else an object may have picked up.
 *
 * @param payload A ping.
 * @returns The same ping with nothing but {@linkcode PAYLOAD_FIELDS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const ping = { provider: "anthropic", extra: "x" } as unknown as Payload;
 * assert.deepEqual(allowlisted(ping), { provider: "anthropic" });
 * ```
 */
export function allowlisted(payload: Payload): Payload {
  const copy: Record<string, unknown> = {};
  for (const field of PAYLOAD_FIELDS) {
    if (payload[field] !== undefined) copy[field] = payload[field];
  }
  return copy as unknown as Payload;
}

// ---------------------------------------------------------------------------
// src/paths.ts
//
// Paths the way the platform the hook runs on reads them: POSIX paths on
// macOS and Linux, Windows paths (drive letters, backslashes, `\\?\` and UNC
// prefixes, names compared without case) on Windows. Every split, join,
// parent and containment check of a path from an event or the environment
// goes through here, so that a Windows `cwd` never leaves whole as a project
// name and a transcript check never fails on a backslash.
//
// Owns: `PathStyle`, `hostPlatform`, `hostPathStyle`, `isAbsolutePath`, `pathName`,
// `parentFolder`, `foldersAbove`, `isInsideFolder`, `samePath`, `homeDirectory`,
// `withoutTrailingSeparator`, `isNetworkPath`, `foldersToSearchUp`, `fileUrlPath`. Uses: nothing.

/** How a platform writes paths: `"windows"` on Windows, `"posix"` everywhere else. */
export type PathStyle = "posix" | "windows";

/**
 * The operating system this code runs on, as Node names it (`Deno.build.os`
 * under Deno, `process.platform` under Bun and Node): the one place that reads it.
 *
 * @returns `"darwin"`, `"linux"`, `"win32"`, ..., or `""` where it is unknown.
 */
function hostPlatform(): string {
  // Under Deno, Deno.build: touching the global `process` there starts Deno's whole Node layer (tens of ms).
  const os = (globalThis as { Deno?: { build?: { os?: unknown } } }).Deno?.build?.os;
  if (typeof os === "string") return os === "windows" ? "win32" : os;
  const platform = (globalThis as { process?: { platform?: unknown } }).process?.platform;
  return typeof platform === "string" ? platform : "";
}

/**
 * The path style of the system this code runs on (see {@linkcode hostPlatform});
 * anything but Windows is taken as POSIX.
 *
 * @returns `"windows"` on Windows, else `"posix"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(hostPathStyle(), Deno.build.os === "windows" ? "windows" : "posix");
 * ```
 */
export function hostPathStyle(): PathStyle {
  return hostPlatform() === "win32" ? "windows" : "posix";
}

/**
 * Whether a path is absolute on the platform: a folder named by a relative
 * path would be wherever the hook runs, a repository's own files, say. On
 * macOS and Linux `C:/x` is a folder named `C:` in the current one.
 *
 * @param path Any string.
 * @param style How the platform writes paths; the one this code runs on by default.
 * @returns True for `/x`; on Windows also for `C:\x`, `C:/x` and `\\server\share`.
 */
function isAbsolutePath(path: string, style: PathStyle = hostPathStyle()): boolean {
  if (style === "posix") return path.startsWith("/");
  return path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path) || /^[\\/]{2}/.test(path);
}

/**
 * Whether a path names another computer or a device rather than a file on
 * this one: on Windows `\\\\server\\share`, `//server/share`, `\\\\?\\UNC\\...`
 * and `\\\\.\\` device paths. Merely opening such a path makes Windows
 * connect to the server and offer the user's login (NTLM): a path from an
 * event that is one is never touched.
 *
 * @param path Any string.
 * @param style How the platform writes paths.
 * @returns True for a network or device path on Windows; always false on POSIX.
 */
function isNetworkPath(path: string, style: PathStyle): boolean {
  if (style === "posix" || !/^[\\/]{2}/.test(path)) return false;
  return !/^[\\/]{2}[?][\\/][A-Za-z]:[\\/]/.test(path);
}

/** A Windows path's anchor (`C:\`, `C:`, `\\server\share\`, `\`) and the rest, `\\?\` dropped. */
function splitWindowsAnchor(path: string): { anchor: string; rest: string } {
  let text = path.replaceAll("/", "\\");
  // The extended-length prefix: `\\?\C:\x` is `C:\x`, `\\?\UNC\server\share\x` is `\\server\share\x`.
  if (/^\\\\[?.]\\UNC\\/i.test(text)) text = `\\\\${text.slice(8)}`;
  else if (/^\\\\[?.]\\[A-Za-z]:/.test(text)) text = text.slice(4);
  const unc = text.match(/^\\\\[^\\]+\\[^\\]+(?:\\|$)/);
  if (unc) return { anchor: unc[0].endsWith("\\") ? unc[0] : `${unc[0]}\\`, rest: text.slice(unc[0].length) };
  // A server without a share (`\\server\`) is all anchor, as pathlib reads it.
  const server = text.match(/^\\\\[^\\]*\\$/);
  if (server) return { anchor: server[0], rest: "" };
  const drive = text.match(/^[A-Za-z]:\\?/) ?? text.match(/^\\/);
  return drive ? { anchor: drive[0], rest: text.slice(drive[0].length) } : { anchor: "", rest: text };
}

/** A path's anchor and its names, as Python's `pathlib` parses it (empty and `.` names dropped). */
function parsePath(path: string, style: PathStyle): { anchor: string; names: string[] } {
  if (style === "posix") {
    return {
      anchor: path.startsWith("/") ? "/" : "",
      names: path.split("/").filter((name) => name !== "" && name !== "."),
    };
  }
  const { anchor, rest } = splitWindowsAnchor(path);
  return { anchor, names: rest.split("\\").filter((name) => name !== "" && name !== ".") };
}

/**
 * A path's last name, as Python's `pathlib.Path(path).name` gives it on that
 * platform: on Windows `C:\Users\alice\src\api` gives `api`, never the path.
 *
 * @param path A path.
 * @param style The platform's path style (see {@linkcode hostPathStyle}).
 * @returns The last name, or `""` for a root (`/`, `C:\`, `\\server\share`) or an empty path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(pathName("/home/dev/api/", "posix"), "api");
 * assert.equal(pathName("C:\\Users\\alice\\src\\acme-api", "windows"), "acme-api");
 * assert.equal(pathName("C:\\", "windows"), "");
 * ```
 */
export function pathName(path: string, style: PathStyle): string {
  const { names } = parsePath(path, style);
  return names.length > 0 ? names[names.length - 1] : "";
}

/**
 * The folder a path is in, written with the platform's separator.
 *
 * @param path An absolute path.
 * @param style The platform's path style.
 * @returns The parent, or undefined for a root (it has none).
 */
function parentFolder(path: string, style: PathStyle): string | undefined {
  const { anchor, names } = parsePath(path, style);
  if (names.length === 0) return undefined;
  const separator = style === "windows" ? "\\" : "/";
  return anchor + names.slice(0, -1).join(separator) || (names.length === 1 && anchor === "" ? "." : anchor);
}

/**
 * The folders above a path, nearest first, its root last.
 *
 * @param path An absolute path.
 * @param style The platform's path style.
 * @returns The folders, or `[]` for a root.
 */
function foldersAbove(path: string, style: PathStyle): string[] {
  const folders: string[] = [];
  for (let folder = parentFolder(path, style); folder !== undefined; folder = parentFolder(folder, style)) {
    if (folder === ".") break;
    folders.push(folder);
  }
  return folders;
}

/** A path in one spelling for comparing: Windows paths with `\`, no `\\?\`, without case. */
function comparable(path: string, style: PathStyle): { anchor: string; names: string[] } {
  const parsed = parsePath(path, style);
  if (style === "posix") return parsed;
  return { anchor: parsed.anchor.toLowerCase(), names: parsed.names.map((name) => name.toLowerCase()) };
}

/**
 * Whether `path` is inside `folder` (strictly below it): on Windows without
 * regard to case, slashes or a `\\?\` prefix, as Windows itself compares. Both
 * must be absolute and already resolved (no `..`): a `..` name is never inside.
 *
 * @param path The path to check.
 * @param folder The folder it must be in.
 * @param style The platform's path style.
 * @returns True when `path` is below `folder`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(isInsideFolder("/h/.claude/projects/p/s.jsonl", "/h/.claude/projects", "posix"), true);
 * assert.equal(isInsideFolder("/h/.claude/projects-old/s.jsonl", "/h/.claude/projects", "posix"), false);
 * assert.equal(isInsideFolder("\\\\?\\C:\\Users\\A\\.claude\\projects\\p\\s.jsonl", "c:\\users\\a\\.claude\\projects", "windows"), true);
 * ```
 */
export function isInsideFolder(path: string, folder: string, style: PathStyle): boolean {
  if (!isAbsolutePath(path, style) || !isAbsolutePath(folder, style)) return false;
  const inner = comparable(path, style);
  const outer = comparable(folder, style);
  if (inner.anchor !== outer.anchor || inner.names.length <= outer.names.length) return false;
  if (inner.names.includes("..")) return false;
  return outer.names.every((name, index) => inner.names[index] === name);
}

/**
 * Whether two absolute paths name the same place (on Windows without regard
 * to case, slashes or a `\\?\` prefix).
 *
 * @param left A path.
 * @param right Another.
 * @param style The platform's path style.
 * @returns True when they are the same.
 */
function samePath(left: string, right: string, style: PathStyle): boolean {
  const a = comparable(left, style);
  const b = comparable(right, style);
  return a.anchor === b.anchor && a.names.length === b.names.length && a.names.every((name, i) => name === b.names[i]);
}

/**
 * The user's home folder, as Claude Code finds it (Node's `os.homedir()`):
 * `HOME` on macOS and Linux; on Windows `USERPROFILE`, else `HOME`, else
 * `HOMEDRIVE` + `HOMEPATH`. Only an absolute path counts.
 *
 * @param env Looks up an environment variable.
 * @param style The platform's path style.
 * @returns The folder without a trailing separator, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(homeDirectory((name) => ({ HOME: "/home/me/" })[name], "posix"), "/home/me");
 * assert.equal(homeDirectory((name) => ({ USERPROFILE: "C:\\Users\\me" })[name], "windows"), "C:\\Users\\me");
 * ```
 */
export function homeDirectory(env: (name: string) => string | undefined, style: PathStyle): string | undefined {
  const candidates = style === "windows"
    ? [env("USERPROFILE"), env("HOME"), `${env("HOMEDRIVE") ?? ""}${env("HOMEPATH") ?? ""}`]
    : [env("HOME")];
  for (const candidate of candidates) {
    const home = candidate?.trim();
    if (home && isAbsolutePath(home, style)) return withoutTrailingSeparator(home, style);
  }
  return undefined;
}

/**
 * A path without the separators it ends with, a root kept whole.
 *
 * @param path An absolute path.
 * @param style The platform's path style: only Windows takes `\` for a separator.
 * @returns `/a/b` for `/a/b/`, `C:\` for `C:\`.
 */
function withoutTrailingSeparator(path: string, style: PathStyle): string {
  const trimmed = path.replace(style === "windows" ? /[\\/]+$/ : /\/+$/, "");
  if (trimmed === "") return path.slice(0, 1);
  return style === "windows" && /^[A-Za-z]:$/.test(trimmed) ? path.slice(0, 3) : trimmed;
}

/**
 * The folders to look in for a repository (`.git`) or a project's settings,
 * from `dir` up. On Windows, where no owner can be checked, never a drive's
 * root (any user may create `C:\\.git` there) nor above the user's profile
 * when `dir` is inside it, and nothing at all for a network path.
 *
 * @param dir An absolute folder.
 * @param style How the platform writes paths.
 * @param home The user's home folder, when known.
 * @returns The folders, `dir` first.
 */
function foldersToSearchUp(dir: string, style: PathStyle, home: string | undefined): string[] {
  if (!isAbsolutePath(dir, style) || isNetworkPath(dir, style)) return [];
  const folders = [withoutTrailingSeparator(dir, style), ...foldersAbove(dir, style)];
  if (style === "posix") return folders;
  const inHome = home !== undefined && (samePath(dir, home, style) || isInsideFolder(dir, home, style));
  return folders.filter((folder) =>
    parsePath(folder, style).names.length > 0 &&
    (!inHome || samePath(folder, home!, style) || isInsideFolder(folder, home!, style))
  );
}

/**
 * The path a `file:` URL names, as the platform writes it: on Windows
 * `file:///C:/Users/me/hook.ts` is `C:\\Users\\me\\hook.ts` (its URL path,
 * `/C:/Users/...`, is no path Windows can open).
 *
 * @param url A `file:` URL.
 * @param style How the platform writes paths; the one this code runs on by default.
 * @returns The path.
 */
function fileUrlPath(url: URL, style: PathStyle = hostPathStyle()): string {
  const path = decodeURIComponent(url.pathname);
  if (style === "posix") return path;
  if (/^\/[A-Za-z]:\//.test(path)) return path.slice(1).replaceAll("/", "\\");
  return url.host === "" ? path.replaceAll("/", "\\") : `\\\\${url.host}${path.replaceAll("/", "\\")}`;
}

// ---------------------------------------------------------------------------
// src/payload.ts
//
// Building the ping: fills the allowlisted fields from an event, checking
// each value's type and shape. Prompts, tool input and output, error text,
// assistant text and paths are never copied: paths are hashed (with the
// team's salt, if set), the assistant's message is counted.
//
// Owns: `buildPayload`, `pingId`, the project name and the path hashes.
// Uses: input, events, sha256, fields, paths.

/** Version of this hook, sent in every ping as `hook_version`. */
export const HOOK_VERSION = "0.1.0";

/**
 * Hashes a string the way the reference script does: the first 12 hex digits
 * of the SHA-256 of its UTF-8 bytes.
 *
 * @param value The string to hash, for example a path.
 * @param sha256Hex The SHA-256 to use; Web Crypto's by default.
 * @returns 12 lowercase hex digits.
 */
async function shortHash(value: string, sha256Hex: Sha256Hex = webCryptoSha256Hex): Promise<string> {
  return (await sha256Hex(value)).slice(0, 12);
}

/** A path's hash: the reference script's, or with the team's salt mixed in (so a receiver cannot confirm a guess). */
function pathHash(path: string, sha256Hex: Sha256Hex, salt: string | undefined): Promise<string> {
  return shortHash(salt === undefined ? path : `${salt}\u0000${path}`, sha256Hex);
}

/**
 * Counts the Unicode code points of a string, as Python's `len()` does.
 * A JavaScript string's `length` counts UTF-16 units, so a character outside
 * the Basic Multilingual Plane (an emoji) counts twice there.
 *
 * @param text Any string; lone surrogates count as one each, as in Python.
 * @returns The number of code points.
 */
function countCodePoints(text: string): number {
  let pairs = 0;
  for (let i = 0; i < text.length - 1; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        pairs++;
        i++;
      }
    }
  }
  return text.length - pairs;
}

/**
 * The project name the reference script sends: the last component of the
 * working directory, as Python's `pathlib.Path(cwd).name` gives it on the
 * platform the hook runs on (on Windows `C:\\Users\\alice\\src\\api` gives
 * `api`: no user name or parent folder leaves), or `"unknown"`.
 *
 * @param cwd The working directory.
 * @param style How the platform writes paths; the one this code runs on by default.
 * @returns Its last component (at most 255 characters), or `"unknown"` for a root, `.`, and a name that may not
 *   be sent (see {@linkcode PROJECT_PATTERN}: a Windows path read on another system, control characters).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(projectName("/home/dev/projects/api/", "posix"), "api");
 * assert.equal(projectName("C:\\Users\\alice\\src\\acme-api", "windows"), "acme-api");
 * assert.equal(projectName("C:\\Users\\alice\\src\\acme-api", "posix"), "unknown"); // never a whole path
 * ```
 */
export function projectName(cwd: string, style: PathStyle = hostPathStyle()): string {
  const name = pathName(cwd, style);
  // Cut by characters, not UTF-16 units: a cut pair would be a lone surrogate, which is never sent.
  const clipped = name.length > MAX_PROJECT_CHARS ? [...name].slice(0, MAX_PROJECT_CHARS).join("") : name;
  return PROJECT_PATTERN.test(clipped) ? clipped : "unknown";
}

/** Python's truthiness of a parsed JSON value, for the reference script's `event.get("error")`. */
function isTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value !== null && typeof value === "object") return Object.keys(value).length > 0;
  return Boolean(value);
}

/**
 * A non-empty string field of an event, or undefined.
 *
 * @param input The event.
 * @param key The field.
 * @returns The string, unchecked beyond its type: never send it as is.
 */
function stringField(input: HookInput, key: string): string | undefined {
  const value = input[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * A field that must be a machine token (an id, a tool name, an agent type, a
 * mode), or undefined.
 *
 * @param input The event.
 * @param key The field.
 * @param shape The token's shape: {@linkcode TOKEN_PATTERN} by default.
 * @returns The token, when it has that shape.
 */
function tokenField(input: HookInput, key: string, shape: RegExp = TOKEN_PATTERN): string | undefined {
  const value = stringField(input, key);
  return value !== undefined && shape.test(value) ? value : undefined;
}

function enumField(input: HookInput, key: keyof typeof ENUM_FIELDS): string | undefined {
  const value = stringField(input, key);
  return value !== undefined && ENUM_FIELDS[key].has(value) ? value : undefined;
}

function booleanField(input: HookInput, key: string): boolean | undefined {
  const value = input[key];
  return typeof value === "boolean" ? value : undefined;
}

function countField(input: HookInput, key: string): number | undefined {
  const value = input[key];
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
}

/**
 * The event's name when it has the shape of one, else `"ClaudeCode"` (as the reference script).
 *
 * @param input The event.
 * @returns The name.
 */
function eventName(input: HookInput): string {
  const value = input.hook_event_name;
  return typeof value === "string" && EVENT_NAME_PATTERN.test(value) ? value : "ClaudeCode";
}

/**
 * Derives the stable id of the ping for an event: the same event, fired twice
 * or retried, gets the same id, so a receiver can drop the duplicate.
 *
 * The key is the session, the event name and the most specific id the event
 * has: the tool call (`tool_use_id`; a PostToolBatch's first call), the
 * subagent (`agent_id`), or the prompt for events that fire once per prompt;
 * SessionEnd adds its last prompt and reason. Events without such an id
 * (older Claude Code sends no `prompt_id`)
 * (SessionStart, Notification, ...) add their kind and the second they
 * occurred in.
 *
 * @param input The hook event.
 * @param occurredAt When the hook received the event.
 * @param sha256Hex The SHA-256 to use; Web Crypto's by default.
 * @returns 32 lowercase hex digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const event = { session_id: "s1", hook_event_name: "Stop", prompt_id: "p1" };
 * assert.equal(await pingId(event, new Date(0)), await pingId(event, new Date()));
 * ```
 */
export async function pingId(
  input: HookInput,
  occurredAt: Date,
  sha256Hex: Sha256Hex = webCryptoSha256Hex,
): Promise<string> {
  const event = eventName(input);
  const parts = [tokenField(input, "session_id") ?? "", event];
  const callId = tokenField(input, "tool_use_id") ?? tokenField(input, "agent_id") ?? firstBatchCallId(input);
  const promptId = tokenField(input, "prompt_id");
  if (callId !== undefined) {
    parts.push(callId);
  } else if (promptId !== undefined && eventRule(event).oncePerPrompt && input.stop_hook_active !== true) {
    parts.push(promptId);
    const task = taskNotificationKey(input);
    if (task !== undefined) parts.push(task);
  } else if (promptId !== undefined && eventRule(event).oncePerSession) {
    // No clock in the id: two hooks given the same event a second apart (both routes wired) must agree.
    parts.push(promptId, enumField(input, "reason") ?? "");
  } else {
    parts.push(
      promptId ?? "",
      enumField(input, "source") ?? enumField(input, "reason") ?? enumField(input, "trigger") ?? "",
      String(Math.floor(occurredAt.getTime() / 1000)),
    );
  }
  return (await sha256Hex(parts.join("\u0000"))).slice(0, 32);
}

/**
 * A background agent's report reaches the model as a second `UserPromptSubmit` under the prompt that started it (same
 * `prompt_id`, the prompt a `<task-notification>`): its task id (the agent id, sent with `SubagentStart` anyway) and
 * status tell it apart from the prompt itself. Nothing else of the prompt is read, and this goes only into a hash.
 */
function taskNotificationKey(input: HookInput): string | undefined {
  const prompt = input.prompt;
  if (typeof prompt !== "string" || !prompt.startsWith("<task-notification>")) return undefined;
  const head = prompt.slice(0, 1024);
  const id = /<task-id>([^<]{1,128})<\/task-id>/.exec(head)?.[1];
  const status = /<status>([a-z_]{1,32})<\/status>/.exec(head)?.[1] ?? "";
  return `task\u0001${id !== undefined && TOKEN_PATTERN.test(id) ? id : ""}\u0001${status}`;
}

/** A PostToolBatch event is identified by the first tool call it reports. */
function firstBatchCallId(input: HookInput): string | undefined {
  const calls = input.tool_calls;
  const first: unknown = Array.isArray(calls) ? calls[0] : undefined;
  return first !== null && typeof first === "object" ? tokenField(first as HookInput, "tool_use_id") : undefined;
}

/** What {@linkcode buildPayload} needs besides the event. */
export interface PayloadContext {
  /** The working directory to use when the event has no `cwd`. */
  fallbackCwd: string;
  /** The runtime sent as `runtime`, for example `"bun/1.4.5"`. */
  runtime: string;
  /** When the hook received the event; defaults to now. */
  occurredAt?: Date;
  /** The SHA-256 to hash paths and ids with; Web Crypto's by default. */
  sha256Hex?: Sha256Hex;
  /** A secret salt for the path hashes (`TELEMHQ_HASH_SALT`); without it they equal the reference script's. */
  hashSalt?: string;
  /** The repository's `owner/name` (see {@linkcode readGitRepo}), for events that carry it. */
  gitRepo?: string;
  /** The member label the user set, if any. */
  member?: string;
  /** How the event's paths are written: the platform this code runs on by default. */
  pathStyle?: PathStyle;
  /** The user's home folder: a session started there goes out as project `"~"`, not the folder's name (theirs). */
  homeDir?: string;
}

/**
 * Builds the ping for a hook event from an allowlist of fields. The first
 * thirteen fields carry exactly what the TelemHQ reference script sends, except
 * `error`, which goes out only as a StopFailure error code. Prompts, tool input
 * and output, error text, assistant text and paths are never copied: paths are
 * hashed, the assistant's message is counted.
 *
 * @param input The hook event, as parsed from stdin.
 * @param context The fallback working directory and the runtime name.
 * @returns The payload to send.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const payload = await buildPayload(
 *   { hook_event_name: "Stop", session_id: "s1", cwd: "/home/dev/api", prompt: "never sent" },
 *   { fallbackCwd: "/", runtime: "deno/2.9.6" },
 * );
 * assert.equal(payload.project, "api");
 * assert.ok(!JSON.stringify(payload).includes("never sent"));
 * ```
 */
export async function buildPayload(input: HookInput, context: PayloadContext): Promise<Payload> {
  const occurredAt = context.occurredAt ?? new Date();
  const hash = context.sha256Hex ?? webCryptoSha256Hex;
  const event = eventName(input);
  const cwd = stringField(input, "cwd") ?? context.fallbackCwd;
  const transcriptPath = stringField(input, "transcript_path");
  const error = stringField(input, "error");
  const lastMessage = input.last_assistant_message;
  const toolCalls = input.tool_calls;

  const payload: Payload = {
    provider: "anthropic",
    tool: "claude-code",
    status: FAILED_EVENTS.has(event) || isTruthy(input.error) ? "failed" : "success",
    event,
    project: atHome(cwd, context) ? "~" : projectName(cwd, context.pathStyle),
    session_id: tokenField(input, "session_id"),
    tool_name: tokenField(input, "tool_name"),
    tool_use_id: tokenField(input, "tool_use_id"),
    permission_mode: tokenField(input, "permission_mode", MODE_PATTERN),
    cwd_hash: cwd === "" ? undefined : await pathHash(cwd, hash, context.hashSalt),
    transcript_path_hash: transcriptPath === undefined
      ? undefined
      : await pathHash(transcriptPath, hash, context.hashSalt),
    error: error !== undefined && STOP_FAILURE_ERRORS.has(error) ? error : undefined,
    last_assistant_message_chars: typeof lastMessage === "string" ? countCodePoints(lastMessage) : undefined,
    ping_id: await pingId(input, occurredAt, hash),
    prompt_id: tokenField(input, "prompt_id"),
    agent_id: tokenField(input, "agent_id"),
    agent_type: tokenField(input, "agent_type"),
    duration_ms: countField(input, "duration_ms"),
    is_interrupt: booleanField(input, "is_interrupt"),
    stop_hook_active: booleanField(input, "stop_hook_active"),
    source: enumField(input, "source"),
    reason: enumField(input, "reason"),
    trigger: enumField(input, "trigger"),
    tool_calls: Array.isArray(toolCalls) ? toolCalls.length : undefined,
    git_repo: context.gitRepo !== undefined && GIT_REPO_PATTERN.test(context.gitRepo) ? context.gitRepo : undefined,
    occurred_at: occurredAt.toISOString(),
    hook_version: HOOK_VERSION,
    runtime: context.runtime,
    member: context.member !== undefined && MEMBER_PATTERN.test(context.member) ? context.member : undefined,
  };
  return omitUndefined(payload);
}

/**
 * Removes the keys whose value is undefined, in place: they would not be sent anyway.
 *
 * @param value An object.
 * @returns The same object.
 */
function omitUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}

/** Whether the working directory is the user's home folder, whose name is the user's own. */
function atHome(cwd: string, context: PayloadContext): boolean {
  return context.homeDir !== undefined && samePath(cwd, context.homeDir, context.pathStyle ?? hostPathStyle());
}

// ---------------------------------------------------------------------------
// src/runtime.ts
//
// What the hook needs from the runtime that runs it, as one interface
// ({@linkcode Runtime}), and the small helpers every adapter shares. The
// adapters themselves live one per runtime (`runtime_deno.ts`,
// `runtime_process.ts` for Bun and Node); `runtime_detect.ts` picks one.
// Everything off the hook's hot path reads and writes files through
// `node:fs/promises`, loaded here (see the file layer in `files.ts`).
//
// Owns: the `Runtime` interface, `nodeFs`, what a started process may not
// inherit, the adapters' shared helpers. Uses: paths, sha256.

/**
 * Environment variables that make a runtime load or run code, or drop TLS
 * checks, which a repository's settings (`env`) could set for every hook:
 * never passed to a process the hook starts (the launcher drops them too).
 */
export const UNSAFE_ENV_NAMES: readonly string[] = [
  "NODE_OPTIONS",
  "NODE_COMPILE_CACHE",
  "NODE_REPL_EXTERNAL_MODULE",
  "NODE_TLS_REJECT_UNAUTHORIZED",
  "BUN_OPTIONS",
  "BUN_RUNTIME_TRANSPILER_CACHE_PATH",
  // Bun's inspector: with BUN_INSPECT set, BUN_INSPECT_PRELOAD runs a script before the hook.
  "BUN_INSPECT",
  "BUN_INSPECT_PRELOAD",
  "BUN_INSPECT_CONNECT_TO",
  "DENO_DIR",
  // Where Deno and Bun keep compiled code unless told otherwise.
  "XDG_CACHE_HOME",
];

/** An environment without {@linkcode UNSAFE_ENV_NAMES}. */
function safeEnvironment(env: Record<string, string | undefined>): Record<string, string> {
  const safe: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !UNSAFE_ENV_NAMES.includes(name)) safe[name] = value;
  }
  return safe;
}

/** The runtimes the hook runs under. */
export type RuntimeKind = "deno" | "bun" | "node";

/** Node's promise-based file API (`node:fs/promises`), which Deno, Bun and Node all provide. */
export type FsPromises = typeof import("node:fs/promises");

/** What `lstat` says of a path: never about what a symlink points to. */
export interface FileFacts {
  /** What is at the path itself. */
  kind: "file" | "directory" | "symlink" | "other";
  /** Its owner's user id. */
  uid: number;
  /** Its permission bits (`0o777` and the sticky, setuid and setgid bits). */
  mode: number;
  /** Its modification time, in milliseconds. */
  mtimeMs: number;
  /** Its size in bytes. */
  size: number;
}

/** What the hook needs from the runtime that runs it. */
export interface Runtime {
  /** Which runtime this is. */
  readonly kind: RuntimeKind;
  /** For example `"deno/2.9.6"`: sent in every ping as `runtime`. */
  readonly name: string;
  /** The runtime's own binary. */
  readonly execPath: string;
  /** The script this code runs from, when it is a local file (hook.ts, or the npm build's bundle). */
  readonly scriptPath: string | undefined;
  /** Command-line arguments after the script. */
  readonly args: readonly string[];
  /** An environment variable, or undefined when unset or not permitted. */
  env(name: string): string | undefined;
  /** The process's working directory, or `""` when not permitted. */
  cwd(): string;
  /** Changes the working directory; false when it cannot. */
  chdir(path: string): boolean;
  /** The process's stdin as a byte stream. */
  stdin(): AsyncIterable<Uint8Array>;
  /** SHA-256 as hex, by the cheapest means this runtime has. */
  sha256Hex: Sha256Hex;
  /** The full file API, loaded on first use (off the hook's hot path). */
  fs(): Promise<FsPromises>;
  /** This process's user id; undefined where the system has none (Windows). */
  uid(): number | undefined;
  /** What is at a path, without following a symlink there; undefined when nothing is (or it cannot be seen). */
  lstat(path: string): Promise<FileFacts | undefined>;
  /** A path with every symlink in it resolved; undefined when it does not exist (or cannot be seen). */
  realpath(path: string): Promise<string | undefined>;
  /**
   * Creates a file readable by this user only (0600), only if nothing exists at `path`, so never
   * through a symlink: true when created, false when something exists; rejects on other errors. A file
   * whose write failed (a full disk) is removed before it rejects: nothing half-written is left.
   */
  createPrivateFile(path: string, text: string): Promise<boolean>;
  /** Removes a file (a symlink itself, never what it points to); rejects when it cannot. */
  removeFile(path: string): Promise<void>;
  /** Creates a directory and its parents, readable by this user only (0700). */
  makePrivateDirectory(path: string): Promise<void>;
  /** A file's text, or undefined when it cannot be read. */
  readTextFile(path: string): Promise<string | undefined>;
  /**
   * Starts a process in its own session with stdio closed, from `/` (so that no configuration of the folder
   * this process runs in applies) and without {@linkcode UNSAFE_ENV_NAMES}; resolves once it is started.
   */
  startDetached(argv: readonly string[]): Promise<void>;
  /** Whether this process may look at `path` at all: Deno's narrow `--allow-read` may say no. */
  mayInspect(path: string): boolean;
  /** Whether this process may reach `host` (`host:port`), or any host when none is given: Deno's flags may say no. */
  mayReach(host?: string): boolean;
  /** The Deno permissions a command needs and this process was not granted; empty under Bun and Node. */
  missingPermissions(): string[];
  /** A way to write to the terminal when stdout is one (for progress lines); undefined otherwise. */
  terminal(): { write(text: string): void } | undefined;
  /**
   * Ends the process on SIGTERM and SIGHUP, whatever it inherited: the fast path starts the hook with both
   * ignored (so that Claude Code's teardown cannot kill it before it has spooled), and a process it starts
   * (the sender) must still be easy to stop.
   */
  exitOnTermination(): void;
  /** Calls `handler` on SIGINT (Ctrl-C) instead of exiting: a command that holds the sender's lock lets it go first. */
  onInterrupt(handler: () => void): void;
  /** Ends the process. */
  exit(code: number): never;
}

/** Node's synchronous file API (`node:fs`): the hot path's, under Bun and Node. */
type NodeFsSync = typeof import("node:fs");

/** A built-in module: synchronously where the runtime hands them out (Node 20.16+, Bun), else by import(). */
function builtin<T>(id: string, load: () => Promise<T>): Promise<T> {
  const module = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process?.getBuiltinModule?.(
    id,
  );
  return module !== undefined ? Promise.resolve(module as T) : load();
}

let fsModule: Promise<FsPromises> | undefined;

/**
 * `node:fs/promises`, loaded once: the file API of everything off the hook's
 * hot path (the sender, the usage reader, the commands).
 *
 * @returns The module.
 */
function nodeFs(): Promise<FsPromises> {
  return fsModule ??= builtin("node:fs/promises", () => import("node:fs/promises"));
}

let syncFsModule: Promise<NodeFsSync> | undefined;

function nodeFsSync(): Promise<NodeFsSync> {
  return syncFsModule ??= builtin("node:fs", () => import("node:fs"));
}

/**
 * Reads a synchronous reader to its end, in chunks: small first (an event is a few KiB, and a large buffer costs
 * its allocation on every event), larger as more comes.
 */
async function* readSyncChunks(
  reader: { readSync(buffer: Uint8Array): number | null },
): AsyncIterable<Uint8Array> {
  for (let size = 1 << 16;; size = Math.min(size * 4, 1 << 22)) {
    const buffer = new Uint8Array(size);
    const count = reader.readSync(buffer);
    if (count === null) return;
    yield buffer.subarray(0, count);
  }
}

/** The path of this script when it runs from a local file: in the assembled hook.ts, hook.ts itself. */
function thisScriptPath(): string | undefined {
  const url = new URL(import.meta.url);
  return url.protocol === "file:" ? fileUrlPath(url) : undefined;
}

/** Runs a synchronous action as a promise: its result resolves it, its exception rejects it. */
function settle<T>(action: () => T): Promise<T> {
  return new Promise((resolve) => resolve(action()));
}

/**
 * Waits.
 *
 * @param ms Milliseconds.
 * @returns A promise resolved after `ms`.
 */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs an action; its exception gives `fallback` instead. */
function attempt<T>(action: () => T, fallback: T): T {
  try {
    return action();
  } catch {
    return fallback;
  }
}

/**
 * Writes a file this process just created, and closes it; when the write fails (a full disk), the
 * file goes too, so that nothing half-written is ever taken for a spooled ping or a held lock.
 * Only a file this process created exclusively is removed: never one another process made.
 */
function writeWholeOrRemove(write: () => void, close: () => void, remove: () => void): void {
  try {
    write();
  } catch (error) {
    attempt(close, undefined);
    attempt(remove, undefined);
    throw error;
  }
  close();
}

/** Whether an error says that something already exists at the path. */
function isAlreadyExists(error: unknown): boolean {
  return (error as { code?: unknown }).code === "EEXIST" || (error as Error).name === "AlreadyExists";
}

/** Node's and Bun's lstat, as {@linkcode FileFacts}. */
function factsOf(stat: import("node:fs").Stats): FileFacts {
  const kind = stat.isSymbolicLink() ? "symlink" : stat.isDirectory() ? "directory" : stat.isFile() ? "file" : "other";
  return { kind, uid: stat.uid, mode: stat.mode & 0o7777, mtimeMs: stat.mtimeMs, size: stat.size };
}

// ---------------------------------------------------------------------------
// src/runtime_deno.ts
//
// The Deno adapter: Deno's own synchronous calls on the hook's hot path (its
// async ops and stdin stream cost 3-7 ms each to set up, and `node:fs` about
// 35 ms to load), its permission checks, and running a program without Deno's
// `node:child_process` rewriting.
//
// Owns: `denoRuntime`, `runQuietlyUnderDeno`, Deno's permission questions.
// Uses: sha256, runtime.

interface DenoStat {
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
  uid: number | null;
  mode: number | null;
  mtime: Date | null;
  size: number;
}

/** The part of the `Deno` global the adapter uses. */
interface DenoLike {
  version: { deno: string };
  args: string[];
  env: { get(name: string): string | undefined; toObject(): Record<string, string> };
  cwd(): string;
  chdir(path: string): void;
  execPath(): string;
  uid(): number | null;
  stdin: { readSync(buffer: Uint8Array): number | null };
  openSync(
    path: string,
    options: { write: true; createNew: true; mode: number },
  ): { writeSync(data: Uint8Array): number; close(): void };
  removeSync(path: string): void;
  mkdirSync(path: string, options: { recursive: boolean; mode: number }): void;
  lstatSync(path: string): DenoStat;
  readTextFileSync(path: string): string;
  realPathSync(path: string): string;
  permissions: { querySync(descriptor: { name: string; host?: string; variable?: string }): { state: string } };
  stdout: { isTerminal(): boolean; writeSync(data: Uint8Array): number };
  addSignalListener(signal: string, handler: () => void): void;
  Command: new (command: string, options: Record<string, unknown>) => {
    spawn(): {
      unref(): void;
      kill(signal: string): void;
      output(): Promise<{ code: number; signal: string | null; stdout: Uint8Array }>;
    };
  };
  exit(code: number): never;
}

/**
 * What a Deno command cannot do without: reading HOME. Without it every answer would be
 * wrong ("no ping URL", "HOME is not set"); the rest is reported by what fails.
 */
const DENO_NEEDS: readonly { name: string; variable?: string }[] = [{ name: "env", variable: "HOME" }];

/** Adapts Deno to {@linkcode Runtime}. */
function denoRuntime(deno: DenoLike): Runtime {
  const granted = (descriptor: { name: string; host?: string; variable?: string; path?: string }) =>
    attempt(() => deno.permissions.querySync(descriptor).state === "granted", false);
  return {
    kind: "deno",
    name: `deno/${deno.version.deno}`,
    execPath: deno.execPath(),
    scriptPath: thisScriptPath(),
    args: deno.args,
    env: (name) => attempt(() => deno.env.get(name), undefined),
    cwd: () => attempt(() => deno.cwd(), ""),
    chdir: (path) => attempt(() => (deno.chdir(path), true), false),
    // Deno's synchronous calls: its async ops and stdin stream cost 3-7 ms each to set up.
    stdin: () => readSyncChunks(deno.stdin),
    // Deno's Web Crypto is native: measured in the hook (22 events each), building the payload takes 0.3 ms less
    // than with the plain JavaScript hash, which only Node needs.
    sha256Hex: webCryptoSha256Hex,
    fs: nodeFs,
    uid: () => attempt(() => deno.uid() ?? undefined, undefined),
    lstat: (path) =>
      settle(() =>
        attempt(() => {
          const stat = deno.lstatSync(path);
          const kind = stat.isSymlink ? "symlink" : stat.isDirectory ? "directory" : stat.isFile ? "file" : "other";
          return {
            kind,
            uid: stat.uid ?? -1,
            mode: (stat.mode ?? 0) & 0o7777,
            mtimeMs: stat.mtime?.getTime() ?? 0,
            size: stat.size,
          } satisfies FileFacts;
        }, undefined)
      ),
    realpath: (path) => settle(() => attempt(() => deno.realPathSync(path), undefined)),
    // createNew is O_CREAT|O_EXCL: it fails on anything at the path, a symlink included.
    createPrivateFile: (path, text) =>
      settle(() => {
        let file: { writeSync(data: Uint8Array): number; close(): void };
        try {
          file = deno.openSync(path, { write: true, createNew: true, mode: 0o600 });
        } catch (error) {
          if (isAlreadyExists(error)) return false;
          throw error;
        }
        writeWholeOrRemove(
          () => {
            const bytes = new TextEncoder().encode(text);
            for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
          },
          () => file.close(),
          () => deno.removeSync(path),
        );
        return true;
      }),
    removeFile: (path) => settle(() => deno.removeSync(path)),
    makePrivateDirectory: (path) => settle(() => deno.mkdirSync(path, { recursive: true, mode: 0o700 })),
    readTextFile: (path) => settle(() => attempt(() => deno.readTextFileSync(path), undefined)),
    startDetached: (argv) =>
      settle(() => {
        const quiet = { stdin: "null", stdout: "null", stderr: "null", detached: true, cwd: "/" };
        // Narrowed to a few variables (the launcher started it, without the unsafe ones), the environment passes
        // as it is; with all of it readable, it passes without them.
        const env = granted({ name: "env" }) ? { clearEnv: true, env: safeEnvironment(deno.env.toObject()) } : {};
        new deno.Command(argv[0], { args: argv.slice(1), ...quiet, ...env }).spawn().unref();
      }),
    mayInspect: (path) => granted({ name: "read", path }),
    mayReach: (host) => granted(host === undefined ? { name: "net" } : { name: "net", host }),
    missingPermissions: () => DENO_NEEDS.filter((need) => !granted(need)).map((need) => need.name),
    terminal: () =>
      attempt(() => deno.stdout.isTerminal(), false)
        ? { write: (text) => void deno.stdout.writeSync(new TextEncoder().encode(text)) }
        : undefined,
    exitOnTermination: () => {
      deno.addSignalListener("SIGTERM", () => deno.exit(143));
      deno.addSignalListener("SIGHUP", () => deno.exit(129));
    },
    onInterrupt: (handler) => deno.addSignalListener("SIGINT", handler),
    exit: (code) => deno.exit(code),
  };
}

/** {@linkcode runQuietly} under Deno: see there. */
async function runQuietlyUnderDeno(
  deno: DenoLike,
  argv: readonly string[],
  timeoutMs: number,
  env?: Record<string, string>,
): Promise<{ code: number; stdout: string } | undefined> {
  let child;
  try {
    // From "/": a version manager's shim picks its program by the folder it runs in, never a repository's.
    const options = { args: argv.slice(1), cwd: "/", stdin: "null", stdout: "piped", stderr: "null" };
    child = new deno.Command(argv[0], env === undefined ? options : { ...options, env, clearEnv: true }).spawn();
  } catch {
    return undefined;
  }
  let timedOut = false;
  // SIGKILL at the limit: a program that ignores SIGTERM must not hold a command up.
  const timer = setTimeout(() => {
    timedOut = true;
    attempt(() => child.kill("SIGKILL"), undefined);
  }, timeoutMs);
  try {
    const output = await child.output();
    if (timedOut || output.signal !== null) return undefined;
    return { code: output.code, stdout: new TextDecoder().decode(output.stdout.subarray(0, 1 << 20)) };
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------
// src/runtime_process.ts
//
// The Bun and Node adapters: both are `process`, and both use `node:fs`'s
// synchronous calls on the hook's hot path; each reads stdin and hashes by
// its own cheapest means.
//
// Owns: `bunRuntime`, `nodeRuntime`, `runQuietlyUnderNode`. Uses: sha256,
// runtime.

/** The part of the `Bun` global the adapter uses. */
interface BunLike {
  stdin: { stream(): AsyncIterable<Uint8Array> };
  file(path: string): { text(): Promise<string> };
  spawn(argv: readonly string[], options: Record<string, unknown>): { unref(): void };
  CryptoHasher: new (algorithm: "sha256") => { update(text: string): { digest(encoding: "hex"): string } };
}

/** The part of Node's and Bun's `process` the adapters use. */
interface ProcessLike {
  stdout: { isTTY?: boolean; write(text: string): boolean };
  on(signal: string, handler: () => void): void;
  getBuiltinModule?(id: string): unknown;
  versions: Record<string, string | undefined>;
  argv: string[];
  execPath: string;
  env: Record<string, string | undefined>;
  cwd(): string;
  chdir(path: string): void;
  getuid?(): number;
  exit(code: number): never;
}

/** What Bun and Node share: both are `process`, and both have node:fs on the hot path. */
function processBasics(process: ProcessLike) {
  return {
    execPath: process.execPath,
    scriptPath: thisScriptPath(),
    args: process.argv.slice(2),
    env: (name: string) => process.env[name],
    cwd: () => attempt(() => process.cwd(), ""),
    chdir: (path: string) => attempt(() => (process.chdir(path), true), false),
    fs: nodeFs,
    uid: () => process.getuid?.(),
    lstat: async (path: string) => {
      const fs = await nodeFsSync();
      return attempt(() => factsOf(fs.lstatSync(path)), undefined);
    },
    realpath: async (path: string) => {
      const fs = await nodeFsSync();
      return attempt(() => fs.realpathSync(path), undefined);
    },
    // "wx" is O_CREAT|O_EXCL: it fails on anything at the path, a symlink included.
    createPrivateFile: async (path: string, text: string) => {
      const fs = await nodeFsSync();
      let fd: number;
      try {
        fd = fs.openSync(path, "wx", 0o600);
      } catch (error) {
        if (isAlreadyExists(error)) return false;
        throw error;
      }
      writeWholeOrRemove(() => fs.writeFileSync(fd, text), () => fs.closeSync(fd), () => fs.unlinkSync(path));
      return true;
    },
    removeFile: async (path: string) => (await nodeFsSync()).unlinkSync(path),
    makePrivateDirectory: async (path: string) => {
      (await nodeFsSync()).mkdirSync(path, { recursive: true, mode: 0o700 });
    },
    mayInspect: () => true,
    mayReach: () => true,
    missingPermissions: () => [],
    terminal: () => process.stdout.isTTY ? { write: (text: string) => void process.stdout.write(text) } : undefined,
    exitOnTermination: () => {
      process.on("SIGTERM", () => process.exit(143));
      process.on("SIGHUP", () => process.exit(129));
    },
    onInterrupt: (handler: () => void) => void process.on("SIGINT", handler),
    exit: (code: number) => process.exit(code),
  };
}

/** SHA-256 by Bun's own hasher; a Bun without it (or whose hasher fails) gets the plain-JavaScript one: the same digest. */
function bunSha256Hex(bun: BunLike, text: string): string {
  try {
    return new bun.CryptoHasher("sha256").update(text).digest("hex");
  } catch {
    return sha256HexSync(text);
  }
}

/** Adapts Bun to {@linkcode Runtime}. */
function bunRuntime(bun: BunLike, process: ProcessLike): Runtime {
  return {
    ...processBasics(process),
    kind: "bun",
    name: `bun/${process.versions.bun}`,
    // Bun's process.stdin (its Node stream emulation) costs about 25 ms to start; Bun.stdin does not.
    stdin: () => bun.stdin.stream(),
    // Bun's own hasher is native and synchronous: measured in the hook (27 events each), building the payload takes
    // 1.1 ms less than with Web Crypto, whose digest goes through a thread pool.
    sha256Hex: (text) => settle(() => bunSha256Hex(bun, text)),
    readTextFile: (path) => bun.file(path).text().catch(() => undefined),
    startDetached: (argv) =>
      settle(() => {
        const options = { stdin: "ignore", stdout: "ignore", stderr: "ignore", detached: true, cwd: "/" };
        bun.spawn(argv, { ...options, env: safeEnvironment(process.env) }).unref();
      }),
  };
}

/** Adapts Node to {@linkcode Runtime}. */
function nodeRuntime(process: ProcessLike): Runtime {
  // Node's Web Crypto costs about 11 ms to set up and node:crypto about 5 to load, more than
  // hashing a path in plain JavaScript; its process.stdin stream about 9 ms, a plain read of
  // descriptor 0 next to nothing.
  return {
    ...processBasics(process),
    kind: "node",
    name: `node/${process.versions.node}`,
    stdin: async function* () {
      yield (await nodeFsSync()).readFileSync(0);
    },
    sha256Hex: (text) => settle(() => sha256HexSync(text)),
    readTextFile: async (path) => {
      const fs = await nodeFsSync();
      return attempt(() => fs.readFileSync(path, "utf8"), undefined);
    },
    startDetached: async (argv) => {
      const { spawn } = await builtin("node:child_process", () => import("node:child_process"));
      const options = { detached: true, stdio: "ignore" as const, cwd: "/", env: safeEnvironment(process.env) };
      spawn(argv[0], argv.slice(1), options).unref();
    },
  };
}

/** {@linkcode runQuietly} under Bun and Node: see there. */
async function runQuietlyUnderNode(
  argv: readonly string[],
  timeoutMs: number,
  env?: Record<string, string>,
): Promise<{ code: number; stdout: string } | undefined> {
  const { execFile } = await builtin("node:child_process", () => import("node:child_process"));
  return await new Promise((resolve) => {
    // SIGKILL at the limit: a program that ignores SIGTERM must not hold a command up.
    // From "/": a version manager's shim picks its program by the folder it runs in, never a repository's.
    const options = {
      cwd: "/",
      timeout: timeoutMs,
      killSignal: "SIGKILL" as const,
      maxBuffer: 1 << 20,
      ...(env ? { env } : {}),
    };
    execFile(argv[0], argv.slice(1), options, (error, stdout) => {
      const code = (error as { code?: unknown } | null)?.code;
      if (error !== null && typeof code !== "number") resolve(undefined);
      else resolve({ code: typeof code === "number" ? code : 0, stdout: String(stdout) });
    });
  });
}

// ---------------------------------------------------------------------------
// src/runtime_detect.ts
//
// The one place that knows which runtime runs the hook: Deno, Bun or Node.
// It picks that runtime's adapter, and the way to run a program under it.
//
// Owns: `detectRuntime`, `runQuietly`. Uses: runtime, runtime_deno,
// runtime_process.

const scope = globalThis as { Deno?: DenoLike; Bun?: BunLike; process?: ProcessLike };

/**
 * Detects the runtime (Deno, Bun or Node) and adapts it to {@linkcode Runtime}.
 * Each runtime uses its own file and process APIs on the hook's path: Deno
 * takes about 35 ms to load `node:fs` and Bun about 9 ms, more than the rest of
 * the hook.
 *
 * @returns The adapter.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(detectRuntime().kind, "deno");
 * ```
 */
export function detectRuntime(): Runtime {
  const deno = scope.Deno;
  if (deno !== undefined) return denoRuntime(deno);
  const process = scope.process;
  if (process === undefined) throw new Error("Unsupported runtime: need Deno, Bun or Node.js");
  return scope.Bun !== undefined ? bunRuntime(scope.Bun, process) : nodeRuntime(process);
}

/**
 * Runs a program by absolute path (never through a shell), from "/" (no
 * repository's files choose what a version manager's shim runs), and
 * collects its output, within a time limit: for the commands, never the hook.
 *
 * @param argv The program and its arguments.
 * @param timeoutMs The time limit; past it the program is killed.
 * @returns Its exit code and standard output, or undefined when it could not run or ran too long.
 */
async function runQuietly(
  argv: readonly string[],
  timeoutMs: number,
  env?: Record<string, string>,
): Promise<{ code: number; stdout: string } | undefined> {
  const deno = scope.Deno;
  // Deno's node:child_process rewrites any argument equal to Deno's own path as if Node were run (the launcher
  // is given that path): its own API runs the program as asked.
  if (deno !== undefined) return await runQuietlyUnderDeno(deno, argv, timeoutMs, env);
  return await runQuietlyUnderNode(argv, timeoutMs, env);
}

// ---------------------------------------------------------------------------
// src/files.ts
//
// The file layer for everything off the hook's hot path: files of the state
// directory and Claude Code's folder opened without following symlinks and
// without blocking on a FIFO, small files read within a size, and files
// written atomically (a private temporary file renamed into place).
//
// Owns: `openRegularFile`, `readSmallFile`, `readJsonFile`,
// `writeFileAtomically`, temporary files. Uses: runtime.

/** The names of the `open` flags the hook uses. */
type OpenFlag = "O_RDONLY" | "O_WRONLY" | "O_APPEND" | "O_CREAT" | "O_NOFOLLOW" | "O_NONBLOCK";

/**
 * The number `open` takes for a list of flags, from this system's constants.
 *
 * @param names The flags.
 * @returns Their bitwise or.
 */
async function openFlags(names: readonly OpenFlag[]): Promise<number> {
  const { constants } = await nodeFs();
  return names.reduce((flags, name) => flags | (constants[name] ?? 0), 0);
}

/** Opening flags of a file the hook only reads: never through a symlink, never waiting on a FIFO. */
const READ_FLAGS: readonly OpenFlag[] = ["O_RDONLY", "O_NOFOLLOW", "O_NONBLOCK"];

/**
 * Opens a file for reading without following a symlink at its path and
 * without blocking on a FIFO or device, and checks that it is a regular file.
 *
 * @param fs The file API.
 * @param path The file.
 * @param followSymlink Open what a symlink at `path` points to (a user's own dotfiles), still only a regular file.
 * @param accept A further check of the opened file's owner and mode (made on the open file, so nothing can swap it).
 * @returns The open file (the caller closes it) and its size.
 * @throws When the path is not a regular file, fails `accept`, or cannot be opened.
 */
async function openRegularFile(
  fs: FsPromises,
  path: string,
  followSymlink = false,
  accept?: (owner: { uid: number; mode: number }) => boolean,
): Promise<{ file: import("node:fs/promises").FileHandle; size: number }> {
  const flags = followSymlink ? READ_FLAGS.filter((flag) => flag !== "O_NOFOLLOW") : READ_FLAGS;
  const file = await fs.open(path, await openFlags(flags));
  const stat = await file.stat().catch(async (error) => {
    await file.close();
    throw error;
  });
  if (!stat.isFile()) {
    await file.close();
    throw new Error(`not a regular file: ${path}`);
  }
  if (accept !== undefined && !accept({ uid: stat.uid, mode: stat.mode & 0o7777 })) {
    await file.close();
    throw new Error(`not a file to trust: ${path}`);
  }
  return { file, size: stat.size };
}

/**
 * Reads a small file of the state directory: a regular file only (never
 * through a symlink, never a FIFO), at most `maxBytes`.
 *
 * @param fs The file API.
 * @param path The file.
 * @param maxBytes The most bytes to read; a larger file gives undefined.
 * @param followSymlink Read what a symlink at `path` points to (still only a regular file).
 * @param accept A further check of the opened file's owner and mode (see {@linkcode openRegularFile}).
 * @returns Its text, or undefined when it is missing, not a regular file, too large, refused or unreadable.
 */
async function readSmallFile(
  fs: FsPromises,
  path: string,
  maxBytes = 1 << 20,
  followSymlink = false,
  accept?: (owner: { uid: number; mode: number }) => boolean,
): Promise<string | undefined> {
  try {
    const { file, size } = await openRegularFile(fs, path, followSymlink, accept);
    try {
      if (size > maxBytes) return undefined;
      const buffer = new Uint8Array(size);
      const { bytesRead } = await file.read(buffer, 0, size, 0);
      return new TextDecoder().decode(buffer.subarray(0, bytesRead));
    } finally {
      await file.close();
    }
  } catch {
    return undefined;
  }
}

/**
 * Reads a small JSON file of the state directory (see {@linkcode readSmallFile}).
 *
 * @param fs The file API.
 * @param path The file.
 * @returns The parsed value, unchecked (callers check its shape), or undefined.
 */
async function readJsonFile(fs: FsPromises, path: string): Promise<unknown> {
  const text = await readSmallFile(fs, path);
  return text === undefined ? undefined : attempt(() => JSON.parse(text), undefined);
}

/** The end of a temporary file's name: `<file>.<uuid>.tmp`, renamed over `<file>` once written. */
const TEMPORARY_SUFFIX = ".tmp";

/**
 * Removes temporary files (`<file>.<uuid>.tmp`) that a process killed or
 * stopped by a full disk left in a folder: only those older than a minute,
 * so that no write in progress loses its file. Never follows a symlink.
 *
 * @param fs The file API.
 * @param dir The folder.
 * @returns How many were removed.
 */
async function removeLeftoverTemporaries(fs: FsPromises, dir: string): Promise<number> {
  const leftover = /\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;
  let removed = 0;
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!leftover.test(name)) continue;
    const stat = await fs.lstat(`${dir}/${name}`).catch(() => undefined);
    if (stat === undefined || stat.isDirectory() || Date.now() - stat.mtimeMs < 60_000) continue;
    if (await fs.rm(`${dir}/${name}`).then(() => true, () => false)) removed++;
  }
  return removed;
}

/**
 * Writes a file atomically: a new private temporary file beside it (created
 * exclusively, so never through a symlink), then a rename over the file (which
 * replaces a symlink there rather than writing through it).
 *
 * @param fs The file API.
 * @param path The file.
 * @param text Its content.
 * @param mode Its permission bits.
 */
async function writeFileAtomically(fs: FsPromises, path: string, text: string, mode = 0o600): Promise<void> {
  const temporary = `${path}.${crypto.randomUUID()}${TEMPORARY_SUFFIX}`;
  const file = await fs.open(temporary, "wx", 0o600);
  try {
    try {
      await file.writeFile(text);
      // The umask may have taken bits away; the final mode is set on the new file itself.
      await file.chmod(mode);
    } finally {
      await file.close();
    }
    await fs.rename(temporary, path);
  } catch (error) {
    // A full disk must not leave temporary files behind, one per failed write.
    await fs.rm(temporary, { force: true }).catch(() => {});
    throw error;
  }
}

/**
 * Writes a JSON file atomically (see {@linkcode writeFileAtomically}), readable by this user only.
 *
 * @param fs The file API.
 * @param path The file.
 * @param value Any JSON value.
 */
async function writeJsonAtomically(fs: FsPromises, path: string, value: unknown): Promise<void> {
  await writeFileAtomically(fs, path, JSON.stringify(value) + "\n");
}

// ---------------------------------------------------------------------------
// src/git_repo.ts
//
// The repository a session works in, as TelemHQ's roll-ups name it: the
// `owner/name` of the `origin` remote, read from the git config of the folder
// Claude Code started the hook in (its own working directory, never a path
// from the event). Only that plain shape leaves: never the remote's URL, its
// host, or credentials written into it.
//
// Owns: `readGitRepo`, `repoFromRemoteUrl`. Uses: paths, runtime, files.

/** The largest git config read: a real one is a few hundred bytes. */
const MAX_GIT_CONFIG_BYTES = 64 * 1024;
/** How many folders up a repository's root is looked for. */
const MAX_DEPTH = 32;
/** An owner or a repository name as hosts allow them. */
const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/**
 * The `owner/name` in a git remote URL: `git@host:owner/name.git`,
 * `https://host/owner/name`, `ssh://git@host/owner/name.git`, or undefined
 * for anything else (a local path, a deeper path, odd characters).
 *
 * @param url The remote's URL, as written in the git config.
 * @returns For example `"denoland/std"`.
 */
function repoFromRemoteUrl(url: string): string | undefined {
  const match = url.trim().match(
    /^(?:(?:https?|ssh|git):\/\/(?:[^/@]*@)?([^/:]+)(?::\d+)?\/|[A-Za-z0-9._-]+@([A-Za-z0-9.-]+):)(.+)$/,
  );
  // A hosting service's name (a dotted name, not an address or a machine on the local network): on any other
  // host, owner/name could be a home folder (ssh://nas/home/alice).
  const host = match?.[1] ?? match?.[2];
  const path = match?.[3];
  if (host === undefined || path === undefined || !/^(?=.*[A-Za-z])[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(host)) {
    return undefined;
  }
  if (/^(localhost|.*\.local|.*\.internal|.*\.lan)$/i.test(host)) return undefined;
  const parts = path.replace(/\/+$/, "").replace(/\.git$/, "").split("/");
  if (parts.length !== 2 || !parts.every((part) => NAME.test(part) && part !== "." && part !== "..")) return undefined;
  return parts.join("/");
}

/**
 * The `owner/name` of the `origin` remote of the repository around a folder,
 * or undefined (not a repository, no origin, an odd URL, a worktree or
 * submodule whose `.git` is a file, or a folder this process may not read).
 * Reads only `.git/config` regular files, never through a symlink.
 *
 * @param runtime The runtime adapter.
 * @param dir The folder (the hook's working directory).
 * @returns The repository's `owner/name`.
 */
async function readGitRepo(runtime: Runtime, dir: string): Promise<string | undefined> {
  const style = hostPathStyle();
  const home = homeDirectory((name) => runtime.env(name), style);
  for (const folder of foldersToSearchUp(dir, style, home).slice(0, MAX_DEPTH)) {
    const git = `${folder.replace(/[\\/]$/, "")}/.git`;
    if (!runtime.mayInspect(git)) return undefined;
    const facts = await runtime.lstat(git);
    // Like git's safe.directory: a repository someone else owns (a planted /tmp/.git) names nothing.
    const uid = runtime.uid();
    if (facts?.kind === "directory" && uid !== undefined && facts.uid !== uid) return undefined;
    if (facts?.kind === "directory") return originOf(await readGitConfig(`${git}/config`));
    if (facts !== undefined) return undefined;
  }
  return undefined;
}

async function readGitConfig(path: string): Promise<string> {
  return await readSmallFile(await nodeFs(), path, MAX_GIT_CONFIG_BYTES) ?? "";
}

/** The `url` of `[remote "origin"]`, as `owner/name`. */
function originOf(config: string): string | undefined {
  let inOrigin = false;
  for (const line of config.split("\n")) {
    const section = line.match(/^\s*\[\s*([^\]]*?)\s*\]/);
    if (section) inOrigin = /^remote\s+"origin"$/.test(section[1]);
    else if (inOrigin) {
      const url = line.match(/^\s*url\s*=\s*(.*?)\s*$/)?.[1];
      if (url !== undefined) return repoFromRemoteUrl(url.replace(/^"(.*)"$/, "$1"));
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// src/state_dir.ts
//
// The state directory: where the spool, the lock, the delivery status, the
// session ledgers and the saved ping URL live. Everything in it is trusted by
// the hook and the sender, so the directory must be this user's own and
// writable by no one else; a directory that is not is refused, never used.
//
// Owns: where the state directory and Claude Code's folder are
// (`stateDirectory`, `claudeDirectory`), `STATE_LAYOUT`, the safety check of
// the directory, file names made from event values. Uses: input, paths,
// sha256, runtime.

/** Looks up an environment variable. */
export type EnvLookup = (name: string) => string | undefined;

/**
 * Claude Code's configuration folder: `CLAUDE_CONFIG_DIR`, else `.claude` in
 * the home folder (`USERPROFILE` on Windows: see {@linkcode homeDirectory}).
 *
 * @param env Looks up an environment variable.
 * @param style How the platform writes paths; the one this code runs on by default.
 * @returns The folder, or undefined when no home is known.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(claudeDirectory((name) => ({ HOME: "/home/me" })[name]), "/home/me/.claude");
 * ```
 */
export function claudeDirectory(env: EnvLookup, style: PathStyle = hostPathStyle()): string | undefined {
  const config = env("CLAUDE_CONFIG_DIR")?.trim();
  if (config) return isAbsolutePath(config, style) ? withoutTrailingSeparator(config, style) : undefined;
  const home = homeDirectory(env, style);
  return home === undefined ? undefined : `${home}${separatorOf(home, style)}.claude`;
}

/** The separator to join a name to `folder` with: the one it is written with (`/` on POSIX). */
function separatorOf(folder: string, style: PathStyle): string {
  if (style === "posix") return "/";
  return folder.includes("\\") || !folder.includes("/") ? "\\" : "/";
}

/**
 * Why the environment names no usable state directory, when it names a relative one.
 *
 * @param env Looks up an environment variable.
 * @returns One line, or undefined.
 */
function stateDirSettingProblem(env: EnvLookup, style: PathStyle = hostPathStyle()): string | undefined {
  const homes = style === "windows" ? ["USERPROFILE", "HOME"] : ["HOME"];
  for (const name of ["TELEMHQ_STATE_DIR", "CLAUDE_CONFIG_DIR", ...homes]) {
    const value = env(name)?.trim();
    if (!value) continue;
    if (!isAbsolutePath(value, style)) {
      return `${name} "${value.slice(0, 80)}" is not an absolute path: the state directory must be one`;
    }
    return undefined;
  }
  return undefined;
}

/**
 * The state directory: `TELEMHQ_STATE_DIR`, else `telemhq/` in Claude Code's
 * configuration folder (see {@linkcode claudeDirectory}).
 *
 * @param env Looks up an environment variable.
 * @param style How the platform writes paths; the one this code runs on by default.
 * @returns The directory, or undefined when neither it nor a home is known.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(stateDirectory((name) => ({ HOME: "/home/me" })[name]), "/home/me/.claude/telemhq");
 * ```
 */
export function stateDirectory(env: EnvLookup, style: PathStyle = hostPathStyle()): string | undefined {
  const explicit = env("TELEMHQ_STATE_DIR")?.trim();
  if (explicit) return isAbsolutePath(explicit, style) ? withoutTrailingSeparator(explicit, style) : undefined;
  const claudeDir = claudeDirectory(env, style);
  return claudeDir === undefined ? undefined : `${claudeDir}${separatorOf(claudeDir, style)}telemhq`;
}

/** The state directory's file names. */
export const STATE_LAYOUT = {
  spool: "spool",
  failed: "failed",
  sessions: "sessions",
  destinations: "destinations",
  sent: "sent",
  config: "config.json",
  install: "install.json",
  lock: "sender.lock",
  status: "status.json",
  journal: "delivered.jsonl",
  journalOld: "delivered.1.jsonl",
  flushRequest: "flush.request",
  flushDone: "flush.done",
  nodeCompileCache: "node-compile-cache",
} as const;

/**
 * Why a state directory must not be used, from what `lstat` says of it: it
 * is a symlink, not a directory, another user's, or writable by group or
 * others (anyone who can write it could plant a lock, a spool entry or a
 * symlink there).
 *
 * @param dir The directory.
 * @param facts What `lstat` says of it.
 * @param uid This process's user id (undefined where there is none: not checked).
 * @param style How the platform writes paths: Windows has no mode bits to check (its
 *   folders all report `0o666`); {@linkcode parentsProblem} checks where the folder is instead.
 * @returns One line saying what is wrong and what to do, or undefined when it is safe.
 */
function stateDirProblem(
  dir: string,
  facts: FileFacts,
  uid: number | undefined,
  style: PathStyle = hostPathStyle(),
): string | undefined {
  if (facts.kind === "symlink") {
    return `the state directory "${dir}" is a symlink: set TELEMHQ_STATE_DIR to the folder itself`;
  }
  if (facts.kind !== "directory") return `the state directory "${dir}" is not a directory`;
  if (uid !== undefined && facts.uid !== uid) {
    return `the state directory "${dir}" belongs to another user (uid ${facts.uid}): use a folder of your own`;
  }
  if (style === "posix" && (facts.mode & 0o022) !== 0) {
    return `the state directory "${dir}" is writable by other users (mode ${facts.mode.toString(8)}): ` +
      `set TELEMHQ_STATE_DIR to a private folder of your own (never a shared one such as /tmp)`;
  }
  return undefined;
}

/**
 * Why the folders above a state directory make it unsafe, or undefined. On
 * macOS and Linux each one, symlinks resolved, must be root's or this user's
 * and writable by no one else, or sticky (like `/tmp`, where others cannot
 * rename what is ours): anyone who can write a parent could swap the state
 * directory for their own. Windows has neither owners nor mode bits to read
 * here: there the folder must be inside the user's own profile, which only
 * they may write, reached through no symlink or junction, and not on a
 * network share (see {@linkcode windowsPlacementProblem}).
 *
 * @param runtime The runtime adapter.
 * @param dir The state directory (it must exist).
 * @param style How the platform writes paths; the one this code runs on by default.
 * @returns One line, or undefined when every parent is safe.
 */
async function parentsProblem(
  runtime: Runtime,
  dir: string,
  style: PathStyle = hostPathStyle(),
): Promise<string | undefined> {
  const real = await runtime.realpath(dir);
  if (real === undefined) return `cannot resolve the state directory "${dir}"`;
  if (style === "windows") {
    // The profile of the account this process runs as, from its login, never from the environment: a USERPROFILE of
    // "C:\\" would otherwise make a folder every user can write pass as private.
    const home = await accountHome() ?? homeDirectory((name) => runtime.env(name), style);
    const realHome = home === undefined ? undefined : await runtime.realpath(home);
    return windowsPlacementProblem(dir, real, realHome);
  }
  const uid = runtime.uid();
  for (const path of foldersAbove(real, style)) {
    const facts = await runtime.lstat(path);
    if (facts === undefined) {
      // The installed Deno hook may read the state directory but not ~/.claude above it (its credentials are
      // there): install and doctor, which run with every permission, check what it cannot see.
      if (!runtime.mayInspect(path)) continue;
      return `cannot see "${path}", a parent of the state directory`;
    }
    const owned = facts.uid === 0 || uid === undefined || facts.uid === uid;
    const open = (facts.mode & 0o022) !== 0 && (facts.mode & 0o1000) === 0;
    if (!owned || open) {
      return `"${path}", a parent of the state directory "${dir}", can be changed by other users: ` +
        `use a state directory in a folder of your own`;
    }
  }
  return undefined;
}

/** The home folder of the account this process runs as, from the system's user database (not the environment). */
async function accountHome(): Promise<string | undefined> {
  try {
    const home = (await import("node:os")).userInfo().homedir;
    return typeof home === "string" && home !== "" ? home : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why a state directory on Windows must not be used, or undefined: it must
 * be reached through no symlink or junction (its real path is itself), not
 * sit on a network share (`\\\\server\\share`), and be inside the user's own
 * profile (`USERPROFILE`), the one place Windows keeps private to the user by
 * default; a folder at the root of a drive is often writable by every user.
 *
 * @param dir The state directory, as configured.
 * @param real Its real path.
 * @param realHome The real path of the user's profile, when known.
 * @returns One line, or undefined when it is safe.
 */
function windowsPlacementProblem(dir: string, real: string, realHome: string | undefined): string | undefined {
  const shared = (path: string) => /^[\\/]{2}(?![?.][\\/][A-Za-z]:)/.test(path);
  if (shared(dir) || shared(real)) {
    return `the state directory "${dir}" is on a network share: set TELEMHQ_STATE_DIR to a folder on this computer`;
  }
  if (!samePath(dir, real, "windows")) {
    return `the state directory "${dir}" is reached through a symlink or junction (it is "${real}"): ` +
      `set TELEMHQ_STATE_DIR to the folder itself`;
  }
  if (realHome === undefined) {
    return `cannot find your user profile (USERPROFILE) to check the state directory "${dir}"`;
  }
  if (!isInsideFolder(real, realHome, "windows")) {
    return `the state directory "${dir}" is not inside your user profile ("${realHome}"), where only you may write: ` +
      `set TELEMHQ_STATE_DIR to a folder inside it`;
  }
  return undefined;
}

/**
 * Why a folder inside the state directory (`spool`, `failed`, `sessions`)
 * must not be used, or undefined: it must be a real folder of this user's
 * (never a symlink to somewhere else), or not exist yet.
 *
 * @param runtime The runtime adapter.
 * @param path The folder.
 * @returns One line, or undefined.
 */
async function subfolderProblem(runtime: Runtime, path: string): Promise<string | undefined> {
  const facts = await runtime.lstat(path);
  if (facts === undefined) return undefined;
  const uid = runtime.uid();
  if (facts.kind !== "directory" || (uid !== undefined && facts.uid !== uid)) {
    return `"${path}" is not a folder of your own (a symlink?): remove it`;
  }
  return undefined;
}

/**
 * Makes sure the state directory exists and is safe to use: creates it
 * (0700) when it is missing, then checks it (see {@linkcode stateDirProblem})
 * and every folder above it (see {@linkcode parentsProblem}).
 *
 * @param runtime The runtime adapter.
 * @param dir The state directory.
 * @returns Undefined when it is safe to use, else why not (one line).
 */
async function ensureStateDir(runtime: Runtime, dir: string): Promise<string | undefined> {
  let facts = await runtime.lstat(dir);
  if (facts === undefined) {
    try {
      await runtime.makePrivateDirectory(dir);
    } catch (error) {
      return `cannot create the state directory "${dir}" (${describeError(error)})`;
    }
    facts = await runtime.lstat(dir);
    if (facts === undefined) return `cannot see the state directory "${dir}" after creating it`;
  }
  return stateDirProblem(dir, facts, runtime.uid()) ?? await parentsProblem(runtime, dir);
}

/**
 * The file name of a session's ledger: a hash of its id, so that no value
 * from an event (a `session_id` of `x/../../settings`, say) becomes a path.
 *
 * @param sessionId The session id, as the event gave it.
 * @param sha256Hex The SHA-256 to use.
 * @returns `<32 hex digits>.json`.
 */
async function ledgerFileName(sessionId: string, sha256Hex: Sha256Hex): Promise<string> {
  return `${(await sha256Hex(`session\u0000${sessionId}`)).slice(0, 32)}.json`;
}

// ---------------------------------------------------------------------------
// src/config.ts
//
// The hook's settings: read from the environment (docs/settings.md), with
// the ping URL saved by `install` as a fallback, and the folders it works in.
//
// Owns: `HookConfig` (the hook's own settings: "config" throughout; Claude
// Code's settings files are `settings.ts`'s), the environment variables read,
// install's saved values, where managed settings are. Uses: paths, runtime, files,
// state_dir.

/** The largest `config.json` read: it holds a URL and a salt. */
const MAX_CONFIG_BYTES = 64 * 1024;

/** Every environment variable the hook reads (Deno's `--allow-env` list). */
export const ENV_NAMES: readonly string[] = [
  "HOME",
  "CLAUDE_CONFIG_DIR",
  "TELEMHQ_PING_URL",
  "CLAUDE_PLUGIN_OPTION_PING_URL",
  "TELEMHQ_MEMBER",
  "CLAUDE_PLUGIN_OPTION_MEMBER",
  "TELEMHQ_HOOK_DEBUG",
  "TELEMHQ_STATE_DIR",
  "TELEMHQ_TIMEOUT_MS",
  "TELEMHQ_SPOOL_MAX_PINGS",
  "TELEMHQ_SPOOL_MAX_AGE_DAYS",
  "TELEMHQ_RETRY_BASE_MS",
  "TELEMHQ_RETRY_MAX_MS",
  "TELEMHQ_SENDER_IDLE_MS",
  "TELEMHQ_SENDER_CONCURRENCY",
  "TELEMHQ_PRICES",
  "TELEMHQ_HASH_SALT",
  "TELEMHQ_EVENT_DIR",
];

/** Settings read from the environment. */
export interface HookConfig {
  /** The raw ping URL, or undefined when not configured. */
  pingUrl?: string;
  /** Where the ping URL came from. */
  pingUrlSource?: "TELEMHQ_PING_URL" | "the plugin's ping_url option" | "config file";
  /** A team member's label, when the user set one: `TELEMHQ_MEMBER`, the plugin's option, or install's. */
  member?: string;
  /** A secret the team shares, mixed into `cwd_hash` and `transcript_path_hash` (see docs/fields.md). */
  hashSalt?: string;
  /** Time limit of one ping request, in milliseconds. */
  timeoutMs: number;
  /** Print a one-line reason to stderr when the ping is not sent. */
  debug: boolean;
  /** Where the spool and the sender's lock and status live; undefined when no home is known. */
  stateDir?: string;
  /** Most pings the spool keeps; the oldest are dropped first. */
  spoolMaxPings: number;
  /** Oldest ping the spool keeps, in milliseconds. */
  spoolMaxAgeMs: number;
  /** First wait before a retry, in milliseconds. */
  retryBaseMs: number;
  /** Longest wait between retries, in milliseconds. */
  retryMaxMs: number;
  /** How long an idle sender waits for more pings before it exits, in milliseconds. */
  senderIdleMs: number;
  /** How many pings a sender has in flight at once (1 to 16). */
  senderConcurrency: number;
}

/** What loading the settings found of the state directory, which holds install's saved values. */
export interface StateDirCheck {
  /** Why it must not be used (relative, not private, another user's); undefined when it may be, or is not there yet. */
  problem?: string;
  /** It existed and was checked, it and every folder above it: nobody needs to check it again this run. */
  checked: boolean;
}

/** The settings, and what was found of the state directory while reading them. */
export interface LoadedConfig {
  /** The settings. */
  config: HookConfig;
  /** The state directory's check. */
  state: StateDirCheck;
}

/** Default time limit of the ping request, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 10_000;

function numberSetting(raw: string | undefined, fallback: number, min: number, max: number): number {
  const value = Number(raw);
  return raw !== undefined && raw.trim() !== "" && Number.isFinite(value)
    ? Math.min(Math.max(Math.round(value), min), max)
    : fallback;
}

/**
 * Reads the hook's settings from the environment; see docs/settings.md.
 *
 * @param env Looks up an environment variable.
 * @returns The settings, with defaults and numbers clamped to sane ranges.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const config = readConfig((name) => ({ TELEMHQ_PING_URL: "https://telemhq.com/ping/T" })[name]);
 * assert.equal(config.timeoutMs, DEFAULT_TIMEOUT_MS);
 * ```
 */
export function readConfig(env: EnvLookup): HookConfig {
  // The environment first, then the plugin's option (Claude Code keeps it in its credential store), then install's file.
  const fromEnv = env("TELEMHQ_PING_URL")?.trim() || undefined;
  const fromPlugin = env("CLAUDE_PLUGIN_OPTION_PING_URL")?.trim() || undefined;
  const member = env("TELEMHQ_MEMBER")?.trim() || env("CLAUDE_PLUGIN_OPTION_MEMBER")?.trim() || undefined;
  const salt = env("TELEMHQ_HASH_SALT");
  const day = 24 * 60 * 60 * 1000;
  return {
    pingUrl: fromEnv ?? fromPlugin,
    pingUrlSource: fromEnv ? "TELEMHQ_PING_URL" : fromPlugin ? "the plugin's ping_url option" : undefined,
    member,
    hashSalt: salt === undefined || salt === "" ? undefined : salt,
    timeoutMs: numberSetting(env("TELEMHQ_TIMEOUT_MS"), DEFAULT_TIMEOUT_MS, 100, 60_000),
    debug: env("TELEMHQ_HOOK_DEBUG") === "1",
    stateDir: stateDirectory(env),
    spoolMaxPings: numberSetting(env("TELEMHQ_SPOOL_MAX_PINGS"), 10_000, 1, 1_000_000),
    spoolMaxAgeMs: numberSetting(env("TELEMHQ_SPOOL_MAX_AGE_DAYS"), 7, 1, 365) * day,
    retryBaseMs: numberSetting(env("TELEMHQ_RETRY_BASE_MS"), 1000, 10, 60_000),
    retryMaxMs: numberSetting(env("TELEMHQ_RETRY_MAX_MS"), 5 * 60_000, 10, 60 * 60_000),
    senderIdleMs: numberSetting(env("TELEMHQ_SENDER_IDLE_MS"), 30_000, 0, 10 * 60_000),
    senderConcurrency: numberSetting(env("TELEMHQ_SENDER_CONCURRENCY"), 8, 1, 16),
  };
}

/**
 * The settings, with what `install` saved in `<state>/config.json` (the ping
 * URL, the hash salt) where the environment has none: hooks started from IDEs
 * and desktop apps often do not see the shell's environment. The state
 * directory is checked first: one that is not safe is never read (its
 * problem is in `state.problem`).
 *
 * @param runtime The runtime adapter.
 * @returns The settings, and the state directory's check.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * const { config, state } = await loadConfig(detectRuntime());
 * assert.equal(typeof config.timeoutMs, "number");
 * assert.equal(typeof state.checked, "boolean");
 * ```
 */
export async function loadConfig(runtime: Runtime): Promise<LoadedConfig> {
  const env = (name: string) => runtime.env(name);
  const config = readConfig(env);
  if (config.stateDir === undefined) return { config, state: { problem: stateDirSettingProblem(env), checked: false } };
  const facts = await runtime.lstat(config.stateDir);
  if (facts === undefined) return { config, state: { checked: false } };
  const problem = stateDirProblem(config.stateDir, facts, runtime.uid()) ??
    await parentsProblem(runtime, config.stateDir);
  const state = { problem, checked: true };
  if (problem !== undefined || (config.pingUrl !== undefined && config.hashSalt !== undefined && config.member)) {
    return { config, state };
  }
  const saved = await readSavedSettings(runtime, config.stateDir);
  if (config.pingUrl === undefined && saved.pingUrl !== undefined) {
    config.pingUrl = saved.pingUrl;
    config.pingUrlSource = "config file";
  }
  config.hashSalt ??= saved.hashSalt;
  config.member ??= saved.member;
  return { config, state };
}

/** What `install` saved in `<state>/config.json`. */
interface SavedSettings {
  /** The ping URL. */
  pingUrl?: string;
  /** The hash salt. */
  hashSalt?: string;
  /** The member label. */
  member?: string;
}

/**
 * Reads what `install` saved in `<state>/config.json`, from a state
 * directory already checked: only a small regular file (a FIFO or a device
 * there must not hang the hook or eat its memory), each value checked.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @returns The saved values; none when the file is missing or broken.
 */
async function readSavedSettings(runtime: Runtime, stateDir: string): Promise<SavedSettings> {
  const path = `${stateDir}/${STATE_LAYOUT.config}`;
  const file = await runtime.lstat(path);
  const text = file?.kind === "file" && file.size <= MAX_CONFIG_BYTES ? await runtime.readTextFile(path) : undefined;
  const values: Record<string, unknown> = text === undefined ? {} : attempt(() => JSON.parse(text), {}) ?? {};
  const saved: SavedSettings = {};
  if (typeof values.ping_url === "string" && values.ping_url.trim() !== "") saved.pingUrl = values.ping_url.trim();
  if (typeof values.hash_salt === "string" && values.hash_salt !== "") saved.hashSalt = values.hash_salt;
  if (typeof values.member === "string" && values.member !== "") saved.member = values.member;
  return saved;
}

/** Where Claude Code reads managed (policy) settings from, by platform; drop-ins in `managed-settings.d/`. */
const MANAGED_SETTINGS_DIRS: readonly string[] = [
  "/etc/claude-code",
  "/Library/Application Support/ClaudeCode",
];

/** Where Claude Code on Windows reads managed settings from (it also reads a registry policy, not read here). */
const WINDOWS_MANAGED_SETTINGS_DIR = "C:\\Program Files\\ClaudeCode";

/**
 * The folder Claude Code reads managed settings from on a platform: only
 * that one (on Linux, `/Library/...` is no policy of Claude Code's; on
 * macOS, `/etc/claude-code` is none either).
 *
 * @param platform The platform, as Node names it; this one by default.
 * @returns The folder.
 */
function managedSettingsDirectory(platform: string = hostPlatform()): string {
  if (platform === "darwin") return MANAGED_SETTINGS_DIRS[1];
  return platform === "win32" ? WINDOWS_MANAGED_SETTINGS_DIR : MANAGED_SETTINGS_DIRS[0];
}

/**
 * The managed settings files present, in the order Claude Code merges them
 * (a later one's keys win): each folder's `managed-settings.json`, then its
 * `managed-settings.d/*.json` by name.
 *
 * @param fs The file API.
 * @returns The paths.
 */
async function managedSettingsPaths(fs: FsPromises): Promise<string[]> {
  const paths: string[] = [];
  const dir = managedSettingsDirectory();
  const main = `${dir}/managed-settings.json`;
  if (await fs.lstat(main).then(() => true, () => false)) paths.push(main);
  const dropIns = (await fs.readdir(`${dir}/managed-settings.d`).catch(() => [] as string[]))
    // Claude Code skips hidden drop-ins (".team.json"): so does everything that reads them here.
    .filter((name) => name.endsWith(".json") && !name.startsWith(".")).sort();
  paths.push(...dropIns.map((name) => `${dir}/managed-settings.d/${name}`));
  return paths;
}

/** A file only root can have written: root's, and writable by no one else. */
function onlyRootWrites(owner: { uid: number; mode: number }): boolean {
  return owner.uid === 0 && (owner.mode & 0o022) === 0;
}

/**
 * Reads a managed settings file: in place, or through a symlink (the way
 * configuration management tools often deploy it) only to a file that root
 * owns and only root can change, as Claude Code itself reads it.
 *
 * @param fs The file API.
 * @param path The file.
 * @returns The parsed value, unchecked, or undefined.
 */
async function readManagedSettings(fs: FsPromises, path: string): Promise<unknown> {
  const link = await fs.lstat(path).catch(() => undefined);
  if (link === undefined) return undefined;
  if (!link.isSymbolicLink()) return await readJsonFile(fs, path);
  const text = await readSmallFile(fs, path, 1 << 20, true, onlyRootWrites);
  return text === undefined ? undefined : attempt(() => JSON.parse(text), undefined);
}

// ---------------------------------------------------------------------------
// src/ping_url.ts
//
// The ping URL: it holds the tracker's secret token, so it is checked before
// use (https, or http to loopback only) and never shown whole.
//
// Owns: `parsePingUrl`, redaction. Uses: input.

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["localhost", "[::1]"]);

/**
 * Checks the ping URL: `https:`, or `http:` to a loopback address only,
 * because the URL holds the tracker's secret token.
 *
 * @param raw The URL, for example from `TELEMHQ_PING_URL`.
 * @returns The parsed URL.
 * @throws {HookSkip} When the URL is malformed or would send the token in clear text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(parsePingUrl("https://telemhq.com/ping/TOKEN").host, "telemhq.com");
 * ```
 */
export function parsePingUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new HookSkip("TELEMHQ_PING_URL is not a valid URL: set it to the ping URL of your TelemHQ tracker");
  }
  // A ping URL is the tracker's, whole: a space means a paste that took more than the URL.
  if (/\s/.test(raw.trim())) {
    throw new HookSkip("TELEMHQ_PING_URL holds a space: set it to the ping URL of your TelemHQ tracker alone");
  }
  // Credentials in a URL would be sent to the host in an Authorization header and kept in the spool's destination.
  if (url.username !== "" || url.password !== "") {
    throw new HookSkip("TELEMHQ_PING_URL holds a user name or password: the tracker's token goes in its path only");
  }
  // A host is letters, digits, dots and dashes (or an IPv6 literal): never a comma, which would also widen
  // the installed Deno hook's --allow-net list.
  if (!/^([a-z0-9.-]+|\[[0-9a-f:.]+\])$/i.test(url.hostname)) {
    throw new HookSkip("TELEMHQ_PING_URL has a host name with characters a host cannot have");
  }
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:") {
    if (isLoopbackHost(url.hostname)) return url;
    throw new HookSkip(
      `TELEMHQ_PING_URL uses plain http to ${url.host}: the token would cross the network in clear text; use https`,
    );
  }
  throw new HookSkip(`TELEMHQ_PING_URL has unsupported scheme "${url.protocol}": use https`);
}

function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Shows a ping URL without its secret: scheme, host and port only.
 *
 * @param url The ping URL.
 * @returns For example `"https://telemhq.com/<redacted>"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(redactUrl(new URL("https://telemhq.com/ping/abc123")), "https://telemhq.com/<redacted>");
 * ```
 */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}/<redacted>`;
}

/**
 * Removes every trace of a URL's secret parts from a message, and its line breaks.
 *
 * @param message Text that may quote the URL (an error from the runtime's fetch, say).
 * @param url The ping URL.
 * @returns The message, one line, without the URL's path, query or credentials.
 */
function redactMessage(message: string, url: URL): string {
  const secrets = [url.href, url.pathname + url.search, url.pathname, url.username, url.password]
    .filter((secret) => secret.length > 1);
  let redacted = message;
  for (const secret of secrets) redacted = redacted.split(secret).join("/<redacted>");
  return redacted.replace(/[\r\n]+/g, " ");
}

/**
 * Redacts every URL with a path in a text (a command line argument echoed in
 * an error, say): whatever a user typed where a ping URL does not belong, its
 * token is never printed.
 *
 * @param text Any text.
 * @returns The text, each URL shown as `scheme://host/<redacted>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(
 *   redactSecrets('Unknown option "https://telemhq.com/ping/TOKEN"'),
 *   'Unknown option "https://telemhq.com/<redacted>"',
 * );
 * assert.equal(redactSecrets('"telemhq.com/ping/TOKEN"'), '"telemhq.com/<redacted>"');
 * assert.equal(redactSecrets('"/home/me/my.project/x"'), '"/home/me/my.project/x"');
 * ```
 */
export function redactSecrets(text: string): string {
  return text.replace(/\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'`<>]+/g, (found) => {
    try {
      const url = new URL(found);
      return url.pathname.length > 1 || url.search !== "" || url.username !== "" ? redactUrl(url) : found;
    } catch {
      return `${found.split("://")[0]}://<redacted>`;
    }
  })
    // A URL typed without its scheme (telemhq.com/ping/TOKEN); a file path's parts are left alone.
    .replace(/(?<![\w/.:-])((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?::\d+)?)\/[^\s"'`<>]+/g, "$1/<redacted>");
}

// ---------------------------------------------------------------------------
// src/destination.ts
//
// Where each ping goes: the tracker configured for the session that produced
// it, and no other. Claude Code gives each session its own environment (a
// project's `env`, a plugin's option), while one sender delivers every
// session's pings; so a spool entry names its tracker by an id, and the URLs
// (with their tokens) live in one private file each, `destinations/<id>.json`
// (0600), never in the spool. The URL `install` saved is named `saved`: it
// is read when the ping is sent, so a rotated token applies to pings already
// waiting.
//
// Owns: destination ids, the `destinations/` folder. Uses: runtime, files, sha256,
// state_dir, ping_url.

/** A spool entry's tracker: `saved` (the URL install saved, read when sending), or the id of a destination file. */
type DestinationId = string;

/** The destination of pings whose session used the URL `install` saved. */
const SAVED_DESTINATION: DestinationId = "saved";

/** A destination file's id: 32 hex digits. */
const DESTINATION_ID = /^[0-9a-f]{32}$/;

/**
 * Whether a value is a destination a spool entry may name.
 *
 * @param value Anything read from a spool entry.
 * @returns True for `saved` or 32 hex digits.
 */
function isDestinationId(value: unknown): value is DestinationId {
  return value === SAVED_DESTINATION || (typeof value === "string" && DESTINATION_ID.test(value));
}

/**
 * The id of a ping URL: a hash of it, so that the same tracker always gets
 * the same file, and a spool entry names it without holding the token.
 *
 * @param url The ping URL, checked.
 * @param sha256Hex The SHA-256 to use.
 * @returns 32 hex digits.
 */
async function destinationId(url: URL, sha256Hex: Sha256Hex): Promise<DestinationId> {
  return (await sha256Hex(`destination\u0000${url.href}`)).slice(0, 32);
}

function destinationPath(stateDir: string, id: DestinationId): string {
  return `${stateDir}/${STATE_LAYOUT.destinations}/${id}.json`;
}

/**
 * Names the tracker of a ping the hook is about to spool: `saved` for the URL
 * `install` saved, else the id of the URL in force (see
 * {@linkcode destinationId}).
 *
 * @param runtime The runtime adapter.
 * @param url The ping URL in force for this session.
 * @param fromSavedConfig Whether that URL is the one `install` saved.
 * @returns The destination to write into the spool entry.
 */
async function destinationOf(runtime: Runtime, url: URL, fromSavedConfig: boolean): Promise<DestinationId> {
  return fromSavedConfig ? SAVED_DESTINATION : await destinationId(url, runtime.sha256Hex);
}

/**
 * Makes sure a destination's file exists and holds its URL once its ping is
 * spooled: created (0600, exclusively, never through a symlink) when it is
 * new, and written again when it holds anything else (a crash between its
 * creation and its write leaves it empty, and a file the sender cannot read
 * would keep that tracker's pings waiting until they are too old). Done after
 * the ping is spooled: the cleaning (see {@linkcode removeUnusedDestinations})
 * looks for pings naming a destination again after removing it, so between
 * the two, a destination a ping names always ends up on disk.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory (checked).
 * @param id The destination (nothing to do for `saved`).
 * @param url Its ping URL.
 * @throws When the file cannot be written (a full disk): the ping cannot be sent from the spool.
 */
async function keepDestination(runtime: Runtime, stateDir: string, id: DestinationId, url: URL): Promise<void> {
  if (id === SAVED_DESTINATION) return;
  const path = destinationPath(stateDir, id);
  const text = JSON.stringify({ url: url.href }) + "\n";
  // Usually there already, whole: one lstat and one small read, rather than a create that fails.
  const facts = await runtime.lstat(path);
  if (facts !== undefined && await holdsText(runtime, path, facts, text)) return;
  // Anything else there (an empty or damaged file, a directory or a symlink planted in the folder) is removed
  // first; what cannot be removed makes the create below fail, and the hook sends the ping directly instead.
  if (facts !== undefined) await runtime.removeFile(path).catch(() => {});
  let created: boolean;
  try {
    created = await runtime.createPrivateFile(path, text);
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ENOENT" && (error as Error).name !== "NotFound") throw error;
    await runtime.makePrivateDirectory(`${stateDir}/${STATE_LAYOUT.destinations}`);
    created = await runtime.createPrivateFile(path, text);
  }
  // Not created: something is there again. A file is another hook's for the same tracker (the name is the URL's
  // hash), perhaps being written this moment: the ping stays spooled. Anything else is no destination file.
  if (!created && (await runtime.lstat(path))?.kind !== "file") {
    throw new Error(`cannot write "${path}": something else is there`);
  }
}

/**
 * Whether a regular file holds exactly `text`, an ASCII text (a URL's `href` is ASCII: its size in bytes is its
 * length), by its size first: a read only when it can match.
 */
async function holdsText(runtime: Runtime, path: string, facts: FileFacts, text: string): Promise<boolean> {
  return facts.kind === "file" && facts.size === text.length && await runtime.readTextFile(path) === text;
}

/**
 * The ping URL a destination id names, from its file, checked: the file must
 * hold a URL whose id is its name (a file swapped for another tracker's is
 * refused) and that {@linkcode parsePingUrl} accepts.
 *
 * @param fs The file API.
 * @param stateDir The state directory.
 * @param id A destination id (not `saved`).
 * @returns The URL, or undefined when the file is missing or does not hold its URL.
 */
async function resolveDestination(
  fs: FsPromises,
  stateDir: string,
  id: DestinationId,
): Promise<URL | undefined> {
  if (!DESTINATION_ID.test(id)) return undefined;
  const saved = await readJsonFile(fs, destinationPath(stateDir, id)) as { url?: unknown } | undefined;
  if (saved === null || typeof saved !== "object" || typeof saved.url !== "string") return undefined;
  try {
    const url = parsePingUrl(saved.url);
    return (await destinationId(url, webCryptoSha256Hex)) === id ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes the destination files no waiting ping names: a tracker's token
 * stays on disk only while a ping waits for it (a plugin's URL is otherwise
 * kept in Claude Code's credential store only). A file is put back when,
 * once it is gone, `inUse` says a ping names it after all (a hook spooled one
 * meanwhile; the hook writes the file after its ping, so one of the two
 * always leaves it in place).
 *
 * @param fs The file API.
 * @param stateDir The state directory.
 * @param inUse Reads the destinations that waiting or set-aside pings name, now.
 * @returns How many files were removed.
 */
async function removeUnusedDestinations(
  fs: FsPromises,
  stateDir: string,
  inUse: () => Promise<ReadonlySet<DestinationId>>,
): Promise<number> {
  const dir = `${stateDir}/${STATE_LAYOUT.destinations}`;
  const ids = (await fs.readdir(dir).catch(() => [] as string[]))
    .map((name) => name.endsWith(".json") ? name.slice(0, -5) : "")
    .filter((id) => DESTINATION_ID.test(id));
  // Reading every waiting ping costs: only when there is a destination to keep or remove.
  const named = ids.length === 0 ? new Set<DestinationId>() : await inUse();
  let removed = 0;
  for (const id of ids) {
    if (named.has(id)) continue;
    const path = `${dir}/${id}.json`;
    const url = await resolveDestination(fs, stateDir, id);
    if (!(await fs.rm(path).then(() => true, () => false))) continue;
    removed++;
    if (url !== undefined && (await inUse()).has(id)) {
      await fs.writeFile(path, JSON.stringify({ url: url.href }) + "\n", { flag: "wx", mode: 0o600 }).catch(() => {});
      removed--;
    }
  }
  return removed;
}

// ---------------------------------------------------------------------------
// src/launch.ts
//
// How the hook is started: the command line that runs it under each runtime
// (Deno's narrow permission flags, Bun's flags), and what no runtime it
// starts may inherit. The launcher script (see {@linkcode launcherScript})
// builds the same command lines from the same constants.
//
// Owns: `hookArgv`, `denoRunFlags`, the runtimes' flags, finding a runtime's binary, hook.ts as JavaScript
// for Node, shell quoting.
// Uses: runtime, state_dir, config.

/** What the narrowest Deno flags are made of: the tracker's host and Claude Code's folder (transcripts). */
export interface NarrowAccess {
  /** The ping URL's host, with its port if it has one. */
  pingHost: string;
  /** Claude Code's configuration folder (`CLAUDE_CONFIG_DIR`, default `~/.claude`). */
  claudeDir: string;
  /** Its `projects/` folder with symlinks resolved, when that is elsewhere (a `~/.claude` kept in dotfiles, say). */
  projectsDir?: string;
}

/**
 * Why a path cannot go into Deno's narrow permission flags, or undefined when
 * it can: Deno splits a flag's list at commas, so `--allow-write=/tmp/a,b/x`
 * would grant `/tmp/a` and `b/x` instead.
 *
 * @param paths The paths the flags would name.
 * @returns One line naming the path, or undefined.
 */
function denoFlagProblem(paths: readonly string[]): string | undefined {
  const bad = paths.find((path) => path.includes(","));
  return bad === undefined
    ? undefined
    : `the path "${bad}" holds a comma, which Deno's permission flags cannot express`;
}

/**
 * Bun's flags: no configuration (Bun reads `bunfig.toml` from the folder it
 * starts in, a repository's, and the user's global one, whose `preload` runs
 * code; `--config` replaces both), no `.env` of the project, no auto-install.
 */
const BUN_RUN_FLAGS: readonly string[] = ["--config=/dev/null", "--no-env-file", "--no-install"];

/** Deno's flags before the permissions: no `deno.json` or lock file of the folder it starts in, never a prompt. */
const DENO_BASE_FLAGS: readonly string[] = ["--no-config", "--no-lock", "--no-prompt"];

/**
 * The Deno flags the hook and its sender run with. Narrowed (what `install`
 * writes): the network to the tracker's host only, the environment to the
 * variables the hook reads, reading to Claude Code's transcripts
 * (`projects/`, not its credentials), managed settings (an organisation's
 * prices), the state directory and Deno itself,
 * writing to the state directory, running only Deno (the sender), and knowing
 * its own user id (to check the state directory's owner). Without
 * `narrow`: any host, any variable, any file.
 *
 * @param denoPath The Deno binary.
 * @param stateDir The state directory.
 * @param narrow The tracker's host and Claude Code's folder, to narrow the flags.
 * @returns Flags for `deno run`, before the script.
 * @throws {TypeError} When a path holds a comma (see {@linkcode denoFlagProblem}).
 */
function denoRunFlags(denoPath: string, stateDir: string, narrow?: NarrowAccess): string[] {
  const reads = narrow === undefined ? [] : [
    `${narrow.claudeDir}/projects`,
    ...(narrow.projectsDir ? [narrow.projectsDir] : []),
    stateDir,
    denoPath,
    ...MANAGED_SETTINGS_DIRS,
  ];
  const problem = denoFlagProblem([stateDir, denoPath, ...reads]);
  if (problem !== undefined) throw new TypeError(problem);
  if (narrow === undefined) {
    return [
      ...DENO_BASE_FLAGS,
      "--allow-net",
      "--allow-env",
      "--allow-read",
      `--allow-write=${stateDir}`,
      `--allow-run=${denoPath}`,
      "--allow-sys=uid",
    ];
  }
  return [
    ...DENO_BASE_FLAGS,
    `--allow-net=${narrow.pingHost}`,
    `--allow-env=${ENV_NAMES.join(",")}`,
    `--allow-read=${[...new Set(reads)].join(",")}`,
    `--allow-write=${stateDir}`,
    `--allow-run=${denoPath}`,
    "--allow-sys=uid",
  ];
}

/**
 * The command line that runs a hook file under a runtime, with that runtime's flags.
 *
 * @param kind The runtime.
 * @param runtimePath Its binary.
 * @param hookFile The hook file (hook.ts, or the npm build's bundle under Node).
 * @param stateDir The state directory (Deno's write permission).
 * @param narrow For Deno: narrow the flags to this host and folder.
 * @returns The argv, without the hook's own arguments.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const argv = hookArgv("bun", "/usr/bin/bun", "/home/me/.claude/hooks/telemhq.ts", "/home/me/.claude/telemhq");
 * assert.deepEqual(argv, ["/usr/bin/bun", ...BUN_RUN_FLAGS, "/home/me/.claude/hooks/telemhq.ts"]);
 * ```
 */
export function hookArgv(
  kind: RuntimeKind,
  runtimePath: string,
  hookFile: string,
  stateDir: string,
  narrow?: NarrowAccess,
): string[] {
  if (kind === "deno") return [runtimePath, "run", ...denoRunFlags(runtimePath, stateDir, narrow), hookFile];
  if (kind === "bun") return [runtimePath, ...BUN_RUN_FLAGS, hookFile];
  return [runtimePath, hookFile];
}

/**
 * The command that runs this script again with `args` (to start a sender):
 * with what this process was given, so narrow flags only if it runs narrowed.
 *
 * @param runtime The runtime adapter.
 * @param args Arguments for the script.
 * @param stateDir The state directory.
 * @param narrow The narrow access to use when this process runs narrowed.
 * @returns The argv, or undefined when this script is not a local file.
 */
function selfCommand(
  runtime: Runtime,
  args: readonly string[],
  stateDir: string,
  narrow?: NarrowAccess,
): string[] | undefined {
  if (runtime.scriptPath === undefined) return undefined;
  const access = runtime.mayReach() ? undefined : narrow;
  return [...hookArgv(runtime.kind, runtime.execPath, runtime.scriptPath, stateDir, access), ...args];
}

/**
 * Quotes a word for a POSIX shell.
 *
 * @param word Any string.
 * @returns The word, quoted only when it needs to be.
 */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'"'"'`)}'`;
}

/**
 * Finds a runtime's binary by the path the user's `PATH` names (a version manager's or Homebrew's link, which
 * an upgrade keeps, where the file it leads to goes): for this process's runtime, the PATH entry that leads
 * to it, else its own path; for another, the first on PATH or where its installer puts it. Only absolute PATH
 * entries count.
 *
 * @param runtime The runtime adapter.
 * @param kind The runtime to find.
 * @returns Its binary, or undefined when none is found.
 */
async function findRuntimeBinary(runtime: Runtime, kind: RuntimeKind): Promise<string | undefined> {
  const fs = await runtime.fs();
  const home = runtime.env("HOME");
  const dirs = [...(runtime.env("PATH") ?? "").split(":"), `${home}/.${kind}/bin`].filter((dir) => dir.startsWith("/"));
  const self = runtime.kind === kind ? await runtime.realpath(runtime.execPath) : undefined;
  for (const dir of dirs) {
    const path = `${dir}/${kind}`;
    if (!(await fs.access(path, 1 /* X_OK */).then(() => true, () => false))) continue;
    if (self === undefined || (await runtime.realpath(path)) === self) return path;
  }
  return runtime.kind === kind ? runtime.execPath : undefined;
}

/**
 * What Deno's narrow flags for a ping URL are made of, when Claude Code's folder is known.
 *
 * @param env Looks up an environment variable.
 * @param pingUrl The ping URL in force.
 * @returns The tracker's host and Claude Code's folder, or undefined.
 */
function narrowAccess(env: EnvLookup, pingUrl: string | undefined): NarrowAccess | undefined {
  const claudeDir = claudeDirectory(env);
  const host = pingUrl === undefined ? undefined : attempt(() => new URL(pingUrl).host, undefined);
  return claudeDir === undefined || host === undefined ? undefined : { pingHost: host, claudeDir };
}

/**
 * hook.ts as plain JavaScript, for Node (which then neither needs 22.18 nor strips types on every start): the
 * same code, line for line, its types blanked out by the type stripper Node and Deno share
 * (`stripTypeScriptTypes` of `node:module`), under a Node shebang and a line that says where it comes from.
 *
 * @param source hook.ts's text.
 * @param strip The type stripper.
 * @returns The JavaScript.
 */
function javascriptOf(source: string, strip: (code: string, options: { mode: "strip" }) => string): string {
  return strip(source, { mode: "strip" }).replace(
    /^#!.*\n/,
    "#!/usr/bin/env node\n// GENERATED from hook.ts by `deno task build:hook` (types stripped, nothing else changed): edit src/.\n",
  );
}

/**
 * The file Node starts the hook through (the npm bin, the plugin's `hook-node.mjs`, the installed
 * `telemhq-node.mjs`): it enables Node's compile cache (22.1+) before it loads the hook's JavaScript, so that a
 * cached compile spares each event some 10 ms. The cache runs code, so it lives only in the user's private state
 * folder, `<state>/node-compile-cache`, and only when that folder, the state folder and every folder above them
 * are safe (Node's default, a shared folder under /tmp, lets another local user plant code). Plain JavaScript:
 * it runs before the hook.
 *
 * @param hookFile The JavaScript beside it to run (`hook.mjs`, `telemhq.mjs`).
 * @returns The file's text.
 */
function nodeEntrySource(hookFile: string): string {
  return NODE_ENTRY.replaceAll("@@HOOK@@", hookFile);
}

const NODE_ENTRY = `#!/usr/bin/env node
// The TelemHQ hook for Claude Code, started by Node: see README.md. The hook itself is @@HOOK@@.
const fs = process.getBuiltinModule?.("node:fs");
const uid = process.getuid?.();

// Folders only this user (or root, above) can change: a compile cache elsewhere could be made to run another's code.
function privateCacheFolder() {
  const env = process.env;
  const absolute = (path) => typeof path === "string" && path.startsWith("/");
  const claudeDir = env.CLAUDE_CONFIG_DIR ? env.CLAUDE_CONFIG_DIR : absolute(env.HOME) ? env.HOME + "/.claude" : "";
  const state = (env.TELEMHQ_STATE_DIR || claudeDir + "/telemhq").replace(/\\/+$/, "");
  if (fs === undefined || uid === undefined || !absolute(state)) return undefined;
  const ours = (path, exact) => {
    const stat = fs.lstatSync(path, { throwIfNoEntry: false });
    if (stat === undefined || !stat.isDirectory()) return false;
    if (exact) return stat.uid === uid && (stat.mode & 0o077) === 0;
    return (stat.uid === uid || stat.uid === 0) && ((stat.mode & 0o022) === 0 || (stat.mode & 0o1000) !== 0);
  };
  for (let end = state.lastIndexOf("/"); end > 0; end = state.lastIndexOf("/", end - 1)) {
    if (!ours(state.slice(0, end), false)) return undefined;
  }
  if (!ours(state, true)) return undefined;
  const cache = state + "/${STATE_LAYOUT.nodeCompileCache}";
  if (fs.lstatSync(cache, { throwIfNoEntry: false }) === undefined) fs.mkdirSync(cache, { mode: 0o700 });
  return ours(cache, true) ? cache : undefined;
}

try {
  const cache = privateCacheFolder();
  if (cache !== undefined) process.getBuiltinModule?.("node:module")?.enableCompileCache?.(cache);
} catch {
  // No cache: the hook only runs a few milliseconds slower.
}
const { runCommandLine } = await import(new URL("./@@HOOK@@", import.meta.url).href);
await runCommandLine();
`;

// ---------------------------------------------------------------------------
// src/launcher.ts
//
// The launcher: one POSIX shell script, `telemhq.sh`, that starts hook.ts for
// both routes (the plugin's `hooks/hooks.json`, and the settings command
// `install` writes next to the installed hook), so that there is one way to
// start each runtime. For an event it is the fast path: Claude Code waits
// only for the hand-off. It starts every runtime from `/`, with configuration
// a repository cannot choose (Bun's `--config=/dev/null`, Deno's
// `--no-config`), without the environment variables that make a runtime load
// code (`NODE_OPTIONS`, `BUN_OPTIONS`, `DENO_DIR`, ...), and finds every
// program through absolute `PATH` entries only.
//
// Owns: `launcherScript`, `launcherArgs`, `launcherCommand`, `LAUNCHER_FILE_NAME`.
// Uses: runtime, config, launch.

/** The launcher's file name: in the plugin's `hooks/`, and in Claude Code's `hooks/` beside the installed hook. */
const LAUNCHER_FILE_NAME = "telemhq.sh";

/** The commands of hook.ts the launcher runs in the foreground, for people (the rest of its words are refused). */
const LAUNCHER_COMMANDS: readonly string[] = [
  "doctor",
  "status",
  "flush",
  "log",
  "report",
  "install",
  "uninstall",
  "command",
];

/**
 * The launcher's options that run an installed hook: the runtime `install`
 * chose, by the path the user's `PATH` names (a version manager's or
 * Homebrew's link, which survives an upgrade; the launcher finds another
 * runtime when it is gone), the hook file, and for Deno the tracker's host
 * its network permission is narrowed to.
 *
 * @param kind The runtime.
 * @param runtimePath Its binary.
 * @param hookFile The installed hook file.
 * @param host For Deno: the host of the URL `install` saved.
 * @returns The options, before any command.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(launcherArgs("bun", "/usr/bin/bun", "/h/hook.ts"), ["--bun", "/usr/bin/bun", "--hook", "/h/hook.ts"]);
 * ```
 */
export function launcherArgs(kind: RuntimeKind, runtimePath: string, hookFile: string, host?: string): string[] {
  const args = [`--${kind}`, runtimePath, "--hook", hookFile];
  if (kind === "deno" && host !== undefined) args.push("--host", host);
  return args;
}

/**
 * The launcher as a team's managed policy names it: in each user's own Claude Code folder, expanded by the shell
 * that runs the hook, so that one policy works for every user of every machine (each has run `install` once).
 */
const POLICY_LAUNCHER_PATH = "${CLAUDE_CONFIG_DIR:-$HOME/.claude}/hooks/" + LAUNCHER_FILE_NAME;

/**
 * The hook command of a team's managed policy (see {@linkcode POLICY_LAUNCHER_PATH}): no path of one user in it.
 * A user who has not installed yet has no launcher: nothing runs and the hook exits 0 (a missing file would make
 * `sh` exit 2, which Claude Code takes as a blocking error and shows the model).
 */
export const POLICY_HOOK_COMMAND =
  `trap '' TERM HUP; l="${POLICY_LAUNCHER_PATH}"; [ -f "$l" ] || exit 0; exec /bin/sh "$l"`;

/**
 * The settings.json command that runs the installed hook through the launcher.
 *
 * @param launcher The installed launcher (`~/.claude/hooks/telemhq.sh`).
 * @param args Its options (see {@linkcode launcherArgs}).
 * @returns A command line for `sh -c`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(
 *   launcherCommand("/h/.claude/hooks/telemhq.sh", ["--bun", "/usr/bin/bun"]),
 *   "trap '' TERM HUP; exec /bin/sh /h/.claude/hooks/telemhq.sh --bun /usr/bin/bun",
 * );
 * assert.match(launcherCommand("C:\\Users\\me\\.claude/hooks/telemhq.sh", []), /C:\/Users\/me\/\.claude\/hooks/);
 * ```
 */
export function launcherCommand(launcher: string, args: readonly string[]): string {
  // Claude Code may end the hook's shell with SIGTERM 15-50 ms after starting it: ignored from the first instant,
  // and, ignored, it stays ignored across exec into the launcher and in what the launcher starts.
  // On Windows the shell is Git Bash: a path there is C:/Users/..., as Claude Code writes its own for Git Bash.
  const words = ["/bin/sh", launcher, ...args].map((word) =>
    /^[A-Za-z]:\\/.test(word) ? word.replaceAll("\\", "/") : word
  );
  return `trap '' TERM HUP; exec ${words.map(shellWord).join(" ")}`;
}

/**
 * The launcher script's text (see the module's doc). `deno task build:hook`
 * writes it to the plugin's `hooks/telemhq.sh`; `install` writes it beside
 * the installed hook. Its lists (the variables Deno may read, the managed
 * settings folders, the flags) come from the same constants as the command
 * lines hook.ts builds for its sender, and a test runs both and compares.
 *
 * @param installed The runtime `install` chose, by its absolute path: the one the commands people type run
 *   under when no `--bun`, `--deno` or `--node` is given (the hook's own command line always names it), so that
 *   `doctor` and `uninstall` work when that runtime is not on `PATH`. None for the plugin's launcher.
 * @returns The script.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.ok(launcherScript().startsWith("#!/bin/sh\n"));
 * assert.match(launcherScript({ kind: "deno", path: "/opt/my deno/deno" }), /^INSTALLED_PATH='\/opt\/my deno\/deno'$/m);
 * ```
 */
export function launcherScript(installed?: { kind: RuntimeKind; path: string }): string {
  const managed = MANAGED_SETTINGS_DIRS.join(",");
  const values: Record<string, string> = {
    INSTALLED_KIND: installed?.kind ?? "",
    INSTALLED_PATH: installed === undefined ? "''" : shellWord(installed.path),
    ENV_NAMES: ENV_NAMES.join(","),
    MANAGED_DIRS: managed,
    UNSAFE_ENV: UNSAFE_ENV_NAMES.join(" "),
    BUN_FLAGS: BUN_RUN_FLAGS.join(" "),
    DENO_FLAGS: DENO_BASE_FLAGS.join(" "),
    COMMANDS: LAUNCHER_COMMANDS.join(" | "),
  };
  // A function, never a replacement string: in one, "$'" or "$`" (a path may hold them) would paste the script.
  return SCRIPT.replace(/@@([A-Z_]+)@@/g, (placeholder, name: string) => {
    if (!Object.hasOwn(values, name)) throw new Error(`launcherScript() has no value for ${placeholder}`);
    return values[name];
  });
}

const SCRIPT = `#!/bin/sh
# TelemHQ's launcher for Claude Code hooks: starts hook.ts for one event, or runs one of its commands.
# GENERATED from src/launcher.ts by \`deno task build:hook\`: edit that, not this file.
#
# For an event (no command), Claude Code waits for this script, so it only hands the event on: it ignores
# SIGTERM and SIGHUP (Claude Code's teardown may signal it 15-50 ms after the start; an ignored signal stays
# ignored in what it starts) and starts hook.ts from "/", in a session of its own, under the runtime given
# (--bun, --deno or --node PATH) or, when that is gone, the first it finds: Bun, then Deno, then Node 22.18
# or later. It exits at once. With no runtime the event is dropped silently (Claude Code must never be
# disturbed); \`telemhq.sh doctor\` says what is missing.
#
# Every program is found through absolute PATH entries only (an empty or relative one is the folder Claude
# Code runs in: a repository's), no runtime reads configuration a repository can hold (Bun's bunfig.toml,
# Deno's deno.json), and the variables that make a runtime load code are not passed on.
#
# Usage: telemhq.sh [--bun|--deno|--node PATH] [--hook FILE] [--host HOST] [tool]   one event on stdin
#        telemhq.sh [--bun|--deno|--node PATH] [--hook FILE] COMMAND [ARGS...]       a command; see --help
set -u
# First of all, before the shell reads the rest: Claude Code's teardown may signal it within milliseconds.
trap '' TERM HUP

# --- lists shared with hook.ts (src/config.ts, src/launch.ts) ---
ENV_NAMES=@@ENV_NAMES@@
MANAGED_DIRS='@@MANAGED_DIRS@@'
UNSAFE_ENV='@@UNSAFE_ENV@@'
BUN_FLAGS='@@BUN_FLAGS@@'
DENO_FLAGS='@@DENO_FLAGS@@'
# ---
# The runtime install chose (none in the plugin's copy): what a command runs under when none is given.
INSTALLED_KIND=@@INSTALLED_KIND@@
INSTALLED_PATH=@@INSTALLED_PATH@@

# Keeps only absolute PATH entries: a relative or empty one would let the current folder choose the program.
absolute_path() {
  kept=""
  old_ifs=$IFS
  IFS=:
  set -f
  for dir in $PATH; do
    case $dir in /*) kept=\${kept:+$kept:}$dir ;; esac
  done
  set +f
  IFS=$old_ifs
  PATH=$kept
  export PATH
}

# Git Bash on Windows (MSYS2 has /proc/cygdrive; no user can create it on Linux or macOS, unlike a variable).
DRIVE_PATHS=""
[ -e /proc/cygdrive ] && DRIVE_PATHS=1

# True for an absolute path: /x, or C:/x in Git Bash on Windows (elsewhere C:/x is a folder in the current one).
absolute() {
  case $1 in
    /*) return 0 ;;
    [A-Za-z]:/*) [ -n "$DRIVE_PATHS" ] ;;
    *) return 1 ;;
  esac
}

# True for a program this launcher may run: an absolute path, executable, not a folder.
usable() {
  absolute "$1" && [ -f "$1" ] && [ -x "$1" ] || return 1
  # In a temporary folder (bunx keeps what it fetches in /tmp), a program is run only when it is this user's own: the
  # system may clean a folder of ours there, and anyone can make it again. Elsewhere, install checked its folders.
  case $1 in /tmp/* | /var/tmp/* | /dev/shm/*) [ -O "$1" ] ;; esac
}

# Sets FOUND to a program on PATH (absolute entries only, see absolute_path). Builtins only: the fast path forks
# nothing it can avoid.
find_program() {
  FOUND=""
  old_ifs=$IFS
  IFS=:
  set -f
  for dir in $PATH; do
    if usable "$dir/$1"; then
      FOUND=$dir/$1
      break
    fi
  done
  set +f
  IFS=$old_ifs
  [ -n "$FOUND" ]
}

# Sets REAL to a path with its symlinks resolved (Deno checks --allow-run and --allow-read against real paths):
# by realpath, or readlink and the shell's own cd -P (macOS before 13 has no realpath); run only for a link.
real_path() {
  REAL=$1
  if [ -L "$REAL" ] && find_program realpath && resolved=$("$FOUND" -- "$REAL" 2>/dev/null) && [ -n "$resolved" ]; then
    REAL=$resolved
    return 0
  fi
  hops=0
  while [ -L "$REAL" ] && [ "$hops" -lt 16 ] && find_program readlink; do
    link=$("$FOUND" -- "$REAL" 2>/dev/null) || break
    case $link in
      /*) REAL=$link ;;
      *) REAL=\${REAL%/*}/$link ;;
    esac
    hops=$((hops + 1))
  done
  back=$PWD
  if CDPATH='' cd -P -- "\${REAL%/*}/" 2>/dev/null; then
    REAL=\${PWD%/}/\${REAL##*/}
    cd -- "$back" || exit 0
  fi
}

# Sets SLASHLESS to a folder without its trailing slashes, as hook.ts names it.
without_slashes() {
  SLASHLESS=$1
  while :; do
    case $SLASHLESS in
      ?*/) SLASHLESS=\${SLASHLESS%/} ;;
      *) break ;;
    esac
  done
}

# Sets CLAUDE (Claude Code's folder) and STATE (the hook's state folder), as hook.ts finds them.
find_folders() {
  if [ -n "\${CLAUDE_CONFIG_DIR:-}" ]; then
    without_slashes "$CLAUDE_CONFIG_DIR"
    CLAUDE=$SLASHLESS
  else
    without_slashes "\${HOME:-}"
    CLAUDE=$SLASHLESS/.claude
  fi
  if [ -n "\${TELEMHQ_STATE_DIR:-}" ]; then
    without_slashes "$TELEMHQ_STATE_DIR"
    STATE=$SLASHLESS
  else
    STATE=$CLAUDE/telemhq
  fi
}

# True when a path may go into Deno's flags: absolute, no comma (it separates their lists), no line break.
flag_safe() {
  absolute "$1" || return 1
  case $1 in
    *,* | *'
'*) return 1 ;;
  esac
}

# Sets NET to "=host" for Deno's --allow-net: the ping URL's host (as the URL parser gives it: no user, no default
# port) when the URL is known here, else --host; otherwise "" (any host; the hook still refuses a URL it cannot use).
net_host() {
  url=\${TELEMHQ_PING_URL:-\${CLAUDE_PLUGIN_OPTION_PING_URL:-}}
  if [ -z "$url" ]; then
    host=$HOST_OPTION
  else
    host=\${url#*://}
    host=\${host%%/*}
    host=\${host##*@}
    case $url in https://*) host=\${host%:443} ;; http://*) host=\${host%:80} ;; esac
  fi
  case $host in
    "" | *[!A-Za-z0-9.:-]*) NET="" ;;
    *) NET="=$host" ;;
  esac
}

# Node runs the JavaScript beside hook.ts (hook.mjs, the same code with its types stripped) from 20 on, and hook.ts
# itself from 22.18 (23.6 on the odd line), where it strips the types on every start.
node_runs() {
  # From "/": a version manager's shim picks its program by the folder it runs in, and a repository's
  # .tool-versions or .nvmrc must not choose what runs (or see the environment, the plugin's URL among it).
  version=$(cd / && "$1" --version 2>/dev/null) || return 1
  version=\${version#v}
  major=\${version%%.*}
  rest=\${version#*.}
  minor=\${rest%%.*}
  case $major$minor in "" | *[!0-9]*) return 1 ;; esac
  [ -n "$NODE_HOOK" ] && [ "$major" -ge 20 ] && return 0
  case $HOOK in *.ts) ;; *) [ "$major" -ge 20 ]; return ;; esac
  [ "$major" -ge 24 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge 18 ]; } || { [ "$major" -eq 23 ] && [ "$minor" -ge 6 ]; }
}

# Chooses the runtime: the one given (install checked its version), else the one install chose, if it is still
# there, else the first found. Sets KIND and RUNTIME.
choose_runtime() {
  if [ -n "$GIVEN_KIND" ] && usable "$GIVEN_PATH"; then
    KIND=$GIVEN_KIND
    RUNTIME=$GIVEN_PATH
    return 0
  fi
  if [ -z "$GIVEN_KIND" ] && [ -n "$INSTALLED_KIND" ] && usable "$INSTALLED_PATH"; then
    KIND=$INSTALLED_KIND
    RUNTIME=$INSTALLED_PATH
    return 0
  fi
  case $HOOK in
    *.ts) kinds="bun deno node" ;;
    *) kinds="node" ;;
  esac
  for kind in $kinds; do
    find_program "$kind" || FOUND=""
    for candidate in "$FOUND" "\${HOME:-}/.$kind/bin/$kind"; do
      if usable "$candidate" && { [ "$kind" != node ] || node_runs "$candidate"; }; then
        KIND=$kind
        RUNTIME=$candidate
        return 0
      fi
    done
  done
  return 1
}

# Adds a word to WORDS, the command line being built (one word per line).
add_words() {
  for word in "$@"; do
    WORDS="$WORDS$word
"
  done
}

# Sets WORDS to the command line that runs hook.ts, one word per line: narrow Deno permissions for an event (and
# ping-test, doctor's test of them), every permission for a command people type. Fails when a path cannot go into
# Deno's flags.
runtime_words() {
  WORDS=""
  case $KIND in
    bun)
      # shellcheck disable=SC2086 # the flags are split on purpose
      add_words "$RUNTIME" $BUN_FLAGS "$HOOK"
      ;;
    node) add_words "$RUNTIME" "\${NODE_HOOK:-$HOOK}" ;;
    deno)
      real_path "$RUNTIME"
      deno=$REAL
      allow_run=--allow-run=$deno
      case \${REAL##*/} in
        deno) ;;
        *)
          # A version manager's shim (mise) leads to the manager, not to Deno: run the shim itself (from "/", where
          # only its global choice holds), and let the hook start its sender through the Deno that turns out to be.
          deno=$RUNTIME
          allow_run=--allow-run
          ;;
      esac
      if [ "$1" = all ]; then
        # shellcheck disable=SC2086
        add_words "$deno" run $DENO_FLAGS --allow-all "$HOOK"
        return 0
      fi
      find_folders
      reads="$CLAUDE/projects"
      projects=/
      if [ -d "$CLAUDE/projects" ]; then
        real_path "$CLAUDE/projects"
        projects=$REAL
        [ "$projects" = "$CLAUDE/projects" ] || reads="$reads,$projects"
      fi
      flag_safe "$STATE" && flag_safe "$CLAUDE" && flag_safe "$deno" && flag_safe "$HOOK" && flag_safe "$projects" ||
        return 1
      net_host
      # shellcheck disable=SC2086
      add_words "$deno" run $DENO_FLAGS "--allow-net$NET" "--allow-env=$ENV_NAMES" \\
        "--allow-read=$reads,$STATE,$deno,$MANAGED_DIRS" "--allow-write=$STATE" "$allow_run" --allow-sys=uid \\
        "$HOOK"
      ;;
  esac
}

# Says that no runtime runs hook.ts for a command, and what to install.
no_runtime() {
  found=""
  find_program node && found=" (found Node $("$FOUND" --version 2>/dev/null), too old)"
  gone=""
  [ -n "$INSTALLED_KIND" ] && gone=" (install chose $INSTALLED_PATH, which is gone)"
  if [ -n "$NODE_HOOK" ]; then
    printf '%s\n' "TelemHQ: no runtime for \${HOOK##*/}$gone: looked for Bun, Deno and Node 20 or later on PATH$found." >&2
    echo "Install one (Bun: https://bun.sh, Deno: https://deno.com, or Node 20+), then run this command again." >&2
  else
    printf '%s\n' "TelemHQ: no runtime for \${HOOK##*/}$gone: looked for Bun, Deno and Node 22.18 or later on PATH$found." >&2
    echo "Install one (Bun: https://bun.sh, Deno: https://deno.com, or Node 22.18+), then run this command again." >&2
  fi
  [ -n "$gone" ] && echo "Or install again for Node 20 or later, from a clone: sh hooks/telemhq.sh install --url -" >&2
  return 0
}

# The same, for the user inside Claude Code: a SessionStart hook's JSON answer (nothing in it comes from outside).
no_runtime_notice() {
  printf '%s\n' '{"systemMessage":"TelemHQ: no runtime for the hook (looked for Bun, Deno and Node 20 or later on PATH), so no usage is sent. Install one (https://bun.sh, https://deno.com or Node 20+), then start Claude Code again; sh <plugin folder>/hooks/telemhq.sh doctor says more."}'
}

# Runs a command of hook.ts in the foreground, in the folder it was asked from (doctor reads its project).
run_command() {
  if ! choose_runtime; then
    no_runtime
    return 1
  fi
  mode=all
  if [ "$1" = ping-test ]; then
    # doctor's test of the hook's own permissions, run as an event would be: from "/".
    mode=narrow
    cd / || return 1
  fi
  if ! runtime_words "$mode"; then
    echo "TelemHQ: a path holds a comma, which Deno's permission flags cannot express: use Bun." >&2
    return 1
  fi
  # Started from "/" too: a version manager's shim would pick the program by this folder's files. hook.ts goes
  # back to the folder named here once it runs (doctor and install read its project).
  TELEMHQ_EVENT_DIR=$PWD && export TELEMHQ_EVENT_DIR
  cd / || return 1
  old_ifs=$IFS
  IFS='
'
  set -f
  # shellcheck disable=SC2086 # one word per line: split on newlines only, never globbed
  set -- $WORDS "$@"
  set +f
  IFS=$old_ifs
  exec "$@"
}

# Hands the event (stdin) to hook.ts in a session of its own, from "/", and returns at once.
hand_on() {
  if ! choose_runtime || ! runtime_words narrow; then
    find_program cat && "$FOUND" >/dev/null
    return 0
  fi
  # The project folder goes by the environment, which only this user can read: a command line is every user's.
  TELEMHQ_EVENT_DIR=$PWD && export TELEMHQ_EVENT_DIR
  old_ifs=$IFS
  IFS='
'
  set -f
  # shellcheck disable=SC2086 # one word per line: split on newlines only, never globbed
  set -- $WORDS --detached
  set +f
  IFS=$old_ifs
  # A background command of a script reads /dev/null unless told otherwise: the event goes through fd 3.
  exec 3<&0
  cd / || return 0
  # Under TELEMHQ_HOOK_DEBUG=1 the hook's one line goes where this script's stderr goes; otherwise nowhere.
  [ "\${TELEMHQ_HOOK_DEBUG:-}" = 1 ] || exec 2>/dev/null
  if find_program setsid; then
    "$FOUND" "$@" <&3 >/dev/null &
  elif find_program perl; then
    "$FOUND" -MPOSIX -e 'POSIX::setsid(); exec @ARGV' "$@" <&3 >/dev/null &
  else
    "$@" <&3 >/dev/null &
  fi
}

usage() {
  cat >&2 <<'USAGE'
Usage: telemhq.sh                     hand one Claude Code event (on stdin) to the hook (what Claude Code runs)
       telemhq.sh tool                the same for a tool event, sent only with the plugin's tool_activity option
       telemhq.sh COMMAND [ARGS...]   run a command: @@COMMANDS@@
       telemhq.sh --help              the hook's own help, with every command
USAGE
}

main() {
  absolute_path
  # shellcheck disable=SC2086 # the names are split on purpose
  unset $UNSAFE_ENV
  # This script's folder, from its own path alone (no program a broken PATH could swap, never the current folder
  # by accident): absolute as Claude Code runs it (C:/Users/... in Git Bash on Windows), or relative to where a
  # person typed it.
  case $0 in
    */*) absolute "$0" && here=\${0%/*} || here=$PWD/\${0%/*} ;;
    *) here=$PWD ;;
  esac
  absolute "$here" || exit 0
  # The hook beside it: the plugin's (hooks/../hook.ts), or the one install put in Claude Code's hooks/.
  HOOK=\${here%/*}/hook.ts
  for installed in "$here/telemhq.ts" "$here/telemhq.mjs"; do
    [ -f "$HOOK" ] || HOOK=$installed
  done
  NODE_HOOK=""
  GIVEN_KIND=""
  GIVEN_PATH=""
  HOST_OPTION=""
  while [ $# -ge 2 ]; do
    case $1 in
      --bun | --deno | --node) GIVEN_KIND=\${1#--} GIVEN_PATH=$2 ;;
      --hook) HOOK=$2 ;;
      --host) HOST_OPTION=$2 ;;
      *) break ;;
    esac
    shift 2
  done
  # Node runs plain JavaScript beside hook.ts when there is one (no type stripping on every event), through its
  # starter (a private compile cache) when there is one.
  base=\${HOOK%.ts}
  base=\${base%.mjs}
  if [ -f "$base-node.mjs" ]; then
    NODE_HOOK=$base-node.mjs
  elif [ -f "$base.mjs" ]; then
    NODE_HOOK=$base.mjs
  fi
  case "\${1:-}" in
    "") hand_on ;;
    tool)
      # Tool events only with the plugin's tool_activity option on (absent: off).
      if [ "\${CLAUDE_PLUGIN_OPTION_TOOL_ACTIVITY:-false}" = true ]; then hand_on; else cat >/dev/null; fi
      ;;
    session-start)
      # Once a session (hooks.json: at startup and resume), a word to the user when no runtime can run the hook,
      # which would otherwise drop every event silently: Claude Code shows a SessionStart hook's systemMessage.
      # With a runtime, nothing: no output, nothing started.
      find_program cat && "$FOUND" >/dev/null
      choose_runtime || no_runtime_notice
      ;;
    --print-argv)
      # For the tests: the command line an event would get, one word per line.
      choose_runtime && runtime_words narrow && printf '%s' "$WORDS"
      ;;
    --help | -h | help) run_command --help || usage ;;
    @@COMMANDS@@ | ping-test) run_command "$@" ;;
    *)
      echo "telemhq.sh: unknown command \\"$1\\": run telemhq.sh --help for the commands." >&2
      exit 2
      ;;
  esac
  exit $?
}

main "$@"
`;

// ---------------------------------------------------------------------------
// src/spool.ts
//
// The spool: every ping is written here before any network work, so nothing
// is lost when the tracker is down or a process is killed. The hook writes an
// entry (hot path); the sender loads, claims, reschedules and settles entries.
//
// Owns: `SpoolEntry`, `spoolPing`, the `Spool` a sender works on, claims.
// Uses: input, events, fields, payload, runtime, files, state_dir, destination.

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
 */
function parseSpoolEntry(value: unknown): SpoolEntry | undefined {
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
interface LoadedEntry {
  /** The file name in the spool, `<ping_id>.json`. */
  name: string;
  /** The entry. */
  entry: SpoolEntry;
}

/** A spool entry one sender has claimed (renamed) to send it. */
interface ClaimedEntry extends LoadedEntry {
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
interface SpoolLimits {
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
 */
async function alreadySent(runtime: Runtime, stateDir: string, pingId: string): Promise<boolean> {
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
class Spool {
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

// ---------------------------------------------------------------------------
// src/lock.ts
//
// The sender's lock: at most one sender drains a spool. The lock is a file
// holding its owner's token, created exclusively and touched every second
// (the heartbeat); a lock whose heartbeat stopped is taken over. A hook that
// starts a sender claims the lock for it first, so that of many hooks firing
// at once only one starts a sender; the sender adopts that claim by its token.
//
// Owns: the whole lock protocol (claim, adopt, acquire, heartbeat, release,
// liveness). Uses: runtime, files, state_dir.

/** A sender whose lock is older than this is gone (killed, crashed): another may take over. */
const LOCK_STALE_MS = 5000;
const HEARTBEAT_MS = 1000;

/** A heartbeat within the last few seconds; one in the future (a clock set back, a planted file) is no heartbeat. */
function isFresh(mtimeMs: number): boolean {
  const age = Date.now() - mtimeMs;
  return age < LOCK_STALE_MS && age > -LOCK_STALE_MS;
}

function lockPath(stateDir: string): string {
  return `${stateDir}/${STATE_LAYOUT.lock}`;
}

/**
 * Whether a sender is running: its lock exists and its heartbeat is fresh.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @returns True when a live sender holds the lock.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * assert.equal(await senderIsRunning(detectRuntime(), "/nonexistent"), false);
 * ```
 */
export async function senderIsRunning(runtime: Runtime, stateDir: string): Promise<boolean> {
  const lock = await runtime.lstat(lockPath(stateDir));
  return lock !== undefined && isFresh(lock.mtimeMs);
}

/**
 * Claims the lock for a sender the caller is about to start: its token when
 * the lock was free, undefined when another process holds or just took it.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @returns The token to hand to the sender (`deliver --lock TOKEN`), or undefined.
 */
async function claimLockForSender(runtime: Runtime, stateDir: string): Promise<string | undefined> {
  const token = crypto.randomUUID();
  return await runtime.createPrivateFile(lockPath(stateDir), token).catch(() => false) ? token : undefined;
}

/**
 * Lets go of a lock claimed for a sender that could not be started: removed
 * only while it still holds that claim's token (never another sender's lock).
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @param token The token from {@linkcode claimLockForSender}.
 */
async function releaseClaimedLock(runtime: Runtime, stateDir: string, token: string): Promise<void> {
  const fs = await runtime.fs();
  if ((await readSmallFile(fs, lockPath(stateDir), 100)) === token) {
    await fs.rm(lockPath(stateDir), { force: true }).catch(() => {});
  }
}

/**
 * The arguments that start a sender, handing it a claimed lock's token.
 *
 * @param token The token from {@linkcode claimLockForSender}, if the claim succeeded.
 * @returns The hook's arguments: `deliver [--lock TOKEN]`.
 */
function senderArgs(token: string | undefined): string[] {
  return token === undefined ? ["deliver"] : ["deliver", "--lock", token];
}

/**
 * The claimed lock's token in a sender's arguments (after `deliver`), if any.
 *
 * @param args The arguments after `deliver`.
 * @returns The token, or undefined.
 */
function claimTokenIn(args: readonly string[]): string | undefined {
  return args[0] === "--lock" && typeof args[1] === "string" ? args[1] : undefined;
}

/** The lock, held by this sender. */
class SenderLock {
  #runtime: Runtime;
  #path: string;
  #token: string;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #lost = false;

  private constructor(runtime: Runtime, path: string, token: string) {
    this.#runtime = runtime;
    this.#path = path;
    this.#token = token;
  }

  /**
   * Takes the lock: adopts the claim a hook made for this sender (by its token), else takes
   * it when it is free or its holder is gone. Starts the heartbeat.
   *
   * @returns The lock, or undefined when a live sender holds it.
   */
  static async take(runtime: Runtime, stateDir: string, claimToken?: string): Promise<SenderLock | undefined> {
    const path = lockPath(stateDir);
    const fs = await runtime.fs();
    if (claimToken !== undefined && (await readSmallFile(fs, path, 100)) === claimToken) {
      return new SenderLock(runtime, path, claimToken).#start();
    }
    const token = crypto.randomUUID();
    for (let round = 0; round < 2; round++) {
      if (await runtime.createPrivateFile(path, token)) return new SenderLock(runtime, path, token).#start();
      const stat = await fs.lstat(path).catch(() => undefined);
      if (stat !== undefined && isFresh(stat.mtimeMs)) return undefined;
      // The holder is gone. Move its lock aside (one contender wins the rename), then retry.
      await fs.rename(path, `${path}.stale-${token}`).then(() => fs.rm(`${path}.stale-${token}`, { force: true }))
        .catch(() => {});
    }
    return undefined;
  }

  #start(): this {
    this.#heartbeat = setInterval(() => {
      void this.#beat().then((held) => this.#lost ||= !held);
    }, HEARTBEAT_MS);
    return this;
  }

  /** True once another sender took the lock over: stop sending. */
  get lost(): boolean {
    return this.#lost;
  }

  /** Touches the lock through the file it opened (never through a symlink); false once it is not ours. */
  async #beat(): Promise<boolean> {
    try {
      const { file } = await openRegularFile(await this.#runtime.fs(), this.#path);
      try {
        const buffer = new Uint8Array(100);
        const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
        if (new TextDecoder().decode(buffer.subarray(0, bytesRead)) !== this.#token) return false;
        const now = new Date();
        await file.utimes(now, now);
        return true;
      } finally {
        await file.close();
      }
    } catch {
      return false;
    }
  }

  async #held(): Promise<boolean> {
    return (await readSmallFile(await this.#runtime.fs(), this.#path, 100)) === this.#token;
  }

  /** Stops the heartbeat and lets go of the lock, unless another sender took it over. */
  async release(): Promise<void> {
    clearInterval(this.#heartbeat);
    if (!this.#lost && await this.#held()) await (await this.#runtime.fs()).rm(this.#path, { force: true });
  }
}

// ---------------------------------------------------------------------------
// src/send.ts
//
// One ping request: POST the allowlisted payload as JSON, within a time
// limit, without following redirects, and say whether to retry and when.
//
// Owns: `sendPing`, `retryAfterMs`, `backoffMs`. Uses: fields, payload,
// ping_url.

/** What to do with a ping after one attempt to send it. */
export type SendOutcome = "delivered" | "retry" | "rejected";

/**
 * Outcome of one ping request: `delivered` (2xx); `retry` (5xx, 408, 425,
 * 429, a timeout, a network error), with how long the receiver asked to wait
 * (`Retry-After`, capped at one hour); `rejected` (other 4xx, redirects). A
 * ping not delivered always has a reason: one line, the URL's secret redacted.
 */
export type SendResult =
  | { outcome: "delivered"; status: number }
  | { outcome: "retry"; status?: number; retryAfterMs?: number; reason: string }
  | { outcome: "rejected"; status?: number; reason: string };

/** Statuses worth retrying besides 5xx: the receiver is busy or slow, not refusing. */
const RETRY_STATUSES: ReadonlySet<number> = new Set([408, 425, 429]);
const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/**
 * Reads a `Retry-After` header: delay-seconds or an HTTP date.
 *
 * @param value The header value, or null.
 * @param now The current time in milliseconds.
 * @returns The delay in milliseconds (0 to one hour), or undefined when absent or malformed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(retryAfterMs("120", Date.now()), 120_000);
 * ```
 */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const text = value.trim();
  const delay = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  return Number.isNaN(delay) ? undefined : Math.min(Math.max(delay, 0), MAX_RETRY_AFTER_MS);
}

/**
 * POSTs a payload as JSON to the ping URL, within a time limit, and says
 * whether to retry. Only allowlisted fields whose values follow their rules
 * are sent (see {@linkcode checkPayload}). Never throws;
 * redirects are not followed (they would carry the token elsewhere) and count
 * as rejected.
 *
 * @param url The ping URL (see {@linkcode parsePingUrl}).
 * @param payload The ping.
 * @param timeoutMs Time limit of the whole request, in milliseconds.
 * @returns The outcome, the status, the receiver's `Retry-After`, and a redacted reason.
 *
 * @example
 * ```ts ignore
 * const result = await sendPing(new URL("http://127.0.0.1:8787/ping/t"), payload, 5000);
 * if (result.outcome === "retry") console.error(result.reason);
 * ```
 */
export async function sendPing(url: URL, payload: Payload, timeoutMs: number): Promise<SendResult> {
  // Every field is checked once more as it leaves: usage read from a transcript or a ledger included.
  const checked = checkPayload(payload);
  if (checked === undefined) return { outcome: "rejected", reason: "not a valid ping: nothing sent" };
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": `telemhq-claude-code/${HOOK_VERSION}` },
      body: JSON.stringify(checked),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
    });
    // Read to its end (it is small), so that the connection goes back to the pool for the next ping.
    await drain(response.body);
    const status = response.status;
    if (response.ok) return { outcome: "delivered", status };
    if (response.type === "opaqueredirect" || (status >= 300 && status < 400)) {
      return { outcome: "rejected", status, reason: `${redactUrl(url)} answered a redirect: check the ping URL` };
    }
    const reason = `${redactUrl(url)} answered HTTP ${status}`;
    if (status >= 500 || RETRY_STATUSES.has(status)) {
      return {
        outcome: "retry",
        status,
        reason,
        retryAfterMs: retryAfterMs(response.headers.get("retry-after"), Date.now()),
      };
    }
    return { outcome: "rejected", status, reason };
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    const reason = name === "TimeoutError"
      ? `no answer from ${redactUrl(url)} within ${timeoutMs} ms`
      : `cannot reach ${redactUrl(url)}: ${redactMessage(errorText(error), url)}`;
    return { outcome: "retry", reason };
  }
}

/** The most of an answer's body read to keep its connection: a tracker answers a few bytes. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Reads a body to its end (within a bound), so that its connection can carry the next request. */
async function drain(body: ReadableStream<Uint8Array> | null): Promise<void> {
  if (body === null) return;
  const reader = body.getReader();
  let read = 0;
  try {
    while (read <= MAX_ANSWER_BYTES) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.length;
    }
    await reader.cancel();
  } catch {
    // A body cut short: the answer's status is what counts.
  }
}

/**
 * The pace of requests to one tracker, shared by everything a sender sends:
 * a 429 or 5xx (or no answer) slows the whole sender down, exponentially with
 * the failures in a row and never before the tracker's `Retry-After`; a
 * delivery resets it. Entries then do not each hammer a struggling tracker.
 */
class TrackerPace {
  #failures = 0;
  #pausedUntil = 0;
  /** Until when the tracker itself asked to wait (`Retry-After`): a flush does not cut that short. */
  #askedUntil = 0;
  #baseMs: number;
  #maxMs: number;

  /**
   * @param baseMs The first wait after a failure.
   * @param maxMs The longest wait.
   */
  constructor(baseMs: number, maxMs: number) {
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
  }

  /** How long to wait before the next request, in milliseconds (0: go). */
  waitMs(now: number = Date.now()): number {
    return Math.max(0, this.#pausedUntil - now, this.#askedUntil - now);
  }

  /** A flush: our own backoff ends now (the next request still probes alone); a tracker's `Retry-After` holds. */
  tryNow(): void {
    this.#pausedUntil = 0;
  }

  /**
   * Whether the last answer was a failure: until a delivery, one request at a
   * time probes the tracker, so an outage costs one request per backoff, not
   * one per lane.
   */
  probing(): boolean {
    return this.#failures > 0;
  }

  /** The tracker answered `retry`: pause every request for the backoff, or as long as it asked. */
  failed(retryAfterMs: number | undefined, now: number = Date.now()): void {
    // Requests that were in flight together fail together: one step of backoff, not one each.
    if (this.waitMs(now) === 0) this.#failures++;
    const backoff = backoffMs(this.#failures, this.#baseMs, this.#maxMs, Math.random());
    this.#pausedUntil = Math.max(this.#pausedUntil, now + backoff);
    if (retryAfterMs !== undefined) this.#askedUntil = Math.max(this.#askedUntil, now + retryAfterMs);
  }

  /**
   * A delivery. Each one takes back one step of backoff, so a tracker that fails most requests stays slowed
   * down; returns true when the last step goes (the tracker is back: waiting pings are due again).
   */
  delivered(): boolean {
    if (this.#failures === 0) return false;
    this.#failures--;
    return this.#failures === 0;
  }
}

/** An error's message and, where a runtime puts the detail there (Deno, Node), its cause's. */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause !== undefined && cause !== error.message ? `${error.message} (${cause})` : error.message;
}

/**
 * The wait before retry number `attempts`: exponential from `baseMs`, capped
 * at `maxMs`, with jitter (between half and all of it) so that many clients
 * that failed together do not retry together.
 *
 * @param attempts Failed attempts so far (1 for the first retry).
 * @param baseMs The first wait.
 * @param maxMs The longest wait.
 * @param random A number in [0, 1).
 * @returns Milliseconds to wait.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const wait = backoffMs(3, 1000, 300_000, Math.random());
 * assert.ok(wait >= 2000 && wait <= 4000);
 * ```
 */
export function backoffMs(attempts: number, baseMs: number, maxMs: number, random: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(ceiling / 2 + (random * ceiling) / 2);
}

// ---------------------------------------------------------------------------
// src/trackers.ts
//
// Where each waiting ping goes and when: its session's tracker (the
// destination its spool entry names, or the URL `install` saved), and that
// tracker's pace, so that a tracker that fails or asks to wait holds back its
// own pings only.
//
// Owns: `Targets`, `Paces`. Uses: runtime, config, ping_url,
// destination, spool, send.

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
class Targets {
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
class Paces {
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
function soonestDueWithPace(items: readonly LoadedEntry[], paces: Paces): number {
  let soonest = Infinity;
  const now = Date.now();
  for (const item of items) soonest = Math.min(soonest, Math.max(item.entry.next_at, now + paces.of(item).waitMs(now)));
  return soonest;
}

// ---------------------------------------------------------------------------
// src/journal.ts
//
// The journal: the exact bodies of the pings delivered, newest kept, so that
// a user can check what left the machine (`log`). It holds what was sent and
// when and how the tracker answered, nothing more (never the URL).
//
// Owns: the journal files, `appendToJournal`, `readJournal`. Uses: runtime, files,
// state_dir.

/** One delivered ping, as the journal keeps it. */
interface JournalRecord {
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
 */
async function appendToJournal(runtime: Runtime, stateDir: string, record: JournalRecord): Promise<void> {
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
 */
async function readJournal(
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

// ---------------------------------------------------------------------------
// src/transcript.ts
//
// Reading Claude Code's transcripts (JSON lines) from the end: a turn is at
// the end of its transcript, and a transcript can be hundreds of megabytes,
// so lines are read backward in chunks and never all held at once.
//
// Owns: `readLinesBackward`, the transcript line shape, finding one turn's
// lines, `markedTranscriptLines` (a whole transcript's lines that hold usage,
// a prompt or a file change, for `report`). Uses: runtime, files.

/** The parts of a transcript line the usage reader looks at; every field is unchecked. */
interface TranscriptLine {
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
 */
async function* readLinesBackward(
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
 */
function parseLine(line: string): TranscriptLine | undefined {
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
 */
function isUserPrompt(line: TranscriptLine): boolean {
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
 */
async function readTurnLines(path: string, promptId: string | undefined): Promise<TranscriptLine[] | undefined> {
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
 */
async function* markedTranscriptLines(
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

// ---------------------------------------------------------------------------
// src/catalog.ts
//
// The model catalog Claude Code prices by, as data: its pricing tiers, its
// models (with every provider's id for each), and its fast-mode prices.
// Recorded from the pinned Claude Code (2.1.332) by `deno task
// record:catalog`; a test fails, naming the model and the price, when the
// pinned binary's catalog differs from this one.
//
// Owns: `PRICING_TIERS`, `CATALOG_MODELS`, `FAST_PRICES`. Uses: nothing.

/** Prices of one model, in US dollars per million tokens (`web_search`: per request). */
export interface TierPrice {
  /** Uncached input. */
  input: number;
  /** Output (thinking included). */
  output: number;
  /** Writing the prompt cache with a 5-minute lifetime (and writes not split by lifetime). */
  cache_write_5m: number;
  /** Writing the prompt cache with a 1-hour lifetime; absent: priced as 5-minute writes. */
  cache_write_1h?: number;
  /** Reading the prompt cache. */
  cache_read: number;
  /** One web search request. */
  web_search?: number;
  /** Prices of a response whose prompt (input, cache reads and writes) is over `above_prompt_tokens`. */
  long_prompt?: Omit<TierPrice, "web_search" | "long_prompt"> & { above_prompt_tokens: number };
}

/** One model of the catalog. */
export interface CatalogModel {
  /** The catalog's canonical id, for example `"claude-sonnet-4-6"`. */
  id: string;
  /** Its pricing tier (a key of {@linkcode PRICING_TIERS}). */
  tier: string;
  /** Every id a provider knows it by (first party, Bedrock, Vertex, Foundry, ...), lower case. */
  providerIds: readonly string[];
}

/** The catalog's pricing tiers. */
// deno-fmt-ignore
export const PRICING_TIERS: Readonly<Record<string, TierPrice>> = {
  tier_2_10: { input: 2, output: 10, cache_write_5m: 2.5, cache_write_1h: 4, cache_read: 0.2, web_search: 0.01 },
  tier_2_10_cache_read_0_10: { input: 2, output: 10, cache_write_5m: 2.5, cache_write_1h: 4, cache_read: 0.1, web_search: 0.01 },
  tier_3_15: { input: 3, output: 15, cache_write_5m: 3.75, cache_write_1h: 6, cache_read: 0.3, web_search: 0.01 },
  tier_5_25: { input: 5, output: 25, cache_write_5m: 6.25, cache_write_1h: 10, cache_read: 0.5, web_search: 0.01 },
  tier_15_75: { input: 15, output: 75, cache_write_5m: 18.75, cache_write_1h: 30, cache_read: 1.5, web_search: 0.01 },
  tier_10_50: { input: 10, output: 50, cache_write_5m: 12.5, cache_write_1h: 20, cache_read: 1, web_search: 0.01 },
  tier_10_50_cache_read_0_25: { input: 10, output: 50, cache_write_5m: 12.5, cache_write_1h: 20, cache_read: 0.25, web_search: 0.01 },
  tier_4_20_cache_read_0_20: { input: 4, output: 20, cache_write_5m: 5, cache_write_1h: 8, cache_read: 0.2, web_search: 0.01 },
  tier_8_40_cache_read_0_20: { input: 8, output: 40, cache_write_5m: 10, cache_write_1h: 16, cache_read: 0.2, web_search: 0.01 },
  haiku_35: { input: 0.8, output: 4, cache_write_5m: 1, cache_write_1h: 1.6, cache_read: 0.08, web_search: 0.01 },
  haiku_45: { input: 1, output: 5, cache_write_5m: 1.25, cache_write_1h: 2, cache_read: 0.1, web_search: 0.01 },
  haiku_55: { input: 0.1, output: 0.5, cache_write_5m: 0.125, cache_write_1h: 0.2, cache_read: 0.01, web_search: 0.01, long_prompt: { above_prompt_tokens: 100000, input: 0.5, output: 2.5, cache_write_5m: 0.625, cache_write_1h: 1, cache_read: 0.05 } },
};

/** The catalog's models, in the catalog's order. */
// deno-fmt-ignore
export const CATALOG_MODELS: readonly CatalogModel[] = [
  { id: "claude-3-5-haiku", tier: "haiku_35", providerIds: ["claude-3-5-haiku","claude-3-5-haiku-20241022","us.anthropic.claude-3-5-haiku-20241022-v1:0","claude-3-5-haiku@20241022"] },
  { id: "claude-haiku-4-5", tier: "haiku_45", providerIds: ["claude-haiku-4-5","claude-haiku-4-5-20251001","us.anthropic.claude-haiku-4-5-20251001-v1:0","claude-haiku-4-5@20251001","anthropic.claude-haiku-4-5"] },
  { id: "claude-haiku-5-5", tier: "haiku_55", providerIds: ["claude-haiku-5-5","us.anthropic.claude-haiku-5-5","anthropic.claude-haiku-5-5"] },
  { id: "claude-3-5-sonnet", tier: "tier_3_15", providerIds: ["claude-3-5-sonnet","claude-3-5-sonnet-20241022","us.anthropic.claude-3-5-sonnet-20241022-v2:0","claude-3-5-sonnet-v2@20241022"] },
  { id: "claude-3-7-sonnet", tier: "tier_3_15", providerIds: ["claude-3-7-sonnet","claude-3-7-sonnet-20250219","us.anthropic.claude-3-7-sonnet-20250219-v1:0","claude-3-7-sonnet@20250219"] },
  { id: "claude-sonnet-4-0", tier: "tier_3_15", providerIds: ["claude-sonnet-4-0","claude-sonnet-4-20250514","us.anthropic.claude-sonnet-4-20250514-v1:0","claude-sonnet-4@20250514","claude-sonnet-4"] },
  { id: "claude-sonnet-4-5", tier: "tier_3_15", providerIds: ["claude-sonnet-4-5","claude-sonnet-4-5-20250929","us.anthropic.claude-sonnet-4-5-20250929-v1:0","claude-sonnet-4-5@20250929"] },
  { id: "claude-sonnet-4-6", tier: "tier_3_15", providerIds: ["claude-sonnet-4-6","us.anthropic.claude-sonnet-4-6"] },
  { id: "claude-sonnet-5", tier: "tier_2_10", providerIds: ["claude-sonnet-5","us.anthropic.claude-sonnet-5","anthropic.claude-sonnet-5"] },
  { id: "claude-sonnet-5-5", tier: "tier_2_10_cache_read_0_10", providerIds: ["claude-sonnet-5-5","us.anthropic.claude-sonnet-5-5","anthropic.claude-sonnet-5-5"] },
  { id: "claude-opus-4-0", tier: "tier_15_75", providerIds: ["claude-opus-4-0","claude-opus-4-20250514","us.anthropic.claude-opus-4-20250514-v1:0","claude-opus-4@20250514","claude-opus-4"] },
  { id: "claude-opus-4-1", tier: "tier_15_75", providerIds: ["claude-opus-4-1","claude-opus-4-1-20250805","us.anthropic.claude-opus-4-1-20250805-v1:0","claude-opus-4-1@20250805"] },
  { id: "claude-opus-4-5", tier: "tier_5_25", providerIds: ["claude-opus-4-5","claude-opus-4-5-20251101","us.anthropic.claude-opus-4-5-20251101-v1:0","claude-opus-4-5@20251101"] },
  { id: "claude-opus-4-6", tier: "tier_5_25", providerIds: ["claude-opus-4-6","us.anthropic.claude-opus-4-6-v1"] },
  { id: "claude-opus-4-7", tier: "tier_5_25", providerIds: ["claude-opus-4-7","us.anthropic.claude-opus-4-7","anthropic.claude-opus-4-7"] },
  { id: "claude-opus-4-8", tier: "tier_5_25", providerIds: ["claude-opus-4-8","us.anthropic.claude-opus-4-8","anthropic.claude-opus-4-8"] },
  { id: "claude-opus-5", tier: "tier_5_25", providerIds: ["claude-opus-5","us.anthropic.claude-opus-5","anthropic.claude-opus-5"] },
  { id: "claude-opus-5-5", tier: "tier_4_20_cache_read_0_20", providerIds: ["claude-opus-5-5","us.anthropic.claude-opus-5-5","anthropic.claude-opus-5-5"] },
  { id: "claude-fable-5", tier: "tier_10_50", providerIds: ["claude-fable-5","us.anthropic.claude-fable-5","anthropic.claude-fable-5"] },
  { id: "claude-fable-5-1", tier: "tier_10_50_cache_read_0_25", providerIds: ["claude-fable-5-1","us.anthropic.claude-fable-5-1","anthropic.claude-fable-5-1"] },
  { id: "claude-fable-5-2", tier: "tier_8_40_cache_read_0_20", providerIds: ["claude-fable-5-2","us.anthropic.claude-fable-5-2","anthropic.claude-fable-5-2"] },
  { id: "claude-mythos-5", tier: "tier_10_50", providerIds: ["claude-mythos-5"] },
  { id: "claude-mythos-5-1", tier: "tier_10_50_cache_read_0_25", providerIds: ["claude-mythos-5-1"] },
  { id: "claude-mythos-5-2", tier: "tier_8_40_cache_read_0_20", providerIds: ["claude-mythos-5-2"] },
];

/** Fast-mode prices (`usage.speed` `"fast"`), by model: in Claude Code's code, not its catalog. */
// deno-fmt-ignore
export const FAST_PRICES: Readonly<Record<string, TierPrice>> = {
  "claude-fable-5-2": { input: 16, output: 80, cache_write_5m: 20, cache_write_1h: 32, cache_read: 0.4, web_search: 0.01 },
  "claude-mythos-5-2": { input: 16, output: 80, cache_write_5m: 20, cache_write_1h: 32, cache_read: 0.4, web_search: 0.01 },
  "claude-opus-5-5": { input: 8, output: 40, cache_write_5m: 10, cache_write_1h: 16, cache_read: 0.4, web_search: 0.01 },
  "claude-opus-4-8": { input: 10, output: 50, cache_write_5m: 12.5, cache_write_1h: 20, cache_read: 1, web_search: 0.01 },
  "claude-opus-5": { input: 10, output: 50, cache_write_5m: 12.5, cache_write_1h: 20, cache_read: 1, web_search: 0.01 },
  "claude-opus-4-6": { input: 30, output: 150, cache_write_5m: 37.5, cache_write_1h: 60, cache_read: 3, web_search: 0.01 },
  "claude-opus-4-7": { input: 30, output: 150, cache_write_5m: 37.5, cache_write_1h: 60, cache_read: 3, web_search: 0.01 },
};

// ---------------------------------------------------------------------------
// src/price_eras.ts
//
// How each range of Claude Code releases computed a response's cost, as data:
// a transcript line records the `version` that wrote it, and a response is
// priced by the rules of that version, so a ping or a report agrees with what
// that Claude Code itself showed. The table below is generated from the
// research into every release from 1.0.0 to 2.1.332 (49 rule sets, each
// checked against the running release: test/data/claude-code-versions/
// pricing-history/FINDINGS.md); `prices.ts` applies an era's rules.
//
// Owns: `PricingEra`, `FastRule`, `PRICING_CHECKED`, `pricingEras`, `pricingEraOf`, `pricingNote`.
// Uses: nothing.

/**
 * When fast-mode prices apply, and which: by the key the era's key steps give
 * (releases before the catalog era; later ones use the catalog's fast prices).
 */
export interface FastRule {
  /** What marks a fast response: `usage.speed === "fast"`, the research preview's usage field, or either. */
  trigger: "speed" | "preview" | "either";
  /** Fast prices by key (price text, see {@linkcode PricingEra.prices}). */
  byKey: Readonly<Record<string, string>>;
  /** Fast prices of a response whose prompt is over 200,000 tokens, where the era had them. */
  long?: string;
}

/** What one rule set changed: every field but `since`/`until` is as the previous entry's when absent. */
interface EraChange {
  since: string;
  until: string;
  catalog?: boolean;
  usInference?: boolean;
  managedPricing?: boolean;
  longPromptLines?: boolean;
  perIteration?: boolean;
  advisorSteps?: boolean;
  keys?: readonly string[];
  /** Catalog models the release added. */
  newModels?: readonly string[];
  /** The table, or its changes (a key set to null is gone), as {@linkcode PricingEra.prices}. */
  prices?: Readonly<Record<string, string | null>>;
  long?: Readonly<Record<string, string>> | null;
  fast?: FastRule | null;
  unknown?: string | null;
}

/** The cost rules of a range of Claude Code releases. */
export interface PricingEra {
  /** The first release with these rules. */
  since: string;
  /** The last release with them (the next era starts at the next published release). */
  until: string;
  /** What the rules are called in reports and the journal: `"1.0.108–2.0.15"`. */
  name: string;
  /** Prices come from the catalog (`catalog.ts`, keyed by catalog id), as from 2.1.196; before, from `prices`. */
  catalog: boolean;
  /**
   * How a model id becomes a key (see `legacy_prices.ts`): of `prices` before the catalog era; in it, the
   * catalog model a model the release did not know by its own ids was priced as.
   */
  keys: readonly string[];
  /** The catalog models the release knew (catalog era only): another model costs what `keys` make it. */
  models: readonly string[];
  /**
   * Prices as `"input/output/5-minute write/1-hour write/cache read/web search"` (US dollars per million
   * tokens, per request for web search; `-` for none): the whole table before the catalog era, the catalog
   * models whose prices differed from today's in it.
   */
  prices: Readonly<Record<string, string>>;
  /** Before the catalog era: a price of input/output `"3/15"` is priced so when the prompt is over 200,000 tokens. */
  long?: Readonly<Record<string, string>>;
  /** Fast-mode prices before the catalog era. */
  fast?: FastRule;
  /** The model whose price a model missing from `prices` gets; none where it depended on the account. */
  unknown?: string;
  /** US-only inference (`inference_geo: "us"`) costs 1.1 times the tokens. */
  usInference: boolean;
  /** An organisation's managed `modelPricing` is honoured. */
  managedPricing: boolean;
  /** The catalog's per-tier long-prompt lines apply. */
  longPromptLines: boolean;
  /** A response under a long-prompt line is priced step by step (`usage.iterations`). */
  perIteration: boolean;
  /** An advisor's steps (`usage.iterations` of type `advisor_message`) are priced as its model and added. */
  advisorSteps: boolean;
}

// BEGIN era table: generated by `deno task record:price-history`; edit the research, not this.
// deno-fmt-ignore
const ERA_CHANGES: readonly EraChange[] = [
  // 1.0.0: Base rules. Each assistant transcript line carries costUSD (the discounted/final cost of the whole API response, repeated on the response's line).
  { since: "1.0.0", until: "1.0.3", catalog: false, usInference: false, managedPricing: false, longPromptLines: false, perIteration: false, advisorSteps: false, keys: ["match:/(claude-(\\d+-\\d+-)?\\w+)/"], prices: { "claude-3-5-haiku": "0.8/4/1/-/0.08/0", "claude-3-5-sonnet": "3/15/3.75/-/0.3/0", "claude-3-7-sonnet": "3/15/3.75/-/0.3/0", "claude-opus": "15/75/18.75/-/1.5/0", "claude-sonnet": "3/15/3.75/-/0.3/0" }, long: null, fast: null, unknown: "claude-sonnet-4-20250514" },
  // 1.0.4: costUSD no longer written to transcript lines; pricing unchanged
  { since: "1.0.4", until: "1.0.35" },
  // 1.0.37: web search $0.01 per server_tool_use.web_search_requests
  { since: "1.0.37", until: "1.0.68", prices: { "claude-3-5-haiku": "0.8/4/1/-/0.08/0.01", "claude-3-5-sonnet": "3/15/3.75/-/0.3/0.01", "claude-3-7-sonnet": "3/15/3.75/-/0.3/0.01", "claude-opus": "15/75/18.75/-/1.5/0.01", "claude-sonnet": "3/15/3.75/-/0.3/0.01" } },
  // 1.0.69: Opus 4.1 added; key function gains includes("claude-opus-4-1")/includes("claude-opus-4") rules; discount list gains claude-opus-4-1-20250805
  { since: "1.0.69", until: "1.0.71", keys: ["claude-opus-4-1", "claude-opus-4", "match:/(claude-(\\d+-\\d+-)?\\w+)/"], prices: { "claude-opus": null, "claude-opus-4": "15/75/18.75/-/1.5/0.01", "claude-opus-4-1": "15/75/18.75/-/1.5/0.01" } },
  // 1.0.72: prices the requested model (preNormalizedModel) instead of the response model; a >200000-token hook appears but returns the same price
  { since: "1.0.72", until: "1.0.73" },
  // 1.0.76: long context: a request priced with the 3/15 object whose input+cache read+cache write > 200000 is priced wholly at 6/22.5/7.5/0.6
  { since: "1.0.76", until: "1.0.107", long: { "3/15": "6/22.5/7.5/-/0.6/0.01" } },
  // 1.0.108: Bedrock application-inference-profile ARNs are resolved (AWS call) to the backing model id before lookup; the discount check still uses the unresolved string
  { since: "1.0.108", until: "2.0.15" },
  // 2.0.19: Haiku 4.5 added (1/5/1.25/0.1)
  { since: "2.0.19", until: "2.0.21", prices: { "claude-haiku": "1/5/1.25/-/0.1/0.01" } },
  // 2.0.22: data-sharing discount removed (2.0.30 moves cost to message_delta; same prices)
  { since: "2.0.22", until: "2.0.50" },
  // 2.0.51: Opus 4.5 added (5/25/6.25/0.5); key rule includes("claude-opus-4-5")
  { since: "2.0.51", until: "2.1.30", keys: ["claude-opus-4-5", "claude-opus-4-1", "claude-opus-4", "match:/(claude-(\\d+-\\d+-)?\\w+)/"], prices: { "claude-opus-4-5": "5/25/6.25/-/0.5/0.01" } },
  // 2.1.31: keys for Sonnet 4.5/Sonnet 4/Haiku 4.5 by includes(); claude-sonnet-4-5 priced with the 5/25 object (was 3/15 via key "claude-sonnet")
  { since: "2.1.31", until: "2.1.31", keys: ["claude-opus-4-5", "claude-opus-4-1", "claude-opus-4", "claude-sonnet-4-5", "claude-sonnet-4", "claude-haiku-4-5", "match:/(claude-(\\d+-\\d+-)?\\w+)/"], prices: { "claude-haiku": null, "claude-sonnet": null, "claude-haiku-4-5": "1/5/1.25/-/0.1/0.01", "claude-sonnet-4": "3/15/3.75/-/0.3/0.01", "claude-sonnet-4-5": "5/25/6.25/-/0.5/0.01" } },
  // 2.1.32: Opus 4.6 added (5/25)
  { since: "2.1.32", until: "2.1.37", keys: ["claude-opus-4-6", "claude-opus-4-5", "claude-opus-4-1", "claude-opus-4", "claude-sonnet-4-5", "claude-sonnet-4", "claude-haiku-4-5", "match:/(claude-(\\d+-\\d+-)?\\w+)/"], prices: { "claude-opus-4-6": "5/25/6.25/-/0.5/0.01" } },
  // 2.1.38: opus-4-6 gets its own branch (fast + long); long-context extended to the 5/25 object
  { since: "2.1.38", until: "2.1.40", long: { "3/15": "6/22.5/7.5/-/0.6/0.01", "5/25": "10/37.5/12.5/-/1/0.01" }, fast: {trigger: "preview", byKey: { "claude-opus-4-6": "15/75/18.75/-/1.5/0.01" }, long: "30/112.5/37.5/-/3/0.01" } },
  // 2.1.41
  { since: "2.1.41", until: "2.1.41", fast: {trigger: "either", byKey: { "claude-opus-4-6": "15/75/18.75/-/1.5/0.01" }, long: "30/112.5/37.5/-/3/0.01" } },
  // 2.1.42
  { since: "2.1.42", until: "2.1.44", fast: {trigger: "speed", byKey: { "claude-opus-4-6": "15/75/18.75/-/1.5/0.01" }, long: "30/112.5/37.5/-/3/0.01" } },
  // 2.1.45: Sonnet 4.6 added with the 5/25 object; fast-mode promo flag default becomes null (no 50% discount by default)
  { since: "2.1.45", until: "2.1.49", keys: ["claude-opus-4-6", "claude-opus-4-5", "claude-opus-4-1", "claude-opus-4", "claude-sonnet-4-6", "claude-sonnet-4-5", "claude-sonnet-4", "claude-haiku-4-5", "match:/(claude-(\\d+-\\d+-)?\\w+)/"], prices: { "claude-sonnet-4-6": "5/25/6.25/-/0.5/0.01" }, fast: {trigger: "speed", byKey: { "claude-opus-4-6": "30/150/37.5/-/3/0.01" }, long: "60/225/75/-/6/0.01" } },
  // 2.1.50
  { since: "2.1.50", until: "2.1.62", fast: {trigger: "speed", byKey: { "claude-opus-4-6": "30/150/37.5/-/3/0.01" }} },
  // 2.1.63: unknown model: price of the key of the current default main-loop model, else the 5/25 object
  { since: "2.1.63", until: "2.1.71", unknown: null },
  // 2.1.72: Sonnet 4.5 and 4.6 back to 3/15
  { since: "2.1.72", until: "2.1.72", prices: { "claude-sonnet-4-5": "3/15/3.75/-/0.3/0.01", "claude-sonnet-4-6": "3/15/3.75/-/0.3/0.01" } },
  // 2.1.73: key function: settings.modelOverrides reverse-mapped first, lower-cased, adds claude-3-* rules
  { since: "2.1.73", until: "2.1.74", keys: ["lower", "claude-opus-4-6", "claude-opus-4-5", "claude-opus-4-1", "claude-opus-4", "claude-sonnet-4-6", "claude-sonnet-4-5", "claude-sonnet-4", "claude-haiku-4-5", "claude-3-7-sonnet", "claude-3-5-sonnet", "claude-3-5-haiku", "claude-3-opus", "claude-3-sonnet", "claude-3-haiku", "match:/(claude-(\\d+-\\d+-)?\\w+)/"] },
  // 2.1.75: long-context pricing removed
  { since: "2.1.75", until: "2.1.83", long: null },
  // 2.1.84: usage.iterations entries of type advisor_message are priced as their own model (iteration.model, the iteration's own counts, same rules) and added to the response cost
  { since: "2.1.84", until: "2.1.96", advisorSteps: true },
  // 2.1.97: ~/.claude.json additionalModelCostsCache consulted after the built-in table; key function ends with replace(/-\d{8}$/,"")
  { since: "2.1.97", until: "2.1.110", keys: ["lower", "claude-opus-4-6", "claude-opus-4-5", "claude-opus-4-1", "claude-opus-4", "claude-sonnet-4-6", "claude-sonnet-4-5", "claude-sonnet-4", "claude-haiku-4-5", "claude-3-7-sonnet", "claude-3-5-sonnet", "claude-3-5-haiku", "claude-3-opus", "claude-3-sonnet", "claude-3-haiku", "replace:/-\\d{8}$/"] },
  // 2.1.111: Opus 4.7 added (5/25)
  { since: "2.1.111", until: "2.1.114", keys: ["lower", "claude-opus-4-7", "claude-opus-4-6", "claude-opus-4-5", "claude-opus-4-1", "claude-opus-4", "claude-sonnet-4-6", "claude-sonnet-4-5", "claude-sonnet-4", "claude-haiku-4-5", "claude-3-7-sonnet", "claude-3-5-sonnet", "claude-3-5-haiku", "claude-3-opus", "claude-3-sonnet", "claude-3-haiku", "replace:/-\\d{8}$/"], prices: { "claude-opus-4-7": "5/25/6.25/-/0.5/0.01" } },
  // 2.1.116: key rules /claude-opus-4(?!-\d(?!\d))/ -> claude-opus-4-0 and /claude-sonnet-4(?!-\d(?!\d))/ -> claude-sonnet-4-0 (so e.g. claude-opus-4-9 is no longer Opus 4)
  { since: "2.1.116", until: "2.1.128", keys: ["lower", "claude-opus-4-7", "claude-opus-4-6", "claude-opus-4-5", "claude-opus-4-1", "/claude-opus-4(?!-\\d(?!\\d))/>claude-opus-4-0", "claude-sonnet-4-6", "claude-sonnet-4-5", "/claude-sonnet-4(?!-\\d(?!\\d))/>claude-sonnet-4-0", "claude-haiku-4-5", "claude-3-7-sonnet", "claude-3-5-sonnet", "claude-3-5-haiku", "claude-3-opus", "claude-3-sonnet", "claude-3-haiku", "replace:/-\\d{8}$/"], prices: { "claude-opus-4": null, "claude-sonnet-4": null, "claude-opus-4-0": "15/75/18.75/-/1.5/0.01", "claude-sonnet-4-0": "3/15/3.75/-/0.3/0.01" } },
  // 2.1.129: fast pricing may also cover Opus 4.7 (env); the default main-loop model for first-party/anthropicAws API users becomes Opus, so unknown models now price as Opus (5/25)
  { since: "2.1.129", until: "2.1.139", fast: {trigger: "speed", byKey: { "claude-opus-4-6": "30/150/37.5/-/3/0.01", "claude-opus-4-7": "30/150/37.5/-/3/0.01" }} },
  // 2.1.140
  { since: "2.1.140", until: "2.1.153" },
  // 2.1.154: Opus 4.8 added (5/25; fast 10/50)
  { since: "2.1.154", until: "2.1.159", keys: ["lower", "claude-opus-4-8", "claude-opus-4-7", "claude-opus-4-6", "claude-opus-4-5", "claude-opus-4-1", "/claude-opus-4(?!-\\d(?!\\d))/>claude-opus-4-0", "claude-sonnet-4-6", "claude-sonnet-4-5", "/claude-sonnet-4(?!-\\d(?!\\d))/>claude-sonnet-4-0", "claude-haiku-4-5", "claude-3-7-sonnet", "claude-3-5-sonnet", "claude-3-5-haiku", "claude-3-opus", "claude-3-sonnet", "claude-3-haiku", "replace:/-\\d{8}$/"], prices: { "claude-opus-4-8": "5/25/6.25/-/0.5/0.01" }, fast: {trigger: "speed", byKey: { "claude-opus-4-8": "10/50/12.5/-/1/0.01", "claude-opus-4-6": "30/150/37.5/-/3/0.01", "claude-opus-4-7": "30/150/37.5/-/3/0.01" }} },
  // 2.1.160
  { since: "2.1.160", until: "2.1.169" },
  // 2.1.170: Fable 5 and Mythos 5 added (10/50/12.5/1)
  { since: "2.1.170", until: "2.1.170", keys: ["lower", "claude-fable-5", "claude-mythos-5", "claude-opus-4-8", "claude-opus-4-7", "claude-opus-4-6", "claude-opus-4-5", "claude-opus-4-1", "/claude-opus-4(?!-\\d(?!\\d))/>claude-opus-4-0", "claude-sonnet-4-6", "claude-sonnet-4-5", "/claude-sonnet-4(?!-\\d(?!\\d))/>claude-sonnet-4-0", "claude-haiku-4-5", "claude-3-7-sonnet", "claude-3-5-sonnet", "claude-3-5-haiku", "claude-3-opus", "claude-3-sonnet", "claude-3-haiku", "replace:/-\\d{8}$/"], prices: { "claude-fable-5": "10/50/12.5/-/1/0.01", "claude-mythos-5": "10/50/12.5/-/1/0.01" } },
  // 2.1.172: 1-hour cache writes priced apart: cache_creation.ephemeral_1h_input_tokens (capped at cache_creation_input_tokens) x cache_write_1h, the rest x cache_write_5m
  { since: "2.1.172", until: "2.1.178", prices: { "claude-3-5-haiku": "0.8/4/1/1.6/0.08/0.01", "claude-3-5-sonnet": "3/15/3.75/6/0.3/0.01", "claude-3-7-sonnet": "3/15/3.75/6/0.3/0.01", "claude-fable-5": "10/50/12.5/20/1/0.01", "claude-haiku-4-5": "1/5/1.25/2/0.1/0.01", "claude-mythos-5": "10/50/12.5/20/1/0.01", "claude-opus-4-0": "15/75/18.75/30/1.5/0.01", "claude-opus-4-1": "15/75/18.75/30/1.5/0.01", "claude-opus-4-5": "5/25/6.25/10/0.5/0.01", "claude-opus-4-6": "5/25/6.25/10/0.5/0.01", "claude-opus-4-7": "5/25/6.25/10/0.5/0.01", "claude-opus-4-8": "5/25/6.25/10/0.5/0.01", "claude-sonnet-4-0": "3/15/3.75/6/0.3/0.01", "claude-sonnet-4-5": "3/15/3.75/6/0.3/0.01", "claude-sonnet-4-6": "3/15/3.75/6/0.3/0.01" }, fast: {trigger: "speed", byKey: { "claude-opus-4-8": "10/50/12.5/20/1/0.01", "claude-opus-4-6": "30/150/37.5/60/3/0.01", "claude-opus-4-7": "30/150/37.5/60/3/0.01" }} },
  // 2.1.179
  { since: "2.1.179", until: "2.1.195" },
  // 2.1.196: key function first looks the lower-cased id up among every catalog provider id (first party, Bedrock, Vertex, Foundry, ...; a non-"us" Bedrock regional profile prefix eu./apac./jp./au./us-gov./glob...
  { since: "2.1.196", until: "2.1.196", catalog: true, prices: {}, newModels: ["claude-3-5-haiku", "claude-3-5-sonnet", "claude-3-7-sonnet", "claude-fable-5", "claude-haiku-4-5", "claude-mythos-5", "claude-opus-4-0", "claude-opus-4-1", "claude-opus-4-5", "claude-opus-4-6", "claude-opus-4-7", "claude-opus-4-8", "claude-sonnet-4-0", "claude-sonnet-4-5", "claude-sonnet-4-6"], fast: null },
  // 2.1.197: Sonnet 5 added (3/15)
  { since: "2.1.197", until: "2.1.205", prices: { "claude-sonnet-5": "3/15/3.75/6/0.3/0.01" }, keys: ["lower", "claude-fable-5", "claude-mythos-5", "claude-opus-4-8", "claude-opus-4-7", "claude-opus-4-6", "claude-opus-4-5", "claude-opus-4-1", "/claude-opus-4(?!-\\d(?!\\d))/>claude-opus-4-0", "claude-sonnet-5", "claude-sonnet-4-6", "claude-sonnet-4-5", "/claude-sonnet-4(?!-\\d(?!\\d))/>claude-sonnet-4-0", "claude-haiku-4-5", "claude-3-7-sonnet", "claude-3-5-sonnet", "claude-3-5-haiku", "claude-3-opus", "claude-3-sonnet", "claude-3-haiku", "replace:/-\\d{8}$/"], newModels: ["claude-sonnet-5"] },
  // 2.1.206: prices now come from the baked model catalog (pricing_tiers + models[].pricing); values unchanged
  { since: "2.1.206", until: "2.1.218" },
  // 2.1.219: Opus 5 added (tier_5_25; fast 10/50)
  { since: "2.1.219", until: "2.1.238", keys: ["lower", "claude-fable-5", "claude-mythos-5", "claude-opus-5", "claude-opus-4-8", "claude-opus-4-7", "claude-opus-4-6", "claude-opus-4-5", "claude-opus-4-1", "/claude-opus-4(?!-\\d(?!\\d))/>claude-opus-4-0", "claude-sonnet-5", "claude-sonnet-4-6", "claude-sonnet-4-5", "/claude-sonnet-4(?!-\\d(?!\\d))/>claude-sonnet-4-0", "claude-haiku-4-5", "claude-3-7-sonnet", "claude-3-5-sonnet", "claude-3-5-haiku", "claude-3-opus", "claude-3-sonnet", "claude-3-haiku", "replace:/-\\d{8}$/"], newModels: ["claude-opus-5"] },
  // 2.1.239: Sonnet 5 moves to tier_2_10; US-only inference multiplier 1.1 introduced
  { since: "2.1.239", until: "2.1.241", usInference: true, prices: { "claude-sonnet-5": null} },
  // 2.1.242: managed-settings modelPricing (multiplier + per-model overrides) honoured
  { since: "2.1.242", until: "2.1.252", managedPricing: true },
  // 2.1.257: Fable 5.1 / Mythos 5.1 added (tier_10_50_cache_read_0_25); for ids whose identity resolution differs, additionalModelCostsCache is consulted first
  { since: "2.1.257", until: "2.1.276", newModels: ["claude-fable-5-1", "claude-mythos-5-1"] },
  // 2.1.277: non-fast responses: a server-driven model-alias experiment (GrowthBook, 2.1.332 calls it alder_ford) may price a model as another catalog model first
  { since: "2.1.277", until: "2.1.278" },
  // 2.1.280: Opus 5.5 added (tier_4_20_cache_read_0_20; fast 8/40/10/16/0.4)
  { since: "2.1.280", until: "2.1.283", newModels: ["claude-opus-5-5"] },
  // 2.1.284: Sonnet 5.5 added (tier_2_10)
  { since: "2.1.284", until: "2.1.292", prices: { "claude-sonnet-5-5": "2/10/2.5/4/0.2/0.01" }, newModels: ["claude-sonnet-5-5"] },
  // 2.1.293: Haiku 5.5 added (haiku_55) with a long_prompt line: a response whose input+cache read+cache write > 100000 is priced wholly at 0.5/2.5/0.625/1/0.05
  { since: "2.1.293", until: "2.1.294", longPromptLines: true, newModels: ["claude-haiku-5-5"] },
  // 2.1.295: assistant transcript lines carry requestedModel (the model Claude Code asked for); pricing unchanged
  { since: "2.1.295", until: "2.1.295" },
  // 2.1.296: Sonnet 5.5 moves to tier_2_10_cache_read_0_10
  { since: "2.1.296", until: "2.1.310", prices: { "claude-sonnet-5-5": null} },
  // 2.1.311: 1-hour share of cache writes clamped to [0, cache_creation_input_tokens] (was min only)
  { since: "2.1.311", until: "2.1.312" },
  // 2.1.314: unknown-model fallback may also use runtime-fetched catalog pricing for the default model
  { since: "2.1.314", until: "2.1.319" },
  // 2.1.321: Fable 5.2 / Mythos 5.2 added (tier_8_40_cache_read_0_20; fast 16/80/20/32/0.4)
  { since: "2.1.321", until: "2.1.325", newModels: ["claude-fable-5-2", "claude-mythos-5-2"] },
  // 2.1.326: long-prompt prices judged per usage.iterations[type=message] step when the steps add up to the response (1-hour writes the steps do not account for handed to them in order); server-fetched model co...
  { since: "2.1.326", until: "2.1.332", perIteration: true },
];
// END era table

/**
 * The oldest and newest releases whose cost rules were read and checked
 * against the running release: a version outside them is priced by the
 * nearest era, and the journal says so.
 */
const PRICING_CHECKED: Readonly<{ oldest: string; newest: string }> = { oldest: "1.0.0", newest: "2.1.332" };

let eras: readonly PricingEra[] | undefined;

/**
 * Every era, oldest first, with its whole rules (built on first use: only the
 * sender and `report` price, never the hook on its way through an event).
 *
 * @returns The eras.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const [first] = pricingEras();
 * assert.equal(first.name, "1.0.0–1.0.3");
 * assert.equal(first.prices["claude-opus"], "15/75/18.75/-/1.5/0");
 * ```
 */
export function pricingEras(): readonly PricingEra[] {
  if (eras !== undefined) return eras;
  const built: PricingEra[] = [];
  for (const change of ERA_CHANGES) {
    const before = built[built.length - 1];
    const { since, until, prices, long, fast, unknown, newModels, ...rest } = change;
    const replace = before === undefined || (rest.catalog !== undefined && rest.catalog !== before.catalog);
    const models = [...(replace ? [] : before.models), ...(newModels ?? [])];
    const table: Record<string, string> = replace ? {} : { ...before.prices };
    for (const [key, price] of Object.entries(prices ?? {})) {
      if (price === null) delete table[key];
      else table[key] = price;
    }
    const keep = <T>(value: T | null | undefined, was: T | undefined) => value === null ? undefined : value ?? was;
    built.push({
      ...(before ?? {}),
      ...rest,
      since,
      until,
      name: `${since}–${until}`,
      prices: table,
      models,
      long: keep(long, before?.long),
      fast: keep(fast, before?.fast),
      unknown: keep(unknown, before?.unknown),
    } as PricingEra);
  }
  return eras = built;
}

function versionParts(version: string): number[] | undefined {
  const match = version.match(/^(\d{1,4})\.(\d{1,4})\.(\d{1,6})$/);
  return match === null ? undefined : [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** -1, 0 or 1 as version `a` is older than, the same as, or newer than `b` (both valid). */
function compareParts(a: number[], b: number[]): number {
  return Math.sign(a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
}

/**
 * The cost rules of the Claude Code version that wrote a transcript line.
 *
 * @param version The line's `version`, unchecked.
 * @returns The era, and whether the version was one (a missing or malformed one gets today's rules).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(pricingEraOf("1.0.128").era.name, "1.0.108–2.0.15");
 * assert.equal(pricingEraOf("2.1.332").era.name, "2.1.326–2.1.332");
 * assert.equal(pricingEraOf("\u001b[31m").known, false);
 * ```
 */
export function pricingEraOf(version: unknown): { era: PricingEra; known: boolean } {
  const all = pricingEras();
  const parts = typeof version === "string" ? versionParts(version) : undefined;
  if (parts === undefined) return { era: all[all.length - 1], known: false };
  // A history holds a handful of versions and millions of responses: each version is looked up once.
  let found = erasByVersion.get(version as string);
  if (found === undefined) {
    found = all[0];
    for (const era of all) {
      if (compareParts(parts, versionParts(era.since)!) >= 0) found = era;
    }
    if (erasByVersion.size >= 4096) erasByVersion.clear();
    erasByVersion.set(version as string, found);
  }
  return { era: found, known: true };
}

const erasByVersion = new Map<string, PricingEra>();

/**
 * What to say about a response priced by rules not checked for its version:
 * one outside {@linkcode PRICING_CHECKED} is priced by the nearest era's rules.
 *
 * @param version The transcript line's `version`, unchecked.
 * @returns One line for the journal, or undefined when the version is inside the checked range (or is none).
 */
function pricingNote(version: unknown): string | undefined {
  const parts = typeof version === "string" ? versionParts(version) : undefined;
  if (parts === undefined) return undefined;
  const oldest = versionParts(PRICING_CHECKED.oldest)!;
  const newest = versionParts(PRICING_CHECKED.newest)!;
  if (compareParts(parts, oldest) >= 0 && compareParts(parts, newest) <= 0) return undefined;
  return `Claude Code ${version}'s cost rules were not checked (checked: ${PRICING_CHECKED.oldest} to ` +
    `${PRICING_CHECKED.newest}): priced by the ${pricingEraOf(version).era.name} rules, the nearest`;
}

// ---------------------------------------------------------------------------
// src/legacy_prices.ts
//
// How Claude Code releases before the catalog era (1.0.0 to 2.1.195) found a
// response's price: the model id turned into a key of the release's own table
// by its key steps (a regex that made `claude-sonnet-4-5` plain `claude-sonnet`
// in 1.0, `includes` rules later), fast-mode prices by key, and a whole-request
// long-context price for the 3/15 (and for a while 5/25) prices. The steps and
// tables are `price_eras.ts`'s data, read from the releases themselves.
//
// Owns: `parsePrice`, `tableKey`, `tablePrice`, `FastSignals`. Uses: catalog, price_eras.

/** The prompt size over which a table era's long-context prices apply (strictly over). */
const LONG_CONTEXT_TOKENS = 200_000;

const parsedPrices = new Map<string, TierPrice>();

/**
 * A price of the era table, from its text `"input/output/5-minute write/1-hour write/cache read/web search"`.
 *
 * @param text The price text (`-` for a price the era did not have).
 * @returns The price.
 */
function parsePrice(text: string): TierPrice {
  const known = parsedPrices.get(text);
  if (known !== undefined) return known;
  const [input, output, cache_write_5m, cache_write_1h, cache_read, web_search] = text.split("/");
  const price: TierPrice = {
    input: Number(input),
    output: Number(output),
    cache_write_5m: Number(cache_write_5m),
    ...(cache_write_1h === "-" ? {} : { cache_write_1h: Number(cache_write_1h) }),
    cache_read: Number(cache_read),
    web_search: Number(web_search),
  };
  parsedPrices.set(text, price);
  return price;
}

const compiled = new Map<string, RegExp>();

/** A step's regex (the era table's own data, never a transcript's), compiled once. */
function stepPattern(source: string): RegExp {
  let pattern = compiled.get(source);
  if (pattern === undefined) {
    const body = source.slice(source.indexOf("/") + 1, source.lastIndexOf("/"));
    pattern = new RegExp(body);
    compiled.set(source, pattern);
  }
  return pattern;
}

/**
 * The key a table-era release looked a model's price up by: its key steps in
 * order (`lower`; a plain string: contained, gives itself; `/re/>key`: matches,
 * gives key; `match:/re/`: the first group of a match; `replace:/re/`: removed),
 * else the id itself.
 *
 * @param steps The era's key steps.
 * @param model The model id, as the transcript names it.
 * @returns The key.
 */
function tableKey(steps: readonly string[], model: string): string {
  let id = model;
  for (const step of steps) {
    if (step === "lower") {
      id = id.toLowerCase();
    } else if (step.startsWith("match:")) {
      const found = stepPattern(step).exec(id);
      if (found?.[1]) return found[1];
    } else if (step.startsWith("replace:")) {
      return id.replace(stepPattern(step), "");
    } else if (step.startsWith("/")) {
      const arrow = step.lastIndexOf(">");
      if (stepPattern(step.slice(0, arrow)).test(id)) return step.slice(arrow + 1);
    } else if (id.includes(step)) {
      return step;
    }
  }
  return id;
}

/** What of a response's usage decides whether a table era priced it as fast. */
interface FastSignals {
  /** `usage.speed`. */
  speed?: string;
  /** The 2026 research preview's usage field was present (`usage.research_preview_2026_02`). */
  research_preview?: boolean;
}

function isFast(trigger: "speed" | "preview" | "either", usage: FastSignals): boolean {
  const bySpeed = usage.speed === "fast";
  const byPreview = usage.research_preview === true;
  return trigger === "speed" ? bySpeed : trigger === "preview" ? byPreview : bySpeed || byPreview;
}

function withLongContext(price: TierPrice, long: string): TierPrice {
  const { web_search: _, ...prices } = parsePrice(long);
  return { ...price, long_prompt: { above_prompt_tokens: LONG_CONTEXT_TOKENS, ...prices } };
}

function own(table: Readonly<Record<string, string>>, key: string): string | undefined {
  // A model named "constructor" or "__proto__" is no key of the table.
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/**
 * A response's price by a table era's rules: the fast price for its key when
 * it was fast, else the table's, with the era's long-context price for that
 * price's input/output as a long-prompt line; a model the table lacks gets the
 * era's fallback model's price (never long), or none where the fallback
 * depended on the account.
 *
 * @param model The model id, as the transcript names it.
 * @param usage Whether the response was fast.
 * @param era A table era (`era.catalog` false).
 * @returns The price, or undefined when the era priced the model by something a transcript does not show.
 */
function tablePrice(model: string, usage: FastSignals, era: PricingEra): TierPrice | undefined {
  const key = tableKey(era.keys, model);
  const fast = era.fast !== undefined && isFast(era.fast.trigger, usage) ? own(era.fast.byKey, key) : undefined;
  if (fast !== undefined) {
    const long = era.fast?.long;
    return long === undefined ? parsePrice(fast) : withLongContext(parsePrice(fast), long);
  }
  const listed = own(era.prices, key);
  if (listed === undefined) {
    const fallback = era.unknown === undefined ? undefined : own(era.prices, tableKey(era.keys, era.unknown));
    return fallback === undefined ? undefined : parsePrice(fallback);
  }
  const price = parsePrice(listed);
  const long = era.long === undefined ? undefined : own(era.long, `${price.input}/${price.output}`);
  return long === undefined ? price : withLongContext(price, long);
}

// ---------------------------------------------------------------------------
// src/prices.ts
//
// What a response costs, the way Claude Code itself computes it: the model
// id as a transcript names it resolved to the catalog's model (dated ids,
// `[1m]` tags, Bedrock, Vertex and Foundry ids, ARNs), that model's tier, the
// fast-mode, long-prompt, 1-hour cache, US-inference and web-search rules
// of the Claude Code version that wrote the response (see `price_eras.ts`;
// releases before the catalog priced from tables of their own, see
// `legacy_prices.ts`), an organisation's managed `modelPricing`, and
// `TELEMHQ_PRICES` over all.
//
// Owns: `resolveModel`, `PriceBook`, `responseCostUsd`, `roundUsd`,
// `priceTable`, `loadManagedPricing`. Uses: runtime, config, catalog, price_eras, legacy_prices.

/** A model's list prices, in US dollars per million tokens (see {@linkcode TierPrice}). */
export type ModelPrice = TierPrice;

/** The US-only inference multiplier Claude Code applies to token costs (`usage.inference_geo === "us"`). */
const US_INFERENCE_FACTOR = 1.1;
/** Web search per request, where a price gives none (Claude Code's default). */
const WEB_SEARCH_USD = 0.01;
/** Region prefixes of Bedrock inference profiles; a profile id of another region is priced as its `us.` twin. */
const REGIONS = ["us", "eu", "apac", "jp", "au", "us-gov", "global"] as const;

let providerIds: ReadonlyMap<string, string> | undefined;

/**
 * Every provider id (lower case) to its catalog model: built on first use, since only the sender prices (the hook,
 * which runs for every event, never does).
 */
function byProviderId(): ReadonlyMap<string, string> {
  return providerIds ??= new Map(
    CATALOG_MODELS.flatMap((model) => model.providerIds.map((id) => [id, model.id] as const)),
  );
}

/** A model id taken apart: `claude-<family>-<major>[-<minor>]`, or the older `claude-<major>[-<minor>]-<family>`. */
interface ModelName {
  family: string;
  major: number;
  minor: number;
  legacyOrder: boolean;
}

const MODERN_NAME = /^claude-([a-z]+)-(\d{1,2})(?:-(\d{1,2})(?!\d))?/;
const LEGACY_NAME = /^claude-(\d{1,2})(?:-(\d{1,2}))?-([a-z]+)/;
/** What may follow a model name in an id: `-fast`/`-latest`, a date, a Bedrock version (`-v1:0`). */
const NAME_TRAILER = /^(?:-fast|-latest)?(?:-v\d{1,3}@\d{8}|[-@]\d{8})?(?:-v\d{1,3}(?::\d{1,3})?)?$/;

function parseName(id: string): ModelName | undefined {
  const modern = MODERN_NAME.exec(id);
  const legacy = modern === null ? LEGACY_NAME.exec(id) : null;
  const match = modern ?? legacy;
  if (match === null || !NAME_TRAILER.test(id.slice(match[0].length))) return undefined;
  return modern !== null
    ? { family: modern[1], major: Number(modern[2]), minor: Number(modern[3] ?? 0), legacyOrder: false }
    : { family: legacy![3], major: Number(legacy![1]), minor: Number(legacy![2] ?? 0), legacyOrder: true };
}

let names: ReadonlyMap<string, string> | undefined;

/** Catalog models by their parsed names, for ids that are no provider's exact id (built on first use). */
function byName(): ReadonlyMap<string, string> {
  return names ??= new Map(
    CATALOG_MODELS.flatMap((model) => {
      const name = parseName(model.id);
      return name === undefined ? [] : [[nameKey(name), model.id] as const];
    }),
  );
}

function nameKey(name: ModelName): string {
  return `${name.family}\u0000${name.major}\u0000${name.minor}\u0000${name.legacyOrder}`;
}

/**
 * The catalog model a model id names, as Claude Code resolves it: exact
 * provider ids first (any region's Bedrock profile), then the id taken apart
 * (what follows the last `/` of an ARN or gateway path, without an
 * `anthropic.` prefix, a `[1m]` tag, a date or a version), then the newest
 * catalog id the string contains.
 *
 * @param model A model id from a transcript, for example `"us.anthropic.claude-sonnet-4-6"`.
 * @returns The catalog's id, for example `"claude-sonnet-4-6"`, or undefined when it names no catalog model.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(resolveModel("claude-sonnet-4-5-20250929"), "claude-sonnet-4-5");
 * assert.equal(resolveModel("claude-sonnet-4-5@20250929"), "claude-sonnet-4-5");
 * assert.equal(resolveModel("Claude-Opus-4.6[1m]"), "claude-opus-4-6");
 * assert.equal(resolveModel("my-proxy-model"), undefined);
 * ```
 */
export function resolveModel(model: string): string | undefined {
  let id = model.trim().toLowerCase();
  if (id === "" || /\s/.test(id)) return undefined;
  id = id.replace(/\[[12]m\]/g, "").replace(/(claude-(?:[a-z]+-)?\d{1,2})\.(?=\d)/g, "$1-");
  const exact = byProviderId().get(id);
  if (exact !== undefined) return exact;
  const region = REGIONS.find((prefix) => prefix !== "us" && id.startsWith(`${prefix}.anthropic.`));
  if (region !== undefined) {
    const twin = byProviderId().get(`us${id.slice(region.length)}`);
    if (twin !== undefined) return twin;
  }
  let bare = id.slice(id.lastIndexOf("/") + 1);
  const prefixed = /^(?:([a-z-]+)\.)?anthropic\.(claude-.*)$/.exec(bare);
  if (prefixed !== null) {
    if (prefixed[1] !== undefined && !(REGIONS as readonly string[]).includes(prefixed[1])) return undefined;
    bare = prefixed[2];
  }
  const named = byProviderId().get(bare) ?? (parseName(bare) && byName().get(nameKey(parseName(bare)!)));
  if (named !== undefined) return named;
  return containedModel(bare);
}

/** The newest catalog id a string contains, not followed by another version number (`claude-opus-4` is 4-0). */
function containedModel(id: string): string | undefined {
  for (const model of [...CATALOG_MODELS].reverse()) {
    const at = id.indexOf(model.id);
    if (at >= 0 && !/^-?\d/.test(id.slice(at + model.id.length))) return model.id;
    const major = model.id.match(/^(claude-[a-z]+-\d+)-0$/)?.[1];
    if (major !== undefined && new RegExp(`${major}(?!-?\\d)`).test(id)) return model.id;
  }
  return undefined;
}

/** What `TELEMHQ_PRICES` and managed `modelPricing` rows look like once read. */
interface PriceRow {
  price: ModelPrice;
  /** A managed row prices every token alike: no US-inference, fast or long-prompt rule. */
  flat: boolean;
}

/** An organisation's managed `modelPricing` (Claude Code honours it from managed settings only). */
export interface ManagedPricing {
  /** Multiplies every cost, web search and unmatched models included (0 to 10). */
  multiplier: number;
  /** Rows by model id (lower case, `[1m]` removed), as written. */
  exact: ReadonlyMap<string, ModelPrice>;
  /** Rows by the catalog model their key names. */
  byModel: ReadonlyMap<string, ModelPrice>;
}

/**
 * Reads managed `modelPricing` (`{"multiplier": 0.85, "overrides": {"<model>": {"input", "output",
 * "cacheRead", "cacheWrite"}}}`), as Claude Code validates it; anything else gives undefined.
 *
 * @param value The `modelPricing` value of a managed settings file.
 * @returns The pricing, or undefined when absent, malformed, or without effect.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const pricing = managedPricing({ multiplier: 0.5 });
 * assert.equal(pricing?.multiplier, 0.5);
 * ```
 */
export function managedPricing(value: unknown): ManagedPricing | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const { multiplier = 1, overrides = {} } = value as { multiplier?: unknown; overrides?: unknown };
  if (typeof multiplier !== "number" || !(multiplier > 0 && multiplier <= 10)) return undefined;
  if (overrides === null || typeof overrides !== "object") return undefined;
  const exact = new Map<string, ModelPrice>();
  const byModel = new Map<string, ModelPrice>();
  const valid = (n: unknown) => typeof n === "number" && n >= 0 && n <= 10_000;
  for (const [key, row] of Object.entries(overrides as Record<string, Record<string, unknown>>)) {
    if (row === null || typeof row !== "object") return undefined;
    if (![row.input, row.output, row.cacheRead, row.cacheWrite].every(valid)) return undefined;
    const price: ModelPrice = {
      input: row.input as number,
      output: row.output as number,
      cache_read: row.cacheRead as number,
      cache_write_5m: row.cacheWrite as number,
      web_search: WEB_SEARCH_USD,
    };
    const name = key.replace(/\[[12]m\]/gi, "").toLowerCase();
    if (exact.has(name)) continue; // the first row wins, as in Claude Code
    exact.set(name, price);
    const model = resolveExactly(name);
    if (model !== undefined && !byModel.has(model)) byModel.set(model, price);
  }
  if (exact.size === 0 && multiplier === 1) return undefined;
  return { multiplier, exact, byModel };
}

/** A catalog id, or a provider id of any region: what a managed row's key may name. */
function resolveExactly(key: string): string | undefined {
  if (CATALOG_MODELS.some((model) => model.id === key)) return key;
  const region = REGIONS.find((prefix) => key.startsWith(`${prefix}.anthropic.`));
  return byProviderId().get(region === undefined ? key : `us${key.slice(region.length)}`);
}

/** The prices in force: the catalog, an organisation's managed pricing, and the user's `TELEMHQ_PRICES` over all. */
export interface PriceBook {
  /** `TELEMHQ_PRICES`: rows by model id (exact, lower case) or catalog id. */
  overrides: Readonly<Record<string, ModelPrice>>;
  /** Managed `modelPricing`, if the machine's managed settings have it. */
  managed?: ManagedPricing;
}

/** The usage fields of one response that its cost depends on. */
export interface PricedUsage {
  /** Uncached input tokens. */
  input_tokens: number;
  /** Output tokens. */
  output_tokens: number;
  /** Cache reads. */
  cache_read_input_tokens: number;
  /** All cache writes. */
  cache_creation_input_tokens: number;
  /** Cache writes with a 1-hour lifetime (part of the above). */
  cache_1h: number;
  /** `"fast"` for fast mode; other values than `"standard"` are priced as fast too, as Claude Code does. */
  speed?: string;
  /** The 2026 fast-mode research preview marked the response (`usage.research_preview_2026_02`). */
  research_preview?: boolean;
  /** `"us"`: US-only inference, 1.1 times the token cost. */
  inference_geo?: string;
  /** Web search requests. */
  web_search_requests: number;
  /** `usage.iterations`: the server-side steps of the response (see {@linkcode responseCostUsd}). */
  iterations?: readonly unknown[];
  /** The Claude Code version that wrote the response (its transcript line's `version`): its cost rules apply. */
  version?: string;
}

/** One step of `usage.iterations`, as far as its cost goes. */
interface Iteration {
  type?: unknown;
  model?: unknown;
  input_tokens?: unknown;
  output_tokens?: unknown;
  cache_read_input_tokens?: unknown;
  cache_creation_input_tokens?: unknown;
  cache_creation?: { ephemeral_1h_input_tokens?: unknown; ephemeral_5m_input_tokens?: unknown } | null;
}

const COUNTED = ["input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"] as const;

/** A token count: a whole number below 2^53, else 0 (an enormous count must not make a cost infinite). */
function tokens(value: unknown): number {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? value as number : 0;
}

function iterationUsage(step: Iteration, oneHour: number, parent: PricedUsage): PricedUsage {
  return {
    input_tokens: tokens(step.input_tokens),
    output_tokens: tokens(step.output_tokens),
    cache_read_input_tokens: tokens(step.cache_read_input_tokens),
    cache_creation_input_tokens: tokens(step.cache_creation_input_tokens),
    cache_1h: oneHour,
    inference_geo: parent.inference_geo,
    web_search_requests: 0,
    version: parent.version,
  };
}

/**
 * The units a response is priced in. Normally the response itself; under a price with a long-prompt
 * line, its `message` iterations one by one (each with its own line test) when their counts add up to
 * the response's, with the response's 1-hour writes the iterations do not account for handed to them
 * in order, as Claude Code does.
 */
function pricedUnits(usage: PricedUsage, price: ModelPrice): PricedUsage[] {
  if (price.long_prompt === undefined || !Array.isArray(usage.iterations)) return [usage];
  const steps = (usage.iterations as Iteration[]).filter((step) => step?.type === "message");
  const valid = steps.length > 0 &&
    COUNTED.every((field) =>
      steps.every((step) => typeof step[field] === "number" && Number.isFinite(step[field]) && step[field] >= 0) &&
      steps.reduce((sum, step) => sum + (step[field] as number), 0) === usage[field]
    );
  if (!valid) return [usage];
  const split = (step: Iteration) => {
    const total = tokens(step.cache_creation_input_tokens);
    const hour = Math.max(Math.min(tokens(step.cache_creation?.ephemeral_1h_input_tokens), total), 0);
    return { hour, five: Math.max(Math.min(tokens(step.cache_creation?.ephemeral_5m_input_tokens), total - hour), 0) };
  };
  let unplaced = Math.max(0, usage.cache_1h - steps.reduce((sum, step) => sum + split(step).hour, 0));
  return steps.map((step) => {
    const { hour, five } = split(step);
    const extra = Math.min(unplaced, tokens(step.cache_creation_input_tokens) - five - hour);
    unplaced -= extra;
    return iterationUsage(step, hour + extra, usage);
  });
}

/** A catalog model's price in a catalog era: its fast price, the era's own, or today's tier. */
function tierOf(catalogId: string, speed: string | undefined, era: PricingEra): ModelPrice | undefined {
  const fast = speed !== undefined && speed !== "" && speed !== "standard" ? FAST_PRICES[catalogId] : undefined;
  if (fast !== undefined) return fast;
  const then = Object.hasOwn(era.prices, catalogId) ? parsePrice(era.prices[catalogId]) : undefined;
  const model = CATALOG_MODELS.find((entry) => entry.id === catalogId);
  const price = then ?? (model === undefined ? undefined : PRICING_TIERS[model.tier]);
  if (price?.long_prompt === undefined || era.longPromptLines) return price;
  const { long_prompt: _, ...withoutLine } = price;
  return withoutLine;
}

/**
 * Finds the price of a model id: `TELEMHQ_PRICES`, then a managed row (where the era honoured them),
 * then the era's table or catalog.
 */
function priceRow(model: string, book: PriceBook, usage: PricedUsage, era: PricingEra): PriceRow | undefined {
  const key = model.replace(/\[[12]m\]/gi, "").toLowerCase();
  const catalogId = resolveModel(model);
  // Own keys only: a model named "constructor" or "__proto__" is no row of the table.
  const own = (id: string | undefined) =>
    id !== undefined && Object.hasOwn(book.overrides, id) ? book.overrides[id] : undefined;
  const override = own(key) ?? own(catalogId);
  if (override !== undefined) return { price: override, flat: false };
  const managed = !era.managedPricing ? undefined : book.managed?.exact.get(key) ??
    (catalogId === undefined ? undefined : book.managed?.byModel.get(catalogId));
  if (managed !== undefined) return { price: managed, flat: true };
  if (!era.catalog) {
    const price = tablePrice(model, usage, era);
    return price === undefined ? undefined : { price, flat: false };
  }
  // A model the release did not know yet it priced as the model its key steps made of it (Opus 5.5 as Opus 5).
  const known = (id: string | undefined) => id !== undefined && era.models.includes(id) ? id : undefined;
  const then = known(catalogId) ?? known(tableKey(era.keys, model));
  const price = then === undefined ? undefined : tierOf(then, usage.speed, era);
  return price === undefined ? undefined : { price, flat: false };
}

/** The token cost of one priced unit, in Claude Code's order of operations (equal to its own, bit for bit). */
function unitCost(usage: PricedUsage, price: ModelPrice): number {
  const promptTokens = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens;
  const long = price.long_prompt;
  const p = long !== undefined && promptTokens > long.above_prompt_tokens ? long : price;
  const oneHour = Math.max(Math.min(usage.cache_1h, usage.cache_creation_input_tokens), 0);
  // Writes not marked 1-hour (5-minute ones, and older transcripts' unsplit writes) pay the 5-minute price.
  const writes = p.cache_write_1h === undefined || oneHour <= 0
    ? usage.cache_creation_input_tokens / 1e6 * p.cache_write_5m
    : oneHour / 1e6 * p.cache_write_1h + (usage.cache_creation_input_tokens - oneHour) / 1e6 * p.cache_write_5m;
  return usage.input_tokens / 1e6 * p.input + usage.output_tokens / 1e6 * p.output +
    usage.cache_read_input_tokens / 1e6 * p.cache_read + writes;
}

/**
 * The cost of one response in US dollars, as Claude Code computes it (not
 * rounded): each token count times its price (the long-prompt prices when the
 * prompt is over the tier's line; 1-hour writes apart; the fast prices for a
 * fast response), times 1.1 for US-only inference, plus web searches.
 *
 * @param model The model id the response was requested with (the transcript's `requestedModel`).
 * @param usage The response's usage.
 * @param book The prices in force.
 * @returns The cost, or undefined when no price is known for the model (never a made-up 0).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const usage = {
 *   input_tokens: 1_000_000, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0,
 *   cache_1h: 0, web_search_requests: 0,
 * };
 * assert.equal(responseCostUsd("claude-sonnet-4-6", usage, { overrides: {} }), 3);
 * assert.equal(responseCostUsd("my-proxy-model", usage, { overrides: {} }), undefined);
 * ```
 */
export function responseCostUsd(model: string, usage: PricedUsage, book: PriceBook): number | undefined {
  const { era } = pricingEraOf(usage.version);
  const row = priceRow(model, book, usage, era);
  if (row === undefined) return undefined;
  const geo = !row.flat && era.usInference && usage.inference_geo === "us" ? US_INFERENCE_FACTOR : 1;
  const units = row.flat || !era.perIteration ? [usage] : pricedUnits(usage, row.price);
  let tokensCost = 0;
  for (const unit of units) tokensCost += unitCost(unit, row.price);
  let cost = (tokensCost * geo + usage.web_search_requests * (row.price.web_search ?? WEB_SEARCH_USD)) *
    (era.managedPricing ? book.managed?.multiplier ?? 1 : 1);
  // An advisor's steps are priced as its own model, by the same rules, and added (from 2.1.84).
  for (const step of (era.advisorSteps ? usage.iterations ?? [] : []) as Iteration[]) {
    if (step?.type !== "advisor_message" || typeof step.model !== "string") continue;
    const oneHour = tokens(step.cache_creation?.ephemeral_1h_input_tokens);
    const advisor = responseCostUsd(step.model, iterationUsage(step, oneHour, usage), book);
    if (advisor === undefined) return undefined;
    cost += advisor;
  }
  // Whatever a transcript holds, a cost is a finite number or none.
  return Number.isFinite(cost) ? cost : undefined;
}

/**
 * Rounds a cost to the micro-dollar: floating-point sums would otherwise show noise in the last digits.
 *
 * @param usd A cost in US dollars.
 * @returns The cost, rounded to 6 decimals.
 */
function roundUsd(usd: number): number {
  return Math.round(usd * 1_000_000) / 1_000_000;
}

const PRICE_FIELDS = ["input", "output", "cache_write_5m", "cache_read"] as const;

/**
 * Reads `TELEMHQ_PRICES`: a JSON object of model id (or catalog id) to
 * prices (`input`, `output`, `cache_write_5m`, `cache_read`, and optionally
 * `cache_write_1h`, `web_search` and `long_prompt`), laid over every other
 * price. Entries that are not complete, finite, non-negative prices are ignored.
 *
 * @param override The `TELEMHQ_PRICES` value, if any.
 * @returns The rows, keyed by lower-case model id.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const table = priceTable('{"my-model":{"input":1,"output":2,"cache_write_5m":1,"cache_read":0.1}}');
 * assert.equal(table["my-model"].output, 2);
 * ```
 */
export function priceTable(override: string | undefined): Record<string, ModelPrice> {
  const table: Record<string, ModelPrice> = Object.create(null);
  let parsed: unknown;
  try {
    parsed = JSON.parse(override ?? "{}");
  } catch {
    return table;
  }
  if (parsed === null || typeof parsed !== "object") return table;
  const price = (n: unknown) => typeof n === "number" && Number.isFinite(n) && n >= 0;
  for (const [model, value] of Object.entries(parsed as Record<string, unknown>)) {
    const row = value as Record<string, unknown> | null;
    if (row === null || typeof row !== "object" || !PRICE_FIELDS.every((field) => price(row[field]))) continue;
    const entry: ModelPrice = {
      input: row.input as number,
      output: row.output as number,
      cache_write_5m: row.cache_write_5m as number,
      cache_read: row.cache_read as number,
    };
    if (price(row.cache_write_1h)) entry.cache_write_1h = row.cache_write_1h as number;
    if (price(row.web_search)) entry.web_search = row.web_search as number;
    const long = row.long_prompt as Record<string, unknown> | undefined;
    if (
      long !== null && typeof long === "object" && price(long.above_prompt_tokens) &&
      PRICE_FIELDS.every((f) => price(long[f]))
    ) {
      entry.long_prompt = {
        above_prompt_tokens: long.above_prompt_tokens as number,
        input: long.input as number,
        output: long.output as number,
        cache_write_5m: long.cache_write_5m as number,
        cache_read: long.cache_read as number,
        ...(price(long.cache_write_1h) ? { cache_write_1h: long.cache_write_1h as number } : {}),
      };
    }
    table[model.toLowerCase()] = entry;
  }
  return table;
}

/**
 * An organisation's `modelPricing`, from the managed settings files Claude
 * Code honours it from (`managed-settings.json`, then its `managed-settings.d/`
 * drop-ins in name order, the last one to set it winning). Policy from MDM
 * or served by Anthropic's server is out of a hook's reach.
 *
 * @param runtime The runtime adapter.
 * @returns The pricing, or undefined when no managed file sets it.
 */
async function loadManagedPricing(runtime: Runtime): Promise<ManagedPricing | undefined> {
  const fs = await runtime.fs();
  let value: unknown;
  for (const path of await managedSettingsPaths(fs)) {
    const settings = await readManagedSettings(fs, path) as { modelPricing?: unknown } | undefined;
    if (settings !== null && typeof settings === "object" && settings.modelPricing !== undefined) {
      value = settings.modelPricing;
    }
  }
  return managedPricing(value);
}

// ---------------------------------------------------------------------------
// src/usage.ts
//
// Tokens and cost of a turn (or a subagent run), from its transcript lines:
// each API response counted once, priced by its model.
//
// Owns: `TurnUsage`, `sumUsage`, `readTurnUsage`, `readTranscriptUsage`,
// the token fields. Uses: fields, transcript, price_eras, prices.

/**
 * Tokens, cost and shape of one turn (or one subagent run): a part of
 * {@linkcode Payload}, so nothing but ping fields can come from a transcript.
 */
export type TurnUsage =
  & Required<
    Pick<
      Payload,
      | "input_tokens"
      | "output_tokens"
      | "cache_creation_input_tokens"
      | "cache_read_input_tokens"
      | "total_tokens"
      | "api_requests"
      | "tool_calls"
    >
  >
  & Pick<
    Payload,
    | "model"
    | "models"
    | "cost_usd"
    | "duration_ms"
    | "git_branch"
    | "web_search_requests"
    | "speed"
    | "lines_added"
    | "lines_removed"
  >;

/**
 * A turn's usage with its cost before rounding: totals over several turns
 * (a session's) add these and round once, so that they never drift from
 * Claude Code's own sum by the rounding of each turn.
 */
export interface MeasuredUsage {
  /** The usage, as a ping carries it (`cost_usd` rounded to the micro-dollar). */
  usage: TurnUsage;
  /** The cost, not rounded; undefined when a model had no price. */
  unroundedCostUsd?: number;
  /** When a response came from a Claude Code whose cost rules were not checked: what it was priced by. */
  pricingNote?: string;
}

/** The four token counts of a response, as the API names them. */
const TOKEN_FIELDS = [
  "input_tokens",
  "output_tokens",
  "cache_creation_input_tokens",
  "cache_read_input_tokens",
] as const;

/** The four token counts. */
type TokenCounts = Record<(typeof TOKEN_FIELDS)[number], number>;

/**
 * The four token counts added up: what `total_tokens` means everywhere.
 *
 * @param counts The counts.
 * @returns Their sum.
 */
function totalTokens(counts: TokenCounts): number {
  return TOKEN_FIELDS.reduce((sum, field) => sum + counts[field], 0);
}

/** One API response's usage, its lines merged, and the model it was requested with. */
interface ResponseUsage extends PricedUsage {
  /** The model it was requested with (or, in older transcripts, the one that answered). */
  model?: string;
}

/** A response with nothing counted yet, for {@linkcode mergeResponseLine}. */
const NO_RESPONSE_USAGE: Readonly<ResponseUsage> = {
  input_tokens: 0,
  output_tokens: 0,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  cache_1h: 0,
  web_search_requests: 0,
};

/**
 * Adds one transcript line to its response (the pings and `report` both count this way): Claude Code writes a
 * line per content block and repeats the usage on each, so where they disagree the largest count wins; the model is
 * the one Claude Code asked for (`requestedModel`), as it prices it; long or odd strings are not kept.
 *
 * @param response The response so far (changed in place).
 * @param line An assistant line of it.
 * @param usage The line's `message.usage`.
 */
function mergeResponseLine(
  response: ResponseUsage,
  line: TranscriptLine,
  usage: Record<string, unknown>,
): void {
  const model = typeof line.requestedModel === "string" ? line.requestedModel : line.message?.model;
  if (typeof model === "string" && model.length <= 256) response.model = model;
  if (typeof line.version === "string" && line.version.length <= 32) response.version = line.version;
  for (const field of TOKEN_FIELDS) response[field] = Math.max(response[field], count(usage[field]));
  const split = usage.cache_creation as Record<string, unknown> | undefined;
  response.cache_1h = Math.max(response.cache_1h, count(split?.ephemeral_1h_input_tokens));
  const tools = usage.server_tool_use as Record<string, unknown> | undefined;
  response.web_search_requests = Math.max(response.web_search_requests, count(tools?.web_search_requests));
  if (typeof usage.speed === "string") response.speed = usage.speed;
  if (usage.research_preview_2026_02 !== undefined) {
    response.research_preview = true;
  }
  if (typeof usage.inference_geo === "string") response.inference_geo = usage.inference_geo;
  // Steps are kept only while few: a response's iterations are a handful; thousands are no transcript's.
  if (Array.isArray(usage.iterations) && usage.iterations.length <= 64) response.iterations = usage.iterations;
}

/**
 * A token count as the API gives it: a whole number of tokens, else nothing
 * (a negative, fractional, huge or non-number count counts 0).
 *
 * @param value Any value from a transcript.
 * @returns The count, or 0.
 */
function count(value: unknown): number {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? value as number : 0;
}

/** The most models named in one ping (the allowlist's limit). */
const MAX_MODELS = 16;

/**
 * The lines a Write or Edit tool result added and removed, counted as Claude
 * Code counts them for its own totals: a new file's lines (newlines + 1, none
 * for an empty file), else the `+` and `-` lines of its patch.
 *
 * @param result A transcript line's `toolUseResult`.
 * @returns The counts, or undefined for a result that changed no file.
 */
function changedLines(result: unknown): { added: number; removed: number } | undefined {
  if (result === null || typeof result !== "object") return undefined;
  const { type, content, structuredPatch } = result as { type?: unknown; content?: unknown; structuredPatch?: unknown };
  if (!Array.isArray(structuredPatch)) return undefined;
  if (structuredPatch.length === 0) {
    if (type !== "create" || typeof content !== "string") return { added: 0, removed: 0 };
    return { added: content === "" ? 0 : content.split("\n").length, removed: 0 };
  }
  let added = 0;
  let removed = 0;
  for (const hunk of structuredPatch as { lines?: unknown }[]) {
    for (const line of Array.isArray(hunk?.lines) ? hunk.lines : []) {
      if (typeof line !== "string") continue;
      if (line.startsWith("+")) added++;
      else if (line.startsWith("-")) removed++;
    }
  }
  return { added, removed };
}

/**
 * Sums the usage of transcript lines: each API response once (Claude Code
 * writes one line per content block and repeats the response's usage on each;
 * the key is `message.id` + `requestId`, and where its lines disagree the
 * largest count wins), each priced as Claude Code prices it (see
 * {@linkcode responseCostUsd}); the lines Write and Edit changed are counted.
 *
 * @param lines Transcript lines, in file order.
 * @param prices The prices in force.
 * @returns The usage, or undefined when the lines hold no API response.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const line = {
 *   type: "assistant",
 *   requestId: "req_1",
 *   message: { id: "msg_1", model: "claude-sonnet-4-5", usage: { input_tokens: 10, output_tokens: 5 } },
 * };
 * assert.equal(sumUsage([line, line], { overrides: {} })?.total_tokens, 15);
 * ```
 */
export function sumUsage(lines: Iterable<object>, prices: PriceBook): TurnUsage | undefined {
  const tally = new UsageTally();
  for (const line of lines) tally.add(line as TranscriptLine);
  return tally.total(prices);
}

/**
 * Adds up transcript lines one at a time, in any order (a transcript read
 * backward needs no array of its lines): see {@linkcode sumUsage}.
 */
class UsageTally {
  readonly #responses = new Map<string, ResponseUsage>();
  readonly #toolUses = new Set<string>();
  readonly #changes = new Map<string, { added: number; removed: number }>();
  #branch: { name: string; time: number } | undefined;
  #first = Infinity;
  #last = -Infinity;

  add(line: TranscriptLine): void {
    const time = typeof line.timestamp === "string" ? Date.parse(line.timestamp) : NaN;
    if (!Number.isNaN(time) && (line.type === "user" || line.type === "assistant")) {
      this.#first = Math.min(this.#first, time);
      this.#last = Math.max(this.#last, time);
    }
    if (typeof line.gitBranch === "string" && plainBranch(line.gitBranch) !== undefined) {
      // The branch of the latest line: a turn may switch branches.
      const at = Number.isNaN(time) ? -Infinity : time;
      if (this.#branch === undefined || at >= this.#branch.time) this.#branch = { name: line.gitBranch, time: at };
    }
    const changed = line.type === "user" ? changedLines(line.toolUseResult) : undefined;
    if (changed !== undefined) {
      // One result per tool call, however many times a line is read.
      const key = typeof line.uuid === "string" ? line.uuid : `${this.#changes.size}`;
      this.#changes.set(key, changed);
    }
    const message = line.message;
    if (line.type !== "assistant" || message === undefined || typeof message.id !== "string") return;
    // Claude Code writes API errors as "<synthetic>" assistant messages: no response was billed.
    if (message.model === "<synthetic>") return;
    if (Array.isArray(message.content)) {
      for (const block of message.content as { type?: unknown; id?: unknown }[]) {
        if (block?.type === "tool_use" && typeof block.id === "string") this.#toolUses.add(block.id);
      }
    }
    const usage = message.usage;
    if (usage === undefined || usage === null || typeof usage !== "object") return;
    const key = `${message.id}\u0000${typeof line.requestId === "string" ? line.requestId : ""}`;
    const response: ResponseUsage = this.#responses.get(key) ?? { ...NO_RESPONSE_USAGE };
    mergeResponseLine(response, line, usage);
    this.#responses.set(key, response);
  }

  total(prices: PriceBook): TurnUsage | undefined {
    return this.measure(prices)?.usage;
  }

  measure(prices: PriceBook): MeasuredUsage | undefined {
    if (this.#responses.size === 0) return undefined;
    const totals: TokenCounts = {
      input_tokens: 0,
      output_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    };
    const outputByModel = new Map<string, number>();
    let cost: number | undefined = 0;
    let searches = 0;
    let fast = false;
    for (const response of this.#responses.values()) {
      for (const field of TOKEN_FIELDS) totals[field] += response[field];
      searches += response.web_search_requests;
      fast ||= response.speed === "fast";
      // Sent as the catalog's id where it names one, else only as a plain id (never an ARN or free text).
      const name = response.model === undefined
        ? undefined
        : resolveModel(response.model) ?? plainModelId(response.model);
      // An unnamed model still counts: when it produced most of the output, no model is named.
      const key = name ?? "";
      outputByModel.set(key, (outputByModel.get(key) ?? 0) + response.output_tokens);
      const priced = response.model === undefined ? undefined : responseCostUsd(response.model, response, prices);
      cost = priced === undefined || cost === undefined ? undefined : cost + priced;
    }
    const ranked = [...outputByModel.entries()].sort((a, b) => b[1] - a[1]).map(([model]) => model);
    const models = ranked.filter((model) => model !== "").slice(0, MAX_MODELS);
    const changes = [...this.#changes.values()];
    const usage: TurnUsage = {
      ...totals,
      total_tokens: totalTokens(totals),
      model: ranked[0] === "" ? undefined : ranked[0],
      models: ranked.length > 1 && models.length > 0 ? models : undefined,
      cost_usd: cost === undefined ? undefined : roundUsd(cost),
      duration_ms: this.#first <= this.#last ? this.#last - this.#first : undefined,
      git_branch: this.#branch?.name,
      api_requests: this.#responses.size,
      tool_calls: this.#toolUses.size,
      web_search_requests: searches > 0 ? searches : undefined,
      speed: fast ? "fast" : undefined,
      lines_added: changes.length > 0 ? changes.reduce((sum, change) => sum + change.added, 0) : undefined,
      lines_removed: changes.length > 0 ? changes.reduce((sum, change) => sum + change.removed, 0) : undefined,
    };
    const notes = [...this.#responses.values()].map((response) => pricingNote(response.version));
    return { usage, unroundedCostUsd: cost, pricingNote: notes.find((note) => note !== undefined) };
  }
}

/**
 * The usage of one turn: the transcript read from its end back to the turn's
 * prompt, so the work depends on the turn, not on the size of the file.
 *
 * @param transcriptPath The session transcript (`transcript_path`).
 * @param promptId The turn's `prompt_id`; without it, the turn since the last user prompt.
 * @param prices The price table.
 * @returns The usage, or undefined when the turn or its responses are not there.
 *
 * @example
 * ```ts ignore
 * const usage = await readTurnUsage(event.transcript_path, event.prompt_id, { overrides: {} });
 * ```
 */
export async function readTurnUsage(
  transcriptPath: string,
  promptId: string | undefined,
  prices: PriceBook,
): Promise<TurnUsage | undefined> {
  return (await measureTurnUsage(transcriptPath, promptId, prices))?.usage;
}

/**
 * {@linkcode readTurnUsage}, with the turn's cost before rounding (for totals over turns).
 *
 * @param transcriptPath The session transcript (`transcript_path`).
 * @param promptId The turn's `prompt_id`; without it, the turn since the last user prompt.
 * @param prices The price table.
 * @returns The usage and its unrounded cost, or undefined when the turn or its responses are not there.
 *
 * @example
 * ```ts ignore
 * const measured = await measureTurnUsage(event.transcript_path, event.prompt_id, { overrides: {} });
 * ```
 */
export async function measureTurnUsage(
  transcriptPath: string,
  promptId: string | undefined,
  prices: PriceBook,
): Promise<MeasuredUsage | undefined> {
  const lines = await readTurnLines(transcriptPath, promptId);
  if (lines === undefined) return undefined;
  const tally = new UsageTally();
  for (const line of lines) tally.add(line as TranscriptLine);
  return tally.measure(prices);
}

/**
 * The usage of a whole transcript: a subagent's (`agent_transcript_path`),
 * streamed from the end; its lines are never all in memory at once.
 *
 * @param transcriptPath The transcript.
 * @param prices The price table.
 * @returns The usage, or undefined when it holds no API response.
 *
 * @example
 * ```ts ignore
 * const usage = await readTranscriptUsage(event.agent_transcript_path, { overrides: {} });
 * ```
 */
export async function readTranscriptUsage(
  transcriptPath: string,
  prices: PriceBook,
): Promise<TurnUsage | undefined> {
  return (await measureTranscriptUsage(transcriptPath, prices))?.usage;
}

/**
 * {@linkcode readTranscriptUsage}, with the cost before rounding (for totals over transcripts).
 *
 * @param transcriptPath The transcript.
 * @param prices The price table.
 * @returns The usage and its unrounded cost, or undefined when it holds no API response.
 *
 * @example
 * ```ts ignore
 * const measured = await measureTranscriptUsage(event.agent_transcript_path, { overrides: {} });
 * ```
 */
export async function measureTranscriptUsage(
  transcriptPath: string,
  prices: PriceBook,
): Promise<MeasuredUsage | undefined> {
  const tally = new UsageTally();
  for await (const text of readLinesBackward(transcriptPath)) {
    const line = parseLine(text);
    if (line !== undefined) tally.add(line);
  }
  return tally.measure(prices);
}

// ---------------------------------------------------------------------------
// src/ledger.ts
//
// Adding usage to a ping, once, just before it is sent: the turn's (Stop,
// StopFailure), the subagent's (SubagentStop), or the session's totals
// (SessionEnd), which a per-session ledger keeps until then.
//
// Owns: `enrichEntry`, `forgetSession`, the session ledgers, which transcripts may be read.
// Uses: events, fields, paths, payload, runtime, files, state_dir, config, spool, prices, git_repo,
// usage.

/** How long reading one ping's usage may take: a stalled disk or network mount must not stall delivery. */
const USAGE_READ_MS = 15_000;

/** Token counts kept per session until its SessionEnd: `<state>/sessions/<hash of session_id>.json`. */
interface SessionLedger extends TokenCounts {
  turns: number;
  api_requests: number;
  web_search_requests?: number;
  lines_added?: number;
  lines_removed?: number;
  /** The sum of the turns' costs, not rounded (rounded once, in the SessionEnd ping); null once a model had no price. */
  cost_usd: number | null;
  /** The pings already added (their ids, the newest): a ping handled again after a failed save is not added twice. */
  counted?: string[];
}

/** How many ids of added pings a ledger keeps: more than a session's pings in flight at once. */
const COUNTED_KEPT = 200;

/** A turn's usage when it had none: no request answered, nothing spent. */
const NO_USAGE: TurnUsage = {
  input_tokens: 0,
  output_tokens: 0,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  total_tokens: 0,
  api_requests: 0,
  tool_calls: 0,
  cost_usd: 0,
};

/** The ping fields a SessionEnd carries. */
type SessionFields = Pick<
  Payload,
  | "session_input_tokens"
  | "session_output_tokens"
  | "session_cache_creation_input_tokens"
  | "session_cache_read_input_tokens"
  | "session_total_tokens"
  | "session_cost_usd"
  | "session_api_requests"
  | "session_turns"
  | "session_web_search_requests"
  | "session_lines_added"
  | "session_lines_removed"
>;

/**
 * Adds usage to a spooled ping, once: the turn's (Stop, StopFailure), the
 * subagent's (SubagentStop) or the session's totals (SessionEnd). A missing,
 * unreadable or broken transcript adds nothing: the ping goes out without usage.
 *
 * @param runtime The runtime adapter.
 * @param config The settings (state directory, prices).
 * @param entry The spooled ping, with where to read its usage.
 * @param managed An organisation's managed prices (see {@linkcode loadManagedPricing}).
 * @returns The entry with usage added, marked enriched, without its local paths.
 */
async function enrichEntry(
  runtime: Runtime,
  config: HookConfig,
  entry: SpoolEntry,
  managed?: ManagedPricing,
): Promise<SpoolEntry> {
  const payload: Payload = { ...entry.payload };
  const local = entry.local ?? {};
  const kind = eventRule(payload.event).usage;
  const ledgerPath = payload.session_id === undefined || config.stateDir === undefined
    ? undefined
    : `${config.stateDir}/${STATE_LAYOUT.sessions}/${await ledgerFileName(payload.session_id, runtime.sha256Hex)}`;
  // The session's own TELEMHQ_PRICES (kept with its ping), never the sender's: one sender prices every session.
  const prices: PriceBook = { overrides: priceTable(local.prices), managed };
  let measured: MeasuredUsage | undefined;
  if (kind === "turn" || kind === "subagent") {
    const path = kind === "turn" ? local.transcript_path : local.agent_transcript_path;
    const reading = async () => {
      const transcript = path === undefined ? undefined : await readableTranscript(runtime, path);
      if (transcript === undefined) return undefined;
      return kind === "turn"
        ? await measureTurnUsage(transcript, local.prompt_id, prices)
        : await measureTranscriptUsage(transcript, prices);
    };
    measured = await withinTime(reading(), USAGE_READ_MS).catch(() => undefined);
  }
  const note = measured?.pricingNote;
  if (measured !== undefined) {
    Object.assign(payload, omitUndefined({ ...measured.usage }));
    if (ledgerPath !== undefined) await addToLedger(runtime, ledgerPath, measured, kind === "turn", payload.ping_id);
  } else if (payload.event === "StopFailure" && ledgerPath !== undefined) {
    // A turn the API failed with no answer in the transcript used nothing, but it is a turn of the session. (A Stop
    // whose transcript cannot be read is not counted: its usage is unknown, not nothing.)
    await addToLedger(runtime, ledgerPath, { usage: NO_USAGE, unroundedCostUsd: 0 }, true, payload.ping_id);
  }
  if (kind === "session" && ledgerPath !== undefined) {
    // The ledger goes only once this ping is saved with its totals (see forgetSession): handled again after a failed
    // save, it still finds them.
    const ledger = await readLedger(runtime, ledgerPath);
    if (ledger !== undefined) Object.assign(payload, sessionFields(ledger));
  }
  // The repository, read here rather than in the hook: a git config read would cost Deno's hook 20 ms.
  const repo = local.cwd === undefined ? undefined : await readGitRepo(runtime, local.cwd).catch(() => undefined);
  if (repo !== undefined) payload.git_repo = repo;
  return { ...entry, payload, local: undefined, enriched: true, ...(note === undefined ? {} : { note }) };
}

/**
 * Removes a session's ledger once its SessionEnd ping, with the totals, is
 * saved: the session is over. Nothing to do for other pings.
 *
 * @param runtime The runtime adapter.
 * @param config The settings (state directory).
 * @param entry The enriched spool entry, as saved.
 */
async function forgetSession(runtime: Runtime, config: HookConfig, entry: SpoolEntry): Promise<void> {
  const { event, session_id: sessionId } = entry.payload;
  if (eventRule(event).usage !== "session" || sessionId === undefined || config.stateDir === undefined) return;
  const name = await ledgerFileName(sessionId, runtime.sha256Hex);
  await (await runtime.fs()).rm(`${config.stateDir}/${STATE_LAYOUT.sessions}/${name}`, { force: true });
}

/**
 * A transcript path from an event, as the sender may read it: a `.jsonl` file
 * inside Claude Code's `projects/` folder (symlinks resolved), nothing else:
 * an event cannot make the sender read another file.
 */
async function readableTranscript(runtime: Runtime, path: string): Promise<string | undefined> {
  const style = hostPathStyle();
  const claudeDir = claudeDirectory((name) => runtime.env(name), style);
  if (claudeDir === undefined || !path.endsWith(".jsonl") || isNetworkPath(path, style)) return undefined;
  const fs = await runtime.fs();
  try {
    // The path as written must be inside projects/ before anything opens it: on Windows, merely resolving a
    // \\\\server path would offer the user's login to that server.
    const projects = `${claudeDir}/projects`;
    const realProjects = await fs.realpath(projects);
    if (!isInsideFolder(path, projects, style) && !isInsideFolder(path, realProjects, style)) return undefined;
    const real = await fs.realpath(path);
    return isInsideFolder(real, realProjects, style) && real.endsWith(".jsonl") ? real : undefined;
  } catch {
    return undefined;
  }
}

/** The promise's value, or a rejection once `ms` have passed (the work itself may go on, unheeded). */
function withinTime<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A session's ledger, each field checked: a file that is not one (or any field of the wrong kind) is no ledger. */
async function readLedger(runtime: Runtime, path: string): Promise<SessionLedger | undefined> {
  const value = await readJsonFile(await runtime.fs(), path) as Record<string, unknown> | undefined;
  if (value === null || typeof value !== "object") return undefined;
  const counts = ["turns", "api_requests", ...TOKEN_FIELDS] as const;
  const optional = ["web_search_requests", "lines_added", "lines_removed"] as const;
  const isCount = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  if (!counts.every((field) => isCount(value[field]))) return undefined;
  if (!optional.every((field) => value[field] === undefined || isCount(value[field]))) return undefined;
  const cost = value.cost_usd;
  // A cost no session can have (the payload's own limit) is a planted ledger, not a session's.
  if (cost !== null && !(typeof cost === "number" && Number.isFinite(cost) && cost >= 0 && cost < 1e9)) {
    return undefined;
  }
  const counted = value.counted;
  const ids = Array.isArray(counted) && counted.every((id) => typeof id === "string" && /^[0-9a-f]{32}$/.test(id));
  return { ...value, counted: ids ? counted as string[] : undefined } as unknown as SessionLedger;
}

async function addToLedger(
  runtime: Runtime,
  path: string,
  measured: MeasuredUsage,
  isTurn: boolean,
  pingId: string,
): Promise<void> {
  const { usage, unroundedCostUsd } = measured;
  const fs = await runtime.fs();
  const ledger: SessionLedger = await readLedger(runtime, path) ?? {
    turns: 0,
    api_requests: 0,
    input_tokens: 0,
    output_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cost_usd: 0,
  };
  if (ledger.counted?.includes(pingId)) return;
  ledger.counted = [...(ledger.counted ?? []), pingId].slice(-COUNTED_KEPT);
  ledger.turns += isTurn ? 1 : 0;
  ledger.api_requests += usage.api_requests;
  ledger.web_search_requests = (ledger.web_search_requests ?? 0) + (usage.web_search_requests ?? 0);
  ledger.lines_added = (ledger.lines_added ?? 0) + (usage.lines_added ?? 0);
  ledger.lines_removed = (ledger.lines_removed ?? 0) + (usage.lines_removed ?? 0);
  for (const field of TOKEN_FIELDS) ledger[field] += usage[field];
  // Unrounded: the session's total is rounded once, when it is sent, as Claude Code sums its own costs.
  ledger.cost_usd = ledger.cost_usd === null || unroundedCostUsd === undefined
    ? null
    : ledger.cost_usd + unroundedCostUsd;
  await fs.mkdir(path.slice(0, path.lastIndexOf("/")), { mode: 0o700 }).catch(() => {});
  await writeJsonAtomically(fs, path, ledger);
}

function sessionFields(ledger: SessionLedger): SessionFields {
  return omitUndefined({
    session_input_tokens: ledger.input_tokens,
    session_output_tokens: ledger.output_tokens,
    session_cache_creation_input_tokens: ledger.cache_creation_input_tokens,
    session_cache_read_input_tokens: ledger.cache_read_input_tokens,
    session_total_tokens: totalTokens(ledger),
    session_cost_usd: ledger.cost_usd === null ? undefined : roundUsd(ledger.cost_usd),
    session_api_requests: ledger.api_requests,
    session_turns: ledger.turns,
    session_web_search_requests: ledger.web_search_requests || undefined,
    session_lines_added: ledger.lines_added || undefined,
    session_lines_removed: ledger.lines_removed || undefined,
  });
}

// ---------------------------------------------------------------------------
// src/attempts.ts
//
// One ping's attempt, as the sender makes it: usage added under a claim,
// then sent and settled (delivered and journaled, rescheduled with backoff,
// refused into `failed/`, or set aside after repeated local faults), and a
// batch of them a few at a time. The counters it keeps go to `status.json`.
//
// Owns: `Attempts`, `DeliveryStatus`, `readStatus`. Uses: input, fields,
// runtime, files, config, state_dir, spool, send, trackers, journal, prices,
// ledger.

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
 */
function emptyStatus(): DeliveryStatus {
  return { delivered: 0, rejected: 0, faulted: 0, dropped: { too_many: 0, too_old: 0, unreadable: 0 } };
}

/**
 * Reads `status.json`; an absent or broken file counts as no deliveries yet.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @returns The counters.
 */
async function readStatus(runtime: Runtime, stateDir: string): Promise<DeliveryStatus> {
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
type AttemptOutcome = SendOutcome | "faulted" | "gone";

/** What one sender's attempts work with. */
interface AttemptContext {
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
class Attempts {
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

// ---------------------------------------------------------------------------
// src/sender.ts
//
// The sender: one detached process drains the spool, outside Claude Code's
// wait. It holds the lock, sends every due ping (adding usage first), retries
// with backoff, keeps counters in `status.json`, and stays a while for more
// pings before it leaves. Each pass is a few named steps: poll the spool,
// pick what is due, send it, settle the outcomes, decide whether to leave.
//
// Owns: `deliverSpool`, `startSender`, `DeliveryReport`. Uses: input, runtime,
// files, state_dir, config, destination, launch, spool, lock, trackers,
// prices, attempts.

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

// ---------------------------------------------------------------------------
// src/run_hook.ts
//
// The hook itself, what Claude Code runs for each event: read the event,
// build the ping, make it durable in the spool, and leave delivery to a
// sender, so Claude Code never waits for the network. Never throws, never
// writes to stdout.
//
// Owns: `runHook`. Uses: input, fields, paths, payload, runtime, state_dir, config,
// ping_url, destination, spool, send, sender.

/**
 * Runs the hook once: reads the event from stdin, builds the payload, makes it
 * durable in the spool, and starts a detached sender unless one is running.
 * Started by the shell fast path (`--detached`) it does the same: a process
 * it starts is not among those Claude Code's teardown listed, so the sender
 * outlives it. When no sender can be started, it delivers for a moment itself
 * (within the timeout); when the spool cannot be written, it sends the ping
 * directly, as the reference script does.
 *
 * @param runtime The runtime adapter (see {@linkcode detectRuntime}).
 * @returns `undefined` when all went well, otherwise a one-line reason (printed under debug only).
 *
 * @example
 * ```ts ignore
 * const problem = await runHook(detectRuntime());
 * ```
 */
export async function runHook(runtime: Runtime): Promise<string | undefined> {
  try {
    const { config, state } = await loadConfig(runtime);
    if (config.pingUrl === undefined) {
      return state.problem !== undefined
        ? `${state.problem}; its saved ping URL was not read: nothing sent`
        : "TELEMHQ_PING_URL is not set (nor saved by install): nothing sent";
    }
    const url = parsePingUrl(config.pingUrl);
    const input = parseEvent(await readAll(runtime.stdin(), MAX_EVENT_BYTES));
    const payload = await buildPayload(input, {
      fallbackCwd: hookFolder(runtime),
      runtime: runtime.name,
      sha256Hex: runtime.sha256Hex,
      hashSalt: config.hashSalt,
      member: config.member,
      homeDir: homeDirectory((name) => runtime.env(name), hostPathStyle()),
    });
    const unsafe = config.stateDir === undefined
      ? state.problem ?? "no state directory (set HOME or TELEMHQ_STATE_DIR)"
      // loadConfig checked an existing state directory and its parents already: only a new one is made and checked.
      : state.problem ??
        (state.checked ? undefined : await ensureStateDir(runtime, config.stateDir)) ??
        await subfolderProblem(runtime, `${config.stateDir}/${STATE_LAYOUT.spool}`) ??
        await subfolderProblem(runtime, `${config.stateDir}/${STATE_LAYOUT.destinations}`);
    if (unsafe !== undefined) return await sendDirectly(config, url, payload, unsafe);
    // The same event, handed to a second hook (the plugin and a settings install both wired), was taken already.
    if (await alreadySent(runtime, config.stateDir!, payload.ping_id)) {
      return config.debug ? "this event's ping was sent already (another hook had it): nothing to do" : undefined;
    }
    // This session's tracker, by name: the one sender delivers every session's pings, each to its own tracker.
    const to = await destinationOf(runtime, url, config.pingUrlSource === "config file");
    let spooled: string | undefined;
    try {
      // The sender reads the repository's name from this process's folder (where Claude Code started it).
      const local = usageSource(input, hookFolder(runtime), runtime.env("TELEMHQ_PRICES"));
      spooled = await spoolPing(runtime, config.stateDir!, payload, local, to);
      await keepDestination(runtime, config.stateDir!, to, url);
    } catch (error) {
      // Nothing half-made stays: a ping the sender could not send would only wait to be set aside.
      if (spooled !== undefined) await runtime.removeFile(spooled).catch(() => {});
      return await sendDirectly(
        config,
        url,
        payload,
        `cannot write the spool in "${config.stateDir}" (${describeError(error)})`,
      );
    }
    // Kept in the spool either way: once the permission covers the URL again, the pings go out.
    const warning = !runtime.mayReach(url.host)
      ? `this Deno hook may not reach ${url.host} (it was installed for another tracker): run install again`
      : config.debug
      ? await spoolWarning(runtime, config)
      : undefined;
    let problem: string;
    try {
      if (await startSender(runtime, config)) return warning;
      problem = "cannot start a sender: the hook does not run from a local file";
    } catch (error) {
      problem = `cannot start a sender (${describeError(error)})`;
    }
    return await deliverFromHook(runtime, config, problem);
  } catch (error) {
    if (error instanceof HookSkip) return error.message;
    // An unexpected error's text could hold event content: report its kind only.
    return `hook failed unexpectedly (${describeError(error)})`;
  }
}

/**
 * The folder Claude Code started the hook in (the project's): the launcher
 * starts hook.ts from "/" with `--detached` and names that folder in
 * `TELEMHQ_EVENT_DIR` (a command line is readable by every local user; the
 * environment only by this one).
 */
function hookFolder(runtime: Runtime): string {
  const named = runtime.args[0] === "--detached" ? runtime.env("TELEMHQ_EVENT_DIR") : undefined;
  return named !== undefined && isAbsolutePath(named) ? named : runtime.cwd();
}

/** The spool cannot be written: send the ping from here, the way the reference script does. */
async function sendDirectly(
  config: HookConfig,
  url: URL,
  payload: Payload,
  problem: string,
): Promise<string | undefined> {
  const result = await sendPing(url, payload, config.timeoutMs);
  if (result.outcome === "delivered") return config.debug ? `${problem}: sent directly` : undefined;
  return `${problem}, and the ping was not delivered: ${result.reason}`;
}

/** Spooled, but no sender could be started: be the sender for a moment, through the lock. */
async function deliverFromHook(runtime: Runtime, config: HookConfig, problem: string): Promise<string | undefined> {
  const report = await deliverSpool(runtime, { ...config, senderIdleMs: 0 }, { maxRunMs: config.timeoutMs });
  if (report.busy) return config.debug ? `${problem}; a sender is running, and delivers it` : undefined;
  if (report.waiting === 0) return config.debug ? `${problem}: delivered from the hook` : undefined;
  return `${problem}; the ping is kept in the spool: ${report.status.last_error?.reason ?? "not delivered yet"}`;
}

/** Under debug only: says when the spool is over its limit (the oldest pings will be dropped). */
async function spoolWarning(runtime: Runtime, config: HookConfig): Promise<string | undefined> {
  const fs = await runtime.fs();
  const count = (await fs.readdir(`${config.stateDir}/${STATE_LAYOUT.spool}`).catch(() => [] as string[])).length;
  if (count <= config.spoolMaxPings) return undefined;
  return `the spool holds ${count} pings, over its limit of ${config.spoolMaxPings}: the oldest will be dropped; ` +
    `is the tracker reachable? Run "flush" to see`;
}

// ---------------------------------------------------------------------------
// src/cli_args.ts
//
// The commands' shared parts: the error a command reports (one line and an
// exit code) and the argument parser.
//
// Owns: `CommandError`, `parseArgs`, `withoutStop`. Uses: nothing.

/** A command-line problem: one line for the user, and the exit code. */
class CommandError extends Error {
  /** 2 for a usage mistake, 1 for anything else. */
  readonly exitCode: number;

  /**
   * @param message One line: what failed, the value, what to do next.
   * @param exitCode 2 for a usage mistake, 1 for anything else.
   */
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "CommandError";
    this.exitCode = exitCode;
  }
}

/**
 * Parses `--name value`, `--name=value` and `--flag` arguments.
 *
 * @param args The arguments after the command.
 * @param options Names that take a value.
 * @param flags Names that take none.
 * @returns Values by name (flags: `"true"`).
 * @throws {CommandError} On an unknown option or a missing value (exit code 2).
 */
function parseArgs(
  args: readonly string[],
  options: readonly string[],
  flags: readonly string[],
): Record<string, string> {
  const values: Record<string, string> = {};
  for (let index = 0; index < args.length; index++) {
    const [name, inline] = args[index].split(/=(.*)/s, 2);
    if (flags.includes(name) && inline === undefined) {
      values[name] = "true";
    } else if (options.includes(name)) {
      const value = inline ?? args[++index];
      if (value === undefined || value === "") throw new CommandError(`Option ${name} needs a value.`, 2);
      values[name] = value;
    } else if (!name.startsWith("-")) {
      throw new CommandError(`Unexpected argument "${name}". Run with --help to see the options.`, 2);
    } else {
      throw new CommandError(`Unknown option "${name}". Run with --help to see the options.`, 2);
    }
  }
  return values;
}

/**
 * A reason from elsewhere (an error, a tracker's answer) without the
 * punctuation it ends with, so that a sentence of ours can end it once.
 *
 * @param text The reason.
 * @returns It, without trailing spaces, dots, question or exclamation marks, colons or commas.
 */
function withoutStop(text: string): string {
  return text.replace(/[\s.!?:;,]+$/, "");
}

// ---------------------------------------------------------------------------
// src/settings.ts
//
// Claude Code's settings files, as `install`, `uninstall` and `doctor` use
// them: which file each scope means, the project's folder (its git root, as
// Claude Code finds it), reading one (refused with its line when broken),
// finding, adding and removing our hook entries, the scan of every file
// Claude Code merges, and writing one back atomically with a backup, keeping
// everything else as it was.
//
// Owns: the scopes, the project's folder, `readSettings`, our hook entries in
// settings and the hook file names they run, `scanSettings`, the TelemHQ
// plugins they enable, `replaceFile`.
// Uses: input, paths, runtime, files, launcher, cli_args.

/** The largest settings file read (Claude Code's are a few kilobytes). */
const MAX_SETTINGS_BYTES = 1 << 20;

/** Where `install` wires the hook: `~/.claude/settings.json`, the repository's shared or local file, or a printed policy. */
type InstallScope = "user" | "project" | "local" | "managed";

/** The scopes that are a settings file on this machine, in the order Claude Code's docs list them. */
const SETTINGS_SCOPES: readonly Exclude<InstallScope, "managed">[] = ["user", "project", "local"];

/** Every scope `install` accepts. */
const INSTALL_SCOPES: readonly InstallScope[] = [...SETTINGS_SCOPES, "managed"];

/**
 * The settings file of a scope.
 *
 * @param scope The scope.
 * @param claudeDir Claude Code's folder (the user scope).
 * @param projectDir The project's folder (project and local scopes).
 * @returns The file, or undefined for `managed` (a printed policy).
 */
function settingsPathFor(scope: InstallScope, claudeDir: string, projectDir: string): string | undefined {
  if (scope === "user") return `${claudeDir}/settings.json`;
  if (scope === "project") return `${projectDir}/.claude/settings.json`;
  if (scope === "local") return `${projectDir}/.claude/settings.local.json`;
  return undefined;
}

/** A settings file's content: any JSON object. */
type Settings = Record<string, unknown>;

/** One hook entry of a settings file, as far as we read it. */
interface HookEntry {
  type?: string;
  command?: string;
  timeout?: number;
}

/** A group of hook entries under an event, with its matcher. */
interface HookGroup {
  matcher?: string;
  hooks?: HookEntry[];
}

/**
 * Reads a settings file: absent is empty; not JSON or not an object is refused, with the line.
 *
 * @param path The file.
 * @returns The settings, and the file's text when it exists.
 * @throws {CommandError} When it cannot be read or is not a JSON object with an object `hooks`.
 */
async function readSettings(path: string): Promise<{ settings: Settings; text?: string }> {
  const fs = await nodeFs();
  let text: string;
  try {
    // A regular file of sane size only: a repository's settings file could be a FIFO or /dev/zero.
    const { file, size } = await openRegularFile(fs, path, true);
    try {
      if (size > MAX_SETTINGS_BYTES) throw Object.assign(new Error("too large"), { code: "EFBIG" });
      const bytes = new Uint8Array(size);
      const { bytesRead } = await file.read(bytes, 0, size, 0);
      text = new TextDecoder().decode(bytes.subarray(0, bytesRead));
    } finally {
      await file.close();
    }
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return { settings: {} };
    const why = (error as Error).message?.startsWith("not a regular file")
      ? "not a regular file"
      : describeError(error);
    throw new CommandError(`Cannot read settings file "${path}": ${why}. Check it, then run this again.`);
  }
  if (text.trim() === "") return { settings: {}, text };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Runtimes word JSON errors differently (Bun and Deno give no position): find the line ourselves.
    const at = jsonErrorLine(text);
    const line = at === undefined ? "" : ` at line ${at}`;
    throw new CommandError(
      `Cannot read settings file "${path}": not valid JSON${line}. Fix it, then run this again; nothing was changed.`,
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new CommandError(
      `Cannot read settings file "${path}": it is not a JSON object. Fix it, then run this again; nothing was changed.`,
    );
  }
  const hooks = (value as Settings).hooks;
  if (hooks !== undefined && (hooks === null || typeof hooks !== "object" || Array.isArray(hooks))) {
    throw new CommandError(
      `Cannot read settings file "${path}": "hooks" is not an object. Fix it, then run this again; nothing was changed.`,
    );
  }
  return { settings: value as Settings, text };
}

const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const JSON_LITERAL = /true|false|null/y;
const JSON_ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

/**
 * The line of the first mistake in a text that is not valid JSON (RFC 8259),
 * found by scanning it: the same answer under Deno, Bun and Node, whose
 * `JSON.parse` errors differ (and may give no position at all).
 *
 * @param text The text.
 * @returns The 1-based line of the first mistake, or undefined when the text is valid JSON.
 */
function jsonErrorLine(text: string): number | undefined {
  let at = 0;
  const stack: string[] = [];
  let expect: "value" | "key" | "colon" | "after" = "value";
  const lineOf = (offset: number) => text.slice(0, offset).split("\n").length;
  const match = (pattern: RegExp) => {
    pattern.lastIndex = at;
    if (!pattern.test(text)) return false;
    at = pattern.lastIndex;
    return true;
  };
  const string = () => {
    at++;
    while (at < text.length) {
      const char = text[at];
      if (char === '"') {
        at++;
        return true;
      }
      if (char === "\\") {
        if (!match(JSON_ESCAPE)) return false;
      } else if (char < " ") return false;
      else at++;
    }
    return false;
  };
  while (true) {
    while (at < text.length && " \t\n\r".includes(text[at])) at++;
    if (at >= text.length) return stack.length === 0 && expect === "after" ? undefined : lineOf(at);
    const char = text[at];
    if (expect === "value") {
      if (char === "{" || char === "[") {
        stack.push(char);
        at++;
        expect = char === "{" ? "key" : "value";
        while (at < text.length && " \t\n\r".includes(text[at])) at++;
        if (text[at] === (char === "{" ? "}" : "]")) {
          stack.pop();
          at++;
          expect = "after";
        }
      } else if (char === '"' ? string() : match(JSON_NUMBER) || match(JSON_LITERAL)) expect = "after";
      else return lineOf(at);
    } else if (expect === "key") {
      if (char !== '"' || !string()) return lineOf(at);
      expect = "colon";
    } else if (expect === "colon") {
      if (char !== ":") return lineOf(at);
      at++;
      expect = "value";
    } else {
      const open = stack[stack.length - 1];
      if (char === "," && open !== undefined) {
        at++;
        expect = open === "{" ? "key" : "value";
      } else if ((char === "}" && open === "{") || (char === "]" && open === "[")) {
        stack.pop();
        at++;
      } else return lineOf(at);
    }
  }
}

/** Whether a hook entry's command runs one of our hook files. */
function runsOurHook(command: unknown, hookFiles: readonly string[]): command is string {
  return typeof command === "string" && hookFiles.some((file) => command.includes(file));
}

/** One of our hook entries found in a settings file. */
interface WiredHook {
  /** The event it runs on. */
  event: string;
  /** Its command. */
  command: string;
  /** Which of our hook files it runs. */
  hookFile: string;
}

/**
 * Lists the hook entries of a settings file that run one of our hook files.
 *
 * @param settings A settings file's content.
 * @param hookFiles Our hook files.
 * @returns One item per entry.
 */
function findOurHooks(settings: Settings, hookFiles: readonly string[]): WiredHook[] {
  const found: WiredHook[] = [];
  for (const [event, groups] of Object.entries((settings.hooks ?? {}) as Record<string, unknown>)) {
    for (const group of Array.isArray(groups) ? groups as HookGroup[] : []) {
      for (const hook of Array.isArray(group?.hooks) ? group.hooks : []) {
        if (!runsOurHook(hook?.command, hookFiles)) continue;
        const command = hook.command!;
        found.push({ event, command, hookFile: hookFiles.find((file) => command.includes(file))! });
      }
    }
  }
  return found;
}

/**
 * Removes every hook entry that runs one of `hookFiles`; groups and events it empties go too.
 *
 * @param settings A settings file's content, changed in place.
 * @param hookFiles Our hook files.
 * @returns How many entries were removed.
 */
function removeOurHooks(settings: Settings, hookFiles: readonly string[]): number {
  const hooks = settings.hooks as Record<string, unknown> | undefined;
  if (hooks === undefined) return 0;
  let removed = 0;
  for (const [event, groups] of Object.entries(hooks)) {
    if (!Array.isArray(groups)) continue;
    const kept = (groups as HookGroup[]).flatMap((group) => {
      if (!Array.isArray(group?.hooks)) return [group];
      const others = group.hooks.filter((hook) => !runsOurHook(hook?.command, hookFiles));
      removed += group.hooks.length - others.length;
      if (others.length === group.hooks.length) return [group];
      return others.length === 0 ? [] : [{ ...group, hooks: others }];
    });
    if (kept.length === 0 && groups.length > 0) delete hooks[event];
    else hooks[event] = kept;
  }
  if (Object.keys(hooks).length === 0) delete settings.hooks;
  return removed;
}

/**
 * Adds one hook entry per event, each in a group of its own, after the events' other groups.
 *
 * @param settings A settings file's content, changed in place.
 * @param events The events, each with its matcher if any.
 * @param entry The hook entry to add.
 */
function addHooks(
  settings: Settings,
  events: readonly (readonly [string, string?])[],
  entry: HookEntry,
): void {
  const hooks = (settings.hooks ??= {}) as Record<string, HookGroup[]>;
  for (const [event, matcher] of events) {
    const group: HookGroup = { ...(matcher !== undefined ? { matcher } : {}), hooks: [{ ...entry }] };
    hooks[event] = [...(Array.isArray(hooks[event]) ? hooks[event] : []), group];
  }
}

/**
 * Serializes settings as the file was written: its indentation, its final newline.
 *
 * @param settings A settings file's content.
 * @param original The file's text before, if it existed.
 * @returns The new text.
 */
function formatSettings(settings: Settings, original: string | undefined): string {
  const indent = original?.match(/^([ \t]+)"/m)?.[1] ?? "  ";
  const newline = original === undefined || original.endsWith("\n") ? "\n" : "";
  return JSON.stringify(settings, null, indent) + newline;
}

/**
 * Writes a settings or state file atomically (a new temporary file, then a
 * rename: never written through a symlink), keeping a backup of what it
 * replaces the same way. The file keeps its mode, unless `mode` must hold
 * (a file with a secret is 0600 whatever it was).
 *
 * @param path The file.
 * @param text Its new content.
 * @param options `backup`: its content before, kept as `<path>.telemhq-backup`; `mode`: the mode of a new
 *   file; `forceMode`: set `mode` even on an existing file.
 */
async function replaceFile(
  path: string,
  text: string,
  options: { backup?: string; mode: number; forceMode?: boolean },
): Promise<void> {
  const fs = await nodeFs();
  await fs.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o700 });
  const existing = options.forceMode
    ? undefined
    : await fs.stat(path).then((stat) => stat.mode & 0o777, () => undefined);
  if (options.backup !== undefined) await writeFileAtomically(fs, `${path}.telemhq-backup`, options.backup, 0o600);
  await writeFileAtomically(fs, path, text, existing ?? options.mode);
}

/** What Node starts the installed JavaScript hook through (see `nodeEntrySource`). */
const NODE_ENTRY_FILE_NAME = "telemhq-node.mjs";

/** The installed hook's file name in Claude Code's `hooks/` folder: hook.ts's TypeScript, or the npm build's JavaScript. */
const HOOK_FILE_NAMES = { ts: "telemhq.ts", mjs: "telemhq.mjs" } as const;

/**
 * Every file install puts in Claude Code's `hooks/` (the hook, and its launcher): entries running them are ours.
 *
 * @param claudeDir Claude Code's folder.
 * @returns The paths.
 */
function installedHookFiles(claudeDir: string): string[] {
  return [...Object.values(HOOK_FILE_NAMES), NODE_ENTRY_FILE_NAME, LAUNCHER_FILE_NAME].map((name) =>
    `${claudeDir}/hooks/${name}`
  );
}

/** One settings file, scanned for our hook entries. */
interface ScannedSettings {
  /** The scope. */
  scope: InstallScope;
  /** Its file. */
  path: string;
  /** Our entries in it (empty when it does not exist). */
  hooks: WiredHook[];
  /** Its content, when it exists and could be read. */
  settings?: Settings;
  /** Why it could not be read, if it could not. */
  error?: string;
}

/**
 * Reads every settings file on this machine that Claude Code merges (user,
 * project, local) and lists our hook entries in each: the one scan `install`,
 * `uninstall` and `doctor` share.
 *
 * @param claudeDir Claude Code's folder.
 * @param projectDir The project's folder, if there is one.
 * @returns One item per scope.
 */
async function scanSettings(claudeDir: string, projectDir: string | undefined): Promise<ScannedSettings[]> {
  const hookFiles = installedHookFiles(claudeDir);
  const scanned: ScannedSettings[] = [];
  for (const scope of SETTINGS_SCOPES) {
    if (scope !== "user" && projectDir === undefined) continue;
    const path = settingsPathFor(scope, claudeDir, projectDir ?? "")!;
    try {
      const { settings, text } = await readSettings(path);
      scanned.push({
        scope,
        path,
        hooks: findOurHooks(settings, hookFiles),
        ...(text !== undefined ? { settings } : {}),
      });
    } catch (error) {
      scanned.push({ scope, path, hooks: [], error: (error as Error).message });
    }
  }
  return scanned;
}

/**
 * The TelemHQ plugins (`telemhq@<marketplace>`) the scanned settings files enable.
 *
 * @param scanned The settings files (see {@linkcode scanSettings}).
 * @returns The plugin ids, each once.
 */
function enabledTelemhqPlugins(scanned: readonly ScannedSettings[]): string[] {
  // Files are scanned user, project, local: a later file's choice wins, as in Claude Code (a local false disables).
  const enabled = new Map<string, boolean>();
  for (const file of scanned) {
    const plugins = file.settings?.enabledPlugins;
    if (plugins === null || typeof plugins !== "object" || Array.isArray(plugins)) continue;
    for (const [id, on] of Object.entries(plugins)) {
      if (/^telemhq@[A-Za-z0-9._-]{1,64}$/.test(id) && typeof on === "boolean") enabled.set(id, on);
    }
  }
  return [...enabled].filter(([, on]) => on).map(([id]) => id);
}

/**
 * The project a command is about: `--dir`, else the git repository around
 * the working directory (Claude Code reads a project's settings at its root).
 *
 * @param runtime The runtime adapter.
 * @param dir The `--dir` value, if given.
 * @returns The folder, or undefined outside a repository without `--dir`.
 */
async function projectDirectory(runtime: Runtime, dir: string | undefined): Promise<string | undefined> {
  const fs = await runtime.fs();
  if (dir !== undefined) return await fs.realpath(dir).catch(() => undefined);
  const style = hostPathStyle();
  const home = homeDirectory((name) => runtime.env(name), style);
  for (const current of foldersToSearchUp(runtime.cwd(), style, home)) {
    if (await runtime.lstat(`${current.replace(/[\\/]$/, "")}/.git`) !== undefined) {
      // Only a repository of this user's: another user's `.git` above us (in /tmp, say) is not our project.
      const uid = runtime.uid();
      const owner = (await runtime.lstat(current))?.uid;
      return uid === undefined || owner === uid ? current : undefined;
    }
  }
  return undefined;
}

/**
 * A scope given on the command line, checked.
 *
 * @param value The `--scope` value, if any (default `user`).
 * @param allowed The scopes the command takes.
 * @param action The command, for the message.
 * @returns The scope.
 * @throws {CommandError} On any other value (exit code 2).
 */
function scopeOf(value: string | undefined, allowed: readonly InstallScope[], action: string): InstallScope {
  const scope = (value ?? "user") as InstallScope;
  if (!allowed.includes(scope)) {
    throw new CommandError(`Cannot ${action}: unknown scope "${scope}". Use ${allowed.join(", ")}.`, 2);
  }
  return scope;
}

/**
 * The settings file of a scope: a user's own file where its link points, or the
 * repository's file at its root (never through a link in the repository).
 *
 * @param runtime The runtime adapter.
 * @param scope The scope.
 * @param claudeDir Claude Code's folder.
 * @param dir `--dir`, if given.
 * @param action The command, for messages.
 * @returns The file, or undefined for `managed`.
 */
async function scopeSettingsPath(
  runtime: Runtime,
  scope: InstallScope,
  claudeDir: string,
  dir: string | undefined,
  action: string,
): Promise<string | undefined> {
  if (scope === "managed") return undefined;
  if (scope === "user") {
    // A user's settings file may be a link into their dotfiles: the file it points to is the one to edit.
    const path = settingsPathFor(scope, claudeDir, "")!;
    const facts = await runtime.lstat(path);
    return facts?.kind === "symlink" ? await runtime.realpath(path) ?? path : path;
  }
  const project = await projectDirectory(runtime, dir);
  if (project === undefined) {
    throw new CommandError(
      dir !== undefined
        ? `Cannot ${action}: the folder "${dir}" does not exist.`
        : `Cannot ${action} for --scope ${scope}: "${runtime.cwd()}" is not inside a git repository. ` +
          `Run it from the repository, or name the project with --dir DIR.`,
      2,
    );
  }
  const path = settingsPathFor(scope, claudeDir, project)!;
  for (const link of [`${project}/.claude`, path]) {
    if ((await runtime.lstat(link))?.kind === "symlink") {
      throw new CommandError(
        `Cannot ${action}: "${link}" is a symlink, and in a repository nothing is read or written through a ` +
          `link (it could lead anywhere). Replace it with a real file or folder, or use --scope user.`,
      );
    }
  }
  return path;
}

// ---------------------------------------------------------------------------
// src/policy.ts
//
// What an organisation's policy and Claude Code's plugin options say about
// the hook: the managed settings files (read as Claude Code reads them), the
// TelemHQ plugin enabled by them, and where the plugin's ping URL is kept
// (the member's credential store, or a shared URL in `pluginConfigs`), for
// `doctor`, `install` and `uninstall`. The URL is only ever checked and shown
// redacted; nothing here writes.
//
// Owns: `scanManagedSettings`, `pluginPingUrl`, `enablingPolicy`.
// Uses: paths, runtime, files, config, launcher, settings.

/** The largest credentials file read (Claude Code's holds a few tokens). */
const MAX_CREDENTIALS_BYTES = 1 << 20;

/**
 * Reads every managed settings file Claude Code merges, in its order, as
 * {@linkcode ScannedSettings} of scope `managed`: a file that cannot be read
 * (broken JSON, a symlink to a file root does not own) is listed with why.
 *
 * @param fs The file API.
 * @param claudeDir Claude Code's folder (whose hook files our entries run).
 * @returns The files, in merge order (a later one's keys win).
 */
async function scanManagedSettings(fs: FsPromises, claudeDir: string): Promise<ScannedSettings[]> {
  const scanned: ScannedSettings[] = [];
  for (const path of await managedSettingsPaths(fs)) {
    let settings: Settings;
    try {
      const link = await fs.lstat(path);
      if (link.isSymbolicLink()) {
        // Through a symlink only to a file root owns and only root can change, as Claude Code reads it.
        const value = await readManagedSettings(fs, path);
        if (value === null || typeof value !== "object" || Array.isArray(value)) {
          throw new Error(
            `Cannot read managed settings file "${path}": a symlink to a file that is not root's, or not JSON.`,
          );
        }
        settings = value as Settings;
      } else {
        settings = (await readSettings(path)).settings;
      }
    } catch (error) {
      scanned.push({ scope: "managed", path, hooks: [], error: (error as Error).message });
      continue;
    }
    // A team's policy runs each user's own launcher (POLICY_LAUNCHER_PATH); a machine's, the paths install wrote.
    const hookFiles = [...installedHookFiles(claudeDir), POLICY_LAUNCHER_PATH];
    scanned.push({ scope: "managed", path, hooks: findOurHooks(settings, hookFiles), settings });
  }
  return scanned;
}

/**
 * The managed settings file that enables a plugin, when an organisation's
 * policy does (the last one to say so, as Claude Code merges them).
 *
 * @param scanned The settings files, managed ones included.
 * @param pluginId For example `telemhq@acme`.
 * @returns The file's path, or undefined.
 */
function enablingPolicy(scanned: readonly ScannedSettings[], pluginId: string): string | undefined {
  let path: string | undefined;
  for (const file of scanned) {
    if (file.scope !== "managed") continue;
    const plugins = file.settings?.enabledPlugins as Record<string, unknown> | undefined;
    if (plugins !== null && typeof plugins === "object" && typeof plugins[pluginId] === "boolean") {
      path = plugins[pluginId] ? file.path : undefined;
    }
  }
  return path;
}

/** Where the plugin's ping URL was found, or why it could not be looked for. */
interface PluginPingUrl {
  /** The URL as stored (a secret: check it, show it redacted, never print it). */
  value?: string;
  /** Where it is kept, in words: "your credential store (...)" or "your organisation's policy (...)". */
  source?: string;
  /** Set when the URL may be set where a hook cannot look (the macOS keychain). */
  unseen?: string;
}

/**
 * The TelemHQ plugin's `ping_url` option as Claude Code resolves it: the
 * member's credential store (`.credentials.json` in Claude Code's folder,
 * or `CLAUDE_SECURESTORAGE_CONFIG_DIR`) over `pluginConfigs` in the merged
 * settings, where a policy's value wins over the user's. On macOS the
 * credential store is the keychain, which a hook does not read.
 *
 * @param runtime The runtime adapter.
 * @param claudeDir Claude Code's folder.
 * @param scanned The settings files Claude Code merges, managed ones last.
 * @param pluginId For example `telemhq@acme`.
 * @returns Where the URL is, and the URL itself for checking.
 */
async function pluginPingUrl(
  runtime: Runtime,
  claudeDir: string,
  scanned: readonly ScannedSettings[],
  pluginId: string,
): Promise<PluginPingUrl> {
  const store = credentialsFolder(runtime, claudeDir) + "/.credentials.json";
  const text = await readSmallFile(await runtime.fs(), store, MAX_CREDENTIALS_BYTES);
  const secret = text === undefined ? undefined : optionIn(parseObject(text)?.pluginSecrets, pluginId, false);
  if (secret !== undefined) return { value: secret, source: `your credential store (${store})` };
  let found: PluginPingUrl = {};
  for (const file of scanned) {
    const value = optionIn(file.settings?.pluginConfigs, pluginId, true);
    if (value === undefined) continue;
    found = {
      value,
      source: file.scope === "managed" ? `your organisation's policy (${file.path})` : `settings (${file.path})`,
    };
  }
  if (found.value === undefined && text === undefined && hostPlatform() === "darwin") {
    return { unseen: "the macOS keychain, which doctor does not read" };
  }
  return found;
}

/** `container[pluginId].ping_url` (credentials) or `container[pluginId].options.ping_url` (settings), if a string. */
function optionIn(container: unknown, pluginId: string, inOptions: boolean): string | undefined {
  if (container === null || typeof container !== "object") return undefined;
  const entry = (container as Record<string, unknown>)[pluginId];
  if (entry === null || typeof entry !== "object") return undefined;
  const options = inOptions ? (entry as { options?: unknown }).options : entry;
  if (options === null || typeof options !== "object") return undefined;
  const value = (options as { ping_url?: unknown }).ping_url;
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" ? value as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

/** Claude Code's credential folder: `CLAUDE_SECURESTORAGE_CONFIG_DIR` when set (empty: `~/.claude`), else its own. */
function credentialsFolder(runtime: Runtime, claudeDir: string): string {
  const given = runtime.env("CLAUDE_SECURESTORAGE_CONFIG_DIR");
  if (given === undefined) return claudeDir;
  if (given !== "" && isAbsolutePath(given)) return given;
  return `${homeDirectory((name) => runtime.env(name), hostPathStyle()) ?? ""}/.claude`;
}

// ---------------------------------------------------------------------------
// src/marketplace.ts
//
// The marketplace a team's policy installs the plugin from, as Claude Code's
// `extraKnownMarketplaces` takes it: a GitHub `owner/repo`, a git URL, the
// URL of a `marketplace.json`, or a folder or `marketplace.json` on a drive
// every machine mounts. Read the way `claude plugin marketplace add` reads a
// source, and checked, so that the printed policy works on every machine.
//
// Owns: `marketplaceSource`. Uses: cli_args.

/** A marketplace source, as the `source` of an `extraKnownMarketplaces` entry. */
type MarketplaceSource =
  | { source: "github"; repo: string; ref?: string }
  | { source: "git"; url: string; ref?: string }
  | { source: "url"; url: string }
  | { source: "directory"; path: string }
  | { source: "file"; path: string };

/** TelemHQ's own marketplace, once this repository is published: the default. */
const DEFAULT_MARKETPLACE = "telemhq/claude-code";

const GITHUB_REPO = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}[A-Za-z0-9])?\/[A-Za-z0-9._-]{1,100}$/;
const SSH_GIT = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~\/-]+$/;
const GIT_REF = /^(?!.*\.\.)[A-Za-z0-9._\/-]{1,200}$/;

/**
 * Reads a marketplace source given on the command line: `owner/repo[#ref]`
 * (GitHub), `git@host:path[#ref]` or `https://host/path.git[#ref]` (git),
 * `https://host/.../marketplace.json` (a URL), or an absolute path (a folder,
 * or a `.json` file). Refuses anything else with one line: a relative path
 * (the policy is read on other machines), plain `http` beyond this machine,
 * spaces or control characters.
 *
 * @param given The source as typed.
 * @returns The source for the policy.
 */
function marketplaceSource(given: string): MarketplaceSource {
  const refuse = (why: string): never => {
    throw new CommandError(`Cannot print the policy: --marketplace ${why}.`, 2);
  };
  // deno-lint-ignore no-control-regex -- the characters refused
  if (given.length > 2048 || /[\s\u0000-\u001f\u007f]/.test(given)) {
    refuse("holds spaces or control characters (or is too long)");
  }
  if (given.startsWith("/")) {
    if (/(^|\/)\.\.?(\/|$)/.test(given)) refuse(`"${given}" holds . or .. parts: give the folder's own path`);
    return given.endsWith(".json") ? { source: "file", path: given } : { source: "directory", path: given };
  }
  if (/^(\.|~)/.test(given)) {
    refuse(`"${given}" is a relative path: give an absolute path (the policy is read elsewhere)`);
  }
  const [base, ref, extra] = given.split("#");
  if (extra !== undefined || (ref !== undefined && !GIT_REF.test(ref))) refuse(`has a ref that is not a git ref`);
  const withRef = ref === undefined ? {} : { ref };
  if (GITHUB_REPO.test(base)) return { source: "github", repo: base, ...withRef };
  if (SSH_GIT.test(base)) return { source: "git", url: base, ...withRef };
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return refuse(
      `"${given}" is not a marketplace source: give owner/repo, a git URL, the URL of a marketplace.json, or an ` +
        `absolute path`,
    );
  }
  const loopback = url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "[::1]";
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    refuse(`"${url.protocol}" URLs are not accepted: give an https:// URL`);
  }
  if (url.username !== "" || url.password !== "") refuse("URL holds credentials: give them to git, not the policy");
  if (url.search !== "") refuse("URL has a query: give the marketplace's own address");
  if (url.pathname.endsWith(".git")) return { source: "git", url: url.href, ...withRef };
  if (ref !== undefined) refuse("ref goes only with a git repository (owner/repo, or a URL ending in .git)");
  if (url.pathname.endsWith(".json")) return { source: "url", url: url.href };
  return refuse(`URL on ${url.host} is neither a git repository (ending in .git) nor a marketplace.json`);
}

// ---------------------------------------------------------------------------
// src/policy_file.ts
//
// Writes a team's policy where this machine's Claude Code reads it, for
// `install --scope managed --write`: as a drop-in of our own,
// `managed-settings.d/telemhq.json`, so that the organisation's own
// `managed-settings.json` is never touched, and never over a file install did
// not write (one that holds anything but a TelemHQ policy's keys).
//
// Owns: `writePolicy`, `POLICY_DROP_IN`. Uses: paths, runtime, files, config, cli_args, launcher.

/** Our drop-in's name in `managed-settings.d/`. */
const POLICY_DROP_IN = "telemhq.json";

/** The keys a TelemHQ policy holds, and nothing else. */
const POLICY_KEYS: ReadonlySet<string> = new Set([
  "hooks",
  "extraKnownMarketplaces",
  "enabledPlugins",
  "pluginConfigs",
]);

/**
 * Writes a policy as this machine's drop-in (Linux and macOS), readable by
 * every user (Claude Code runs as them). Refuses, changing nothing: another
 * platform, a folder this user cannot write (run it as root), or a drop-in
 * of that name that is not a TelemHQ policy.
 *
 * @param runtime The runtime adapter.
 * @param policy The policy.
 * @returns The file written.
 */
async function writePolicy(runtime: Runtime, policy: Record<string, unknown>): Promise<string> {
  const platform = hostPlatform();
  const dir = platform === "win32" ? "" : managedSettingsDirectory(platform);
  if (dir === "") {
    throw new CommandError(
      `Cannot write the policy on Windows: copy the printed policy (without --write) into ` +
        `C:\\Program Files\\ClaudeCode\\managed-settings.d\\${POLICY_DROP_IN} yourself.`,
      2,
    );
  }
  const fs = await runtime.fs();
  const folder = `${dir}/managed-settings.d`;
  const path = `${folder}/${POLICY_DROP_IN}`;
  const existing = await runtime.lstat(path);
  if (existing !== undefined) {
    const text = existing.kind === "file" ? await readSmallFile(fs, path, 1 << 20) : undefined;
    if (text === undefined || !isOurPolicy(text)) {
      throw new CommandError(
        `Cannot write the policy: "${path}" exists and is not a policy install wrote. Move it away, or print the ` +
          `policy (without --write) and merge it yourself; nothing was changed.`,
      );
    }
  }
  try {
    await fs.mkdir(folder, { recursive: true, mode: 0o755 });
    await writeFileAtomically(fs, path, JSON.stringify(policy, null, 2) + "\n", 0o644);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new CommandError(
      `Cannot write the policy to "${path}": ${code === "EACCES" || code === "EPERM" ? "permission denied" : code}. ` +
        `Run it as root (sudo), or print the policy (without --write); nothing was changed.`,
    );
  }
  return path;
}

/** Whether a drop-in holds only what a TelemHQ policy holds: our keys, and our plugin or our launcher. */
function isOurPolicy(text: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  if (keys.length === 0 || keys.some((key) => !POLICY_KEYS.has(key))) return false;
  return text.includes('"telemhq@') || text.includes(POLICY_LAUNCHER_PATH);
}

// ---------------------------------------------------------------------------
// src/claude_code.ts
//
// Which Claude Code runs here, and what it accepts. The first version that
// fires each hook event (data, recorded from real releases by
// `scripts/probe-hook-events.ts`); finding the `claude` executables where
// Claude Code's installers put them and reading their versions from their
// files, without running them; and the settings a version ignores as a whole:
// up to 2.1.100, one hook event it does not know (or one malformed hook
// entry) makes Claude Code skip the whole file, the user's own hooks, `env`
// and permissions with it, silently in `-p` mode.
//
// Owns: `HOOK_EVENT_SINCE`, `CLAUDE_CODE_FEATURES`, `compareVersions`,
// `knowsEvent`, `findClaudeCode`, `settingsRejection`, `ignoredEvents`,
// `findGitBash`. Uses: paths, runtime, runtime_detect, files.

/**
 * The first Claude Code release whose settings accept each hook event, found
 * by bisecting every release on npm (`deno task record:hook-events`). Events wired
 * into a settings file of an older release make it skip the whole file (up to
 * 2.1.100) or only that event (from 2.1.101). Hooks run from 1.0.38.
 */
const HOOK_EVENT_SINCE: Readonly<Record<string, string>> = {
  PreToolUse: "1.0.23",
  PostToolUse: "1.0.23",
  Notification: "1.0.23",
  Stop: "1.0.31",
  SubagentStop: "1.0.41",
  PreCompact: "1.0.48",
  UserPromptSubmit: "1.0.53",
  SessionStart: "1.0.62",
  SessionEnd: "1.0.85",
  SubagentStart: "2.0.44",
  PermissionRequest: "2.0.45",
  PostToolUseFailure: "2.0.56",
  Setup: "2.1.10",
  TeammateIdle: "2.1.33",
  TaskCompleted: "2.1.33",
  ConfigChange: "2.1.48",
  WorktreeCreate: "2.1.50",
  WorktreeRemove: "2.1.50",
  Elicitation: "2.1.63",
  ElicitationResult: "2.1.63",
  InstructionsLoaded: "2.1.69",
  PostCompact: "2.1.76",
  StopFailure: "2.1.78",
  CwdChanged: "2.1.83",
  FileChanged: "2.1.83",
  TaskCreated: "2.1.84",
  PermissionDenied: "2.1.88",
  UserPromptExpansion: "2.1.116",
  PostToolBatch: "2.1.118",
  MessageDisplay: "2.1.152",
  DirectoryAdded: "2.1.219",
  PreModelSwitch: "2.1.251",
  PostModelSwitch: "2.1.251",
  PreSkillShellCommand: "2.1.332",
};

/** Where temporary folders go. */
function tmpDirectory(runtime: Runtime): string {
  return (runtime.env("TMPDIR") || "/tmp").replace(/\/+$/, "") || "/tmp";
}

/** The first release with each hook `type` (a type a release does not know fails its settings file up to 2.1.100). */
const HOOK_TYPE_SINCE: Readonly<Record<string, string>> = {
  command: "1.0.23",
  prompt: "2.0.30",
  agent: "2.0.44",
  http: "2.1.48",
  mcp_tool: "2.1.332",
};

/** Releases where Claude Code's handling of hooks and plugins changed, as the probe found them. */
const CLAUDE_CODE_FEATURES: Readonly<{
  hooksRun: string;
  asyncHooks: string;
  unknownEventsDropped: string;
  pluginInstall: string;
  pluginOptions: string;
  pluginData: string;
  pluginUnknownEventsDropped: string;
  promptIdInHooks: string;
}> = {
  /** The first release that runs hooks at all. */
  hooksRun: "1.0.38",
  /** `async: true` on a command hook (stripped, so the hook blocks, before). */
  asyncHooks: "2.1.15",
  /** An unknown event in a settings file is dropped with a warning, not the whole file. */
  unknownEventsDropped: "2.1.101",
  /** `claude plugin install`. */
  pluginInstall: "2.0.20",
  /** A plugin's `userConfig` and `CLAUDE_PLUGIN_OPTION_*` in its hooks. */
  pluginOptions: "2.1.75",
  /** `CLAUDE_PLUGIN_DATA`. */
  pluginData: "2.1.78",
  /** An unknown event in a plugin's hooks.json drops that entry, not all its hooks. */
  pluginUnknownEventsDropped: "2.1.257",
  /** `prompt_id` in every hook's input. */
  promptIdInHooks: "2.1.196",
};

const VERSION = /^(\d{1,4})\.(\d{1,4})\.(\d{1,5})$/;

/**
 * Compares two `X.Y.Z` versions.
 *
 * @param a A version.
 * @param b Another.
 * @returns Negative when `a` is older, 0 when equal, positive when newer.
 */
function compareVersions(a: string, b: string): number {
  const parts = (version: string) => (version.match(VERSION) ?? [, 0, 0, 0]).slice(1).map(Number);
  const [x, y] = [parts(a), parts(b)];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/**
 * Whether a string is a Claude Code version (`X.Y.Z`).
 *
 * @param text The string.
 * @returns True for `2.1.332`, false for anything else.
 */
function isClaudeCodeVersion(text: string): boolean {
  return VERSION.test(text);
}

/**
 * Whether a Claude Code version knows a hook event. Without a version, only
 * the events every release that runs hooks knows count as known.
 *
 * @param event A hook event name.
 * @param version The Claude Code version, if known.
 * @returns True when that version accepts the event in its settings.
 */
function knowsEvent(event: string, version: string | undefined): boolean {
  const since = Object.hasOwn(HOOK_EVENT_SINCE, event) ? HOOK_EVENT_SINCE[event] : undefined;
  if (since === undefined) return false;
  return compareVersions(since, version ?? CLAUDE_CODE_FEATURES.hooksRun) <= 0;
}

/**
 * Why a Claude Code version would skip a whole settings file, or undefined
 * when it loads it: up to 2.1.100, a hook event it does not know, a hook
 * `type` it does not know, or a `timeout` that is not a positive number.
 * (From 2.1.101 such events and entries are dropped one by one: see
 * {@linkcode ignoredEvents}.)
 *
 * @param settings A settings file's content.
 * @param version The Claude Code version.
 * @returns One line naming the event or entry, or undefined.
 */
function settingsRejection(settings: unknown, version: string): string | undefined {
  const tolerant = compareVersions(version, CLAUDE_CODE_FEATURES.unknownEventsDropped) >= 0;
  const hooks = (settings as { hooks?: unknown } | undefined)?.hooks;
  if (!tolerant) {
    const permissions = permissionsProblem((settings as { permissions?: unknown } | undefined)?.permissions);
    if (permissions !== undefined) return permissions;
  }
  if (hooks === undefined || hooks === null || typeof hooks !== "object" || Array.isArray(hooks)) return undefined;
  for (const [event, groups] of Object.entries(hooks)) {
    // From 2.1.101 a bad entry is dropped alone, except under the events that guard permissions.
    if (tolerant && !GUARD_EVENTS.has(event)) continue;
    if (!knowsEvent(event, version)) {
      const since = Object.hasOwn(HOOK_EVENT_SINCE, event) ? ` (it arrived in ${HOOK_EVENT_SINCE[event]})` : "";
      return `it names the hook event ${shown(event)}, which Claude Code ${version} does not know${since}`;
    }
    if (!Array.isArray(groups)) return `its ${shown(event)} hooks are not a list`;
    for (const group of groups) {
      const shape = groupProblem(group);
      if (shape !== undefined) return `its ${shown(event)} hooks hold ${shape}`;
      for (const entry of (group as { hooks: unknown[] }).hooks) {
        const problem = entryProblem(entry, version);
        if (problem !== undefined) return `its ${shown(event)} hooks hold ${problem}`;
      }
    }
  }
  return undefined;
}

/** Events under which Claude Code still refuses a whole file over a bad entry (they may guard permissions). */
const GUARD_EVENTS: ReadonlySet<string> = new Set(["PreToolUse", "PermissionRequest", "PreSkillShellCommand"]);

/** A name from a settings file, quoted and with its control characters escaped: never raw on a terminal. */
function shown(name: string): string {
  return JSON.stringify(name.slice(0, 60)).replace(/[\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/g, "?");
}

/** `permissions.allow`, `deny` and `ask` must be lists of strings. */
function permissionsProblem(permissions: unknown): string | undefined {
  if (permissions === undefined) return undefined;
  if (permissions === null || typeof permissions !== "object" || Array.isArray(permissions)) {
    return "its permissions are not an object";
  }
  for (const key of ["allow", "deny", "ask"]) {
    const rules = (permissions as Record<string, unknown>)[key];
    if (rules !== undefined && !(Array.isArray(rules) && rules.every((rule) => typeof rule === "string"))) {
      return `its permissions.${key} is not a list of strings`;
    }
  }
  return undefined;
}

/** A matcher group must be an object with an optional string `matcher` and a `hooks` list. */
function groupProblem(group: unknown): string | undefined {
  if (group === null || typeof group !== "object" || Array.isArray(group)) return "an entry that is not an object";
  const { matcher, hooks } = group as { matcher?: unknown; hooks?: unknown };
  if (matcher !== undefined && typeof matcher !== "string") return "a matcher that is not a string";
  if (!Array.isArray(hooks)) return `a group whose "hooks" is not a list`;
  return undefined;
}

function entryProblem(entry: unknown, version: string): string | undefined {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) return "an entry that is not an object";
  const { type, timeout, command, prompt, once, statusMessage } = entry as Record<string, unknown>;
  const since = typeof type === "string" && Object.hasOwn(HOOK_TYPE_SINCE, type) ? HOOK_TYPE_SINCE[type] : undefined;
  if (type === undefined) return "a hook without a type";
  if (since === undefined || compareVersions(since, version) > 0) {
    return `a hook of type ${JSON.stringify(type)?.slice(0, 40)}, which Claude Code ${version} does not know`;
  }
  if (type === "command" && typeof command !== "string") return "a command hook without a command string";
  if ((type === "prompt" || type === "agent") && typeof prompt !== "string") return `a ${type} hook without a prompt`;
  if (timeout !== undefined && !(typeof timeout === "number" && Number.isFinite(timeout) && timeout > 0)) {
    return `a timeout that is not a positive number (${JSON.stringify(timeout)?.slice(0, 20)})`;
  }
  if (once !== undefined && typeof once !== "boolean") return "a once that is not true or false";
  if (statusMessage !== undefined && typeof statusMessage !== "string") return "a statusMessage that is not a string";
  return undefined;
}

/**
 * The hook events in a settings file that a Claude Code version drops, one by
 * one (from 2.1.101; older versions skip the whole file instead).
 *
 * @param settings A settings file's content.
 * @param version The Claude Code version.
 * @returns The event names it does not know, quoted and escaped for a terminal.
 */
function ignoredEvents(settings: unknown, version: string): string[] {
  const hooks = (settings as { hooks?: unknown } | undefined)?.hooks;
  if (hooks === undefined || hooks === null || typeof hooks !== "object" || Array.isArray(hooks)) return [];
  return Object.keys(hooks).filter((event) => !knowsEvent(event, version)).map(shown);
}

/** A `claude` executable found on this machine. */
interface ClaudeCodeFound {
  /** Where it was found (the name on PATH, or an installer's place). */
  path: string;
  /** Its version, read from its files, or from `--version`; undefined when neither says. */
  version?: string;
}

/**
 * Finds the `claude` executables this user may run: on `PATH` and where
 * Claude Code's installers put it (`~/.local/bin`, `~/.claude/local`), each
 * once, with its version read from its files (a native install's `versions/`
 * folder, an npm install's `package.json` or `cli.js` header) or, failing
 * that, from `claude --version`.
 *
 * @param runtime The runtime adapter.
 * @param claudeDir Claude Code's folder (`~/.claude`, or `CLAUDE_CONFIG_DIR`).
 * @returns What was found, `PATH` first.
 */
async function findClaudeCode(runtime: Runtime, claudeDir: string): Promise<ClaudeCodeFound[]> {
  const home = runtime.env("HOME");
  const candidates = [
    ...(runtime.env("PATH") ?? "").split(":").filter((dir) => dir.startsWith("/")).map((dir) => `${dir}/claude`),
    ...(home === undefined ? [] : [`${home}/.local/bin/claude`, `${home}/.claude/local/claude`]),
    `${claudeDir}/local/claude`,
  ];
  const found: ClaudeCodeFound[] = [];
  const seen = new Set<string>();
  for (const path of candidates) {
    const real = await runtime.realpath(path);
    if (real === undefined || seen.has(real) || (await runtime.lstat(real))?.kind !== "file") continue;
    seen.add(real);
    // Only the claude a shell would run (the first found) is asked, by the name it is run by: a version
    // manager's shim picks the release from that name. It gets no token and a throwaway HOME.
    const version = await versionFromFiles(runtime, path, real) ??
      (found.length === 0 ? await versionFromCommand(runtime, path) : undefined);
    found.push(version === undefined ? { path } : { path, version });
  }
  return found;
}

/** The version an install's own files state; never a path taken from a file's content. */
async function versionFromFiles(runtime: Runtime, path: string, real: string): Promise<string | undefined> {
  // The native installer: ~/.local/bin/claude -> ~/.local/share/claude/versions/X.Y.Z (Homebrew: Caskroom/claude-code/X.Y.Z/).
  const named = real.match(/\/claude\/versions\/(\d+\.\d+\.\d+)$/) ?? real.match(/\/Caskroom\/claude-code\/([\d.]+)\//);
  if (named !== null && VERSION.test(named[1])) return named[1];
  // npm up to 2.1.112: the CLI is cli.js, whose first line after the shebang says `// Version: X.Y.Z`.
  if (/\/cli\.m?js$/.test(real)) {
    const version = (await readHead(runtime, real)).match(/^\/\/ Version: (\d+\.\d+\.\d+)$/m)?.[1];
    return version !== undefined && VERSION.test(version) ? version : undefined;
  }
  // npm from 2.1.113: bin/claude.exe, the native binary, beside the package's package.json.
  const npmRoot = real.match(/^(.*\/@anthropic-ai\/claude-code)\/bin\/claude(\.exe)?$/)?.[1] ??
    // The "local" install's wrapper script: ~/.claude/local/claude runs ~/.claude/local/node_modules/.bin/claude.
    (path.endsWith("/local/claude")
      ? `${path.slice(0, -"/claude".length)}/node_modules/@anthropic-ai/claude-code`
      : undefined);
  if (npmRoot === undefined) return undefined;
  try {
    const manifest = JSON.parse(await readSmallFile(await runtime.fs(), `${npmRoot}/package.json`, 65_536, true) ?? "");
    if (manifest?.name === "@anthropic-ai/claude-code" && VERSION.test(manifest.version)) return manifest.version;
  } catch {
    // Not an npm install after all.
  }
  return undefined;
}

/** The first bytes of a regular file, as text ("" when it cannot be read): cli.js is 10 MB, its header 2 KB. */
async function readHead(runtime: Runtime, path: string, bytes = 2048): Promise<string> {
  try {
    const { file } = await openRegularFile(await runtime.fs(), path, true);
    try {
      const buffer = new Uint8Array(bytes);
      const { bytesRead } = await file.read(buffer, 0, bytes, 0);
      return new TextDecoder().decode(buffer.subarray(0, bytesRead));
    } finally {
      await file.close();
    }
  } catch {
    return "";
  }
}

/** `claude --version` ("2.1.332 (Claude Code)"): a few ms for a native build, up to a second for an npm one. */
async function versionFromCommand(runtime: Runtime, path: string): Promise<string | undefined> {
  const home = await (await runtime.fs()).mkdtemp(`${tmpDirectory(runtime)}/telemhq-claude-version-`).catch(() =>
    undefined
  );
  if (home === undefined) return undefined;
  const run = await runQuietly([path, "--version"], 5_000, { PATH: runtime.env("PATH") ?? "/usr/bin:/bin", HOME: home })
    .finally(async () => await (await runtime.fs()).rm(home, { recursive: true, force: true }).catch(() => {}));
  const version = run?.code === 0 ? run.stdout.match(/^(\d+\.\d+\.\d+) \(Claude Code\)/)?.[1] : undefined;
  return version !== undefined && VERSION.test(version) ? version : undefined;
}

/** The Claude Code a command works for, and how to say so. */
interface ClaudeCodeInUse {
  /** Its version; undefined when no `claude` was found, or none said its version. */
  version?: string;
  /** One line: the version and where it is, or what was not found. */
  description: string;
}

/**
 * The Claude Code to wire hooks for: the oldest of the `claude` executables
 * found (a settings file must load in each of them), or the version given.
 *
 * @param runtime The runtime adapter.
 * @param claudeDir Claude Code's folder.
 * @param given A version the user gave (`--claude-version`), already checked.
 * @returns The version and a line describing it.
 */
async function claudeCodeInUse(
  runtime: Runtime,
  claudeDir: string,
  given?: string,
): Promise<ClaudeCodeInUse> {
  if (given !== undefined) return { version: given, description: `${given} (as --claude-version says)` };
  const found = await findClaudeCode(runtime, claudeDir);
  const known = found.filter((item) => item.version !== undefined)
    .sort((a, b) => compareVersions(a.version!, b.version!));
  if (known.length === 0) {
    return {
      description: found.length === 0
        ? "not found (not on PATH, in ~/.local/bin or in ~/.claude/local)"
        : `found at ${found[0].path}, but its version could not be read`,
    };
  }
  // A claude whose version is unknown may be the oldest: then only what every version knows is safe.
  const unknown = found.find((item) => item.version === undefined);
  if (unknown !== undefined) {
    return { description: `found at ${unknown.path}, but its version could not be read` };
  }
  const [oldest, ...newer] = known;
  const others = newer.filter((item) => item.version !== oldest.version);
  return {
    version: oldest.version,
    description: `${oldest.version} (${oldest.path})` +
      (others.length === 0
        ? ""
        : `; also ${others.map((item) => `${item.version} (${item.path})`).join(", ")}: the oldest counts`),
  };
}

/** Where Git for Windows puts Git Bash, as Claude Code looks for it after `CLAUDE_CODE_GIT_BASH_PATH`. */
const GIT_BASH_PLACES: readonly string[] = [
  "C:\\Program Files\\Git\\bin\\bash.exe",
  "C:\\Program Files (x86)\\Git\\bin\\bash.exe",
];

/**
 * The Git Bash Claude Code on Windows runs command hooks in, found the way
 * it finds it: `CLAUDE_CODE_GIT_BASH_PATH` (a `bash.exe` or `sh.exe`), Git
 * for Windows' own folders, then `bin\bash.exe` beside a `git` on PATH (never
 * one inside the current folder). Without one, Claude Code runs hooks in
 * PowerShell, which cannot run this hook's command.
 *
 * @param runtime The runtime adapter.
 * @returns The path, or undefined when there is none.
 */
async function findGitBash(runtime: Runtime): Promise<string | undefined> {
  const isFile = async (path: string) => (await runtime.lstat(path))?.kind === "file";
  const given = runtime.env("CLAUDE_CODE_GIT_BASH_PATH")?.trim();
  if (
    given && isAbsolutePath(given, "windows") && /(?:^|[\\/])(?:bash|sh)(?:\.exe)?$/i.test(given) && await isFile(given)
  ) {
    return given;
  }
  for (const place of GIT_BASH_PLACES) if (await isFile(place)) return place;
  const cwd = runtime.cwd();
  const realCwd = cwd === "" ? undefined : await runtime.realpath(cwd);
  for (const dir of (runtime.env("PATH") ?? "").split(";")) {
    if (!isAbsolutePath(dir, "windows") || isNetworkPath(dir, "windows")) continue;
    // Never a Git inside the current folder (a repository's own bash.exe), however its path is spelled.
    const real = await runtime.realpath(dir);
    if (real === undefined || !await isFile(`${real}\\git.exe`)) continue;
    if (realCwd !== undefined && (samePath(real, realCwd, "windows") || isInsideFolder(real, realCwd, "windows"))) {
      continue;
    }
    // As Claude Code does: two folders up from git.exe (Git\\cmd\\git.exe), then bin\\bash.exe.
    const bash = `${parentFolder(real, "windows") ?? real}\\bin\\bash.exe`;
    if (await isFile(bash)) return bash;
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// src/install_record.ts
//
// The install record, `<state>/install.json`: what `install` wrote (the
// runtime, the hook file, the command), so that `doctor` and `uninstall` read
// it rather than guess.
//
// Owns: `InstallRecord`, reading it, and whether its runtime lasts. Uses: runtime, files, state_dir, claude_code.

/** What `install` wrote, kept in `<state>/install.json` so that `doctor` and `uninstall` read it rather than guess. */
interface InstallRecord {
  /** The runtime the hook runs under. */
  runtime: RuntimeKind;
  /** That runtime's binary, by the absolute path the user's PATH names (not resolved: an upgrade keeps it). */
  runtime_path: string;
  /** The installed hook file. */
  hook_file: string;
  /** The command line that runs the hook for an event (the launcher builds it again each time). */
  hook_argv: string[];
  /** The launcher script beside the hook (absent in records of versions before it). */
  launcher?: string;
  /** The launcher's options install wrote into the settings command (see `launcherArgs`). */
  launcher_args?: string[];
  /** Settings files that `install` created (and `uninstall` may remove once they hold nothing else). */
  created_settings: string[];
  /** Whether tool activity was chosen (kept for the next run). */
  tool_activity?: boolean;
  /** The Claude Code version `--claude-version` named, for doctor when no `claude` is found. */
  claude_version?: string;
}

/**
 * Reads `install.json`; undefined when absent or not of the expected shape.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @returns The record.
 */
async function readInstallRecord(runtime: Runtime, stateDir: string): Promise<InstallRecord | undefined> {
  const value = await readJsonFile(await runtime.fs(), `${stateDir}/${STATE_LAYOUT.install}`);
  const record = value as Partial<InstallRecord> | undefined;
  const strings = (list: unknown) => Array.isArray(list) && list.every((item) => typeof item === "string");
  const valid = record !== null && typeof record === "object" &&
    ["deno", "bun", "node"].includes(record.runtime as string) &&
    typeof record.runtime_path === "string" && record.runtime_path.startsWith("/") &&
    typeof record.hook_file === "string" && strings(record.hook_argv);
  return valid
    ? {
      ...record,
      created_settings: strings(record.created_settings) ? record.created_settings! : [],
      launcher: typeof record.launcher === "string" && record.launcher.startsWith("/") ? record.launcher : undefined,
      launcher_args: strings(record.launcher_args) ? record.launcher_args : undefined,
      tool_activity: typeof record.tool_activity === "boolean" ? record.tool_activity : undefined,
      claude_version: typeof record.claude_version === "string" && isClaudeCodeVersion(record.claude_version)
        ? record.claude_version
        : undefined,
    } as InstallRecord
    : undefined;
}

/** Where npm's `npx` and Bun's `bunx` keep the packages they fetch on demand: caches their owners clean. */
const CACHED_RUNTIME_FOLDERS = /\/(?:_npx|\.bunx-[^/]*|bunx-[^/]*)\//;

/**
 * A warning when the runtime install recorded lives in a cache of fetched
 * packages (`npx deno@2 run -A hook.ts install`): the hook works until the
 * cache is cleaned, then no runtime runs it.
 *
 * @param runtimePath The runtime's path, as install recorded it.
 * @returns One sentence, or undefined when the path is a lasting one.
 */
function cachedRuntimeWarning(runtimePath: string): string | undefined {
  if (!CACHED_RUNTIME_FOLDERS.test(runtimePath)) return undefined;
  return `the runtime ${runtimePath} lives in npx's or bunx's cache of fetched packages, which npm or Bun may empty ` +
    "(npm cache npx rm, an upgrade, a reboot for bunx's in /tmp), and then the hook has no runtime. Run install again " +
    "with --runtime node (Node 20 or later runs it), or under a Bun or Deno installed for good (https://bun.sh, " +
    "https://deno.com).";
}

// ---------------------------------------------------------------------------
// src/install_plan.ts
//
// What `install` will do, decided and checked before anything is written:
// the runtime (by the path `PATH` names), the files, the ping URL and the
// options, the Claude Code the events are wired for, and the settings
// command. Nothing here writes.
//
// Owns: `InstallPlan`, `planInstall`, the events to wire. Uses: input,
// events, paths, runtime, runtime_detect, state_dir, config, ping_url, launch, launcher, cli_args,
// settings, claude_code, fields, install_record.

/** Claude Code's time limit for our hook, in seconds (the fast path takes milliseconds). */
/** How long Claude Code gives our hook command, in seconds: the launcher returns in milliseconds. */
const HOOK_TIMEOUT_S = 10;

/** The oldest Node the hook runs on, as JavaScript (the npm build's floor too). */
const NODE_OLDEST = 20;

/** A script for `node -e` that prints a file's JavaScript, types stripped (Node 22.13 and later). */
const STRIP_WITH_NODE = 'process.stdout.write(require("node:module").stripTypeScriptTypes(' +
  'require("node:fs").readFileSync(process.argv[1], "utf8"), { mode: "strip" }))';

/** What install will do. */
interface InstallPlan {
  scope: InstallScope;
  record: InstallRecord;
  url: URL;
  /** The salt to save; null: none (`--no-hash-salt`); undefined: keep the saved one. */
  hashSalt?: string | null;
  /** The member label to save; null: none (`--no-member`); undefined: keep the saved one. */
  member?: string | null;
  /** Whether to wire tool activity; undefined: as the scope's settings had it. */
  toolActivity?: boolean;
  claudeDir: string;
  stateDir: string;
  /** For Node from hook.ts: the hook as JavaScript, installed instead of the TypeScript. */
  javascript?: string;
  settingsPath?: string;
  command: string;
  events: readonly (readonly [string, string?])[];
  /** The Claude Code the hooks are wired for. */
  claude: ClaudeCodeInUse;
  /** Whether `--claude-version` named it. */
  claudeVersionGiven: boolean;
}

/** A Node binary's major version, or undefined when it does not say. */
async function nodeMajor(nodePath: string): Promise<number | undefined> {
  const version = (await runQuietly([nodePath, "--version"], 10_000))?.stdout.match(/^v(\d+)\./);
  return version === null || version === undefined ? undefined : Number(version[1]);
}

/**
 * hook.ts as JavaScript for the Node install: stripped here when this runtime can (Deno, Node 22.13+), else by
 * the Node it is for; a Node that cannot either gets a clear refusal.
 */
async function javascriptFor(runtime: Runtime, nodePath: string, source: string, text: string): Promise<string> {
  const module = await import("node:module") as { stripTypeScriptTypes?: (code: string, o: object) => string };
  if (typeof module.stripTypeScriptTypes === "function") return javascriptOf(text, module.stripTypeScriptTypes);
  const run = await runQuietly([nodePath, "--no-warnings", "-e", STRIP_WITH_NODE, source], 30_000);
  if (run?.code === 0 && run.stdout.length > 0) return javascriptOf(text, () => run.stdout);
  throw new CommandError(
    `Cannot install for Node: neither ${runtime.name} nor ${nodePath} can turn hook.ts into JavaScript (Node ` +
      `22.13 and Deno can). Run install under one of them, or use the npm build (npx @telemhq/claude-code install).`,
  );
}

/** The ping URL: `--url URL`, `--url -` (the first line of stdin, off the process list), or TELEMHQ_PING_URL. */
async function pingUrlArgument(runtime: Runtime, value: string | undefined): Promise<URL> {
  // Without --url: the environment's, else the one saved before (a re-run after an upgrade keeps it).
  const { config: saved } = await loadConfig(runtime);
  let raw = value ?? runtime.env("TELEMHQ_PING_URL") ??
    (saved.pingUrlSource === "config file" ? saved.pingUrl : undefined);
  if (value === "-") raw = new TextDecoder().decode(await readAll(runtime.stdin(), 64 * 1024)).split("\n")[0];
  if (raw === undefined || raw.trim() === "") {
    throw new CommandError(
      "Cannot install: no ping URL. Give --url with your tracker's ping URL, --url - to read it from stdin, " +
        "or set TELEMHQ_PING_URL.",
      2,
    );
  }
  return typedPingUrl(raw, "install");
}

/**
 * A ping URL someone typed for a command (install, a team's policy): checked as the hook checks it, and refused
 * when it cannot be a tracker's whole URL (no token after `/ping`, the guide's placeholder, a `#fragment`).
 *
 * @param raw The URL as given.
 * @param action What the command does, for its one-line error ("install", "print the policy").
 * @returns The URL.
 */
function typedPingUrl(raw: string, action: string): URL {
  let url: URL;
  try {
    url = parsePingUrl(raw);
  } catch (error) {
    // The message names the host at most, never the token.
    throw new CommandError(
      `Cannot ${action}: ${(error as Error).message.replace("TELEMHQ_PING_URL", "the ping URL")}.`,
      2,
    );
  }
  // A URL without its token, or the guide's placeholder, could never be accepted by a tracker.
  const path = url.pathname.replace(/\/+$/, "");
  if (path === "" || /(^|\/)ping$/i.test(path) || /YOUR_/i.test(url.pathname) || url.hash !== "") {
    throw new CommandError(
      `Cannot ${action}: ${redactUrl(url)} holds no tracking token` +
        (url.hash !== "" ? " (or holds a #fragment, which is never sent)" : "") +
        `. Copy the whole ping URL from your TelemHQ tracker.`,
      2,
    );
  }
  return url;
}

/** The hash salt: `--hash-salt SALT`, or `--hash-salt -` (the first line of stdin, off the process list). */
async function hashSaltArgument(runtime: Runtime, value: string | undefined): Promise<string | undefined> {
  if (value !== "-") return value;
  const line = new TextDecoder().decode(await readAll(runtime.stdin(), 64 * 1024)).split("\n")[0].replace(/\r$/, "");
  if (line === "") {
    throw new CommandError(
      "Cannot install: --hash-salt - read an empty line from standard input: give the salt there.",
      2,
    );
  }
  return line;
}

async function planInstall(runtime: Runtime, args: readonly string[]): Promise<InstallPlan> {
  const values = parseArgs(
    args,
    ["--url", "--scope", "--runtime", "--dir", "--hash-salt", "--claude-version", "--member"],
    ["--tool-activity", "--no-tool-activity", "--no-hash-salt", "--no-member", "--plugin"],
  );
  const scope = scopeOf(values["--scope"], INSTALL_SCOPES, "install");
  const labels = checkedLabels(values);
  const chosen = chooseRuntime(runtime, values["--runtime"]);
  if (values["--url"] === "-" && values["--hash-salt"] === "-") {
    throw new CommandError(
      "Cannot install: --url - and --hash-salt - both want standard input. Give one of them another way " +
        "(TELEMHQ_PING_URL, or TELEMHQ_HASH_SALT).",
      2,
    );
  }
  const url = await pingUrlArgument(runtime, values["--url"]);
  const hashSalt = values["--no-hash-salt"] ? null : await hashSaltArgument(runtime, values["--hash-salt"]);
  const { kind, source, sourceKind } = chosen;
  const runtimePath = await installedRuntimePath(runtime, kind);
  // Node runs the hook as JavaScript: no type stripping on every event, and Node 20 runs it too.
  const hookText = kind === "node" && sourceKind === "ts" ? await runtime.readTextFile(source) : undefined;
  const javascript = hookText === undefined ? undefined : await javascriptFor(runtime, runtimePath, source, hookText);
  const folders = await installFolders(runtime, kind, sourceKind, runtimePath);
  const { claudeDir, stateDir, hookFile, projectsDir } = folders;
  // Deno checks --allow-run against its real path: the launcher resolves the link each time, and so does this.
  const resolved = kind === "deno" ? await runtime.realpath(runtimePath) : undefined;
  // A version manager's shim (mise) resolves to the manager, not to Deno: the shim it is, then.
  const realRuntime = resolved !== undefined && /\/deno$/.test(resolved) ? resolved : runtimePath;
  const argv = hookArgv(kind, realRuntime, hookFile, stateDir, { pingHost: url.host, claudeDir, projectsDir });
  const launcher = `${claudeDir}/hooks/${LAUNCHER_FILE_NAME}`;
  const claude = await claudeCodeForScope(runtime, scope, claudeDir, labels.claudeVersion);
  return {
    scope,
    record: {
      runtime: kind,
      runtime_path: runtimePath,
      hook_file: hookFile,
      hook_argv: argv,
      launcher,
      launcher_args: launcherArgs(kind, runtimePath, hookFile, url.host),
      created_settings: [],
    },
    url,
    hashSalt,
    member: values["--no-member"] ? null : labels.member,
    toolActivity: values["--tool-activity"] ? true : values["--no-tool-activity"] ? false : undefined,
    claudeDir,
    stateDir,
    javascript,
    settingsPath: await scopeSettingsPath(runtime, scope, claudeDir, values["--dir"], "install"),
    command: launcherCommand(launcher, launcherArgs(kind, runtimePath, hookFile, url.host)),
    events: INSTALL_EVENTS.always,
    claude,
    claudeVersionGiven: labels.claudeVersion !== undefined,
  };
}

/** The runtime to install for, and the hook file this process runs from (hook.ts, or the npm build's bundle). */
function chooseRuntime(
  runtime: Runtime,
  wanted: string | undefined,
): { kind: RuntimeKind; source: string; sourceKind: "ts" | "mjs" } {
  const kind = (wanted ?? runtime.kind) as RuntimeKind;
  if (kind !== "deno" && kind !== "bun" && kind !== "node") {
    throw new CommandError(`Cannot install: runtime "${kind}" is not supported. Use --runtime deno, bun or node.`, 2);
  }
  const source = runtime.scriptPath;
  const sourceKind = source?.endsWith(".ts") ? "ts" : source?.endsWith(".mjs") ? "mjs" : undefined;
  if (source === undefined || sourceKind === undefined) {
    throw new CommandError(
      "Cannot install: this hook does not run from a local hook.ts or npm build. Download it first.",
    );
  }
  if (sourceKind === "mjs" && kind !== "node") {
    // The npm build is JavaScript for Node; Deno and Bun run hook.ts itself.
    throw new CommandError(
      `Cannot install for ${kind} from the JavaScript build Node runs: run install with hook.ts under ${kind}.`,
      2,
    );
  }
  return { kind, source, sourceKind };
}

/** The labels given on the command line, checked: a member label and the fleet's oldest Claude Code. */
function checkedLabels(values: Record<string, string | undefined>): { member?: string; claudeVersion?: string } {
  const member = values["--member"];
  if (member !== undefined && !MEMBER_PATTERN.test(member)) {
    throw new CommandError(
      "Cannot install: --member wants a short label (letters, digits and . _ @ + -, up to 64), such as ana or ana@acme.",
      2,
    );
  }
  const claudeVersion = values["--claude-version"];
  if (claudeVersion !== undefined && !isClaudeCodeVersion(claudeVersion)) {
    throw new CommandError(
      `Cannot install: --claude-version wants a version such as 2.1.332, not "${claudeVersion.slice(0, 20)}".`,
      2,
    );
  }
  return { member, claudeVersion };
}

/** The runtime's path as the user's PATH names it, checked to be recent enough. */
async function installedRuntimePath(runtime: Runtime, kind: RuntimeKind): Promise<string> {
  const runtimePath = await findRuntimeBinary(runtime, kind);
  if (runtimePath === undefined) {
    throw new CommandError(
      `Cannot install: ${kind} is not on PATH or in ~/.${kind}/bin. Install it, or choose another --runtime.`,
    );
  }
  if (kind === "node" && ((await nodeMajor(runtimePath)) ?? 0) < NODE_OLDEST) {
    throw new CommandError(
      `Cannot install for Node: ${runtimePath} is older than ${NODE_OLDEST}. Install Node ${NODE_OLDEST} or later, ` +
        `or choose --runtime bun or deno.`,
    );
  }
  const problem = await runtimePlacementProblem(runtime, runtimePath);
  if (problem !== undefined) {
    throw new CommandError(
      `Cannot install with ${kind} at "${runtimePath}": ${problem}, so another user could swap the program every ` +
        `event runs. Install ${kind} where only you or root can change it, or choose another --runtime.`,
    );
  }
  return runtimePath;
}

/**
 * Why another user could swap a runtime's program, or undefined: a control character in its path (the launcher keeps
 * one word a line), or the file, its link, or a folder above either owned by someone other than this user or root,
 * or writable by every user and not sticky. A sticky one (/tmp) is left to the launcher, which runs a program there
 * only when it is this user's own, and to the warning install prints. Windows has no owners to read here.
 */
async function runtimePlacementProblem(runtime: Runtime, runtimePath: string): Promise<string | undefined> {
  // deno-lint-ignore no-control-regex -- the characters it refuses
  if (/[\u0000-\u001f\u007f]/.test(runtimePath)) return "its path holds a control character";
  if (hostPlatform() === "win32") return undefined;
  const real = await runtime.realpath(runtimePath);
  const chain = [runtimePath, ...foldersAbove(runtimePath, "posix")];
  if (real !== undefined) chain.push(real, ...foldersAbove(real, "posix"));
  const uid = runtime.uid();
  for (const path of new Set(chain)) {
    const facts = await runtime.lstat(path);
    if (facts === undefined) continue;
    if (facts.uid !== 0 && uid !== undefined && facts.uid !== uid) return `"${path}" belongs to another user`;
    const open = facts.kind !== "symlink" && (facts.mode & 0o002) !== 0 && (facts.mode & 0o1000) === 0;
    if (open) return `"${path}" is writable by every user`;
  }
  return undefined;
}

/** Where the hook, its state and Claude Code's transcripts live, refused when Deno's flags could not name them. */
async function installFolders(
  runtime: Runtime,
  kind: RuntimeKind,
  sourceKind: "ts" | "mjs",
  runtimePath: string,
): Promise<{ claudeDir: string; stateDir: string; hookFile: string; projectsDir?: string }> {
  const env = (name: string) => runtime.env(name);
  const claudeDir = claudeDirectory(env);
  const stateDir = stateDirectory(env);
  if (claudeDir === undefined || stateDir === undefined) {
    throw new CommandError(`Cannot install: ${stateDirSettingProblem(env) ?? "HOME is not set"}.`);
  }
  if (hostPlatform() === "win32" && await findGitBash(runtime) === undefined) {
    throw new CommandError(
      "Cannot install: Claude Code on Windows runs hooks in Git Bash, and there is none here (without it, " +
        "PowerShell runs them, which cannot run this hook). Install Git for Windows, or set " +
        "CLAUDE_CODE_GIT_BASH_PATH to its bash.exe, then run install again.",
    );
  }
  const hookFile = `${claudeDir}/hooks/${HOOK_FILE_NAMES[kind === "node" ? "mjs" : sourceKind]}`;
  // The transcripts' real folder too: Deno checks a permission against the path a symlink leads to.
  const projects = await runtime.realpath(`${claudeDir}/projects`);
  const projectsDir = projects !== undefined && projects !== `${claudeDir}/projects` ? projects : undefined;
  const commaProblem = kind === "deno"
    ? denoFlagProblem([stateDir, `${claudeDir}/projects`, projectsDir ?? "", runtimePath, hookFile])
    : undefined;
  if (commaProblem !== undefined) {
    throw new CommandError(
      `Cannot install for Deno: ${commaProblem}. Set TELEMHQ_STATE_DIR or CLAUDE_CONFIG_DIR to a path ` +
        `without commas, or choose --runtime bun.`,
    );
  }
  return { claudeDir, stateDir, hookFile, projectsDir };
}

/** The Claude Code the settings are written for: this machine's, or for a shared file the one given. */
async function claudeCodeForScope(
  runtime: Runtime,
  scope: string,
  claudeDir: string,
  given: string | undefined,
): Promise<InstallPlan["claude"]> {
  // A file others share (a repository's, a fleet's policy) is read by Claude Codes this machine does not have.
  const shared = scope === "project" || scope === "managed";
  const claude = shared && given === undefined
    ? { description: "unknown for a file others share (give --claude-version: the oldest your team runs)" }
    : await claudeCodeInUse(runtime, claudeDir, given);
  if (claude.version !== undefined && compareVersions(claude.version, CLAUDE_CODE_FEATURES.hooksRun) < 0) {
    throw new CommandError(
      `Cannot install: Claude Code ${claude.version} runs no hooks (they run from ${CLAUDE_CODE_FEATURES.hooksRun}). ` +
        `Upgrade Claude Code, then run install again.`,
    );
  }
  return claude;
}

/** An option given now (null: cleared), else the one saved before, if it is a non-empty string. */
function kept(given: string | null | undefined, saved: unknown): string | undefined {
  if (given === null) return undefined;
  return given ?? (typeof saved === "string" && saved !== "" ? saved : undefined);
}

/** The events a plan may wire for its Claude Code, and those it leaves out (that version does not know them). */
function eventsFor(plan: Pick<InstallPlan, "claude">, wanted: readonly (readonly [string, string?])[]) {
  return {
    events: wanted.filter(([event]) => knowsEvent(event, plan.claude.version)),
    leftOut: wanted.filter(([event]) => !knowsEvent(event, plan.claude.version)).map(([event]) => event),
  };
}

function leftOutNotes(claude: ClaudeCodeInUse, leftOut: readonly string[]): string[] {
  const version = claude.version;
  if (leftOut.length === 0) return [];
  if (version === undefined && claude.description.startsWith("unknown for a file others share")) {
    return [
      `Note: the Claude Code versions of a shared file's readers are not known, so only the events every Claude ` +
      `Code with hooks fires are wired; ${leftOut.join(", ")} left out. Give --claude-version (the oldest your ` +
      `team runs) to wire them.`,
    ];
  }
  if (version === undefined) {
    return [
      `Note: Claude Code's version is not known (${
        claude.description.replace(/^not found \((.*)\)$/, "no claude found: $1")
      }), ` +
      `so only the events every Claude Code with hooks fires are wired; ${leftOut.join(", ")} left out. ` +
      `Run install again where claude is on PATH, or give --claude-version.`,
    ];
  }
  const since = leftOut.map((event) => `${event} (from ${HOOK_EVENT_SINCE[event]})`).join(", ");
  const them = leftOut.length === 1 ? "it" : "them";
  return [
    `Note: Claude Code ${version} does not fire ${since}: left out, so that it still loads this file. ` +
    (claude.description.includes("the oldest counts")
      ? `Remove the older claude (or, if you never run it, give --claude-version), then run install again to add ${them}.`
      : `After upgrading Claude Code, run install again to add ${them}.`),
  ];
}

function ourEntry(plan: InstallPlan) {
  return { type: "command", command: plan.command, timeout: HOOK_TIMEOUT_S };
}

// ---------------------------------------------------------------------------
// src/install.ts
//
// `install`: what the TelemHQ guide does by hand, in one command. It copies
// the hook and its launcher into Claude Code's `hooks/` folder, saves the
// ping URL in the private state directory (never in a settings file),
// records what it installed, and merges the launcher's command into a
// scope's settings file, for the hook events the user's Claude Code knows
// (an older one would skip the whole file, the user's own hooks too, over
// one it does not). Plan, check, write, report: nothing is written until
// everything is checked.
//
// Owns: `installCommand`, the managed policies. Uses: input, events, paths, runtime,
// files, state_dir, ping_url, launch, launcher, cli_args, settings, claude_code,
// install_record, install_plan, policy, marketplace, policy_file.

/** The plugin's id in the policy: TelemHQ's plugin in its marketplace (a mirror keeps the marketplace's name). */
const PLUGIN_ID = "telemhq@telemhq";

/** Refuses, before anything is written, a file whose folder (or nearest existing parent) this user cannot write. */
async function assertWritable(runtime: Runtime, path: string): Promise<void> {
  const fs = await runtime.fs();
  const style = hostPathStyle();
  let dir = parentFolder(path, style) ?? path;
  for (let parent = parentFolder(dir, style); (await runtime.lstat(dir)) === undefined && parent !== undefined;) {
    dir = parent;
    parent = parentFolder(dir, style);
  }
  const writable = await fs.access(dir, 2 /* W_OK */).then(() => true, () => false);
  if (!writable) throw new CommandError(`Cannot install: "${dir}" is not writable, so "${path}" cannot be written.`);
}

/**
 * Makes the state directory safe to use: created 0700, or, when it is this user's own folder that others may
 * only read, made 0700. A folder others may write (a shared one such as /tmp) is refused, never changed.
 */
async function prepareStateDir(runtime: Runtime, stateDir: string): Promise<void> {
  const problem = await ensureStateDir(runtime, stateDir);
  if (problem !== undefined) throw new CommandError(`Cannot install: ${problem}.`);
  const facts = await runtime.lstat(stateDir);
  if (facts !== undefined && (facts.mode & 0o077) !== 0) await (await runtime.fs()).chmod(stateDir, 0o700);
}

/**
 * `install`: copies the hook into Claude Code's `hooks/` folder, saves the
 * ping URL in the private state directory (never in a settings file that may
 * be committed), and merges the hook into the chosen settings file, keeping
 * everything else in it as it was. Running it twice changes nothing more. It
 * plans, checks everything, writes, then reports.
 *
 * @param runtime The runtime adapter.
 * @param args `--url URL|- [--scope user|project|local|managed] [--dir DIR] [--runtime deno|bun|node]
 *   [--tool-activity] [--hash-salt SALT]`.
 * @returns The exit code.
 */
async function installCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  if (args.includes("--plugin")) return await printPluginPolicy(runtime, args);
  if (scopeValue(args) === "managed") return await printSettingsPolicy(runtime, args);
  const plan = await planInstall(runtime, args);
  const hookSource = await runtime.readTextFile(runtime.scriptPath!);
  if (hookSource === undefined) throw new CommandError("Cannot install: cannot read this hook's own file.");
  if (plan.settingsPath === undefined) return await printSettingsPolicy(runtime, args);
  const checked = await checkBeforeInstall(runtime, plan, plan.settingsPath);
  await writeInstall(runtime, plan, checked, hookSource);
  console.log(terminalSafe((await installReport(runtime, plan, checked)).join("\n")));
  return 0;
}

/**
 * The plugin route's team policy: the marketplace the lead names (`--marketplace`, TelemHQ's by default), the plugin
 * enabled for everyone, and optionally one URL shared by the team (`--url`) and tool activity. No path of this
 * machine: it works on every machine it is copied to.
 */
async function printPluginPolicy(runtime: Runtime, args: readonly string[]): Promise<number> {
  const values = parseArgs(
    args,
    ["--scope", "--marketplace", "--url", "--claude-version"],
    ["--plugin", "--tool-activity", "--no-tool-activity", "--write"],
  );
  if (values["--scope"] !== "managed") throw new CommandError("Cannot install: --plugin goes with --scope managed.", 2);
  const given = values["--claude-version"];
  if (
    given !== undefined && (!isClaudeCodeVersion(given) || compareVersions(given, CLAUDE_CODE_FEATURES.pluginData) < 0)
  ) {
    throw new CommandError(
      `Cannot print the policy: the plugin needs Claude Code ${CLAUDE_CODE_FEATURES.pluginData} or later on every machine ` +
        `(--claude-version ${given.slice(0, 20)}); use the settings route (install --scope managed) for older ones.`,
      2,
    );
  }
  const source = marketplaceSource(values["--marketplace"] ?? DEFAULT_MARKETPLACE);
  const shared = values["--url"] === undefined ? undefined : await sharedPingUrl(runtime, values["--url"]);
  const toolActivity = values["--tool-activity"] ? true : values["--no-tool-activity"] ? false : undefined;
  const options = {
    ...(shared !== undefined ? { ping_url: shared.href } : {}),
    ...(toolActivity !== undefined ? { tool_activity: toolActivity } : {}),
  };
  const policy = {
    extraKnownMarketplaces: { telemhq: { source } },
    enabledPlugins: { [PLUGIN_ID]: true },
    ...(Object.keys(options).length > 0 ? { pluginConfigs: { [PLUGIN_ID]: { options } } } : {}),
  };
  await emitPolicy(runtime, policy, values["--write"] !== undefined);
  // A folder or file on a shared drive: it should at least be there on the machine the policy is made on.
  const path = "path" in source ? source.path : undefined;
  if (path !== undefined && (await runtime.lstat(path)) === undefined) {
    console.error(
      `Warning: ${path} does not exist here: make sure it does on every machine, or members get no plugin.`,
    );
  }
  console.error(
    [
      "A managed policy goes where Claude Code reads it (install --write puts it there as a drop-in): /etc/claude-code/managed-settings.json " +
      "(Linux), /Library/Application Support/ClaudeCode/managed-settings.json (macOS), " +
      "C:\\Program Files\\ClaudeCode\\managed-settings.json (Windows), or a file beside it in managed-settings.d/.",
      shared === undefined
        ? `Each member then sets their ping URL: printf '{"ping_url":"%s"}' "$URL" | claude plugin configure ${PLUGIN_ID} --values-stdin.`
        : "Warning: the shared ping URL is in a file every user of each machine can read; its token is the team's.",
      "Each member checks their machine with: sh <plugin folder>/hooks/telemhq.sh doctor --ping.",
    ].join("\n"),
  );
  return 0;
}

/** A team's policy: printed for the lead to deploy, or with `--write` written as this machine's drop-in. */
async function emitPolicy(runtime: Runtime, policy: Record<string, unknown>, write: boolean): Promise<void> {
  if (!write) {
    console.log(JSON.stringify(policy, null, 2));
    return;
  }
  const path = await writePolicy(runtime, policy);
  console.log(`Wrote the policy to ${path}: Claude Code reads it at its next start, for every user of this machine.`);
}

/** A team's shared ping URL: `--url URL`, or `--url -` (the first line of stdin, off the process list). */
async function sharedPingUrl(runtime: Runtime, value: string): Promise<URL> {
  const raw = value === "-"
    ? new TextDecoder().decode(await readAll(runtime.stdin(), 64 * 1024)).split("\n")[0]
    : value;
  return typedPingUrl(raw, "print the policy");
}

/** The `--scope` given, however it was written (`--scope X` or `--scope=X`). */
function scopeValue(args: readonly string[]): string | undefined {
  const index = args.findIndex((arg) => arg === "--scope" || arg.startsWith("--scope="));
  if (index === -1) return undefined;
  return args[index].startsWith("--scope=") ? args[index].slice("--scope=".length) : args[index + 1];
}

/**
 * `--scope managed`, the settings route's team policy: every event runs each user's own launcher
 * ({@linkcode POLICY_HOOK_COMMAND}, no path of this machine), for the events every Claude Code of the fleet knows
 * (`--claude-version`: the oldest). Each member then runs install once, which copies the hook, saves their URL and,
 * seeing the policy, writes no settings file of theirs.
 */
async function printSettingsPolicy(runtime: Runtime, args: readonly string[]): Promise<number> {
  if (args.some((arg) => arg === "--url" || arg.startsWith("--url="))) {
    throw new CommandError(
      "Cannot print the policy: a shared URL goes only with the plugin route (install --scope managed --plugin " +
        "--url ...): in a settings policy's env every command Claude Code runs would see it. Members give their own.",
      2,
    );
  }
  const values = parseArgs(args, ["--scope", "--claude-version"], ["--tool-activity", "--no-tool-activity", "--write"]);
  const given = values["--claude-version"];
  if (given !== undefined && !isClaudeCodeVersion(given)) {
    throw new CommandError(
      `Cannot print the policy: --claude-version wants a version such as 2.1.332, not "${given.slice(0, 20)}".`,
      2,
    );
  }
  if (given !== undefined && compareVersions(given, CLAUDE_CODE_FEATURES.hooksRun) < 0) {
    throw new CommandError(
      `Cannot print the policy: Claude Code ${given} runs no hooks (they run from ${CLAUDE_CODE_FEATURES.hooksRun}).`,
      2,
    );
  }
  const claude = given === undefined
    ? { description: "unknown for a file others share (give --claude-version: the oldest your team runs)" }
    : { version: given, description: `${given} (the oldest in the fleet, as --claude-version said)` };
  const wanted = [...INSTALL_EVENTS.always, ...(values["--tool-activity"] ? INSTALL_EVENTS.toolActivity : [])];
  const { events, leftOut } = eventsFor({ claude }, wanted);
  const policy: Settings = {};
  addHooks(policy, events, { type: "command", command: POLICY_HOOK_COMMAND, timeout: HOOK_TIMEOUT_S });
  await emitPolicy(runtime, policy, values["--write"] !== undefined);
  for (const note of leftOutNotes(claude, leftOut)) console.error(terminalSafe(note));
  console.error(
    [
      "The policy runs each user's own ~/.claude/hooks/telemhq.sh, so it holds no path or URL of " +
      "one machine. It goes where Claude Code reads policy (/etc/claude-code/managed-settings.json on Linux, " +
      "/Library/Application Support/ClaudeCode/managed-settings.json on macOS, or a file in managed-settings.d/).",
      "Each member then runs install once with their own URL (bun hook.ts install --url -): it copies the hook, " +
      "saves the URL and, seeing this policy, writes no settings file. Bun, Deno or Node 20+ must be on the PATH " +
      "Claude Code starts with; or roll out the plugin instead (install --scope managed --plugin).",
    ].join("\n"),
  );
  return 0;
}

/** What install checked before writing anything: the settings as they will be, and the options in force. */
interface CheckedInstall {
  settingsPath: string;
  /** The settings file's text now (undefined: it does not exist yet), and its new text. */
  text?: string;
  updated: string;
  previous?: InstallRecord;
  toolActivity: boolean;
  events: readonly (readonly [string, string?])[];
  leftOut: readonly string[];
  salt?: string;
  member?: string;
  /** The managed settings file that runs the hook for this user (then the user's settings get no entry). */
  policy?: string;
}

/**
 * Everything is checked before anything is written: the files can be written, the options given before are kept
 * (a second install after a 401 keeps tool activity and the salt), and the user's Claude Code still loads the
 * settings file with our entries in it.
 */
async function checkBeforeInstall(runtime: Runtime, plan: InstallPlan, settingsPath: string): Promise<CheckedInstall> {
  const { settings, text } = await readSettings(settingsPath);
  for (const path of [plan.record.hook_file, plan.record.launcher!, `${plan.stateDir}/${STATE_LAYOUT.config}`]) {
    await assertWritable(runtime, path);
  }
  await assertWritable(runtime, settingsPath);
  const hookFiles = installedHookFiles(plan.claudeDir);
  const previous = await readInstallRecord(runtime, plan.stateDir);
  const toolActivity = plan.toolActivity ?? previous?.tool_activity ??
    findOurHooks(settings, hookFiles).some((hook) =>
      INSTALL_EVENTS.toolActivity.some(([event]) => event === hook.event)
    );
  const { events, leftOut } = eventsFor(plan, [...plan.events, ...(toolActivity ? INSTALL_EVENTS.toolActivity : [])]);
  const saved = await readJsonFile(await runtime.fs(), `${plan.stateDir}/${STATE_LAYOUT.config}`) as
    | { hash_salt?: unknown; member?: unknown }
    | undefined;
  removeOurHooks(settings, hookFiles);
  // A team's policy that runs each user's own launcher wires the events for everyone: this user's file gets none.
  const policy = plan.scope === "user" ? await policyRunningLauncher(runtime, plan.claudeDir) : undefined;
  if (policy === undefined) addHooks(settings, events, ourEntry(plan));
  // Up to 2.1.100 Claude Code skips a whole settings file over one entry it does not know: the user's hooks too.
  const rejection = plan.claude.version === undefined ? undefined : settingsRejection(settings, plan.claude.version);
  if (rejection !== undefined) {
    throw new CommandError(
      `Cannot install: Claude Code ${plan.claude.version} would skip all of ${settingsPath} (every hook, env ` +
        `and permission in it): ${rejection}. Fix or remove that entry, then run install again; nothing was changed.`,
    );
  }
  return {
    settingsPath,
    text,
    updated: formatSettings(settings, text),
    previous,
    toolActivity,
    events,
    leftOut,
    salt: kept(plan.hashSalt, saved?.hash_salt),
    member: kept(plan.member, saved?.member),
    policy,
  };
}

/**
 * The managed settings file that runs each user's own launcher (a team's policy from `--scope managed`), if any.
 * A policy that cannot be read is refused: it may run the hook, and a second route would run every event twice.
 */
async function policyRunningLauncher(runtime: Runtime, claudeDir: string): Promise<string | undefined> {
  const managed = await scanManagedSettings(await runtime.fs(), claudeDir);
  const broken = managed.find((file) => file.error !== undefined);
  if (broken !== undefined) {
    throw new CommandError(
      `Cannot install: the managed settings file "${broken.path}" cannot be read (doctor says why), and your ` +
        `organisation's policy may run the hook already. Ask whoever manages this machine to fix it, then run ` +
        `install again; nothing was changed.`,
    );
  }
  return managed.find((file) => file.hooks.some((hook) => hook.hookFile === POLICY_LAUNCHER_PATH))?.path;
}

/** Writes the state directory, the hook and its launcher, the saved URL, the install record, then the settings. */
async function writeInstall(runtime: Runtime, plan: InstallPlan, checked: CheckedInstall, hookSource: string) {
  await prepareStateDir(runtime, plan.stateDir);
  const fs = await runtime.fs();
  await fs.mkdir(`${plan.claudeDir}/hooks`, { recursive: true, mode: 0o700 });
  await fs.chmod(`${plan.claudeDir}/hooks`, 0o700);
  await replaceFile(plan.record.hook_file, plan.javascript ?? hookSource, { mode: 0o600, forceMode: true });
  if (plan.record.runtime === "node") {
    // Node starts the hook through a small file that gives it a private compile cache (about 10 ms per event).
    const entry = `${plan.claudeDir}/hooks/${NODE_ENTRY_FILE_NAME}`;
    await replaceFile(entry, nodeEntrySource(HOOK_FILE_NAMES.mjs), { mode: 0o600, forceMode: true });
  }
  const installed = { kind: plan.record.runtime, path: plan.record.runtime_path };
  await replaceFile(plan.record.launcher!, launcherScript(installed), { mode: 0o700, forceMode: true });
  const saved = {
    ping_url: plan.url.href,
    ...(checked.salt !== undefined ? { hash_salt: checked.salt } : {}),
    ...(checked.member !== undefined ? { member: checked.member } : {}),
  };
  await writeFileAtomically(fs, `${plan.stateDir}/${STATE_LAYOUT.config}`, JSON.stringify(saved) + "\n", 0o600);
  // Under a team's policy, a settings file that does not exist stays so: nothing of ours would be in it.
  const writeSettings = checked.updated !== checked.text &&
    !(checked.text === undefined && checked.policy !== undefined);
  const created = new Set(checked.previous?.created_settings ?? []);
  if (checked.text === undefined && writeSettings) created.add(checked.settingsPath);
  const record: InstallRecord = {
    ...plan.record,
    created_settings: [...created].sort(),
    tool_activity: checked.toolActivity,
    ...(plan.claudeVersionGiven ? { claude_version: plan.claude.version } : {}),
  };
  await writeFileAtomically(fs, `${plan.stateDir}/${STATE_LAYOUT.install}`, JSON.stringify(record, null, 2) + "\n");
  if (writeSettings) {
    await replaceFile(checked.settingsPath, checked.updated, { backup: checked.text, mode: 0o644 });
  }
}

/** What install did, with the options in force, and what the user should know about the other scopes. */
async function installReport(runtime: Runtime, plan: InstallPlan, checked: CheckedInstall): Promise<string[]> {
  const { settingsPath, salt, member } = checked;
  const lines = [
    `Installed the TelemHQ hook for Claude Code.`,
    `  hook:      ${plan.record.hook_file}, started by ${plan.record.launcher}`,
    `  runtime:   ${plan.record.runtime_path}`,
    checked.policy === undefined
      ? `  settings:  ${settingsPath} (${checked.events.map(([event]) => event).join(", ")})`
      : `  settings:  none changed: your organisation's policy (${checked.policy}) runs the hook`,
    `  Claude Code: ${plan.claude.description}`,
    `  ping URL:  ${redactUrl(plan.url)}, saved in ${plan.stateDir}/${STATE_LAYOUT.config}`,
    `  options:   tool activity ${
      checked.policy !== undefined ? "as the policy wires it" : checked.toolActivity ? "on" : "off (--tool-activity)"
    }; hash salt ${salt !== undefined ? "set" : "none (--hash-salt)"}; member ${
      member !== undefined ? `"${member}"` : "none (--member)"
    }`,
    ...leftOutNotes(plan.claude, checked.leftOut),
  ];
  const cached = cachedRuntimeWarning(plan.record.runtime_path);
  if (cached !== undefined) lines.push(`Warning: ${cached}`);
  if (plan.scope === "project") {
    lines.push(
      `Note: ${settingsPath} is shared through the repository, and the hook command in it holds this ` +
        `machine's absolute paths; teammates install their own, or use --scope local.`,
    );
  }
  const root = settingsPath.slice(0, settingsPath.lastIndexOf("/.claude/"));
  if (plan.scope !== "user" && root !== runtime.cwd()) {
    lines.push(`Note: Claude Code reads this file when it is started in ${root} (not in a folder below it).`);
  }
  // Claude Code runs an identical command once, however many files name it; two different ones, twice.
  const scanned = await scanSettings(plan.claudeDir, await projectDirectory(runtime, undefined));
  const managed = await scanManagedSettings(await runtime.fs(), plan.claudeDir);
  for (const plugin of enabledTelemhqPlugins([...scanned, ...managed])) {
    lines.push(
      `Warning: the TelemHQ plugin (${plugin}) is enabled too: each event is still sent once (one ping_id), but ` +
        (enablingPolicy(managed, plugin) !== undefined
          ? `runs two hooks. Your organisation's policy enables the plugin: run uninstall to remove this install.`
          : `runs two hooks. Keep one: claude plugin uninstall ${plugin}, or uninstall here.`),
    );
  }
  for (
    const file of scanned.filter((file) =>
      file.path !== settingsPath && file.hooks.some((hook) => hook.command !== plan.command)
    )
  ) {
    lines.push(
      `Warning: ${file.path} runs another TelemHQ hook command; Claude Code would send every ping twice. ` +
        `Remove one: uninstall --scope ${file.scope}, or install there again.`,
    );
  }
  lines.push(`Check it with: /bin/sh ${shellWord(plan.record.launcher!)} doctor --ping`);
  return lines;
}

// ---------------------------------------------------------------------------
// src/uninstall.ts
//
// `uninstall`: removes exactly what `install` added, and with the last scope
// everything the hook kept, unless the plugin still uses it.
//
// Owns: `uninstallCommand`. Uses: input, runtime, state_dir, cli_args,
// settings, install_record, policy.

/**
 * `uninstall`: removes from the scope's settings file exactly the entries
 * `install` added (and the file itself when `install` created it and it holds
 * nothing else). When no settings file runs the hook any more, it also removes
 * the hook file and everything the hook kept: the saved ping URL, the install
 * record, the spool (saying how many unsent pings it dropped), refused pings,
 * session ledgers, the status and the journal.
 *
 * @param runtime The runtime adapter.
 * @param args `[--scope user|project|local] [--dir DIR]`.
 * @returns The exit code.
 */
async function uninstallCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  const values = parseArgs(args, ["--scope", "--dir"], []);
  const scope = scopeOf(values["--scope"], SETTINGS_SCOPES, "uninstall");
  const env = (name: string) => runtime.env(name);
  const claudeDir = claudeDirectory(env);
  const stateDir = stateDirectory(env);
  if (claudeDir === undefined || stateDir === undefined) {
    throw new CommandError(`Cannot uninstall: ${stateDirSettingProblem(env) ?? "HOME is not set"}.`);
  }
  const settingsPath = (await scopeSettingsPath(runtime, scope, claudeDir, values["--dir"], "uninstall"))!;
  const hookFiles = installedHookFiles(claudeDir);
  const { settings, text } = await readSettings(settingsPath);
  const removed = removeOurHooks(settings, hookFiles);
  const record = await stateDirProblemOf(runtime, stateDir) === undefined
    ? await readInstallRecord(runtime, stateDir)
    : undefined;
  const fs = await runtime.fs();
  const lines: string[] = [];
  if (removed > 0) {
    if (Object.keys(settings).length === 0 && record?.created_settings.includes(settingsPath)) {
      await fs.rm(settingsPath, { force: true });
      // Its .claude folder too, when nothing else is in it (rmdir refuses a folder that is not empty).
      if (scope !== "user") await fs.rmdir(settingsPath.slice(0, settingsPath.lastIndexOf("/"))).catch(() => {});
      lines.push(`Removed ${settingsPath}, which install had created (${entries(removed)}).`);
    } else {
      await replaceFile(settingsPath, formatSettings(settings, text), { mode: 0o644 });
      lines.push(`Removed the TelemHQ hook from ${settingsPath} (${entries(removed)}).`);
    }
    // install's backup of this file has served: the file is as it was, but for our entries.
    await fs.rm(`${settingsPath}.telemhq-backup`, { force: true });
  } else {
    lines.push(`Nothing to remove in ${settingsPath}: it does not run the TelemHQ hook.`);
  }
  const scanned = await scanSettings(claudeDir, await projectDirectory(runtime, values["--dir"]));
  const managed = await scanManagedSettings(await runtime.fs(), claudeDir);
  // A team's policy that runs this user's launcher keeps needing it: without it every event would fail loudly.
  const stillUsed = [...scanned, ...managed].filter((file) => file.hooks.length > 0).map((file) => file.path);
  for (const file of scanned.filter((file) => file.error !== undefined)) lines.push(`Warning: ${file.error}`);
  const plugins = enabledTelemhqPlugins([...scanned, ...managed]);
  if (stillUsed.length > 0) {
    lines.push(
      `Kept the hook file and the saved ping URL: ${stillUsed.join(" and ")} still run${
        stillUsed.length === 1 ? "s" : ""
      } the hook, so pings keep flowing.`,
    );
  } else if (plugins.length > 0) {
    // The plugin shares the state folder (its spool, its journal): only what install itself added goes.
    lines.push(...await removeInstallOnly(runtime, hookFiles, stateDir, plugins));
  } else {
    lines.push(...await removeEverything(runtime, hookFiles, stateDir));
  }
  console.log(terminalSafe(lines.join("\n")));
  return 0;
}

/** With the plugin still enabled: removes the hook files, the saved URL and the install record, and keeps the rest. */
async function removeInstallOnly(
  runtime: Runtime,
  hookFiles: readonly string[],
  stateDir: string,
  plugins: readonly string[],
): Promise<string[]> {
  const files = await removeHookFiles(runtime, hookFiles);
  const fs = await runtime.fs();
  for (const name of [STATE_LAYOUT.config, STATE_LAYOUT.install]) await fs.rm(`${stateDir}/${name}`, { force: true });
  return [
    files,
    `Removed the saved ping URL; kept the rest of ${stateDir}: the TelemHQ plugin (${plugins.join(", ")}) is ` +
    `enabled and uses it (its spool and its log). Run "claude plugin uninstall" first to remove everything.`,
  ];
}

/** Why a state directory that exists must not be trusted, or undefined (also when it does not exist). */
async function stateDirProblemOf(runtime: Runtime, stateDir: string): Promise<string | undefined> {
  const facts = await runtime.lstat(stateDir);
  if (facts === undefined) return undefined;
  return stateDirProblem(stateDir, facts, runtime.uid()) ?? await parentsProblem(runtime, stateDir);
}

/** With the last scope gone: the hook files and, in a safe state directory, everything the hook kept. */
/** Removes the hook files install wrote, and their folder when nothing else is in it; says what it removed. */
async function removeHookFiles(runtime: Runtime, hookFiles: readonly string[]): Promise<string> {
  const fs = await runtime.fs();
  const removed: string[] = [];
  for (const file of hookFiles) {
    if (await runtime.lstat(file) === undefined) continue;
    await fs.rm(file, { force: true });
    removed.push(file);
  }
  if (hookFiles.length > 0) await fs.rmdir(hookFiles[0].slice(0, hookFiles[0].lastIndexOf("/"))).catch(() => {});
  return removed.length > 0 ? `Removed ${listed(removed)}.` : "No hook file to remove.";
}

async function removeEverything(runtime: Runtime, hookFiles: readonly string[], stateDir: string): Promise<string[]> {
  const fs = await runtime.fs();
  const files = await removeHookFiles(runtime, hookFiles);
  // The token goes whatever else: removing a name is safe even in a folder others can write.
  const unsafe = await stateDirProblemOf(runtime, stateDir);
  if (unsafe !== undefined) {
    for (const name of [STATE_LAYOUT.config, STATE_LAYOUT.install]) await fs.rm(`${stateDir}/${name}`, { force: true });
    return [files, `Removed the saved ping URL, and left the rest of ${stateDir}: ${unsafe}.`];
  }
  // A ping a sender is sending is renamed "<id>.json.sending-...": unsent too, until it is delivered.
  const unsent = (await fs.readdir(`${stateDir}/${STATE_LAYOUT.spool}`).catch(() => [] as string[]))
    .filter((name) => /^[0-9a-f]{32}\.json(\.sending-[^.]+)?$/.test(name)).length;
  let kept = 0;
  for (const name of Object.values(STATE_LAYOUT)) {
    const path = `${stateDir}/${name}`;
    if (await runtime.lstat(path) === undefined) continue;
    await fs.rm(path, { recursive: true, force: true });
    kept++;
  }
  await fs.rmdir(stateDir).catch(() => {}); // only when nothing else is in it
  const lines = [files];
  lines.push(
    kept > 0
      ? `Removed the saved ping URL and everything the hook kept in ${stateDir}` +
        (unsent > 0 ? `, including ${unsent} unsent ping${unsent === 1 ? "" : "s"}.` : ".")
      : `Nothing was kept in ${stateDir}.`,
  );
  return lines;
}

/** "1 entry", "3 entries". */
function entries(count: number): string {
  return `${count} ${count === 1 ? "entry" : "entries"}`;
}

/** "a", "a and b", "a, b and c". */
function listed(items: readonly string[]): string {
  return items.length <= 2 ? items.join(" and ") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

// ---------------------------------------------------------------------------
// src/doctor.ts
//
// `doctor`: checks, in plain words, everything a ping needs: the URL (token
// redacted) and whether the installed hook may reach it, the settings files
// Claude Code merges (our hook wired once per event, as `install` wrote it),
// the hook file and the runtime `install` recorded (never a program named in a
// settings file), the state directory and its modes, the spool, the pings the
// tracker refused, and the last delivery; `--ping` sends a test ping through
// the installed hook, with its permissions.
//
// Owns: `doctorCommand`, `testPayload`. Uses: input, paths, payload, runtime, runtime_detect, state_dir, config,
// ping_url, launcher, lock, spool, send, attempts, cli_args, install_record, settings,
// fields, claude_code, events, policy.

/** doctor's report: a line per check; problems are counted for the exit code. */
class Report {
  problems = 0;

  ok(text: string): void {
    console.log(`ok       ${terminalSafe(text, true)}`);
  }

  note(text: string): void {
    console.log(`note     ${terminalSafe(text, true)}`);
  }

  problem(text: string): void {
    this.problems++;
    console.log(`PROBLEM  ${terminalSafe(text, true)}`);
  }
}

/** What to do about a status the tracker refused pings with. */
function refusalAdvice(status: number | undefined): string {
  if (status === 401 || status === 403 || status === 404) {
    return "the tracker refused the token: check the ping URL, then run install --url again and flush --retry-failed";
  }
  return "check the ping URL and the tracker, then run flush --retry-failed";
}

/** The hosts Deno's `--allow-net=` in a command line allows, or undefined when it allows any (or is not Deno's). */
function allowedHosts(argv: readonly string[]): string[] | undefined {
  const flag = argv.find((arg) => arg.startsWith("--allow-net="));
  return flag === undefined ? undefined : flag.slice("--allow-net=".length).split(",");
}

/**
 * `doctor`: checks everything a ping needs and says what to do about each
 * problem. `--ping` also sends a test ping through the installed hook.
 *
 * @param runtime The runtime adapter.
 * @param args `[--ping]`.
 * @returns 0 when all is well, 1 otherwise.
 */
async function doctorCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  const values = parseArgs(args, [], ["--ping"]);
  const { config, state } = await loadConfig(runtime);
  const claudeDir = claudeDirectory((name) => runtime.env(name));
  const report = new Report();
  if (claudeDir === undefined || config.stateDir === undefined) {
    report.problem(
      state.problem !== undefined
        ? `${state.problem}: no settings or state directory to check.`
        : "HOME is not set: no settings or state directory to check.",
    );
    return finish(report);
  }
  const stateDir = config.stateDir;
  if (state.problem !== undefined) {
    report.problem(`${capitalize(state.problem)}. Nothing in it is used until it is fixed.`);
    return finish(report);
  }
  const record = await readInstallRecord(runtime, stateDir);
  const project = await projectDirectory(runtime, undefined);
  // Every file Claude Code merges, an organisation's policy last (its keys win).
  const scanned = [
    ...await scanSettings(claudeDir, project),
    ...await scanManagedSettings(await runtime.fs(), claudeDir),
  ];
  const plugins = enabledTelemhqPlugins(scanned);
  const url = await checkUrl(runtime, report, config, record, { claudeDir, scanned, plugins });
  const found = await claudeCodeInUse(runtime, claudeDir);
  // No claude found here (an IDE's own, a fleet's pinned one): the version install was told, if any.
  const claude = found.version === undefined && record?.claude_version !== undefined
    ? { version: record.claude_version, description: `${record.claude_version} (as install's --claude-version said)` }
    : found;
  if (project !== undefined) report.note(`Project settings are read from ${project}, its repository's root.`);
  checkSettings(report, scanned, record, claude);
  checkClaudeCode(report, scanned, claude);
  if (hostPlatform() === "win32") await checkGitBash(runtime, report);
  await checkInstall(runtime, report, record, url, plugins.length > 0);
  await checkStateFiles(runtime, report, stateDir);
  await checkDelivery(runtime, report, config, stateDir);
  if (values["--ping"] && url !== undefined) await testPing(runtime, report, url, record, config);
  else if (values["--ping"]) {
    // --ping asks for proof: without a test ping sent, doctor cannot say all is good.
    report.problem("No test ping sent: no ping URL is known here (see above).");
  }
  return finish(report);
}

function finish(report: Report): number {
  const problems = report.problems;
  console.log(problems === 0 ? "\nAll good." : `\n${problems} problem${problems === 1 ? "" : "s"} found.`);
  return problems === 0 ? 0 : 1;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

async function checkUrl(
  runtime: Runtime,
  report: Report,
  config: HookConfig,
  record: InstallRecord | undefined,
  claude: { claudeDir: string; scanned: readonly ScannedSettings[]; plugins: readonly string[] },
): Promise<URL | undefined> {
  if (config.pingUrl === undefined && claude.plugins.length > 0) {
    return await checkPluginUrl(runtime, report, claude.claudeDir, claude.scanned, claude.plugins[0]);
  }
  if (config.pingUrl === undefined) {
    const brokenPolicy = claude.scanned.some((file) => file.scope === "managed" && file.error !== undefined);
    report.problem(
      brokenPolicy
        ? "No ping URL found: a managed settings file cannot be read (below), and it may enable the plugin that " +
          "holds the URL: have it fixed before you install anything."
        : "No ping URL: run install --url ..., or set TELEMHQ_PING_URL where Claude Code starts.",
    );
    return undefined;
  }
  let url: URL;
  try {
    url = parsePingUrl(config.pingUrl);
  } catch (error) {
    report.problem(`The ping URL (from ${config.pingUrlSource}) is refused: ${(error as Error).message}.`);
    return undefined;
  }
  report.ok(`Ping URL ${redactUrl(url)} (from ${config.pingUrlSource}).`);
  // Without a launcher (an older install), the recorded command is the hook's: its permissions are fixed.
  const hosts = record === undefined || record.launcher !== undefined ? undefined : allowedHosts(record.hook_argv);
  if (hosts !== undefined && !hosts.includes(url.host)) report.problem(hostProblem(hosts, url));
  return url;
}

/** The plugin's ping_url option, where Claude Code keeps it: checked, shown redacted. */
async function checkPluginUrl(
  runtime: Runtime,
  report: Report,
  claudeDir: string,
  scanned: readonly ScannedSettings[],
  plugin: string,
): Promise<URL | undefined> {
  const found = await pluginPingUrl(runtime, claudeDir, scanned, plugin);
  if (found.unseen !== undefined) {
    report.note(
      `The ping URL is the plugin's ping_url option, kept in ${found.unseen}: claude plugin configure ${plugin} ` +
        `shows whether it is set.`,
    );
    return undefined;
  }
  if (found.value === undefined) {
    report.problem(
      `The TelemHQ plugin (${plugin}) has no ping URL: set its ping_url option (printf '{"ping_url":"%s"}' "$URL" | ` +
        `claude plugin configure ${plugin} --values-stdin), or ask whoever manages your machine.`,
    );
    return undefined;
  }
  let url: URL;
  try {
    url = parsePingUrl(found.value);
  } catch (error) {
    report.problem(`The plugin's ping URL (from ${found.source}) is refused: ${(error as Error).message}.`);
    return undefined;
  }
  report.ok(`Ping URL ${redactUrl(url)} (the plugin's ping_url option, from ${found.source}).`);
  return url;
}

function hostProblem(hosts: readonly string[], url: URL): string {
  return `The installed Deno hook may only reach ${hosts.join(", ")}, but the ping URL in force is for ${url.host}: ` +
    `run install again with that URL.`;
}

function checkSettings(
  report: Report,
  scanned: readonly ScannedSettings[],
  record: InstallRecord | undefined,
  claude: ClaudeCodeInUse,
): void {
  const wired = new Map<string, { paths: string[]; commands: Set<string> }>();
  const launcher = record === undefined ? undefined : recordedLauncher(record);
  const expected = launcher === undefined ? undefined : launcherCommand(launcher[1], launcher.slice(2));
  let unreadable = false;
  for (const file of scanned) {
    if (file.error !== undefined) {
      unreadable = true;
      report.problem(file.error);
    }
    // A file this Claude Code skips whole runs nothing: its problem is reported with the version below.
    if (claude.version !== undefined && settingsRejection(file.settings, claude.version) !== undefined) continue;
    for (const hook of file.hooks) {
      const seen = wired.get(hook.event) ?? { paths: [], commands: new Set<string>() };
      seen.paths.push(file.path);
      seen.commands.add(hook.command);
      wired.set(hook.event, seen);
      // A team's policy runs each user's launcher by its own command (see POLICY_HOOK_COMMAND).
      const policy = file.scope === "managed" && hook.hookFile === POLICY_LAUNCHER_PATH;
      if (expected !== undefined && hook.command !== expected && !policy) {
        report.problem(
          `${file.path} runs the hook on ${hook.event} with another command than install wrote: run install again.`,
        );
      }
    }
  }
  const plugins = enabledTelemhqPlugins(scanned);
  for (const plugin of plugins) {
    const policy = enablingPolicy(scanned, plugin);
    report.ok(
      policy === undefined
        ? `The TelemHQ plugin (${plugin}) is enabled.`
        : `The TelemHQ plugin (${plugin}) is enabled by your organisation's policy (${policy}).`,
    );
  }
  if (plugins.length > 0 && wired.size > 0) {
    report.note(
      `Both the TelemHQ plugin (${plugins.join(", ")}) and ${
        [...new Set([...wired.values()].flatMap((seen) => seen.paths))].join(", ")
      } run the hook: each event is spooled and sent once (one ping_id), but runs twice. Keep one: ` +
        (enablingPolicy(scanned, plugins[0]) !== undefined
          ? `your organisation's policy enables the plugin, so run uninstall.`
          : `run uninstall, or claude plugin uninstall ${plugins[0]}.`),
    );
  }
  if (wired.size === 0 && plugins.length === 0 && !unreadable) {
    report.problem("No settings file runs the hook, and the TelemHQ plugin is not enabled: run install.");
  }
  for (const [event, { paths, commands }] of wired) {
    if (paths.length === 1) report.ok(`${event} runs the hook (${paths[0]}).`);
    else if (commands.size === 1) {
      // Claude Code runs identical commands from merged files once.
      report.ok(`${event} runs the hook once (the same command in ${paths.join(", ")}).`);
    } else {
      report.problem(
        `${event} runs the hook ${commands.size} times, with different commands (${
          paths.join(", ")
        }): Claude Code merges these files; run uninstall for all but one scope.`,
      );
    }
  }
}

/**
 * Whether the user's Claude Code loads each settings file (up to 2.1.100 it
 * skips a whole file over one hook event or entry it does not know), and the
 * events it fires that install would wire now (after an upgrade).
 */
function checkClaudeCode(report: Report, scanned: readonly ScannedSettings[], claude: ClaudeCodeInUse): void {
  const { version, description } = claude;
  if (version === undefined) {
    report.note(`Claude Code ${description}: which hook events it knows is not checked.`);
    return;
  }
  report.ok(`Claude Code ${description}.`);
  for (const file of scanned) {
    if (file.settings === undefined) continue;
    const rejection = settingsRejection(file.settings, version);
    if (rejection !== undefined) {
      report.problem(
        `Claude Code ${version} skips all of ${file.path} (every hook, env and permission in it): ${rejection}. ` +
          `Remove that entry; if it is the TelemHQ hook's, run install again.`,
      );
      continue;
    }
    const ignored = ignoredEvents(file.settings, version);
    if (ignored.length > 0) {
      report.note(`Claude Code ${version} ignores ${ignored.join(", ")} in ${file.path}: it does not know them.`);
    }
  }
  const wired = new Set(scanned.flatMap((file) => file.hooks.map((hook) => hook.event)));
  if (wired.size === 0) return;
  const toolActivity = INSTALL_EVENTS.toolActivity.some(([event]) => wired.has(event));
  const missing = [...INSTALL_EVENTS.always, ...(toolActivity ? INSTALL_EVENTS.toolActivity : [])]
    .map(([event]) => event)
    .filter((event) => knowsEvent(event, version) && !wired.has(event));
  if (missing.length > 0) {
    report.note(
      `Claude Code ${version} also fires ${missing.join(", ")}: run install again to wire ${
        missing.length === 1 ? "it" : "them"
      }.`,
    );
  }
}

/** On Windows: the Git Bash Claude Code runs hooks in; without it, PowerShell runs them and this hook never runs. */
async function checkGitBash(runtime: Runtime, report: Report): Promise<void> {
  const bash = await findGitBash(runtime);
  if (bash !== undefined) report.ok(`Git Bash at ${bash}: Claude Code runs the hook's command there.`);
  else {
    report.problem(
      "No Git Bash found: Claude Code runs hooks in PowerShell without it, which cannot run this hook. " +
        "Install Git for Windows, or set CLAUDE_CODE_GIT_BASH_PATH to its bash.exe.",
    );
  }
}

/** The launcher and its options as install recorded them, when it wrote one (older versions did not). */
function recordedLauncher(record: InstallRecord): string[] | undefined {
  return record.launcher === undefined || record.launcher_args === undefined
    ? undefined
    : ["/bin/sh", record.launcher, ...record.launcher_args];
}

async function checkInstall(
  runtime: Runtime,
  report: Report,
  record: InstallRecord | undefined,
  url: URL | undefined,
  pluginEnabled: boolean,
): Promise<void> {
  if (record === undefined && pluginEnabled) {
    // The plugin's hooks.json runs its own launcher: an install would only add a second route.
    report.note(
      "No install record: the plugin's launcher runs the hook, under the first of Bun, Deno or Node 20+ it finds.",
    );
    return;
  }
  if (record === undefined) {
    report.note("No install record: the runtime and hook file are not checked. Run install to record them.");
    return;
  }
  if (await runtime.lstat(record.hook_file) === undefined) {
    report.problem(`Hook file ${record.hook_file} is missing: run install again.`);
    return;
  }
  report.ok(`Hook file ${record.hook_file} is there.`);
  const launcher = recordedLauncher(record);
  if (launcher === undefined) {
    report.problem("The hook was installed by an older version, without its launcher: run install again.");
    return;
  }
  const installed = { kind: record.runtime, path: record.runtime_path };
  if ((await runtime.readTextFile(record.launcher!)) !== launcherScript(installed)) {
    report.problem(`The launcher ${record.launcher} is missing or not this version's: run install again.`);
    return;
  }
  // Only what install recorded is run, never a word from a settings file; the launcher picks the runtime.
  const argv = (await runQuietly([...launcher, "--print-argv"], 10_000))?.stdout.split("\n").filter(Boolean) ?? [];
  if (argv.length === 0) {
    report.problem(
      `No runtime runs the hook: ${record.runtime_path} is gone and no other was found. Install Bun, Deno or ` +
        `Node 20+, then run install again.`,
    );
    return;
  }
  const version = await runQuietly([argv[0], "--version"], 10_000);
  const loads = await runQuietly([...launcher, "--help"], 20_000);
  if (version?.code !== 0 || loads?.code !== 0) {
    report.problem(`The hook does not start with ${argv[0]}: run install again.`);
    return;
  }
  // The launcher narrows Deno's network to the URL in force where Claude Code runs it, else the one install saved.
  const hosts = allowedHosts(argv);
  if (url !== undefined && hosts !== undefined && !hosts.includes(url.host)) report.problem(hostProblem(hosts, url));
  const runs = `runs the hook (${version.stdout.split("\n")[0].trim()})`;
  const recorded = await runtime.realpath(record.runtime_path);
  if (recorded === undefined) {
    report.problem(
      `The runtime install recorded, ${record.runtime_path}, is gone; the hook runs under ${argv[0]} instead, ` +
        `which ${runs}. Run install again to record it.`,
    );
  } else {
    report.ok(`Runtime ${record.runtime_path} ${runs}.`);
    const cached = cachedRuntimeWarning(record.runtime_path);
    if (cached !== undefined) report.note(`But ${cached}`);
  }
}

async function checkStateFiles(runtime: Runtime, report: Report, stateDir: string): Promise<void> {
  const fs = await runtime.fs();
  const facts = await runtime.lstat(stateDir);
  if (facts !== undefined && (facts.mode & 0o077) !== 0) {
    report.problem(
      `State directory ${stateDir} can be read by other users (mode ${(facts.mode & 0o777).toString(8)}): ` +
        `run chmod 700 on it, or run install again.`,
    );
  }
  const config = await runtime.lstat(`${stateDir}/${STATE_LAYOUT.config}`);
  if (config !== undefined && (config.mode & 0o077) !== 0) {
    report.problem(
      `${stateDir}/${STATE_LAYOUT.config} holds the token and can be read by other users (mode ${
        (config.mode & 0o777).toString(8)
      }): run chmod 600 on it, or run install again.`,
    );
  }
  if (facts === undefined) {
    report.note(`State directory ${stateDir} does not exist yet: the first ping creates it.`);
    return;
  }
  const probe = `${stateDir}/.doctor-${crypto.randomUUID()}`;
  try {
    await fs.writeFile(probe, "", { flag: "wx", mode: 0o600 });
    await fs.rm(probe);
    report.ok(`State directory ${stateDir} is private and writable.`);
  } catch (error) {
    report.problem(`State directory ${stateDir} is not writable (${describeError(error)}): pings cannot be spooled.`);
  }
}

async function checkDelivery(runtime: Runtime, report: Report, config: HookConfig, stateDir: string): Promise<void> {
  const fs = await runtime.fs();
  const spool = new Spool(fs, stateDir, config);
  const spooled = (await fs.readdir(spool.dir).catch(() => [] as string[])).filter((name) => name.endsWith(".json"));
  let oldest = Infinity;
  for (const name of spooled) {
    oldest = Math.min(oldest, await fs.lstat(`${spool.dir}/${name}`).then((stat) => stat.mtimeMs, () => Infinity));
  }
  const waiting = spooled.length === 1 ? "1 ping waits" : `${spooled.length} pings wait`;
  if (spooled.length === 0) report.ok("No ping waits in the spool.");
  else if (!await senderIsRunning(runtime, stateDir)) {
    report.problem(`${waiting} in the spool and no sender is running: run flush to send them and see why.`);
  } else if (Date.now() - oldest > 10 * 60_000) {
    report.problem(
      `${waiting} in the spool, the oldest for ${
        Math.round((Date.now() - oldest) / 60_000)
      } min: run flush to see why.`,
    );
  } else {
    const status = await readStatus(runtime, stateDir);
    const failing = status.last_error !== undefined &&
      (status.last_delivered_at === undefined || status.last_error.at > status.last_delivered_at);
    report.ok(
      failing
        ? `${waiting} in the spool: the sender retries ${
          spooled.length === 1 ? "it" : "them"
        } (the last error is below).`
        : `${waiting} in the spool: the sender is delivering.`,
    );
  }
  const failed = await spool.failedEntries();
  if (failed.length > 0) {
    const latest = failed.map((item) => item.entry.failed).filter((why) => why !== undefined)
      .sort((a, b) => (a.at < b.at ? 1 : -1))[0];
    report.problem(
      `${failed.length} ping${failed.length === 1 ? " was" : "s were"} refused or set aside (latest: ${
        withoutStop(latest?.reason ?? "unknown")
      }): ${refusalAdvice(latest?.status)}.`,
    );
  }
  const status = await readStatus(runtime, stateDir);
  if (
    status.last_error !== undefined &&
    (status.last_delivered_at === undefined || status.last_error.at > status.last_delivered_at)
  ) {
    report.problem(`Last delivery failed at ${status.last_error.at}: ${withoutStop(status.last_error.reason)}.`);
  } else if (status.last_delivered_at !== undefined) {
    report.ok(
      `Last delivery at ${status.last_delivered_at}; ${status.delivered} delivered, ${status.rejected} refused in all.`,
    );
  }
}

/**
 * A test ping that names no real project or session: sent from "/" with a
 * fresh session id, so the tracker's dashboards are not touched by it.
 *
 * @param runtime The runtime adapter.
 * @param config The hook's configuration (its hash salt).
 * @returns The payload.
 */
async function testPayload(runtime: Runtime, config: HookConfig): Promise<Payload> {
  return await buildPayload(
    { hook_event_name: "DoctorPing", session_id: crypto.randomUUID(), cwd: "/" },
    { fallbackCwd: "/", runtime: runtime.name, sha256Hex: runtime.sha256Hex, hashSalt: config.hashSalt },
  );
}

/** Sends a test ping through the installed hook (its runtime, its permissions), or from here without a record. */
async function testPing(
  runtime: Runtime,
  report: Report,
  url: URL,
  record: InstallRecord | undefined,
  config: HookConfig,
): Promise<void> {
  let result: SendResult | undefined;
  if (record !== undefined) {
    const run = await runQuietly([...(recordedLauncher(record) ?? record.hook_argv), "ping-test"], 30_000);
    try {
      result = JSON.parse(run?.stdout.trim().split("\n").pop() ?? "") as SendResult;
    } catch {
      report.problem(`The installed hook could not send a test ping: run install again.`);
      return;
    }
  } else {
    result = await sendPing(url, await testPayload(runtime, config), config.timeoutMs);
  }
  if (result.outcome === "delivered") {
    report.ok(
      `Test ping accepted: ${redactUrl(url)} answered HTTP ${result.status}. It is marked event "DoctorPing", ` +
        `with a session id of its own: a tracker can tell it from real work.`,
    );
  } else {
    report.problem(
      `Test ping not accepted: ${withoutStop(result.reason)}${
        result.outcome === "rejected" ? `; ${refusalAdvice(result.status)}` : ""
      }.`,
    );
  }
}

// ---------------------------------------------------------------------------
// src/report.ts
//
// `report`: what Claude Code spent on this machine, from its own transcripts
// (every one it kept, not only since the hook was installed), by day, week,
// month, session, project or model. Each response is priced by the same code
// as the pings (so a report and the tracker agree), counted once however many
// resumed or forked transcripts repeat it, and summed unrounded (rounded once
// when shown). Nothing but counts, model ids, dates, session ids and project
// folder names is printed; no path and no content. Files are streamed in
// chunks (memory does not grow with a transcript's size), read only when they
// are regular files (never through a symlink, never a FIFO), and a broken or
// half-written line is skipped and counted.
//
// Owns: `reportCommand`, `collectReport`, `SpendReport`, `ReportTotals`,
// `REPORT_GROUPS`. Uses: input, fields, paths, payload, runtime,
// state_dir, transcript, price_eras, prices, usage, cli_args.

/** How a report groups what was spent. */
export const REPORT_GROUPS = ["day", "week", "month", "session", "project", "model"] as const;

/** One of {@linkcode REPORT_GROUPS}. */
export type ReportGroup = (typeof REPORT_GROUPS)[number];

/** What was spent in one group (or in all). */
export interface ReportTotals extends TokenCounts {
  /** The four token counts added up. */
  total_tokens: number;
  /** The cost in US dollars of the responses with a known price, rounded once. */
  cost_usd: number;
  /** API responses. */
  api_requests: number;
  /** Responses of models without a known price (not in `cost_usd`). */
  unpriced_requests: number;
  /** Turns (prompts a user typed); not counted by model. */
  turns: number;
  /** Web search requests. */
  web_search_requests: number;
  /** Lines Write and Edit added. */
  lines_added: number;
  /** Lines Write and Edit removed. */
  lines_removed: number;
}

/** A report: one row per group, newest or largest first, and the totals. */
export interface SpendReport {
  /** How the rows are grouped. */
  by: ReportGroup;
  /** The rows. */
  rows: (ReportTotals & { key: string })[];
  /** Everything in the rows together. */
  total: ReportTotals;
  /** Transcript files read. */
  files: number;
  /** Files that could not be read (not regular files, unreadable). */
  skipped_files: number;
  /** Lines that were not JSON (broken, or half-written at the end of a file being written) or had no time. */
  skipped_lines: number;
  /** Models without a known price, as their plain ids. */
  unpriced_models: string[];
  /** Claude Code versions whose cost rules were not checked: priced by the nearest (see `pricingNote`). */
  unchecked_versions: string[];
  /**
   * Priced responses an earlier Claude Code wrote, priced by its rules, as it showed them; today's rules (and
   * Anthropic's list prices) can differ (see `pricingEraOf`).
   */
  earlier_rules_requests: number;
  /** Responses found again in another transcript (a resumed or forked session's copy), counted once. */
  repeated_requests: number;
}

/** What {@linkcode collectReport} reads and keeps. */
export interface ReportOptions {
  /** Claude Code's folder (its `projects/` holds the transcripts). */
  claudeDir: string;
  /** How to group. */
  by: ReportGroup;
  /** The first day to count (`YYYY-MM-DD`, local time), if any. */
  since?: string;
  /** The last day to count (`YYYY-MM-DD`, local time), if any. */
  until?: string;
  /** Only this project (its folder's name), if any. */
  project?: string;
  /** The prices. */
  prices: PriceBook;
  /** Search bytes natively rather than decoded text (see `markedTranscriptLines`): true except under Deno. */
  searchBytes?: boolean;
  /** Called after each file with how many are read and how many there are. */
  onProgress?: (done: number, all: number) => void;
}

/** A folder deeper than this under `projects/` holds no transcript of Claude Code's. */
const MAX_PROJECTS_DEPTH = 4;
/** A transcript's timestamp: ISO 8601 with a four-digit year (anything else is not a time to count by). */
const ISO_TIME = /^[12]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}/;
/** The most responses of one file kept apart before they are added (a file of millions stays bounded). */
const MAX_FILE_RESPONSES = 50_000;
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** One response, its lines merged as in the pings (see `mergeResponseLine`), and where it belongs. */
interface Response extends ResponseUsage {
  time: number;
  session: string;
  project: string;
}

/** The transcripts under `projects/`: regular `.jsonl` files only, found without following a symlink. */
async function transcriptFiles(fs: FsPromises, dir: string, depth = 0): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name < b.name ? -1 : 1)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory() && depth < MAX_PROJECTS_DEPTH) {
      for (const found of await transcriptFiles(fs, path, depth + 1)) files.push(found);
    } else if (entry.isFile() && entry.name.endsWith(".jsonl")) files.push(path);
  }
  return files;
}

/**
 * A transcript's project as a report names it: its folder's name, as in the pings, read as a Windows path when it
 * is one (a transcript copied from Windows), every control or invisible character escaped.
 */
function reportProject(cwd: string, style: PathStyle): string {
  const windows = /^[A-Za-z]:\\/.test(cwd) || cwd.startsWith("\\\\");
  return terminalSafe(projectName(cwd, windows ? "windows" : style), true).slice(0, 255);
}

/** The local date of a time, `YYYY-MM-DD`. */
function localDay(time: number): string {
  const date = new Date(time);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The Monday that starts a time's week (local time), `YYYY-MM-DD`. */
function weekStart(time: number): string {
  const date = new Date(time);
  date.setDate(date.getDate() - ((date.getDay() + 6) % 7));
  return localDay(date.getTime());
}

/**
 * A key to tell responses apart without keeping their ids: two independent
 * 32-bit hashes (FNV-1a and a multiply-rotate one), 53 bits together, stored
 * as one number (small in a Set).
 */
function shortKey(text: string): number {
  let fnv = 0x811c9dc5;
  let mix = 0x9e3779b9;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    fnv = Math.imul(fnv ^ code, 0x01000193);
    mix = Math.imul((mix << 5) | (mix >>> 27), 0x85ebca6b) ^ code;
  }
  return (fnv >>> 0) * 0x200000 + ((mix >>> 0) >>> 11);
}

function emptyTotals(): ReportTotals {
  return {
    input_tokens: 0,
    output_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    total_tokens: 0,
    cost_usd: 0,
    api_requests: 0,
    unpriced_requests: 0,
    turns: 0,
    web_search_requests: 0,
    lines_added: 0,
    lines_removed: 0,
  };
}

/** Adds everything each file holds, file by file; see {@linkcode collectReport}. */
class SpendTally {
  readonly groups = new Map<string, ReportTotals>();
  readonly total = emptyTotals();
  readonly seen = new Set<number>();
  readonly unpriced = new Set<string>();
  readonly unchecked = new Set<string>();
  earlierRules = 0;
  repeated = 0;
  /** The responses a file over `MAX_FILE_RESPONSES` added before its end, while that file is read. */
  flushedInFile: Set<number> | undefined;
  skippedLines = 0;

  readonly options: ReportOptions;

  constructor(options: ReportOptions) {
    this.options = options;
  }

  keyOf(time: number, session: string, project: string, model: string | undefined): string | undefined {
    const day = localDay(time);
    if (this.options.since !== undefined && day < this.options.since) return undefined;
    if (this.options.until !== undefined && day > this.options.until) return undefined;
    if (this.options.project !== undefined && project !== this.options.project) return undefined;
    switch (this.options.by) {
      case "day":
        return day;
      case "week":
        return weekStart(time);
      case "month":
        return day.slice(0, 7);
      case "session":
        return session;
      case "project":
        return project;
      case "model":
        return model ?? "unknown";
    }
  }

  group(key: string): ReportTotals {
    let totals = this.groups.get(key);
    if (totals === undefined) this.groups.set(key, totals = emptyTotals());
    return totals;
  }

  /** Adds once: a resumed or forked session repeats its parent's lines. */
  once(key: string): boolean {
    const short = shortKey(key);
    if (this.seen.has(short)) return false;
    // A Set holds at most 2^24 keys: past 16 million responses, duplicates across far-apart files may count twice.
    if (this.seen.size >= 16_000_000) this.seen.clear();
    this.seen.add(short);
    return true;
  }

  addResponse(response: Response): void {
    const model = response.model === undefined
      ? undefined
      : resolveModel(response.model) ?? plainModelId(response.model);
    const key = this.keyOf(response.time, response.session, response.project, model);
    if (key === undefined) return;
    const cost = response.model === undefined
      ? undefined
      : responseCostUsd(response.model, response, this.options.prices);
    if (cost === undefined) this.unpriced.add(model ?? "unknown");
    // A missing or malformed version gets today's rules: what pricingEraOf gives for none is today's era.
    else if (pricingEraOf(response.version).era !== pricingEraOf(undefined).era) this.earlierRules++;
    // Only a well-formed version gets a note: nothing else from the line is named.
    if (response.version !== undefined && pricingNote(response.version) !== undefined) {
      this.unchecked.add(response.version);
    }
    for (const totals of [this.group(key), this.total]) {
      for (const field of TOKEN_FIELDS) totals[field] += response[field];
      totals.total_tokens += totalTokens(response);
      totals.api_requests++;
      totals.web_search_requests += response.web_search_requests;
      if (cost === undefined) totals.unpriced_requests++;
      else totals.cost_usd += cost;
    }
  }

  addTurn(time: number, session: string, project: string): void {
    if (this.options.by === "model") return;
    const key = this.keyOf(time, session, project, undefined);
    if (key === undefined) return;
    this.group(key).turns++;
    this.total.turns++;
  }

  addChange(time: number, session: string, project: string, change: { added: number; removed: number }): void {
    if (this.options.by === "model") return;
    const key = this.keyOf(time, session, project, undefined);
    if (key === undefined) return;
    for (const totals of [this.group(key), this.total]) {
      totals.lines_added += change.added;
      totals.lines_removed += change.removed;
    }
  }

  /** One transcript: its responses merged within the file, then added once each. */
  async addFile(fs: FsPromises, path: string): Promise<void> {
    const responses = new Map<string, Response>();
    const style = hostPathStyle();
    for await (const text of markedTranscriptLines(fs, path, this.options.searchBytes ?? true)) {
      // A tool's result carries the turn's promptId too, and often most of the file's bytes: parsed only for a patch.
      if (text.includes('"toolUseResult"') && !text.includes('"structuredPatch"') && !text.includes('"usage"')) {
        continue;
      }
      try {
        this.addLine(JSON.parse(text), responses, style);
      } catch {
        // Not JSON, or a shape no check foresaw: that line is skipped, never the rest of the file.
        this.skippedLines++;
      }
      if (responses.size >= MAX_FILE_RESPONSES) {
        this.flushedInFile ??= new Set();
        this.addResponses(responses);
      }
    }
    this.addResponses(responses);
    this.flushedInFile = undefined;
  }

  /** One parsed line: a turn's prompt, a file change, or a response's usage (merged into `responses`). */
  addLine(
    line: (TranscriptLine & { sessionId?: unknown; cwd?: unknown }) | null,
    responses: Map<string, Response>,
    style: PathStyle,
  ): void {
    if (line === null || typeof line !== "object") return;
    const time = typeof line.timestamp === "string" && ISO_TIME.test(line.timestamp) ? Date.parse(line.timestamp) : NaN;
    if (Number.isNaN(time)) {
      // A line with a marker and no time is no line Claude Code wrote: counted, so the report never drops it silently.
      this.skippedLines++;
      return;
    }
    const session = typeof line.sessionId === "string" && SESSION_ID_PATTERN.test(line.sessionId)
      ? line.sessionId
      : "unknown";
    const project = typeof line.cwd === "string" ? reportProject(line.cwd, style) : "unknown";
    if (line.type === "user") {
      const uuid = typeof line.uuid === "string" ? line.uuid : undefined;
      const change = changedLines(line.toolUseResult);
      if (change !== undefined && uuid !== undefined && this.once(`change\u0000${uuid}`)) {
        this.addChange(time, session, project, change);
      }
      // A turn starts at its prompt: by its promptId, or in releases before promptId, by the prompt line's uuid.
      const turn = typeof line.promptId === "string" ? line.promptId : isUserPrompt(line) ? uuid : undefined;
      const isPrompt = turn !== undefined && line.toolUseResult === undefined && line.isMeta !== true;
      if (isPrompt && this.once(`turn\u0000${session}\u0000${turn}`)) this.addTurn(time, session, project);
      return;
    }
    const message = line.message;
    const usage = message?.usage;
    if (line.type !== "assistant" || typeof message?.id !== "string" || message.model === "<synthetic>") return;
    if (usage === null || typeof usage !== "object") return;
    const key = `${message.id}\u0000${typeof line.requestId === "string" ? line.requestId : ""}`;
    const response = responses.get(key) ?? { ...NO_RESPONSE_USAGE, time, session, project };
    mergeResponseLine(response, line, usage);
    responses.set(key, response);
  }

  /** Adds a file's merged responses, each once across every file read, and forgets them. */
  addResponses(responses: Map<string, Response>): void {
    for (const [key, response] of responses) {
      const id = `response\u0000${key}`;
      if (this.once(id)) {
        this.addResponse(response);
        // Past a flush in the middle of a huge file, a response's later lines are its own file's, not a repeat.
        if (this.flushedInFile !== undefined) this.flushedInFile.add(shortKey(id));
      } else if (
        !this.flushedInFile?.has(shortKey(id)) &&
        this.keyOf(response.time, response.session, response.project, undefined) !== undefined
      ) {
        this.repeated++;
      }
    }
    responses.clear();
  }
}

/**
 * Reads every transcript Claude Code kept under `projects/` and adds up what
 * was spent, grouped (see the module's doc).
 *
 * @param runtime The runtime adapter.
 * @param options What to read and how to group it.
 * @returns The report.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * const report = await collectReport(detectRuntime(), { claudeDir: "/nonexistent", by: "day", prices: { overrides: {} } });
 * assert.deepEqual([report.files, report.rows.length, report.total.cost_usd], [0, 0, 0]);
 * ```
 */
export async function collectReport(runtime: Runtime, options: ReportOptions): Promise<SpendReport> {
  const fs = await runtime.fs();
  const files = await transcriptFiles(fs, `${options.claudeDir}/projects`);
  const tally = new SpendTally(options);
  let skippedFiles = 0;
  const projects = `${options.claudeDir}/projects/`;
  let folder = "";
  for (const [index, path] of files.entries()) {
    // A resumed or forked session repeats lines only within its project's folder (the same working directory), and
    // the files come folder by folder: what was seen is forgotten between folders, so memory follows the largest.
    const next = path.slice(projects.length).split("/")[0];
    if (next !== folder) {
      folder = next;
      tally.seen.clear();
    }
    try {
      await tally.addFile(fs, path);
    } catch {
      skippedFiles++;
    }
    options.onProgress?.(index + 1, files.length);
  }
  const rows = [...tally.groups.entries()].map(([key, totals]) => ({
    key,
    ...totals,
    cost_usd: roundUsd(totals.cost_usd),
  }));
  const byTime = options.by === "day" || options.by === "week" || options.by === "month";
  rows.sort((a, b) => byTime ? (a.key < b.key ? -1 : 1) : b.cost_usd - a.cost_usd || (a.key < b.key ? -1 : 1));
  return {
    by: options.by,
    rows,
    total: { ...tally.total, cost_usd: roundUsd(tally.total.cost_usd) },
    files: files.length - skippedFiles,
    skipped_files: skippedFiles,
    skipped_lines: tally.skippedLines,
    // "unknown" is always kept: the note that explains it must not lose it to the cut.
    unpriced_models: [...tally.unpriced].sort().filter((model, index) => index < 19 || model === "unknown"),
    unchecked_versions: [...tally.unchecked].sort().slice(0, 20),
    earlier_rules_requests: tally.earlierRules,
    repeated_requests: tally.repeated,
  };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A real calendar date `YYYY-MM-DD` (not 2026-02-30). */
function isDate(value: string): boolean {
  const date = new Date(`${value}T00:00:00Z`);
  return DATE.test(value) && !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
}

/** A group's cost as shown: none at all when no response of it had a known price (never a made-up 0). */
function shownCost(totals: ReportTotals): number | null {
  return totals.api_requests > 0 && totals.unpriced_requests === totals.api_requests ? null : totals.cost_usd;
}

/** The report as a table for a terminal: every value escaped, numbers right-aligned. */
function reportTable(report: SpendReport): string {
  const header = [
    report.by,
    "input",
    "output",
    "cache write",
    "cache read",
    "total tokens",
    "cost USD",
    "turns",
    "searches",
    "+lines",
    "-lines",
  ];
  const cells = (key: string, t: ReportTotals) => [
    terminalSafe(key, true),
    ...[t.input_tokens, t.output_tokens, t.cache_creation_input_tokens, t.cache_read_input_tokens, t.total_tokens]
      .map((n) => n.toLocaleString("en-US")),
    `${shownCost(t) === null ? "-" : t.cost_usd.toFixed(6)}${t.unpriced_requests > 0 ? "*" : ""}`,
    report.by === "model" ? "-" : String(t.turns),
    String(t.web_search_requests),
    report.by === "model" ? "-" : String(t.lines_added),
    report.by === "model" ? "-" : String(t.lines_removed),
  ];
  const table = [header, ...report.rows.map((row) => cells(row.key, row)), cells("total", report.total)];
  const widths = header.map((_, column) => Math.max(...table.map((row) => row[column].length)));
  return table.map((row) =>
    row.map((cell, column) => column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column])).join("  ")
  ).join("\n");
}

/**
 * `report`: prints what Claude Code spent here (see the module's doc), as a
 * table, or as JSON with `--json`.
 *
 * @param runtime The runtime adapter.
 * @param args `[--by day|week|month|session|project|model] [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--project NAME] [--json]`.
 * @returns 0, or 1 when no transcript could be read at all.
 */
async function reportCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  const values = parseArgs(args, ["--by", "--since", "--until", "--project"], ["--json"]);
  const by = (values["--by"] ?? "day") as ReportGroup;
  if (!REPORT_GROUPS.includes(by)) {
    throw new CommandError(`Cannot report: --by "${terminalSafe(by)}" is not one of ${REPORT_GROUPS.join(", ")}.`, 2);
  }
  for (const option of ["--since", "--until"] as const) {
    const value = values[option];
    if (value !== undefined && !isDate(value)) {
      throw new CommandError(`Cannot report: ${option} "${terminalSafe(value)}" is not a date like 2026-12-01.`, 2);
    }
  }
  if (values["--since"] !== undefined && values["--until"] !== undefined && values["--since"] > values["--until"]) {
    throw new CommandError(`Cannot report: --since ${values["--since"]} is after --until ${values["--until"]}.`, 2);
  }
  const claudeDir = claudeDirectory((name) => runtime.env(name));
  if (claudeDir === undefined) {
    throw new CommandError("Cannot report: no home folder (set HOME, or CLAUDE_CONFIG_DIR).");
  }
  const terminal = values["--json"] ? undefined : runtime.terminal();
  const report = await collectReport(runtime, {
    claudeDir,
    by,
    since: values["--since"],
    until: values["--until"],
    project: values["--project"],
    searchBytes: runtime.kind !== "deno",
    // The prices the pings use: TELEMHQ_PRICES over an organisation's managed pricing over the catalog.
    prices: { overrides: priceTable(runtime.env("TELEMHQ_PRICES")), managed: await loadManagedPricing(runtime) },
    onProgress: terminal === undefined ? undefined : (done, all) => {
      if (all >= 200 && (done % 50 === 0 || done === all)) terminal.write(`\rReading transcripts: ${done} of ${all}`);
      if (all >= 200 && done === all) terminal.write("\r\u001b[K");
    },
  });
  if (values["--json"]) {
    // By model, turns and lines belong to no row: null, never a 0 a script would believe.
    const shown = (totals: ReportTotals) =>
      report.by === "model"
        ? { ...totals, cost_usd: shownCost(totals), turns: null, lines_added: null, lines_removed: null }
        : { ...totals, cost_usd: shownCost(totals) };
    console.log(JSON.stringify({ ...report, rows: report.rows.map(shown), total: shown(report.total) }));
  } else {
    console.log(reportTable(report));
    const notes = [`${report.files} transcript${report.files === 1 ? "" : "s"} read`];
    if (report.files === 0) notes[0] += " (none in Claude Code's projects folder: CLAUDE_CONFIG_DIR, else ~/.claude)";
    else if (report.total.api_requests === 0 && values["--project"] !== undefined) {
      notes.push(
        `no response of a project named "${terminalSafe(values["--project"])}" (names as --by project shows them: ` +
          "the last folder of the working directory)",
      );
    }
    if (report.skipped_files > 0) notes.push(`${report.skipped_files} unreadable file(s) skipped`);
    if (report.skipped_lines > 0) notes.push(`${report.skipped_lines} broken line(s) skipped`);
    if (report.repeated_requests > 0) {
      notes.push(`${report.repeated_requests} response(s) repeated by resumed or forked sessions counted once`);
    }
    if (report.unpriced_models.length > 0) {
      notes.push(
        `* no price known for ${report.unpriced_models.map((model) => terminalSafe(model)).join(", ")} ` +
          "(set TELEMHQ_PRICES): its responses with no price are not in the cost" +
          (report.unpriced_models.includes("unknown")
            ? ' ("unknown": responses with no model id, or one that is not a plain model id, which is never printed)'
            : ""),
      );
    }
    if (report.earlier_rules_requests > 0) {
      notes.push(
        `${report.earlier_rules_requests} response(s) priced by the rules of the earlier Claude Code that wrote ` +
          "them, as it showed them: today's prices can differ (docs/tokens-and-cost.md)",
      );
    }
    for (const version of report.unchecked_versions) notes.push(pricingNote(version)!);
    console.error(notes.join("; ") + ".");
  }
  return report.files === 0 && report.skipped_files > 0 ? 1 : 0;
}

// ---------------------------------------------------------------------------
// src/cli.ts
//
// The command line: with no arguments, the hook (what Claude Code runs);
// otherwise a command people type (`install`, `uninstall`, `doctor`,
// `flush`, `log`, `command`), each with its own `--help`, or one the hook
// runs itself (`deliver`, the detached sender; `ping-test`, for `doctor`).
// Every command prints one clear line and exits non-zero on any failure.
//
// Owns: the command table and its help, `flush`, `status`, `log`, `command`, dispatch,
// the main-module check. Uses: input, paths, payload, runtime, runtime_detect, state_dir, config,
// ping_url, launch, launcher, spool, lock, send, journal, attempts, sender, run_hook, cli_args,
// install, uninstall, doctor, report.

/** A command people type: its usage line, what it does, and how it runs. */
interface Command {
  usage: string;
  summary: string;
  details?: string;
  run(runtime: Runtime, args: readonly string[]): Promise<number>;
}

/** The name this file answers to in help: the npm bin under Node, else the script's own name. */
function programName(runtime: Runtime): string {
  if (runtime.scriptPath === undefined) return runtime.kind === "node" ? "telemhq-claude-code" : "hook.ts";
  // The npm build's code is bin/hook.mjs, and people type the command npm made of it.
  if (/[\\/]bin[\\/]hook\.mjs$/.test(runtime.scriptPath)) return "telemhq-claude-code";
  return terminalSafe(pathName(runtime.scriptPath, hostPathStyle()), true);
}

const COMMANDS: Readonly<Record<string, Command>> = {
  install: {
    usage: "install --url URL|- [--scope user|project|local|managed] [--dir DIR] [--runtime deno|bun|node] " +
      "[--[no-]tool-activity] [--hash-salt SALT|- | --no-hash-salt] [--member LABEL | --no-member] " +
      "[--claude-version X.Y.Z] | install --scope managed --plugin [--marketplace SOURCE] [--url URL|-] " +
      "[--[no-]tool-activity] [--claude-version X.Y.Z] [--write]",
    summary: "copy the hook into ~/.claude/hooks, save the ping URL, wire it into a settings file",
    details: `The ping URL holds your tracker's token. To keep it out of the process list, give --url - and
the URL on standard input, or set TELEMHQ_PING_URL and leave --url out.
--scope project writes the repository's .claude/settings.json (its git root, or --dir DIR).
--runtime picks the program that runs the hook (default: the one running install; under Node, only node: 20+).
--tool-activity also wires PostToolUse (Bash, Edit, MultiEdit, Write) and PostToolUseFailure (every tool):
a ping per tool call, with its name and duration, never its input or output. A re-run keeps the choices made before.
--hash-salt mixes a secret your team shares into cwd_hash and transcript_path_hash (--hash-salt - reads it
from standard input).
--member adds your label (a name your team rolls up by) to every ping; off unless given.
Only the hook events your Claude Code knows are wired (an older one skips a whole settings file over one
it does not know): install reads the version of each claude it finds, and wires for the oldest;
--claude-version says which version to wire for instead (an IDE's own Claude Code, a fleet's pinned one).
--scope managed prints a team's policy for the settings route: it runs each user's own launcher, and each member
then runs install --url once (no settings file of theirs is written while the policy runs the hook).
--scope managed --plugin prints a team's policy for the plugin route: --marketplace names where the plugin comes
from (owner/repo[#ref], a git URL[#ref], the URL of a marketplace.json, or an absolute path; TelemHQ's by default),
--url one ping URL shared by the team (in a file every user can read; without it each member configures theirs).
--write (as root, Linux and macOS) writes either policy as the drop-in managed-settings.d/telemhq.json.`,
    run: installCommand,
  },
  uninstall: {
    usage: "uninstall [--scope user|project|local] [--dir DIR]",
    summary: "remove exactly what install added; with the last scope, the hook file, the saved URL and the spool",
    details: "Run flush first to send pings still waiting: uninstall drops them with the last scope.",
    run: uninstallCommand,
  },
  doctor: {
    usage: "doctor [--ping]",
    summary: "check the URL, the settings, the runtime, the state directory, the spool and refused pings",
    details: "--ping sends a test ping through the installed hook, with the permissions it runs with.",
    run: doctorCommand,
  },
  flush: {
    usage: "flush [--retry-failed]",
    summary: "deliver every spooled ping now and report what happened",
    details: "--retry-failed first puts the pings the tracker refused back in the spool (after fixing the URL).",
    run: flushCommand,
  },
  status: {
    usage: "status",
    summary: "what the hook is doing now: pings waiting, the sender, the last delivery, refused pings",
    run: statusCommand,
  },
  log: {
    usage: "log [--json] [--limit N]",
    summary: "show the pings delivered, newest first: when, the tracker's answer, the exact body sent",
    run: logCommand,
  },
  report: {
    usage: "report [--by day|week|month|session|project|model] [--since DATE] [--until DATE] [--project NAME] [--json]",
    summary: "what Claude Code spent here, from every transcript it kept: tokens, cost, turns, searches, lines",
    details: `Local days, both inclusive; weeks start on Monday; --project takes a project folder's name. Reads what
cleanupPeriodDays kept; * marks a model with no known price (see TELEMHQ_PRICES); by model, turns and lines show -.`,
    run: reportCommand,
  },
  command: {
    usage: "command [--direct]",
    summary: "print the settings.json hook command for this runtime and file (the shell fast path)",
    details: "--direct prints a command that runs this file directly instead.",
    run: printHookCommand,
  },
};

function usageText(runtime: Runtime): string {
  const name = programName(runtime);
  const usage = Object.values(COMMANDS).map((command) => `  ${name} ${command.usage}\n      ${command.summary}`);
  return `TelemHQ hook for Claude Code ${HOOK_VERSION}

Usage:
${usage.join("\n")}
  ${name}
      read one hook event on stdin and spool its ping (what Claude Code runs)
  ${name} COMMAND --help
      help on one command

Settings come from the environment (TELEMHQ_PING_URL, TELEMHQ_STATE_DIR, TELEMHQ_TIMEOUT_MS,
TELEMHQ_HOOK_DEBUG=1, ...) and from what install saved; see docs/settings.md.`;
}

function commandHelp(runtime: Runtime, command: Command): string {
  const help = `Usage: ${programName(runtime)} ${command.usage}\n\n${command.summary}.`;
  return command.details === undefined ? help : `${help}\n\n${command.details}`;
}

/**
 * `flush`: delivers the spool now and prints a report. A sender already
 * running is asked to send everything now, and the report waits for it.
 * Exit code 0 when every ping was delivered (none refused, dropped, stuck or left waiting).
 *
 * @param runtime The runtime adapter.
 * @param args `[--retry-failed]`.
 * @returns The exit code.
 */
async function flushCommand(runtime: Runtime, args: readonly string[] = []): Promise<number> {
  const values = parseArgs(args, [], ["--retry-failed"]);
  const { config, state } = await loadConfig(runtime);
  const stateDir = config.stateDir;
  if (state.problem !== undefined) throw new CommandError(`Cannot flush: ${state.problem}.`);
  if (stateDir === undefined) {
    throw new CommandError("Cannot flush: no state directory. Set HOME or TELEMHQ_STATE_DIR.");
  }
  if (await runtime.lstat(stateDir) === undefined) {
    console.log(`Nothing to flush: no ping was spooled yet (no state directory "${stateDir}").`);
    return 0;
  }
  const fs = await runtime.fs();
  let retried = 0;
  if (values["--retry-failed"]) retried = await new Spool(fs, stateDir, config).retryFailed();
  const before = await readStatus(runtime, stateDir);
  const progress = flushProgress(runtime, stateDir, before.delivered);
  // Ctrl-C ends the pass and lets go of the sender's lock (a second Ctrl-C exits at once).
  let interrupted = false;
  runtime.onInterrupt(() => interrupted ? runtime.exit(130) : void (interrupted = true));
  const report = await flushPasses(runtime, config, { flush: true, progress, stopped: () => interrupted });
  const status = await readStatus(runtime, stateDir);
  const spool = new Spool(fs, stateDir, config);
  const waiting = await spool.waiting();
  // With no sender left, every claim is a ping stuck mid-send; with one running, only those older than a request.
  const stuck = await senderIsRunning(runtime, stateDir) ? await spool.staleClaims() : await spool.claims();
  const setAside = (await spool.failedEntries()).length;
  const droppedNow = droppedCount(status) - droppedCount(before);
  await progress(true);
  if (retried > 0) console.log(`Put ${retried} refused ping${retried === 1 ? "" : "s"} back in the spool.`);
  console.log(terminalSafe(flushSummary({
    delivered: status.delivered - before.delivered,
    rejected: status.rejected - before.rejected,
    faulted: status.faulted - before.faulted,
    waiting,
    status,
    busy: false,
  }, stateDir)));
  if (interrupted) {
    // What is left goes on in the background, as after any hook.
    await startSender(runtime, config).catch(() => false);
    console.log("Interrupted: a sender goes on delivering in the background.");
    return 130;
  }
  // The ones this flush set aside are in its summary already: these are the ones from before.
  const setAsideNow = status.rejected - before.rejected + status.faulted - before.faulted;
  printFlushWarnings(stateDir, { setAside: Math.max(0, setAside - setAsideNow), droppedNow, stuck });
  // What this run saw counts even when status.json could not be written (a full disk).
  const clean = waiting === 0 && setAside === 0 && stuck === 0 && droppedNow === 0 &&
    status.rejected === before.rejected && status.faulted === before.faulted && report.rejected === 0 &&
    report.faulted === 0;
  return clean ? 0 : 1;
}

/**
 * Tries every ping once: here when no sender runs, else by asking the running one (a file it looks for) and
 * following it until it has tried them all, or has left and the rest is done here.
 */
async function flushPasses(runtime: Runtime, config: HookConfig, options: DeliverOptions): Promise<DeliveryReport> {
  const stateDir = config.stateDir!;
  const done = `${stateDir}/${STATE_LAYOUT.flushDone}`;
  await (await runtime.fs()).rm(done, { force: true });
  let report = await deliverSpool(runtime, config, options);
  if (report.busy) {
    await runtime.createPrivateFile(`${stateDir}/${STATE_LAYOUT.flushRequest}`, "").catch(() => false);
    while (report.busy && !options.stopped?.() && await runtime.lstat(done) === undefined) {
      await sleep(200);
      await options.progress?.();
      // A sender that left (or died) meanwhile: do the rest here.
      if (!(await senderIsRunning(runtime, stateDir))) report = await deliverSpool(runtime, config, options);
    }
  }
  await (await runtime.fs()).rm(done, { force: true });
  return report;
}

/** What a flush leaves for the user to act on: pings set aside before, dropped now, or stuck mid-send. */
function printFlushWarnings(stateDir: string, left: { setAside: number; droppedNow: number; stuck: number }): void {
  const { setAside, droppedNow, stuck } = left;
  if (setAside > 0) {
    console.log(
      `${setAside} ping${
        setAside === 1 ? " was" : "s were"
      } set aside earlier in "${stateDir}/${STATE_LAYOUT.failed}": ` +
        `once the cause is fixed, run flush --retry-failed to send ${setAside === 1 ? "it" : "them"} again.`,
    );
  }
  if (droppedNow > 0) {
    console.log(
      `${droppedNow} ping${droppedNow === 1 ? " was" : "s were"} dropped during this flush without being sent ` +
        `(see "So far" above): check the state folder's disk, then run doctor.`,
    );
  }
  if (stuck > 0) {
    console.log(
      `${stuck} ping${stuck === 1 ? " is" : "s are"} stuck mid-send in "${stateDir}/${STATE_LAYOUT.spool}" ` +
        `(a sender stopped while sending): run flush again; if they stay, check the disk and run doctor.`,
    );
  }
}

const droppedCount = ({ dropped }: { dropped: Record<"too_many" | "too_old" | "unreadable", number> }): number =>
  dropped.too_many + dropped.too_old + dropped.unreadable;

/**
 * On a terminal, a line that shows a long flush going: pings delivered, left, and the rate; elsewhere nothing.
 * Called with `last`, it ends the line.
 */
function flushProgress(runtime: Runtime, stateDir: string, deliveredBefore: number): (last?: boolean) => Promise<void> {
  const terminal = runtime.terminal();
  const started = Date.now();
  let shown = false;
  return async (last = false) => {
    if (terminal === undefined || (!last && Date.now() - started < 1000)) return;
    if (last) {
      if (shown) terminal.write("\n");
      return;
    }
    const delivered = (await readStatus(runtime, stateDir)).delivered - deliveredBefore;
    if (delivered < 0) return;
    const left = (await (await runtime.fs()).readdir(`${stateDir}/${STATE_LAYOUT.spool}`).catch(() => [] as string[]))
      .filter((name) => name.endsWith(".json")).length;
    const rate = delivered / ((Date.now() - started) / 1000);
    // While nothing goes, say why: the tracker's last answer.
    const status = await readStatus(runtime, stateDir);
    const stalled = rate === 0 && status.last_error !== undefined && Date.parse(status.last_error.at) >= started
      ? `; waiting: ${terminalSafe(withoutStop(status.last_error.reason).slice(0, 100), true)}`
      : "";
    terminal.write(`\r\x1b[KFlushing: ${delivered} delivered, ${left} left (${rate.toFixed(0)} pings/s)${stalled}`);
    shown = true;
  };
}

function flushSummary(report: DeliveryReport, stateDir: string): string {
  const { status } = report;
  const lines = [`Delivered ${report.delivered} ping${report.delivered === 1 ? "" : "s"} now.`];
  if (report.rejected > 0) {
    lines.push(
      `${report.rejected} refused by the tracker (${
        withoutStop(status.last_error?.reason ?? "")
      }): check the ping URL, then run ` +
        `install --url again and flush --retry-failed; kept in "${stateDir}/${STATE_LAYOUT.failed}".`,
    );
  }
  if (report.faulted > 0) {
    lines.push(`${report.faulted} set aside in "${stateDir}/${STATE_LAYOUT.failed}" after failing here repeatedly.`);
  }
  if (report.waiting > 0) {
    const why = status.last_error === undefined ? "" : `; last error: ${withoutStop(status.last_error.reason)}`;
    lines.push(`${report.waiting} still waiting to be retried${why}.`);
  }
  const dropped = status.dropped.too_many + status.dropped.too_old + status.dropped.unreadable;
  lines.push(
    `So far: ${status.delivered} delivered, ${status.rejected} refused, ${dropped} dropped ` +
      `(${status.dropped.too_many} over the spool limit, ${status.dropped.too_old} too old, ${status.dropped.unreadable} unreadable).`,
  );
  return lines.join("\n");
}

/**
 * The launcher starts a command from "/" (so that no version manager's shim picks the runtime by the folder it was
 * typed in) and names that folder in `TELEMHQ_EVENT_DIR`: the command runs there, as typed.
 */
function enterCallerFolder(runtime: Runtime): void {
  const dir = runtime.env("TELEMHQ_EVENT_DIR");
  if (dir !== undefined && isAbsolutePath(dir) && runtime.cwd() === "/") runtime.chdir(dir);
}

/**
 * `status`: what the hook is doing now, changing nothing: the pings waiting
 * and whether a sender is delivering them, the last delivery and the totals,
 * and pings set aside. Exits 1 when pings wait with no sender, or were set aside.
 *
 * @param runtime The runtime adapter.
 * @param args No options.
 * @returns The exit code.
 */
async function statusCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  parseArgs(args, [], []);
  const { config, state } = await loadConfig(runtime);
  if (state.problem !== undefined) throw new CommandError(`Cannot read the status: ${state.problem}.`);
  const stateDir = config.stateDir;
  if (stateDir === undefined) throw new CommandError("Cannot read the status: no state directory. Set HOME.");
  if (await runtime.lstat(stateDir) === undefined) {
    console.log(`No ping spooled yet: the state directory "${stateDir}" does not exist (the first event creates it).`);
    return 0;
  }
  const spool = new Spool(await runtime.fs(), stateDir, config);
  const [status, waiting, setAside, running] = await Promise.all([
    readStatus(runtime, stateDir),
    spool.waiting(),
    spool.failedEntries().then((entries) => entries.length),
    senderIsRunning(runtime, stateDir),
  ]);
  const sender = !running ? "no sender running" : waiting > 0 ? "a sender is delivering" : "a sender is running, idle";
  const lines = [
    `${waiting} ping${waiting === 1 ? "" : "s"} waiting; ${sender}.`,
    status.last_delivered_at === undefined ? "Nothing delivered yet." : `Last delivery: ${status.last_delivered_at}.`,
    flushSummary({ delivered: 0, rejected: 0, faulted: 0, waiting: 0, status, busy: false }, stateDir)
      .split("\n").pop()!,
  ];
  if (status.last_error !== undefined) {
    lines.push(`Last failed attempt: ${status.last_error.at}, ${withoutStop(status.last_error.reason)}.`);
  }
  if (waiting > 0 && !running) lines.push("Run flush to send the waiting pings now.");
  if (setAside > 0) {
    lines.push(
      `${setAside} set aside in "${stateDir}/${STATE_LAYOUT.failed}": once the cause is fixed (doctor says what it ` +
        `is), run flush --retry-failed.`,
    );
  }
  console.log(terminalSafe(lines.join("\n")));
  return (waiting > 0 && !running) || setAside > 0 ? 1 : 0;
}

/**
 * `log`: prints the pings delivered, newest first: when, the tracker's answer, the exact body sent (and a note, when
 * there is one); `--json`, one JSON object per line (`delivered_at`, `status`, `ping`, `note`).
 *
 * @param runtime The runtime adapter.
 * @param args `[--json] [--limit N]`.
 * @returns The exit code.
 */
async function logCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  const values = parseArgs(args, ["--limit"], ["--json"]);
  const limit = Number(values["--limit"] ?? 1000);
  if (!Number.isInteger(limit) || limit < 1) {
    throw new CommandError(`Cannot show the log: --limit "${values["--limit"]}" is not a whole number above 0.`, 2);
  }
  const { config, state } = await loadConfig(runtime);
  if (state.problem !== undefined) throw new CommandError(`Cannot show the log: ${state.problem}.`);
  if (config.stateDir === undefined) throw new CommandError("Cannot show the log: HOME is not set.");
  const records = await readJournal(runtime, config.stateDir, limit);
  if (records === undefined) {
    throw new CommandError(`Cannot show the log: cannot read "${config.stateDir}/${STATE_LAYOUT.journal}".`);
  }
  for (const record of records) {
    // The body is JSON as sent; anything else in the file (a tampered line) is shown escaped, never raw.
    const ping = attempt(() => JSON.parse(record.body), undefined);
    const note = typeof record.note === "string" ? record.note : undefined;
    console.log(
      values["--json"]
        ? JSON.stringify({ delivered_at: record.delivered_at, status: record.status, ping: ping ?? record.body, note })
        : terminalSafe(`${record.delivered_at}  ${record.status}  ${record.body}${note ? `  (${note})` : ""}`, true),
    );
  }
  if (!values["--json"]) {
    console.error(
      records.length === 0
        ? "No ping was delivered yet."
        : `${records.length} ping${records.length === 1 ? "" : "s"}, newest first.`,
    );
  }
  return 0;
}

/**
 * `command`: prints the hook command for settings.json: this runtime and this
 * file, by absolute path (hooks started from IDEs and desktop apps get a minimal
 * PATH), through the launcher beside it (the fast path), or with `--direct`
 * the runtime's own command line, with the permissions `install` would give it.
 *
 * @param runtime The runtime adapter.
 * @param args The arguments after `command`.
 * @returns The exit code.
 */
async function printHookCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  const values = parseArgs(args, [], ["--direct"]);
  const { config } = await loadConfig(runtime);
  if (config.stateDir === undefined) {
    throw new CommandError("Cannot print the hook command: no state directory. Set HOME or TELEMHQ_STATE_DIR.");
  }
  if (runtime.scriptPath === undefined) {
    throw new CommandError("Cannot print the hook command: this hook does not run from a local file. Save it first.");
  }
  const narrow = narrowAccess((name) => runtime.env(name), config.pingUrl);
  if (runtime.kind === "deno" && narrow === undefined) {
    // Deno's permissions name the tracker's host: without it, the command would allow every host.
    throw new CommandError(
      "Cannot print the hook command for Deno: no ping URL to take the tracker's host from. " +
        "Run install --url ..., or set TELEMHQ_PING_URL.",
    );
  }
  if (values["--direct"]) {
    const hook = hookArgv(runtime.kind, runtime.execPath, runtime.scriptPath, config.stateDir, narrow);
    console.log(hook.map(shellWord).join(" "));
    return 0;
  }
  // The launcher beside the hook: install's layout (~/.claude/hooks/telemhq.sh), or a clone's (hooks/telemhq.sh).
  const folder = parentFolder(runtime.scriptPath, hostPathStyle()) ?? "/";
  let launcher: string | undefined;
  for (const candidate of [`${folder}/${LAUNCHER_FILE_NAME}`, `${folder}/hooks/${LAUNCHER_FILE_NAME}`]) {
    if ((await runtime.lstat(candidate))?.kind === "file") {
      launcher = candidate;
      break;
    }
  }
  if (launcher === undefined) {
    throw new CommandError(
      `Cannot print the hook command: no ${LAUNCHER_FILE_NAME} beside ${runtime.scriptPath}. Run install, which ` +
        `writes it, or give --direct for a command without the fast path.`,
    );
  }
  // The runtime by the path PATH names (a link an upgrade keeps), as install records it.
  const binary = await findRuntimeBinary(runtime, runtime.kind) ?? runtime.execPath;
  console.log(launcherCommand(launcher, launcherArgs(runtime.kind, binary, runtime.scriptPath, narrow?.pingHost)));
  return 0;
}

/** `ping-test`: sends one test ping with this process's permissions and prints the result as JSON (for doctor). */
async function pingTest(runtime: Runtime): Promise<number> {
  const { config } = await loadConfig(runtime);
  if (config.pingUrl === undefined) throw new CommandError("Cannot send a test ping: no ping URL.");
  const url = parsePingUrl(config.pingUrl);
  const result = await sendPing(url, await testPayload(runtime, config), config.timeoutMs);
  console.log(JSON.stringify(result));
  return result.outcome === "delivered" ? 0 : 1;
}

/** Runs a command people type: its help, its Deno permissions, and one clear line for any failure. */
async function runCommand(runtime: Runtime, name: string, command: Command, args: readonly string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(commandHelp(runtime, command));
    return 0;
  }
  const missing = runtime.missingPermissions();
  if (missing.length > 0) {
    throw new CommandError(
      `Cannot run ${name}: Deno was not given the permissions it needs (${missing.join(", ")}). ` +
        `Run it as: deno run -A ${shellWord(runtime.scriptPath ?? "hook.ts")} ${name}`,
    );
  }
  return await command.run(runtime, args);
}

/**
 * The command line: with no arguments, the hook (what Claude Code runs);
 * otherwise a command (see `--help`). Ends the process: the hook always exits
 * 0 and prints nothing (it must never disturb Claude Code); a command prints
 * one clear line and exits non-zero on any failure (2 for a usage mistake).
 * Run when this file is the main module; the npm build's bin calls it.
 *
 * @returns Never returns: exits with the command's code.
 *
 * @example
 * ```ts ignore
 * await runCommandLine();
 * ```
 */
export async function runCommandLine(): Promise<void> {
  const runtime = detectRuntime();
  const [name, ...args] = runtime.args;
  let code: number;
  if (name === undefined || name === "--detached") {
    // The hook reports an error by its code, never its stack: failing lookups (a file that is not there yet) are
    // part of its every run, and stacks are what makes them cost.
    (Error as { stackTraceLimit?: number }).stackTraceLimit = 0;
    const problem = await runHook(runtime);
    if (problem !== undefined && runtime.env("TELEMHQ_HOOK_DEBUG") === "1") {
      // Debug output goes to stderr only: Claude Code reads hook stdout.
      console.error(`TelemHQ hook: ${problem}`);
    }
    runtime.exit(0);
  }
  try {
    if (name === "deliver") {
      // The detached sender: no terminal, nobody to tell; problems land in status.json. Started by a
      // hook that ignores SIGTERM and SIGHUP (see launcherScript), it must still be easy to stop.
      runtime.exitOnTermination();
      await deliverSpool(runtime, (await loadConfig(runtime)).config, { lockToken: claimTokenIn(args) })
        .catch(() => {});
      code = 0;
    } else if (name === "ping-test") {
      code = await pingTest(runtime);
    } else if (name === "--help" || name === "-h" || name === "help") {
      console.log(usageText(runtime));
      code = 0;
    } else if (Object.hasOwn(COMMANDS, name)) {
      enterCallerFolder(runtime);
      code = await runCommand(runtime, name, COMMANDS[name], args);
    } else {
      throw new CommandError(`Unknown command "${name}". Run with --help to see the commands.`, 2);
    }
  } catch (error) {
    // One line, never a stack, never a token; an unexpected error says what failed, not its text.
    const why = describeError(error);
    const message = error instanceof CommandError
      ? error.message
      : error instanceof HookSkip
      ? `Cannot ${name}: ${error.message}.`
      : why === "ENOSPC" || why === "EDQUOT"
      ? `Cannot ${name}: the disk of "${stateFolderName(runtime)}" is full (${why}). Free some space, then try again.`
      : why === "EROFS"
      ? `Cannot ${name}: "${stateFolderName(runtime)}" is on a read-only disk (EROFS).`
      : `Cannot ${name}: unexpected error (${why}). Run doctor to check the installation.`;
    console.error(terminalSafe(redactSecrets(message), true));
    code = error instanceof CommandError ? error.exitCode : 1;
  }
  runtime.exit(code);
}

/** The state folder, for a message: the one the environment names, else where it would be. */
function stateFolderName(runtime: Runtime): string {
  return stateDirectory((name) => runtime.env(name)) ?? "the state folder";
}

/**
 * Whether this file is the program being run. Deno, Bun and Node 24.2+ say so
 * in `import.meta.main`; older Node (the npm build) is asked which script it
 * started, through any symlink npm put on the way.
 */
async function isMainModule(): Promise<boolean> {
  const main = (import.meta as { main?: boolean }).main;
  if (main !== undefined) return main;
  const entry = (globalThis as { process?: { argv?: string[] } }).process?.argv?.[1];
  const self = new URL(import.meta.url);
  if (entry === undefined || self.protocol !== "file:") return false;
  const { realpath } = await nodeFs();
  return (await realpath(entry).catch(() => entry)) === fileUrlPath(self);
}

if (await isMainModule()) {
  await runCommandLine();
}
