/**
 * `report`: what Claude Code spent on this machine, from its own transcripts
 * (every one it kept, not only since the hook was installed), by day, week,
 * month, session, project or model. Each response is priced by the same code
 * as the pings (so a report and the tracker agree), counted once however many
 * resumed or forked transcripts repeat it, and summed unrounded (rounded once
 * when shown). Nothing but counts, model ids, dates, session ids and project
 * folder names is printed; no path and no content. Files are streamed in
 * chunks (memory does not grow with a transcript's size), read only when they
 * are regular files (never through a symlink, never a FIFO), and a broken or
 * half-written line is skipped and counted.
 *
 * Owns: `reportCommand`, `collectReport`, `SpendReport`, `ReportTotals`,
 * `REPORT_GROUPS`. Uses: input, fields, paths, payload, runtime,
 * state_dir, transcript, price_eras, prices, usage, cli_args.
 *
 * @module
 */

import { CommandError, parseArgs } from "./cli_args.ts";
import { plainModelId } from "./fields.ts";
import { terminalSafe } from "./input.ts";
import { hostPathStyle, type PathStyle } from "./paths.ts";
import { projectName } from "./payload.ts";
import { loadManagedPricing, type PriceBook, priceTable, resolveModel, responseCostUsd, roundUsd } from "./prices.ts";
import type { FsPromises, Runtime } from "./runtime.ts";
import { pricingEraOf, pricingNote } from "./price_eras.ts";
import { claudeDirectory } from "./state_dir.ts";
import { isUserPrompt, markedTranscriptLines, type TranscriptLine } from "./transcript.ts";
import {
  changedLines,
  mergeResponseLine,
  NO_RESPONSE_USAGE,
  type ResponseUsage,
  TOKEN_FIELDS,
  type TokenCounts,
  totalTokens,
} from "./usage.ts";

/** How a report groups what was spent. */
export const REPORT_GROUPS = ["day", "week", "month", "session", "project", "model"] as const;

/** One of {@linkcode REPORT_GROUPS}. */
export type ReportGroup = (typeof REPORT_GROUPS)[number];

/** What was spent in one group (or in all). */
export interface ReportTotals extends TokenCounts {
  /** The four token counts added up. */
  total_tokens: number;
  /** The cost in US dollars of the responses with a known price, rounded once. */
  cost_usd: number;
  /** API responses. */
  api_requests: number;
  /** Responses of models without a known price (not in `cost_usd`). */
  unpriced_requests: number;
  /** Turns (prompts a user typed); not counted by model. */
  turns: number;
  /** Web search requests. */
  web_search_requests: number;
  /** Lines Write and Edit added. */
  lines_added: number;
  /** Lines Write and Edit removed. */
  lines_removed: number;
}

/** A report: one row per group, newest or largest first, and the totals. */
export interface SpendReport {
  /** How the rows are grouped. */
  by: ReportGroup;
  /** The rows. */
  rows: (ReportTotals & { key: string })[];
  /** Everything in the rows together. */
  total: ReportTotals;
  /** Transcript files read. */
  files: number;
  /** Files that could not be read (not regular files, unreadable). */
  skipped_files: number;
  /** Lines that were not JSON (broken, or half-written at the end of a file being written) or had no time. */
  skipped_lines: number;
  /** Models without a known price, as their plain ids. */
  unpriced_models: string[];
  /** Claude Code versions whose cost rules were not checked: priced by the nearest (see `pricingNote`). */
  unchecked_versions: string[];
  /**
   * Priced responses an earlier Claude Code wrote, priced by its rules, as it showed them; today's rules (and
   * Anthropic's list prices) can differ (see `pricingEraOf`).
   */
  earlier_rules_requests: number;
  /** Responses found again in another transcript (a resumed or forked session's copy), counted once. */
  repeated_requests: number;
}

