// What a response costs, rule by rule, against the catalog Claude Code prices by.
import assert from "node:assert/strict";
import { CATALOG_MODELS } from "./catalog.ts";
import {
  managedPricing,
  type PriceBook,
  type PricedUsage,
  priceTable,
  resolveModel,
  responseCostUsd,
} from "./prices.ts";
import { sumUsage } from "./usage.ts";

const CATALOG: PriceBook = { overrides: {} };

function usage(fields: Partial<PricedUsage>): PricedUsage {
  return {
    input_tokens: 0,
    output_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_1h: 0,
    web_search_requests: 0,
    ...fields,
  };
}

Deno.test("resolveModel() finds the catalog model behind every spelling a transcript may hold", () => {
  const cases: [string, string | undefined][] = [
    ["claude-sonnet-4-5-20250929", "claude-sonnet-4-5"],
    ["claude-opus-4-6[1m]", "claude-opus-4-6"],
    ["Claude-Opus-4.6", "claude-opus-4-6"],
    ["us.anthropic.claude-sonnet-4-6", "claude-sonnet-4-6"],
    ["eu.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"],
    ["anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"],
    ["claude-sonnet-4-5@20250929", "claude-sonnet-4-5"],
    ["claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet"],
    ["arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-6-v1", "claude-opus-4-6"],
    ["claude-opus-4-20250514", "claude-opus-4-0"],
    ["claude-sonnet-4", "claude-sonnet-4-0"],
    ["my-gateway/claude-opus-4-7", "claude-opus-4-7"],
    ["claude-opus-4-6-thinking", "claude-opus-4-6"],
    ["claude-3-opus-20240229", undefined],
    ["claude-foo-9", undefined],
    ["my-proxy-model", undefined],
    ["xx.anthropic.claude-sonnet-4-6", undefined],
  ];
  for (const [id, expected] of cases) assert.equal(resolveModel(id), expected, id);
  for (const model of CATALOG_MODELS) {
    assert.equal(resolveModel(model.id), model.id);
    for (const id of model.providerIds) assert.equal(resolveModel(id), model.id, id);
  }
});

Deno.test("responseCostUsd() agrees with a cost Claude Code 2.1.332 computed: Opus 4.6, one fast and one US-only response", () => {
  const fast = responseCostUsd(
    "claude-opus-4-6",
    usage({ input_tokens: 1000, output_tokens: 500, cache_read_input_tokens: 4000, speed: "fast" }),
    CATALOG,
  )!;
  const us = responseCostUsd(
    "claude-opus-4-6",
    usage({ input_tokens: 700, output_tokens: 90, cache_read_input_tokens: 5000, inference_geo: "us" }),
    CATALOG,
  )!;
  assert.equal(fast + us, 0.126075);
});

Deno.test("a long-prompt tier switches every token price only above its line: exactly at it, no; one above, yes", () => {
  const at = usage({ input_tokens: 60_000, cache_read_input_tokens: 40_000, output_tokens: 1000 });
  const above = usage({ input_tokens: 60_001, cache_read_input_tokens: 40_000, output_tokens: 1000 });
  assert.equal(
    responseCostUsd("claude-haiku-5-5", at, CATALOG),
    60_000 / 1e6 * 0.1 + 1000 / 1e6 * 0.5 + 40_000 / 1e6 * 0.01,
  );
  assert.equal(
    responseCostUsd("claude-haiku-5-5", above, CATALOG),
    60_001 / 1e6 * 0.5 + 1000 / 1e6 * 2.5 + 40_000 / 1e6 * 0.05,
  );
  const outputOnly = usage({ input_tokens: 100_000, output_tokens: 50_000 });
  assert.equal(responseCostUsd("claude-haiku-5-5", outputOnly, CATALOG), 100_000 / 1e6 * 0.1 + 50_000 / 1e6 * 0.5);
});

