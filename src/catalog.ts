/**
 * The model catalog Claude Code prices by, as data: its pricing tiers, its
 * models (with every provider's id for each), and its fast-mode prices.
 * Recorded from the pinned Claude Code (2.1.332) by `deno task
 * record:catalog`; a test fails, naming the model and the price, when the
 * pinned binary's catalog differs from this one.
 *
 * Owns: `PRICING_TIERS`, `CATALOG_MODELS`, `FAST_PRICES`. Uses: nothing.
 *
 * @module
 */

/** Prices of one model, in US dollars per million tokens (`web_search`: per request). */
export interface TierPrice {
  /** Uncached input. */
  input: number;
  /** Output (thinking included). */
  output: number;
  /** Writing the prompt cache with a 5-minute lifetime (and writes not split by lifetime). */
  cache_write_5m: number;
  /** Writing the prompt cache with a 1-hour lifetime; absent: priced as 5-minute writes. */
  cache_write_1h?: number;
  /** Reading the prompt cache. */
  cache_read: number;
  /** One web search request. */
  web_search?: number;
  /** Prices of a response whose prompt (input, cache reads and writes) is over `above_prompt_tokens`. */
  long_prompt?: Omit<TierPrice, "web_search" | "long_prompt"> & { above_prompt_tokens: number };
}

/** One model of the catalog. */
export interface CatalogModel {
  /** The catalog's canonical id, for example `"claude-sonnet-4-6"`. */
  id: string;
  /** Its pricing tier (a key of {@linkcode PRICING_TIERS}). */
  tier: string;
  /** Every id a provider knows it by (first party, Bedrock, Vertex, Foundry, ...), lower case. */
  providerIds: readonly string[];
}

/** The catalog's pricing tiers. */
// deno-fmt-ignore
export const PRICING_TIERS: Readonly<Record<string, TierPrice>> = {
  tier_2_10: { input: 2, output: 10, cache_write_5m: 2.5, cache_write_1h: 4, cache_read: 0.2, web_search: 0.01 },
  tier_2_10_cache_read_0_10: { input: 2, output: 10, cache_write_5m: 2.5, cache_write_1h: 4, cache_read: 0.1, web_search: 0.01 },
  tier_3_15: { input: 3, output: 15, cache_write_5m: 3.75, cache_write_1h: 6, cache_read: 0.3, web_search: 0.01 },
  tier_5_25: { input: 5, output: 25, cache_write_5m: 6.25, cache_write_1h: 10, cache_read: 0.5, web_search: 0.01 },
  tier_15_75: { input: 15, output: 75, cache_write_5m: 18.75, cache_write_1h: 30, cache_read: 1.5, web_search: 0.01 },
  tier_10_50: { input: 10, output: 50, cache_write_5m: 12.5, cache_write_1h: 20, cache_read: 1, web_search: 0.01 },
  tier_10_50_cache_read_0_25: { input: 10, output: 50, cache_write_5m: 12.5, cache_write_1h: 20, cache_read: 0.25, web_search: 0.01 },
  tier_4_20_cache_read_0_20: { input: 4, output: 20, cache_write_5m: 5, cache_write_1h: 8, cache_read: 0.2, web_search: 0.01 },
  tier_8_40_cache_read_0_20: { input: 8, output: 40, cache_write_5m: 10, cache_write_1h: 16, cache_read: 0.2, web_search: 0.01 },
  haiku_35: { input: 0.8, output: 4, cache_write_5m: 1, cache_write_1h: 1.6, cache_read: 0.08, web_search: 0.01 },
  haiku_45: { input: 1, output: 5, cache_write_5m: 1.25, cache_write_1h: 2, cache_read: 0.1, web_search: 0.01 },
  haiku_55: { input: 0.1, output: 0.5, cache_write_5m: 0.125, cache_write_1h: 0.2, cache_read: 0.01, web_search: 0.01, long_prompt: { above_prompt_tokens: 100000, input: 0.5, output: 2.5, cache_write_5m: 0.625, cache_write_1h: 1, cache_read: 0.05 } },
};

