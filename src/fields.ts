/**
 * What may leave the machine: the `Payload` type (every field a ping can
 * carry, and nothing else), each field's rule for its value, and the checks
 * that hold a ping to them, when it is built and when it is read back from
 * disk.
 *
 * Owns: `Payload`, `PAYLOAD_FIELDS`, the field rules, `checkPayload`,
 * `allowlisted`, the enumerations of allowed values. Uses: nothing.
 *
 * @module
 */

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
export const ENUM_FIELDS: Readonly<Record<"source" | "reason" | "trigger", ReadonlySet<string>>> = {
  source: new Set(["startup", "resume", "clear", "compact", "fork"]),
  reason: new Set(["clear", "resume", "logout", "prompt_input_exit", "other", "bypass_permissions_disabled"]),
  trigger: new Set(["manual", "auto", "init", "maintenance"]),
};

/**
 * Ids, tool names and agent types are machine tokens (a UUID, `toolu_...`,
 * `mcp__github__create_issue`, `plugin:agent`); anything else in those fields
 * (free text, a path, an address, an object) is dropped rather than sent.
 */
export const TOKEN_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
/** A permission mode: a word (`default`, `acceptEdits`, `bypassPermissions`, `plan`, `dontAsk`, `auto`). */
export const MODE_PATTERN: RegExp = /^[A-Za-z]{1,32}$/;
/**
 * What a project name may hold: letters and digits of any script and most
 * punctuation, never a path separator (`/`, or the `\\` of a Windows path read
 * on another system), a control or line-separator character, a lone
 * surrogate, a private-use or unassigned one, or an invisible one: the format
 * characters (bidirectional controls, zero-width spaces, tag characters that
 * spell hidden text), the Hangul fillers and the grapheme joiner; only the
 * zero-width joiner and non-joiner, which emoji and some scripts need, pass.
 */
export const PROJECT_PATTERN: RegExp =
  /^(?!.*[\p{Co}\p{Cn}\u034f\u115f\u1160\u3164\uffa0])(?!.*(?![\u200c\u200d])\p{Cf})[^/\\\p{Cc}\p{Cs}\u2028\u2029]{1,255}$/u;
/** A hook event name. */
export const EVENT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
/** The longest project name sent. */
export const MAX_PROJECT_CHARS = 255;
/**
 * A plain model id: letters, digits, `.`, `_`, `-` (a Bedrock id such as
 * `us.anthropic.claude-sonnet-4-6` passes). Never an ARN (it holds an account
 * id), a path, or free text.
 */
const MODEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;
/** A repository's `owner/name`. */
export const GIT_REPO_PATTERN: RegExp = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;
/** A team member's label: a name or an e-mail-like handle, nothing longer or stranger. */
export const MEMBER_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;
/** What a git branch name may hold here: letters, digits and the punctuation refs commonly use. */
const BRANCH_PATTERN = /^[\p{L}\p{N}._/@+#-]{1,255}$/u;

/**
 * How a field's value must look to be sent: a pattern, a set of allowed
 * values, or a kind of number; checked when a ping is built and again when a
 * spooled ping is read back from disk (a file anyone could have edited).
 */
export type FieldRule = RegExp | ReadonlySet<string> | "count" | "usd" | "boolean" | "models";

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
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(plainModelId("claude-sonnet-4-5"), "claude-sonnet-4-5");
 * assert.equal(plainModelId("arn:aws:bedrock:us-east-1:123456789012:inference-profile/x"), undefined);
 * ```
 */
export function plainModelId(model: string): string | undefined {
  return MODEL_PATTERN.test(model) ? model : undefined;
}

/**
 * A git branch as it may be sent, else nothing. `HEAD` is no branch: Claude
 * Code records it outside a repository and on a detached checkout.
 *
 * @param branch A branch name from a transcript.
 * @returns The name, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(plainBranch("feature/login"), "feature/login");
 * assert.equal(plainBranch("x\ny"), undefined);
 * assert.equal(plainBranch("HEAD"), undefined);
 * ```
 */
export function plainBranch(branch: string): string | undefined {
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
