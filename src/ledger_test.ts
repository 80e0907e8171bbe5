// Session ledgers: what a SessionEnd reports, and why a ping handled twice counts once.
import assert from "node:assert/strict";
import { readConfig } from "./config.ts";
import { enrichEntry, forgetSession } from "./ledger.ts";
import { buildPayload } from "./payload.ts";
import { detectRuntime } from "./runtime_detect.ts";
import type { SpoolEntry } from "./spool.ts";

async function entry(event: Record<string, unknown>): Promise<SpoolEntry> {
  const payload = await buildPayload(event, { fallbackCwd: "/", runtime: "test/0" });
  return { v: 2, payload, created_at: 0, attempts: 0, next_at: 0, local: {} };
}

Deno.test("enrichEntry() counts a ping once however often it is handled, and a SessionEnd's totals survive a retry", async () => {
  const stateDir = await Deno.makeTempDir();
  try {
    const runtime = detectRuntime();
    const config = readConfig((name) => ({ TELEMHQ_STATE_DIR: stateDir })[name]);
    const failure = await entry({
      hook_event_name: "StopFailure",
      session_id: "s",
      prompt_id: "p1",
      error: "rate_limit",
    });
    // Handled twice: its enriched copy could not be saved the first time (a full disk), so the sender goes again.
    await enrichEntry(runtime, config, failure);
    await enrichEntry(runtime, config, failure);
    const end = await entry({ hook_event_name: "SessionEnd", session_id: "s", prompt_id: "p1", reason: "other" });
    const first = await enrichEntry(runtime, config, end);
    assert.equal(first.payload.session_turns, 1, "the failed turn counts, once");
    const again = await enrichEntry(runtime, config, end);
    assert.equal(again.payload.session_turns, 1, "the totals are still there for a second try");
    await forgetSession(runtime, config, again);
    const after = await enrichEntry(runtime, config, end);
    assert.equal(after.payload.session_turns, undefined, "once saved, the session's ledger is gone");
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});