/** What {@linkcode collectReport} reads and keeps. */
export interface ReportOptions {
  /** Claude Code's folder (its `projects/` holds the transcripts). */
  claudeDir: string;
  /** How to group. */
  by: ReportGroup;
  /** The first day to count (`YYYY-MM-DD`, local time), if any. */
  since?: string;
  /** The last day to count (`YYYY-MM-DD`, local time), if any. */
  until?: string;
  /** Only this project (its folder's name), if any. */
  project?: string;
  /** The prices. */
  prices: PriceBook;
  /** Search bytes natively rather than decoded text (see `markedTranscriptLines`): true except under Deno. */
  searchBytes?: boolean;
  /** Called after each file with how many are read and how many there are. */
  onProgress?: (done: number, all: number) => void;
}

/** A folder deeper than this under `projects/` holds no transcript of Claude Code's. */
const MAX_PROJECTS_DEPTH = 4;
/** A transcript's timestamp: ISO 8601 with a four-digit year (anything else is not a time to count by). */
const ISO_TIME = /^[12]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}/;
/** The most responses of one file kept apart before they are added (a file of millions stays bounded). */
const MAX_FILE_RESPONSES = 50_000;
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** One response, its lines merged as in the pings (see `mergeResponseLine`), and where it belongs. */
interface Response extends ResponseUsage {
  time: number;
  session: string;
  project: string;
}

/** The transcripts under `projects/`: regular `.jsonl` files only, found without following a symlink. */
async function transcriptFiles(fs: FsPromises, dir: string, depth = 0): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name < b.name ? -1 : 1)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory() && depth < MAX_PROJECTS_DEPTH) {
      for (const found of await transcriptFiles(fs, path, depth + 1)) files.push(found);
    } else if (entry.isFile() && entry.name.endsWith(".jsonl")) files.push(path);
  }
  return files;
}

/**
 * A transcript's project as a report names it: its folder's name, as in the pings, read as a Windows path when it
 * is one (a transcript copied from Windows), every control or invisible character escaped.
 */
function reportProject(cwd: string, style: PathStyle): string {
  const windows = /^[A-Za-z]:\\/.test(cwd) || cwd.startsWith("\\\\");
  return terminalSafe(projectName(cwd, windows ? "windows" : style), true).slice(0, 255);
}

/** The local date of a time, `YYYY-MM-DD`. */
function localDay(time: number): string {
  const date = new Date(time);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The Monday that starts a time's week (local time), `YYYY-MM-DD`. */
function weekStart(time: number): string {
  const date = new Date(time);
  date.setDate(date.getDate() - ((date.getDay() + 6) % 7));
  return localDay(date.getTime());
}

/**
 * A key to tell responses apart without keeping their ids: two independent
 * 32-bit hashes (FNV-1a and a multiply-rotate one), 53 bits together, stored
 * as one number (small in a Set).
 */
function shortKey(text: string): number {
  let fnv = 0x811c9dc5;
  let mix = 0x9e3779b9;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    fnv = Math.imul(fnv ^ code, 0x01000193);
    mix = Math.imul((mix << 5) | (mix >>> 27), 0x85ebca6b) ^ code;
  }
  return (fnv >>> 0) * 0x200000 + ((mix >>> 0) >>> 11);
}

function emptyTotals(): ReportTotals {
  return {
    input_tokens: 0,
    output_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    total_tokens: 0,
    cost_usd: 0,
    api_requests: 0,
    unpriced_requests: 0,
    turns: 0,
    web_search_requests: 0,
    lines_added: 0,
    lines_removed: 0,
  };
}

/** Adds everything each file holds, file by file; see {@linkcode collectReport}. */
class SpendTally {
  readonly groups = new Map<string, ReportTotals>();
  readonly total = emptyTotals();
  readonly seen = new Set<number>();
  readonly unpriced = new Set<string>();
  readonly unchecked = new Set<string>();
  earlierRules = 0;
  repeated = 0;
  /** The responses a file over `MAX_FILE_RESPONSES` added before its end, while that file is read. */
  flushedInFile: Set<number> | undefined;
  skippedLines = 0;

