/**
 * What a response costs, the way Claude Code itself computes it: the model
 * id as a transcript names it resolved to the catalog's model (dated ids,
 * `[1m]` tags, Bedrock, Vertex and Foundry ids, ARNs), that model's tier, the
 * fast-mode, long-prompt, 1-hour cache, US-inference and web-search rules
 * of the Claude Code version that wrote the response (see `price_eras.ts`;
 * releases before the catalog priced from tables of their own, see
 * `legacy_prices.ts`), an organisation's managed `modelPricing`, and
 * `TELEMHQ_PRICES` over all.
 *
 * Owns: `resolveModel`, `PriceBook`, `responseCostUsd`, `roundUsd`,
 * `priceTable`, `loadManagedPricing`. Uses: runtime, config, catalog, price_eras, legacy_prices.
 *
 * @module
 */

import { CATALOG_MODELS, FAST_PRICES, PRICING_TIERS, type TierPrice } from "./catalog.ts";
import { managedSettingsPaths, readManagedSettings } from "./config.ts";
import { type PricingEra, pricingEraOf } from "./price_eras.ts";
import { parsePrice, tableKey, tablePrice } from "./legacy_prices.ts";
import type { Runtime } from "./runtime.ts";

/** A model's list prices, in US dollars per million tokens (see {@linkcode TierPrice}). */
export type ModelPrice = TierPrice;

/** The US-only inference multiplier Claude Code applies to token costs (`usage.inference_geo === "us"`). */
const US_INFERENCE_FACTOR = 1.1;
/** Web search per request, where a price gives none (Claude Code's default). */
const WEB_SEARCH_USD = 0.01;
/** Region prefixes of Bedrock inference profiles; a profile id of another region is priced as its `us.` twin. */
const REGIONS = ["us", "eu", "apac", "jp", "au", "us-gov", "global"] as const;

let providerIds: ReadonlyMap<string, string> | undefined;

/**
 * Every provider id (lower case) to its catalog model: built on first use, since only the sender prices (the hook,
 * which runs for every event, never does).
 */
function byProviderId(): ReadonlyMap<string, string> {
  return providerIds ??= new Map(
    CATALOG_MODELS.flatMap((model) => model.providerIds.map((id) => [id, model.id] as const)),
  );
}

/** A model id taken apart: `claude-<family>-<major>[-<minor>]`, or the older `claude-<major>[-<minor>]-<family>`. */
interface ModelName {
  family: string;
  major: number;
  minor: number;
  legacyOrder: boolean;
}

const MODERN_NAME = /^claude-([a-z]+)-(\d{1,2})(?:-(\d{1,2})(?!\d))?/;
const LEGACY_NAME = /^claude-(\d{1,2})(?:-(\d{1,2}))?-([a-z]+)/;
/** What may follow a model name in an id: `-fast`/`-latest`, a date, a Bedrock version (`-v1:0`). */
const NAME_TRAILER = /^(?:-fast|-latest)?(?:-v\d{1,3}@\d{8}|[-@]\d{8})?(?:-v\d{1,3}(?::\d{1,3})?)?$/;

function parseName(id: string): ModelName | undefined {
  const modern = MODERN_NAME.exec(id);
  const legacy = modern === null ? LEGACY_NAME.exec(id) : null;
  const match = modern ?? legacy;
  if (match === null || !NAME_TRAILER.test(id.slice(match[0].length))) return undefined;
  return modern !== null
    ? { family: modern[1], major: Number(modern[2]), minor: Number(modern[3] ?? 0), legacyOrder: false }
    : { family: legacy![3], major: Number(legacy![1]), minor: Number(legacy![2] ?? 0), legacyOrder: true };
}

let names: ReadonlyMap<string, string> | undefined;

/** Catalog models by their parsed names, for ids that are no provider's exact id (built on first use). */
function byName(): ReadonlyMap<string, string> {
  return names ??= new Map(
    CATALOG_MODELS.flatMap((model) => {
      const name = parseName(model.id);
      return name === undefined ? [] : [[nameKey(name), model.id] as const];
    }),
  );
}

