/**
 * Building the ping: the allowlist of fields that may leave the machine, and
 * the builder that fills them from an event, checking each value's type and
 * shape. Prompts, tool input and output, error text, assistant text and paths
 * are never copied: paths are hashed, the assistant's message is counted.
 *
 * Owns: `Payload` and its field list, `buildPayload`, `pingId`, the field
 * rules. Uses: sha256, events, input.
 *
 * @module
 */

import { eventRule, FAILED_EVENTS } from "./events.ts";
import type { HookInput } from "./input.ts";
import { type Sha256Hex, webCryptoSha256Hex } from "./sha256.ts";

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
export function stringField(input: HookInput, key: string): string | undefined {
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
export function tokenField(input: HookInput, key: string): string | undefined {
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
export function eventName(input: HookInput): string {
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
export function omitUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}
