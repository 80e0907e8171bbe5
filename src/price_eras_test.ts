// Every Claude Code release's cost rules, against the costs the releases themselves computed: the research ran
// each rule set's first release (and others) on scripted usage and kept Claude Code's own `total_cost_usd`.
import assert from "node:assert/strict";
import { pricingEraOf, pricingEras, pricingNote } from "./price_eras.ts";
import { type PricedUsage, responseCostUsd } from "./prices.ts";

const HISTORY = new URL("../test/data/claude-code-versions/pricing-history/", import.meta.url);

/** The research's probes (tools/verify.py, tools/verify2.py): one response's usage each. */
const PROBES: Readonly<Record<string, Partial<PricedUsage>>> = {
  A: {
    input_tokens: 123456,
    output_tokens: 54321,
    cache_creation_input_tokens: 23456,
    cache_read_input_tokens: 34567,
    web_search_requests: 2,
  },
  B: {
    input_tokens: 180000,
    output_tokens: 7777,
    cache_creation_input_tokens: 5000,
    cache_read_input_tokens: 30000,
    web_search_requests: 1,
  },
  C: { input_tokens: 250000, output_tokens: 1000 },
  D: { input_tokens: 100000, output_tokens: 10000, speed: "fast" },
  E: { input_tokens: 100000, output_tokens: 10000, cache_read_input_tokens: 5000 },
  F: { input_tokens: 250000, output_tokens: 1000 },
  G: { input_tokens: 1000, output_tokens: 1000, cache_creation_input_tokens: 100000, cache_1h: 60000 },
  H: { input_tokens: 100000, output_tokens: 10000, inference_geo: "us", web_search_requests: 1 },
  I: { input_tokens: 150000, output_tokens: 10000 },
};

interface Run {
  version: string;
  probe: string;
  model: string;
  /** What that release's `claude -p --output-format json` said the response cost (or the harness's error). */
  actual: number | string;
}

function runs(): Run[] {
  return ["verify_legacy.json", "verify_legacy2.json", "verify_native.json"]
    .flatMap((name) => JSON.parse(Deno.readTextFileSync(new URL(`verification/${name}`, HISTORY))) as Run[]);
}

function priced(run: Run): number | undefined {
  const usage: PricedUsage = {
    input_tokens: 0,
    output_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_1h: 0,
    web_search_requests: 0,
    ...PROBES[run.probe],
    version: run.version,
  };
  return responseCostUsd(run.model, usage, { overrides: {} });
}

Deno.test("responseCostUsd() equals, bit for bit, the cost each checked Claude Code release from 1.0.0 to 2.1.332 computed", () => {
  let compared = 0;
  const versions = new Set<string>();
  for (const run of runs()) {
    // The harness failed (no number, or a 0 from a run that never reached the stand-in): nothing to compare.
    if (typeof run.actual !== "number" || run.actual === 0) continue;
    const [minor, patch] = run.version.split(".").slice(1).map(Number);
    // From 2.1.72 Claude Code sends Opus 4.1 as Opus 4.6: the transcript then names the model it sent.
    if (run.model.startsWith("claude-opus-4-1") && minor === 1 && patch >= 72) continue;
    const ours = priced(run);
    if (run.model === "my-proxy-model" && pricingEraOf(run.version).era.unknown === undefined) {
      // From 2.1.63 an unknown model costs the account's default model's price: no cost rather than a guess.
      assert.equal(ours, undefined, `${run.version} ${run.probe}`);
      continue;
    }
    assert.equal(ours, run.actual, `${run.version} probe ${run.probe} (${run.model})`);
    compared += 1;
    versions.add(run.version);
  }
  assert.ok(compared >= 240, `${compared} runs compared`);
  assert.ok(versions.size >= 36, `${versions.size} releases compared`);
});