function nameKey(name: ModelName): string {
  return `${name.family}\u0000${name.major}\u0000${name.minor}\u0000${name.legacyOrder}`;
}

/**
 * The catalog model a model id names, as Claude Code resolves it: exact
 * provider ids first (any region's Bedrock profile), then the id taken apart
 * (what follows the last `/` of an ARN or gateway path, without an
 * `anthropic.` prefix, a `[1m]` tag, a date or a version), then the newest
 * catalog id the string contains.
 *
 * @param model A model id from a transcript, for example `"us.anthropic.claude-sonnet-4-6"`.
 * @returns The catalog's id, for example `"claude-sonnet-4-6"`, or undefined when it names no catalog model.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(resolveModel("claude-sonnet-4-5-20250929"), "claude-sonnet-4-5");
 * assert.equal(resolveModel("claude-sonnet-4-5@20250929"), "claude-sonnet-4-5");
 * assert.equal(resolveModel("Claude-Opus-4.6[1m]"), "claude-opus-4-6");
 * assert.equal(resolveModel("my-proxy-model"), undefined);
 * ```
 */
export function resolveModel(model: string): string | undefined {
  let id = model.trim().toLowerCase();
  if (id === "" || /\s/.test(id)) return undefined;
  id = id.replace(/\[[12]m\]/g, "").replace(/(claude-(?:[a-z]+-)?\d{1,2})\.(?=\d)/g, "$1-");
  const exact = byProviderId().get(id);
  if (exact !== undefined) return exact;
  const region = REGIONS.find((prefix) => prefix !== "us" && id.startsWith(`${prefix}.anthropic.`));
  if (region !== undefined) {
    const twin = byProviderId().get(`us${id.slice(region.length)}`);
    if (twin !== undefined) return twin;
  }
  let bare = id.slice(id.lastIndexOf("/") + 1);
  const prefixed = /^(?:([a-z-]+)\.)?anthropic\.(claude-.*)$/.exec(bare);
  if (prefixed !== null) {
    if (prefixed[1] !== undefined && !(REGIONS as readonly string[]).includes(prefixed[1])) return undefined;
    bare = prefixed[2];
  }
  const named = byProviderId().get(bare) ?? (parseName(bare) && byName().get(nameKey(parseName(bare)!)));
  if (named !== undefined) return named;
  return containedModel(bare);
}

/** The newest catalog id a string contains, not followed by another version number (`claude-opus-4` is 4-0). */
function containedModel(id: string): string | undefined {
  for (const model of [...CATALOG_MODELS].reverse()) {
    const at = id.indexOf(model.id);
    if (at >= 0 && !/^-?\d/.test(id.slice(at + model.id.length))) return model.id;
    const major = model.id.match(/^(claude-[a-z]+-\d+)-0$/)?.[1];
    if (major !== undefined && new RegExp(`${major}(?!-?\\d)`).test(id)) return model.id;
  }
  return undefined;
}

/** What `TELEMHQ_PRICES` and managed `modelPricing` rows look like once read. */
interface PriceRow {
  price: ModelPrice;
  /** A managed row prices every token alike: no US-inference, fast or long-prompt rule. */
  flat: boolean;
}

/** An organisation's managed `modelPricing` (Claude Code honours it from managed settings only). */
export interface ManagedPricing {
  /** Multiplies every cost, web search and unmatched models included (0 to 10). */
  multiplier: number;
  /** Rows by model id (lower case, `[1m]` removed), as written. */
  exact: ReadonlyMap<string, ModelPrice>;
  /** Rows by the catalog model their key names. */
  byModel: ReadonlyMap<string, ModelPrice>;
}

