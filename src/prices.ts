/**
 * What a response costs: list prices per model as data, the override from
 * `TELEMHQ_PRICES`, and the cost of one response's tokens.
 *
 * Owns: `MODEL_PRICES`, `priceTable`, `priceFor`, `responseCostUsd`,
 * `roundUsd`. Uses: nothing.
 *
 * @module
 */

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
export interface ResponseTokens {
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
export function responseCostUsd(tokens: ResponseTokens, price: ModelPrice): number {
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
export function roundUsd(usd: number): number {
  return Math.round(usd * 1_000_000) / 1_000_000;
}
