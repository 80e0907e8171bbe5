// Reliability: the spool, the detached sender, retries and many hooks at once,
// with real hook processes and a real receiver on 127.0.0.1. Every wait is
// bounded; removing a test's state directory makes its senders exit.
import assert from "node:assert/strict";
import { buildPayload, type DeliveryStatus, launcherScript, STATE_LAYOUT } from "../mod.ts";
import {
  HOOK_PATH,
  hookCommand,
  launcherLine,
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
  // Below the ephemeral range (32768-60999 on Linux): a connection to a free port in that range can be given the same
  // port as its own source, connect to itself and hang until the request times out (a TCP self-connect), which made
  // a sender facing this "dead" tracker linger for 10 s now and then.
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    try {
      const receiver = await startReceiver(undefined, port);
      await receiver.close();
      return port;
    } catch {
      // Taken: try another.
    }
  }
  throw new Error("Cannot find a free port below the ephemeral range");
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

/**
 * The two ways the launcher detaches the hook: `setsid` (Linux), and Perl's
 * `POSIX::setsid` where there is no `setsid` (macOS), on a PATH that has
 * `perl`, `cat` and `readlink` but neither `setsid` nor `realpath` (macOS
 * before 13). `slowBin` makes the detaching program take half a second first.
 */
const DETACH_ROUTES = [
  {
    name: "setsid",
    path: (_bin: string) => "/usr/bin:/bin",
    slowBin(bin: string): string {
      Deno.writeTextFileSync(`${bin}/setsid`, '#!/bin/sh\nsleep 0.5\nexec /usr/bin/setsid "$@"\n', { mode: 0o755 });
      return `${bin}:/usr/bin:/bin`;
    },
  },
  {
    name: "perl, no setsid, as on macOS",
    path(bin: string): string {
      for (const tool of ["perl", "cat", "readlink", "sleep"]) Deno.symlinkSync(`/usr/bin/${tool}`, `${bin}/${tool}`);
      return bin;
    },
    slowBin(bin: string): string {
      for (const tool of ["cat", "readlink", "sleep"]) Deno.symlinkSync(`/usr/bin/${tool}`, `${bin}/${tool}`);
      Deno.writeTextFileSync(`${bin}/perl`, '#!/bin/sh\n/usr/bin/sleep 0.5\nexec /usr/bin/perl "$@"\n', {
        mode: 0o755,
      });
      return bin;
    },
  },
] as const;

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
    `${runtime}: a ping flush sees refused is reported once, not again as one set aside earlier`,
    async (t) => {
      let status = 503;
      const receiver = await t.receiver(() => ({ status }));
      const stateDir = t.state();
      const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url, TELEMHQ_RETRY_BASE_MS: "60000" });
      await runHook(runtime, toolEvent(0), env);
      await receiver.waitFor(1);
      // The token is revoked while the ping waits out its backoff.
      status = 401;
      const flush = await runFlush(runtime, env);
      assert.equal(flush.code, 1, flush.stdout + flush.stderr);
      assert.match(flush.stdout, /^1 refused by the tracker/m);
      assert.doesNotMatch(flush.stdout, /set aside earlier/);
      assert.equal(listState(stateDir, "failed").length, 1);
    },
  );

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
    // A sender killed mid-batch may have had its few requests in flight delivered but not yet settled.
    assert.ok(duplicates <= 8 * sendersKilled, `${duplicates} duplicates for ${sendersKilled} killed senders`);
    const pingIds = new Map<string, string>();
    for (const request of receiver.requests) {
      const ping = JSON.parse(request.body);
      assert.equal(pingIds.get(ping.tool_use_id) ?? ping.ping_id, ping.ping_id, "a duplicate carries the same ping_id");
      pingIds.set(ping.tool_use_id, ping.ping_id);
    }
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
    assert.match(up.stdout, /So far: 3 delivered, 0 refused, 0 dropped/);
    assert.equal(receiver.requests.length, 3);
  });

  for (const detach of DETACH_ROUTES) {
    deliveryTest(
      `${runtime}: the shell fast path (${detach.name}) returns at once, and the detached hook spools and delivers the ping`,
      async (t) => {
        const receiver = await t.receiver();
        const stateDir = t.state();
        const child = new Deno.Command("/bin/sh", {
          args: ["-c", launcherLine(runtime)],
          clearEnv: true,
          env: {
            PATH: detach.path(t.state()),
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

    deliveryTest(
      `${runtime}: Claude Code's teardown (SIGTERM to the hook's group and its descendants, SIGKILL 1.5 s later) inside the window before ${detach.name} detaches the hook loses no ping`,
      async (t) => {
        const receiver = await t.receiver();
        // A detaching program that takes half a second to start: the fork-to-setsid window, wide open.
        const bin = detach.slowBin(t.state());
        const deliveredBy = async (command: string) => {
          const stateDir = t.state();
          const shell = new Deno.Command("/bin/sh", {
            args: ["-c", command],
            clearEnv: true,
            env: {
              PATH: bin,
              HOME: Deno.env.get("HOME") ?? "/tmp",
              ...testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url }),
            },
            stdin: "piped",
            stdout: "null",
            stderr: "null",
            detached: true, // its own process group, as Claude Code starts hooks
          }).spawn();
          const writer = shell.stdin.getWriter();
          await writer.write(new TextEncoder().encode(toolEvent(100)));
          await writer.close();
          await new Promise((resolve) => setTimeout(resolve, 150));
          const recorded = descendants(shell.pid);
          signalAll(shell.pid, recorded, "SIGTERM");
          await new Promise((resolve) => setTimeout(resolve, 1500));
          signalAll(shell.pid, recorded, "SIGKILL");
          await shell.status;
          return await receiver.waitFor(1, 3000).then(() => true, () => false);
        };
        // The fast path as it was: it caught SIGTERM in the shell only, so the hook it started did not.
        const before = `${t.state()}/telemhq-before.sh`;
        Deno.writeTextFileSync(before, launcherScript().replaceAll("trap '' TERM HUP", "trap : TERM HUP"));
        const beforeLine = launcherLine(runtime, HOOK_PATH, before).replace("trap '' TERM HUP; ", "");
        assert.equal(await deliveredBy(beforeLine), false, "the old fast path loses it");
        assert.equal(await deliveredBy(launcherLine(runtime)), true, "the ping arrives");
        assert.equal(JSON.parse(receiver.requests[0].body).tool_use_id, "toolu_100");
      },
    );
  }
}

/** The spool's readable entries, as the sender left them. */
function spooledEntries(stateDir: string): { attempts: number }[] {
  return listState(stateDir, "spool").filter((name) => /^[0-9a-f]{32}\.json$/.test(name)).flatMap((name) => {
    try {
      return [JSON.parse(Deno.readTextFileSync(`${stateDir}/spool/${name}`))];
    } catch {
      return [];
    }
  });
}

/** Every process below `pid` now, as Claude Code lists them before it ends a hook. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      parents.set(Number(entry.name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // It ended while we looked.
    }
  }
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

/** Signals a hook's process group and the descendants listed before, as Claude Code does. */
function signalAll(group: number, pids: readonly number[], signal: Deno.Signal): void {
  for (const target of [-group, ...pids]) {
    try {
      Deno.kill(target, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Spools `count` tool pings straight into a state directory, as hooks would while the tracker is away. */
async function spoolPings(stateDir: string, count: number): Promise<void> {
  Deno.mkdirSync(`${stateDir}/spool`, { recursive: true, mode: 0o700 });
  for (let index = 0; index < count; index++) {
    const entry = await spoolEntry(`toolu_${String(index).padStart(5, "0")}`, Date.now() - 60_000 + index);
    Deno.writeTextFileSync(`${stateDir}/spool/${entry.name}`, entry.text, { mode: 0o600 });
  }
}

for (const runtime of RUNTIMES) {
  deliveryTest(
    `${runtime}: a backlog drains a few requests at a time over kept-alive connections, oldest first, each once`,
    async (t) => {
      const receiver = await t.receiver(() => ({ status: 200, delayMs: 40 }));
      const stateDir = t.state();
      await spoolPings(stateDir, 120);
      const flush = await runFlush(runtime, testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url }));
      assert.equal(flush.code, 0, flush.stdout + flush.stderr);
      assert.match(flush.stdout, /^Delivered 120 pings now\./);
      const ids = toolUseIds(receiver);
      assert.equal(new Set(ids).size, 120, "each ping once");
      // The default concurrency: 8 requests at a time.
      assert.ok(receiver.maxInFlight > 1 && receiver.maxInFlight <= 8, `in flight at once: ${receiver.maxInFlight}`);
      assert.ok(receiver.connections <= 16, `${receiver.connections} connections for 120 pings`);
      // Oldest first, within what is in flight at once.
      for (const [position, id] of ids.entries()) assert.ok(Math.abs(Number(id.slice(6)) - position) < 8, id);
    },
  );

  deliveryTest(`${runtime}: a 429 with Retry-After pauses the whole drain, then it resumes`, async (t) => {
    let first429At = 0;
    const receiver = await t.receiver((_request, index) => {
      if (index !== 10) return { status: 200 };
      first429At = Date.now();
      return { status: 429, headers: { "retry-after": "2" } };
    });
    const stateDir = t.state();
    await spoolPings(stateDir, 40);
    const flush = await runFlush(runtime, testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url }));
    assert.equal(flush.code, 1, "the ping that got 429 waits for its retry");
    const after = receiver.arrivals.filter((at) => at > first429At + 100);
    assert.ok(after.length > 0, "the drain resumed within the flush");
    assert.ok(
      after[0] - first429At >= 1900,
      `a request ${after[0] - first429At} ms after the 429: before its wait was over`,
    );
    await runProcess([...hookCommand(runtime, stateDir), "deliver"], {
      env: testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url, TELEMHQ_SENDER_IDLE_MS: "0" }),
    });
    assert.equal(new Set(toolUseIds(receiver)).size, 40, "the drain resumed and every ping arrived");
  });

  deliveryTest(`${runtime}: a storm of 503s does not make each ping hammer the tracker`, async (t) => {
    const stormUntil = Date.now() + 1500;
    const receiver = await t.receiver(() => ({ status: Date.now() < stormUntil ? 503 : 200 }));
    const stateDir = t.state();
    await spoolPings(stateDir, 60);
    // A sender that stays while the waits are short (as the default 30 s does), and leaves 1 s after the last ping.
    const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url, TELEMHQ_SENDER_IDLE_MS: "1000" });
    await runProcess([...hookCommand(runtime, stateDir), "deliver"], { env });
    assert.equal(new Set(toolUseIds(receiver)).size, 60, "every ping arrived");
    // The 8 in flight when the storm hit, then one probe per backoff (doubling from the tests' 50 ms, so
    // about 6 in 1.5 s): not a retry per ping (60 and more).
    const failed = receiver.requests.length - 60;
    assert.ok(failed <= 16, `${failed} requests answered 503 for 60 pings`);
    const probes = receiver.arrivals.slice(8, failed);
    for (const [index, at] of probes.entries()) {
      if (index > 0) assert.ok(at - probes[index - 1] >= 20, "one probe at a time, each after a backoff");
    }
  });

  deliveryTest(`${runtime}: once the tracker is back, pings waiting out their backoff go at once`, async (t) => {
    const port = await downPort();
    const stateDir = t.state();
    const env = testEnv(stateDir, {
      TELEMHQ_PING_URL: `http://127.0.0.1:${port}/ping/t`,
      TELEMHQ_RETRY_BASE_MS: "3000",
      TELEMHQ_RETRY_MAX_MS: "60000",
      TELEMHQ_SENDER_IDLE_MS: "60000",
    });
    for (let index = 0; index < 4; index++) assert.equal((await runHook(runtime, toolEvent(index), env)).code, 0);
    // The tracker was tried and found down: the pings now wait out a backoff of 3 s and more.
    await waitUntil(
      () => spooledEntries(stateDir).some((entry) => entry.attempts >= 1),
      "a first failed attempt",
    );
    const receiver = await t.receiver(undefined, port);
    await receiver.waitFor(1, 20_000);
    const first = receiver.arrivals[0];
    await receiver.waitFor(4, 20_000);
    assert.ok(receiver.arrivals[3] - first < 1000, `the rest followed the first by ${receiver.arrivals[3] - first} ms`);
  });

  deliveryTest(`${runtime}: flush joins a running sender and reports when it has tried every ping`, async (t) => {
    const receiver = await t.receiver(() => ({ status: 200, delayMs: 30 }));
    const stateDir = t.state();
    await spoolPings(stateDir, 80);
    const env = testEnv(stateDir, {
      TELEMHQ_PING_URL: receiver.url,
      TELEMHQ_SENDER_IDLE_MS: "5000",
      TELEMHQ_SENDER_CONCURRENCY: "1",
    });
    const sender = new Deno.Command(hookCommand(runtime, stateDir)[0], {
      args: [...hookCommand(runtime, stateDir).slice(1), "deliver"],
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/tmp", ...env },
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitUntil(() => receiver.requests.length > 5, "the sender to be under way");
    const flush = await runFlush(runtime, env);
    assert.equal(flush.code, 0, flush.stdout + flush.stderr);
    assert.match(flush.stdout, /^Delivered \d+ pings? now\./);
    assert.equal(listState(stateDir, "spool").filter((name) => name.endsWith(".json")).length, 0);
    sender.kill("SIGTERM");
    assert.equal((await sender.status).code, 143, "a sender stops on SIGTERM");
  });
}

deliveryTest(
  "a tracker that refuses everything for a moment (a bad deploy) costs a few pings, and none is lost",
  async (t) => {
    const refuseUntil = Date.now() + 1000;
    const receiver = await t.receiver(() => ({ status: Date.now() < refuseUntil ? 404 : 200 }));
    const stateDir = t.state();
    await spoolPings(stateDir, 300);
    const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url, TELEMHQ_SENDER_IDLE_MS: "1500" });
    await runProcess([...hookCommand("bun", stateDir), "deliver"], { env, timeoutMs: 60_000 });
    const refused = listState(stateDir, "failed").filter((name) => name.endsWith(".json")).length;
    const status = readStatus(stateDir);
    // The 8 in flight when the refusals began, then one probe per backoff: not the backlog refused in a second.
    assert.ok(refused <= 20, `${refused} pings refused in 1 s`);
    assert.equal(status.delivered + refused, 300, "every ping delivered, or kept in failed/ for --retry-failed");
    assert.equal(new Set(toolUseIds(receiver)).size, 300);
  },
);

