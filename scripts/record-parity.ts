/**
 * Records what TelemHQ's reference Python hook (test/reference/telemhq_ping.py,
 * copied verbatim from the TelemHQ guide) sends for every recorded fixture
 * event and every edge-case event, into test/data/parity.jsonl. The parity
 * test then holds hook.ts to those payloads.
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

async function recordOne(receiverUrl: string, event: Record<string, unknown>): Promise<void> {
  const child = new Deno.Command("python3", {
    args: [`${ROOT}test/reference/telemhq_ping.py`],
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
}

if (import.meta.main) await main();
