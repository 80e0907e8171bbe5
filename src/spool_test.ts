// The spool, with real files: every ping kept until settled, claimed by one
// sender only, bounded in size and age.
import assert from "node:assert/strict";
import { buildPayload } from "./payload.ts";
import { nodeFs } from "./runtime.ts";
import { detectRuntime } from "./runtime_detect.ts";
import { type DroppedCounts, Spool, spoolPing } from "./spool.ts";

const LIMITS = { timeoutMs: 1000, spoolMaxPings: 3, spoolMaxAgeMs: 60_000 };

async function withSpool(body: (dir: string, spool: Spool, dropped: DroppedCounts) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "telemhq-spool-" });
  try {
    await body(dir, new Spool(await nodeFs(), dir, LIMITS), { too_many: 0, too_old: 0, unreadable: 0 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function ping(id: string) {
  return await buildPayload({ hook_event_name: "PostToolUse", session_id: "s", tool_use_id: id }, {
    fallbackCwd: "/",
    runtime: "test/0",
  });
}

Deno.test("spoolPing() writes one private file per ping id: a ping fired twice is spooled once", async () => {
  await withSpool(async (dir, spool, dropped) => {
    const payload = await ping("toolu_1");
    const path = await spoolPing(detectRuntime(), dir, payload);
    assert.equal(await spoolPing(detectRuntime(), dir, payload), undefined, "the second is not written");
    assert.equal((await Deno.stat(path!)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${dir}/spool`)).mode! & 0o777, 0o700);
    assert.equal((await spool.load(dropped)).length, 1);
  });
});

Deno.test("Spool.claim() lets one sender claim an entry; the other finds it gone", async () => {
  await withSpool(async (dir, spool, dropped) => {
    await spoolPing(detectRuntime(), dir, await ping("toolu_1"));
    const [item] = await spool.load(dropped);
    const [a, b] = await Promise.all([spool.claim(item), spool.claim(item)]);
    assert.ok((a === undefined) !== (b === undefined), "exactly one claim succeeds");
    assert.equal((await spool.load(dropped)).length, 0, "a claimed entry is not loaded again");
  });
});

Deno.test("Spool.load() keeps the newest pings within the limit and drops files that stay unreadable", async () => {
  await withSpool(async (dir, spool, dropped) => {
    for (const id of ["toolu_1", "toolu_2", "toolu_3", "toolu_4"]) {
      await spoolPing(detectRuntime(), dir, await ping(id));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const half = `${dir}/spool/${"a".repeat(32)}.json`;
    await Deno.writeTextFile(half, '{"v":1,');
    await Deno.writeTextFile(`${dir}/spool/notes.json`, "not a ping's name: never read, never removed");
    const loaded = await spool.load(dropped);
    assert.deepEqual(loaded.map((item) => item.entry.payload.tool_use_id), ["toolu_2", "toolu_3", "toolu_4"]);
    assert.equal(dropped.too_many, 1);
    assert.equal(loaded.arriving, 1, "a young unreadable file is a ping still being written");
    const old = new Date(Date.now() - 120_000);
    await Deno.utime(half, old, old);
    await spool.load(dropped);
    assert.equal(dropped.unreadable, 1);
    assert.ok(Deno.readTextFileSync(`${dir}/spool/notes.json`).startsWith("not a ping"));
  });
});

Deno.test("Spool: another sender never takes back a claim in progress, however old the entry", async () => {
  await withSpool(async (dir, spool, dropped) => {
    await spoolPing(detectRuntime(), dir, await ping("toolu_old"));
    const [name] = [...Deno.readDirSync(`${dir}/spool`)].map((entry) => entry.name);
    const old = new Date(Date.now() - 120_000);
    Deno.utimeSync(`${dir}/spool/${name}`, old, old);
    const [item] = await spool.load(dropped);
    assert.ok(await spool.claim(item), "claimed");
    const other = new Spool(await nodeFs(), dir, LIMITS);
    assert.equal((await other.load(dropped)).length, 0, "the claim is not put back while its sender works");
  });
});
