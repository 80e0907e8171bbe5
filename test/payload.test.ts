import assert from "node:assert/strict";
import {
  backoffMs,
  buildPayload,
  countCodePoints,
  fastPathCommand,
  HookSkip,
  parseEvent,
  parsePingUrl,
  type Payload,
  pingId,
  projectName,
  readConfig,
  redactUrl,
  retryAfterMs,
  sha256HexSync,
  shortHash,
  stateDirectory,
  STOP_FAILURE_ERRORS,
} from "../mod.ts";
import { allEvents, NEWEST_FIXTURES, ROOT, SECRET_MARKER } from "./_helpers.ts";

const CONTEXT = { fallbackCwd: "/", runtime: "test/0" };

/** The fields the reference script sends, which must match it exactly. */
const PARITY_FIELDS = [
  "provider",
  "tool",
  "status",
  "event",
  "project",
  "session_id",
  "tool_name",
  "tool_use_id",
  "permission_mode",
  "cwd_hash",
  "transcript_path_hash",
  "last_assistant_message_chars",
] as const;

/** Every field that may ever leave the machine; the README table lists the same. */
const ALLOWED_FIELDS = new Set([
  ...PARITY_FIELDS,
  "error",
  "ping_id",
  "prompt_id",
  "agent_id",
  "agent_type",
  "duration_ms",
  "is_interrupt",
  "stop_hook_active",
  "source",
  "reason",
  "trigger",
  "tool_calls",
  "occurred_at",
  "hook_version",
  "runtime",
]);

function readJsonLines(path: string): Record<string, unknown>[] {
  return Deno.readTextFileSync(path).split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
}

const parityRecords = readJsonLines(`${ROOT}test/data/parity.jsonl`) as {
  source: string;
  line: number;
  expected: Record<string, unknown> | null;
}[];
const edgeEvents = readJsonLines(`${ROOT}test/data/edge-events.jsonl`);

function eventFor(source: string, line: number): Record<string, unknown> {
  if (source === "edge") return edgeEvents[line - 1];
  const found = allEvents().find((item) => item.scenario === source && item.line === line);
  assert.ok(found, `no recorded event ${source}:${line}`);
  return found.event;
}

function pick(payload: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(fields.filter((field) => field in payload).map((field) => [field, payload[field]]));
}

Deno.test("buildPayload() sends exactly what the reference Python script sends, for every recorded and edge-case event", async () => {
  assert.ok(parityRecords.length >= 50, "parity data is missing: run deno task record:parity");
  for (const record of parityRecords) {
    assert.ok(record.expected, `the reference script sent nothing for ${record.source}:${record.line}`);
    const payload = await buildPayload(eventFor(record.source, record.line), CONTEXT);
    assert.deepEqual(
      pick(payload as unknown as Record<string, unknown>, PARITY_FIELDS),
      pick(record.expected, PARITY_FIELDS),
      `${record.source}:${record.line}`,
    );
  }
});

Deno.test("buildPayload() never sends a planted secret from any recorded (2.1.197, 2.1.332) or edge-case event", async () => {
  const events = [
    ...allEvents().map((item) => item.event),
    ...allEvents(NEWEST_FIXTURES).map((item) => item.event),
    ...edgeEvents,
  ];
  const withSecrets = events.filter((event) => JSON.stringify(event).includes(SECRET_MARKER));
  assert.ok(withSecrets.length >= 10, "the fixtures should plant secrets in many events");
  for (const event of events) {
    const body = JSON.stringify(await buildPayload(event, CONTEXT));
    assert.ok(!body.includes(SECRET_MARKER), `leaked content: ${body}`);
  }
});

Deno.test("buildPayload() sends only allowlisted fields", async () => {
  for (const event of [...allEvents().map((item) => item.event), ...edgeEvents]) {
    const payload = await buildPayload(event, CONTEXT);
    for (const key of Object.keys(payload)) assert.ok(ALLOWED_FIELDS.has(key), `unexpected field ${key}`);
    for (const value of Object.values(payload)) assert.notEqual(value, undefined);
  }
});

