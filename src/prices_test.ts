// The price table and its override.
import assert from "node:assert/strict";
import { MODEL_PRICES, priceFor, priceTable } from "./prices.ts";
import { sumUsage } from "./usage.ts";

Deno.test("an unknown model gives no cost_usd (never a made-up 0); a date suffix finds its family", () => {
  const response = (id: string, model: string) => ({
    type: "assistant",
    requestId: id,
    message: { id, model, usage: { input_tokens: 1_000_000, output_tokens: 0 } },
  });
  assert.equal(sumUsage([response("a", "claude-sonnet-4-5-20250929")], MODEL_PRICES)?.cost_usd, 3);
  assert.equal(sumUsage([response("a", "claude-sonnet-4-5[1m]")], MODEL_PRICES)?.cost_usd, 3);
  const mixed = sumUsage([response("a", "claude-sonnet-4-5"), response("b", "some-proxy-model")], MODEL_PRICES);
  assert.equal(mixed?.cost_usd, undefined);
  assert.deepEqual(mixed?.models?.sort(), ["claude-sonnet-4-5", "some-proxy-model"]);
  assert.equal(priceFor("claude-sonnet-4-50", MODEL_PRICES), undefined, "a longer name is another model");
});
Deno.test("TELEMHQ_PRICES adds and overrides models; incomplete or negative prices are ignored", () => {
  const table = priceTable(JSON.stringify({
    "my-model": { input: 1, output: 2, cache_write_5m: 1.25, cache_write_1h: 2, cache_read: 0.1 },
    "claude-sonnet-4-5": { input: 2, output: 10, cache_write_5m: 2.5, cache_write_1h: 4, cache_read: 0.2 },
    "half": { input: 1 },
    "negative": { input: -1, output: 2, cache_write_5m: 1, cache_write_1h: 2, cache_read: 0.1 },
  }));
  assert.equal(table["my-model"].output, 2);
  assert.equal(table["claude-sonnet-4-5"].input, 2);
  assert.equal(table["half"], undefined);
  assert.equal(table["negative"], undefined);
  assert.deepEqual(priceTable("not json"), { ...MODEL_PRICES });
});
