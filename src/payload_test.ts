// buildPayload() and its field rules, as specifications: parity with the
// reference script, nothing but allowlisted fields, no content ever.
import assert from "node:assert/strict";
import { allEvents, NEWEST_FIXTURES, ROOT, SECRET_MARKER } from "../scripts/_dev.ts";
import { allowlisted, checkPayload, type Payload, PAYLOAD_FIELDS, STOP_FAILURE_ERRORS } from "./fields.ts";
import { buildPayload, countCodePoints, pingId, projectName, shortHash } from "./payload.ts";

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
const windowsRecords = readJsonLines(`${ROOT}test/data/parity-windows.jsonl`) as {
  source: string;
  line: number;
  event: Record<string, unknown>;
  expected: Record<string, unknown> | null;
}[];

Deno.test("buildPayload() on Windows sends what the reference script sends there, and no user name or parent folder", async () => {
  assert.ok(windowsRecords.length >= 60, "Windows parity data is missing: run deno task record:parity");
  for (const record of windowsRecords) {
    assert.ok(record.expected, `the reference script sent nothing for ${record.source}:${record.line}`);
    const payload = await buildPayload(record.event, { ...CONTEXT, fallbackCwd: "C:\\", pathStyle: "windows" });
    const where = `${record.source}:${record.line}`;
    assert.deepEqual(
      pick(payload as unknown as Record<string, unknown>, PARITY_FIELDS),
      pick(record.expected, PARITY_FIELDS),
      where,
    );
    const body = JSON.stringify(payload);
    for (const part of ["alice", "Users", "users", "fileserver", "C:", "\\\\", SECRET_MARKER]) {
      assert.ok(!body.includes(part), `${where} leaked "${part}": ${body}`);
    }
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
    for (const key of Object.keys(payload)) {
      assert.ok((PAYLOAD_FIELDS as readonly string[]).includes(key), `unexpected field ${key}`);
    }
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
Deno.test("buildPayload() never sends an id, mode or agent type shaped like a path or an address", async () => {
  const payload = await buildPayload({
    hook_event_name: "SubagentStop",
    session_id: "home/alice/SECRET_proj/.env",
    prompt_id: "alice@host",
    agent_id: "/etc/SECRET_",
    tool_use_id: "toolu_01ABC",
    permission_mode: "user@host:/SECRET_PM",
    agent_type: "plugin:reviewer",
  }, CONTEXT);
  assert.equal(payload.session_id, undefined);
  assert.equal(payload.prompt_id, undefined);
  assert.equal(payload.agent_id, undefined);
  assert.equal(payload.permission_mode, undefined);
  assert.equal(payload.tool_use_id, "toolu_01ABC");
  assert.equal(payload.agent_type, "plugin:reviewer", "a plugin's agent keeps its plugin: prefix");
  assert.ok(!JSON.stringify(payload).includes("SECRET_"));
  for (const mode of ["default", "acceptEdits", "bypassPermissions", "plan", "dontAsk", "auto"]) {
    const sent = await buildPayload({ hook_event_name: "Stop", permission_mode: mode }, CONTEXT);
    assert.equal(sent.permission_mode, mode);
  }
});
Deno.test("buildPayload() sends no Windows path, terminal control or lone surrogate as the project name", async () => {
  const cases = [
    "C:\\Users\\alice\\SECRET_WIN\\api",
    "/home/dev/\ud800\u001b]0;pwn\u0007\u202e",
    "/home/dev/name\u200bwith-zero-width",
    "/home/dev/tab\there",
    "/home/dev/proj\u{E0061}\u{E006C}\u{E0069}\u{E0063}\u{E0065}", // tag characters: "alice", invisible
    "/home/dev/soft\u00adhyphen",
    "/home/dev/\u3164",
    "/home/dev/private\ue000use",
    "/home/dev/line\u2028separator",
  ];
  for (const cwd of cases) {
    const payload = await buildPayload({ hook_event_name: "Stop", cwd }, { ...CONTEXT, pathStyle: "posix" });
    assert.equal(payload.project, "unknown", JSON.stringify(cwd));
    assert.equal(checkPayload(payload)?.project, "unknown");
  }
  const named = await buildPayload({ hook_event_name: "Stop", cwd: "/home/dev/caf\u00e9 \u9879\u76ee (v2)" }, CONTEXT);
  assert.equal(named.project, "caf\u00e9 \u9879\u76ee (v2)", "letters of any script, spaces and brackets go");
  for (
    const name of ["\u{1F469}\u200d\u{1F4BB}-tools", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "\u2764\ufe0f"]
  ) {
    const sent = await buildPayload({ hook_event_name: "Stop", cwd: `/home/dev/${name}` }, CONTEXT);
    assert.equal(sent.project, name, "a zero-width joiner or non-joiner, and a variation selector, are part of a name");
  }
  const long = await buildPayload({ hook_event_name: "Stop", cwd: `/x/${"\u{1F600}".repeat(300)}` }, CONTEXT);
  assert.equal([...long.project].length, 255, "cut by characters: no half of a pair is left");
  // A spooled ping from an older hook whose project may not be sent still goes, as "unknown".
  const old = { ...named, project: "C:\\Users\\alice\\SECRET_WIN" };
  assert.equal(checkPayload(old)?.project, "unknown");
});
Deno.test('buildPayload() sends a session started in the home folder as project "~", never the user\'s name', async () => {
  const home = { ...CONTEXT, homeDir: "/home/alice.smith", pathStyle: "posix" as const };
  for (const cwd of ["/home/alice.smith", "/home/alice.smith/", "/home/alice.smith/."]) {
    assert.equal((await buildPayload({ hook_event_name: "Stop", cwd }, home)).project, "~", cwd);
  }
  assert.equal((await buildPayload({ hook_event_name: "Stop", cwd: "/home/alice.smith/api" }, home)).project, "api");
  const windows = { ...CONTEXT, homeDir: "C:\\Users\\alice", pathStyle: "windows" as const };
  assert.equal((await buildPayload({ hook_event_name: "Stop", cwd: "c:\\users\\ALICE" }, windows)).project, "~");
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

Deno.test("pingId() tells a background agent's report from the prompt that started it, by the agent only", async () => {
  const at = new Date("2026-11-25T10:00:00Z");
  const prompt = { session_id: "s1", hook_event_name: "UserPromptSubmit", prompt_id: "p1", prompt: "SECRET_ do it" };
  const report = (id: string, status: string) => ({
    ...prompt,
    prompt: `<task-notification>\n<task-id>${id}</task-id>\n<status>${status}</status>\n<result>SECRET_</result>`,
  });
  const ids = await Promise.all([
    pingId(prompt, at),
    pingId(report("a6a6f9288086097b2", "completed"), at),
    pingId(report("b7b7", "completed"), at),
    pingId(report("a6a6f9288086097b2", "failed"), at),
  ]);
  assert.equal(new Set(ids).size, ids.length, "each is its own ping");
  assert.equal(
    await pingId({ ...prompt, prompt: "SECRET_ other words" }, at),
    ids[0],
    "the prompt's words are not read",
  );
  const otherResult = {
    ...report("a6a6f9288086097b2", "completed"),
    prompt: report("a6a6f9288086097b2", "completed").prompt.replace("SECRET_", "x"),
  };
  assert.equal(await pingId(otherResult, at), ids[1], "nor the report's");
});

Deno.test("allowlisted() keeps only Payload fields, whatever else a ping object picked up", () => {
  const ping = { provider: "anthropic", event: "Stop", transcript_path: "/home/dev/SECRET_", prompt: "SECRET_" };
  assert.deepEqual(allowlisted(ping as unknown as Payload), { provider: "anthropic", event: "Stop" });
});

Deno.test("PAYLOAD_FIELDS lists every Payload field once", () => {
  assert.equal(new Set(PAYLOAD_FIELDS).size, PAYLOAD_FIELDS.length);
  const declared = [
    ...Deno.readTextFileSync(`${ROOT}src/fields.ts`).split("export interface Payload {")[1].split("\n}")[0]
      .matchAll(/^ {2}([a-z_]+)\??:/gm),
  ].map((match) => match[1]);
  assert.deepEqual([...PAYLOAD_FIELDS], declared);
});

Deno.test("a hash salt changes cwd_hash and transcript_path_hash, the same way for everyone who shares it", async () => {
  const event = { hook_event_name: "Stop", cwd: "/home/alice/api", transcript_path: "/home/alice/t.jsonl" };
  const plain = await buildPayload(event, CONTEXT);
  const salted = await buildPayload(event, { ...CONTEXT, hashSalt: "team-secret" });
  const again = await buildPayload(event, { ...CONTEXT, hashSalt: "team-secret" });
  assert.equal(plain.cwd_hash, await shortHash("/home/alice/api"), "unsalted: the reference script's hash");
  assert.notEqual(salted.cwd_hash, plain.cwd_hash);
  assert.notEqual(salted.transcript_path_hash, plain.transcript_path_hash);
  assert.equal(salted.cwd_hash, again.cwd_hash);
});

Deno.test("checkPayload() keeps only valid allowlisted fields and refuses what is not a ping", async () => {
  const ping = await buildPayload({ hook_event_name: "Stop", session_id: "s1" }, CONTEXT);
  const tampered = { ...ping, prompt: "SECRET_", model: "x\n/home", cost_usd: -1, tool_calls: 1.5, session_id: "a b" };
  const { session_id: _dropped, ...withoutSession } = ping;
  assert.deepEqual(checkPayload(tampered), withoutSession);
  assert.equal(checkPayload({ ...ping, ping_id: "../../etc/passwd" }), undefined, "ping_id names a file: 32 hex only");
  assert.equal(checkPayload(null), undefined);
  assert.equal(checkPayload([ping]), undefined);
});