  readonly options: ReportOptions;

  constructor(options: ReportOptions) {
    this.options = options;
  }

  keyOf(time: number, session: string, project: string, model: string | undefined): string | undefined {
    const day = localDay(time);
    if (this.options.since !== undefined && day < this.options.since) return undefined;
    if (this.options.until !== undefined && day > this.options.until) return undefined;
    if (this.options.project !== undefined && project !== this.options.project) return undefined;
    switch (this.options.by) {
      case "day":
        return day;
      case "week":
        return weekStart(time);
      case "month":
        return day.slice(0, 7);
      case "session":
        return session;
      case "project":
        return project;
      case "model":
        return model ?? "unknown";
    }
  }

  group(key: string): ReportTotals {
    let totals = this.groups.get(key);
    if (totals === undefined) this.groups.set(key, totals = emptyTotals());
    return totals;
  }

  /** Adds once: a resumed or forked session repeats its parent's lines. */
  once(key: string): boolean {
    const short = shortKey(key);
    if (this.seen.has(short)) return false;
    // A Set holds at most 2^24 keys: past 16 million responses, duplicates across far-apart files may count twice.
    if (this.seen.size >= 16_000_000) this.seen.clear();
    this.seen.add(short);
    return true;
  }

  addResponse(response: Response): void {
    const model = response.model === undefined
      ? undefined
      : resolveModel(response.model) ?? plainModelId(response.model);
    const key = this.keyOf(response.time, response.session, response.project, model);
    if (key === undefined) return;
    const cost = response.model === undefined
      ? undefined
      : responseCostUsd(response.model, response, this.options.prices);
    if (cost === undefined) this.unpriced.add(model ?? "unknown");
    // A missing or malformed version gets today's rules: what pricingEraOf gives for none is today's era.
    else if (pricingEraOf(response.version).era !== pricingEraOf(undefined).era) this.earlierRules++;
    // Only a well-formed version gets a note: nothing else from the line is named.
    if (response.version !== undefined && pricingNote(response.version) !== undefined) {
      this.unchecked.add(response.version);
    }
    for (const totals of [this.group(key), this.total]) {
      for (const field of TOKEN_FIELDS) totals[field] += response[field];
      totals.total_tokens += totalTokens(response);
      totals.api_requests++;
      totals.web_search_requests += response.web_search_requests;
      if (cost === undefined) totals.unpriced_requests++;
      else totals.cost_usd += cost;
    }
  }

  addTurn(time: number, session: string, project: string): void {
    if (this.options.by === "model") return;
    const key = this.keyOf(time, session, project, undefined);
    if (key === undefined) return;
    this.group(key).turns++;
    this.total.turns++;
  }

  addChange(time: number, session: string, project: string, change: { added: number; removed: number }): void {
    if (this.options.by === "model") return;
    const key = this.keyOf(time, session, project, undefined);
    if (key === undefined) return;
    for (const totals of [this.group(key), this.total]) {
      totals.lines_added += change.added;
      totals.lines_removed += change.removed;
    }
  }

  /** One transcript: its responses merged within the file, then added once each. */
  async addFile(fs: FsPromises, path: string): Promise<void> {
    const responses = new Map<string, Response>();
    const style = hostPathStyle();
    for await (const text of markedTranscriptLines(fs, path, this.options.searchBytes ?? true)) {
      // A tool's result carries the turn's promptId too, and often most of the file's bytes: parsed only for a patch.
      if (text.includes('"toolUseResult"') && !text.includes('"structuredPatch"') && !text.includes('"usage"')) {
        continue;
      }
      try {
        this.addLine(JSON.parse(text), responses, style);
      } catch {
        // Not JSON, or a shape no check foresaw: that line is skipped, never the rest of the file.
        this.skippedLines++;
      }
      if (responses.size >= MAX_FILE_RESPONSES) {
        this.flushedInFile ??= new Set();
        this.addResponses(responses);
      }
    }
    this.addResponses(responses);
    this.flushedInFile = undefined;
  }