Deno.test("responseCostUsd() prices 1.0.128's responses by 1.0.128's rules: regex keys, 3/15 long context, no 1-hour, no US factor", () => {
  const base: PricedUsage = {
    input_tokens: 250_000,
    output_tokens: 1_000,
    cache_read_input_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_1h: 0,
    web_search_requests: 0,
    version: "1.0.128",
  };
  const book = { overrides: {} };
  // Sonnet 4 over 200k prompt tokens: the whole request at 6/22.5 (FINDINGS.md section 8: $1.5225).
  assert.equal(responseCostUsd("claude-sonnet-4-20250514", base, book), 1.5225);
  // Opus 4.5 was unknown to 1.0.128: includes("claude-opus-4") priced it as Opus 4 (15/75).
  assert.equal(responseCostUsd("claude-opus-4-5-20251101", base, book), 250_000 / 1e6 * 15 + 1_000 / 1e6 * 75);
  assert.equal(responseCostUsd("claude-opus-4-5-20251101", { ...base, version: "2.1.332" }, book), 1.275);
  // Haiku 4.5 was unknown too ("claude-haiku"): the Sonnet 4 price, never long-priced.
  assert.equal(responseCostUsd("claude-haiku-4-5-20251001", base, book), 250_000 / 1e6 * 3 + 1_000 / 1e6 * 15);
  // No US factor, no 1-hour price.
  const writes = { ...base, input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 100_000, cache_1h: 60_000 };
  assert.equal(responseCostUsd("claude-sonnet-4-20250514", { ...writes, inference_geo: "us" }, book), 0.375);
});

Deno.test("responseCostUsd() follows fast mode through its eras: the launch promotion, the research preview field, 1-hour writes", () => {
  const usage = (version: string, fields: Partial<PricedUsage>): PricedUsage => ({
    input_tokens: 100_000,
    output_tokens: 10_000,
    cache_read_input_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_1h: 0,
    web_search_requests: 0,
    version,
    ...fields,
  });
  const book = { overrides: {} };
  // 2.1.38-2.1.44: half price by default (the promotion); 2.1.38-2.1.40 knew fast only by the preview field.
  assert.equal(responseCostUsd("claude-opus-4-6", usage("2.1.40", { speed: "fast" }), book), 0.75);
  assert.equal(responseCostUsd("claude-opus-4-6", usage("2.1.40", { research_preview: true }), book), 2.25);
  assert.equal(responseCostUsd("claude-opus-4-6", usage("2.1.42", { speed: "fast" }), book), 2.25);
  assert.equal(responseCostUsd("claude-opus-4-6", usage("2.1.45", { speed: "fast" }), book), 4.5);
  // 2.1.172 on: fast prices have a 1-hour write price (twice the input).
  const writes = { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 100_000, cache_1h: 100_000 };
  assert.equal(responseCostUsd("claude-opus-4-6", usage("2.1.170", { ...writes, speed: "fast" }), book), 3.75);
  assert.equal(responseCostUsd("claude-opus-4-6", usage("2.1.172", { ...writes, speed: "fast" }), book), 6);
});

Deno.test("pricingEras() covers every release from 1.0.0 in order, and pricingNote() speaks only outside the checked range", () => {
  const eras = pricingEras();
  assert.equal(eras.length, 49);
  assert.equal(eras[0].since, "1.0.0");
  assert.equal(eras[eras.length - 1].until, "2.1.332");
  for (const era of eras) assert.equal(pricingEraOf(era.since).era, era);
  assert.equal(pricingNote("1.0.0"), undefined);
  assert.equal(pricingNote("2.1.332"), undefined);
  assert.match(pricingNote("2.1.400") ?? "", /2\.1\.326–2\.1\.332 rules, the nearest/);
  assert.equal(pricingNote("not a version"), undefined);
});

Deno.test("responseCostUsd() prices a model a catalog-era release did not know as its key steps made it, or not at all", () => {
  const usage = (version: string): PricedUsage => ({
    input_tokens: 100_000,
    output_tokens: 10_000,
    cache_read_input_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_1h: 0,
    web_search_requests: 0,
    version,
  });
  const book = { overrides: {} };
  // 2.1.219 to 2.1.279 knew Opus 5, not Opus 5.5: includes("claude-opus-5") priced it at Opus 5's 5/25.
  assert.equal(responseCostUsd("claude-opus-5-5", usage("2.1.250"), book), 0.75);
  assert.equal(responseCostUsd("claude-opus-5-5", usage("2.1.332"), book), 100_000 / 1e6 * 4 + 10_000 / 1e6 * 20);
  // Sonnet 5.5 on 2.1.200: Sonnet 5, then 3/15.
  assert.equal(responseCostUsd("claude-sonnet-5-5", usage("2.1.200"), book), 100_000 / 1e6 * 3 + 10_000 / 1e6 * 15);
  // Haiku 5.5 before 2.1.293: no key of the release's; it cost the account's default model: no cost, not a guess.
  assert.equal(responseCostUsd("claude-haiku-5-5", usage("2.1.250"), book), undefined);
  assert.equal(responseCostUsd("claude-haiku-5-5", usage("2.1.332"), book), 100_000 / 1e6 * 0.1 + 10_000 / 1e6 * 0.5);
});