Deno.test("1-hour cache writes are priced apart; unsplit writes pay the 5-minute price; web search is not multiplied for US", () => {
  const writes = usage({ cache_creation_input_tokens: 10_000, cache_1h: 6000 });
  assert.equal(responseCostUsd("claude-sonnet-4-5", writes, CATALOG), 6000 / 1e6 * 6 + 4000 / 1e6 * 3.75);
  const capped = usage({ cache_creation_input_tokens: 1000, cache_1h: 5000 });
  assert.equal(responseCostUsd("claude-sonnet-4-5", capped, CATALOG), 1000 / 1e6 * 6);
  const search = usage({ input_tokens: 1_000_000, web_search_requests: 3, inference_geo: "us" });
  assert.equal(responseCostUsd("claude-sonnet-4-5", search, CATALOG), 3 * 1.1 + 3 * 0.01);
  assert.equal(responseCostUsd("claude-sonnet-4-5", { ...search, inference_geo: "US" }, CATALOG), 3 + 0.03);
});

Deno.test("fast prices apply to the models that have them; others keep their price; an unknown speed is fast", () => {
  const tokens = usage({ input_tokens: 1_000_000, speed: "fast" });
  assert.equal(responseCostUsd("claude-opus-4-6", tokens, CATALOG), 30);
  assert.equal(responseCostUsd("claude-opus-5-5", tokens, CATALOG), 8);
  assert.equal(responseCostUsd("claude-sonnet-4-6", tokens, CATALOG), 3, "no fast price: the normal one");
  assert.equal(responseCostUsd("claude-opus-4-6", { ...tokens, speed: "turbo" }, CATALOG), 30);
  assert.equal(responseCostUsd("claude-opus-4-6", { ...tokens, speed: "standard" }, CATALOG), 5);
});

Deno.test("an advisor's steps are priced as its own model and added; an unknown model gets no cost, never 0", () => {
  const advised = usage({
    input_tokens: 1_000_000,
    iterations: [{ type: "advisor_message", model: "claude-opus-4-6", input_tokens: 1_000_000, output_tokens: 0 }],
  });
  assert.equal(responseCostUsd("claude-sonnet-4-6", advised, CATALOG), 3 + 5);
  assert.equal(responseCostUsd("my-proxy-model", usage({ input_tokens: 5 }), CATALOG), undefined);
  const response = (id: string, model: string) => ({
    type: "assistant",
    requestId: id,
    message: { id, model, usage: { input_tokens: 1_000_000, output_tokens: 0 } },
  });
  assert.equal(
    sumUsage([response("a", "claude-sonnet-4-5"), response("b", "my-proxy-model")], CATALOG)?.cost_usd,
    undefined,
  );
});

Deno.test("managed modelPricing: an exact row beats the model's row, rows ignore US and fast, the multiplier scales all", () => {
  const managed = managedPricing({
    multiplier: 2,
    overrides: {
      "claude-sonnet-4-5": { input: 1, output: 1, cacheRead: 1, cacheWrite: 1 },
      "claude-sonnet-4-5-20250929": { input: 7, output: 1, cacheRead: 1, cacheWrite: 1 },
    },
  })!;
  const book: PriceBook = { overrides: {}, managed };
  const tokens = usage({ input_tokens: 1_000_000, inference_geo: "us", web_search_requests: 1 });
  assert.equal(responseCostUsd("claude-sonnet-4-5-20250929", tokens, book), (7 + 0.01) * 2);
  assert.equal(responseCostUsd("us.anthropic.claude-sonnet-4-5-20250929-v1:0", tokens, book), (1 + 0.01) * 2);
  assert.equal(responseCostUsd("claude-opus-4-6", usage({ input_tokens: 1_000_000 }), book), 5 * 2);
  assert.equal(managedPricing({ multiplier: 11 }), undefined, "Claude Code refuses a multiplier over 10");
  assert.equal(managedPricing({ overrides: { x: { input: -1, output: 1, cacheRead: 1, cacheWrite: 1 } } }), undefined);
});

