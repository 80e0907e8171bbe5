// Retry rules of one ping request.
import assert from "node:assert/strict";
import { backoffMs, retryAfterMs } from "./send.ts";

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