/**
 * Reads managed `modelPricing` (`{"multiplier": 0.85, "overrides": {"<model>": {"input", "output",
 * "cacheRead", "cacheWrite"}}}`), as Claude Code validates it; anything else gives undefined.
 *
 * @param value The `modelPricing` value of a managed settings file.
 * @returns The pricing, or undefined when absent, malformed, or without effect.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const pricing = managedPricing({ multiplier: 0.5 });
 * assert.equal(pricing?.multiplier, 0.5);
 * ```
 */
export function managedPricing(value: unknown): ManagedPricing | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const { multiplier = 1, overrides = {} } = value as { multiplier?: unknown; overrides?: unknown };
  if (typeof multiplier !== "number" || !(multiplier > 0 && multiplier <= 10)) return undefined;
  if (overrides === null || typeof overrides !== "object") return undefined;
  const exact = new Map<string, ModelPrice>();
  const byModel = new Map<string, ModelPrice>();
  const valid = (n: unknown) => typeof n === "number" && n >= 0 && n <= 10_000;
  for (const [key, row] of Object.entries(overrides as Record<string, Record<string, unknown>>)) {
    if (row === null || typeof row !== "object") return undefined;
    if (![row.input, row.output, row.cacheRead, row.cacheWrite].every(valid)) return undefined;
    const price: ModelPrice = {
      input: row.input as number,
      output: row.output as number,
      cache_read: row.cacheRead as number,
      cache_write_5m: row.cacheWrite as number,
      web_search: WEB_SEARCH_USD,
    };
    const name = key.replace(/\[[12]m\]/gi, "").toLowerCase();
    if (exact.has(name)) continue; // the first row wins, as in Claude Code
    exact.set(name, price);
    const model = resolveExactly(name);
    if (model !== undefined && !byModel.has(model)) byModel.set(model, price);
  }
  if (exact.size === 0 && multiplier === 1) return undefined;
  return { multiplier, exact, byModel };
}

/** A catalog id, or a provider id of any region: what a managed row's key may name. */
function resolveExactly(key: string): string | undefined {
  if (CATALOG_MODELS.some((model) => model.id === key)) return key;
  const region = REGIONS.find((prefix) => key.startsWith(`${prefix}.anthropic.`));
  return byProviderId().get(region === undefined ? key : `us${key.slice(region.length)}`);
}

/** The prices in force: the catalog, an organisation's managed pricing, and the user's `TELEMHQ_PRICES` over all. */
export interface PriceBook {
  /** `TELEMHQ_PRICES`: rows by model id (exact, lower case) or catalog id. */
  overrides: Readonly<Record<string, ModelPrice>>;
  /** Managed `modelPricing`, if the machine's managed settings have it. */
  managed?: ManagedPricing;
}

/** The usage fields of one response that its cost depends on. */
export interface PricedUsage {
  /** Uncached input tokens. */
  input_tokens: number;
  /** Output tokens. */
  output_tokens: number;
  /** Cache reads. */
  cache_read_input_tokens: number;
  /** All cache writes. */
  cache_creation_input_tokens: number;
  /** Cache writes with a 1-hour lifetime (part of the above). */
  cache_1h: number;
  /** `"fast"` for fast mode; other values than `"standard"` are priced as fast too, as Claude Code does. */
  speed?: string;
  /** The 2026 fast-mode research preview marked the response (`usage.research_preview_2026_02`). */
  research_preview?: boolean;
  /** `"us"`: US-only inference, 1.1 times the token cost. */
  inference_geo?: string;
  /** Web search requests. */
  web_search_requests: number;
  /** `usage.iterations`: the server-side steps of the response (see {@linkcode responseCostUsd}). */
  iterations?: readonly unknown[];
  /** The Claude Code version that wrote the response (its transcript line's `version`): its cost rules apply. */
  version?: string;
}

/** One step of `usage.iterations`, as far as its cost goes. */
interface Iteration {
  type?: unknown;
  model?: unknown;
  input_tokens?: unknown;
  output_tokens?: unknown;
  cache_read_input_tokens?: unknown;
  cache_creation_input_tokens?: unknown;
  cache_creation?: { ephemeral_1h_input_tokens?: unknown; ephemeral_5m_input_tokens?: unknown } | null;
}

