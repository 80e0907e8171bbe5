/**
 * How fast a backlog drains: pings spooled while the tracker was away (a
 * week offline is up to 10,000), then `flush` against a loopback tracker
 * that answers after 0 or 100 ms (a realistic distance to a hosted one).
 * Reports the time, the rate, the connections used, the requests per ping
 * (1 means each once) and the sender's CPU per ping, under Bun and Deno.
 *
 * Targets: 1,000 pings at 100 ms delivered within 25 s (40 pings/s) over at
 * most 100 connections; 10,000 at 0 ms in under 60 s.
 *
 * Run: deno task bench:drain [--quick]   (--quick: 1,000 pings at 0 and 100 ms only)
 *
 * @module
 */

import { buildPayload } from "../mod.ts";
import { measureCommand } from "./_measure.ts";
import { hookCommand, type RuntimeName, startReceiver } from "./_dev.ts";

async function spoolPings(stateDir: string, count: number): Promise<void> {
  Deno.mkdirSync(`${stateDir}/spool`, { recursive: true, mode: 0o700 });
  const now = Date.now();
  for (let index = 0; index < count; index++) {
    const payload = await buildPayload(
      { hook_event_name: "PostToolUse", session_id: "bench", tool_use_id: `toolu_${index}`, tool_name: "Bash" },
      { fallbackCwd: "/home/dev/api", runtime: "bench/0" },
    );
    const entry = { v: 2, payload, created_at: now - count + index, attempts: 1, next_at: now + 3_600_000 };
    Deno.writeTextFileSync(`${stateDir}/spool/${payload.ping_id}.json`, JSON.stringify(entry), { mode: 0o600 });
  }
}

interface Row {
  runtime: RuntimeName;
  pings: number;
  latencyMs: number;
  seconds: number;
  connections: number;
  requestsPerPing: number;
  cpuMsPerPing: number;
}

async function drain(runtime: RuntimeName, pings: number, latencyMs: number): Promise<Row> {
  const stateDir = Deno.makeTempDirSync({ prefix: "telemhq-drain-" });
  const receiver = await startReceiver(() => ({ status: 200, delayMs: latencyMs }));
  try {
    await spoolPings(stateDir, pings);
    const started = performance.now();
    const sample = await measureCommand([...hookCommand(runtime, stateDir), "flush"], "/dev/null", {
      PATH: "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      TELEMHQ_STATE_DIR: stateDir,
      TELEMHQ_PING_URL: receiver.url,
    }, `${runtime} flush`);
    const seconds = (performance.now() - started) / 1000;
    const unique = new Set(receiver.requests.map((request) => JSON.parse(request.body).tool_use_id)).size;
    if (unique !== pings) throw new Error(`${runtime}: ${unique} of ${pings} pings arrived`);
    return {
      runtime,
      pings,
      latencyMs,
      seconds,
      connections: receiver.connections,
      requestsPerPing: receiver.requests.length / pings,
      cpuMsPerPing: sample.cpu_ms / pings,
    };
  } finally {
    await receiver.close();
    Deno.removeSync(stateDir, { recursive: true });
  }
}

async function main(): Promise<void> {
  const cases: [number, number][] = Deno.args.includes("--quick")
    ? [[1000, 0], [1000, 100]]
    : [[1000, 0], [1000, 100], [10_000, 0], [10_000, 100]];
  const rows: Row[] = [];
  for (const [pings, latency] of cases) {
    for (const runtime of ["bun", "deno"] as const) rows.push(await drain(runtime, pings, latency));
  }
  console.log(
    "| runtime | pings | tracker latency | drained in | pings/s | connections | requests per ping | sender CPU per ping |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const row of rows) {
    console.log(
      `| ${row.runtime} | ${row.pings} | ${row.latencyMs} ms | ${row.seconds.toFixed(1)} s | ${
        (row.pings / row.seconds).toFixed(0)
      } | ${row.connections} | ${row.requestsPerPing.toFixed(2)} | ${row.cpuMsPerPing.toFixed(2)} ms |`,
    );
  }
  console.log("\nAgainst the targets:");
  for (const row of rows) {
    if (row.pings === 1000 && row.latencyMs === 100) {
      console.log(
        `- ${row.runtime}, 1,000 at 100 ms: ${
          row.seconds.toFixed(1)
        } s (target <= 25 s), ${row.connections} connections (target <= 100)`,
      );
    }
    if (row.pings === 10_000 && row.latencyMs === 0) {
      console.log(`- ${row.runtime}, 10,000 at 0 ms: ${row.seconds.toFixed(1)} s (target < 60 s)`);
    }
  }
}

if (import.meta.main) await main();