Deno.test("buildPayload() never sends tool output from PostToolUseFailure, but marks it failed", async () => {
  const event = allEvents().find((item) => item.event.hook_event_name === "PostToolUseFailure")!.event;
  assert.match(String(event.error), /SECRET_FAIL_OUT/);
  const payload = await buildPayload(event, CONTEXT);
  assert.equal(payload.status, "failed");
  assert.equal(payload.error, undefined);
  assert.equal(payload.tool_name, "Bash");
  assert.equal(payload.is_interrupt, false);
  assert.equal(payload.duration_ms, 20);
});

Deno.test("buildPayload() sends a StopFailure error code but never its error_details", async () => {
  const event = allEvents().find((item) => item.event.hook_event_name === "StopFailure")!.event;
  const payload = await buildPayload(event, CONTEXT);
  assert.equal(payload.status, "failed");
  assert.equal(payload.error, "invalid_request");
  assert.ok(!JSON.stringify(payload).includes("prompt is too long"));
  for (const code of STOP_FAILURE_ERRORS) {
    assert.equal((await buildPayload({ hook_event_name: "StopFailure", error: code }, CONTEXT)).error, code);
  }
  const free = await buildPayload({ hook_event_name: "StopFailure", error: "rate_limit: key sk-123" }, CONTEXT);
  assert.equal(free.error, undefined);
});

Deno.test("buildPayload() adds safe metadata: subagent type, session source and end reason, batch size, version", async () => {
  const events = allEvents().map((item) => item.event);
  const find = (name: string) => events.find((event) => event.hook_event_name === name)!;
  const subagent = await buildPayload(find("SubagentStop"), CONTEXT);
  assert.equal(subagent.agent_type, "general-purpose");
  assert.match(subagent.agent_id ?? "", /^a[0-9a-f]+$/);
  assert.equal((await buildPayload(find("SessionStart"), CONTEXT)).source, "startup");
  assert.equal((await buildPayload(find("SessionEnd"), CONTEXT)).reason, "other");
  const batch = await buildPayload(find("PostToolBatch"), CONTEXT);
  assert.equal(batch.tool_calls, (find("PostToolBatch").tool_calls as unknown[]).length);
  assert.equal(batch.hook_version, JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).version);
  assert.equal(batch.runtime, "test/0");
  assert.match(batch.occurred_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

Deno.test("buildPayload() drops fields of the wrong type or shape instead of failing", async () => {
  const payload: Payload = await buildPayload({
    hook_event_name: { name: "Stop" },
    session_id: 42,
    cwd: ["/home/dev"],
    tool_name: "Bash; echo SECRET_",
    tool_use_id: null,
    permission_mode: "has spaces",
    transcript_path: 7,
    last_assistant_message: { text: "SECRET_" },
    duration_ms: "12",
    is_interrupt: "yes",
    source: "startup SECRET_",
    reason: "other\n",
    tool_calls: "3",
    agent_type: "x".repeat(500),
  }, CONTEXT);
  assert.deepEqual(Object.keys(payload).sort(), [
    "cwd_hash",
    "event",
    "hook_version",
    "occurred_at",
    "ping_id",
    "project",
    "provider",
    "runtime",
    "status",
    "tool",
  ]);
  assert.equal(payload.event, "ClaudeCode");
  assert.equal(payload.project, "unknown");
  assert.equal(payload.cwd_hash, await shortHash("/"));
});

Deno.test("countCodePoints() counts as Python's len() does, not as UTF-16 length", () => {
  assert.equal(countCodePoints(""), 0);
  assert.equal(countCodePoints("abc"), 3);
  assert.equal(countCodePoints("😀"), 1);
  assert.equal(countCodePoints("👍🏽"), 2);
  assert.equal(countCodePoints("e\u0301"), 2);
  assert.equal(countCodePoints("\ud800"), 1, "a lone high surrogate is one code point");
  assert.equal(countCodePoints("\udc00\ud800"), 2, "a reversed pair is two lone surrogates");
  assert.equal(countCodePoints("a\ud83d\ude00b\ud83d"), 3 + 0 + 1 - 1 + 1);
});

Deno.test("projectName() follows pathlib's Path.name", () => {
  assert.equal(projectName("/home/dev/api"), "api");
  assert.equal(projectName("/home/dev/api/"), "api");
  assert.equal(projectName("/"), "unknown");
  assert.equal(projectName("."), "unknown");
  assert.equal(projectName("/a/b/.."), "..");
  assert.equal(projectName("/a/b/."), "b");
  assert.equal(projectName("/a//b//"), "b");
  assert.equal(projectName("relative/my dir"), "my dir");
});

Deno.test("pingId() is stable for the same event and differs between events", async () => {
  const events = allEvents().map((item) => item.event);
  const at = new Date("2026-11-25T10:00:00.250Z");
  const later = new Date("2026-11-25T10:00:05Z");
  const ids = await Promise.all(events.map((event) => pingId(event, at)));
  assert.equal(new Set(ids).size, ids.length, "every recorded event has its own id");
  for (const [index, event] of events.entries()) {
    assert.equal(await pingId(structuredClone(event), at), ids[index]);
    assert.match(ids[index], /^[0-9a-f]{32}$/);
  }
  const stop = events.find((event) => event.hook_event_name === "Stop")!;
  assert.equal(await pingId(stop, later), await pingId(stop, at), "a turn's Stop keeps its id whenever it is sent");
  const start = events.find((event) => event.hook_event_name === "SessionStart")!;
  assert.notEqual(await pingId(start, later), await pingId(start, at), "two resumes of a session are two pings");
  const again = { ...stop, stop_hook_active: true };
  assert.notEqual(
    await pingId(again, later),
    await pingId(again, at),
    "a Stop after a blocking Stop hook is a new ping",
  );
});

Deno.test("parseEvent() gives a clear reason for every kind of bad input", () => {
  const encode = (text: string) => new TextEncoder().encode(text);
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(), /empty/],
    [encode("not json"), /not valid JSON/],
    [encode("[1,2]"), /not an object/],
    [encode("null"), /not an object/],
    [encode('"Stop"'), /not an object/],
    [new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), /not valid UTF-8/],
  ];
  for (const [bytes, reason] of cases) {
    assert.throws(() => parseEvent(bytes), (error) => error instanceof HookSkip && reason.test(error.message));
  }
  assert.deepEqual(parseEvent(encode('{"hook_event_name":"Stop"}')), { hook_event_name: "Stop" });
});

