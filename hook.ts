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
 *  1. src/input.ts       Reading the event.
 *  2. src/events.ts      Claude Code's hook events, as data.
 *  3. src/sha256.ts      SHA-256 as hex.
 *  4. src/payload.ts     Building the ping.
 *  5. src/runtime.ts     The one place that knows which runtime runs the hook.
 *  6. src/config.ts      The hook's settings.
 *  7. src/ping_url.ts    The ping URL.
 *  8. src/launch.ts      How the hook is started.
 *  9. src/spool.ts       The spool.
 * 10. src/lock.ts        The sender's lock.
 * 11. src/send.ts        One ping request.
 * 12. src/sender.ts      The sender.
 * 13. src/run_hook.ts    The hook itself, what Claude Code runs for each event.
 * 14. src/transcript.ts  Reading Claude Code's transcripts (JSON lines) from the end.
 * 15. src/prices.ts      What a response costs.
 * 16. src/usage.ts       Tokens and cost of a turn (or a subagent run), from its transcript lines.
 * 17. src/ledger.ts      Adding usage to a ping, once, just before it is sent.
 * 18. src/cli_args.ts    The commands' shared parts.
 * 19. src/settings.ts    Claude Code's settings files, as `install`, `uninstall` and `doctor` use them.
 * 20. src/install.ts     `install` and `uninstall`.
 * 21. src/doctor.ts      `doctor`.
 * 22. src/cli.ts         The command line.
 *
 * @module
 */

// ---------------------------------------------------------------------------
// src/input.ts
//
// Reading the event: the bytes Claude Code writes to the hook's stdin, up to
// a limit, parsed into an object, and the reasons the hook skips an event.
//
// Owns: `HookSkip`, stdin reading and event parsing. Uses: nothing.

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
  SessionEnd: { usage: "session", install: { when: "always" } },
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
export const INSTALL_EVENTS: Readonly<Record<"always" | "toolActivity", readonly (readonly [string, string?])[]>> = {
  always: installEvents("always"),
  toolActivity: installEvents("toolActivity"),
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
// SHA-256 as hex: through Web Crypto, and in plain JavaScript for runtimes
// where loading a crypto module costs more than hashing a path.
//
// Owns: the two SHA-256 implementations. Uses: web APIs only.

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
// src/payload.ts
//
// Building the ping: the allowlist of fields that may leave the machine, and
// the builder that fills them from an event, checking each value's type and
// shape. Prompts, tool input and output, error text, assistant text and paths
// are never copied: paths are hashed, the assistant's message is counted.
//
// Owns: `Payload` and its field list, `buildPayload`, `pingId`, the field
// rules. Uses: sha256, events, input.

/** Version of this hook, sent in every ping as `hook_version`. */
export const HOOK_VERSION = "0.1.0";

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
  /** API responses in the turn (or subagent), each counted once. */
  api_requests?: number;
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
  /** When the hook received the event, ISO 8601 UTC. */
  occurred_at: string;
  /** Version of this hook. */
  hook_version: string;
  /** Runtime that ran the hook, for example `"deno/2.9.6"`. */
  runtime: string;
}

/** Every {@linkcode Payload} field, once: the compiler refuses a field missing here or not in `Payload`. */
const PAYLOAD_FIELD_SET: { readonly [Field in keyof Payload]-?: true } = {
  provider: true,
  tool: true,
  status: true,
  event: true,
  project: true,
  session_id: true,
  tool_name: true,
  tool_use_id: true,
  permission_mode: true,
  cwd_hash: true,
  transcript_path_hash: true,
  error: true,
  last_assistant_message_chars: true,
  ping_id: true,
  prompt_id: true,
  agent_id: true,
  agent_type: true,
  duration_ms: true,
  is_interrupt: true,
  stop_hook_active: true,
  source: true,
  reason: true,
  trigger: true,
  tool_calls: true,
  input_tokens: true,
  output_tokens: true,
  cache_creation_input_tokens: true,
  cache_read_input_tokens: true,
  total_tokens: true,
  model: true,
  models: true,
  cost_usd: true,
  git_branch: true,
  api_requests: true,
  session_input_tokens: true,
  session_output_tokens: true,
  session_cache_creation_input_tokens: true,
  session_cache_read_input_tokens: true,
  session_total_tokens: true,
  session_cost_usd: true,
  session_api_requests: true,
  session_turns: true,
  occurred_at: true,
  hook_version: true,
  runtime: true,
};

/** The names of every field a ping may carry, in the order of {@linkcode Payload}: the allowlist. */
export const PAYLOAD_FIELDS: readonly (keyof Payload)[] = Object.keys(PAYLOAD_FIELD_SET) as (keyof Payload)[];

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
export const ENUM_FIELDS: Readonly<Record<"source" | "reason" | "trigger", ReadonlySet<string>>> = {
  source: new Set(["startup", "resume", "clear", "compact", "fork"]),
  reason: new Set(["clear", "resume", "logout", "prompt_input_exit", "other", "bypass_permissions_disabled"]),
  trigger: new Set(["manual", "auto", "init", "maintenance"]),
};

// Ids, tool names and modes are machine tokens; anything else in those fields
// (free text, a path, an object) is dropped rather than sent.
const TOKEN_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}$/;
const EVENT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const MAX_PROJECT_CHARS = 255;

/**
 * Hashes a string the way the reference script does: the first 12 hex digits
 * of the SHA-256 of its UTF-8 bytes.
 *
 * @param value The string to hash, for example a path.
 * @param sha256Hex The SHA-256 to use; Web Crypto's by default.
 * @returns 12 lowercase hex digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(await shortHash("abc"), "ba7816bf8f01");
 * ```
 */
export async function shortHash(value: string, sha256Hex: Sha256Hex = webCryptoSha256Hex): Promise<string> {
  return (await sha256Hex(value)).slice(0, 12);
}

/**
 * Counts the Unicode code points of a string, as Python's `len()` does.
 * A JavaScript string's `length` counts UTF-16 units, so a character outside
 * the Basic Multilingual Plane (an emoji) counts twice there.
 *
 * @param text Any string; lone surrogates count as one each, as in Python.
 * @returns The number of code points.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(countCodePoints("a😀"), 2); // while "a😀".length is 3
 * ```
 */
export function countCodePoints(text: string): number {
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
 * working directory, as Python's `pathlib.Path(cwd).name`, or `"unknown"`.
 *
 * @param cwd A POSIX path.
 * @returns Its last component (at most 255 characters), or `"unknown"` for `/` and `.`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(projectName("/home/dev/projects/api/"), "api");
 * ```
 */
export function projectName(cwd: string): string {
  // pathlib drops empty and "." components, keeps ".." as a name.
  const parts = cwd.split("/").filter((part) => part !== "" && part !== ".");
  const name = parts.length > 0 ? parts[parts.length - 1] : "";
  return name === "" ? "unknown" : name.slice(0, MAX_PROJECT_CHARS);
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
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(stringField({ cwd: "/x" }, "cwd"), "/x");
 * assert.equal(stringField({ cwd: 3 }, "cwd"), undefined);
 * ```
 */
function stringField(input: HookInput, key: string): string | undefined {
  const value = input[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * A field that must be a machine token (an id, a tool name, a mode), or undefined.
 *
 * @param input The event.
 * @param key The field.
 * @returns The token, when it has a token's shape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(tokenField({ tool_name: "Bash" }, "tool_name"), "Bash");
 * assert.equal(tokenField({ tool_name: "rm -rf ~" }, "tool_name"), undefined);
 * ```
 */
function tokenField(input: HookInput, key: string): string | undefined {
  const value = stringField(input, key);
  return value !== undefined && TOKEN_PATTERN.test(value) ? value : undefined;
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
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(eventName({ hook_event_name: "Stop" }), "Stop");
 * assert.equal(eventName({}), "ClaudeCode");
 * ```
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
 * subagent (`agent_id`), or the prompt for events that fire once per prompt.
 * Events without such an id (SessionStart, SessionEnd, Notification, ...) add
 * their kind and the second they occurred in.
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
  } else {
    parts.push(
      promptId ?? "",
      enumField(input, "source") ?? enumField(input, "reason") ?? enumField(input, "trigger") ?? "",
      String(Math.floor(occurredAt.getTime() / 1000)),
    );
  }
  return (await sha256Hex(parts.join("\u0000"))).slice(0, 32);
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
    project: projectName(cwd),
    session_id: tokenField(input, "session_id"),
    tool_name: tokenField(input, "tool_name"),
    tool_use_id: tokenField(input, "tool_use_id"),
    permission_mode: tokenField(input, "permission_mode"),
    cwd_hash: cwd === "" ? undefined : await shortHash(cwd, hash),
    transcript_path_hash: transcriptPath === undefined ? undefined : await shortHash(transcriptPath, hash),
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
    occurred_at: occurredAt.toISOString(),
    hook_version: HOOK_VERSION,
    runtime: context.runtime,
  };
  return omitUndefined(payload);
}

/**
 * Removes the keys whose value is undefined, in place: they would not be sent anyway.
 *
 * @param value An object.
 * @returns The same object.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(omitUndefined({ a: 1, b: undefined }), { a: 1 });
 * ```
 */
function omitUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}

// ---------------------------------------------------------------------------
// src/runtime.ts
//
// The one place that knows which runtime runs the hook: Deno, Bun or Node.
// The adapter says which it is and where its binary is, and gives the rest of
// the hook its environment, stdin, hash, processes and files. Each runtime
// uses its own calls on the hook's hot path (every Claude Code event pays for
// it); everything else reads and writes files through `node:fs/promises`,
// loaded here and nowhere else.
//
// Owns: runtime detection, the adapters, the file-system layer (`nodeFs`,
// JSON files). Uses: sha256.

/** The runtimes the hook runs under. */
export type RuntimeKind = "deno" | "bun" | "node";

/** Node's promise-based file API (`node:fs/promises`), which Deno, Bun and Node all provide. */
export type FsPromises = typeof import("node:fs/promises");

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
  /** The process's stdin as a byte stream. */
  stdin(): AsyncIterable<Uint8Array>;
  /** SHA-256 as hex, by the cheapest means this runtime has. */
  sha256Hex: Sha256Hex;
  /** The full file API, loaded on first use (off the hook's hot path). */
  fs(): Promise<FsPromises>;
  /** Creates or replaces a file readable by this user only (0600). */
  writePrivateFile(path: string, text: string): Promise<void>;
  /** Creates a directory and its parents, readable by this user only (0700). */
  makePrivateDirectory(path: string): Promise<void>;
  /** A file's modification time in milliseconds, or undefined when it does not exist. */
  modifiedAt(path: string): Promise<number | undefined>;
  /** Creates a private file only if nothing exists at `path`: true when created, false when something exists; rejects on other errors. */
  createExclusive(path: string, text: string): Promise<boolean>;
  /** A file's text, or undefined when it cannot be read. */
  readTextFile(path: string): Promise<string | undefined>;
  /** Starts a process in its own session with stdio closed; resolves once it is started, not when it ends. */
  startDetached(argv: readonly string[]): Promise<void>;
  /** Whether this process may reach any host (Deno's narrowed flags say no); always true under Bun and Node. */
  mayReachAnyHost(): boolean;
  /** Ends the process. */
  exit(code: number): never;
}

interface DenoLike {
  version: { deno: string };
  args: string[];
  env: { get(name: string): string | undefined };
  cwd(): string;
  execPath(): string;
  stdin: { readSync(buffer: Uint8Array): number | null };
  writeTextFileSync(path: string, data: string, options: { mode: number; createNew?: boolean }): void;
  mkdirSync(path: string, options: { recursive: boolean; mode: number }): void;
  statSync(path: string): { mtime: Date | null };
  readTextFileSync(path: string): string;
  permissions: { querySync(descriptor: { name: string }): { state: string } };
  Command: new (command: string, options: Record<string, unknown>) => { spawn(): { unref(): void } };
  exit(code: number): never;
}