const COUNTED = ["input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"] as const;

/** A token count: a whole number below 2^53, else 0 (an enormous count must not make a cost infinite). */
function tokens(value: unknown): number {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? value as number : 0;
}

function iterationUsage(step: Iteration, oneHour: number, parent: PricedUsage): PricedUsage {
  return {
    input_tokens: tokens(step.input_tokens),
    output_tokens: tokens(step.output_tokens),
    cache_read_input_tokens: tokens(step.cache_read_input_tokens),
    cache_creation_input_tokens: tokens(step.cache_creation_input_tokens),
    cache_1h: oneHour,
    inference_geo: parent.inference_geo,
    web_search_requests: 0,
    version: parent.version,
  };
}

/**
 * The units a response is priced in. Normally the response itself; under a price with a long-prompt
 * line, its `message` iterations one by one (each with its own line test) when their counts add up to
 * the response's, with the response's 1-hour writes the iterations do not account for handed to them
 * in order, as Claude Code does.
 */
function pricedUnits(usage: PricedUsage, price: ModelPrice): PricedUsage[] {
  if (price.long_prompt === undefined || !Array.isArray(usage.iterations)) return [usage];
  const steps = (usage.iterations as Iteration[]).filter((step) => step?.type === "message");
  const valid = steps.length > 0 &&
    COUNTED.every((field) =>
      steps.every((step) => typeof step[field] === "number" && Number.isFinite(step[field]) && step[field] >= 0) &&
      steps.reduce((sum, step) => sum + (step[field] as number), 0) === usage[field]
    );
  if (!valid) return [usage];
  const split = (step: Iteration) => {
    const total = tokens(step.cache_creation_input_tokens);
    const hour = Math.max(Math.min(tokens(step.cache_creation?.ephemeral_1h_input_tokens), total), 0);
    return { hour, five: Math.max(Math.min(tokens(step.cache_creation?.ephemeral_5m_input_tokens), total - hour), 0) };
  };
  let unplaced = Math.max(0, usage.cache_1h - steps.reduce((sum, step) => sum + split(step).hour, 0));
  return steps.map((step) => {
    const { hour, five } = split(step);
    const extra = Math.min(unplaced, tokens(step.cache_creation_input_tokens) - five - hour);
    unplaced -= extra;
    return iterationUsage(step, hour + extra, usage);
  });
}

/** A catalog model's price in a catalog era: its fast price, the era's own, or today's tier. */
function tierOf(catalogId: string, speed: string | undefined, era: PricingEra): ModelPrice | undefined {
  const fast = speed !== undefined && speed !== "" && speed !== "standard" ? FAST_PRICES[catalogId] : undefined;
  if (fast !== undefined) return fast;
  const then = Object.hasOwn(era.prices, catalogId) ? parsePrice(era.prices[catalogId]) : undefined;
  const model = CATALOG_MODELS.find((entry) => entry.id === catalogId);
  const price = then ?? (model === undefined ? undefined : PRICING_TIERS[model.tier]);
  if (price?.long_prompt === undefined || era.longPromptLines) return price;
  const { long_prompt: _, ...withoutLine } = price;
  return withoutLine;
}

/**
 * Finds the price of a model id: `TELEMHQ_PRICES`, then a managed row (where the era honoured them),
 * then the era's table or catalog.
 */
