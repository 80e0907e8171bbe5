// readClaudeCatalog(binaryPath): the drift check's reader (src/catalog_test.ts, deno task
// record:catalog). Extracts Claude Code's baked model/pricing catalog from its
// (Bun-compiled, ~400 MB) binary — or from any file that contains its JavaScript (cli.js).
//
// Standalone: Deno + `node:` built-ins only. Streams the file in chunks (never holds it whole),
// finds the text markers, then parses the JavaScript object literal (not eval) around them.
//
// What it returns (see ClaudeCatalog below):
//   tiers   — catalog `pricing_tiers` (USD per million tokens; web_search per request)
//   models  — catalog `models` with their tier name, resolved prices and provider ids
//   fast    — the fast-mode price table (model id -> prices), taken from the pricing code
//   unknownModelFallback — the prices Claude Code uses when nothing else resolves
//   raw     — the whole catalog object exactly as parsed (aliases, capabilities, ...)
//
// Usage: deno run -A scripts/read-claude-catalog.ts <binary-or-cli.js> [--json]
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

export interface Prices {
  input: number;
  output: number;
  cache_write_5m: number;
  cache_write_1h?: number;
  cache_read: number;
  web_search: number;
  long_prompt?: {
    above_prompt_tokens: number;
    input: number;
    output: number;
    cache_write_5m?: number;
    cache_write_1h?: number;
    cache_read?: number;
  };
}

export interface CatalogModel {
  id: string;
  family?: string;
  display_name?: string;
  /** The tier name when the entry names one; null when the entry carries inline prices (or none). */
  tier: string | null;
  /** Resolved prices (tier looked up, or inline); undefined when the entry has no pricing. */
  pricing?: Prices;
  provider_ids: Record<string, string | null>;
}