  /** One parsed line: a turn's prompt, a file change, or a response's usage (merged into `responses`). */
  addLine(
    line: (TranscriptLine & { sessionId?: unknown; cwd?: unknown }) | null,
    responses: Map<string, Response>,
    style: PathStyle,
  ): void {
    if (line === null || typeof line !== "object") return;
    const time = typeof line.timestamp === "string" && ISO_TIME.test(line.timestamp) ? Date.parse(line.timestamp) : NaN;
    if (Number.isNaN(time)) {
      // A line with a marker and no time is no line Claude Code wrote: counted, so the report never drops it silently.
      this.skippedLines++;
      return;
    }
    const session = typeof line.sessionId === "string" && SESSION_ID_PATTERN.test(line.sessionId)
      ? line.sessionId
      : "unknown";
    const project = typeof line.cwd === "string" ? reportProject(line.cwd, style) : "unknown";
    if (line.type === "user") {
      const uuid = typeof line.uuid === "string" ? line.uuid : undefined;
      const change = changedLines(line.toolUseResult);
      if (change !== undefined && uuid !== undefined && this.once(`change\u0000${uuid}`)) {
        this.addChange(time, session, project, change);
      }
      // A turn starts at its prompt: by its promptId, or in releases before promptId, by the prompt line's uuid.
      const turn = typeof line.promptId === "string" ? line.promptId : isUserPrompt(line) ? uuid : undefined;
      const isPrompt = turn !== undefined && line.toolUseResult === undefined && line.isMeta !== true;
      if (isPrompt && this.once(`turn\u0000${session}\u0000${turn}`)) this.addTurn(time, session, project);
      return;
    }
    const message = line.message;
    const usage = message?.usage;
    if (line.type !== "assistant" || typeof message?.id !== "string" || message.model === "<synthetic>") return;
    if (usage === null || typeof usage !== "object") return;
    const key = `${message.id}\u0000${typeof line.requestId === "string" ? line.requestId : ""}`;
    const response = responses.get(key) ?? { ...NO_RESPONSE_USAGE, time, session, project };
    mergeResponseLine(response, line, usage);
    responses.set(key, response);
  }

  /** Adds a file's merged responses, each once across every file read, and forgets them. */
  addResponses(responses: Map<string, Response>): void {
    for (const [key, response] of responses) {
      const id = `response\u0000${key}`;
      if (this.once(id)) {
        this.addResponse(response);
        // Past a flush in the middle of a huge file, a response's later lines are its own file's, not a repeat.
        if (this.flushedInFile !== undefined) this.flushedInFile.add(shortKey(id));
      } else if (
        !this.flushedInFile?.has(shortKey(id)) &&
        this.keyOf(response.time, response.session, response.project, undefined) !== undefined
      ) {
        this.repeated++;
      }
    }
    responses.clear();
  }
}

/**
 * Reads every transcript Claude Code kept under `projects/` and adds up what
 * was spent, grouped (see the module's doc).
 *
 * @param runtime The runtime adapter.
 * @param options What to read and how to group it.
 * @returns The report.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * const report = await collectReport(detectRuntime(), { claudeDir: "/nonexistent", by: "day", prices: { overrides: {} } });
 * assert.deepEqual([report.files, report.rows.length, report.total.cost_usd], [0, 0, 0]);
 * ```
 */
