/**
 * How each range of Claude Code versions computed a response's cost, as
 * data: a transcript line records the `version` that wrote it, and a response
 * is priced by the rules of that version, so a ping or a report agrees with
 * what that Claude Code itself showed. Read from the releases' own code (the
 * cost function of 2.0.77 and of 2.1.332; see docs/tokens-and-cost.md); the
 * catalog's prices themselves are in `catalog.ts`.
 *
 * Owns: `PricingEra`, `PRICING_ERAS`, `PRICING_CHECKED`, `pricingEraOf`, `pricingNote`. Uses: nothing.
 *
 * @module
 */

/** A 3/15 model's prices over its long-prompt line, for versions that had one. */
export interface LongPromptRule {
  /** The rule applies to a tier with this input price (US dollars per million tokens)... */
  tier_input: number;
  /** ...and this output price. */
  tier_output: number;
  /** When input, cache reads and cache writes together are over this many tokens... */
  above_prompt_tokens: number;
  /** ...the whole request is priced so (per million tokens). */
  input: number;
  output: number;
  cache_write: number;
  cache_read: number;
}

/** The cost rules of a range of Claude Code versions, where they differ from today's. */
export interface PricingEra {
  /** The first version with these rules (the era lasts until the next one's). */
  since: string;
  /** What the rules are called in reports and the journal. */
  name: string;
  /** 1-hour cache writes priced apart; before, every write paid the 5-minute price. */
  oneHourWrites: boolean;
  /** US-only inference (`inference_geo: "us"`) costs 1.1 times. */
  usInference: boolean;
  /** Fast mode (`speed: "fast"`) has prices of its own. */
  fastMode: boolean;
  /** A long-prompt line for the 3/15 tier, for the whole request. */
  longPrompt?: LongPromptRule;
}

/**
 * The eras, oldest first. 2.0.77's cost function (`cli.js`): per model one
 * price row, no 1-hour or fast rows, no US-inference factor, and a 3/15 row
 * over 200,000 prompt tokens (input + cache reads + cache writes) priced
 * 6 / 22.5 / 7.5 / 0.6 for the whole request. 2.1.332's: the catalog's tiers
 * with their 1-hour writes, fast-mode prices, US inference at 1.1 times and
 * long-prompt lines per tier (only `haiku_55` has one).
 */
export const PRICING_ERAS: readonly PricingEra[] = [
  {
    since: "0.0.0",
    name: "2.0",
    oneHourWrites: false,
    usInference: false,
    fastMode: false,
    longPrompt: {
      tier_input: 3,
      tier_output: 15,
      above_prompt_tokens: 200_000,
      input: 6,
      output: 22.5,
      cache_write: 7.5,
      cache_read: 0.6,
    },
  },
  { since: "2.1.0", name: "2.1", oneHourWrites: true, usInference: true, fastMode: true },
];

/**
 * The oldest and newest releases whose cost rules were read and checked
 * against the running release (2.0.77 and 2.1.332, end to end): a version
 * outside them is priced by the nearest era, and the journal says so.
 */
export const PRICING_CHECKED: Readonly<{ oldest: string; newest: string }> = { oldest: "2.0.77", newest: "2.1.332" };

/** The era of today's rules: for responses whose transcript names no version. */
const CURRENT_ERA = PRICING_ERAS[PRICING_ERAS.length - 1];

function versionParts(version: string): number[] | undefined {
  const match = version.match(/^(\d{1,4})\.(\d{1,4})\.(\d{1,6})$/);
  return match === null ? undefined : [Number(match[1]), Number(match[2]), Number(match[3])];
}

/**
 * The cost rules of the Claude Code version that wrote a transcript line.
 *
 * @param version The line's `version`, unchecked.
 * @returns The era, and whether the version was one (a missing or malformed one gets today's rules).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(pricingEraOf("2.0.77").era.name, "2.0");
 * assert.equal(pricingEraOf("2.1.332").era.name, "2.1");
 * assert.equal(pricingEraOf("\u001b[31m").known, false);
 * ```
 */
export function pricingEraOf(version: unknown): { era: PricingEra; known: boolean } {
  const parts = typeof version === "string" ? versionParts(version) : undefined;
  if (parts === undefined) return { era: CURRENT_ERA, known: false };
  let found = PRICING_ERAS[0];
  for (const era of PRICING_ERAS) {
    const since = versionParts(era.since)!;
    const later = parts[0] - since[0] || parts[1] - since[1] || parts[2] - since[2];
    if (later >= 0) found = era;
  }
  return { era: found, known: true };
}

/** -1, 0 or 1 as version `a` is older than, the same as, or newer than `b` (both valid). */
function compareParts(a: number[], b: number[]): number {
  return Math.sign(a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
}

/**
 * What to say about a response priced by rules not checked for its version:
 * one outside {@linkcode PRICING_CHECKED} is priced by the nearest era's rules.
 *
 * @param version The transcript line's `version`, unchecked.
 * @returns One line for the journal, or undefined when the version is inside the checked range (or is none).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(pricingNote("2.1.100"), undefined);
 * assert.match(pricingNote("1.0.50") ?? "", /1\.0\.50.*not checked.*2\.0 rules/);
 * ```
 */
export function pricingNote(version: unknown): string | undefined {
  const parts = typeof version === "string" ? versionParts(version) : undefined;
  if (parts === undefined) return undefined;
  const oldest = versionParts(PRICING_CHECKED.oldest)!;
  const newest = versionParts(PRICING_CHECKED.newest)!;
  if (compareParts(parts, oldest) >= 0 && compareParts(parts, newest) <= 0) return undefined;
  return `Claude Code ${version}'s cost rules were not checked (checked: ${PRICING_CHECKED.oldest} to ` +
    `${PRICING_CHECKED.newest}): priced by the ${pricingEraOf(version).era.name} rules, the nearest`;
}