/** The catalog's models, in the catalog's order. */
// deno-fmt-ignore
export const CATALOG_MODELS: readonly CatalogModel[] = [
  { id: "claude-3-5-haiku", tier: "haiku_35", providerIds: ["claude-3-5-haiku","claude-3-5-haiku-20241022","us.anthropic.claude-3-5-haiku-20241022-v1:0","claude-3-5-haiku@20241022"] },
  { id: "claude-haiku-4-5", tier: "haiku_45", providerIds: ["claude-haiku-4-5","claude-haiku-4-5-20251001","us.anthropic.claude-haiku-4-5-20251001-v1:0","claude-haiku-4-5@20251001","anthropic.claude-haiku-4-5"] },
  { id: "claude-haiku-5-5", tier: "haiku_55", providerIds: ["claude-haiku-5-5","us.anthropic.claude-haiku-5-5","anthropic.claude-haiku-5-5"] },
  { id: "claude-3-5-sonnet", tier: "tier_3_15", providerIds: ["claude-3-5-sonnet","claude-3-5-sonnet-20241022","us.anthropic.claude-3-5-sonnet-20241022-v2:0","claude-3-5-sonnet-v2@20241022"] },
  { id: "claude-3-7-sonnet", tier: "tier_3_15", providerIds: ["claude-3-7-sonnet","claude-3-7-sonnet-20250219","us.anthropic.claude-3-7-sonnet-20250219-v1:0","claude-3-7-sonnet@20250219"] },
  { id: "claude-sonnet-4-0", tier: "tier_3_15", providerIds: ["claude-sonnet-4-0","claude-sonnet-4-20250514","us.anthropic.claude-sonnet-4-20250514-v1:0","claude-sonnet-4@20250514","claude-sonnet-4"] },
  { id: "claude-sonnet-4-5", tier: "tier_3_15", providerIds: ["claude-sonnet-4-5","claude-sonnet-4-5-20250929","us.anthropic.claude-sonnet-4-5-20250929-v1:0","claude-sonnet-4-5@20250929"] },
  { id: "claude-sonnet-4-6", tier: "tier_3_15", providerIds: ["claude-sonnet-4-6","us.anthropic.claude-sonnet-4-6"] },
  { id: "claude-sonnet-5", tier: "tier_2_10", providerIds: ["claude-sonnet-5","us.anthropic.claude-sonnet-5","anthropic.claude-sonnet-5"] },
  { id: "claude-sonnet-5-5", tier: "tier_2_10_cache_read_0_10", providerIds: ["claude-sonnet-5-5","us.anthropic.claude-sonnet-5-5","anthropic.claude-sonnet-5-5"] },
  { id: "claude-opus-4-0", tier: "tier_15_75", providerIds: ["claude-opus-4-0","claude-opus-4-20250514","us.anthropic.claude-opus-4-20250514-v1:0","claude-opus-4@20250514","claude-opus-4"] },
  { id: "claude-opus-4-1", tier: "tier_15_75", providerIds: ["claude-opus-4-1","claude-opus-4-1-20250805","us.anthropic.claude-opus-4-1-20250805-v1:0","claude-opus-4-1@20250805"] },
  { id: "claude-opus-4-5", tier: "tier_5_25", providerIds: ["claude-opus-4-5","claude-opus-4-5-20251101","us.anthropic.claude-opus-4-5-20251101-v1:0","claude-opus-4-5@20251101"] },
  { id: "claude-opus-4-6", tier: "tier_5_25", providerIds: ["claude-opus-4-6","us.anthropic.claude-opus-4-6-v1"] },
  { id: "claude-opus-4-7", tier: "tier_5_25", providerIds: ["claude-opus-4-7","us.anthropic.claude-opus-4-7","anthropic.claude-opus-4-7"] },
  { id: "claude-opus-4-8", tier: "tier_5_25", providerIds: ["claude-opus-4-8","us.anthropic.claude-opus-4-8","anthropic.claude-opus-4-8"] },
  { id: "claude-opus-5", tier: "tier_5_25", providerIds: ["claude-opus-5","us.anthropic.claude-opus-5","anthropic.claude-opus-5"] },
  { id: "claude-opus-5-5", tier: "tier_4_20_cache_read_0_20", providerIds: ["claude-opus-5-5","us.anthropic.claude-opus-5-5","anthropic.claude-opus-5-5"] },
  { id: "claude-fable-5", tier: "tier_10_50", providerIds: ["claude-fable-5","us.anthropic.claude-fable-5","anthropic.claude-fable-5"] },
  { id: "claude-fable-5-1", tier: "tier_10_50_cache_read_0_25", providerIds: ["claude-fable-5-1","us.anthropic.claude-fable-5-1","anthropic.claude-fable-5-1"] },
  { id: "claude-fable-5-2", tier: "tier_8_40_cache_read_0_20", providerIds: ["claude-fable-5-2","us.anthropic.claude-fable-5-2","anthropic.claude-fable-5-2"] },
  { id: "claude-mythos-5", tier: "tier_10_50", providerIds: ["claude-mythos-5"] },
  { id: "claude-mythos-5-1", tier: "tier_10_50_cache_read_0_25", providerIds: ["claude-mythos-5-1"] },
  { id: "claude-mythos-5-2", tier: "tier_8_40_cache_read_0_20", providerIds: ["claude-mythos-5-2"] },
];

/** Fast-mode prices (`usage.speed` `"fast"`), by model: in Claude Code's code, not its catalog. */
// deno-fmt-ignore
export const FAST_PRICES: Readonly<Record<string, TierPrice>> = {
  "claude-fable-5-2": { input: 16, output: 80, cache_write_5m: 20, cache_write_1h: 32, cache_read: 0.4, web_search: 0.01 },
  "claude-mythos-5-2": { input: 16, output: 80, cache_write_5m: 20, cache_write_1h: 32, cache_read: 0.4, web_search: 0.01 },
  "claude-opus-5-5": { input: 8, output: 40, cache_write_5m: 10, cache_write_1h: 16, cache_read: 0.4, web_search: 0.01 },
  "claude-opus-4-8": { input: 10, output: 50, cache_write_5m: 12.5, cache_write_1h: 20, cache_read: 1, web_search: 0.01 },
  "claude-opus-5": { input: 10, output: 50, cache_write_5m: 12.5, cache_write_1h: 20, cache_read: 1, web_search: 0.01 },
  "claude-opus-4-6": { input: 30, output: 150, cache_write_5m: 37.5, cache_write_1h: 60, cache_read: 3, web_search: 0.01 },
  "claude-opus-4-7": { input: 30, output: 150, cache_write_5m: 37.5, cache_write_1h: 60, cache_read: 3, web_search: 0.01 },
};
