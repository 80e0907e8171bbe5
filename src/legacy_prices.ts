/**
 * How Claude Code releases before the catalog era (1.0.0 to 2.1.195) found a
 * response's price: the model id turned into a key of the release's own table
 * by its key steps (a regex that made `claude-sonnet-4-5` plain `claude-sonnet`
 * in 1.0, `includes` rules later), fast-mode prices by key, and a whole-request
 * long-context price for the 3/15 (and for a while 5/25) prices. The steps and
 * tables are `price_eras.ts`'s data, read from the releases themselves.
 *
 * Owns: `parsePrice`, `tableKey`, `tablePrice`, `FastSignals`. Uses: catalog, price_eras.
 *
 * @module
 */

import type { TierPrice } from "./catalog.ts";
import type { PricingEra } from "./price_eras.ts";

/** The prompt size over which a table era's long-context prices apply (strictly over). */
const LONG_CONTEXT_TOKENS = 200_000;

const parsedPrices = new Map<string, TierPrice>();

/**
 * A price of the era table, from its text `"input/output/5-minute write/1-hour write/cache read/web search"`.
 *
 * @param text The price text (`-` for a price the era did not have).
 * @returns The price.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(parsePrice("3/15/3.75/-/0.3/0.01"), {
 *   input: 3, output: 15, cache_write_5m: 3.75, cache_read: 0.3, web_search: 0.01,
 * });
 * ```
 */
export function parsePrice(text: string): TierPrice {
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
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * // 1.0's regex: every Sonnet 4.x is plain "claude-sonnet" (priced as Sonnet 4).
 * assert.equal(tableKey(["match:/(claude-(\\d+-\\d+-)?\\w+)/"], "claude-sonnet-4-5-20250929"), "claude-sonnet");
 * assert.equal(tableKey(["lower", "replace:/-\\d{8}$/"], "Claude-Foo-20250101"), "claude-foo");
 * ```
 */
export function tableKey(steps: readonly string[], model: string): string {
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
export interface FastSignals {
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
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pricingEraOf } from "@telemhq/claude-code";
 * const era = pricingEraOf("1.0.128").era;
 * // Opus 4.5 did not exist yet: 1.0.128's includes("claude-opus-4") priced it as Opus 4.
 * assert.equal(tablePrice("claude-opus-4-5-20251101", {}, era)?.input, 15);
 * assert.equal(tablePrice("claude-sonnet-4-5", {}, era)?.long_prompt?.input, 6);
 * ```
 */
export function tablePrice(model: string, usage: FastSignals, era: PricingEra): TierPrice | undefined {
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
