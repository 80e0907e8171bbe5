// Reliability: the spool, the detached sender, retries and many hooks at once,
// with real hook processes and a real receiver on 127.0.0.1. Every wait is
// bounded; removing a test's state directory makes its senders exit.
import assert from "node:assert/strict";
import { buildPayload, type DeliveryStatus, fastPathCommand, STATE_LAYOUT } from "../mod.ts";
import {
  hookCommand,
  listState,
  type ProcessRun,
  type Receiver,
  removeTree,
  type Responder,
  runHook,
  runProcess,
  type RuntimeName,
  RUNTIMES,
  startReceiver,
  tempStateDir,
  testEnv,
  waitUntil,
} from "./_helpers.ts";

/** A tool event with its own tool_use_id: its ping_id does not depend on time. */
function toolEvent(index: number, session = "0b5e7a52-0000-4000-8000-000000000000"): string {
  return JSON.stringify({
    session_id: session,
    transcript_path: `/home/dev/.claude/projects/-home-dev-api/${session}.jsonl`,
    cwd: "/home/dev/api",
    hook_event_name: "PostToolUse",
    tool_name: "Bash",
    tool_use_id: `toolu_${String(index).padStart(3, "0")}`,
    tool_input: { command: "echo SECRET_INPUT" },
    tool_response: { stdout: "SECRET_OUTPUT" },
    duration_ms: index,
  });
}

/** A spool entry as a hook writes it, for a tool call with its own id. */
async function spoolEntry(toolUseId: string, createdAt = Date.now()): Promise<{ name: string; text: string }> {
  const payload = await buildPayload(
    {
      hook_event_name: "PostToolUse",
      session_id: "s1",
      tool_use_id: toolUseId,
      tool_name: "Bash",
      cwd: "/home/dev/api",
    },
    { fallbackCwd: "/", runtime: "test/0" },
  );
  const entry = { v: 2, payload, created_at: createdAt, attempts: 0, next_at: 0 };
  return { name: `${payload.ping_id}.json`, text: JSON.stringify(entry) };
}

function toolUseIds(receiver: Receiver): string[] {
  return receiver.requests.map((request) => JSON.parse(request.body).tool_use_id);
}

function readStatus(stateDir: string): DeliveryStatus {
  return JSON.parse(Deno.readTextFileSync(`${stateDir}/${STATE_LAYOUT.status}`));
}

function lockExists(stateDir: string): boolean {
  return listState(stateDir).includes(STATE_LAYOUT.lock);
}

/** A port nothing listens on (a receiver that is down), which a receiver can later take. */
async function downPort(): Promise<number> {
  const receiver = await startReceiver();
  await receiver.close();
  return receiver.port;
}