deliveryTest("flush during an outage reports what waits instead of sitting through the backoff", async (t) => {
  const receiver = await t.receiver(() => ({ status: 503 }));
  const stateDir = t.state();
  await spoolPings(stateDir, 50);
  const env = testEnv(stateDir, {
    TELEMHQ_PING_URL: receiver.url,
    TELEMHQ_RETRY_BASE_MS: "20000",
    TELEMHQ_RETRY_MAX_MS: "60000",
  });
  const flush = await runFlush("bun", env);
  assert.equal(flush.code, 1, flush.stdout + flush.stderr);
  assert.match(flush.stdout, /50 still waiting to be retried; last error: .*503/);
  assert.ok(receiver.requests.length <= 16, `${receiver.requests.length} requests: about one wave, then the pause`);
});

deliveryTest("a sender whose ping URL became unusable leaves when idle, rewriting nothing meanwhile", async (t) => {
  const stateDir = t.state();
  await spoolPings(stateDir, 20);
  // Plain http to another host is refused: nothing can be sent until the configuration changes.
  const env = testEnv(stateDir, { TELEMHQ_PING_URL: "http://telemhq.example/ping/T", TELEMHQ_SENDER_IDLE_MS: "500" });
  const run = await runProcess([...hookCommand("deno", stateDir), "deliver"], { env, timeoutMs: 30_000 });
  assert.equal(run.code, 0, run.stderr);
  assert.match(readStatus(stateDir).last_error?.reason ?? "", /plain http/);
  assert.equal(listState(stateDir, "spool").filter((name) => name.endsWith(".json")).length, 20, "all kept");
});

deliveryTest(
  "Ctrl-C of flush lets go of the sender's lock, and a sender in the background delivers the rest",
  async (t) => {
    const receiver = await t.receiver(() => ({ status: 200, delayMs: 300 }));
    const stateDir = t.state();
    await spoolPings(stateDir, 40);
    const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url });
    const [command, ...args] = [...hookCommand("bun", stateDir), "flush"];
    const flush = new Deno.Command(command, { args, env, clearEnv: false, stdout: "piped", stderr: "piped" }).spawn();
    await receiver.waitFor(1, 10_000);
    flush.kill("SIGINT");
    const { code, stdout } = await flush.output();
    assert.equal(code, 130);
    assert.match(new TextDecoder().decode(stdout), /Interrupted: a sender goes on delivering in the background\./);
    await receiver.waitFor(40, 20_000);
    assert.equal(new Set(toolUseIds(receiver)).size, 40, "every ping, once");
  },
);
