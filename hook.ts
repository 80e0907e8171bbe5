#!/usr/bin/env -S deno run --no-config --no-lock -A
/**
 * The TelemHQ hook for Claude Code: reads one hook event from stdin and sends
 * a privacy-safe metadata ping to the TelemHQ tracker in `TELEMHQ_PING_URL`.
 *
 * This file is self-contained on purpose (users curl-install it): it imports
 * nothing but web-standard APIs, and runs unchanged under Deno and Bun.
 * Imported as a module it only exports its building blocks; executed as the
 * main module it runs the hook.
 *
 * @module
 */

/** Version of this hook, sent in every ping as `hook_version`. */
export const HOOK_VERSION = "0.1.0";

/** The largest event the hook reads from stdin; larger events send nothing. */
export const MAX_EVENT_BYTES: number = 128 * 1024 * 1024;

// ---------------------------------------------------------------------------
// Types

/**
 * A Claude Code hook event as it arrives on stdin. Every field is `unknown`
 * because the hook must survive whatever it is given; {@linkcode buildPayload}
 * checks each field's type before it uses it.
 */
export type HookInput = Readonly<Record<string, unknown>>;

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

// ---------------------------------------------------------------------------
// Field rules, as data

/** Events that always mean failure, as in the reference script. */
export const FAILED_EVENTS: ReadonlySet<string> = new Set([
  "PostToolUseFailure",
  "StopFailure",
]);

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

/** Events that Claude Code fires at most once per prompt (turn), so `prompt_id` identifies them. */
const ONCE_PER_PROMPT_EVENTS: ReadonlySet<string> = new Set([
  "UserPromptSubmit",
  "Stop",
  "StopFailure",
]);

// Ids, tool names and modes are machine tokens; anything else in those fields
// (free text, a path, an object) is dropped rather than sent.
const TOKEN_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}$/;
const EVENT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const MAX_PROJECT_CHARS = 255;

// ---------------------------------------------------------------------------
// Payload building

/**
 * Hashes a string the way the reference script does: the first 12 hex digits
 * of the SHA-256 of its UTF-8 bytes.
 *
 * @param value The string to hash, for example a path.
 * @returns 12 lowercase hex digits.
 *
 * @example
 * ```ts
 * await shortHash("/home/dev/projects/api"); // "9cb5a8e8a4d8"-like
 * ```
 */
export async function shortHash(value: string): Promise<string> {
  return (await sha256Hex(value)).slice(0, 12);
}

function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** SHA-256 round constants and initial state (FIPS 180-4): cube and square roots of the first primes. */
const SHA256_K = new Uint32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);
const SHA256_H = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

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
 * sha256HexSync("abc"); // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
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

/** SHA-256 of a string's UTF-8 bytes, as hex: Web Crypto unless the runtime adapter chose otherwise. */
let sha256Hex = async (text: string): Promise<string> =>
  toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));

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
 * countCodePoints("a😀"); // 2, while "a😀".length is 3
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
 * projectName("/home/dev/projects/api/"); // "api"
 * ```
 */
export function projectName(cwd: string): string {
  // pathlib drops empty and "." components, keeps ".." as a name.
  const parts = cwd.split("/").filter((part) => part !== "" && part !== ".");
  const name = parts.length > 0 ? parts[parts.length - 1] : "";
  // A leading "." alone is dropped by pathlib only as a whole path ("." or "./").
  return name === "" ? "unknown" : name.slice(0, MAX_PROJECT_CHARS);
}

/** Python's truthiness of a parsed JSON value, for the reference script's `event.get("error")`. */
function isTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value !== null && typeof value === "object") return Object.keys(value).length > 0;
  return Boolean(value);
}

function stringField(input: HookInput, key: string): string | undefined {
  const value = input[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

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

function eventName(input: HookInput): string {
  const value = input.hook_event_name;
  return typeof value === "string" && EVENT_NAME_PATTERN.test(value) ? value : "ClaudeCode";
}

/**
 * Derives the stable id of the ping for an event: the same event, fired twice
 * or retried, gets the same id, so a receiver can drop the duplicate.
 *
 * The key is the session, the event name and the most specific id the event
 * has: the tool call (`tool_use_id`; a PostToolBatch's first call), the subagent (`agent_id`), or the prompt
 * for events that fire once per prompt. Events without such an id (SessionStart,
 * SessionEnd, Notification, ...) add their kind and the second they occurred in.
 *
 * @param input The hook event.
 * @param occurredAt When the hook received the event.
 * @returns 32 lowercase hex digits.
 *
 * @example
 * ```ts
 * const id = await pingId({ session_id: "s1", hook_event_name: "Stop", prompt_id: "p1" }, new Date());
 * ```
 */
export async function pingId(input: HookInput, occurredAt: Date): Promise<string> {
  const event = eventName(input);
  const parts = [tokenField(input, "session_id") ?? "", event];
  const callId = tokenField(input, "tool_use_id") ?? tokenField(input, "agent_id") ?? firstBatchCallId(input);
  const promptId = tokenField(input, "prompt_id");
  if (callId !== undefined) {
    parts.push(callId);
  } else if (promptId !== undefined && ONCE_PER_PROMPT_EVENTS.has(event) && input.stop_hook_active !== true) {
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
 * const payload = await buildPayload(
 *   { hook_event_name: "Stop", session_id: "s1", cwd: "/home/dev/api" },
 *   { fallbackCwd: "/", runtime: "deno/2.9.6" },
 * );
 * payload.project; // "api"
 * ```
 */
export async function buildPayload(input: HookInput, context: PayloadContext): Promise<Payload> {
  const occurredAt = context.occurredAt ?? new Date();
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
    cwd_hash: cwd === "" ? undefined : await shortHash(cwd),
    transcript_path_hash: transcriptPath === undefined ? undefined : await shortHash(transcriptPath),
    error: error !== undefined && STOP_FAILURE_ERRORS.has(error) ? error : undefined,
    last_assistant_message_chars: typeof lastMessage === "string" ? countCodePoints(lastMessage) : undefined,
    ping_id: await pingId(input, occurredAt),
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

function omitUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}

// ---------------------------------------------------------------------------
// Input

/** Why the hook sent nothing: a reason for the debug line, never shown otherwise. */
export class HookSkip extends Error {
  /** @param message One line, safe to print (holds no secret). */
  constructor(message: string) {
    super(message);
    this.name = "HookSkip";
  }
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
 * parseEvent(new TextEncoder().encode('{"hook_event_name":"Stop"}'));
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
 * const bytes = await readAll(new Blob(["{}"]).stream(), 1024);
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
// The ping URL

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
 * parsePingUrl("https://telemhq.com/ping/TOKEN").host; // "telemhq.com"
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
 * @returns For example `"https://telemhq.com/ping/<redacted>"`.
 *
 * @example
 * ```ts
 * redactUrl(new URL("https://telemhq.com/ping/abc123")); // "https://telemhq.com/<redacted>"
 * ```
 */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}/<redacted>`;
}

/** Removes every trace of a URL's secret parts from a message. */
function redactMessage(message: string, url: URL): string {
  const secrets = [url.href, url.pathname + url.search, url.pathname, url.username, url.password]
    .filter((secret) => secret.length > 1);
  let redacted = message;
  for (const secret of secrets) redacted = redacted.split(secret).join("/<redacted>");
  return redacted.replace(/[\r\n]+/g, " ");
}

// ---------------------------------------------------------------------------
// Sending

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
 * retryAfterMs("120", Date.now()); // 120000
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
 * whether to retry. Never throws; redirects are not followed (they would
 * carry the token elsewhere) and count as rejected.
 *
 * @param url The ping URL (see {@linkcode parsePingUrl}).
 * @param payload The ping.
 * @param timeoutMs Time limit of the whole request, in milliseconds.
 * @returns The outcome, the status, the receiver's `Retry-After`, and a redacted reason.
 *
 * @example
 * ```ts
 * const result = await sendPing(new URL("http://127.0.0.1:8787/ping/t"), payload, 5000);
 * if (result.outcome === "retry") console.error(result.reason);
 * ```
 */
export async function sendPing(url: URL, payload: Payload, timeoutMs: number): Promise<SendResult> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": `telemhq-claude-code/${HOOK_VERSION}` },
      body: JSON.stringify(payload),
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
 * backoffMs(3, 1000, 300_000, Math.random()); // between 2000 and 4000
 * ```
 */
export function backoffMs(attempts: number, baseMs: number, maxMs: number, random: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(ceiling / 2 + (random * ceiling) / 2);
}

// ---------------------------------------------------------------------------
// Runtime: the one place that knows which runtime runs the hook

