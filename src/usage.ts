/**
 * Tokens and cost of a turn (or a subagent run), from its transcript lines:
 * each API response counted once, priced by its model.
 *
 * Owns: `TurnUsage`, `sumUsage`, `readTurnUsage`, `readTranscriptUsage`,
 * the token fields. Uses: fields, transcript, price_eras, prices.
 *
 * @module
 */

import { type Payload, plainBranch, plainModelId } from "./fields.ts";
import { pricingNote } from "./price_eras.ts";
import { type PriceBook, type PricedUsage, resolveModel, responseCostUsd, roundUsd } from "./prices.ts";
import { parseLine, readLinesBackward, readTurnLines, type TranscriptLine } from "./transcript.ts";

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
export const TOKEN_FIELDS = [
  "input_tokens",
  "output_tokens",
  "cache_creation_input_tokens",
  "cache_read_input_tokens",
] as const;

/** The four token counts. */
export type TokenCounts = Record<(typeof TOKEN_FIELDS)[number], number>;

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
export function totalTokens(counts: TokenCounts): number {
  return TOKEN_FIELDS.reduce((sum, field) => sum + counts[field], 0);
}

/** One API response's usage, its lines merged, and the model it was requested with. */
export interface ResponseUsage extends PricedUsage {
  /** The model it was requested with (or, in older transcripts, the one that answered). */
  model?: string;
}

/** A response with nothing counted yet, for {@linkcode mergeResponseLine}. */
export const NO_RESPONSE_USAGE: Readonly<ResponseUsage> = {
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
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const response = { ...NO_RESPONSE_USAGE };
 * mergeResponseLine(response, { message: { model: "claude-sonnet-4-5" } }, { output_tokens: 3 });
 * mergeResponseLine(response, {}, { output_tokens: 7 });
 * assert.equal(response.output_tokens, 7);
 * ```
 */
export function mergeResponseLine(
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
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(count(12), 12);
 * assert.equal(count(-1), 0);
 * assert.equal(count(1e300), 0);
 * ```
 */
export function count(value: unknown): number {
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
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(changedLines({ type: "create", content: "a\nb", structuredPatch: [] }), { added: 2, removed: 0 });
 * ```
 */
export function changedLines(result: unknown): { added: number; removed: number } | undefined {
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