function priceRow(model: string, book: PriceBook, usage: PricedUsage, era: PricingEra): PriceRow | undefined {
  const key = model.replace(/\[[12]m\]/gi, "").toLowerCase();
  const catalogId = resolveModel(model);
  // Own keys only: a model named "constructor" or "__proto__" is no row of the table.
  const own = (id: string | undefined) =>
    id !== undefined && Object.hasOwn(book.overrides, id) ? book.overrides[id] : undefined;
  const override = own(key) ?? own(catalogId);
  if (override !== undefined) return { price: override, flat: false };
  const managed = !era.managedPricing ? undefined : book.managed?.exact.get(key) ??
    (catalogId === undefined ? undefined : book.managed?.byModel.get(catalogId));
  if (managed !== undefined) return { price: managed, flat: true };
  if (!era.catalog) {
    const price = tablePrice(model, usage, era);
    return price === undefined ? undefined : { price, flat: false };
  }
  // A model the release did not know yet it priced as the model its key steps made of it (Opus 5.5 as Opus 5).
  const known = (id: string | undefined) => id !== undefined && era.models.includes(id) ? id : undefined;
  const then = known(catalogId) ?? known(tableKey(era.keys, model));
  const price = then === undefined ? undefined : tierOf(then, usage.speed, era);
  return price === undefined ? undefined : { price, flat: false };
}

/** The token cost of one priced unit, in Claude Code's order of operations (equal to its own, bit for bit). */
function unitCost(usage: PricedUsage, price: ModelPrice): number {
  const promptTokens = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens;
  const long = price.long_prompt;
  const p = long !== undefined && promptTokens > long.above_prompt_tokens ? long : price;
  const oneHour = Math.max(Math.min(usage.cache_1h, usage.cache_creation_input_tokens), 0);
  // Writes not marked 1-hour (5-minute ones, and older transcripts' unsplit writes) pay the 5-minute price.
  const writes = p.cache_write_1h === undefined || oneHour <= 0
    ? usage.cache_creation_input_tokens / 1e6 * p.cache_write_5m
    : oneHour / 1e6 * p.cache_write_1h + (usage.cache_creation_input_tokens - oneHour) / 1e6 * p.cache_write_5m;
  return usage.input_tokens / 1e6 * p.input + usage.output_tokens / 1e6 * p.output +
    usage.cache_read_input_tokens / 1e6 * p.cache_read + writes;
}

/**
 * The cost of one response in US dollars, as Claude Code computes it (not
 * rounded): each token count times its price (the long-prompt prices when the
 * prompt is over the tier's line; 1-hour writes apart; the fast prices for a
 * fast response), times 1.1 for US-only inference, plus web searches.
 *
 * @param model The model id the response was requested with (the transcript's `requestedModel`).
 * @param usage The response's usage.
 * @param book The prices in force.
 * @returns The cost, or undefined when no price is known for the model (never a made-up 0).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const usage = {
 *   input_tokens: 1_000_000, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0,
 *   cache_1h: 0, web_search_requests: 0,
 * };
 * assert.equal(responseCostUsd("claude-sonnet-4-6", usage, { overrides: {} }), 3);
 * assert.equal(responseCostUsd("my-proxy-model", usage, { overrides: {} }), undefined);
 * ```
 */