Deno.test("parsePingUrl() refuses clear-text http except to loopback, and malformed URLs", () => {
  assert.equal(parsePingUrl("https://telemhq.com/ping/T").host, "telemhq.com");
  assert.equal(parsePingUrl("http://127.0.0.1:8080/ping/T").port, "8080");
  assert.equal(parsePingUrl("http://localhost/ping/T").hostname, "localhost");
  assert.equal(parsePingUrl("http://[::1]:9/ping/T").hostname, "[::1]");
  for (const bad of ["http://telemhq.com/ping/T", "http://10.0.0.1/ping/T", "ftp://x/T", "telemhq.com/ping/T", ""]) {
    assert.throws(() => parsePingUrl(bad), HookSkip, bad);
  }
  assert.throws(
    () => parsePingUrl("http://telemhq.com/ping/SECRET_T"),
    (error: Error) => !error.message.includes("SECRET_T"),
  );
});

Deno.test("redactUrl() keeps the host and never the token", () => {
  const shown = redactUrl(new URL("https://user:pw@telemhq.com:8443/ping/SECRET_TOKEN?x=SECRET_Q"));
  assert.equal(shown, "https://telemhq.com:8443/<redacted>");
});

Deno.test("readConfig() reads the URL, clamps numbers to sane ranges and reads the debug switch", () => {
  const config = (env: Record<string, string>) => readConfig((name) => env[name]);
  const defaults = config({});
  assert.equal(defaults.pingUrl, undefined);
  assert.equal(defaults.timeoutMs, 10_000);
  assert.equal(defaults.debug, false);
  assert.equal(defaults.stateDir, undefined, "no HOME, no state directory");
  assert.equal(defaults.spoolMaxPings, 10_000);
  assert.equal(defaults.spoolMaxAgeMs, 7 * 24 * 3600 * 1000);
  assert.equal(config({ TELEMHQ_PING_URL: "  https://t/p  " }).pingUrl, "https://t/p");
  assert.equal(config({ TELEMHQ_PING_URL: " " }).pingUrl, undefined);
  assert.equal(config({ TELEMHQ_TIMEOUT_MS: "250" }).timeoutMs, 250);
  assert.equal(config({ TELEMHQ_TIMEOUT_MS: "5" }).timeoutMs, 100);
  assert.equal(config({ TELEMHQ_TIMEOUT_MS: "999999" }).timeoutMs, 60_000);
  assert.equal(config({ TELEMHQ_TIMEOUT_MS: "soon" }).timeoutMs, 10_000);
  assert.equal(config({ TELEMHQ_TIMEOUT_MS: "" }).timeoutMs, 10_000);
  assert.equal(config({ TELEMHQ_HOOK_DEBUG: "1" }).debug, true);
  assert.equal(config({ TELEMHQ_HOOK_DEBUG: "yes" }).debug, false);
});

