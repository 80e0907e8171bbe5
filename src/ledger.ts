/**
 * Adding usage to a ping, once, just before it is sent: the turn's (Stop,
 * StopFailure), the subagent's (SubagentStop), or the session's totals
 * (SessionEnd), which a per-session ledger keeps until then.
 *
 * Owns: `enrichEntry`, `forgetSession`, the session ledgers, which transcripts may be read.
 * Uses: events, fields, paths, payload, runtime, files, state_dir, config, spool, prices, git_repo,
 * usage.
 *
 * @module
 */

import type { HookConfig } from "./config.ts";
import { eventRule } from "./events.ts";
import { readGitRepo } from "./git_repo.ts";
import type { Payload } from "./fields.ts";
import { hostPathStyle, isInsideFolder, isNetworkPath } from "./paths.ts";
import { omitUndefined } from "./payload.ts";
import { type ManagedPricing, type PriceBook, priceTable, roundUsd } from "./prices.ts";
import type { Runtime } from "./runtime.ts";
import { readJsonFile, writeJsonAtomically } from "./files.ts";
import type { SpoolEntry } from "./spool.ts";
import { claudeDirectory, ledgerFileName, STATE_LAYOUT } from "./state_dir.ts";
import {
  type MeasuredUsage,
  measureTranscriptUsage,
  measureTurnUsage,
  TOKEN_FIELDS,
  type TokenCounts,
  totalTokens,
  type TurnUsage,
} from "./usage.ts";

/** How long reading one ping's usage may take: a stalled disk or network mount must not stall delivery. */
const USAGE_READ_MS = 15_000;

/** Token counts kept per session until its SessionEnd: `<state>/sessions/<hash of session_id>.json`. */
interface SessionLedger extends TokenCounts {
  turns: number;
  api_requests: number;
  web_search_requests?: number;
  lines_added?: number;
  lines_removed?: number;
  /** The sum of the turns' costs, not rounded (rounded once, in the SessionEnd ping); null once a model had no price. */
  cost_usd: number | null;
  /** The pings already added (their ids, the newest): a ping handled again after a failed save is not added twice. */
  counted?: string[];
}

/** How many ids of added pings a ledger keeps: more than a session's pings in flight at once. */
const COUNTED_KEPT = 200;

/** A turn's usage when it had none: no request answered, nothing spent. */
const NO_USAGE: TurnUsage = {
  input_tokens: 0,
  output_tokens: 0,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  total_tokens: 0,
  api_requests: 0,
  tool_calls: 0,
  cost_usd: 0,
};

/** The ping fields a SessionEnd carries. */
type SessionFields = Pick<
  Payload,
  | "session_input_tokens"
  | "session_output_tokens"
  | "session_cache_creation_input_tokens"
  | "session_cache_read_input_tokens"
  | "session_total_tokens"
  | "session_cost_usd"
  | "session_api_requests"
  | "session_turns"
  | "session_web_search_requests"
  | "session_lines_added"
  | "session_lines_removed"
>;

/**
 * Adds usage to a spooled ping, once: the turn's (Stop, StopFailure), the
 * subagent's (SubagentStop) or the session's totals (SessionEnd). A missing,
 * unreadable or broken transcript adds nothing: the ping goes out without usage.
 *
 * @param runtime The runtime adapter.
 * @param config The settings (state directory, prices).
 * @param entry The spooled ping, with where to read its usage.
 * @param managed An organisation's managed prices (see {@linkcode loadManagedPricing}).
 * @returns The entry with usage added, marked enriched, without its local paths.
 *
 * @example
 * ```ts ignore
 * const enriched = await enrichEntry(runtime, config, entry);
 * ```
 */
