/**
 * Writes src/catalog.ts from the catalog of a Claude Code binary (the pinned
 * one in tools/ by default): its pricing tiers, its models with every
 * provider id, and its fast-mode prices. Run it when the drift check
 * (src/catalog_test.ts) says the pinned Claude Code prices differently, then
 * `deno task build:hook`.
 *
 * Run: deno task record:catalog [path/to/claude]
 *
 * @module
 */

import { pinnedClaudeBinary, ROOT } from "./_dev.ts";
import { type Prices, readClaudeCatalog } from "./read-claude-catalog.ts";

const PRICE_KEYS = ["input", "output", "cache_write_5m", "cache_write_1h", "cache_read", "web_search"] as const;

function priceLiteral(price: Prices): string {
  const parts = PRICE_KEYS.filter((key) => price[key] !== undefined).map((key) => `${key}: ${price[key]}`);
  const long = price.long_prompt;
  if (long !== undefined) {
    const inner = ["above_prompt_tokens", ...PRICE_KEYS].filter((key) =>
      (long as Record<string, unknown>)[key] !== undefined
    )
      .map((key) => `${key}: ${(long as Record<string, unknown>)[key]}`);
    parts.push(`long_prompt: { ${inner.join(", ")} }`);
  }
  return `{ ${parts.join(", ")} }`;
}

/** The text of src/catalog.ts for a binary's catalog. */
export function catalogModule(binary: string): string {
  const catalog = readClaudeCatalog(binary);
  const header = Deno.readTextFileSync(`${ROOT}src/catalog.ts`).split("/** The catalog's pricing tiers. */")[0];
  const tiers = Object.entries(catalog.tiers).map(([name, price]) => `  ${name}: ${priceLiteral(price)},`);
  const models = catalog.models.map((model) => {
    const ids = [model.id];
    for (const id of Object.values(model.provider_ids)) {
      if (typeof id === "string" && !ids.includes(id.toLowerCase())) ids.push(id.toLowerCase());
    }
    return `  { id: ${JSON.stringify(model.id)}, tier: ${JSON.stringify(model.tier)}, providerIds: ${
      JSON.stringify(ids)
    } },`;
  });
  const fast = Object.entries(catalog.fast).map(([id, price]) => `  ${JSON.stringify(id)}: ${priceLiteral(price)},`);
  return `${header}/** The catalog's pricing tiers. */
// deno-fmt-ignore
export const PRICING_TIERS: Readonly<Record<string, TierPrice>> = {
${tiers.join("\n")}
};

/** The catalog's models, in the catalog's order. */
// deno-fmt-ignore
export const CATALOG_MODELS: readonly CatalogModel[] = [
${models.join("\n")}
];

/** Fast-mode prices (\`usage.speed\` \`"fast"\`), by model: in Claude Code's code, not its catalog. */
// deno-fmt-ignore
export const FAST_PRICES: Readonly<Record<string, TierPrice>> = {
${fast.join("\n")}
};
`;
}

if (import.meta.main) {
  const binary = Deno.args[0] ?? pinnedClaudeBinary();
  Deno.writeTextFileSync(`${ROOT}src/catalog.ts`, catalogModule(binary));
  console.log(`Wrote src/catalog.ts from ${binary}. Now run: deno task build:hook`);
}