Deno.test("TELEMHQ_PRICES lays the user's prices over everything; incomplete or negative rows are ignored", () => {
  const overrides = priceTable(JSON.stringify({
    "My-Proxy-Model": { input: 1, output: 2, cache_write_5m: 1.25, cache_read: 0.1 },
    "claude-sonnet-4-5": { input: 2, output: 10, cache_write_5m: 2.5, cache_write_1h: 4, cache_read: 0.2 },
    "half": { input: 1 },
    "negative": { input: -1, output: 2, cache_write_5m: 1, cache_read: 0.1 },
  }));
  assert.deepEqual(Object.keys(overrides).sort(), ["claude-sonnet-4-5", "my-proxy-model"]);
  const book: PriceBook = { overrides };
  assert.equal(responseCostUsd("my-proxy-model", usage({ output_tokens: 1_000_000 }), book), 2);
  assert.equal(responseCostUsd("claude-sonnet-4-5-20250929", usage({ input_tokens: 1_000_000 }), book), 2);
  assert.deepEqual({ ...priceTable("not json") }, {});
  // A model named like an object's own property is no row: the table has no prototype.
  assert.equal(priceTable("{}")["constructor" as string], undefined);
  const usage0 = { input_tokens: 1, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
  assert.equal(responseCostUsd("constructor", { ...usage0, cache_1h: 0, web_search_requests: 0 }, CATALOG), undefined);
});

/**
 * Claude Code 2.0.77's own cost function, as its cli.js has it (B$3 and Z$3, names kept): one row per model,
 * every cache write at the write price, and a 3/15 row over 200,000 prompt tokens priced 6/22.5/7.5/0.6.
 */
function claudeCode2077Cost(model: "sonnet" | "haiku45", u: PricedUsage): number {
  const W0A = { inputTokens: 3, outputTokens: 15, promptCacheWriteTokens: 3.75, promptCacheReadTokens: 0.3 };
  const Yd1 = { inputTokens: 6, outputTokens: 22.5, promptCacheWriteTokens: 7.5, promptCacheReadTokens: 0.6 };
  const Xd1 = { inputTokens: 1, outputTokens: 5, promptCacheWriteTokens: 1.25, promptCacheReadTokens: 0.1 };
  const prompt = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;
  const A = model === "haiku45" ? Xd1 : prompt > 200000 ? Yd1 : W0A;
  return u.input_tokens / 1e6 * A.inputTokens + u.output_tokens / 1e6 * A.outputTokens +
    u.cache_read_input_tokens / 1e6 * A.promptCacheReadTokens +
    u.cache_creation_input_tokens / 1e6 * A.promptCacheWriteTokens + u.web_search_requests * 0.01;
}

Deno.test("responseCostUsd() prices a response by the rules of the Claude Code version that wrote it (2.0.77: long prompts, no 1-hour writes, no US factor)", () => {
  const cases: [string, "sonnet" | "haiku45", Partial<PricedUsage>][] = [
    // 227k-token prompts on Sonnet 4.5 [1m]: 2.0.77 prices the whole request at 6/22.5/7.5/0.6.
    ["claude-sonnet-4-5[1m]", "sonnet", {
      input_tokens: 12_345,
      cache_read_input_tokens: 200_000,
      cache_creation_input_tokens: 14_655,
      output_tokens: 2_000,
    }],
    ["claude-sonnet-4-5-20250929", "sonnet", { input_tokens: 200_001, output_tokens: 1 }],
    ["claude-sonnet-4-5", "sonnet", { input_tokens: 200_000, output_tokens: 1 }],
    // 1-hour writes and US-only inference did not exist for 2.0.77's prices: every write at 3.75, no 1.1 factor.
    ["claude-sonnet-4-5", "sonnet", { cache_creation_input_tokens: 50_000, cache_1h: 50_000, inference_geo: "us" }],
    ["claude-haiku-4-5", "haiku45", { input_tokens: 300_000, output_tokens: 10, web_search_requests: 2 }],
  ];
  for (const [model, row, fields] of cases) {
    const old = usage({ ...fields, version: "2.0.77" });
    const cost = responseCostUsd(model, old, CATALOG);
    assert.ok(Math.abs(cost! - claudeCode2077Cost(row, old)) < 1e-12, `${model} ${JSON.stringify(fields)}: ${cost}`);
  }
  // The same long prompt written by 2.1.332 is priced by its catalog (3/15), and a version that is none gets today's.
  const long = usage({ input_tokens: 250_000 });
  assert.equal(responseCostUsd("claude-sonnet-4-5", { ...long, version: "2.1.332" }, CATALOG), 0.75);
  assert.equal(responseCostUsd("claude-sonnet-4-5", { ...long, version: "\u001b[0mx" }, CATALOG), 0.75);
  assert.equal(responseCostUsd("claude-sonnet-4-5", { ...long, version: "2.0.77" }, CATALOG), 1.5);
});