export async function enrichEntry(
  runtime: Runtime,
  config: HookConfig,
  entry: SpoolEntry,
  managed?: ManagedPricing,
): Promise<SpoolEntry> {
  const payload: Payload = { ...entry.payload };
  const local = entry.local ?? {};
  const kind = eventRule(payload.event).usage;
  const ledgerPath = payload.session_id === undefined || config.stateDir === undefined
    ? undefined
    : `${config.stateDir}/${STATE_LAYOUT.sessions}/${await ledgerFileName(payload.session_id, runtime.sha256Hex)}`;
  // The session's own TELEMHQ_PRICES (kept with its ping), never the sender's: one sender prices every session.
  const prices: PriceBook = { overrides: priceTable(local.prices), managed };
  let measured: MeasuredUsage | undefined;
  if (kind === "turn" || kind === "subagent") {
    const path = kind === "turn" ? local.transcript_path : local.agent_transcript_path;
    const reading = async () => {
      const transcript = path === undefined ? undefined : await readableTranscript(runtime, path);
      if (transcript === undefined) return undefined;
      return kind === "turn"
        ? await measureTurnUsage(transcript, local.prompt_id, prices)
        : await measureTranscriptUsage(transcript, prices);
    };
    measured = await withinTime(reading(), USAGE_READ_MS).catch(() => undefined);
  }
  const note = measured?.pricingNote;
  if (measured !== undefined) {
    Object.assign(payload, omitUndefined({ ...measured.usage }));
    if (ledgerPath !== undefined) await addToLedger(runtime, ledgerPath, measured, kind === "turn", payload.ping_id);
  } else if (payload.event === "StopFailure" && ledgerPath !== undefined) {
    // A turn the API failed with no answer in the transcript used nothing, but it is a turn of the session. (A Stop
    // whose transcript cannot be read is not counted: its usage is unknown, not nothing.)
    await addToLedger(runtime, ledgerPath, { usage: NO_USAGE, unroundedCostUsd: 0 }, true, payload.ping_id);
  }
  if (kind === "session" && ledgerPath !== undefined) {
    // The ledger goes only once this ping is saved with its totals (see forgetSession): handled again after a failed
    // save, it still finds them.
    const ledger = await readLedger(runtime, ledgerPath);
    if (ledger !== undefined) Object.assign(payload, sessionFields(ledger));
  }
  // The repository, read here rather than in the hook: a git config read would cost Deno's hook 20 ms.
  const repo = local.cwd === undefined ? undefined : await readGitRepo(runtime, local.cwd).catch(() => undefined);
  if (repo !== undefined) payload.git_repo = repo;
  return { ...entry, payload, local: undefined, enriched: true, ...(note === undefined ? {} : { note }) };
}

/**
 * Removes a session's ledger once its SessionEnd ping, with the totals, is
 * saved: the session is over. Nothing to do for other pings.
 *
 * @param runtime The runtime adapter.
 * @param config The settings (state directory).
 * @param entry The enriched spool entry, as saved.
 *
 * @example
 * ```ts ignore
 * await forgetSession(runtime, config, enriched);
 * ```
 */
export async function forgetSession(runtime: Runtime, config: HookConfig, entry: SpoolEntry): Promise<void> {
  const { event, session_id: sessionId } = entry.payload;
  if (eventRule(event).usage !== "session" || sessionId === undefined || config.stateDir === undefined) return;
  const name = await ledgerFileName(sessionId, runtime.sha256Hex);
  await (await runtime.fs()).rm(`${config.stateDir}/${STATE_LAYOUT.sessions}/${name}`, { force: true });
}

/**
 * A transcript path from an event, as the sender may read it: a `.jsonl` file
 * inside Claude Code's `projects/` folder (symlinks resolved), nothing else:
 * an event cannot make the sender read another file.
 */
async function readableTranscript(runtime: Runtime, path: string): Promise<string | undefined> {
  const style = hostPathStyle();
  const claudeDir = claudeDirectory((name) => runtime.env(name), style);
  if (claudeDir === undefined || !path.endsWith(".jsonl") || isNetworkPath(path, style)) return undefined;
  const fs = await runtime.fs();
  try {
    // The path as written must be inside projects/ before anything opens it: on Windows, merely resolving a
    // \\\\server path would offer the user's login to that server.
    const projects = `${claudeDir}/projects`;
    const realProjects = await fs.realpath(projects);
    if (!isInsideFolder(path, projects, style) && !isInsideFolder(path, realProjects, style)) return undefined;
    const real = await fs.realpath(path);
    return isInsideFolder(real, realProjects, style) && real.endsWith(".jsonl") ? real : undefined;
  } catch {
    return undefined;
  }
}