/** The pids of the senders working in a state directory (found by their environment). */
function senderPids(stateDir: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const environ = Deno.readTextFileSync(`/proc/${entry.name}/environ`);
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (environ.includes(`TELEMHQ_STATE_DIR=${stateDir}\0`) && cmdline.includes("deliver")) {
        pids.push(Number(entry.name));
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

function runFlush(runtime: RuntimeName, env: Record<string, string>): Promise<ProcessRun> {
  return runProcess([...hookCommand(runtime, env.TELEMHQ_STATE_DIR), "flush"], { env });
}

interface TestParts {
  /** A fresh state directory, removed after the test (which makes its senders exit). */
  state(): string;
  /** A receiver on 127.0.0.1, closed after the test. */
  receiver(respond?: Responder, port?: number): Promise<Receiver>;
}

/** A delivery test whose state directories and receivers are cleaned up however it ends. */
function deliveryTest(name: string, body: (t: TestParts) => Promise<void>): void {
  Deno.test(name, async () => {
    const states: string[] = [];
    const receivers: Receiver[] = [];
    try {
      await body({
        state: () => {
          const dir = tempStateDir();
          states.push(dir);
          return dir;
        },
        receiver: async (respond, port) => {
          const receiver = await startReceiver(respond, port);
          receivers.push(receiver);
          return receiver;
        },
      });
    } finally {
      for (const dir of states) await removeTree(dir);
      for (const dir of states) {
        await waitUntil(() => senderPids(dir).length === 0, "the test's senders to exit", 10_000);
      }
      for (const receiver of receivers) await receiver.close();
    }
  });
}

for (const runtime of RUNTIMES) {
  deliveryTest(
    `${runtime}: pings spooled while the receiver is down all arrive once it is back (the next hook restarts delivery)`,
    async (t) => {
      const port = await downPort();
      const stateDir = t.state();
      const env = testEnv(stateDir, {
        TELEMHQ_PING_URL: `http://127.0.0.1:${port}/ping/t`,
        TELEMHQ_RETRY_MAX_MS: "1000",
      });
      for (let index = 0; index < 5; index++) assert.equal((await runHook(runtime, toolEvent(index), env)).code, 0);
      await waitUntil(() => listState(stateDir).includes(STATE_LAYOUT.status), "a first failed attempt");
      await waitUntil(() => !lockExists(stateDir), "the sender to give up for now", 20_000);
      assert.equal(listState(stateDir, "spool").length, 5, "all five pings are kept");
      assert.equal(readStatus(stateDir).last_error?.outcome, "retry");
      const receiver = await t.receiver(undefined, port);
      assert.equal((await runHook(runtime, toolEvent(5), env)).code, 0);
      await receiver.waitFor(6);
      assert.deepEqual(toolUseIds(receiver).sort(), [0, 1, 2, 3, 4, 5].map((i) => `toolu_00${i}`));
      await waitUntil(
        () => listState(stateDir, "spool").length === 0 && !lockExists(stateDir),
        "an empty spool, no lock",
      );
    },
  );

  deliveryTest(`${runtime}: 5xx is retried with backoff until it succeeds, with the same ping_id`, async (t) => {
    const receiver = await t.receiver((_request, index) => ({ status: index < 2 ? 503 : 200 }));
    const stateDir = t.state();
    assert.equal((await runHook(runtime, toolEvent(1), testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url }))).code, 0);
    await receiver.waitFor(3);
    const ids = receiver.requests.map((request) => JSON.parse(request.body).ping_id);
    assert.equal(new Set(ids).size, 1, "every retry carries the same ping_id");
    await waitUntil(() => listState(stateDir, "spool").length === 0, "an empty spool");
    await waitUntil(() => readStatus(stateDir).delivered === 1, "status.json to count the delivery");
    assert.equal(readStatus(stateDir).last_error?.status, 503);
  });

  deliveryTest(`${runtime}: 429 is retried no sooner than its Retry-After`, async (t) => {
    const receiver = await t.receiver((_request, index) =>
      index === 0 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 }
    );
    const stateDir = t.state();
    const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url, TELEMHQ_SENDER_IDLE_MS: "3000" });
    assert.equal((await runHook(runtime, toolEvent(1), env)).code, 0);
    await receiver.waitFor(2);
    const gap = receiver.arrivals[1] - receiver.arrivals[0];
    assert.ok(gap >= 950, `retried after ${gap} ms, before the 1 s Retry-After (backoff alone is 25-50 ms here)`);
  });

  deliveryTest(`${runtime}: 400, 401 and 404 are not retried; the pings are kept in failed/ for doctor`, async (t) => {
    const statuses = [400, 401, 404];
    const receiver = await t.receiver((request) => ({ status: statuses[JSON.parse(request.body).duration_ms] }));
    const stateDir = t.state();
    const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url });
    for (let index = 0; index < statuses.length; index++) await runHook(runtime, toolEvent(index), env);
    await waitUntil(() => listState(stateDir, "failed").length === 3, "three pings in failed/");
    await waitUntil(() => !lockExists(stateDir), "the sender to leave");
    assert.equal(receiver.requests.length, 3, "one request each: a revoked tracker is not hammered");
    assert.equal(readStatus(stateDir).rejected, 3);
    assert.ok(statuses.includes(readStatus(stateDir).last_error?.status ?? 0));
  });

  deliveryTest(
    `${runtime}: 50 hooks at once against a flapping receiver: all 50 pings arrive, one sender, nothing left behind`,
    async (t) => {
      const receiver = await t.receiver((_request, index) => ({ status: index % 2 === 0 ? 503 : 200 }));
      const stateDir = t.state();
      // Idle longer than the longest backoff: this sender keeps retrying until all are accepted.
      const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url, TELEMHQ_SENDER_IDLE_MS: "1500" });
      const accepted = () => new Set(toolUseIds(receiver).filter((_, index) => index % 2 === 1));
      let mostSenders = 0;
      const watcher = setInterval(() => mostSenders = Math.max(mostSenders, senderPids(stateDir).length), 50);
      const runs = await Promise.all(Array.from({ length: 50 }, (_, index) => runHook(runtime, toolEvent(index), env)));
      assert.ok(runs.every((run) => run.code === 0 && run.stdout === "" && run.stderr === ""));
      await waitUntil(() => accepted().size === 50, "all 50 pings accepted", 30_000);
      await waitUntil(() => !lockExists(stateDir), "the sender to leave", 15_000);
      clearInterval(watcher);
      assert.ok(mostSenders <= 2, `${mostSenders} senders ran at once`);
      const left = listState(stateDir, "spool");
      assert.deepEqual(
        left,
        [],
        `left in the spool: ${
          left.map((name) => Deno.readTextFileSync(`${stateDir}/spool/${name}`)).join(", ")
        }; received ${receiver.requests.length} requests`,
      );
      assert.deepEqual(listState(stateDir).filter((name) => name.includes(".lock")), [], "no lock left behind");
      const status = readStatus(stateDir);
      assert.equal(status.delivered, 50);
      assert.deepEqual(status.dropped, { too_many: 0, too_old: 0, unreadable: 0 });
    },
  );

  deliveryTest(`${runtime}: kill -9 of hooks and senders at random moments loses no spooled ping`, async (t) => {
    // Slow answers keep a sender busy, so there is one to kill.
    const receiver = await t.receiver(() => ({ status: 200, delayMs: 150 }));
    const stateDir = t.state();
    // A short request limit: a killed sender's claim on a ping is put back 2 s after that.
    const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url, TELEMHQ_TIMEOUT_MS: "1000" });
    const [command, ...args] = hookCommand(runtime, stateDir);
    const finished: number[] = [];
    let sendersKilled = 0;
    const killer = setInterval(() => {
      const [pid] = senderPids(stateDir);
      if (pid !== undefined && sendersKilled < 3) {
        try {
          Deno.kill(pid, "SIGKILL");
          sendersKilled++;
        } catch {
          // It finished first.
        }
      }
    }, 120);
    for (let index = 0; index < 24; index++) {
      const child = new Deno.Command(command, {
        args,
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/tmp", ...env },
        stdin: "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(toolEvent(index))).catch(() => {});
      await writer.close().catch(() => {});
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // It finished first.
        }
      }, Math.random() * 60);
      const status = await child.status;
      clearTimeout(timer);
      if (status.success) finished.push(index);
    }
    clearInterval(killer);
    // A hook killed between claiming the lock and starting its sender, or a killed sender,
    // leaves a lock that turns stale after 5 s; until then pings wait. Then six pings that
    // surely spool keep a new sender busy for about a second: kill it mid-delivery.
    await waitUntil(
      () => {
        try {
          return Date.now() - Deno.statSync(`${stateDir}/${STATE_LAYOUT.lock}`).mtime!.getTime() > 5500;
        } catch {
          return true;
        }
      },
      "the lock of a killed process to turn stale",
      10_000,
    );
    for (let index = 24; index < 30; index++) {
      assert.equal((await runHook(runtime, toolEvent(index), env)).code, 0);
      finished.push(index);
    }
    await waitUntil(() => senderPids(stateDir).length > 0, "a sender to kill", 5000);
    for (const pid of senderPids(stateDir)) {
      Deno.kill(pid, "SIGKILL");
      sendersKilled++;
    }
    const flush = await runFlush(runtime, env);
    assert.equal(flush.code, 0, flush.stdout + flush.stderr);
    const received = toolUseIds(receiver);
    for (const index of finished) {
      assert.ok(received.includes(`toolu_${String(index).padStart(3, "0")}`), `ping ${index} lost`);
    }
    const leftovers = listState(stateDir, "spool").filter((name) => {
      try {
        JSON.parse(Deno.readTextFileSync(`${stateDir}/spool/${name}`));
        return true;
      } catch {
        return false; // half-written by a hook killed mid-write: never a durable ping
      }
    });
    assert.deepEqual(leftovers, [], "no readable ping left in the spool");
    const duplicates = received.length - new Set(received).size;
    assert.ok(duplicates <= sendersKilled, `${duplicates} duplicates for ${sendersKilled} killed senders`);
    assert.ok(
      finished.length < 30 && sendersKilled > 0,
      `the test killed ${30 - finished.length} hooks and ${sendersKilled} senders`,
    );
  });

  deliveryTest(
    `${runtime}: an unwritable state directory still sends the ping, directly, and says why under debug`,
    async (t) => {
      const receiver = await t.receiver();
      const parent = t.state();
      Deno.writeTextFileSync(`${parent}/not-a-directory`, "");
      const env = testEnv(`${parent}/not-a-directory/state`, {
        TELEMHQ_PING_URL: receiver.url,
        TELEMHQ_HOOK_DEBUG: "1",
      });
      const run = await runHook(runtime, toolEvent(7), env);
      assert.equal(run.code, 0);
      assert.equal(run.stdout, "");
      assert.match(
        run.stderr,
        /^TelemHQ hook: cannot create the state directory ".*" \((ENOTDIR|NotADirectory|ENOENT|NotFound)\): sent directly\n$/,
      );
      assert.deepEqual(toolUseIds(receiver), ["toolu_007"]);
    },
  );

  deliveryTest(`${runtime}: a missing state directory is created private: 0700 folders, 0600 files`, async (t) => {
    const port = await downPort();
    const parent = t.state();
    const stateDir = `${parent}/a/b/telemhq`;
    const run = await runHook(
      runtime,
      toolEvent(1),
      testEnv(stateDir, { TELEMHQ_PING_URL: `http://127.0.0.1:${port}/p/t` }),
    );
    assert.equal(run.code, 0);
    const [entry] = listState(stateDir, "spool");
    assert.ok(entry, "the ping was spooled");
    assert.equal(Deno.statSync(`${stateDir}/spool`).mode! & 0o777, 0o700);
    assert.equal(Deno.statSync(`${stateDir}/spool/${entry}`).mode! & 0o777, 0o600);
  });

  deliveryTest(`${runtime}: a sender does not leave while a hook is still writing a ping into the spool`, async (t) => {
    const receiver = await t.receiver();
    const stateDir = t.state();
    Deno.mkdirSync(`${stateDir}/spool`, { mode: 0o700 });
    const entry = await spoolEntry("toolu_arriving");
    // Half of it, as a hook writing in place leaves it for a moment.
    Deno.writeTextFileSync(`${stateDir}/spool/${entry.name}`, entry.text.slice(0, 40));
    const [command, ...args] = hookCommand(runtime, stateDir);
    const sender = new Deno.Command(command, {
      args: [...args, "deliver"],
      clearEnv: true,
      env: {
        PATH: "/usr/bin:/bin",
        HOME: Deno.env.get("HOME") ?? "/tmp",
        ...testEnv(stateDir, { TELEMHQ_SENDER_IDLE_MS: "0", TELEMHQ_PING_URL: receiver.url }),
      },
      stdout: "null",
      stderr: "null",
    }).spawn();
    await new Promise((resolve) => setTimeout(resolve, 700));
    Deno.writeTextFileSync(`${stateDir}/spool/${entry.name}`, entry.text);
    await receiver.waitFor(1, 10_000);
    assert.deepEqual(toolUseIds(receiver), ["toolu_arriving"]);
    assert.equal((await sender.status).code, 0);
  });

  deliveryTest(
    `${runtime}: a full spool drops the oldest pings, counts them, and the hook says so under debug`,
    async (t) => {
      const receiver = await t.receiver();
      const stateDir = t.state();
      Deno.mkdirSync(`${stateDir}/spool`, { mode: 0o700 });
      for (let index = 0; index < 5; index++) {
        const entry = await spoolEntry(`toolu_old_${index}`, Date.now() - 60_000 + index);
        Deno.writeTextFileSync(`${stateDir}/spool/${entry.name}`, entry.text, { mode: 0o600 });
      }
      const env = testEnv(stateDir, {
        TELEMHQ_PING_URL: receiver.url,
        TELEMHQ_SPOOL_MAX_PINGS: "3",
        TELEMHQ_HOOK_DEBUG: "1",
      });
      const run = await runHook(runtime, toolEvent(9), env);
      assert.equal(run.code, 0);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, /the spool holds 6 pings, over its limit of 3: the oldest will be dropped/);
      await waitUntil(() => listState(stateDir, "spool").length === 0 && !lockExists(stateDir), "an empty spool");
      assert.deepEqual(toolUseIds(receiver).sort(), ["toolu_009", "toolu_old_3", "toolu_old_4"]);
      assert.equal(readStatus(stateDir).dropped.too_many, 3);
    },
  );

  deliveryTest(`${runtime}: flush delivers what waits in the spool now and reports it`, async (t) => {
    const port = await downPort();
    const stateDir = t.state();
    const env = testEnv(stateDir, {
      TELEMHQ_PING_URL: `http://127.0.0.1:${port}/ping/t`,
      TELEMHQ_RETRY_MAX_MS: "1000",
    });
    for (let index = 0; index < 3; index++) await runHook(runtime, toolEvent(index), env);
    await waitUntil(
      () => listState(stateDir).includes(STATE_LAYOUT.status) && !lockExists(stateDir),
      "the sender to give up",
    );
    const down = await runFlush(runtime, env);
    assert.equal(down.code, 1, "pings still waiting");
    assert.match(
      down.stdout,
      /3 still waiting to be retried; last error: cannot reach http:\/\/127\.0\.0\.1:\d+\/<redacted>/,
    );
    const receiver = await t.receiver(undefined, port);
    const up = await runFlush(runtime, env);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(up.stdout, /^Delivered 3 pings now\.\n/);
    assert.match(up.stdout, /In all: 3 delivered, 0 refused, 0 dropped/);
    assert.equal(receiver.requests.length, 3);
  });

  deliveryTest(
    `${runtime}: the shell fast path returns at once, and the detached hook spools and delivers the ping`,
    async (t) => {
      const receiver = await t.receiver();
      const stateDir = t.state();
      const child = new Deno.Command("/bin/sh", {
        args: ["-c", fastPathCommand(hookCommand(runtime, stateDir))],
        clearEnv: true,
        env: {
          PATH: "/usr/bin:/bin",
          HOME: Deno.env.get("HOME") ?? "/tmp",
          ...testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url }),
        },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // The shell exits before the event is even written: the detached hook reads the pipe.
      const exited = await child.status;
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(toolEvent(3)));
      await writer.close();
      const output = await child.output();
      assert.equal(exited.code, 0);
      assert.equal(output.stdout.length + output.stderr.length, 0, "the fast path prints nothing");
      await receiver.waitFor(1);
      const ping = JSON.parse(receiver.requests[0].body);
      assert.equal(ping.tool_use_id, "toolu_003");
      assert.ok(!receiver.requests[0].body.includes("SECRET_"), "the detached hook applies the same allowlist");
      assert.match(ping.runtime, new RegExp(`^${runtime}/`));
      await waitUntil(() => listState(stateDir, "spool").length === 0, "an empty spool");
    },
  );
}