export async function collectReport(runtime: Runtime, options: ReportOptions): Promise<SpendReport> {
  const fs = await runtime.fs();
  const files = await transcriptFiles(fs, `${options.claudeDir}/projects`);
  const tally = new SpendTally(options);
  let skippedFiles = 0;
  const projects = `${options.claudeDir}/projects/`;
  let folder = "";
  for (const [index, path] of files.entries()) {
    // A resumed or forked session repeats lines only within its project's folder (the same working directory), and
    // the files come folder by folder: what was seen is forgotten between folders, so memory follows the largest.
    const next = path.slice(projects.length).split("/")[0];
    if (next !== folder) {
      folder = next;
      tally.seen.clear();
    }
    try {
      await tally.addFile(fs, path);
    } catch {
      skippedFiles++;
    }
    options.onProgress?.(index + 1, files.length);
  }
  const rows = [...tally.groups.entries()].map(([key, totals]) => ({
    key,
    ...totals,
    cost_usd: roundUsd(totals.cost_usd),
  }));
  const byTime = options.by === "day" || options.by === "week" || options.by === "month";
  rows.sort((a, b) => byTime ? (a.key < b.key ? -1 : 1) : b.cost_usd - a.cost_usd || (a.key < b.key ? -1 : 1));
  return {
    by: options.by,
    rows,
    total: { ...tally.total, cost_usd: roundUsd(tally.total.cost_usd) },
    files: files.length - skippedFiles,
    skipped_files: skippedFiles,
    skipped_lines: tally.skippedLines,
    // "unknown" is always kept: the note that explains it must not lose it to the cut.
    unpriced_models: [...tally.unpriced].sort().filter((model, index) => index < 19 || model === "unknown"),
    unchecked_versions: [...tally.unchecked].sort().slice(0, 20),
    earlier_rules_requests: tally.earlierRules,
    repeated_requests: tally.repeated,
  };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A real calendar date `YYYY-MM-DD` (not 2026-02-30). */
function isDate(value: string): boolean {
  const date = new Date(`${value}T00:00:00Z`);
  return DATE.test(value) && !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
}

/** A group's cost as shown: none at all when no response of it had a known price (never a made-up 0). */
function shownCost(totals: ReportTotals): number | null {
  return totals.api_requests > 0 && totals.unpriced_requests === totals.api_requests ? null : totals.cost_usd;
}

/** The report as a table for a terminal: every value escaped, numbers right-aligned. */
function reportTable(report: SpendReport): string {
  const header = [
    report.by,
    "input",
    "output",
    "cache write",
    "cache read",
    "total tokens",
    "cost USD",
    "turns",
    "searches",
    "+lines",
    "-lines",
  ];
  const cells = (key: string, t: ReportTotals) => [
    terminalSafe(key, true),
    ...[t.input_tokens, t.output_tokens, t.cache_creation_input_tokens, t.cache_read_input_tokens, t.total_tokens]
      .map((n) => n.toLocaleString("en-US")),
    `${shownCost(t) === null ? "-" : t.cost_usd.toFixed(6)}${t.unpriced_requests > 0 ? "*" : ""}`,
    report.by === "model" ? "-" : String(t.turns),
    String(t.web_search_requests),
    report.by === "model" ? "-" : String(t.lines_added),
    report.by === "model" ? "-" : String(t.lines_removed),
  ];
  const table = [header, ...report.rows.map((row) => cells(row.key, row)), cells("total", report.total)];
  const widths = header.map((_, column) => Math.max(...table.map((row) => row[column].length)));
  return table.map((row) =>
    row.map((cell, column) => column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column])).join("  ")
  ).join("\n");
}

/**
 * `report`: prints what Claude Code spent here (see the module's doc), as a
 * table, or as JSON with `--json`.
 *
 * @param runtime The runtime adapter.
 * @param args `[--by day|week|month|session|project|model] [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--project NAME] [--json]`.
 * @returns 0, or 1 when no transcript could be read at all.
 *
 * @example
 * ```ts ignore
 * await reportCommand(detectRuntime(), ["--by", "model", "--since", "2026-11-01"]);
 * ```
 */