/** What the hook needs from the runtime that runs it. */
export interface Runtime {
  /** For example `"deno/2.9.6"`. */
  readonly name: string;
  /** Command-line arguments after the script. */
  readonly args: readonly string[];
  /** An environment variable, or undefined when unset or not permitted. */
  env(name: string): string | undefined;
  /** The process's working directory, or `""` when not permitted. */
  cwd(): string;
  /** The process's stdin as a byte stream. */
  stdin(): AsyncIterable<Uint8Array>;
  /** Creates or replaces a file readable by this user only (0600). */
  writePrivateFile(path: string, text: string): Promise<void>;
  /** Creates a directory and its parents, readable by this user only (0700). */
  makePrivateDirectory(path: string): Promise<void>;
  /** A file's modification time in milliseconds, or undefined when it does not exist. */
  modifiedAt(path: string): Promise<number | undefined>;
  /**
   * Creates a private file only if it does not exist (true), else false. Undefined where
   * the runtime has no cheap way to do it on the hook's path (Bun: `node:fs` costs ~9 ms).
   */
  readonly createExclusive?: (path: string, text: string) => Promise<boolean>;
  /** Starts a process in its own session with stdio closed; resolves once it is started, not when it ends. */
  startDetached(argv: readonly string[]): Promise<void>;
  /** The command that runs this script again with `args`, or undefined when it cannot (not a local file). */
  selfCommand(args: readonly string[], stateDir: string, narrow?: NarrowAccess): string[] | undefined;
  /** A file's text, or undefined when it cannot be read. */
  readTextFile(path: string): Promise<string | undefined>;
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
  stdin: AsyncIterable<Uint8Array>;
  exit(code: number): never;
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

/** The path of this script, when it runs from a local file. */
function thisScriptPath(): string | undefined {
  const url = new URL(import.meta.url);
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : undefined;
}

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
 * denoRunFlags("/usr/bin/deno", "/home/me/.claude/telemhq");
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

/** What the narrowest Deno flags are made of: the tracker's host and Claude Code's folder (transcripts). */
export interface NarrowAccess {
  /** The ping URL's host, with its port if it has one. */
  pingHost: string;
  /** Claude Code's configuration folder (`CLAUDE_CONFIG_DIR`, default `~/.claude`). */
  claudeDir: string;
}

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

/** Bun's flags: no `.env` of the project, no auto-install. */
const BUN_RUN_FLAGS: readonly string[] = ["--no-env-file", "--no-install"];

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
 * detectRuntime().name; // "deno/2.9.6"
 * ```
 */
export function detectRuntime(): Runtime {
  const scope = globalThis as { Deno?: DenoLike; Bun?: BunLike; process?: ProcessLike };
  const deno = scope.Deno;
  if (deno !== undefined) {
    return {
      name: `deno/${deno.version.deno}`,
      args: deno.args,
      env: (name) => attempt(() => deno.env.get(name), undefined),
      cwd: () => attempt(() => deno.cwd(), ""),
      // Deno's synchronous calls: its async ops and stdin stream cost 3-7 ms each to set up.
      stdin: () => readSyncChunks(deno.stdin),
      writePrivateFile: (path, text) => settle(() => deno.writeTextFileSync(path, text, { mode: 0o600 })),
      makePrivateDirectory: (path) => settle(() => deno.mkdirSync(path, { recursive: true, mode: 0o700 })),
      modifiedAt: (path) => settle(() => attempt(() => deno.statSync(path).mtime?.getTime(), undefined)),
      createExclusive: (path, text) =>
        settle(() =>
          attempt(() => (deno.writeTextFileSync(path, text, { mode: 0o600, createNew: true }), true), false)
        ),
      startDetached: (argv) =>
        settle(() => {
          const quiet = { stdin: "null", stdout: "null", stderr: "null", detached: true };
          new deno.Command(argv[0], { args: argv.slice(1), ...quiet }).spawn().unref();
        }),
      selfCommand: (args, stateDir, narrow) => {
        const script = thisScriptPath();
        const denoPath = deno.execPath();
        // The sender gets what this process got: narrow flags only if this process runs narrowed.
        const broad = attempt(() => deno.permissions.querySync({ name: "net" }).state === "granted", true);
        return script === undefined
          ? undefined
          : [denoPath, "run", ...denoRunFlags(denoPath, stateDir, broad ? undefined : narrow), script, ...args];
      },
      readTextFile: (path) => settle(() => attempt(() => deno.readTextFileSync(path), undefined)),
      exit: (code) => deno.exit(code),
    };
  }
  const process = scope.process;
  if (process === undefined) throw new Error("Unsupported runtime: need Deno, Bun or Node.js");
  const bun = scope.Bun;
  // Node 20.16+ hands out built-in modules synchronously, without import()'s few milliseconds each.
  const builtin = <T>(id: string, load: () => Promise<T>): Promise<T> => {
    const module = process.getBuiltinModule?.(id);
    return module !== undefined ? Promise.resolve(module as T) : load();
  };
  const fsPromises = bun === undefined ? builtin("node:fs/promises", () => import("node:fs/promises")) : undefined;
  const node = {
    fs: () => fsPromises ?? import("node:fs/promises"),
    spawn: async (argv: readonly string[]) => {
      const { spawn } = await builtin("node:child_process", () => import("node:child_process"));
      spawn(argv[0], argv.slice(1), { detached: true, stdio: "ignore" }).unref();
    },
  };
  const self = (flags: readonly string[]) => (args: readonly string[]) => {
    const script = thisScriptPath();
    return script === undefined ? undefined : [process.execPath, ...flags, script, ...args];
  };
  const common = {
    args: process.argv.slice(2),
    env: (name: string) => process.env[name],
    cwd: () => attempt(() => process.cwd(), ""),
    makePrivateDirectory: async (path: string) => {
      await (await node.fs()).mkdir(path, { recursive: true, mode: 0o700 });
    },
    exit: (code: number) => process.exit(code),
  };
  if (bun !== undefined) {
    // Files Bun.write creates, and the folders it creates for them, are this user's only.
    process.umask(0o077);
    return {
      ...common,
      name: `bun/${process.versions.bun}`,
      // Bun's process.stdin (its Node stream emulation) costs about 25 ms to start; Bun.stdin does not.
      stdin: () => bun.stdin.stream(),
      writePrivateFile: async (path, text) => {
        await bun.write(path, text);
      },
      modifiedAt: async (path) => {
        const file = bun.file(path);
        return (await file.exists()) ? file.lastModified : undefined;
      },
      startDetached: (argv) =>
        settle(() => bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "ignore", detached: true }).unref()),
      selfCommand: self(BUN_RUN_FLAGS),
      readTextFile: (path) => bun.file(path).text().catch(() => undefined),
    };
  }
  // Node: its Web Crypto costs about 11 ms to set up and node:crypto about 5 to load, more than
  // hashing a path in plain JavaScript; its process.stdin stream about 9 ms, a plain read of
  // descriptor 0 next to nothing.
  const nodeFs = builtin("node:fs", () => import("node:fs"));
  sha256Hex = (text) => settle(() => sha256HexSync(text));
  return {
    ...common,
    name: `node/${process.versions.node}`,
    stdin: async function* () {
      yield (await nodeFs).readFileSync(0);
    },
    writePrivateFile: async (path, text) => {
      await (await node.fs()).writeFile(path, text, { mode: 0o600 });
    },
    modifiedAt: async (path) => {
      try {
        return (await (await node.fs()).stat(path)).mtimeMs;
      } catch {
        return undefined;
      }
    },
    createExclusive: async (path, text) => {
      try {
        await (await node.fs()).writeFile(path, text, { flag: "wx", mode: 0o600 });
        return true;
      } catch {
        return false;
      }
    },
    startDetached: (argv) => node.spawn(argv),
    selfCommand: self([]),
    readTextFile: async (path) => (await node.fs()).readFile(path, "utf8").catch(() => undefined),
  };
}

/** Runs a synchronous action as a promise: its result resolves it, its exception rejects it. */
function settle<T>(action: () => T): Promise<T> {
  return new Promise((resolve) => resolve(action()));
}

function attempt<T>(action: () => T, fallback: T): T {
  try {
    return action();
  } catch {
    return fallback;
  }
}

// ---------------------------------------------------------------------------
// Settings

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

/** Default time limit of the ping request, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 10_000;

function numberSetting(raw: string | undefined, fallback: number, min: number, max: number): number {
  const value = Number(raw);
  return raw !== undefined && raw.trim() !== "" && Number.isFinite(value)
    ? Math.min(Math.max(Math.round(value), min), max)
    : fallback;
}

/**
 * The state directory: `TELEMHQ_STATE_DIR`, else `telemhq/` in Claude Code's
 * configuration directory (`CLAUDE_CONFIG_DIR`, default `~/.claude`).
 *
 * @param env Looks up an environment variable.
 * @returns The directory, or undefined when neither it nor a home is known.
 *
 * @example
 * ```ts
 * stateDirectory((name) => ({ HOME: "/home/me" })[name]); // "/home/me/.claude/telemhq"
 * ```
 */
export function stateDirectory(env: (name: string) => string | undefined): string | undefined {
  const explicit = env("TELEMHQ_STATE_DIR")?.trim();
  if (explicit) return explicit;
  const config = env("CLAUDE_CONFIG_DIR")?.trim();
  if (config) return `${config.replace(/\/+$/, "")}/telemhq`;
  const home = env("HOME")?.trim();
  return home ? `${home.replace(/\/+$/, "")}/.claude/telemhq` : undefined;
}

/**
 * Reads the hook's settings from the environment; see the README's table.
 *
 * @param env Looks up an environment variable.
 * @returns The settings, with defaults and numbers clamped to sane ranges.
 *
 * @example
 * ```ts
 * readConfig((name) => ({ TELEMHQ_PING_URL: "https://telemhq.com/ping/T" })[name]);
 * ```
 */
export function readConfig(env: (name: string) => string | undefined): HookConfig {
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
 * Claude Code's configuration folder: `CLAUDE_CONFIG_DIR`, else `~/.claude`.
 *
 * @param env Looks up an environment variable.
 * @returns The folder, or undefined when no home is known.
 *
 * @example
 * ```ts
 * claudeDirectory((name) => ({ HOME: "/home/me" })[name]); // "/home/me/.claude"
 * ```
 */
export function claudeDirectory(env: (name: string) => string | undefined): string | undefined {
  const config = env("CLAUDE_CONFIG_DIR")?.trim();
  if (config) return config.replace(/\/+$/, "");
  const home = env("HOME")?.trim();
  return home ? `${home.replace(/\/+$/, "")}/.claude` : undefined;
}

/** The narrow Deno access for a ping URL, when Claude Code's folder is known. */
function narrowAccess(runtime: Runtime, pingUrl: string | undefined): NarrowAccess | undefined {
  const claudeDir = claudeDirectory((name) => runtime.env(name));
  const host = pingUrl === undefined ? undefined : attempt(() => new URL(pingUrl).host, undefined);
  return claudeDir === undefined || host === undefined ? undefined : { pingHost: host, claudeDir };
}

// ---------------------------------------------------------------------------
// The spool: pings made durable before any network work

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
  transcript_path?: string;
  agent_transcript_path?: string;
  prompt_id?: string;
}

/** The events whose ping carries usage, and the session end, which carries the totals. */
const USAGE_EVENTS: ReadonlySet<string> = new Set(["Stop", "StopFailure", "SubagentStop", "SessionEnd"]);

/**
 * What the sender needs from an event to add usage to its ping later: the
 * transcript paths and the turn's id, for the events that carry usage.
 *
 * @param input The hook event.
 * @returns The usage source, or undefined for other events.
 *
 * @example
 * ```ts
 * usageSource({ hook_event_name: "Stop", transcript_path: "/t.jsonl", prompt_id: "p1" });
 * ```
 */
export function usageSource(input: HookInput): UsageSource | undefined {
  if (!USAGE_EVENTS.has(eventName(input))) return undefined;
  return {
    transcript_path: stringField(input, "transcript_path"),
    agent_transcript_path: stringField(input, "agent_transcript_path"),
    prompt_id: tokenField(input, "prompt_id"),
  };
}

/** The state directory's layout. */
export const STATE_LAYOUT = {
  spool: "spool",
  failed: "failed",
  sessions: "sessions",
  config: "config.json",
  lock: "sender.lock",
  status: "status.json",
  flushRequest: "flush.request",
} as const;

/** How long a SessionEnd ping waits for the session's other pings before its first attempt. */
const SESSION_END_DELAY_MS = 2000;

/** A sender whose lock is older than this is gone (killed, crashed): another may take over. */
const LOCK_STALE_MS = 5000;
const HEARTBEAT_MS = 1000;

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
 * ```ts
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
  const next = payload.event === "SessionEnd" ? now + SESSION_END_DELAY_MS : 0;
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

/**
 * Whether a sender is running: its lock exists and its heartbeat is fresh.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @returns True when a live sender holds the lock.
 *
 * @example
 * ```ts
 * if (!(await senderIsRunning(runtime, stateDir))) startSender(runtime, stateDir);
 * ```
 */
export async function senderIsRunning(runtime: Runtime, stateDir: string): Promise<boolean> {
  const modified = await runtime.modifiedAt(`${stateDir}/${STATE_LAYOUT.lock}`);
  return modified !== undefined && Date.now() - modified < LOCK_STALE_MS;
}

// ---------------------------------------------------------------------------
// Usage: tokens and cost of a turn, read from the end of the transcript

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
 * priceTable('{"my-proxy-model":{"input":1,"output":2,"cache_write_5m":1,"cache_write_1h":1,"cache_read":0.1}}');
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
 * priceFor("claude-sonnet-4-5-20250929", MODEL_PRICES)?.input; // 3
 * ```
 */
export function priceFor(model: string, table: Readonly<Record<string, ModelPrice>>): ModelPrice | undefined {
  if (Object.hasOwn(table, model)) return table[model];
  const family = model.replace(/\[[^\]]*\]$/, "").replace(/-\d{8}$/, "");
  return Object.hasOwn(table, family) ? table[family] : undefined;
}

/** Tokens, cost and shape of one turn (or one subagent run), as sent in the ping. */
export interface TurnUsage {
  /** Uncached input tokens. */
  input_tokens: number;
  /** Output tokens. */
  output_tokens: number;
  /** Tokens written to the prompt cache. */
  cache_creation_input_tokens: number;
  /** Tokens read from the prompt cache. */
  cache_read_input_tokens: number;
  /** All four above. */
  total_tokens: number;
  /** The model that produced most output tokens. */
  model?: string;
  /** Every model used, when more than one. */
  models?: string[];
  /** List-price cost in US dollars; absent when a model's price is unknown. */
  cost_usd?: number;
  /** From the prompt to the last response, in milliseconds. */
  duration_ms?: number;
  /** The git branch Claude Code recorded. */
  git_branch?: string;
  /** Distinct API responses (each counted once, however many lines it spans). */
  api_requests: number;
  /** Tool calls the model made. */
  tool_calls: number;
}

/** The parts of a transcript line the usage reader looks at. */
interface TranscriptLine {
  type?: unknown;
  promptId?: unknown;
  requestId?: unknown;
  timestamp?: unknown;
  gitBranch?: unknown;
  isMeta?: unknown;
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
 * for await (const line of readLinesBackward("session.jsonl")) console.log(line);
 * ```
 */
export async function* readLinesBackward(path: string, chunkBytes = 64 * 1024): AsyncGenerator<string> {
  const fs = await import("node:fs/promises");
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

function parseLine(line: string): TranscriptLine | undefined {
  try {
    const value = JSON.parse(line);
    return value !== null && typeof value === "object" ? value as TranscriptLine : undefined;
  } catch {
    return undefined; // a broken or half-written line: skipped
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

/** What a git branch name may hold here: letters, digits and the punctuation refs commonly use. */
const BRANCH_PATTERN = /^[\p{L}\p{N}._/@+#-]{1,255}$/u;

const USAGE_FIELDS = [
  "input_tokens",
  "output_tokens",
  "cache_creation_input_tokens",
  "cache_read_input_tokens",
] as const;

interface ResponseUsage {
  model?: string;
  tokens: Record<(typeof USAGE_FIELDS)[number] | "cache_5m" | "cache_1h", number>;
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
 * sumUsage(lines, MODEL_PRICES)?.total_tokens;
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
  private readonly responses = new Map<string, ResponseUsage>();
  private readonly toolUses = new Set<string>();
  private branch: { name: string; time: number } | undefined;
  private first = Infinity;
  private last = -Infinity;

  add(line: TranscriptLine): void {
    const time = typeof line.timestamp === "string" ? Date.parse(line.timestamp) : NaN;
    if (!Number.isNaN(time) && (line.type === "user" || line.type === "assistant")) {
      this.first = Math.min(this.first, time);
      this.last = Math.max(this.last, time);
    }
    if (typeof line.gitBranch === "string" && BRANCH_PATTERN.test(line.gitBranch)) {
      // The branch of the latest line: a turn may switch branches.
      const at = Number.isNaN(time) ? -Infinity : time;
      if (this.branch === undefined || at >= this.branch.time) this.branch = { name: line.gitBranch, time: at };
    }
    const message = line.message;
    if (line.type !== "assistant" || message === undefined || typeof message.id !== "string") return;
    // Claude Code writes API errors as "<synthetic>" assistant messages: no response was billed.
    if (message.model === "<synthetic>") return;
    if (Array.isArray(message.content)) {
      for (const block of message.content as { type?: unknown; id?: unknown }[]) {
        if (block?.type === "tool_use" && typeof block.id === "string") this.toolUses.add(block.id);
      }
    }
    const usage = message.usage;
    if (usage === undefined || usage === null || typeof usage !== "object") return;
    const key = `${message.id}\u0000${typeof line.requestId === "string" ? line.requestId : ""}`;
    const response = this.responses.get(key) ?? {
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
    for (const field of USAGE_FIELDS) response.tokens[field] = Math.max(response.tokens[field], count(usage[field]));
    const split = usage.cache_creation as Record<string, unknown> | undefined;
    response.tokens.cache_5m = Math.max(response.tokens.cache_5m, count(split?.ephemeral_5m_input_tokens));
    response.tokens.cache_1h = Math.max(response.tokens.cache_1h, count(split?.ephemeral_1h_input_tokens));
    this.responses.set(key, response);
  }

  total(prices: Readonly<Record<string, ModelPrice>>): TurnUsage | undefined {
    if (this.responses.size === 0) return undefined;
    const totals = { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    const outputByModel = new Map<string, number>();
    let cost: number | undefined = 0;
    for (const { model, tokens } of this.responses.values()) {
      for (const field of USAGE_FIELDS) totals[field] += tokens[field];
      if (model !== undefined) outputByModel.set(model, (outputByModel.get(model) ?? 0) + tokens.output_tokens);
      const price = model === undefined ? undefined : priceFor(model, prices);
      if (price === undefined || cost === undefined) {
        cost = undefined;
        continue;
      }
      // Writes not split by lifetime (older transcripts) are priced as 5-minute writes, Claude Code's default.
      const unsplit = Math.max(0, tokens.cache_creation_input_tokens - tokens.cache_5m - tokens.cache_1h);
      cost += (tokens.input_tokens * price.input + tokens.output_tokens * price.output +
        (tokens.cache_5m + unsplit) * price.cache_write_5m + tokens.cache_1h * price.cache_write_1h +
        tokens.cache_read_input_tokens * price.cache_read) / 1_000_000;
    }
    const models = [...outputByModel.entries()].sort((a, b) => b[1] - a[1]).map(([model]) => model);
    return {
      ...totals,
      total_tokens: USAGE_FIELDS.reduce((sum, field) => sum + totals[field], 0),
      model: models[0],
      models: models.length > 1 ? models : undefined,
      // Micro-dollars: floating-point sums would otherwise show noise in the last digits.
      cost_usd: cost === undefined ? undefined : Math.round(cost * 1_000_000) / 1_000_000,
      duration_ms: this.first <= this.last ? this.last - this.first : undefined,
      git_branch: this.branch?.name,
      api_requests: this.responses.size,
      tool_calls: this.toolUses.size,
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
 * ```ts
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
 * ```ts
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
// The sender: one process drains the spool, outside Claude Code's wait

type FsPromises = typeof import("node:fs/promises");

/** Delivery counters and the last problem, kept in `<state>/status.json` for `flush` and `doctor`. */
export interface DeliveryStatus {
  delivered: number;
  rejected: number;
  dropped: { too_many: number; too_old: number; unreadable: number };
  last_delivered_at?: string;
  last_error?: { at: string; reason: string; status?: number; outcome: SendOutcome };
}

function emptyStatus(): DeliveryStatus {
  return { delivered: 0, rejected: 0, dropped: { too_many: 0, too_old: 0, unreadable: 0 } };
}

/** The sender's lock: a file holding its token, touched every second as a heartbeat. */
class SenderLock {
  private constructor(
    private readonly fs: FsPromises,
    private readonly path: string,
    private readonly token: string,
  ) {}

  /** Takes the lock when it is free or its holder is gone; undefined when a live sender holds it. */
  static async acquire(fs: FsPromises, stateDir: string): Promise<SenderLock | undefined> {
    const path = `${stateDir}/${STATE_LAYOUT.lock}`;
    const token = crypto.randomUUID();
    for (let round = 0; round < 2; round++) {
      try {
        await fs.writeFile(path, token, { flag: "wx", mode: 0o600 });
        return new SenderLock(fs, path, token);
      } catch (error) {
        if ((error as { code?: string }).code !== "EEXIST") throw error;
      }
      const stat = await fs.stat(path).catch(() => undefined);
      if (stat !== undefined && Date.now() - stat.mtimeMs < LOCK_STALE_MS) return undefined;
      // The holder is gone. Move its lock aside (one contender wins the rename), then retry.
      await fs.rename(path, `${path}.stale-${token}`).then(() => fs.rm(`${path}.stale-${token}`, { force: true }))
        .catch(() => {});
    }
    return undefined;
  }

  /** Takes over a lock a hook claimed for this sender (see startSender), else acquires as usual. */
  static async adopt(fs: FsPromises, stateDir: string, token: string | undefined): Promise<SenderLock | undefined> {
    const path = `${stateDir}/${STATE_LAYOUT.lock}`;
    if (token !== undefined && (await fs.readFile(path, "utf8").catch(() => "")) === token) {
      return new SenderLock(fs, path, token);
    }
    return await SenderLock.acquire(fs, stateDir);
  }

  /** Refreshes the heartbeat; false when another sender took the lock over. */
  async beat(): Promise<boolean> {
    if (!(await this.held())) return false;
    const now = new Date();
    await this.fs.utimes(this.path, now, now).catch(() => {});
    return true;
  }

  async held(): Promise<boolean> {
    return (await this.fs.readFile(this.path, "utf8").catch(() => "")) === this.token;
  }

  async release(): Promise<void> {
    if (await this.held()) await this.fs.rm(this.path, { force: true });
  }
}

/** What one sender run did, for `flush`'s report. */
export interface DeliveryReport {
  delivered: number;
  rejected: number;
  waiting: number;
  status: DeliveryStatus;
  /** True when another sender was already running. */
  busy: boolean;
}

interface LoadedEntry {
  name: string;
  entry: SpoolEntry;
}

async function readJson<T>(fs: FsPromises, path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

async function writeJsonAtomically(fs: FsPromises, path: string, value: unknown): Promise<void> {
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  await fs.writeFile(temporary, JSON.stringify(value) + "\n", { mode: 0o600 });
  await fs.rename(temporary, path);
}

function isSpoolEntry(value: unknown): value is SpoolEntry {
  const entry = value as SpoolEntry;
  return typeof entry === "object" && entry !== null && entry.v === 1 && typeof entry.url === "string" &&
    typeof entry.payload === "object" && entry.payload !== null && typeof entry.created_at === "number" &&
    typeof entry.attempts === "number" && typeof entry.next_at === "number";
}

/**
 * Reads the spool, dropping unreadable, too old and too many entries (oldest
 * first). `arriving` counts files a hook is still writing (unreadable but
 * young): a ping on its way, which a sender must not leave behind.
 */
async function loadSpool(
  fs: FsPromises,
  config: HookConfig,
  spoolDir: string,
  status: DeliveryStatus,
): Promise<LoadedEntry[] & { arriving: number }> {
  const all = await fs.readdir(spoolDir).catch(() => [] as string[]);
  const now = Date.now();
  await recoverClaims(fs, config, spoolDir, all, now);
  const names = (await fs.readdir(spoolDir).catch(() => [] as string[])).filter((name) => name.endsWith(".json"));
  const loaded: LoadedEntry[] = [];
  let arriving = 0;
  for (const name of names) {
    const entry = await readJson<unknown>(fs, `${spoolDir}/${name}`);
    if (isSpoolEntry(entry)) {
      loaded.push({ name, entry });
      continue;
    }
    // A file still being written parses a moment later; one that stays unreadable is dropped.
    const stat = await fs.stat(`${spoolDir}/${name}`).catch(() => undefined);
    if (stat !== undefined && now - stat.mtimeMs > 60_000) {
      await fs.rm(`${spoolDir}/${name}`, { force: true });
      status.dropped.unreadable++;
    } else if (stat !== undefined) {
      arriving++;
    }
  }
  loaded.sort((a, b) => a.entry.created_at - b.entry.created_at);
  const tooOld = loaded.filter((item) => now - item.entry.created_at > config.spoolMaxAgeMs);
  const kept = loaded.filter((item) => now - item.entry.created_at <= config.spoolMaxAgeMs);
  const tooMany = kept.splice(0, Math.max(0, kept.length - config.spoolMaxPings));
  for (const item of tooOld) await fs.rm(`${spoolDir}/${item.name}`, { force: true });
  for (const item of tooMany) await fs.rm(`${spoolDir}/${item.name}`, { force: true });
  status.dropped.too_old += tooOld.length;
  status.dropped.too_many += tooMany.length;
  return Object.assign(kept, { arriving });
}

/** Token counts kept per session until its SessionEnd: `<state>/sessions/<session_id>.json`. */
interface SessionLedger {
  turns: number;
  api_requests: number;
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  /** Null once a turn had a model without a price. */
  cost_usd: number | null;
}

/**
 * Adds usage to a ping, once: the turn's (Stop, StopFailure), the subagent's
 * (SubagentStop) or the session's totals (SessionEnd). A missing, unreadable
 * or broken transcript adds nothing: the ping goes out without usage.
 */
async function enrichEntry(
  fs: FsPromises,
  config: HookConfig,
  stateDir: string,
  entry: SpoolEntry,
): Promise<SpoolEntry> {
  const payload: Payload = { ...entry.payload };
  const local = entry.local ?? {};
  const ledgerPath = payload.session_id === undefined
    ? undefined
    : `${stateDir}/${STATE_LAYOUT.sessions}/${payload.session_id}.json`;
  let usage: TurnUsage | undefined;
  try {
    if ((payload.event === "Stop" || payload.event === "StopFailure") && local.transcript_path !== undefined) {
      usage = await readTurnUsage(local.transcript_path, local.prompt_id, config.prices);
    } else if (payload.event === "SubagentStop" && local.agent_transcript_path !== undefined) {
      usage = await readTranscriptUsage(local.agent_transcript_path, config.prices);
    }
  } catch {
    usage = undefined;
  }
  if (usage !== undefined) {
    Object.assign(payload, omitUndefined({ ...usage }));
    if (ledgerPath !== undefined) await addToLedger(fs, ledgerPath, usage, payload.event !== "SubagentStop");
  }
  if (payload.event === "SessionEnd" && ledgerPath !== undefined) {
    const ledger = await readJson<SessionLedger>(fs, ledgerPath);
    if (ledger !== undefined) {
      Object.assign(payload, sessionFields(ledger));
      await fs.rm(ledgerPath, { force: true });
    }
  }
  return { ...entry, payload, local: undefined, enriched: true };
}

async function addToLedger(fs: FsPromises, path: string, usage: TurnUsage, isTurn: boolean): Promise<void> {
  const ledger: SessionLedger = await readJson<SessionLedger>(fs, path) ?? {
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
  for (const field of USAGE_FIELDS) ledger[field] += usage[field];
  ledger.cost_usd = ledger.cost_usd === null || usage.cost_usd === undefined
    ? null
    : Math.round((ledger.cost_usd + usage.cost_usd) * 1_000_000) / 1_000_000;
  await fs.mkdir(path.slice(0, path.lastIndexOf("/")), { mode: 0o700 }).catch(() => {});
  await writeJsonAtomically(fs, path, ledger);
}

function sessionFields(ledger: SessionLedger): Partial<Payload> {
  return omitUndefined({
    session_input_tokens: ledger.input_tokens,
    session_output_tokens: ledger.output_tokens,
    session_cache_creation_input_tokens: ledger.cache_creation_input_tokens,
    session_cache_read_input_tokens: ledger.cache_read_input_tokens,
    session_total_tokens: USAGE_FIELDS.reduce((sum, field) => sum + ledger[field], 0),
    session_cost_usd: ledger.cost_usd ?? undefined,
    session_api_requests: ledger.api_requests,
    session_turns: ledger.turns,
  });
}

/** Marks a spool entry as being sent by one sender: `<name>.sending-<token>`. */
const CLAIM_INFIX = ".sending-";

/**
 * Puts back entries whose sender died while sending them. A claim older than
 * one request's time limit (plus a margin) has no live sender: its attempt is over.
 */
async function recoverClaims(
  fs: FsPromises,
  config: HookConfig,
  spoolDir: string,
  names: string[],
  now: number,
): Promise<void> {
  for (const name of names.filter((name) => name.includes(CLAIM_INFIX))) {
    const stat = await fs.stat(`${spoolDir}/${name}`).catch(() => undefined);
    if (stat === undefined || now - stat.mtimeMs <= config.timeoutMs + 2000) continue;
    await fs.rename(`${spoolDir}/${name}`, `${spoolDir}/${name.slice(0, name.indexOf(CLAIM_INFIX))}`).catch(() => {});
  }
}

/**
 * Sends one spooled ping and records what happened: deleted, rescheduled or
 * moved to `failed/`. The entry is first claimed by renaming it, which only one
 * sender can do: two senders (possible for a moment when a lock is taken over)
 * never send the same ping at once, and never bring back one the other delivered.
 */
async function attemptEntry(
  fs: FsPromises,
  config: HookConfig,
  stateDir: string,
  item: LoadedEntry,
  status: DeliveryStatus,
): Promise<SendOutcome | "gone"> {
  const path = `${stateDir}/${STATE_LAYOUT.spool}/${item.name}`;
  const claimed = `${path}${CLAIM_INFIX}${crypto.randomUUID()}`;
  if (!(await fs.rename(path, claimed).then(() => true, () => false))) return "gone";
  if (!item.entry.enriched && item.entry.local !== undefined) {
    item.entry = await enrichEntry(fs, config, stateDir, item.entry);
    // Saved at once under the claim: a retry sends the same usage and never counts it again.
    await writeJsonAtomically(fs, claimed, item.entry);
  }
  let url: URL;
  try {
    url = parsePingUrl(item.entry.url);
  } catch (error) {
    await fs.rm(claimed, { force: true });
    status.rejected++;
    status.last_error = { at: new Date().toISOString(), reason: (error as Error).message, outcome: "rejected" };
    return "rejected";
  }
  const result = await sendPing(url, item.entry.payload, config.timeoutMs);
  const at = new Date().toISOString();
  if (result.outcome === "delivered") {
    await fs.rm(claimed, { force: true });
    status.delivered++;
    status.last_delivered_at = at;
    return "delivered";
  }
  status.last_error = { at, reason: result.reason ?? "unknown", status: result.status, outcome: result.outcome };
  if (result.outcome === "rejected") {
    // Not retried: a revoked or mistyped tracker must not be hammered. Kept for doctor to show.
    const failedDir = `${stateDir}/${STATE_LAYOUT.failed}`;
    // Not recursive: if the state directory was removed, do not bring it back.
    await fs.mkdir(failedDir, { mode: 0o700 }).catch(() => {});
    await fs.rename(claimed, `${failedDir}/${item.name}`).catch(() => fs.rm(claimed, { force: true }));
    await trimDirectory(fs, failedDir, 100);
    status.rejected++;
    return "rejected";
  }
  const attempts = item.entry.attempts + 1;
  const wait = Math.max(
    result.retryAfterMs ?? 0,
    backoffMs(attempts, config.retryBaseMs, config.retryMaxMs, Math.random()),
  );
  item.entry = { ...item.entry, attempts, next_at: Date.now() + wait };
  // The new state goes in under the entry's own name, then the claim goes: a crash in
  // between leaves a claim that is later put back onto the same name, never a second ping.
  await writeJsonAtomically(fs, path, item.entry);
  await fs.rm(claimed, { force: true });
  return "retry";
}

async function trimDirectory(fs: FsPromises, dir: string, keep: number): Promise<void> {
  const names = (await fs.readdir(dir).catch(() => [] as string[])).sort();
  if (names.length <= keep) return;
  const stats = await Promise.all(
    names.map(async (name) => ({ name, mtime: (await fs.stat(`${dir}/${name}`)).mtimeMs })),
  );
  stats.sort((a, b) => a.mtime - b.mtime);
  for (const { name } of stats.slice(0, stats.length - keep)) await fs.rm(`${dir}/${name}`, { force: true });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Drains the spool as the only sender: takes the lock, sends every due ping, retries with backoff, and stays a while for
 * more pings (`senderIdleMs`) before it lets go. After letting go it looks
 * once more, so a ping spooled while it was leaving is not stranded.
 *
 * @param config The settings; `config.stateDir` must be set.
 * @param options `flush`: send every ping now, ignoring backoff, and leave when done;
 *   `lockToken`: the token of a lock a hook claimed for this sender.
 * @returns What it delivered, and what is still waiting.
 *
 * @example
 * ```ts
 * const report = await deliverSpool(readConfig((name) => Deno.env.get(name)), { flush: true });
 * ```
 */
export async function deliverSpool(
  config: HookConfig,
  options: { flush?: boolean; maxRunMs?: number; lockToken?: string } = {},
): Promise<DeliveryReport> {
  const stateDir = config.stateDir;
  if (stateDir === undefined) throw new HookSkip("no state directory: set HOME or TELEMHQ_STATE_DIR");
  const fs = await import("node:fs/promises");
  await fs.mkdir(`${stateDir}/${STATE_LAYOUT.spool}`, { recursive: true, mode: 0o700 });
  const statusPath = `${stateDir}/${STATE_LAYOUT.status}`;
  const report: DeliveryReport = { delivered: 0, rejected: 0, waiting: 0, status: emptyStatus(), busy: false };
  const deadline = Date.now() + (options.maxRunMs ?? 10 * 60_000);
  let claim = options.lockToken;
  while (true) {
    const lock = await SenderLock.adopt(fs, stateDir, claim);
    claim = undefined;
    if (lock === undefined) {
      report.busy = true;
      break;
    }
    let lost = false;
    const heartbeat = setInterval(() => {
      void lock.beat().then((held) => lost ||= !held);
    }, HEARTBEAT_MS);
    try {
      const status = { ...emptyStatus(), ...await readJson<DeliveryStatus>(fs, statusPath) };
      const seen = new Set<string>();
      let idleSince = Date.now();
      while (!lost && Date.now() < deadline) {
        const flush = options.flush ||
          await fs.rm(`${stateDir}/${STATE_LAYOUT.flushRequest}`).then(() => true, () => false);
        const entries = await loadSpool(fs, config, `${stateDir}/${STATE_LAYOUT.spool}`, status);
        const now = Date.now();
        // Activity is a new ping or a delivery; failed retries are not, so a sender facing a dead
        // tracker leaves once its waits grow longer than senderIdleMs, and a later hook restarts it.
        if (entries.some((item) => !seen.has(item.name)) || entries.arriving > 0) idleSince = now;
        for (const item of entries) seen.add(item.name);
        const due = entries.filter((item) => flush || item.entry.next_at <= now);
        const settled = new Set<string>();
        for (const item of due) {
          if (lost) break;
          const outcome = await attemptEntry(fs, config, stateDir, item, status);
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
        const untilDue = Math.min(...waiting.map((item) => item.entry.next_at)) - Date.now();
        // A ping not tried yet (a SessionEnd waiting its turn) is never left behind.
        const untried = waiting.some((item) => item.entry.attempts === 0);
        if (!untried && Date.now() - idleSince >= config.senderIdleMs && untilDue > config.senderIdleMs) break;
        await sleep(Math.max(20, Math.min(250, untilDue)));
      }
    } finally {
      clearInterval(heartbeat);
      if (!lost) await lock.release();
    }
    if (lost || options.flush || Date.now() >= deadline) break;
    // Look once more after letting go: a hook that saw our lock just before we left relies on it.
    const spool = await loadSpool(fs, config, `${stateDir}/${STATE_LAYOUT.spool}`, report.status);
    const pending = spool.some((item) => item.entry.next_at <= Date.now() || item.entry.attempts === 0);
    if (spool.arriving === 0 && !pending) break;
  }
  return report;
}

/**
 * Starts a detached sender for the spool, unless one is running.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @param narrow The tracker's host and Claude Code's folder, for a Deno sender's narrow flags.
 * @returns True when a sender was started or is running.
 *
 * @example
 * ```ts
 * await startSender(detectRuntime(), "/home/me/.claude/telemhq");
 * ```
 */
export async function startSender(runtime: Runtime, stateDir: string, narrow?: NarrowAccess): Promise<boolean> {
  if (await senderIsRunning(runtime, stateDir)) return true;
  // Claim the lock for the sender before starting it, so that of many hooks firing at once
  // only one starts a sender; the sender adopts the claim by its token. Where the runtime
  // has no cheap exclusive create (Bun), a plain write still shrinks the race from the
  // sender's start-up (~15 ms) to a fraction of a millisecond; the sender's own lock
  // keeps a single drainer either way.
  const token = crypto.randomUUID();
  const lock = `${stateDir}/${STATE_LAYOUT.lock}`;
  const claimed = runtime.createExclusive !== undefined
    ? await runtime.createExclusive(lock, token)
    : await runtime.writePrivateFile(lock, token).then(() => true, () => false);
  if (!claimed && await senderIsRunning(runtime, stateDir)) return true;
  const command = runtime.selfCommand(claimed ? ["deliver", "--lock", token] : ["deliver"], stateDir, narrow);
  if (command === undefined) return false;
  await runtime.startDetached(command);
  return true;
}

/** Quotes a word for a POSIX shell. */
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
 * may not have forked yet, so it traps SIGTERM for its two milliseconds. The detached hook reads the
 * event from the same pipe (it stays open while the hook holds it), spools the
 * ping and delivers it.
 *
 * @param hookCommand The command that runs `hook.ts` (see {@linkcode Runtime.selfCommand}).
 * @returns A command line for `sh -c`.
 *
 * @example
 * ```ts
 * fastPathCommand(["/usr/bin/bun", "--no-env-file", "--no-install", "/home/me/.claude/hooks/telemhq.ts"]);
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
// The hook

/**
 * Runs the hook once: reads the event from stdin, builds the payload, makes it
 * durable in the spool, and hands delivery to a detached sender, so Claude
 * Code never waits for the network. When the spool cannot be written, it
 * sends the ping itself (within `TELEMHQ_TIMEOUT_MS`). Never throws and never
 * writes to stdout; returns why the ping may not arrive, if so.
 *
 * @param runtime The runtime adapter (see {@linkcode detectRuntime}).
 * @param options `detached`: started by {@linkcode fastPathCommand}; be the sender instead of starting one.
 * @returns `undefined` when all went well, otherwise a one-line reason.
 *
 * @example
 * ```ts
 * const problem = await runHook(detectRuntime());
 * ```
 */
export async function runHook(runtime: Runtime, options: { detached?: boolean } = {}): Promise<string | undefined> {
  try {
    const config = await loadConfig(runtime);
    if (config.pingUrl === undefined) return "TELEMHQ_PING_URL is not set (nor saved by install): nothing sent";
    const url = parsePingUrl(config.pingUrl);
    const input = parseEvent(await readAll(runtime.stdin(), MAX_EVENT_BYTES));
    const payload = await buildPayload(input, { fallbackCwd: runtime.cwd(), runtime: runtime.name });
    const handOff = await spoolAndHandOff(runtime, config, url, payload, usageSource(input), options.detached === true);
    if (handOff.problem === undefined) {
      // Started detached by the shell fast path: nobody waits, so deliver from here (or leave
      // it to the sender that is already running).
      if (options.detached) await deliverSpool(config).catch(() => {});
      return handOff.warning;
    }
    if (handOff.spooled !== undefined) {
      // Spooled, but no sender could be started: be the sender for a moment (Claude Code
      // waits, within the timeout). Through the lock, never beside a running sender.
      const report = await deliverSpool({ ...config, senderIdleMs: 0 }, { maxRunMs: config.timeoutMs });
      if (report.busy || report.waiting === 0) {
        return config.debug ? `${handOff.problem}: delivered from the hook` : undefined;
      }
      return `${handOff.problem}; the ping is kept in the spool: ${
        report.status.last_error?.reason ?? "not delivered yet"
      }`;
    }
    // The spool cannot be written: send it from here, the way the reference script does.
    const result = await sendPing(url, payload, config.timeoutMs);
    if (result.outcome === "delivered") return config.debug ? `${handOff.problem}: sent directly` : undefined;
    return `${handOff.problem}, and the ping was not delivered: ${result.reason}`;
  } catch (error) {
    if (error instanceof HookSkip) return error.message;
    // An unexpected error's text could hold event content: report its kind only.
    return `hook failed unexpectedly (${describeError(error)})`;
  }
}

/**
 * Spools the ping and makes sure a sender will deliver it. Returns the problem
 * when either step fails, and the spool entry's path when the ping is durable.
 */
async function spoolAndHandOff(
  runtime: Runtime,
  config: HookConfig,
  url: URL,
  payload: Payload,
  local: UsageSource | undefined,
  detached: boolean,
): Promise<{ problem?: string; spooled?: string; warning?: string }> {
  if (config.stateDir === undefined) return { problem: "no state directory (set HOME or TELEMHQ_STATE_DIR)" };
  let spooled: string;
  try {
    spooled = await spoolPing(runtime, config.stateDir, url, payload, local);
  } catch (error) {
    return { problem: `cannot write the spool in "${config.stateDir}" (${describeError(error)})` };
  }
  const warning = config.debug ? await spoolWarning(config) : undefined;
  if (detached) return { spooled, warning };
  try {
    if (await startSender(runtime, config.stateDir, narrowAccess(runtime, config.pingUrl))) return { spooled, warning };
    return { problem: "cannot start a sender: the hook does not run from a local file", spooled };
  } catch (error) {
    return { problem: `cannot start a sender (${describeError(error)})`, spooled };
  }
}

/** An error's code or name, never its message (which may quote content or paths). */
function describeError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") return code;
  return error instanceof Error ? error.name : typeof error;
}

/** Under debug only: says when the spool is over its limit (the oldest pings will be dropped). */
async function spoolWarning(config: HookConfig): Promise<string | undefined> {
  const fs = await import("node:fs/promises");
  const count = (await fs.readdir(`${config.stateDir}/${STATE_LAYOUT.spool}`).catch(() => [] as string[])).length;
  if (count <= config.spoolMaxPings) return undefined;
  return `the spool holds ${count} pings, over its limit of ${config.spoolMaxPings}: the oldest will be dropped; ` +
    `is the tracker reachable? Run "flush" to see`;
}

// ---------------------------------------------------------------------------
// install, uninstall, doctor: what the TelemHQ guide does by hand, in one command

/** Where `install` wires the hook: `~/.claude/settings.json`, the repository's shared or local file, or a printed policy. */
export type InstallScope = "user" | "project" | "local" | "managed";

/** A runtime `install` can write a command for (Node: from the npm build only). */
export type RuntimeKind = "deno" | "bun" | "node";

/** The hook events `install` wires, with their matchers: data, not code. */
export const INSTALL_EVENTS: Readonly<Record<"always" | "toolActivity", readonly (readonly [string, string?])[]>> = {
  // SubagentStop and SessionEnd carry the subagents' usage and the session's totals.
  always: [["Stop"], ["StopFailure", "*"], ["SubagentStop"], ["SessionEnd"]],
  toolActivity: [["PostToolUse", "Bash|Edit|MultiEdit|Write"], ["PostToolUseFailure", "*"]],
};

/** The installed hook's file name in Claude Code's `hooks/` folder: TypeScript for Deno and Bun, the npm build's JavaScript for Node. */
const HOOK_FILE_NAMES: Readonly<Record<RuntimeKind, string>> = {
  deno: "telemhq.ts",
  bun: "telemhq.ts",
  node: "telemhq.mjs",
};

/** Every path the installed hook may have: entries running any of them are ours. */
function installedHookFiles(claudeDir: string): string[] {
  return [...new Set(Object.values(HOOK_FILE_NAMES))].map((name) => `${claudeDir}/hooks/${name}`);
}
/** Claude Code's time limit for our hook, in seconds (the fast path takes milliseconds). */
const HOOK_TIMEOUT_S = 10;

/** A command-line problem: one line for the user, and the exit code. */
export class CommandError extends Error {
  /**
   * @param message One line: what failed, the value, what to do next.
   * @param exitCode 2 for a usage mistake, 1 for anything else.
   */
  constructor(message: string, readonly exitCode: number = 1) {
    super(message);
    this.name = "CommandError";
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
 * parseArgs(["--url", "https://x/p/T", "--tool-activity"], ["--url"], ["--tool-activity"]);
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

interface InstallPlan {
  scope: InstallScope;
  runtimeKind: RuntimeKind;
  runtimePath: string;
  url: URL;
  claudeDir: string;
  stateDir: string;
  hookFile: string;
  settingsPath?: string;
  command: string;
  events: readonly (readonly [string, string?])[];
}

function settingsPathFor(scope: InstallScope, claudeDir: string, cwd: string): string | undefined {
  if (scope === "user") return `${claudeDir}/settings.json`;
  if (scope === "project") return `${cwd}/.claude/settings.json`;
  if (scope === "local") return `${cwd}/.claude/settings.local.json`;
  return undefined;
}

function runtimeKindOf(runtime: Runtime): RuntimeKind {
  return runtime.name.startsWith("deno/") ? "deno" : runtime.name.startsWith("bun/") ? "bun" : "node";
}

/** Finds a runtime's binary: this process's if it is that runtime, else on PATH or where its installer puts it. */
async function findRuntime(runtime: Runtime, kind: RuntimeKind): Promise<string | undefined> {
  const fs = await import("node:fs/promises");
  const own = globalThis as { Deno?: { execPath(): string }; process?: { execPath: string } };
  if (runtimeKindOf(runtime) === kind) return own.Deno?.execPath() ?? own.process?.execPath;
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
  if (!["user", "project", "local", "managed"].includes(scope)) {
    throw new CommandError(`Cannot install: unknown scope "${scope}". Use user, project, local or managed.`, 2);
  }
  const current = runtimeKindOf(runtime);
  const kind = (values["--runtime"] ?? current) as RuntimeKind;
  if (kind !== "deno" && kind !== "bun" && kind !== "node") {
    throw new CommandError(`Cannot install: runtime "${kind}" is not supported. Use --runtime deno, bun or node.`, 2);
  }
  if ((kind === "node") !== (current === "node")) {
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
  const argv = kind === "deno"
    ? [runtimePath, "run", ...denoRunFlags(runtimePath, stateDir, { pingHost: url.host, claudeDir }), hookFile]
    : kind === "bun"
    ? [runtimePath, ...BUN_RUN_FLAGS, hookFile]
    : [runtimePath, hookFile];
  return {
    scope,
    runtimeKind: kind,
    runtimePath,
    url,
    claudeDir,
    stateDir,
    hookFile,
    settingsPath: settingsPathFor(scope, claudeDir, runtime.cwd()),
    command: fastPathCommand(argv),
    events: [...INSTALL_EVENTS.always, ...(values["--tool-activity"] ? INSTALL_EVENTS.toolActivity : [])],
  };
}

type Settings = Record<string, unknown>;
interface HookGroup {
  matcher?: string;
  hooks?: { type?: string; command?: string; timeout?: number }[];
}

/** Reads a settings file: absent is empty; not JSON or not an object is refused, with the line. */
async function readSettings(path: string): Promise<{ settings: Settings; text?: string }> {
  const fs = await import("node:fs/promises");
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

/** Removes every hook entry that runs one of `hookFiles`; returns how many. Groups and events it empties go too. */
function removeOurHooks(settings: Settings, hookFiles: readonly string[]): number {
  const ours = (command: unknown) => typeof command === "string" && hookFiles.some((file) => command.includes(file));
  const hooks = settings.hooks as Record<string, unknown> | undefined;
  if (hooks === undefined) return 0;
  let removed = 0;
  for (const [event, groups] of Object.entries(hooks)) {
    if (!Array.isArray(groups)) continue;
    const kept = (groups as HookGroup[]).flatMap((group) => {
      if (!Array.isArray(group?.hooks)) return [group];
      const others = group.hooks.filter((hook) => !ours(hook?.command));
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

function addOurHooks(settings: Settings, plan: InstallPlan): void {
  const hooks = (settings.hooks ??= {}) as Record<string, HookGroup[]>;
  for (const [event, matcher] of plan.events) {
    const group: HookGroup = {
      ...(matcher !== undefined ? { matcher } : {}),
      hooks: [{ type: "command", command: plan.command, timeout: HOOK_TIMEOUT_S }],
    };
    hooks[event] = [...(Array.isArray(hooks[event]) ? hooks[event] : []), group];
  }
}

/** Serializes settings as the file was written: its indentation, its final newline. */
function formatSettings(settings: Settings, original: string | undefined): string {
  const indent = original?.match(/^([ \t]+)"/m)?.[1] ?? "  ";
  const newline = original === undefined || original.endsWith("\n") ? "\n" : "";
  return JSON.stringify(settings, null, indent) + newline;
}

/**
 * Writes a file atomically (temporary file, then rename), keeping a backup of
 * what it replaces and the mode it had (else `mode`, whatever the umask).
 */
async function replaceFile(path: string, text: string, original: string | undefined, mode: number): Promise<void> {
  const fs = await import("node:fs/promises");
  await fs.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o700 });
  const existing = await fs.stat(path).then((stat) => stat.mode & 0o777, () => undefined);
  if (original !== undefined) await fs.writeFile(`${path}.telemhq-backup`, original, { mode: 0o600 });
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  await fs.writeFile(temporary, text, { mode: 0o600 });
  await fs.chmod(temporary, existing ?? mode);
  await fs.rename(temporary, path);
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
 * ```ts
 * await installCommand(detectRuntime(), ["--url", "https://telemhq.com/ping/TOKEN"]);
 * ```
 */
export async function installCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  const plan = await planInstall(runtime, args);
  const source = thisScriptPath();
  const hookSource = source === undefined ? undefined : await runtime.readTextFile(source);
  if (hookSource === undefined) {
    throw new CommandError("Cannot install: this hook does not run from a local file. Download it first.");
  }
  if (plan.settingsPath === undefined) {
    // managed: print the policy for a team rollout; the hook file must be at the same path on each machine.
    const policy: Settings = {};
    addOurHooks(policy, plan);
    console.log(JSON.stringify(policy, null, 2));
    console.error(
      `Managed policy printed. Deploy the hook to "${plan.hookFile}" and the ping URL to "${plan.stateDir}/${STATE_LAYOUT.config}" on each machine.`,
    );
    return 0;
  }
  // Everything is checked before anything is written.
  const { settings, text } = await readSettings(plan.settingsPath);
  removeOurHooks(settings, installedHookFiles(plan.claudeDir));
  addOurHooks(settings, plan);
  const updated = formatSettings(settings, text);
  const fs = await import("node:fs/promises");
  await fs.mkdir(`${plan.claudeDir}/hooks`, { recursive: true, mode: 0o700 });
  await fs.chmod(`${plan.claudeDir}/hooks`, 0o700);
  await replaceFile(plan.hookFile, hookSource, undefined, 0o600);
  await fs.mkdir(plan.stateDir, { recursive: true, mode: 0o700 });
  await replaceFile(
    `${plan.stateDir}/${STATE_LAYOUT.config}`,
    JSON.stringify({ ping_url: plan.url.href }) + "\n",
    undefined,
    0o600,
  );
  if (updated !== text) await replaceFile(plan.settingsPath, updated, text, 0o644);
  console.log([
    `Installed the TelemHQ hook for Claude Code.`,
    `  hook:      ${plan.hookFile}`,
    `  runtime:   ${plan.runtimePath}`,
    `  settings:  ${plan.settingsPath} (${plan.events.map(([event]) => event).join(", ")})`,
    `  ping URL:  ${redactUrl(plan.url)}, saved in ${plan.stateDir}/${STATE_LAYOUT.config}`,
    `Check it with: ${shellWord(plan.runtimePath)}${plan.runtimeKind === "deno" ? " run -A" : ""} ${
      shellWord(plan.hookFile)
    } doctor --ping`,
  ].join("\n"));
  return 0;
}

/**
 * `uninstall`: removes from the scope's settings file exactly the entries
 * `install` added, and, when no settings file runs the hook any more, the hook
 * file and the saved ping URL. Pings still in the spool stay (run `flush` first).
 *
 * @param runtime The runtime adapter.
 * @param args `[--scope user|project|local]`.
 * @returns The exit code.
 *
 * @example
 * ```ts
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
  if (settingsPath === undefined || !["user", "project", "local"].includes(scope)) {
    throw new CommandError(`Cannot uninstall: unknown scope "${scope}". Use user, project or local.`, 2);
  }
  const hookFiles = installedHookFiles(claudeDir);
  const { settings, text } = await readSettings(settingsPath);
  const removed = removeOurHooks(settings, hookFiles);
  if (removed > 0) await replaceFile(settingsPath, formatSettings(settings, text), text, 0o644);
  const stillUsed = await hookUsers(runtime, claudeDir, hookFiles);
  const fs = await import("node:fs/promises");
  if (stillUsed.length === 0) {
    for (const file of hookFiles) await fs.rm(file, { force: true });
    await fs.rm(`${stateDir}/${STATE_LAYOUT.config}`, { force: true });
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

/** The settings files (user, project, local) that run the hook. */
async function hookUsers(runtime: Runtime, claudeDir: string, hookFiles: readonly string[]): Promise<string[]> {
  const users: string[] = [];
  for (const scope of ["user", "project", "local"] as const) {
    const path = settingsPathFor(scope, claudeDir, runtime.cwd())!;
    const text = await runtime.readTextFile(path);
    if (text !== undefined && hookFiles.some((file) => text.includes(file))) users.push(path);
  }
  return users;
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
 * ```ts
 * await doctorCommand(detectRuntime(), ["--ping"]);
 * ```
 */
export async function doctorCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  const values = parseArgs(args, [], ["--ping"]);
  const fs = await import("node:fs/promises");
  const config = await loadConfig(runtime);
  const env = (name: string) => runtime.env(name);
  const claudeDir = claudeDirectory(env);
  let problems = 0;
  const ok = (text: string) => console.log(`ok       ${text}`);
  const problem = (text: string) => {
    problems++;
    console.log(`PROBLEM  ${text}`);
  };
  let url: URL | undefined;
  if (config.pingUrl === undefined) {
    problem("No ping URL: run install --url ..., or set TELEMHQ_PING_URL where Claude Code starts.");
  } else {
    try {
      url = parsePingUrl(config.pingUrl);
      ok(`Ping URL ${redactUrl(url)} (from ${config.pingUrlSource}).`);
    } catch (error) {
      problem(`The ping URL (from ${config.pingUrlSource}) is refused: ${(error as Error).message}`);
    }
  }
  if (claudeDir === undefined || config.stateDir === undefined) {
    problem("HOME is not set: no settings or state directory to check.");
    return 1;
  }
  const hookFiles = installedHookFiles(claudeDir);
  let hookFile = hookFiles[0];
  const wired = new Map<string, string[]>();
  let command: string | undefined;
  for (const scope of ["user", "project", "local"] as const) {
    const path = settingsPathFor(scope, claudeDir, runtime.cwd())!;
    try {
      const { settings, text } = await readSettings(path);
      if (text === undefined) continue;
      for (const [event, groups] of Object.entries((settings.hooks ?? {}) as Record<string, HookGroup[]>)) {
        for (const group of Array.isArray(groups) ? groups : []) {
          for (const hook of Array.isArray(group?.hooks) ? group.hooks : []) {
            const file = typeof hook?.command === "string"
              ? hookFiles.find((file) => hook.command!.includes(file))
              : undefined;
            if (file === undefined) continue;
            wired.set(event, [...(wired.get(event) ?? []), path]);
            command ??= hook.command;
            hookFile = file;
          }
        }
      }
    } catch (error) {
      problem((error as Error).message);
    }
  }
  if (wired.size === 0) problem(`No settings file runs the hook (${hookFiles.join(" or ")}): run install.`);
  for (const [event, paths] of wired) {
    if (paths.length === 1) ok(`${event} runs the hook (${paths[0]}).`);
    else {problem(
        `${event} runs the hook ${paths.length} times (${
          paths.join(", ")
        }): Claude Code merges these files; run uninstall for all but one scope.`,
      );}
  }
  if (await fs.access(hookFile).then(() => true, () => false)) ok(`Hook file ${hookFile} is there.`);
  else if (wired.size > 0) problem(`Hook file ${hookFile} is missing: run install again.`);
  // The fast path's runtime follows "then setsid"; a direct command starts with it.
  const runtimePath = command?.match(/then setsid ('[^']*'|\S+) /)?.[1] ?? command?.split(" ")[0];
  if (runtimePath !== undefined) {
    const version = await runVersion(runtimePath.replace(/^'|'$/g, ""));
    if (version === undefined) {
      problem(`The runtime ${runtimePath} does not run: install it again, or run install with --runtime.`);
    } else ok(`Runtime ${runtimePath} runs (${version}).`);
  }
  const probe = `${config.stateDir}/.doctor-${crypto.randomUUID()}`;
  try {
    await fs.mkdir(config.stateDir, { recursive: true, mode: 0o700 });
    await fs.writeFile(probe, "");
    await fs.rm(probe);
    ok(`State directory ${config.stateDir} is writable.`);
  } catch (error) {
    problem(`State directory ${config.stateDir} is not writable (${describeError(error)}): pings cannot be spooled.`);
  }
  const spooled = (await fs.readdir(`${config.stateDir}/${STATE_LAYOUT.spool}`).catch(() => [] as string[]))
    .filter((name) => name.endsWith(".json"));
  const oldest = Math.min(
    ...await Promise.all(
      spooled.map((name) =>
        fs.stat(`${config.stateDir}/${STATE_LAYOUT.spool}/${name}`).then((stat) => stat.mtimeMs, () => Infinity)
      ),
    ),
  );
  if (spooled.length === 0) ok("The spool is empty: every ping was delivered.");
  else if (Date.now() - oldest > 10 * 60_000) {
    problem(
      `${spooled.length} pings wait in the spool, the oldest for ${
        Math.round((Date.now() - oldest) / 60_000)
      } min: run flush to see why.`,
    );
  } else ok(`${spooled.length} pings wait in the spool (newer than 10 min): delivery is under way.`);
  const status = await readJson<DeliveryStatus>(fs, `${config.stateDir}/${STATE_LAYOUT.status}`);
  if (
    status?.last_error !== undefined &&
    (status.last_delivered_at === undefined || status.last_error.at > status.last_delivered_at)
  ) {
    problem(`Last delivery failed at ${status.last_error.at}: ${status.last_error.reason}.`);
  } else if (status?.last_delivered_at !== undefined) {
    ok(
      `Last delivery at ${status.last_delivered_at}; ${status.delivered} delivered, ${status.rejected} refused in all.`,
    );
  }
  if (values["--ping"] && url !== undefined) {
    const payload = await buildPayload(
      { hook_event_name: "DoctorPing", session_id: crypto.randomUUID(), cwd: runtime.cwd() },
      { fallbackCwd: runtime.cwd(), runtime: runtime.name },
    );
    const result = await sendPing(url, payload, config.timeoutMs);
    if (result.outcome === "delivered") ok(`Test ping accepted: ${redactUrl(url)} answered HTTP ${result.status}.`);
    else problem(`Test ping not accepted: ${result.reason}.`);
  }
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
// Commands

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
 * ```ts
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
  let report = await deliverSpool(config, { flush: true });
  if (report.busy) {
    // A sender is running: ask it to send everything now and leave, then take over.
    await runtime.writePrivateFile(`${stateDir}/${STATE_LAYOUT.flushRequest}`, "");
    const deadline = Date.now() + 30_000;
    while (report.busy && Date.now() < deadline) {
      await sleep(200);
      report = await deliverSpool(config, { flush: true });
    }
    if (report.busy) {
      console.error(`Cannot flush: a sender in "${stateDir}" is busy. Try again in a minute.`);
      return 1;
    }
  }
  console.log(flushSummary(report, stateDir));
  return report.waiting === 0 && report.rejected === 0 ? 0 : 1;
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
 * ```ts
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
  const hook = runtime.selfCommand([], stateDir);
  if (hook === undefined) {
    console.error("Cannot print the hook command: this hook does not run from a local file. Save it first.");
    return 1;
  }
  console.log(args.includes("--direct") ? hook.map(shellWord).join(" ") : fastPathCommand(hook));
  return 0;
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
 * The command line: with no arguments, the hook (what Claude Code runs);
 * otherwise `install`, `uninstall`, `doctor`, `flush`, `command`, `--help`.
 * Ends the process. Run when this file is the main module; the npm build's
 * bin calls it.
 *
 * @returns Never returns: exits with the command's code (always 0 for the hook).
 *
 * @example
 * ```ts
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
      await deliverSpool(config, { lockToken }).catch(() => {});
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
  const process = (globalThis as { process?: { argv?: string[]; getBuiltinModule?(id: string): unknown } }).process;
  const entry = process?.argv?.[1];
  const self = thisScriptPath();
  if (entry === undefined || self === undefined) return false;
  const { realpath } = (process?.getBuiltinModule?.("node:fs/promises") ??
    await import("node:fs/promises")) as typeof import("node:fs/promises");
  return (await realpath(entry).catch(() => entry)) === self;
}

if (await isMainModule()) {
  await runCommandLine();
}
