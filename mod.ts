/**
 * The typed library face of the TelemHQ hook for Claude Code: the event and
 * payload types, the privacy-safe payload builder, hashing, the ping URL rules
 * and sending, the spool and its sender, usage and prices, for people who
 * build their own Claude Code hooks.
 *
 * Everything here is defined in `hook.ts`, the single self-contained file that
 * Claude Code runs (assembled from `src/`); this module re-exports it, so the
 * library and the installed hook are the same code. This list is also what
 * hook.ts exports: `deno task build:hook` keeps every other name internal.
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

export {
  allowlisted,
  backoffMs,
  buildPayload,
  CATALOG_MODELS,
  checkPayload,
  claudeDirectory,
  CommandError,
  countCodePoints,
  DEFAULT_TIMEOUT_MS,
  deliverSpool,
  denoRunFlags,
  detectRuntime,
  doctorCommand,
  ENUM_FIELDS,
  ENV_NAMES,
  eventRule,
  FAILED_EVENTS,
  FAST_PRICES,
  flushCommand,
  HOOK_EVENTS,
  HOOK_VERSION,
  hookArgv,
  HookSkip,
  INSTALL_EVENTS,
  installCommand,
  launcherArgs,
  launcherCommand,
  launcherScript,
  loadConfig,
  logCommand,
  managedPricing,
  MAX_EVENT_BYTES,
  parseArgs,
  parseEvent,
  parsePingUrl,
  PAYLOAD_FIELDS,
  pingId,
  priceTable,
  PRICING_TIERS,
  printHookCommand,
  projectName,
  readAll,
  readConfig,
  readLinesBackward,
  readTranscriptUsage,
  readTurnUsage,
  redactSecrets,
  redactUrl,
  resolveModel,
  responseCostUsd,
  retryAfterMs,
  runCommandLine,
  runHook,
  senderIsRunning,
  sendPing,
  sha256HexSync,
  shortHash,
  spoolPing,
  startSender,
  STATE_LAYOUT,
  stateDirectory,
  STOP_FAILURE_ERRORS,
  sumUsage,
  uninstallCommand,
  UNSAFE_ENV_NAMES,
  usageSource,
  webCryptoSha256Hex,
} from "./hook.ts";
export type {
  CatalogModel,
  DeliveryReport,
  DeliveryStatus,
  DroppedCounts,
  EnvLookup,
  EventRule,
  FailedReason,
  FileFacts,
  FsPromises,
  HookConfig,
  HookEventName,
  HookInput,
  InstallScope,
  ManagedPricing,
  ModelPrice,
  NarrowAccess,
  Payload,
  PayloadContext,
  PriceBook,
  PricedUsage,
  Runtime,
  RuntimeKind,
  SendOutcome,
  SendResult,
  Sha256Hex,
  SpoolEntry,
  TierPrice,
  TurnUsage,
  UsageSource,
} from "./hook.ts";
