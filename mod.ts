/**
 * The typed library face of the TelemHQ hook for Claude Code, for people who
 * build their own Claude Code hooks: read an event, build the privacy-safe
 * ping, hash, check the ping URL and send, read a turn's usage and price it
 * the way Claude Code does, spool pings and deliver them from a detached
 * sender, and start the hook the way the launcher does.
 *
 * Everything here is defined in `hook.ts`, the single self-contained file that
 * Claude Code runs (assembled from `src/`); this module re-exports it, so the
 * library and the installed hook are the same code. This list is also what
 * hook.ts exports: `deno task build:hook` keeps every other name internal.
 * The commands (`install`, `doctor`, `flush`, ...) are the hook's, not the
 * library's: run them through `hook.ts`.
 *
 * @example
 * ```ts ignore
 * import { buildPayload, parsePingUrl, sendPing } from "@telemhq/claude-code";
 *
 * const payload = await buildPayload(
 *   { hook_event_name: "Stop", session_id: "s1", cwd: "/home/dev/api" },
 *   { fallbackCwd: "/", runtime: "deno/2.9.6" },
 * );
 * await sendPing(parsePingUrl("https://telemhq.com/ping/TOKEN"), payload, 5000);
 * ```
 *
 * @module
 */

// Reading an event, and the ping built from it.
export {
  allowlisted,
  buildPayload,
  checkPayload,
  eventRule,
  FAILED_EVENTS,
  HOOK_EVENTS,
  HOOK_VERSION,
  HookSkip,
  MAX_EVENT_BYTES,
  parseEvent,
  PAYLOAD_FIELDS,
  pingId,
  projectName,
  readAll,
  STOP_FAILURE_ERRORS,
} from "./hook.ts";
// Hashing paths and ids, the way the reference script does.
export { sha256HexSync, webCryptoSha256Hex } from "./hook.ts";
// The ping URL, and sending one ping.
export {
  backoffMs,
  DEFAULT_TIMEOUT_MS,
  parsePingUrl,
  redactSecrets,
  redactUrl,
  retryAfterMs,
  sendPing,
} from "./hook.ts";
// A turn's usage and its cost, as Claude Code computes it.
export {
  CATALOG_MODELS,
  FAST_PRICES,
  managedPricing,
  measureTranscriptUsage,
  measureTurnUsage,
  priceTable,
  PRICING_TIERS,
  pricingEraOf,
  pricingEras,
  readTranscriptUsage,
  readTurnUsage,
  resolveModel,
  responseCostUsd,
  sumUsage,
  usageSource,
} from "./hook.ts";
// The runtime, the hook's settings and its folders.
export {
  claudeDirectory,
  detectRuntime,
  ENV_NAMES,
  loadConfig,
  readConfig,
  STATE_LAYOUT,
  stateDirectory,
} from "./hook.ts";
// Paths as the platform writes them (POSIX, or Windows with drive letters and backslashes).
export { homeDirectory, hostPathStyle, isInsideFolder, pathName } from "./hook.ts";
// What Claude Code spent on this machine, from every transcript it kept.
export { collectReport, REPORT_GROUPS } from "./hook.ts";
// The spool and its detached sender.
export { deliverSpool, senderIsRunning, spoolPing, startSender } from "./hook.ts";
// The hook itself, and how the launcher starts it.
export {
  hookArgv,
  launcherArgs,
  launcherCommand,
  launcherScript,
  POLICY_HOOK_COMMAND,
  runCommandLine,
  runHook,
  UNSAFE_ENV_NAMES,
} from "./hook.ts";

export type {
  CatalogModel,
  DeliverOptions,
  DeliveryReport,
  DeliveryStatus,
  DroppedCounts,
  EnvLookup,
  EventRule,
  FailedReason,
  FastRule,
  FileFacts,
  FsPromises,
  HookConfig,
  HookEventName,
  HookInput,
  LoadedConfig,
  ManagedPricing,
  MeasuredUsage,
  ModelPrice,
  NarrowAccess,
  PathStyle,
  Payload,
  PayloadContext,
  PriceBook,
  PricedUsage,
  PricingEra,
  ReportGroup,
  ReportOptions,
  ReportTotals,
  Runtime,
  RuntimeKind,
  SendOutcome,
  SendResult,
  Sha256Hex,
  SpendReport,
  SpoolEntry,
  StateDirCheck,
  TierPrice,
  TurnUsage,
  UsageSource,
} from "./hook.ts";
