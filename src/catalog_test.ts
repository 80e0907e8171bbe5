// The drift check: our catalog is the pinned Claude Code's, price for price.
// After a Claude Code upgrade (scripts/e2e-latest.sh, or a new pin in
// tools/package.json), this names every model and price that changed; then
// `deno task record:catalog` and `deno task build:hook`.
import assert from "node:assert/strict";
import { pinnedClaudeBinary } from "../scripts/_dev.ts";
import { readClaudeCatalog } from "../scripts/read-claude-catalog.ts";
import { CATALOG_MODELS, FAST_PRICES, PRICING_TIERS, type TierPrice } from "./catalog.ts";

const binary = Deno.env.get("CLAUDE_BINARY_FILE") ?? pinnedClaudeBinary();

function samePrice(ours: TierPrice | undefined, theirs: object): string[] {
  if (ours === undefined) return ["missing"];
  const problems: string[] = [];
  const them = theirs as Record<string, unknown>;
  for (const key of new Set([...Object.keys(ours), ...Object.keys(them)])) {
    const a = (ours as unknown as Record<string, unknown>)[key];
    const b = them[key];
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      problems.push(`${key}: ours ${JSON.stringify(a)}, Claude Code's ${JSON.stringify(b)}`);
    }
  }
  return problems;
}

Deno.test("the catalog equals the pinned Claude Code's: every model, tier, provider id and fast price", () => {
  const catalog = readClaudeCatalog(binary);
  const problems: string[] = [];
  for (const [name, price] of Object.entries(catalog.tiers)) {
    for (const problem of samePrice(PRICING_TIERS[name], price)) problems.push(`tier ${name}: ${problem}`);
  }
  for (const name of Object.keys(PRICING_TIERS)) {
    if (!(name in catalog.tiers)) problems.push(`tier ${name}: not in Claude Code's catalog any more`);
  }
  for (const model of catalog.models) {
    const ours = CATALOG_MODELS.find((entry) => entry.id === model.id);
    if (ours === undefined) {
      problems.push(`model ${model.id}: missing (tier ${model.tier})`);
      continue;
    }
    if (ours.tier !== model.tier) {
      problems.push(`model ${model.id}: tier ours ${ours.tier}, Claude Code's ${model.tier}`);
    }
    const theirs = new Set([
      model.id,
      ...Object.values(model.provider_ids).filter((id) => typeof id === "string")
        .map((id) => id!.toLowerCase()),
    ]);
    if ([...theirs].sort().join() !== [...ours.providerIds].sort().join()) {
      problems.push(
        `model ${model.id}: provider ids ours ${ours.providerIds.join(" ")}, Claude Code's ${[...theirs].join(" ")}`,
      );
    }
  }
  for (const model of CATALOG_MODELS) {
    if (!catalog.models.some((entry) => entry.id === model.id)) {
      problems.push(`model ${model.id}: not in Claude Code's catalog`);
    }
  }
  assert.ok(Object.keys(catalog.fast).length > 0, "the reader found no fast-mode prices in the pinned Claude Code");
  for (const [id, price] of Object.entries(catalog.fast)) {
    for (const problem of samePrice(FAST_PRICES[id], price)) problems.push(`fast ${id}: ${problem}`);
  }
  for (const id of Object.keys(FAST_PRICES)) {
    if (!(id in catalog.fast)) problems.push(`fast ${id}: no fast price in Claude Code any more`);
  }
  assert.deepEqual(problems, [], `the catalog differs from Claude Code ${catalog.source.version}'s`);
  assert.equal(catalog.models.length, 24, "the pinned Claude Code (2.1.332) prices 24 models");
});