export async function reportCommand(runtime: Runtime, args: readonly string[]): Promise<number> {
  const values = parseArgs(args, ["--by", "--since", "--until", "--project"], ["--json"]);
  const by = (values["--by"] ?? "day") as ReportGroup;
  if (!REPORT_GROUPS.includes(by)) {
    throw new CommandError(`Cannot report: --by "${terminalSafe(by)}" is not one of ${REPORT_GROUPS.join(", ")}.`, 2);
  }
  for (const option of ["--since", "--until"] as const) {
    const value = values[option];
    if (value !== undefined && !isDate(value)) {
      throw new CommandError(`Cannot report: ${option} "${terminalSafe(value)}" is not a date like 2026-12-01.`, 2);
    }
  }
  if (values["--since"] !== undefined && values["--until"] !== undefined && values["--since"] > values["--until"]) {
    throw new CommandError(`Cannot report: --since ${values["--since"]} is after --until ${values["--until"]}.`, 2);
  }
  const claudeDir = claudeDirectory((name) => runtime.env(name));
  if (claudeDir === undefined) {
    throw new CommandError("Cannot report: no home folder (set HOME, or CLAUDE_CONFIG_DIR).");
  }
  const terminal = values["--json"] ? undefined : runtime.terminal();
  const report = await collectReport(runtime, {
    claudeDir,
    by,
    since: values["--since"],
    until: values["--until"],
    project: values["--project"],
    searchBytes: runtime.kind !== "deno",
    // The prices the pings use: TELEMHQ_PRICES over an organisation's managed pricing over the catalog.
    prices: { overrides: priceTable(runtime.env("TELEMHQ_PRICES")), managed: await loadManagedPricing(runtime) },
    onProgress: terminal === undefined ? undefined : (done, all) => {
      if (all >= 200 && (done % 50 === 0 || done === all)) terminal.write(`\rReading transcripts: ${done} of ${all}`);
      if (all >= 200 && done === all) terminal.write("\r\u001b[K");
    },
  });
  if (values["--json"]) {
    // By model, turns and lines belong to no row: null, never a 0 a script would believe.
    const shown = (totals: ReportTotals) =>
      report.by === "model"
        ? { ...totals, cost_usd: shownCost(totals), turns: null, lines_added: null, lines_removed: null }
        : { ...totals, cost_usd: shownCost(totals) };
    console.log(JSON.stringify({ ...report, rows: report.rows.map(shown), total: shown(report.total) }));
  } else {
    console.log(reportTable(report));
    const notes = [`${report.files} transcript${report.files === 1 ? "" : "s"} read`];
    if (report.files === 0) notes[0] += " (none in Claude Code's projects folder: CLAUDE_CONFIG_DIR, else ~/.claude)";
    else if (report.total.api_requests === 0 && values["--project"] !== undefined) {
      notes.push(
        `no response of a project named "${terminalSafe(values["--project"])}" (names as --by project shows them: ` +
          "the last folder of the working directory)",
      );
    }
    if (report.skipped_files > 0) notes.push(`${report.skipped_files} unreadable file(s) skipped`);
    if (report.skipped_lines > 0) notes.push(`${report.skipped_lines} broken line(s) skipped`);
    if (report.repeated_requests > 0) {
      notes.push(`${report.repeated_requests} response(s) repeated by resumed or forked sessions counted once`);
    }
    if (report.unpriced_models.length > 0) {
      notes.push(
        `* no price known for ${report.unpriced_models.map((model) => terminalSafe(model)).join(", ")} ` +
          "(set TELEMHQ_PRICES): its responses with no price are not in the cost" +
          (report.unpriced_models.includes("unknown")
            ? ' ("unknown": responses with no model id, or one that is not a plain model id, which is never printed)'
            : ""),
      );
    }
    if (report.earlier_rules_requests > 0) {
      notes.push(
        `${report.earlier_rules_requests} response(s) priced by the rules of the earlier Claude Code that wrote ` +
          "them, as it showed them: today's prices can differ (docs/tokens-and-cost.md)",
      );
    }
    for (const version of report.unchecked_versions) notes.push(pricingNote(version)!);
    console.error(notes.join("; ") + ".");
  }
  return report.files === 0 && report.skipped_files > 0 ? 1 : 0;
}