interface BunLike {
  stdin: { stream(): AsyncIterable<Uint8Array> };
  write(path: string, data: string): Promise<number>;
  file(path: string): { exists(): Promise<boolean>; lastModified: number; text(): Promise<string> };
  spawn(argv: readonly string[], options: Record<string, unknown>): { unref(): void };
}

interface ProcessLike {
  getBuiltinModule?(id: string): unknown;
  versions: Record<string, string | undefined>;
  argv: string[];
  execPath: string;
  env: Record<string, string | undefined>;
  cwd(): string;
  umask(mask: number): number;
  exit(code: number): never;
}

const scope = globalThis as { Deno?: DenoLike; Bun?: BunLike; process?: ProcessLike };

/** A built-in module: synchronously where the runtime hands them out (Node 20.16+, Bun), else by import(). */
function builtin<T>(id: string, load: () => Promise<T>): Promise<T> {
  const module = scope.process?.getBuiltinModule?.(id);
  return module !== undefined ? Promise.resolve(module as T) : load();
}

let fsModule: Promise<FsPromises> | undefined;

/**
 * `node:fs/promises`, loaded once: the file API of everything off the hook's
 * hot path (the sender, the usage reader, the commands).
 *
 * @returns The module.
 *
 * @example
 * ```ts
 * const fs = await nodeFs();
 * await fs.stat(".");
 * ```
 */
function nodeFs(): Promise<FsPromises> {
  return fsModule ??= builtin("node:fs/promises", () => import("node:fs/promises"));
}

/** Reads a synchronous reader to its end, in chunks. */
async function* readSyncChunks(reader: { readSync(buffer: Uint8Array): number | null }): AsyncIterable<Uint8Array> {
  while (true) {
    const buffer = new Uint8Array(1 << 20);
    const count = reader.readSync(buffer);
    if (count === null) return;
    yield buffer.subarray(0, count);
  }
}

/** The path of this script when it runs from a local file: in the assembled hook.ts, hook.ts itself. */
function thisScriptPath(): string | undefined {
  const url = new URL(import.meta.url);
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : undefined;
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
 *
 * @example
 * ```ts
 * await sleep(1);
 * ```
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

async function createExclusiveWithFs(path: string, text: string): Promise<boolean> {
  try {
    await (await nodeFs()).writeFile(path, text, { flag: "wx", mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === "EEXIST") return false;
    throw error;
  }
}

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

function denoRuntime(deno: DenoLike): Runtime {
  return {
    kind: "deno",
    name: `deno/${deno.version.deno}`,
    execPath: deno.execPath(),
    scriptPath: thisScriptPath(),
    args: deno.args,
    env: (name) => attempt(() => deno.env.get(name), undefined),
    cwd: () => attempt(() => deno.cwd(), ""),
    // Deno's synchronous calls: its async ops and stdin stream cost 3-7 ms each to set up.
    stdin: () => readSyncChunks(deno.stdin),
    sha256Hex: webCryptoSha256Hex,
    fs: nodeFs,
    writePrivateFile: (path, text) => settle(() => deno.writeTextFileSync(path, text, { mode: 0o600 })),
    makePrivateDirectory: (path) => settle(() => deno.mkdirSync(path, { recursive: true, mode: 0o700 })),
    modifiedAt: (path) => settle(() => attempt(() => deno.statSync(path).mtime?.getTime(), undefined)),
    createExclusive: (path, text) =>
      settle(() => {
        try {
          deno.writeTextFileSync(path, text, { mode: 0o600, createNew: true });
          return true;
        } catch (error) {
          if ((error as Error).name === "AlreadyExists") return false;
          throw error;
        }
      }),
    readTextFile: (path) => settle(() => attempt(() => deno.readTextFileSync(path), undefined)),
    startDetached: (argv) =>
      settle(() => {
        const quiet = { stdin: "null", stdout: "null", stderr: "null", detached: true };
        new deno.Command(argv[0], { args: argv.slice(1), ...quiet }).spawn().unref();
      }),
    mayReachAnyHost: () => attempt(() => deno.permissions.querySync({ name: "net" }).state === "granted", true),
    exit: (code) => deno.exit(code),
  };
}

/** What Bun and Node share: both are `process`. */
function processBasics(process: ProcessLike) {
  return {
    execPath: process.execPath,
    scriptPath: thisScriptPath(),
    args: process.argv.slice(2),
    env: (name: string) => process.env[name],
    cwd: () => attempt(() => process.cwd(), ""),
    fs: nodeFs,
    makePrivateDirectory: async (path: string) => {
      await (await nodeFs()).mkdir(path, { recursive: true, mode: 0o700 });
    },
    mayReachAnyHost: () => true,
    exit: (code: number) => process.exit(code),
  };
}

function bunRuntime(bun: BunLike, process: ProcessLike): Runtime {
  // Files Bun.write creates, and the folders it creates for them, are this user's only.
  process.umask(0o077);
  return {
    ...processBasics(process),
    kind: "bun",
    name: `bun/${process.versions.bun}`,
    // Bun's process.stdin (its Node stream emulation) costs about 25 ms to start; Bun.stdin does not.
    stdin: () => bun.stdin.stream(),
    sha256Hex: webCryptoSha256Hex,
    writePrivateFile: async (path, text) => {
      await bun.write(path, text);
    },
    modifiedAt: async (path) => {
      const file = bun.file(path);
      return (await file.exists()) ? file.lastModified : undefined;
    },
    // Bun.write has no exclusive create; node:fs does, off the common path (only to start a sender).
    createExclusive: createExclusiveWithFs,
    readTextFile: (path) => bun.file(path).text().catch(() => undefined),
    startDetached: (argv) =>
      settle(() => bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "ignore", detached: true }).unref()),
  };
}

function nodeRuntime(process: ProcessLike): Runtime {
  // Node's Web Crypto costs about 11 ms to set up and node:crypto about 5 to load, more than
  // hashing a path in plain JavaScript; its process.stdin stream about 9 ms, a plain read of
  // descriptor 0 next to nothing.
  const syncFs = builtin("node:fs", () => import("node:fs"));
  void nodeFs();
  return {
    ...processBasics(process),
    kind: "node",
    name: `node/${process.versions.node}`,
    stdin: async function* () {
      yield (await syncFs).readFileSync(0);
    },
    sha256Hex: (text) => settle(() => sha256HexSync(text)),
    writePrivateFile: async (path, text) => {
      await (await nodeFs()).writeFile(path, text, { mode: 0o600 });
    },
    modifiedAt: async (path) => {
      try {
        return (await (await nodeFs()).stat(path)).mtimeMs;
      } catch {
        return undefined;
      }
    },
    createExclusive: createExclusiveWithFs,
    readTextFile: async (path) => (await nodeFs()).readFile(path, "utf8").catch(() => undefined),
    startDetached: async (argv) => {
      const { spawn } = await builtin("node:child_process", () => import("node:child_process"));
      spawn(argv[0], argv.slice(1), { detached: true, stdio: "ignore" }).unref();
    },
  };
}

/**
 * Reads a JSON file; undefined when it is missing, unreadable or not JSON.
 *
 * @param fs The file API.
 * @param path The file.
 * @returns The parsed value, unchecked: callers check its shape.
 *
 * @example
 * ```ts
 * const status = await readJsonFile(await nodeFs(), "/nonexistent/status.json"); // undefined
 * ```
 */