export function responseCostUsd(model: string, usage: PricedUsage, book: PriceBook): number | undefined {
  const { era } = pricingEraOf(usage.version);
  const row = priceRow(model, book, usage, era);
  if (row === undefined) return undefined;
  const geo = !row.flat && era.usInference && usage.inference_geo === "us" ? US_INFERENCE_FACTOR : 1;
  const units = row.flat || !era.perIteration ? [usage] : pricedUnits(usage, row.price);
  let tokensCost = 0;
  for (const unit of units) tokensCost += unitCost(unit, row.price);
  let cost = (tokensCost * geo + usage.web_search_requests * (row.price.web_search ?? WEB_SEARCH_USD)) *
    (era.managedPricing ? book.managed?.multiplier ?? 1 : 1);
  // An advisor's steps are priced as its own model, by the same rules, and added (from 2.1.84).
  for (const step of (era.advisorSteps ? usage.iterations ?? [] : []) as Iteration[]) {
    if (step?.type !== "advisor_message" || typeof step.model !== "string") continue;
    const oneHour = tokens(step.cache_creation?.ephemeral_1h_input_tokens);
    const advisor = responseCostUsd(step.model, iterationUsage(step, oneHour, usage), book);
    if (advisor === undefined) return undefined;
    cost += advisor;
  }
  // Whatever a transcript holds, a cost is a finite number or none.
  return Number.isFinite(cost) ? cost : undefined;
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

const PRICE_FIELDS = ["input", "output", "cache_write_5m", "cache_read"] as const;

/**
 * Reads `TELEMHQ_PRICES`: a JSON object of model id (or catalog id) to
 * prices (`input`, `output`, `cache_write_5m`, `cache_read`, and optionally
 * `cache_write_1h`, `web_search` and `long_prompt`), laid over every other
 * price. Entries that are not complete, finite, non-negative prices are ignored.
 *
 * @param override The `TELEMHQ_PRICES` value, if any.
 * @returns The rows, keyed by lower-case model id.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const table = priceTable('{"my-model":{"input":1,"output":2,"cache_write_5m":1,"cache_read":0.1}}');
 * assert.equal(table["my-model"].output, 2);
 * ```
 */
export function priceTable(override: string | undefined): Record<string, ModelPrice> {
  const table: Record<string, ModelPrice> = Object.create(null);
  let parsed: unknown;
  try {
    parsed = JSON.parse(override ?? "{}");
  } catch {
    return table;
  }
  if (parsed === null || typeof parsed !== "object") return table;
  const price = (n: unknown) => typeof n === "number" && Number.isFinite(n) && n >= 0;
  for (const [model, value] of Object.entries(parsed as Record<string, unknown>)) {
    const row = value as Record<string, unknown> | null;
    if (row === null || typeof row !== "object" || !PRICE_FIELDS.every((field) => price(row[field]))) continue;
    const entry: ModelPrice = {
      input: row.input as number,
      output: row.output as number,
      cache_write_5m: row.cache_write_5m as number,
      cache_read: row.cache_read as number,
    };
    if (price(row.cache_write_1h)) entry.cache_write_1h = row.cache_write_1h as number;
    if (price(row.web_search)) entry.web_search = row.web_search as number;
    const long = row.long_prompt as Record<string, unknown> | undefined;
    if (
      long !== null && typeof long === "object" && price(long.above_prompt_tokens) &&
      PRICE_FIELDS.every((f) => price(long[f]))
    ) {
      entry.long_prompt = {
        above_prompt_tokens: long.above_prompt_tokens as number,
        input: long.input as number,
        output: long.output as number,
        cache_write_5m: long.cache_write_5m as number,
        cache_read: long.cache_read as number,
        ...(price(long.cache_write_1h) ? { cache_write_1h: long.cache_write_1h as number } : {}),
      };
    }
    table[model.toLowerCase()] = entry;
  }
  return table;
}

/**
 * An organisation's `modelPricing`, from the managed settings files Claude
 * Code honours it from (`managed-settings.json`, then its `managed-settings.d/`
 * drop-ins in name order, the last one to set it winning). Policy from MDM
 * or served by Anthropic's server is out of a hook's reach.
 *
 * @param runtime The runtime adapter.
 * @returns The pricing, or undefined when no managed file sets it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * const managed = await loadManagedPricing(detectRuntime());
 * // This machine has no managed settings that price models (the tests' own /etc overlay shows one that does).
 * assert.equal(managed?.multiplier ?? 1, 1);
 * ```
 */
export async function loadManagedPricing(runtime: Runtime): Promise<ManagedPricing | undefined> {
  const fs = await runtime.fs();
  let value: unknown;
  for (const path of await managedSettingsPaths(fs)) {
    const settings = await readManagedSettings(fs, path) as { modelPricing?: unknown } | undefined;
    if (settings !== null && typeof settings === "object" && settings.modelPricing !== undefined) {
      value = settings.modelPricing;
    }
  }
  return managedPricing(value);
}