export interface ClaudeCatalog {
  source: { path: string; catalogOffset: number; format: "js-literal" | "json"; version?: string };
  schemaVersion?: number;
  tiers: Record<string, Prices>;
  models: CatalogModel[];
  /** Fast-mode prices by catalog model id ("speed":"fast" responses). */
  fast: Record<string, Prices>;
  /** Prices used when a model resolves to nothing (Claude Code's `Fht` constant in 2.1.332). */
  unknownModelFallback?: Prices;
  raw: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Streaming search

const CHUNK = 8 * 1024 * 1024;

/** Byte offsets of every occurrence of each marker, found by streaming the file in chunks. */
function findAll(fd: number, size: number, markers: string[]): Map<string, number[]> {
  const enc = new TextEncoder();
  const pats = markers.map((m) => ({ m, b: enc.encode(m) }));
  const maxLen = Math.max(...pats.map((p) => p.b.length));
  const out = new Map<string, number[]>(markers.map((m) => [m, []]));
  const buf = new Uint8Array(CHUNK + maxLen);
  let carry = 0; // bytes carried over from the previous chunk
  let pos = 0; // file offset of buf[carry]
  while (pos < size) {
    const n = readSync(fd, buf, carry, CHUNK, pos);
    if (n <= 0) break;
    const len = carry + n;
    const base = pos - carry;
    const hay = buf.subarray(0, len);
    for (const { m, b } of pats) {
      let i = indexOf(hay, b, 0);
      while (i !== -1) {
        // Skip hits wholly inside the carried-over prefix (already reported).
        if (i + b.length > carry) out.get(m)!.push(base + i);
        i = indexOf(hay, b, i + 1);
      }
    }
    const keep = Math.min(maxLen - 1, len);
    buf.copyWithin(0, len - keep, len);
    carry = keep;
    pos += n;
  }
  for (const [m, v] of out) out.set(m, [...new Set(v)].sort((a, b) => a - b));
  return out;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  const last = hay.length - needle.length;
  outer: for (let i = hay.indexOf(first, from); i !== -1 && i <= last; i = hay.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function readWindow(fd: number, size: number, start: number, end: number): { text: string; start: number } {
  start = Math.max(0, start);
  end = Math.min(size, end);
  const buf = new Uint8Array(end - start);
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, start + got);
    if (n <= 0) break;
    got += n;
  }
  // latin1-safe decode would break UTF-8 text; the JS source is UTF-8 (mostly ASCII with \u escapes).
  return { text: new TextDecoder("utf-8", { fatal: false }).decode(buf.subarray(0, got)), start };
}

// ---------------------------------------------------------------------------------------------
// A small, strict parser for JavaScript *data* literals (what minifiers emit for JSON-like data):
// objects, arrays, strings ('…', "…", `…` without ${}), numbers (1e5, .5, 0x1f, -1), !0 / !1,
// true/false/null, void 0 / undefined. Anything else (identifiers, calls, spreads) is an error.

class LiteralError extends Error {}

class Parser {
  i: number;
  constructor(readonly s: string, start: number) {
    this.i = start;
  }
  ws() {
    const s = this.s;
    for (;;) {
      const c = s.charCodeAt(this.i);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.i++;
      else if (c === 47 && s[this.i + 1] === "/") {
        const e = s.indexOf("\n", this.i);
        this.i = e === -1 ? s.length : e;
      } else if (c === 47 && s[this.i + 1] === "*") {
        const e = s.indexOf("*/", this.i + 2);
        if (e === -1) throw new LiteralError("unterminated comment");
        this.i = e + 2;
      } else return;
    }
  }
  value(depth = 0): unknown {
    if (depth > 64) throw new LiteralError("too deep");
    this.ws();
    const s = this.s;
    const c = s[this.i];
    if (c === "{") return this.object(depth);
    if (c === "[") return this.array(depth);
    if (c === '"' || c === "'" || c === "`") return this.string();
    if (c === "!" && (s[this.i + 1] === "0" || s[this.i + 1] === "1") && !/[0-9.]/.test(s[this.i + 2] ?? "")) {
      this.i += 2;
      return s[this.i - 1] === "0";
    }
    if (c === "-" || c === "+" || c === "." || (c >= "0" && c <= "9")) return this.number();
    for (
      const [word, v] of [["true", true], ["false", false], ["null", null], ["undefined", undefined], [
        "void 0",
        undefined,
      ]] as const
    ) {
      if (s.startsWith(word, this.i) && !/[\w$]/.test(s[this.i + word.length] ?? "")) {
        this.i += word.length;
        return v;
      }
    }
    throw new LiteralError(`unexpected ${JSON.stringify(s.slice(this.i, this.i + 20))}`);
  }
  number(): number {
    const m = /^[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)/.exec(
      this.s.slice(this.i, this.i + 40),
    );
    if (!m) throw new LiteralError("bad number");
    this.i += m[0].length;
    const v = Number(m[0]);
    if (!Number.isFinite(v)) throw new LiteralError("bad number");
    return v;
  }
  string(): string {
    const s = this.s;
    const q = s[this.i++];
    let out = "";
    for (;;) {
      if (this.i >= s.length) throw new LiteralError("unterminated string");
      const c = s[this.i++];
      if (c === q) return out;
      if (q === "`" && c === "$" && s[this.i] === "{") throw new LiteralError("template interpolation");
      if (c === "\n" && q !== "`") throw new LiteralError("newline in string");
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = s[this.i++];
      switch (e) {
        case "n":
          out += "\n";
          break;
        case "t":
          out += "\t";
          break;
        case "r":
          out += "\r";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "v":
          out += "\v";
          break;
        case "0":
          out += "\0";
          break;
        case "\n":
          break;
        case "x": {
          const h = s.slice(this.i, this.i + 2);
          if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new LiteralError("bad \\x");
          out += String.fromCharCode(parseInt(h, 16));
          this.i += 2;
          break;
        }
        case "u": {
          if (s[this.i] === "{") {
            const end = s.indexOf("}", this.i);
            out += String.fromCodePoint(parseInt(s.slice(this.i + 1, end), 16));
            this.i = end + 1;
          } else {
            const h = s.slice(this.i, this.i + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(h)) throw new LiteralError("bad \\u");
            out += String.fromCharCode(parseInt(h, 16));
            this.i += 4;
          }
          break;
        }
        default:
          out += e;
      }
    }
  }
  key(): string {
    this.ws();
    const s = this.s;
    const c = s[this.i];
    if (c === '"' || c === "'") return this.string();
    if (c >= "0" && c <= "9") return String(this.number());
    const m = /^[A-Za-z_$][\w$]*/.exec(s.slice(this.i, this.i + 200));
    if (!m) throw new LiteralError(`bad key at ${JSON.stringify(s.slice(this.i, this.i + 20))}`);
    this.i += m[0].length;
    return m[0];
  }
  object(depth: number): Record<string, unknown> {
    this.i++; // {
    const o: Record<string, unknown> = {};
    for (;;) {
      this.ws();
      if (this.s[this.i] === "}") {
        this.i++;
        return o;
      }
      if (this.s.startsWith("...", this.i)) throw new LiteralError("spread");
      const k = this.key();
      this.ws();
      if (this.s[this.i] !== ":") throw new LiteralError("expected :");
      this.i++;
      const v = this.value(depth + 1);
      Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
      this.ws();
      if (this.s[this.i] === ",") this.i++;
      else if (this.s[this.i] !== "}") throw new LiteralError("expected , or }");
    }
  }
  array(depth: number): unknown[] {
    this.i++; // [
    const a: unknown[] = [];
    for (;;) {
      this.ws();
      if (this.s[this.i] === "]") {
        this.i++;
        return a;
      }
      a.push(this.value(depth + 1));
      this.ws();
      if (this.s[this.i] === ",") this.i++;
      else if (this.s[this.i] !== "]") throw new LiteralError("expected , or ]");
    }
  }
}

function parseLiteralAt(text: string, at: number): { value: unknown; end: number } {
  const p = new Parser(text, at);
  const value = p.value();
  return { value, end: p.i };
}

// ---------------------------------------------------------------------------------------------
// Locating the catalog

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function looksLikeCatalog(v: unknown): v is Record<string, unknown> {
  return isObj(v) && isObj(v.pricing_tiers) && Array.isArray(v.models) &&
    (v.models as unknown[]).some((m) => isObj(m) && typeof m.id === "string" && isObj(m.provider_ids));
}

/** Tries every "{" before the marker (nearest first) as the start of the catalog literal. */
function catalogAround(
  text: string,
  markerAt: number,
): { value: Record<string, unknown>; at: number; format: "js-literal" | "json" } | undefined {
  let tries = 0;
  for (
    let at = text.lastIndexOf("{", markerAt);
    at !== -1 && tries < 4000;
    at = text.lastIndexOf("{", at - 1), tries++
  ) {
    // Embedded as a JSON string, e.g. JSON.parse('{"schema_version":1,...}')?
    const q = text[at - 1];
    if ((q === "'" || q === '"' || q === "`") && /JSON\.parse\(\s*$/.test(text.slice(Math.max(0, at - 40), at - 1))) {
      try {
        const str = new Parser(text, at - 1).string();
        const v = JSON.parse(str);
        if (looksLikeCatalog(v)) return { value: v, at, format: "json" };
      } catch { /* next */ }
      continue;
    }
    try {
      const { value, end } = parseLiteralAt(text, at);
      if (end > markerAt && looksLikeCatalog(value)) {
        // Heuristic for JSON vs JS literal: JSON has every key quoted.
        const slice = text.slice(at, Math.min(end, at + 2000));
        const format = /[{,]\s*[A-Za-z_$][\w$]*\s*:/.test(slice) ? "js-literal" : "json";
        return { value, at, format };
      }
    } catch { /* not a literal that starts here */ }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The fast-mode table and the unknown-model fallback live in code, not in the catalog:
//   var AF={inputTokens:5,...},Pb={inputTokens:30,...},...,Fht=AF;
//   function Lb(e){if(e==="claude-fable-5-2"||e==="claude-mythos-5-2")return kF;...;return}

const COSTS_RE =
  /([A-Za-z_$][\w$]*)\s*=\s*(\{\s*inputTokens\s*:[^{}]*?outputTokens\s*:[^{}]*?promptCacheReadTokens\s*:[^{}]*?\})/g;

function internalToPrices(o: Record<string, unknown>): Prices {
  const n = (k: string) => (typeof o[k] === "number" ? (o[k] as number) : undefined);
  const p: Prices = {
    input: n("inputTokens")!,
    output: n("outputTokens")!,
    cache_write_5m: n("promptCacheWriteTokens")!,
    cache_read: n("promptCacheReadTokens")!,
    web_search: n("webSearchRequests") ?? 0.01,
  };
  if (n("promptCacheWrite1hTokens") !== undefined) p.cache_write_1h = n("promptCacheWrite1hTokens");
  return p;
}

function fastTableIn(text: string): { fast: Record<string, Prices>; fallback?: Prices } | undefined {
  const consts = new Map<string, Prices>();
  for (const m of text.matchAll(COSTS_RE)) {
    try {
      const v = parseLiteralAt(m[2], 0).value;
      if (isObj(v) && typeof v.inputTokens === "number") consts.set(m[1], internalToPrices(v));
    } catch { /* skip */ }
  }
  if (consts.size === 0) return undefined;
  // Aliases: `Fht=AF`
  for (const m of text.matchAll(/[,;\s]([A-Za-z_$][\w$]*)\s*=\s*([A-Za-z_$][\w$]*)\s*[,;]/g)) {
    if (!consts.has(m[1]) && consts.has(m[2])) consts.set(m[1], consts.get(m[2])!);
  }
  // Functions whose whole body is `if(<p>==="claude-…"||…)return <const>;…return}`.
  const fnRe =
    /function\s*[\w$]*\s*\(\s*([A-Za-z_$][\w$]*)\s*\)\s*\{((?:\s*if\s*\([^()]*\)\s*return\s+[A-Za-z_$][\w$]*\s*;)+)\s*return\s*;?\s*\}/g;
  let best: Record<string, Prices> | undefined;
  for (const m of text.matchAll(fnRe)) {
    const param = m[1];
    const table: Record<string, Prices> = {};
    let ok = true;
    for (const c of m[2].matchAll(/if\s*\(([^()]*)\)\s*return\s+([A-Za-z_$][\w$]*)\s*;/g)) {
      const prices = consts.get(c[2]);
      const ids = [...c[1].matchAll(new RegExp(`${param.replace("$", "\\$")}\\s*===\\s*(["'])(claude-[^"']+)\\1`, "g"))]
        .map((x) => x[2]);
      const leftovers = c[1].replace(
        new RegExp(`${param.replace("$", "\\$")}\\s*===\\s*(["'])claude-[^"']+\\1`, "g"),
        "",
      ).replace(/\|\||\s/g, "");
      if (!prices || ids.length === 0 || leftovers !== "") {
        ok = false;
        break;
      }
      for (const id of ids) table[id] ??= prices;
    }
    if (ok && Object.keys(table).length > 0 && (!best || Object.keys(table).length > Object.keys(best).length)) {
      best = table;
    }
  }
  if (!best) return undefined;
  // The unknown-model fallback: `return{usd:Ukn(Fht,n)*g,pricing:"default"}`.
  const fb = /\(\s*([A-Za-z_$][\w$]*)\s*,\s*[\w$]+\s*\)\s*\*\s*[\w$]+\s*,\s*pricing\s*:\s*["']default["']/.exec(text);
  return { fast: best, fallback: fb ? consts.get(fb[1]) : undefined };
}

// ---------------------------------------------------------------------------------------------

function normPrices(v: unknown): Prices | undefined {
  if (!isObj(v) || typeof v.input !== "number" || typeof v.output !== "number") return undefined;
  return v as unknown as Prices;
}

export function readClaudeCatalog(binaryPath: string): ClaudeCatalog {
  const fd = openSync(binaryPath, "r");
  try {
    const size = fstatSync(fd).size;
    const hits = findAll(fd, size, ["pricing_tiers", "promptCacheWrite1hTokens", "Version: "]);
    const catalogHits = hits.get("pricing_tiers")!;
    if (catalogHits.length === 0) {
      throw new Error(
        `${binaryPath}: no "pricing_tiers" text found — not a Claude Code binary/cli.js, or the catalog moved to a format this reader does not know`,
      );
    }
    let found:
      | { value: Record<string, unknown>; at: number; format: "js-literal" | "json"; fileAt: number }
      | undefined;
    for (const hit of catalogHits) {
      // The catalog literal is ~25 KB; allow the marker to sit anywhere in a 2 MB object.
      const w = readWindow(fd, size, hit - 256 * 1024, hit + 2 * 1024 * 1024);
      const r = catalogAround(w.text, hit - w.start);
      if (r) {
        // Byte offset (approximate when the window has multi-byte UTF-8 before `at`).
        found = { ...r, fileAt: w.start + new TextEncoder().encode(w.text.slice(0, r.at)).length };
        break;
      }
    }
    if (!found) {
      throw new Error(
        `${binaryPath}: found ${catalogHits.length} "pricing_tiers" mention(s) but none opens a parsable catalog literal with pricing_tiers + models — the layout changed`,
      );
    }
    const raw = found.value;
    const tiers: Record<string, Prices> = {};
    for (const [k, v] of Object.entries(raw.pricing_tiers as Record<string, unknown>)) {
      const p = normPrices(v);
      if (p) tiers[k] = p;
    }
    const models: CatalogModel[] = (raw.models as Record<string, unknown>[]).filter((m) =>
      isObj(m) && typeof m.id === "string"
    ).map((m) => {
      const tier = typeof m.pricing === "string" ? m.pricing : null;
      const pricing = tier !== null ? tiers[tier] : normPrices(m.pricing);
      return {
        id: m.id as string,
        family: m.family as string | undefined,
        display_name: m.display_name as string | undefined,
        tier,
        pricing,
        provider_ids: (isObj(m.provider_ids) ? m.provider_ids : {}) as Record<string, string | null>,
      };
    });

    // Fast table: in the pricing code, near the `promptCacheWrite1hTokens` constants.
    let fast: Record<string, Prices> = {};
    let unknownModelFallback: Prices | undefined;
    for (const hit of hits.get("promptCacheWrite1hTokens")!) {
      const w = readWindow(fd, size, hit - 8 * 1024, hit + 64 * 1024);
      const r = fastTableIn(w.text);
      if (r && Object.keys(r.fast).length > Object.keys(fast).length) {
        fast = r.fast;
        unknownModelFallback = r.fallback ?? unknownModelFallback;
      }
    }
    if (Object.keys(fast).length === 0) {
      console.error("readClaudeCatalog: warning: fast-mode price table not found (pricing code changed?)");
    }

    // Version: the `// Version: x.y.z` banner Bun keeps at the top of each chunk, nearest before the catalog.
    let version: string | undefined;
    const vHits = hits.get("Version: ")!.filter((o) => o < found!.fileAt);
    if (vHits.length > 0) {
      const w = readWindow(fd, size, vHits.at(-1)!, vHits.at(-1)! + 64);
      version = /^Version: (\d+\.\d+\.\d+[\w.-]*)/.exec(w.text)?.[1];
    }
    return {
      source: { path: binaryPath, catalogOffset: found.fileAt, format: found.format, version },
      schemaVersion: typeof raw.schema_version === "number" ? raw.schema_version : undefined,
      tiers,
      models,
      fast,
      unknownModelFallback,
      raw,
    };
  } finally {
    closeSync(fd);
  }
}

if (import.meta.main) {
  const path = Deno.args.find((a) => !a.startsWith("--"));
  if (!path) {
    console.error("usage: deno run -A scripts/read-claude-catalog.ts <claude binary or cli.js> [--json]");
    Deno.exit(2);
  }
  const t0 = performance.now();
  const cat = readClaudeCatalog(path);
  if (Deno.args.includes("--json")) {
    console.log(JSON.stringify(cat, null, 2));
  } else {
    console.log(
      `source:  ${cat.source.path} @ byte ${cat.source.catalogOffset} (${cat.source.format}), Claude Code ${
        cat.source.version ?? "?"
      }`,
    );
    console.log(`schema:  ${cat.schemaVersion}`);
    console.log(`tiers:   ${Object.keys(cat.tiers).length} (${Object.keys(cat.tiers).join(", ")})`);
    console.log(`models:  ${cat.models.length}`);
    for (const m of cat.models) {
      const p = m.pricing;
      console.log(
        `  ${m.id.padEnd(20)} ${String(m.tier ?? "(inline)").padEnd(28)} ${
          p ? `$${p.input}/$${p.output}` : "no pricing"
        }` +
          `${
            p?.long_prompt
              ? ` (long >${p.long_prompt.above_prompt_tokens}: $${p.long_prompt.input}/$${p.long_prompt.output})`
              : ""
          }` +
          `${cat.fast[m.id] ? `  fast $${cat.fast[m.id].input}/$${cat.fast[m.id].output}` : ""}`,
      );
    }
    console.log(`fast:    ${Object.keys(cat.fast).length} models (${Object.keys(cat.fast).join(", ")})`);
    console.log(`unknown-model fallback: ${cat.unknownModelFallback ? JSON.stringify(cat.unknownModelFallback) : "?"}`);
    console.log(`(${Math.round(performance.now() - t0)} ms)`);
  }
}