async function readJsonFile(fs: FsPromises, path: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(path, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * Writes a JSON file atomically: a private temporary file beside it, then a
 * rename, so a reader never sees half of it.
 *
 * @param fs The file API.
 * @param path The file.
 * @param value Any JSON value.
 *
 * @example
 * ```ts ignore
 * await writeJsonAtomically(await nodeFs(), `${stateDir}/status.json`, { delivered: 1 });
 * ```
 */
async function writeJsonAtomically(fs: FsPromises, path: string, value: unknown): Promise<void> {
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  await fs.writeFile(temporary, JSON.stringify(value) + "\n", { mode: 0o600 });
  await fs.rename(temporary, path);
}

// ---------------------------------------------------------------------------
// src/config.ts
//
// The hook's settings: read from the environment (the README's table), with
// the ping URL saved by `install` as a fallback, and the folders it works in.
//
// Owns: `HookConfig`, the environment variables read, Claude Code's folder and
// the state directory. Uses: runtime, prices, launch (types).

/** Every environment variable the hook reads (Deno's `--allow-env` list). */
export const ENV_NAMES: readonly string[] = [
  "HOME",
  "CLAUDE_CONFIG_DIR",
  "TELEMHQ_PING_URL",
  "TELEMHQ_HOOK_DEBUG",
  "TELEMHQ_STATE_DIR",
  "TELEMHQ_TIMEOUT_MS",
  "TELEMHQ_SPOOL_MAX_PINGS",
  "TELEMHQ_SPOOL_MAX_AGE_DAYS",
  "TELEMHQ_RETRY_BASE_MS",
  "TELEMHQ_RETRY_MAX_MS",
  "TELEMHQ_SENDER_IDLE_MS",
  "TELEMHQ_PRICES",
];

/** Settings read from the environment. */
export interface HookConfig {
  /** The raw ping URL, or undefined when not configured. */
  pingUrl?: string;
  /** Where the ping URL came from. */
  pingUrlSource?: "TELEMHQ_PING_URL" | "config file";
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
  /** Model prices: the built-in table with `TELEMHQ_PRICES` laid over it. */
  prices: Record<string, ModelPrice>;
}

/** Looks up an environment variable. */
export type EnvLookup = (name: string) => string | undefined;

/** Default time limit of the ping request, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** The state directory's file names. */
export const STATE_LAYOUT = {
  spool: "spool",
  failed: "failed",
  sessions: "sessions",
  config: "config.json",
  install: "install.json",
  lock: "sender.lock",
  status: "status.json",
  flushRequest: "flush.request",
} as const;

function numberSetting(raw: string | undefined, fallback: number, min: number, max: number): number {
  const value = Number(raw);
  return raw !== undefined && raw.trim() !== "" && Number.isFinite(value)
    ? Math.min(Math.max(Math.round(value), min), max)
    : fallback;
}

/**
 * Claude Code's configuration folder: `CLAUDE_CONFIG_DIR`, else `~/.claude`.
 *
 * @param env Looks up an environment variable.
 * @returns The folder, or undefined when no home is known.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(claudeDirectory((name) => ({ HOME: "/home/me" })[name]), "/home/me/.claude");
 * ```
 */
export function claudeDirectory(env: EnvLookup): string | undefined {
  const config = env("CLAUDE_CONFIG_DIR")?.trim();
  if (config) return config.replace(/\/+$/, "");
  const home = env("HOME")?.trim();
  return home ? `${home.replace(/\/+$/, "")}/.claude` : undefined;
}

/**
 * The state directory: `TELEMHQ_STATE_DIR`, else `telemhq/` in Claude Code's
 * configuration folder (see {@linkcode claudeDirectory}).
 *
 * @param env Looks up an environment variable.
 * @returns The directory, or undefined when neither it nor a home is known.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(stateDirectory((name) => ({ HOME: "/home/me" })[name]), "/home/me/.claude/telemhq");
 * ```
 */
export function stateDirectory(env: EnvLookup): string | undefined {
  const explicit = env("TELEMHQ_STATE_DIR")?.trim();
  if (explicit) return explicit;
  const claudeDir = claudeDirectory(env);
  return claudeDir === undefined ? undefined : `${claudeDir}/telemhq`;
}

/**
 * Reads the hook's settings from the environment; see the README's table.
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
  const pingUrl = env("TELEMHQ_PING_URL")?.trim();
  const day = 24 * 60 * 60 * 1000;
  return {
    pingUrl: pingUrl === "" ? undefined : pingUrl,
    pingUrlSource: pingUrl ? "TELEMHQ_PING_URL" : undefined,
    timeoutMs: numberSetting(env("TELEMHQ_TIMEOUT_MS"), DEFAULT_TIMEOUT_MS, 100, 60_000),
    debug: env("TELEMHQ_HOOK_DEBUG") === "1",
    stateDir: stateDirectory(env),
    spoolMaxPings: numberSetting(env("TELEMHQ_SPOOL_MAX_PINGS"), 10_000, 1, 1_000_000),
    spoolMaxAgeMs: numberSetting(env("TELEMHQ_SPOOL_MAX_AGE_DAYS"), 7, 1, 365) * day,
    retryBaseMs: numberSetting(env("TELEMHQ_RETRY_BASE_MS"), 1000, 10, 60_000),
    retryMaxMs: numberSetting(env("TELEMHQ_RETRY_MAX_MS"), 5 * 60_000, 10, 60 * 60_000),
    senderIdleMs: numberSetting(env("TELEMHQ_SENDER_IDLE_MS"), 30_000, 0, 10 * 60_000),
    prices: priceTable(env("TELEMHQ_PRICES")),
  };
}

/**
 * The settings, with the ping URL from `<state>/config.json` (written by
 * `install`) when `TELEMHQ_PING_URL` is not set: hooks started from IDEs and
 * desktop apps often do not see the shell's environment.
 *
 * @param runtime The runtime adapter.
 * @returns The settings.
 *
 * @example
 * ```ts
 * import { detectRuntime } from "@telemhq/claude-code";
 * const config = await loadConfig(detectRuntime());
 * ```
 */
export async function loadConfig(runtime: Runtime): Promise<HookConfig> {
  const config = readConfig((name) => runtime.env(name));
  if (config.pingUrl !== undefined || config.stateDir === undefined) return config;
  const saved = await runtime.readTextFile(`${config.stateDir}/${STATE_LAYOUT.config}`);
  const url: unknown = saved === undefined ? undefined : attempt(() => JSON.parse(saved).ping_url, undefined);
  if (typeof url === "string" && url.trim() !== "") {
    config.pingUrl = url.trim();
    config.pingUrlSource = "config file";
  }
  return config;
}

/**
 * What Deno's narrow flags for a ping URL are made of, when Claude Code's folder is known.
 *
 * @param env Looks up an environment variable.
 * @param pingUrl The ping URL in force.
 * @returns The tracker's host and Claude Code's folder, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const narrow = narrowAccess((name) => ({ HOME: "/home/me" })[name], "https://telemhq.com/ping/T");
 * assert.deepEqual(narrow, { pingHost: "telemhq.com", claudeDir: "/home/me/.claude" });
 * ```
 */
function narrowAccess(env: EnvLookup, pingUrl: string | undefined): NarrowAccess | undefined {
  const claudeDir = claudeDirectory(env);
  const host = pingUrl === undefined ? undefined : attempt(() => new URL(pingUrl).host, undefined);
  return claudeDir === undefined || host === undefined ? undefined : { pingHost: host, claudeDir };
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
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const url = new URL("https://telemhq.com/ping/abc123");
 * assert.equal(redactMessage("failed: https://telemhq.com/ping/abc123", url), "failed: /<redacted>");
 * ```
 */
function redactMessage(message: string, url: URL): string {
  const secrets = [url.href, url.pathname + url.search, url.pathname, url.username, url.password]
    .filter((secret) => secret.length > 1);
  let redacted = message;
  for (const secret of secrets) redacted = redacted.split(secret).join("/<redacted>");
  return redacted.replace(/[\r\n]+/g, " ");
}

// ---------------------------------------------------------------------------
// src/launch.ts
//
// How the hook is started: the command line that runs it under each runtime
// (Deno's narrow permission flags, Bun's flags), and the shell fast path that
// Claude Code runs, which hands the event to a detached hook in milliseconds.
//
// Owns: `hookArgv`, `denoRunFlags`, `fastPathCommand`, shell quoting.
// Uses: runtime, config.

/** What the narrowest Deno flags are made of: the tracker's host and Claude Code's folder (transcripts). */
export interface NarrowAccess {
  /** The ping URL's host, with its port if it has one. */
  pingHost: string;
  /** Claude Code's configuration folder (`CLAUDE_CONFIG_DIR`, default `~/.claude`). */
  claudeDir: string;
}

/** Bun's flags: no `.env` of the project, no auto-install. */
const BUN_RUN_FLAGS: readonly string[] = ["--no-env-file", "--no-install"];

/**
 * The Deno flags the hook and its sender run with. Narrowed (what `install`
 * writes): the network to the tracker's host only, the environment to the
 * variables the hook reads, reading to Claude Code's folder (transcripts), the
 * state directory and Deno itself, writing to the state directory, and running
 * only Deno (the sender). Without `narrow`: any host, any variable, any file.
 *
 * @param denoPath The Deno binary.
 * @param stateDir The state directory.
 * @param narrow The tracker's host and Claude Code's folder, to narrow the flags.
 * @returns Flags for `deno run`, before the script.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const flags = denoRunFlags("/usr/bin/deno", "/home/me/.claude/telemhq");
 * assert.ok(flags.includes("--allow-write=/home/me/.claude/telemhq"));
 * ```
 */
export function denoRunFlags(denoPath: string, stateDir: string, narrow?: NarrowAccess): string[] {
  if (narrow === undefined) {
    return [
      "--no-config",
      "--no-lock",
      "--no-prompt",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      `--allow-write=${stateDir}`,
      `--allow-run=${denoPath}`,
    ];
  }
  return [
    "--no-config",
    "--no-lock",
    "--no-prompt",
    `--allow-net=${narrow.pingHost}`,
    `--allow-env=${ENV_NAMES.join(",")}`,
    `--allow-read=${[...new Set([narrow.claudeDir, stateDir, denoPath])].join(",")}`,
    `--allow-write=${stateDir}`,
    `--allow-run=${denoPath}`,
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
 * assert.deepEqual(argv, ["/usr/bin/bun", "--no-env-file", "--no-install", "/home/me/.claude/hooks/telemhq.ts"]);
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
 *
 * @example
 * ```ts
 * import { detectRuntime } from "@telemhq/claude-code";
 * const argv = selfCommand(detectRuntime(), ["deliver"], "/home/me/.claude/telemhq");
 * ```
 */
function selfCommand(
  runtime: Runtime,
  args: readonly string[],
  stateDir: string,
  narrow?: NarrowAccess,
): string[] | undefined {
  if (runtime.scriptPath === undefined) return undefined;
  const access = runtime.mayReachAnyHost() ? undefined : narrow;
  return [...hookArgv(runtime.kind, runtime.execPath, runtime.scriptPath, stateDir, access), ...args];
}

/**
 * Quotes a word for a POSIX shell.
 *
 * @param word Any string.
 * @returns The word, quoted only when it needs to be.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(shellWord("/usr/bin/deno"), "/usr/bin/deno");
 * assert.equal(shellWord("it's"), `'it'"'"'s'`);
 * ```
 */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'"'"'`)}'`;
}

/**
 * The shell fast path, for a settings.json hook command: hands the event to
 * `hook.ts --detached` started in its own session, and exits. The shell takes
 * about 2 ms, so this survives where Claude Code does not wait: `async` hooks
 * when a `claude -p` run ends and `StopFailure` in print mode, whose hook
 * processes get SIGTERM 15-25 ms after they start (measured with 2.1.332),
 * before Deno or Bun has even started the script; under load, even a shell
 * may not have forked yet, so it traps SIGTERM for its two milliseconds. The
 * detached hook reads the event from the same pipe (it stays open while the
 * hook holds it), spools the ping and delivers it.
 *
 * @param hookCommand The command that runs `hook.ts` (see {@linkcode hookArgv}).
 * @returns A command line for `sh -c`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const line = fastPathCommand(["/usr/bin/bun", "/home/me/.claude/hooks/telemhq.ts"]);
 * assert.ok(line.includes("setsid /usr/bin/bun /home/me/.claude/hooks/telemhq.ts --detached"));
 * ```
 */
export function fastPathCommand(hookCommand: readonly string[]): string {
  const hook = [...hookCommand, "--detached"].map(shellWord).join(" ");
  // A background job's stdin is /dev/null unless redirected, so the event's pipe is kept as fd 3
  // and handed over. setsid (Linux) or POSIX::setsid (perl, macOS) puts the hook in a session of
  // its own, out of reach of whatever ends Claude Code's hook processes.
  const io = "<&3 >/dev/null 2>&1 &";
  // Claude Code ends hooks it no longer waits for with SIGTERM (seen with 2.1.332): a no-op
  // trap lets the shell finish its two milliseconds. Caught, not ignored: the hook it starts
  // gets the default SIGTERM back, so it stays easy to stop.
  return `trap : TERM HUP; exec 3<&0; if command -v setsid >/dev/null 2>&1; then setsid ${hook} ${io} ` +
    `elif command -v perl >/dev/null 2>&1; then perl -MPOSIX -e 'POSIX::setsid(); exec @ARGV' ${hook} ${io} ` +
    `else ${hook} ${io} fi`;
}

// ---------------------------------------------------------------------------
// src/spool.ts
//
// The spool: every ping is written here before any network work, so nothing
// is lost when the tracker is down or a process is killed. The hook writes an
// entry (hot path); the sender loads, claims, reschedules and settles entries.
//
// Owns: `SpoolEntry`, `spoolPing`, the `Spool` a sender works on, claims.
// Uses: runtime, events, payload, config.

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
class Spool {
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
// liveness). Uses: runtime, config.

/** A sender whose lock is older than this is gone (killed, crashed): another may take over. */
const LOCK_STALE_MS = 5000;
const HEARTBEAT_MS = 1000;

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
  const modified = await runtime.modifiedAt(lockPath(stateDir));
  return modified !== undefined && Date.now() - modified < LOCK_STALE_MS;
}

/**
 * Claims the lock for a sender the caller is about to start: its token when
 * the lock was free, undefined when another process holds or just took it.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @returns The token to hand to the sender (`deliver --lock TOKEN`), or undefined.
 *
 * @example
 * ```ts ignore
 * const token = await claimLockForSender(runtime, stateDir);
 * ```
 */
async function claimLockForSender(runtime: Runtime, stateDir: string): Promise<string | undefined> {
  const token = crypto.randomUUID();
  return await runtime.createExclusive(lockPath(stateDir), token).catch(() => false) ? token : undefined;
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
    if (claimToken !== undefined && (await fs.readFile(path, "utf8").catch(() => "")) === claimToken) {
      return new SenderLock(runtime, path, claimToken).#start();
    }
    const token = crypto.randomUUID();
    for (let round = 0; round < 2; round++) {
      if (await runtime.createExclusive(path, token)) return new SenderLock(runtime, path, token).#start();
      const stat = await fs.stat(path).catch(() => undefined);
      if (stat !== undefined && Date.now() - stat.mtimeMs < LOCK_STALE_MS) return undefined;
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

  async #beat(): Promise<boolean> {
    if (!(await this.#held())) return false;
    const now = new Date();
    await (await this.#runtime.fs()).utimes(this.#path, now, now).catch(() => {});
    return true;
  }

  async #held(): Promise<boolean> {
    const fs = await this.#runtime.fs();
    return (await fs.readFile(this.#path, "utf8").catch(() => "")) === this.#token;
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
// Owns: `sendPing`, `retryAfterMs`, `backoffMs`. Uses: payload, ping_url.

/** What to do with a ping after one attempt to send it. */
export type SendOutcome = "delivered" | "retry" | "rejected";

/** Outcome of one ping request. */
export interface SendResult {
  /** `delivered` (2xx), `retry` (5xx, 408, 429, timeout, network error) or `rejected` (other 4xx, redirects). */
  outcome: SendOutcome;
  /** HTTP status, absent when no answer arrived. */
  status?: number;
  /** How long the receiver asked to wait (`Retry-After`), in milliseconds, capped at one hour. */
  retryAfterMs?: number;
  /** One line, with the URL's secret redacted, when not delivered. */
  reason?: string;
}

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
 * whether to retry. Only the allowlisted fields are sent. Never throws;
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
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": `telemhq-claude-code/${HOOK_VERSION}` },
      body: JSON.stringify(allowlisted(payload)),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
    });
    await response.body?.cancel();
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
// src/sender.ts
//
// The sender: one detached process drains the spool, outside Claude Code's
// wait. It holds the lock, sends every due ping (adding usage first), retries
// with backoff, keeps counters in `status.json`, and stays a while for more
// pings before it leaves.
//
// Owns: `deliverSpool`, `startSender`, `DeliveryStatus`. Uses: runtime,
// config, ping_url, spool, lock, send, launch, ledger (enrichment).

/** Delivery counters and the last problem, kept in `<state>/status.json` for `flush` and `doctor`. */
export interface DeliveryStatus {
  /** Pings delivered, in all. */
  delivered: number;
  /** Pings the tracker refused, in all. */
  rejected: number;
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
  /** Pings still waiting for a retry. */
  waiting: number;
  /** The counters in `status.json`. */
  status: DeliveryStatus;
  /** True when another sender was already running. */
  busy: boolean;
}

function emptyStatus(): DeliveryStatus {
  return { delivered: 0, rejected: 0, dropped: { too_many: 0, too_old: 0, unreadable: 0 } };
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
async function readStatus(runtime: Runtime, stateDir: string): Promise<DeliveryStatus> {
  const saved = await readJsonFile(await runtime.fs(), `${stateDir}/${STATE_LAYOUT.status}`);
  return { ...emptyStatus(), ...(saved !== null && typeof saved === "object" ? saved : {}) };
}

/**
 * Sends one spooled ping and records what happened: deleted, rescheduled or
 * moved to `failed/`. Usage is added first, once, and saved under the claim
 * so that a retry sends the same numbers and never counts them again.
 */
async function attemptEntry(
  runtime: Runtime,
  config: HookConfig,
  spool: Spool,
  item: LoadedEntry,
  status: DeliveryStatus,
): Promise<SendOutcome | "gone"> {
  const claimed: ClaimedEntry | undefined = await spool.claim(item);
  if (claimed === undefined) return "gone";
  if (!claimed.entry.enriched && claimed.entry.local !== undefined) {
    claimed.entry = await enrichEntry(runtime, config, claimed.entry);
    await spool.update(claimed);
  }
  let url: URL;
  try {
    url = parsePingUrl(claimed.entry.url);
  } catch (error) {
    await spool.remove(claimed);
    status.rejected++;
    status.last_error = { at: new Date().toISOString(), reason: (error as Error).message, outcome: "rejected" };
    return "rejected";
  }
  const result = await sendPing(url, claimed.entry.payload, config.timeoutMs);
  const at = new Date().toISOString();
  if (result.outcome === "delivered") {
    await spool.remove(claimed);
    status.delivered++;
    status.last_delivered_at = at;
    return "delivered";
  }
  status.last_error = { at, reason: result.reason ?? "unknown", status: result.status, outcome: result.outcome };
  if (result.outcome === "rejected") {
    // Not retried: a revoked or mistyped tracker must not be hammered. Kept for doctor to show.
    await spool.moveToFailed(claimed);
    status.rejected++;
    return "rejected";
  }
  const attempts = claimed.entry.attempts + 1;
  const wait = Math.max(
    result.retryAfterMs ?? 0,
    backoffMs(attempts, config.retryBaseMs, config.retryMaxMs, Math.random()),
  );
  claimed.entry = { ...claimed.entry, attempts, next_at: Date.now() + wait };
  item.entry = claimed.entry;
  await spool.reschedule(claimed);
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
 * @param options `flush`: send every ping now, ignoring backoff, and leave when done;
 *   `maxRunMs`: leave after this long; `lockToken`: the token of a lock a hook claimed for this sender.
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
  options: { flush?: boolean; maxRunMs?: number; lockToken?: string } = {},
): Promise<DeliveryReport> {
  const stateDir = config.stateDir;
  if (stateDir === undefined) throw new HookSkip("no state directory: set HOME or TELEMHQ_STATE_DIR");
  const fs = await runtime.fs();
  const spool = new Spool(fs, stateDir, config);
  await fs.mkdir(spool.dir, { recursive: true, mode: 0o700 });
  const statusPath = `${stateDir}/${STATE_LAYOUT.status}`;
  const report: DeliveryReport = { delivered: 0, rejected: 0, waiting: 0, status: emptyStatus(), busy: false };
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
      const seen = new Set<string>();
      let idleSince = Date.now();
      while (!lock.lost && Date.now() < deadline) {
        const flush = options.flush ||
          await fs.rm(`${stateDir}/${STATE_LAYOUT.flushRequest}`).then(() => true, () => false);
        const entries = await spool.load(status.dropped);
        const now = Date.now();
        // Activity is a new ping or a delivery; failed retries are not, so a sender facing a dead
        // tracker leaves once its waits grow longer than senderIdleMs, and a later hook restarts it.
        if (entries.some((item) => !seen.has(item.name)) || entries.arriving > 0) idleSince = now;
        for (const item of entries) seen.add(item.name);
        const due = entries.filter((item) => flush || item.entry.next_at <= now);
        const settled = new Set<string>();
        for (const item of due) {
          if (lock.lost) break;
          const outcome = await attemptEntry(runtime, config, spool, item, status);
          if (outcome !== "retry") settled.add(item.name); // "gone": another sender settled it
          if (outcome === "delivered") {
            report.delivered++;
            idleSince = Date.now();
          }
          if (outcome === "rejected") report.rejected++;
        }
        if (due.length > 0 || !(await fs.stat(statusPath).then(() => true, () => false))) {
          await writeJsonAtomically(fs, statusPath, status);
        }
        report.status = status;
        const waiting = entries.filter((item) => !settled.has(item.name) && item.entry.next_at > Date.now());
        report.waiting = waiting.length;
        // After a flush, let go at once: `flush` is waiting to take the lock and report.
        if (flush) break;
        const untilDue = waiting.reduce((soonest, item) => Math.min(soonest, item.entry.next_at), Infinity) -
          Date.now();
        // A ping not tried yet (a SessionEnd waiting its turn) is never left behind.
        const untried = waiting.some((item) => item.entry.attempts === 0);
        if (!untried && Date.now() - idleSince >= config.senderIdleMs && untilDue > config.senderIdleMs) break;
        await sleep(Math.max(20, Math.min(250, untilDue)));
      }
    } finally {
      await lock.release();
    }
    if (lock.lost || options.flush || Date.now() >= deadline) break;
    // Look once more after letting go: a hook that saw our lock just before we left relies on it.
    const spooled = await spool.load(report.status.dropped);
    const pending = spooled.some((item) => item.entry.next_at <= Date.now() || item.entry.attempts === 0);
    if (spooled.arriving === 0 && !pending) break;
  }
  return report;
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
  const token = await claimLockForSender(runtime, stateDir);
  if (token === undefined && await senderIsRunning(runtime, stateDir)) return true;
  const args = token !== undefined ? ["deliver", "--lock", token] : ["deliver"];
  const command = selfCommand(runtime, args, stateDir, narrowAccess((name) => runtime.env(name), config.pingUrl));
  if (command === undefined) return false;
  await runtime.startDetached(command);
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
// Owns: `runHook`. Uses: runtime, config, input, payload, ping_url, spool,
// sender, send.

/**
 * Runs the hook once: reads the event from stdin, builds the payload, makes it
 * durable in the spool, and hands delivery to a sender. Started `detached` (by
 * the shell fast path, so nobody waits), it delivers the spool itself; else it
 * starts a detached sender. When no sender can be started, it delivers for a
 * moment itself (Claude Code waits, within the timeout); when the spool cannot
 * be written, it sends the ping directly, as the reference script does.
 *
 * @param runtime The runtime adapter (see {@linkcode detectRuntime}).
 * @param options `detached`: started by {@linkcode fastPathCommand}; be the sender instead of starting one.
 * @returns `undefined` when all went well, otherwise a one-line reason (printed under debug only).
 *
 * @example
 * ```ts ignore
 * const problem = await runHook(detectRuntime());
 * ```
 */
export async function runHook(runtime: Runtime, options: { detached?: boolean } = {}): Promise<string | undefined> {
  try {
    const config = await loadConfig(runtime);
    if (config.pingUrl === undefined) return "TELEMHQ_PING_URL is not set (nor saved by install): nothing sent";
    const url = parsePingUrl(config.pingUrl);
    const input = parseEvent(await readAll(runtime.stdin(), MAX_EVENT_BYTES));
    const payload = await buildPayload(input, {
      fallbackCwd: runtime.cwd(),
      runtime: runtime.name,
      sha256Hex: runtime.sha256Hex,
    });
    if (config.stateDir === undefined) {
      return await sendDirectly(config, url, payload, "no state directory (set HOME or TELEMHQ_STATE_DIR)");
    }
    try {
      await spoolPing(runtime, config.stateDir, url, payload, usageSource(input));
    } catch (error) {
      return await sendDirectly(
        config,
        url,
        payload,
        `cannot write the spool in "${config.stateDir}" (${describeError(error)})`,
      );
    }
    const warning = config.debug ? await spoolWarning(runtime, config) : undefined;
    if (options.detached) {
      await deliverSpool(runtime, config).catch(() => {});
      return warning;
    }
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
  if (report.busy || report.waiting === 0) return config.debug ? `${problem}: delivered from the hook` : undefined;
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
// src/transcript.ts
//
// Reading Claude Code's transcripts (JSON lines) from the end: a turn is at
// the end of its transcript, and a transcript can be hundreds of megabytes,
// so lines are read backward in chunks and never all held at once.
//
// Owns: `readLinesBackward`, the transcript line shape, finding one turn's
// lines. Uses: runtime.

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
  /** True on lines Claude Code adds itself (not typed by the user). */
  isMeta?: unknown;
  /** The API message. */
  message?: {
    id?: unknown;
    model?: unknown;
    usage?: Record<string, unknown>;
    content?: unknown;
  };
}

/**
 * Reads a file's lines from the end, in chunks: the work depends on how far
 * back the caller reads, not on the size of the file.
 *
 * @param path A file.
 * @param chunkBytes Bytes read at a time.
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
export async function* readLinesBackward(path: string, chunkBytes = 64 * 1024): AsyncGenerator<string> {
  const fs = await nodeFs();
  const file = await fs.open(path, "r");
  try {
    let position = (await file.stat()).size;
    let carry = new Uint8Array(0);
    const decoder = new TextDecoder();
    while (position > 0) {
      const size = Math.min(chunkBytes, position);
      position -= size;
      const chunk = new Uint8Array(size + carry.length);
      await file.read(chunk, 0, size, position);
      chunk.set(carry, size);
      // "\n" never occurs inside a multi-byte UTF-8 sequence: splitting bytes there is safe.
      let end = chunk.length;
      for (let index = chunk.length - 1; index >= 0; index--) {
        if (chunk[index] !== 0x0a) continue;
        if (end > index + 1) yield decoder.decode(chunk.subarray(index + 1, end));
        end = index;
      }
      carry = chunk.slice(0, end);
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
function parseLine(line: string): TranscriptLine | undefined {
  try {
    const value = JSON.parse(line);
    return value !== null && typeof value === "object" ? value as TranscriptLine : undefined;
  } catch {
    return undefined;
  }
}

/** A real prompt of the user: not a tool result, not a meta line. */
function isUserPrompt(line: TranscriptLine): boolean {
  if (line.type !== "user" || line.isMeta === true) return false;
  const content = line.message?.content;
  if (typeof content === "string") return true;
  return Array.isArray(content) && content.length > 0 &&
    content.every((block) => (block as { type?: unknown }).type === "text");
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

// ---------------------------------------------------------------------------
// src/prices.ts
//
// What a response costs: list prices per model as data, the override from
// `TELEMHQ_PRICES`, and the cost of one response's tokens.
//
// Owns: `MODEL_PRICES`, `priceTable`, `priceFor`, `responseCostUsd`,
// `roundUsd`. Uses: nothing.

/** A model's list prices, in US dollars per million tokens. */
export interface ModelPrice {
  /** Uncached input. */
  input: number;
  /** Output (thinking included). */
  output: number;
  /** Writing the prompt cache with a 5-minute lifetime. */
  cache_write_5m: number;
  /** Writing the prompt cache with a 1-hour lifetime. */
  cache_write_1h: number;
  /** Reading the prompt cache. */
  cache_read: number;
}

/**
 * Built-in list prices per model family (Anthropic's published prices).
 * A model id matches its family with or without a date suffix
 * (`claude-sonnet-4-5-20250929`). Override or extend with `TELEMHQ_PRICES`
 * (JSON of the same shape). A model not listed gets no `cost_usd`, never 0.
 */
export const MODEL_PRICES: Readonly<Record<string, ModelPrice>> = {
  "claude-opus-4-5": { input: 5, output: 25, cache_write_5m: 6.25, cache_write_1h: 10, cache_read: 0.5 },
  "claude-opus-4-1": { input: 15, output: 75, cache_write_5m: 18.75, cache_write_1h: 30, cache_read: 1.5 },
  "claude-opus-4": { input: 15, output: 75, cache_write_5m: 18.75, cache_write_1h: 30, cache_read: 1.5 },
  "claude-sonnet-4-5": { input: 3, output: 15, cache_write_5m: 3.75, cache_write_1h: 6, cache_read: 0.3 },
  "claude-sonnet-4": { input: 3, output: 15, cache_write_5m: 3.75, cache_write_1h: 6, cache_read: 0.3 },
  "claude-3-7-sonnet": { input: 3, output: 15, cache_write_5m: 3.75, cache_write_1h: 6, cache_read: 0.3 },
  "claude-haiku-4-5": { input: 1, output: 5, cache_write_5m: 1.25, cache_write_1h: 2, cache_read: 0.1 },
  "claude-3-5-haiku": { input: 0.8, output: 4, cache_write_5m: 1, cache_write_1h: 1.6, cache_read: 0.08 },
};

const PRICE_FIELDS = ["input", "output", "cache_write_5m", "cache_write_1h", "cache_read"] as const;

/**
 * The price table in force: the built-in one, with `TELEMHQ_PRICES` (a JSON
 * object of model to {@linkcode ModelPrice}) laid over it. Entries that are
 * not complete, finite, non-negative prices are ignored.
 *
 * @param override The `TELEMHQ_PRICES` value, if any.
 * @returns The merged table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const table = priceTable('{"my-model":{"input":1,"output":2,"cache_write_5m":1,"cache_write_1h":1,"cache_read":0.1}}');
 * assert.equal(table["my-model"].output, 2);
 * ```
 */
export function priceTable(override: string | undefined): Record<string, ModelPrice> {
  const table: Record<string, ModelPrice> = { ...MODEL_PRICES };
  if (override === undefined || override.trim() === "") return table;
  let parsed: unknown;
  try {
    parsed = JSON.parse(override);
  } catch {
    return table;
  }
  if (parsed === null || typeof parsed !== "object") return table;
  for (const [model, price] of Object.entries(parsed as Record<string, unknown>)) {
    const candidate = price as Record<string, unknown>;
    const valid = candidate !== null && typeof candidate === "object" &&
      PRICE_FIELDS.every((field) =>
        typeof candidate[field] === "number" && Number.isFinite(candidate[field]) && (candidate[field] as number) >= 0
      );
    if (valid) {
      table[model] = Object.fromEntries(
        PRICE_FIELDS.map((field) => [field, candidate[field]]),
      ) as unknown as ModelPrice;
    }
  }
  return table;
}

/**
 * The price of a model id: its own entry, else its family's (the id with a
 * date suffix like `-20250929` or a context tag like `[1m]` removed).
 *
 * @param model A model id from the transcript.
 * @param table The price table (see {@linkcode priceTable}).
 * @returns The price, or undefined when the model is unknown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(priceFor("claude-sonnet-4-5-20250929", MODEL_PRICES)?.input, 3);
 * ```
 */
export function priceFor(model: string, table: Readonly<Record<string, ModelPrice>>): ModelPrice | undefined {
  if (Object.hasOwn(table, model)) return table[model];
  const family = model.replace(/\[[^\]]*\]$/, "").replace(/-\d{8}$/, "");
  return Object.hasOwn(table, family) ? table[family] : undefined;
}

/** One response's billed tokens, by price dimension. */
interface ResponseTokens {
  /** Uncached input tokens. */
  input_tokens: number;
  /** Output tokens. */
  output_tokens: number;
  /** All cache writes, split or not. */
  cache_creation_input_tokens: number;
  /** Cache reads. */
  cache_read_input_tokens: number;
  /** Cache writes with a 5-minute lifetime (part of `cache_creation_input_tokens`). */
  cache_5m: number;
  /** Cache writes with a 1-hour lifetime (part of `cache_creation_input_tokens`). */
  cache_1h: number;
}

/**
 * The list-price cost of one response, in US dollars (not rounded).
 *
 * @param tokens The response's tokens.
 * @param price The model's price.
 * @returns The cost.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const tokens = {
 *   input_tokens: 1_000_000, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0,
 *   cache_5m: 0, cache_1h: 0,
 * };
 * assert.equal(responseCostUsd(tokens, MODEL_PRICES["claude-sonnet-4-5"]), 3);
 * ```
 */
function responseCostUsd(tokens: ResponseTokens, price: ModelPrice): number {
  // Writes not split by lifetime (older transcripts) are priced as 5-minute writes, Claude Code's default.
  const unsplit = Math.max(0, tokens.cache_creation_input_tokens - tokens.cache_5m - tokens.cache_1h);
  return (tokens.input_tokens * price.input + tokens.output_tokens * price.output +
    (tokens.cache_5m + unsplit) * price.cache_write_5m + tokens.cache_1h * price.cache_write_1h +
    tokens.cache_read_input_tokens * price.cache_read) / 1_000_000;
}

/**
 * Rounds a cost to the micro-dollar: floating-point sums would otherwise show noise in the last digits.
 *
 * @param usd A cost in US dollars.
 * @returns The cost, rounded to 6 decimals.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(roundUsd(0.1 + 0.2), 0.3);
 * ```
 */
function roundUsd(usd: number): number {
  return Math.round(usd * 1_000_000) / 1_000_000;
}

// ---------------------------------------------------------------------------
// src/usage.ts
//
// Tokens and cost of a turn (or a subagent run), from its transcript lines:
// each API response counted once, priced by its model.
//
// Owns: `TurnUsage`, `sumUsage`, `readTurnUsage`, `readTranscriptUsage`,
// the token fields. Uses: payload (types), transcript, prices.

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
  & Pick<Payload, "model" | "models" | "cost_usd" | "duration_ms" | "git_branch">;

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
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(
 *   totalTokens({ input_tokens: 1, output_tokens: 2, cache_creation_input_tokens: 3, cache_read_input_tokens: 4 }),
 *   10,
 * );
 * ```
 */
function totalTokens(counts: TokenCounts): number {
  return TOKEN_FIELDS.reduce((sum, field) => sum + counts[field], 0);
}

/** What a git branch name may hold here: letters, digits and the punctuation refs commonly use. */
const BRANCH_PATTERN = /^[\p{L}\p{N}._/@+#-]{1,255}$/u;

interface ResponseUsage {
  model?: string;
  tokens: ResponseTokens;
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : 0;
}

/**
 * Sums the usage of transcript lines: each API response once (Claude Code
 * writes one line per content block and repeats the response's usage on each;
 * the key is `message.id` + `requestId`, and where its lines disagree the
 * largest count wins), with the cost from the price table.
 *
 * @param lines Transcript lines, in file order.
 * @param prices The price table (see {@linkcode priceTable}).
 * @returns The usage, or undefined when the lines hold no API response.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MODEL_PRICES } from "@telemhq/claude-code";
 * const line = {
 *   type: "assistant",
 *   requestId: "req_1",
 *   message: { id: "msg_1", model: "claude-sonnet-4-5", usage: { input_tokens: 10, output_tokens: 5 } },
 * };
 * assert.equal(sumUsage([line, line], MODEL_PRICES)?.total_tokens, 15);
 * ```
 */
export function sumUsage(
  lines: Iterable<object>,
  prices: Readonly<Record<string, ModelPrice>>,
): TurnUsage | undefined {
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
  #branch: { name: string; time: number } | undefined;
  #first = Infinity;
  #last = -Infinity;

  add(line: TranscriptLine): void {
    const time = typeof line.timestamp === "string" ? Date.parse(line.timestamp) : NaN;
    if (!Number.isNaN(time) && (line.type === "user" || line.type === "assistant")) {
      this.#first = Math.min(this.#first, time);
      this.#last = Math.max(this.#last, time);
    }
    if (typeof line.gitBranch === "string" && BRANCH_PATTERN.test(line.gitBranch)) {
      // The branch of the latest line: a turn may switch branches.
      const at = Number.isNaN(time) ? -Infinity : time;
      if (this.#branch === undefined || at >= this.#branch.time) this.#branch = { name: line.gitBranch, time: at };
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
    const response = this.#responses.get(key) ?? {
      tokens: {
        input_tokens: 0,
        output_tokens: 0,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        cache_5m: 0,
        cache_1h: 0,
      },
    };
    if (typeof message.model === "string") response.model = message.model;
    for (const field of TOKEN_FIELDS) response.tokens[field] = Math.max(response.tokens[field], count(usage[field]));
    const split = usage.cache_creation as Record<string, unknown> | undefined;
    response.tokens.cache_5m = Math.max(response.tokens.cache_5m, count(split?.ephemeral_5m_input_tokens));
    response.tokens.cache_1h = Math.max(response.tokens.cache_1h, count(split?.ephemeral_1h_input_tokens));
    this.#responses.set(key, response);
  }

  total(prices: Readonly<Record<string, ModelPrice>>): TurnUsage | undefined {
    if (this.#responses.size === 0) return undefined;
    const totals: TokenCounts = {
      input_tokens: 0,
      output_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    };
    const outputByModel = new Map<string, number>();
    let cost: number | undefined = 0;
    for (const { model, tokens } of this.#responses.values()) {
      for (const field of TOKEN_FIELDS) totals[field] += tokens[field];
      if (model !== undefined) outputByModel.set(model, (outputByModel.get(model) ?? 0) + tokens.output_tokens);
      const price = model === undefined ? undefined : priceFor(model, prices);
      cost = price === undefined || cost === undefined ? undefined : cost + responseCostUsd(tokens, price);
    }
    const models = [...outputByModel.entries()].sort((a, b) => b[1] - a[1]).map(([model]) => model);
    return {
      ...totals,
      total_tokens: totalTokens(totals),
      model: models[0],
      models: models.length > 1 ? models : undefined,
      cost_usd: cost === undefined ? undefined : roundUsd(cost),
      duration_ms: this.#first <= this.#last ? this.#last - this.#first : undefined,
      git_branch: this.#branch?.name,
      api_requests: this.#responses.size,
      tool_calls: this.#toolUses.size,
    };
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
 * const usage = await readTurnUsage(event.transcript_path, event.prompt_id, MODEL_PRICES);
 * ```
 */
export async function readTurnUsage(
  transcriptPath: string,
  promptId: string | undefined,
  prices: Readonly<Record<string, ModelPrice>>,
): Promise<TurnUsage | undefined> {
  const lines = await readTurnLines(transcriptPath, promptId);
  return lines === undefined ? undefined : sumUsage(lines, prices);
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
 * const usage = await readTranscriptUsage(event.agent_transcript_path, MODEL_PRICES);
 * ```
 */
export async function readTranscriptUsage(
  transcriptPath: string,
  prices: Readonly<Record<string, ModelPrice>>,
): Promise<TurnUsage | undefined> {
  const tally = new UsageTally();
  for await (const text of readLinesBackward(transcriptPath)) {
    const line = parseLine(text);
    if (line !== undefined) tally.add(line);
  }
  return tally.total(prices);
}

// ---------------------------------------------------------------------------
// src/ledger.ts
//
// Adding usage to a ping, once, just before it is sent: the turn's (Stop,
// StopFailure), the subagent's (SubagentStop), or the session's totals
// (SessionEnd), which a per-session ledger keeps until then.
//
// Owns: `enrichEntry`, the session ledgers. Uses: runtime, config, events,
// payload, prices, usage, spool (types).

/** Token counts kept per session until its SessionEnd: `<state>/sessions/<session_id>.json`. */
interface SessionLedger extends TokenCounts {
  turns: number;
  api_requests: number;
  /** Null once a turn had a model without a price. */
  cost_usd: number | null;
}

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
>;

/**
 * Adds usage to a spooled ping, once: the turn's (Stop, StopFailure), the
 * subagent's (SubagentStop) or the session's totals (SessionEnd). A missing,
 * unreadable or broken transcript adds nothing: the ping goes out without usage.
 *
 * @param runtime The runtime adapter.
 * @param config The settings (state directory, prices).
 * @param entry The spooled ping, with where to read its usage.
 * @returns The entry with usage added, marked enriched, without its local paths.
 *
 * @example
 * ```ts ignore
 * const enriched = await enrichEntry(runtime, config, entry);
 * ```
 */
async function enrichEntry(runtime: Runtime, config: HookConfig, entry: SpoolEntry): Promise<SpoolEntry> {
  const payload: Payload = { ...entry.payload };
  const local = entry.local ?? {};
  const kind = eventRule(payload.event).usage;
  const ledgerPath = payload.session_id === undefined || config.stateDir === undefined
    ? undefined
    : `${config.stateDir}/${STATE_LAYOUT.sessions}/${payload.session_id}.json`;
  let usage: TurnUsage | undefined;
  try {
    if (kind === "turn" && local.transcript_path !== undefined) {
      usage = await readTurnUsage(local.transcript_path, local.prompt_id, config.prices);
    } else if (kind === "subagent" && local.agent_transcript_path !== undefined) {
      usage = await readTranscriptUsage(local.agent_transcript_path, config.prices);
    }
  } catch {
    usage = undefined;
  }
  const fs = await runtime.fs();
  if (usage !== undefined) {
    Object.assign(payload, omitUndefined({ ...usage }));
    if (ledgerPath !== undefined) await addToLedger(runtime, ledgerPath, usage, kind === "turn");
  }
  if (kind === "session" && ledgerPath !== undefined) {
    const ledger = await readLedger(runtime, ledgerPath);
    if (ledger !== undefined) {
      Object.assign(payload, sessionFields(ledger));
      await fs.rm(ledgerPath, { force: true });
    }
  }
  return { ...entry, payload, local: undefined, enriched: true };
}

async function readLedger(runtime: Runtime, path: string): Promise<SessionLedger | undefined> {
  const value = await readJsonFile(await runtime.fs(), path);
  return value !== null && typeof value === "object" ? value as SessionLedger : undefined;
}

async function addToLedger(runtime: Runtime, path: string, usage: TurnUsage, isTurn: boolean): Promise<void> {
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
  ledger.turns += isTurn ? 1 : 0;
  ledger.api_requests += usage.api_requests;
  for (const field of TOKEN_FIELDS) ledger[field] += usage[field];
  ledger.cost_usd = ledger.cost_usd === null || usage.cost_usd === undefined
    ? null
    : roundUsd(ledger.cost_usd + usage.cost_usd);
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
    session_cost_usd: ledger.cost_usd ?? undefined,
    session_api_requests: ledger.api_requests,
    session_turns: ledger.turns,
  });
}

// ---------------------------------------------------------------------------
// src/cli_args.ts
//
// The commands' shared parts: the error a command reports (one line and an
// exit code) and the argument parser.
//
// Owns: `CommandError`, `parseArgs`. Uses: nothing.

/** A command-line problem: one line for the user, and the exit code. */
export class CommandError extends Error {
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
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const values = parseArgs(["--url", "https://x/p/T", "--tool-activity"], ["--url"], ["--tool-activity"]);
 * assert.deepEqual(values, { "--url": "https://x/p/T", "--tool-activity": "true" });
 * ```
 */
export function parseArgs(
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
    } else {
      throw new CommandError(`Unknown option "${name}". Run with --help to see the options.`, 2);
    }
  }
  return values;
}

// ---------------------------------------------------------------------------
// src/settings.ts
//
// Claude Code's settings files, as `install`, `uninstall` and `doctor` use
// them: which file each scope means, reading one (refused with its line when
// broken), finding, adding and removing our hook entries, and writing one back
// atomically with a backup, keeping everything else as it was.
//
// Owns: the scopes, `readSettings`, our hook entries in settings, `replaceFile`.
// Uses: runtime, input, cli_args.

/** Where `install` wires the hook: `~/.claude/settings.json`, the repository's shared or local file, or a printed policy. */
export type InstallScope = "user" | "project" | "local" | "managed";

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
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(settingsPathFor("local", "/home/me/.claude", "/src/api"), "/src/api/.claude/settings.local.json");
 * ```
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
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(await readSettings("/nonexistent/settings.json"), { settings: {} });
 * ```
 */
async function readSettings(path: string): Promise<{ settings: Settings; text?: string }> {
  const fs = await nodeFs();
  let text: string;
  try {
    text = await fs.readFile(path, "utf8");
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return { settings: {} };
    throw new CommandError(`Cannot read settings file "${path}": ${describeError(error)}. Check its permissions.`);
  }
  if (text.trim() === "") return { settings: {}, text };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const position = Number((error as Error).message.match(/position (\d+)/)?.[1]);
    const line = Number.isNaN(position) ? "" : ` at line ${text.slice(0, position).split("\n").length}`;
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
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const settings = { hooks: { Stop: [{ hooks: [{ type: "command", command: "bun /h/telemhq.ts" }] }] } };
 * assert.equal(findOurHooks(settings, ["/h/telemhq.ts"])[0].event, "Stop");
 * ```
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
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const settings = { hooks: { Stop: [{ hooks: [{ type: "command", command: "bun /h/telemhq.ts" }] }] } };
 * assert.equal(removeOurHooks(settings, ["/h/telemhq.ts"]), 1);
 * assert.deepEqual(settings, {});
 * ```
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
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const settings = {};
 * addHooks(settings, [["Stop"]], { type: "command", command: "true", timeout: 10 });
 * assert.deepEqual(settings, { hooks: { Stop: [{ hooks: [{ type: "command", command: "true", timeout: 10 }] }] } });
 * ```
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
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(formatSettings({ a: 1 }, '{\n    "b": 2\n}\n'), '{\n    "a": 1\n}\n');
 * ```
 */
function formatSettings(settings: Settings, original: string | undefined): string {
  const indent = original?.match(/^([ \t]+)"/m)?.[1] ?? "  ";
  const newline = original === undefined || original.endsWith("\n") ? "\n" : "";
  return JSON.stringify(settings, null, indent) + newline;
}

/**
 * Writes a file atomically (temporary file, then rename), keeping a backup of
 * what it replaces and the mode it had (else `mode`, whatever the umask).
 *
 * @param path The file.
 * @param text Its new content.
 * @param original Its content before, kept as `<path>.telemhq-backup`; undefined for no backup.
 * @param mode The mode of a new file.
 *
 * @example
 * ```ts ignore
 * await replaceFile(settingsPath, formatSettings(settings, text), text, 0o644);
 * ```
 */
async function replaceFile(
  path: string,
  text: string,
  original: string | undefined,
  mode: number,
): Promise<void> {
  const fs = await nodeFs();
  await fs.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o700 });
  const existing = await fs.stat(path).then((stat) => stat.mode & 0o777, () => undefined);
  if (original !== undefined) await fs.writeFile(`${path}.telemhq-backup`, original, { mode: 0o600 });
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  await fs.writeFile(temporary, text, { mode: 0o600 });
  await fs.chmod(temporary, existing ?? mode);
  await fs.rename(temporary, path);
}

// ---------------------------------------------------------------------------
// src/install.ts
//
// `install` and `uninstall`: what the TelemHQ guide does by hand, in one
// command. `install` copies the hook into Claude Code's `hooks/` folder, saves
// the ping URL in the private state directory (never in a settings file),
// records what it installed, and merges the shell fast path into a scope's
// settings file; `uninstall` removes exactly that.
//
// Owns: the install plan, the install record, finding runtimes, the scan of
// the settings files. Uses: runtime, config, ping_url, launch, events,
// cli_args, settings.

/** The installed hook's file name in Claude Code's `hooks/` folder: TypeScript for Deno and Bun, the npm build's JavaScript for Node. */
const HOOK_FILE_NAMES: Readonly<Record<RuntimeKind, string>> = {
  deno: "telemhq.ts",
  bun: "telemhq.ts",
  node: "telemhq.mjs",
};

/** Claude Code's time limit for our hook, in seconds (the fast path takes milliseconds). */
const HOOK_TIMEOUT_S = 10;

/**
 * Every path the installed hook may have: entries running any of them are ours.
 *
 * @param claudeDir Claude Code's folder.
 * @returns The paths.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(installedHookFiles("/h/.claude"), ["/h/.claude/hooks/telemhq.ts", "/h/.claude/hooks/telemhq.mjs"]);
 * ```
 */
function installedHookFiles(claudeDir: string): string[] {
  return [...new Set(Object.values(HOOK_FILE_NAMES))].map((name) => `${claudeDir}/hooks/${name}`);
}

/** What `install` wrote, kept in `<state>/install.json` so that `doctor` reads it rather than guessing. */
interface InstallRecord {
  /** The runtime the hook runs under. */
  runtime: RuntimeKind;
  /** That runtime's binary, by absolute path. */
  runtime_path: string;
  /** The installed hook file. */
  hook_file: string;
  /** The command line that runs the hook (inside the fast path). */
  hook_argv: string[];
}

/**
 * Reads `install.json`; undefined when absent or not of the expected shape.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @returns The record.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * assert.equal(await readInstallRecord(detectRuntime(), "/nonexistent"), undefined);
 * ```
 */
async function readInstallRecord(runtime: Runtime, stateDir: string): Promise<InstallRecord | undefined> {
  const value = await readJsonFile(await runtime.fs(), `${stateDir}/${STATE_LAYOUT.install}`);
  const record = value as Partial<InstallRecord> | undefined;
  const valid = record !== null && typeof record === "object" &&
    ["deno", "bun", "node"].includes(record.runtime as string) && typeof record.runtime_path === "string" &&
    typeof record.hook_file === "string" && Array.isArray(record.hook_argv) &&
    record.hook_argv.every((word) => typeof word === "string");
  return valid ? record as InstallRecord : undefined;
}

/** One settings file, scanned for our hook entries. */
interface ScannedSettings {
  /** The scope. */
  scope: InstallScope;
  /** Its file. */
  path: string;
  /** Our entries in it (empty when it does not exist). */
  hooks: WiredHook[];
  /** Why it could not be read, if it could not. */
  error?: string;
}

/**
 * Reads every settings file on this machine that Claude Code merges (user,
 * project, local) and lists our hook entries in each: the one scan `uninstall`
 * and `doctor` share.
 *
 * @param claudeDir Claude Code's folder.
 * @param projectDir The project's folder.
 * @returns One item per scope.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const scanned = await scanSettings("/nonexistent/.claude", "/nonexistent/project");
 * assert.deepEqual(scanned.map((file) => file.hooks.length), [0, 0, 0]);
 * ```
 */
async function scanSettings(claudeDir: string, projectDir: string): Promise<ScannedSettings[]> {
  const hookFiles = installedHookFiles(claudeDir);
  const scanned: ScannedSettings[] = [];
  for (const scope of SETTINGS_SCOPES) {
    const path = settingsPathFor(scope, claudeDir, projectDir)!;
    try {
      scanned.push({ scope, path, hooks: findOurHooks((await readSettings(path)).settings, hookFiles) });
    } catch (error) {
      scanned.push({ scope, path, hooks: [], error: (error as Error).message });
    }
  }
  return scanned;
}

interface InstallPlan {
  scope: InstallScope;
  record: InstallRecord;
  url: URL;
  claudeDir: string;
  stateDir: string;
  settingsPath?: string;
  command: string;
  events: readonly (readonly [string, string?])[];
}

/** Finds a runtime's binary: this process's if it is that runtime, else on PATH or where its installer puts it. */
async function findRuntime(runtime: Runtime, kind: RuntimeKind): Promise<string | undefined> {
  if (runtime.kind === kind) return runtime.execPath;
  const fs = await runtime.fs();
  const home = runtime.env("HOME");
  const dirs = [...(runtime.env("PATH") ?? "").split(":"), `${home}/.${kind}/bin`].filter((dir) => dir.startsWith("/"));
  for (const dir of dirs) {
    const path = `${dir}/${kind}`;
    if (await fs.access(path, 1 /* X_OK */).then(() => true, () => false)) return await fs.realpath(path);
  }
  return undefined;
}

async function planInstall(runtime: Runtime, args: readonly string[]): Promise<InstallPlan> {
  const values = parseArgs(args, ["--url", "--scope", "--runtime"], ["--tool-activity"]);
  const rawUrl = values["--url"] ?? runtime.env("TELEMHQ_PING_URL");
  if (rawUrl === undefined) {
    throw new CommandError("Cannot install: no ping URL. Give --url https://telemhq.com/ping/YOUR_TOKEN.", 2);
  }
  let url: URL;
  try {
    url = parsePingUrl(rawUrl);
  } catch (error) {
    // The message names the host at most, never the token.
    throw new CommandError(
      `Cannot install: ${(error as Error).message.replace("TELEMHQ_PING_URL", "the ping URL")}.`,
      2,
    );
  }
  const scope = (values["--scope"] ?? "user") as InstallScope;
  if (!INSTALL_SCOPES.includes(scope)) {
    throw new CommandError(`Cannot install: unknown scope "${scope}". Use user, project, local or managed.`, 2);
  }
  const kind = (values["--runtime"] ?? runtime.kind) as RuntimeKind;
  if (kind !== "deno" && kind !== "bun" && kind !== "node") {
    throw new CommandError(`Cannot install: runtime "${kind}" is not supported. Use --runtime deno, bun or node.`, 2);
  }
  if ((kind === "node") !== (runtime.kind === "node")) {
    // Node runs the npm build (JavaScript); Deno and Bun run hook.ts: install copies the file it runs from.
    throw new CommandError(
      kind === "node"
        ? "Cannot install for Node.js from Deno or Bun: run install through the npm package (npx @telemhq/claude-code install ...)."
        : `Cannot install for ${kind} from the npm build: run install with hook.ts under ${kind}.`,
      2,
    );
  }
  const runtimePath = await findRuntime(runtime, kind);
  if (runtimePath === undefined) {
    throw new CommandError(
      `Cannot install: ${kind} is not on PATH or in ~/.${kind}/bin. Install it, or choose --runtime ${
        kind === "deno" ? "bun" : "deno"
      }.`,
    );
  }
  const env = (name: string) => runtime.env(name);
  const claudeDir = claudeDirectory(env);
  const stateDir = stateDirectory(env);
  if (claudeDir === undefined || stateDir === undefined) throw new CommandError("Cannot install: HOME is not set.");
  const hookFile = `${claudeDir}/hooks/${HOOK_FILE_NAMES[kind]}`;
  const argv = hookArgv(kind, runtimePath, hookFile, stateDir, { pingHost: url.host, claudeDir });
  return {
    scope,
    record: { runtime: kind, runtime_path: runtimePath, hook_file: hookFile, hook_argv: argv },
    url,
    claudeDir,
    stateDir,
    settingsPath: settingsPathFor(scope, claudeDir, runtime.cwd()),
    command: fastPathCommand(argv),
    events: [...INSTALL_EVENTS.always, ...(values["--tool-activity"] ? INSTALL_EVENTS.toolActivity : [])],
  };
}

function ourEntry(plan: InstallPlan) {
  return { type: "command", command: plan.command, timeout: HOOK_TIMEOUT_S };
}

/**
 * `install`: copies the hook into Claude Code's `hooks/` folder, saves the
 * ping URL in the private state directory (never in a settings file that may
 * be committed), and merges the hook into the chosen settings file, keeping
 * everything else in it as it was. Running it twice changes nothing more.
 *
 * @param runtime The runtime adapter.
 * @param args `--url URL [--scope user|project|local|managed] [--runtime deno|bun] [--tool-activity]`.
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * await installCommand(detectRuntime(), ["--url", "https://telemhq.com/ping/TOKEN"]);
 * ```
 */
export async function installCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  const plan = await planInstall(runtime, args);
  const source = runtime.scriptPath;
  const hookSource = source === undefined ? undefined : await runtime.readTextFile(source);
  if (hookSource === undefined) {
    throw new CommandError("Cannot install: this hook does not run from a local file. Download it first.");
  }
  if (plan.settingsPath === undefined) {
    // managed: print the policy for a team rollout; the hook file must be at the same path on each machine.
    const policy: Settings = {};
    addHooks(policy, plan.events, ourEntry(plan));
    console.log(JSON.stringify(policy, null, 2));
    console.error(
      `Managed policy printed. Deploy the hook to "${plan.record.hook_file}" and the ping URL to "${plan.stateDir}/${STATE_LAYOUT.config}" on each machine.`,
    );
    return 0;
  }
  // Everything is checked before anything is written.
  const { settings, text } = await readSettings(plan.settingsPath);
  removeOurHooks(settings, installedHookFiles(plan.claudeDir));
  addHooks(settings, plan.events, ourEntry(plan));
  const updated = formatSettings(settings, text);
  const fs = await runtime.fs();
  await fs.mkdir(`${plan.claudeDir}/hooks`, { recursive: true, mode: 0o700 });
  await fs.chmod(`${plan.claudeDir}/hooks`, 0o700);
  await replaceFile(plan.record.hook_file, hookSource, undefined, 0o600);
  await fs.mkdir(plan.stateDir, { recursive: true, mode: 0o700 });
  await replaceFile(
    `${plan.stateDir}/${STATE_LAYOUT.config}`,
    JSON.stringify({ ping_url: plan.url.href }) + "\n",
    undefined,
    0o600,
  );
  await replaceFile(
    `${plan.stateDir}/${STATE_LAYOUT.install}`,
    JSON.stringify(plan.record, null, 2) + "\n",
    undefined,
    0o600,
  );
  if (updated !== text) await replaceFile(plan.settingsPath, updated, text, 0o644);
  console.log([
    `Installed the TelemHQ hook for Claude Code.`,
    `  hook:      ${plan.record.hook_file}`,
    `  runtime:   ${plan.record.runtime_path}`,
    `  settings:  ${plan.settingsPath} (${plan.events.map(([event]) => event).join(", ")})`,
    `  ping URL:  ${redactUrl(plan.url)}, saved in ${plan.stateDir}/${STATE_LAYOUT.config}`,
    `Check it with: ${shellWord(plan.record.runtime_path)}${plan.record.runtime === "deno" ? " run -A" : ""} ${
      shellWord(plan.record.hook_file)
    } doctor --ping`,
  ].join("\n"));
  return 0;
}

/**
 * `uninstall`: removes from the scope's settings file exactly the entries
 * `install` added, and, when no settings file runs the hook any more, the hook
 * file, the saved ping URL and the install record. Pings still in the spool
 * stay (run `flush` first).
 *
 * @param runtime The runtime adapter.
 * @param args `[--scope user|project|local]`.
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * await uninstallCommand(detectRuntime(), ["--scope", "project"]);
 * ```
 */
export async function uninstallCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  const values = parseArgs(args, ["--scope"], []);
  const scope = (values["--scope"] ?? "user") as InstallScope;
  const env = (name: string) => runtime.env(name);
  const claudeDir = claudeDirectory(env);
  const stateDir = stateDirectory(env);
  if (claudeDir === undefined || stateDir === undefined) throw new CommandError("Cannot uninstall: HOME is not set.");
  const settingsPath = settingsPathFor(scope, claudeDir, runtime.cwd());
  if (settingsPath === undefined || !(SETTINGS_SCOPES as readonly string[]).includes(scope)) {
    throw new CommandError(`Cannot uninstall: unknown scope "${scope}". Use user, project or local.`, 2);
  }
  const hookFiles = installedHookFiles(claudeDir);
  const { settings, text } = await readSettings(settingsPath);
  const removed = removeOurHooks(settings, hookFiles);
  if (removed > 0) await replaceFile(settingsPath, formatSettings(settings, text), text, 0o644);
  const stillUsed = (await scanSettings(claudeDir, runtime.cwd()))
    .filter((file) => file.hooks.length > 0 || file.error !== undefined)
    .map((file) => file.path);
  const fs = await runtime.fs();
  if (stillUsed.length === 0) {
    for (const file of hookFiles) await fs.rm(file, { force: true });
    await fs.rm(`${stateDir}/${STATE_LAYOUT.config}`, { force: true });
    await fs.rm(`${stateDir}/${STATE_LAYOUT.install}`, { force: true });
  }
  console.log(
    removed > 0
      ? `Removed the TelemHQ hook from ${settingsPath} (${removed} entries).`
      : `Nothing to remove in ${settingsPath}: it does not run the TelemHQ hook.`,
  );
  console.log(
    stillUsed.length === 0
      ? `Removed the hook file and the saved ping URL. Pings still in ${stateDir}/${STATE_LAYOUT.spool} stay there.`
      : `Kept the hook file: ${stillUsed.join(" and ")} still run it.`,
  );
  return 0;
}

// ---------------------------------------------------------------------------
// src/doctor.ts
//
// `doctor`: checks, in plain words, everything a ping needs: the URL (token
// redacted), the settings files Claude Code merges (our hook wired once per
// event), the hook file and the runtime `install` recorded, the state
// directory, the spool, and the last delivery; `--ping` sends a test ping.
//
// Owns: `doctorCommand`. Uses: runtime, config, input, payload, ping_url,
// send, sender, cli_args, install.

/** A line of doctor's report; problems are counted for the exit code. */
class Report {
  problems = 0;

  ok(text: string): void {
    console.log(`ok       ${text}`);
  }

  problem(text: string): void {
    this.problems++;
    console.log(`PROBLEM  ${text}`);
  }
}

/**
 * `doctor`: checks, in plain words, everything a ping needs: the URL (token
 * redacted), the settings files Claude Code merges (our hook wired once per
 * event), the runtime, the state directory, the spool, the last delivery.
 * `--ping` also sends a test ping and shows the answer.
 *
 * @param runtime The runtime adapter.
 * @param args `[--ping]`.
 * @returns 0 when all is well, 1 otherwise.
 *
 * @example
 * ```ts ignore
 * await doctorCommand(detectRuntime(), ["--ping"]);
 * ```
 */
export async function doctorCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  const values = parseArgs(args, [], ["--ping"]);
  const fs = await runtime.fs();
  const config = await loadConfig(runtime);
  const claudeDir = claudeDirectory((name) => runtime.env(name));
  const report = new Report();
  let url: URL | undefined;
  if (config.pingUrl === undefined) {
    report.problem("No ping URL: run install --url ..., or set TELEMHQ_PING_URL where Claude Code starts.");
  } else {
    try {
      url = parsePingUrl(config.pingUrl);
      report.ok(`Ping URL ${redactUrl(url)} (from ${config.pingUrlSource}).`);
    } catch (error) {
      report.problem(`The ping URL (from ${config.pingUrlSource}) is refused: ${(error as Error).message}`);
    }
  }
  if (claudeDir === undefined || config.stateDir === undefined) {
    report.problem("HOME is not set: no settings or state directory to check.");
    return 1;
  }
  const stateDir = config.stateDir;
  const scanned = await scanSettings(claudeDir, runtime.cwd());
  const wired = new Map<string, string[]>();
  for (const file of scanned) {
    if (file.error !== undefined) report.problem(file.error);
    for (const hook of file.hooks) wired.set(hook.event, [...(wired.get(hook.event) ?? []), file.path]);
  }
  if (wired.size === 0) {
    report.problem(`No settings file runs the hook (${installedHookFiles(claudeDir).join(" or ")}): run install.`);
  }
  for (const [event, paths] of wired) {
    if (paths.length === 1) report.ok(`${event} runs the hook (${paths[0]}).`);
    else {
      report.problem(
        `${event} runs the hook ${paths.length} times (${
          paths.join(", ")
        }): Claude Code merges these files; run uninstall for all but one scope.`,
      );
    }
  }
  const record = await readInstallRecord(runtime, stateDir);
  const hookFile = record?.hook_file ?? scanned.flatMap((file) => file.hooks)[0]?.hookFile;
  if (hookFile !== undefined) {
    if (await fs.access(hookFile).then(() => true, () => false)) report.ok(`Hook file ${hookFile} is there.`);
    else if (wired.size > 0) report.problem(`Hook file ${hookFile} is missing: run install again.`);
  }
  if (record !== undefined) {
    // Only the runtime install resolved and recorded, never a word from a settings file.
    const version = await runVersion(record.runtime_path);
    if (version === undefined) {
      report.problem(
        `The runtime ${record.runtime_path} does not run: install it again, or run install with --runtime.`,
      );
    } else report.ok(`Runtime ${record.runtime_path} runs (${version}).`);
  } else if (wired.size > 0) {
    report.problem(`No install record in ${stateDir}: run install again so that doctor can check the runtime.`);
  }
  const probe = `${stateDir}/.doctor-${crypto.randomUUID()}`;
  try {
    await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
    await fs.writeFile(probe, "");
    await fs.rm(probe);
    report.ok(`State directory ${stateDir} is writable.`);
  } catch (error) {
    report.problem(`State directory ${stateDir} is not writable (${describeError(error)}): pings cannot be spooled.`);
  }
  const spoolDir = `${stateDir}/${STATE_LAYOUT.spool}`;
  const spooled = (await fs.readdir(spoolDir).catch(() => [] as string[])).filter((name) => name.endsWith(".json"));
  let oldest = Infinity;
  for (const name of spooled) {
    oldest = Math.min(oldest, await fs.stat(`${spoolDir}/${name}`).then((stat) => stat.mtimeMs, () => Infinity));
  }
  if (spooled.length === 0) report.ok("The spool is empty: every ping was delivered.");
  else if (Date.now() - oldest > 10 * 60_000) {
    report.problem(
      `${spooled.length} pings wait in the spool, the oldest for ${
        Math.round((Date.now() - oldest) / 60_000)
      } min: run flush to see why.`,
    );
  } else report.ok(`${spooled.length} pings wait in the spool (newer than 10 min): delivery is under way.`);
  const status = await readStatus(runtime, stateDir);
  if (
    status.last_error !== undefined &&
    (status.last_delivered_at === undefined || status.last_error.at > status.last_delivered_at)
  ) {
    report.problem(`Last delivery failed at ${status.last_error.at}: ${status.last_error.reason}.`);
  } else if (status.last_delivered_at !== undefined) {
    report.ok(
      `Last delivery at ${status.last_delivered_at}; ${status.delivered} delivered, ${status.rejected} refused in all.`,
    );
  }
  if (values["--ping"] && url !== undefined) {
    const payload = await buildPayload(
      { hook_event_name: "DoctorPing", session_id: crypto.randomUUID(), cwd: runtime.cwd() },
      { fallbackCwd: runtime.cwd(), runtime: runtime.name, sha256Hex: runtime.sha256Hex },
    );
    const result = await sendPing(url, payload, config.timeoutMs);
    if (result.outcome === "delivered") {
      report.ok(`Test ping accepted: ${redactUrl(url)} answered HTTP ${result.status}.`);
    } else report.problem(`Test ping not accepted: ${result.reason}.`);
  }
  const problems = report.problems;
  console.log(problems === 0 ? "\nAll good." : `\n${problems} problem${problems === 1 ? "" : "s"} found.`);
  return problems === 0 ? 0 : 1;
}

/** A runtime's `--version` answer (first line), or undefined when it does not run within 10 s. */
async function runVersion(path: string): Promise<string | undefined> {
  const { execFile } = await import("node:child_process");
  return await new Promise((resolve) => {
    execFile(path, ["--version"], { timeout: 10_000 }, (error, stdout) => {
      resolve(error ? undefined : String(stdout).split("\n")[0].trim());
    });
  });
}

// ---------------------------------------------------------------------------
// src/cli.ts
//
// The command line: with no arguments, the hook (what Claude Code runs);
// otherwise a command people type (`install`, `uninstall`, `doctor`,
// `flush`, `command`) or the detached sender (`deliver`). Runs when this file
// is the main module.
//
// Owns: the help text, `flush`, `command`, dispatch, the main-module check.
// Uses: runtime, config, launch, payload, run_hook, sender, cli_args,
// install, doctor.

const HELP = `TelemHQ hook for Claude Code ${HOOK_VERSION}

Usage:
  hook.ts install --url URL [--scope user|project|local|managed] [--runtime deno|bun] [--tool-activity]
                     copy the hook into ~/.claude/hooks, save the ping URL, wire it into settings.json
  hook.ts uninstall [--scope user|project|local]
                     remove exactly what install added
  hook.ts doctor [--ping]
                     check the URL, the settings, the runtime, the spool; --ping sends a test ping
  hook.ts            read one hook event on stdin and spool its ping (what Claude Code runs)
  hook.ts --detached the same, started by the shell fast path: also delivers the spool
  hook.ts flush      deliver every spooled ping now and report what happened
  hook.ts command    print the settings.json hook command for this runtime and file
                     (the shell fast path; --direct: run this file directly instead)
  hook.ts --help     show this help

Settings come from the environment: TELEMHQ_PING_URL, TELEMHQ_TIMEOUT_MS,
TELEMHQ_STATE_DIR, TELEMHQ_HOOK_DEBUG=1 (see the README).`;

/**
 * `flush`: delivers the spool now and prints a report. Exit code 0 when
 * every ping was delivered (none refused, none left waiting).
 *
 * @param runtime The runtime adapter.
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * const code = await flushCommand(detectRuntime());
 * ```
 */
export async function flushCommand(runtime: Runtime): Promise<number> {
  const config = await loadConfig(runtime);
  const stateDir = config.stateDir;
  if (stateDir === undefined) {
    console.error("Cannot flush: no state directory. Set HOME or TELEMHQ_STATE_DIR.");
    return 1;
  }
  let report = await deliverSpool(runtime, config, { flush: true });
  if (report.busy) {
    // A sender is running: ask it to send everything now and leave, then take over.
    await runtime.writePrivateFile(`${stateDir}/${STATE_LAYOUT.flushRequest}`, "");
    const deadline = Date.now() + 30_000;
    while (report.busy && Date.now() < deadline) {
      await sleep(200);
      report = await deliverSpool(runtime, config, { flush: true });
    }
    if (report.busy) {
      console.error(`Cannot flush: a sender in "${stateDir}" is busy. Try again in a minute.`);
      return 1;
    }
  }
  console.log(flushSummary(report, stateDir));
  return report.waiting === 0 && report.rejected === 0 ? 0 : 1;
}

function flushSummary(report: DeliveryReport, stateDir: string): string {
  const { status } = report;
  const lines = [`Delivered ${report.delivered} ping${report.delivered === 1 ? "" : "s"} now.`];
  if (report.rejected > 0) {
    lines.push(
      `${report.rejected} refused by the tracker (${status.last_error?.reason}): check TELEMHQ_PING_URL; kept in "${stateDir}/${STATE_LAYOUT.failed}".`,
    );
  }
  if (report.waiting > 0) {
    lines.push(`${report.waiting} still waiting to be retried; last error: ${status.last_error?.reason}.`);
  }
  const dropped = status.dropped.too_many + status.dropped.too_old + status.dropped.unreadable;
  lines.push(
    `In all: ${status.delivered} delivered, ${status.rejected} refused, ${dropped} dropped ` +
      `(${status.dropped.too_many} over the spool limit, ${status.dropped.too_old} too old, ${status.dropped.unreadable} unreadable).`,
  );
  return lines.join("\n");
}

/**
 * `command`: prints the hook command for settings.json: this runtime and this
 * file, by absolute path (hooks started from IDEs and desktop apps get a minimal
 * PATH), through the shell fast path unless `--direct` is given.
 *
 * @param runtime The runtime adapter.
 * @param args The arguments after `command`.
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * printHookCommand(detectRuntime(), ["--direct"]);
 * ```
 */
export function printHookCommand(runtime: Runtime, args: readonly string[]): number {
  const unknown = args.find((arg) => arg !== "--direct");
  if (unknown !== undefined) {
    console.error(`Cannot print the hook command: unknown option "${unknown}". Use --direct or nothing.`);
    return 2;
  }
  const stateDir = readConfig((name) => runtime.env(name)).stateDir;
  if (stateDir === undefined) {
    console.error("Cannot print the hook command: no state directory. Set HOME or TELEMHQ_STATE_DIR.");
    return 1;
  }
  const hook = selfCommand(runtime, [], stateDir);
  if (hook === undefined) {
    console.error("Cannot print the hook command: this hook does not run from a local file. Save it first.");
    return 1;
  }
  console.log(args.includes("--direct") ? hook.map(shellWord).join(" ") : fastPathCommand(hook));
  return 0;
}

/**
 * The command line: with no arguments, the hook (what Claude Code runs);
 * otherwise `install`, `uninstall`, `doctor`, `flush`, `command`, `--help`.
 * Ends the process. Run when this file is the main module; the npm build's
 * bin calls it.
 *
 * @returns Never returns: exits with the command's code (always 0 for the hook).
 *
 * @example
 * ```ts ignore
 * await runCommandLine();
 * ```
 */
export async function runCommandLine(): Promise<void> {
  let runtime: Runtime | undefined;
  let code = 0;
  try {
    runtime = detectRuntime();
    const [command] = runtime.args;
    const help = runtime.args.some((arg) => arg === "--help" || arg === "-h") || command === "help";
    if (help && command !== "--detached") {
      console.log(HELP);
    } else if (command === undefined || command === "--detached") {
      const problem = await runHook(runtime, { detached: command === "--detached" });
      if (problem !== undefined && runtime.env("TELEMHQ_HOOK_DEBUG") === "1") {
        // Debug output goes to stderr only: Claude Code reads hook stdout.
        console.error(`TelemHQ hook: ${problem}`);
      }
    } else if (command === "deliver") {
      // The detached sender: no terminal, nobody to tell; problems land in status.json.
      const config = await loadConfig(runtime);
      const lockToken = runtime.args[1] === "--lock" ? runtime.args[2] : undefined;
      await deliverSpool(runtime, config, { lockToken }).catch(() => {});
    } else if (command === "flush") {
      code = await flushCommand(runtime);
    } else if (command === "command") {
      code = printHookCommand(runtime, runtime.args.slice(1));
    } else if (command === "install" || command === "uninstall" || command === "doctor") {
      const run = { install: installCommand, uninstall: uninstallCommand, doctor: doctorCommand }[command];
      code = await run(runtime, runtime.args.slice(1)).catch((error) => {
        if (!(error instanceof CommandError)) throw error;
        console.error(error.message);
        return error.exitCode;
      });
    } else {
      console.error(`Unknown command "${command}". Run with --help to see the commands.`);
      code = 2;
    }
  } finally {
    runtime?.exit(code);
  }
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
  return (await realpath(entry).catch(() => entry)) === decodeURIComponent(self.pathname);
}

if (await isMainModule()) {
  await runCommandLine();
}