Deno.test("stateDirectory() honours TELEMHQ_STATE_DIR, then CLAUDE_CONFIG_DIR, then HOME", () => {
  const dir = (env: Record<string, string>) => stateDirectory((name) => env[name]);
  assert.equal(dir({ HOME: "/home/me" }), "/home/me/.claude/telemhq");
  assert.equal(dir({ HOME: "/home/me/", CLAUDE_CONFIG_DIR: "/etc/claude/" }), "/etc/claude/telemhq");
  assert.equal(dir({ HOME: "/home/me", CLAUDE_CONFIG_DIR: "/c", TELEMHQ_STATE_DIR: "/s" }), "/s");
  assert.equal(dir({}), undefined);
});

Deno.test("retryAfterMs() reads seconds and HTTP dates, capped at one hour", () => {
  const now = Date.parse("2026-11-25T10:00:00Z");
  assert.equal(retryAfterMs("3", now), 3000);
  assert.equal(retryAfterMs("Wed, 25 Nov 2026 10:00:30 GMT", now), 30_000);
  assert.equal(retryAfterMs("Wed, 25 Nov 2026 09:00:00 GMT", now), 0, "a date in the past means now");
  assert.equal(retryAfterMs("86400", now), 3_600_000);
  assert.equal(retryAfterMs("soon", now), undefined);
  assert.equal(retryAfterMs(null, now), undefined);
});

Deno.test("backoffMs() grows exponentially with jitter and stays under its cap", () => {
  assert.equal(backoffMs(1, 1000, 300_000, 0), 500);
  assert.equal(backoffMs(1, 1000, 300_000, 0.999999), 1000);
  assert.equal(backoffMs(4, 1000, 300_000, 0), 4000);
  assert.equal(backoffMs(30, 1000, 300_000, 0.999999), 300_000);
  for (let attempts = 1; attempts < 40; attempts++) {
    const wait = backoffMs(attempts, 1000, 300_000, Math.random());
    assert.ok(wait >= 500 && wait <= 300_000, `attempt ${attempts}: ${wait}`);
  }
});

Deno.test("fastPathCommand() quotes paths so that spaces and quotes cannot break the shell", () => {
  const command = fastPathCommand(["/opt/my bun/bun", "/home/o'neil/hook.ts"]);
  assert.ok(command.includes(`setsid '/opt/my bun/bun' '/home/o'"'"'neil/hook.ts' --detached <&3`), command);
  assert.ok(command.startsWith("trap : TERM HUP; exec 3<&0; "), command);
});

Deno.test("sha256HexSync() (the Node hot path's hash) equals Web Crypto's SHA-256 for every kind of input", async () => {
  const webCrypto = async (text: string) =>
    [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)))]
      .map((byte) => byte.toString(16).padStart(2, "0")).join("");
  const inputs = ["", "abc", "/home/dév/my project/ünïcode 名前", "😀".repeat(33), "x".repeat(1_000_000)];
  for (let length = 50; length <= 130; length++) inputs.push("a".repeat(length)); // around the 55/56/64-byte block edges
  for (const text of inputs) assert.equal(sha256HexSync(text), await webCrypto(text), `length ${text.length}`);
  assert.equal(sha256HexSync("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});
