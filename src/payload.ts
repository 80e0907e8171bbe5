/**
 * Building the ping: fills the allowlisted fields from an event, checking
 * each value's type and shape. Prompts, tool input and output, error text,
 * assistant text and paths are never copied: paths are hashed (with the
 * team's salt, if set), the assistant's message is counted.
 *
 * Owns: `buildPayload`, `pingId`, the project name and the path hashes.
 * Uses: input, events, sha256, fields, paths.
 *
 * @module
 */

import { eventRule, FAILED_EVENTS } from "./events.ts";
import {
  ENUM_FIELDS,
  EVENT_NAME_PATTERN,
  GIT_REPO_PATTERN,
  MAX_PROJECT_CHARS,
  MEMBER_PATTERN,
  MODE_PATTERN,
  type Payload,
  PROJECT_PATTERN,
  STOP_FAILURE_ERRORS,
  TOKEN_PATTERN,
} from "./fields.ts";
import type { HookInput } from "./input.ts";
import { hostPathStyle, pathName, type PathStyle, samePath } from "./paths.ts";
import { type Sha256Hex, webCryptoSha256Hex } from "./sha256.ts";

/** Version of this hook, sent in every ping as `hook_version`. */
export const HOOK_VERSION = "0.1.0";

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
 * A field that must be a machine token (an id, a tool name, an agent type, a
 * mode), or undefined.
 *
 * @param input The event.
 * @param key The field.
 * @param shape The token's shape: {@linkcode TOKEN_PATTERN} by default.
 * @returns The token, when it has that shape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(tokenField({ tool_name: "Bash" }, "tool_name"), "Bash");
 * assert.equal(tokenField({ tool_name: "rm -rf ~" }, "tool_name"), undefined);
 * assert.equal(tokenField({ session_id: "home/alice/.env" }, "session_id"), undefined);
 * ```
 */
export function tokenField(input: HookInput, key: string, shape: RegExp = TOKEN_PATTERN): string | undefined {
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

/** Whether the working directory is the user's home folder, whose name is the user's own. */
function atHome(cwd: string, context: PayloadContext): boolean {
  return context.homeDir !== undefined && samePath(cwd, context.homeDir, context.pathStyle ?? hostPathStyle());
}
