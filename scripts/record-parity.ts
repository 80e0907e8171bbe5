/**
 * Records what TelemHQ's reference Python hook (test/reference/telemhq_ping.py,
 * copied verbatim from the TelemHQ guide) sends for every recorded fixture
 * event and every edge-case event, into test/data/parity.jsonl. The parity
 * test then holds hook.ts to those payloads.
 *
 * It also records the same events as Claude Code on Windows would write them
 * (`C:\Users\alice\...`), and a few Windows-only shapes (`\\?\`, UNC, a bare
 * drive), with what the reference sends on Windows (Python's `pathlib` with
 * Windows semantics, its working directory `C:\`), into
 * test/data/parity-windows.jsonl, events included: the Windows test runs
 * hook.ts under the Windows build of Node against them.
 *
 * Run: deno task record:parity   (needs python3)
 */
import { allEvents, ROOT, startReceiver } from "./_dev.ts";

interface Case {
  source: string;
  line: number;
  event: Record<string, unknown>;
}

function edgeEvents(): Case[] {
  return Deno.readTextFileSync(`${ROOT}test/data/edge-events.jsonl`)
    .split("\n")
    .filter((line) => line !== "")
    .map((line, index) => ({ source: "edge", line: index + 1, event: JSON.parse(line) }));
}

/** Runs the reference script unchanged, with Windows path semantics and `C:\` for its working directory. */
const AS_ON_WINDOWS = [
  "import os, pathlib, runpy, sys",
  "pathlib.Path = pathlib.PureWindowsPath",
  "os.getcwd = lambda: 'C:\\\\'",
  "runpy.run_path(sys.argv[1], run_name='__main__')",
].join("\n");

/** A POSIX path of the recordings as Claude Code on Windows writes it: `/home/dev/x` is `C:\Users\alice\x`. */
function windowsPath(path: string): string {
  const windows = path.replace(/^\/home\/[^/]+/, "/Users/alice").replace(/-home-[a-z]+-/, "C--Users-alice-");
  return `C:${windows.replaceAll("/", "\\")}`;
}

const WINDOWS_PATH_FIELDS = ["cwd", "transcript_path", "agent_transcript_path"];

/** An event as Claude Code on Windows would send it. */
function windowsShaped(event: Record<string, unknown>): Record<string, unknown> {
  const shaped = { ...event };
  for (const field of WINDOWS_PATH_FIELDS) {
    const value = shaped[field];
    if (typeof value === "string" && value.startsWith("/")) shaped[field] = windowsPath(value);
  }
  return shaped;
}

/** Working directories only Windows has: each must send its last folder's name, nothing above it. */
const WINDOWS_ONLY_CWDS = [
  "\\\\?\\C:\\Users\\alice\\src\\acme-api",
  "\\\\fileserver\\home$\\alice\\acme-api",
  "\\\\fileserver\\home$",
  "C:/Users/alice/src/acme-api/",
  "c:\\users\\alice\\src\\acme-api\\",
  "C:\\",
  "D:\\work\\alice.smith\\acme api",
];

async function recordOne(
  receiverUrl: string,
  event: Record<string, unknown>,
  asOnWindows = false,
): Promise<void> {
  const script = `${ROOT}test/reference/telemhq_ping.py`;
  const child = new Deno.Command("python3", {
    args: asOnWindows ? ["-c", AS_ON_WINDOWS, script] : [script],
    // The reference falls back to os.getcwd() when the event has no cwd: "/" makes that fixed.
    cwd: "/",
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", TELEMHQ_PING_URL: receiverUrl, TELEMHQ_HOOK_DEBUG: "1" },
    stdin: "piped",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(event)));
  await writer.close();
  await child.status;
}

async function main(): Promise<void> {
  const receiver = await startReceiver();
  const cases: Case[] = [
    ...allEvents().map(({ scenario, line, event }) => ({ source: scenario, line, event })),
    ...edgeEvents(),
  ];
  const lines: string[] = [];
  try {
    for (const item of cases) {
      const before = receiver.requests.length;
      await recordOne(receiver.url, item.event);
      const sent = receiver.requests.slice(before);
      const expected = sent.length === 1 ? JSON.parse(sent[0].body) : null;
      lines.push(JSON.stringify({ source: item.source, line: item.line, expected }));
    }
  } finally {
    await receiver.close();
  }
  Deno.writeTextFileSync(`${ROOT}test/data/parity.jsonl`, lines.join("\n") + "\n");
  console.log(`Recorded ${lines.length} reference payloads into test/data/parity.jsonl`);
  await recordWindows(cases);
}

async function recordWindows(cases: Case[]): Promise<void> {
  const receiver = await startReceiver();
  const windowsCases: Case[] = [
    ...cases.map((item) => ({ ...item, event: windowsShaped(item.event) })),
    ...WINDOWS_ONLY_CWDS.map((cwd, index) => ({
      source: "windows",
      line: index + 1,
      event: { hook_event_name: "Stop", session_id: `w${index + 1}`, cwd },
    })),
  ];
  const lines: string[] = [];
  try {
    for (const item of windowsCases) {
      const before = receiver.requests.length;
      await recordOne(receiver.url, item.event, true);
      const sent = receiver.requests.slice(before);
      const expected = sent.length === 1 ? JSON.parse(sent[0].body) : null;
      lines.push(JSON.stringify({ source: item.source, line: item.line, event: item.event, expected }));
    }
  } finally {
    await receiver.close();
  }
  Deno.writeTextFileSync(`${ROOT}test/data/parity-windows.jsonl`, lines.join("\n") + "\n");
  console.log(`Recorded ${lines.length} Windows reference payloads into test/data/parity-windows.jsonl`);
}

if (import.meta.main) await main();