/** The promise's value, or a rejection once `ms` have passed (the work itself may go on, unheeded). */
function withinTime<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A session's ledger, each field checked: a file that is not one (or any field of the wrong kind) is no ledger. */
async function readLedger(runtime: Runtime, path: string): Promise<SessionLedger | undefined> {
  const value = await readJsonFile(await runtime.fs(), path) as Record<string, unknown> | undefined;
  if (value === null || typeof value !== "object") return undefined;
  const counts = ["turns", "api_requests", ...TOKEN_FIELDS] as const;
  const optional = ["web_search_requests", "lines_added", "lines_removed"] as const;
  const isCount = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  if (!counts.every((field) => isCount(value[field]))) return undefined;
  if (!optional.every((field) => value[field] === undefined || isCount(value[field]))) return undefined;
  const cost = value.cost_usd;
  // A cost no session can have (the payload's own limit) is a planted ledger, not a session's.
  if (cost !== null && !(typeof cost === "number" && Number.isFinite(cost) && cost >= 0 && cost < 1e9)) {
    return undefined;
  }
  const counted = value.counted;
  const ids = Array.isArray(counted) && counted.every((id) => typeof id === "string" && /^[0-9a-f]{32}$/.test(id));
  return { ...value, counted: ids ? counted as string[] : undefined } as unknown as SessionLedger;
}

async function addToLedger(
  runtime: Runtime,
  path: string,
  measured: MeasuredUsage,
  isTurn: boolean,
  pingId: string,
): Promise<void> {
  const { usage, unroundedCostUsd } = measured;
  const fs = await runtime.fs();
  const ledger: SessionLedger = await readLedger(runtime, path) ?? {
    turns: 0,
    api_requests: 0,
    input_tokens: 0,
    output_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cost_usd: 0,
  };
  if (ledger.counted?.includes(pingId)) return;
  ledger.counted = [...(ledger.counted ?? []), pingId].slice(-COUNTED_KEPT);
  ledger.turns += isTurn ? 1 : 0;
  ledger.api_requests += usage.api_requests;
  ledger.web_search_requests = (ledger.web_search_requests ?? 0) + (usage.web_search_requests ?? 0);
  ledger.lines_added = (ledger.lines_added ?? 0) + (usage.lines_added ?? 0);
  ledger.lines_removed = (ledger.lines_removed ?? 0) + (usage.lines_removed ?? 0);
  for (const field of TOKEN_FIELDS) ledger[field] += usage[field];
  // Unrounded: the session's total is rounded once, when it is sent, as Claude Code sums its own costs.
  ledger.cost_usd = ledger.cost_usd === null || unroundedCostUsd === undefined
    ? null
    : ledger.cost_usd + unroundedCostUsd;
  await fs.mkdir(path.slice(0, path.lastIndexOf("/")), { mode: 0o700 }).catch(() => {});
  await writeJsonAtomically(fs, path, ledger);
}

function sessionFields(ledger: SessionLedger): SessionFields {
  return omitUndefined({
    session_input_tokens: ledger.input_tokens,
    session_output_tokens: ledger.output_tokens,
    session_cache_creation_input_tokens: ledger.cache_creation_input_tokens,
    session_cache_read_input_tokens: ledger.cache_read_input_tokens,
    session_total_tokens: totalTokens(ledger),
    session_cost_usd: ledger.cost_usd === null ? undefined : roundUsd(ledger.cost_usd),
    session_api_requests: ledger.api_requests,
    session_turns: ledger.turns,
    session_web_search_requests: ledger.web_search_requests || undefined,
    session_lines_added: ledger.lines_added || undefined,
    session_lines_removed: ledger.lines_removed || undefined,
  });
}
