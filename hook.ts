#!/usr/bin/env -S deno run --allow-net --allow-env --allow-read
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

/** Default time limit of the ping request, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 5000;

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
  /** How long the tool call took, on tool events. */
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
  /** Number of tool calls in a `PostToolBatch` event. */
  tool_calls?: number;
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
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value));
  return toHex(new Uint8Array(digest)).slice(0, 12);
}

function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
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
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(parts.join("\u0000")));
  return toHex(new Uint8Array(digest)).slice(0, 32);
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

/** Outcome of one ping request. */
export interface SendResult {
  /** True when the receiver answered 2xx. */
  ok: boolean;
  /** HTTP status, absent when no answer arrived. */
  status?: number;
  /** One line, with the URL's secret redacted, when not ok. */
  reason?: string;
}

/**
 * POSTs a payload as JSON to the ping URL, within a time limit.
 * Never throws: network errors and timeouts come back as `ok: false`.
 *
 * @param url The ping URL (see {@linkcode parsePingUrl}).
 * @param payload The ping.
 * @param timeoutMs Time limit of the whole request, in milliseconds.
 * @returns Whether it was accepted, the status, and a redacted reason.
 *
 * @example
 * ```ts
 * const result = await sendPing(new URL("http://127.0.0.1:8787/ping/t"), payload, 5000);
 * ```
 */
export async function sendPing(url: URL, payload: Payload, timeoutMs: number): Promise<SendResult> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": `telemhq-claude-code/${HOOK_VERSION}` },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "error",
    });
    await response.body?.cancel();
    if (response.ok) return { ok: true, status: response.status };
    return { ok: false, status: response.status, reason: `${redactUrl(url)} answered HTTP ${response.status}` };
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    const reason = name === "TimeoutError"
      ? `no answer from ${redactUrl(url)} within ${timeoutMs} ms`
      : `cannot reach ${redactUrl(url)}: ${redactMessage(String(error instanceof Error ? error.message : error), url)}`;
    return { ok: false, reason };
  }
}

// ---------------------------------------------------------------------------
// Runtime: the one place that knows which runtime runs the hook

/** What the hook needs from the runtime that runs it. */
export interface Runtime {
  /** For example `"deno/2.9.6"`. */
  readonly name: string;
  /** An environment variable, or undefined when unset or not permitted. */
  env(name: string): string | undefined;
  /** The process's working directory, or `""` when not permitted. */
  cwd(): string;
  /** The process's stdin as a byte stream. */
  stdin(): AsyncIterable<Uint8Array>;
  /** Ends the process. */
  exit(code: number): never;
}

interface DenoLike {
  version: { deno: string };
  env: { get(name: string): string | undefined };
  cwd(): string;
  stdin: { readable: AsyncIterable<Uint8Array> };
  exit(code: number): never;
}

interface BunLike {
  stdin: { stream(): AsyncIterable<Uint8Array> };
}

interface ProcessLike {
  versions: Record<string, string | undefined>;
  env: Record<string, string | undefined>;
  cwd(): string;
  stdin: AsyncIterable<Uint8Array>;
  exit(code: number): never;
}

/**
 * Detects the runtime (Deno, Bun or Node) and adapts it to {@linkcode Runtime}.
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
      env: (name) => attempt(() => deno.env.get(name), undefined),
      cwd: () => attempt(() => deno.cwd(), ""),
      stdin: () => deno.stdin.readable,
      exit: (code) => deno.exit(code),
    };
  }
  const process = scope.process;
  if (process === undefined) throw new Error("Unsupported runtime: need Deno, Bun or Node.js");
  const bun = scope.Bun;
  return {
    name: bun !== undefined ? `bun/${process.versions.bun}` : `node/${process.versions.node}`,
    env: (name) => process.env[name],
    cwd: () => attempt(() => process.cwd(), ""),
    // Bun's process.stdin (its Node stream emulation) costs about 25 ms to start; Bun.stdin does not.
    stdin: () => bun !== undefined ? bun.stdin.stream() : process.stdin,
    exit: (code) => process.exit(code),
  };
}

function attempt<T>(action: () => T, fallback: T): T {
  try {
    return action();
  } catch {
    return fallback;
  }
}

// ---------------------------------------------------------------------------
// The hook

/** Settings read from the environment. */
export interface HookConfig {
  /** The raw ping URL, or undefined when not configured. */
  pingUrl?: string;
  /** Time limit of the ping request, in milliseconds. */
  timeoutMs: number;
  /** Print a one-line reason to stderr when the ping is not sent. */
  debug: boolean;
}

/**
 * Reads the hook's settings: `TELEMHQ_PING_URL`, `TELEMHQ_TIMEOUT_MS`
 * (100 to 60000, default 5000) and `TELEMHQ_HOOK_DEBUG=1`.
 *
 * @param env Looks up an environment variable.
 * @returns The settings.
 *
 * @example
 * ```ts
 * readConfig((name) => ({ TELEMHQ_PING_URL: "https://telemhq.com/ping/T" })[name]);
 * ```
 */
export function readConfig(env: (name: string) => string | undefined): HookConfig {
  const timeout = Number(env("TELEMHQ_TIMEOUT_MS"));
  const pingUrl = env("TELEMHQ_PING_URL")?.trim();
  return {
    pingUrl: pingUrl === "" ? undefined : pingUrl,
    timeoutMs: Number.isFinite(timeout) && timeout > 0
      ? Math.min(Math.max(Math.round(timeout), 100), 60_000)
      : DEFAULT_TIMEOUT_MS,
    debug: env("TELEMHQ_HOOK_DEBUG") === "1",
  };
}

/**
 * Runs the hook once: reads the event from stdin, builds the payload and sends it.
 * Never throws and never writes to stdout; returns why nothing was sent, if so.
 *
 * @param runtime The runtime adapter (see {@linkcode detectRuntime}).
 * @returns `undefined` when the ping was accepted, otherwise a one-line reason.
 *
 * @example
 * ```ts
 * const problem = await runHook(detectRuntime());
 * ```
 */
export async function runHook(runtime: Runtime): Promise<string | undefined> {
  try {
    const config = readConfig((name) => runtime.env(name));
    if (config.pingUrl === undefined) return "TELEMHQ_PING_URL is not set: nothing sent";
    const url = parsePingUrl(config.pingUrl);
    const input = parseEvent(await readAll(runtime.stdin(), MAX_EVENT_BYTES));
    const payload = await buildPayload(input, { fallbackCwd: runtime.cwd(), runtime: runtime.name });
    const result = await sendPing(url, payload, config.timeoutMs);
    return result.ok ? undefined : `ping not delivered: ${result.reason}`;
  } catch (error) {
    if (error instanceof HookSkip) return error.message;
    // An unexpected error's text could hold event content: report its kind only.
    return `hook failed unexpectedly (${error instanceof Error ? error.name : typeof error})`;
  }
}

async function main(): Promise<void> {
  let runtime: Runtime | undefined;
  try {
    runtime = detectRuntime();
    const problem = await runHook(runtime);
    if (problem !== undefined && runtime.env("TELEMHQ_HOOK_DEBUG") === "1") {
      // Debug output goes to stderr only: Claude Code reads hook stdout.
      console.error(`TelemHQ hook: ${problem}`);
    }
  } finally {
    runtime?.exit(0);
  }
}

if ((import.meta as { main?: boolean }).main) {
  await main();
}
