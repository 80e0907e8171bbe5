// The sender's lock, with real files: one holder, takeover of a dead one,
// adoption of a hook's claim.
import assert from "node:assert/strict";
import { STATE_LAYOUT } from "./state_dir.ts";
import { claimLockForSender, senderIsRunning, SenderLock } from "./lock.ts";
import { detectRuntime } from "./runtime_detect.ts";

async function withStateDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "telemhq-lock-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("SenderLock.take() gives the lock to one sender at a time", async () => {
  await withStateDir(async (dir) => {
    const runtime = detectRuntime();
    const first = await SenderLock.take(runtime, dir);
    assert.ok(first);
    assert.equal(await SenderLock.take(runtime, dir), undefined, "a live holder keeps it");
    assert.equal(await senderIsRunning(runtime, dir), true);
    await first.release();
    assert.equal(await senderIsRunning(runtime, dir), false);
    const second = await SenderLock.take(runtime, dir);
    assert.ok(second, "free again once released");
    await second.release();
  });
});

Deno.test("SenderLock.take() takes over a lock whose heartbeat stopped", async () => {
  await withStateDir(async (dir) => {
    const runtime = detectRuntime();
    const path = `${dir}/${STATE_LAYOUT.lock}`;
    await Deno.writeTextFile(path, "a-dead-sender");
    const past = new Date(Date.now() - 60_000);
    await Deno.utime(path, past, past);
    const lock = await SenderLock.take(runtime, dir);
    assert.ok(lock, "a stale lock is taken over");
    assert.notEqual(await Deno.readTextFile(path), "a-dead-sender");
    await lock.release();
  });
});

Deno.test("a hook's claim is adopted by the sender it starts, and by no one else", async () => {
  await withStateDir(async (dir) => {
    const runtime = detectRuntime();
    const token = await claimLockForSender(runtime, dir);
    assert.ok(token);
    assert.equal(await claimLockForSender(runtime, dir), undefined, "a second hook finds it claimed");
    assert.equal(await SenderLock.take(runtime, dir, "another-token"), undefined);
    const lock = await SenderLock.take(runtime, dir, token);
    assert.ok(lock, "the started sender adopts the claim");
    await lock.release();
  });
});
