/**
 * Tokens and cost of a turn (or a subagent run), from its transcript lines:
 * each API response counted once, priced by its model.
 *
 * Owns: `TurnUsage`, `sumUsage`, `readTurnUsage`, `readTranscriptUsage`,
 * the token fields. Uses: fields, transcript, prices.
 *
 * @module
 */

import { type Payload, plainBranch, plainModelId } from "./fields.ts";
import { type ModelPrice, priceFor, responseCostUsd, type ResponseTokens, roundUsd } from "./prices.ts";
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
  & Pick<Payload, "model" | "models" | "cost_usd" | "duration_ms" | "git_branch">;

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
    if (typeof line.gitBranch === "string" && plainBranch(line.gitBranch) !== undefined) {
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
    // Models as the transcript names them are priced, but only plain ids are sent.
    const models = [...outputByModel.entries()].sort((a, b) => b[1] - a[1]).map(([model]) => plainModelId(model));
    const named = models.filter((model) => model !== undefined);
    return {
      ...totals,
      total_tokens: totalTokens(totals),
      model: models[0],
      models: models.length > 1 && named.length > 0 ? named : undefined,
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
