/**
 * One ping request: POST the allowlisted payload as JSON, within a time
 * limit, without following redirects, and say whether to retry and when.
 *
 * Owns: `sendPing`, `retryAfterMs`, `backoffMs`. Uses: fields, payload,
 * ping_url.
 *
 * @module
 */

import { checkPayload, type Payload } from "./fields.ts";
import { HOOK_VERSION } from "./payload.ts";
import { redactMessage, redactUrl } from "./ping_url.ts";

/** What to do with a ping after one attempt to send it. */
export type SendOutcome = "delivered" | "retry" | "rejected";

/**
 * Outcome of one ping request: `delivered` (2xx); `retry` (5xx, 408, 425,
 * 429, a timeout, a network error), with how long the receiver asked to wait
 * (`Retry-After`, capped at one hour); `rejected` (other 4xx, redirects). A
 * ping not delivered always has a reason: one line, the URL's secret redacted.
 */
export type SendResult =
  | { outcome: "delivered"; status: number }
  | { outcome: "retry"; status?: number; retryAfterMs?: number; reason: string }
  | { outcome: "rejected"; status?: number; reason: string };

/** Statuses worth retrying besides 5xx: the receiver is busy or slow, not refusing. */
const RETRY_STATUSES: ReadonlySet<number> = new Set([408, 425, 429]);
const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/**
 * Reads a `Retry-After` header: delay-seconds or an HTTP date.
 *
 * @param value The header value, or null.
 * @param now The current time in milliseconds.
 * @returns The delay in milliseconds (0 to one hour), or undefined when absent or malformed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(retryAfterMs("120", Date.now()), 120_000);
 * ```
 */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const text = value.trim();
  const delay = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  return Number.isNaN(delay) ? undefined : Math.min(Math.max(delay, 0), MAX_RETRY_AFTER_MS);
}

/**
 * POSTs a payload as JSON to the ping URL, within a time limit, and says
 * whether to retry. Only allowlisted fields whose values follow their rules
 * are sent (see {@linkcode checkPayload}). Never throws;
 * redirects are not followed (they would carry the token elsewhere) and count
 * as rejected.
 *
 * @param url The ping URL (see {@linkcode parsePingUrl}).
 * @param payload The ping.
 * @param timeoutMs Time limit of the whole request, in milliseconds.
 * @returns The outcome, the status, the receiver's `Retry-After`, and a redacted reason.
 *
 * @example
 * ```ts ignore
 * const result = await sendPing(new URL("http://127.0.0.1:8787/ping/t"), payload, 5000);
 * if (result.outcome === "retry") console.error(result.reason);
 * ```
 */
export async function sendPing(url: URL, payload: Payload, timeoutMs: number): Promise<SendResult> {
  // Every field is checked once more as it leaves: usage read from a transcript or a ledger included.
  const checked = checkPayload(payload);
  if (checked === undefined) return { outcome: "rejected", reason: "not a valid ping: nothing sent" };
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": `telemhq-claude-code/${HOOK_VERSION}` },
      body: JSON.stringify(checked),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
    });
    // Read to its end (it is small), so that the connection goes back to the pool for the next ping.
    await drain(response.body);
    const status = response.status;
    if (response.ok) return { outcome: "delivered", status };
    if (response.type === "opaqueredirect" || (status >= 300 && status < 400)) {
      return { outcome: "rejected", status, reason: `${redactUrl(url)} answered a redirect: check the ping URL` };
    }
    const reason = `${redactUrl(url)} answered HTTP ${status}`;
    if (status >= 500 || RETRY_STATUSES.has(status)) {
      return {
        outcome: "retry",
        status,
        reason,
        retryAfterMs: retryAfterMs(response.headers.get("retry-after"), Date.now()),
      };
    }
    return { outcome: "rejected", status, reason };
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    const reason = name === "TimeoutError"
      ? `no answer from ${redactUrl(url)} within ${timeoutMs} ms`
      : `cannot reach ${redactUrl(url)}: ${redactMessage(errorText(error), url)}`;
    return { outcome: "retry", reason };
  }
}

/** The most of an answer's body read to keep its connection: a tracker answers a few bytes. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Reads a body to its end (within a bound), so that its connection can carry the next request. */
async function drain(body: ReadableStream<Uint8Array> | null): Promise<void> {
  if (body === null) return;
  const reader = body.getReader();
  let read = 0;
  try {
    while (read <= MAX_ANSWER_BYTES) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.length;
    }
    await reader.cancel();
  } catch {
    // A body cut short: the answer's status is what counts.
  }
}

/**
 * The pace of requests to one tracker, shared by everything a sender sends:
 * a 429 or 5xx (or no answer) slows the whole sender down, exponentially with
 * the failures in a row and never before the tracker's `Retry-After`; a
 * delivery resets it. Entries then do not each hammer a struggling tracker.
 */
export class TrackerPace {
  #failures = 0;
  #pausedUntil = 0;
  /** Until when the tracker itself asked to wait (`Retry-After`): a flush does not cut that short. */
  #askedUntil = 0;
  #baseMs: number;
  #maxMs: number;

  /**
   * @param baseMs The first wait after a failure.
   * @param maxMs The longest wait.
   */
  constructor(baseMs: number, maxMs: number) {
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
  }

  /** How long to wait before the next request, in milliseconds (0: go). */
  waitMs(now: number = Date.now()): number {
    return Math.max(0, this.#pausedUntil - now, this.#askedUntil - now);
  }

  /** A flush: our own backoff ends now (the next request still probes alone); a tracker's `Retry-After` holds. */
  tryNow(): void {
    this.#pausedUntil = 0;
  }

  /**
   * Whether the last answer was a failure: until a delivery, one request at a
   * time probes the tracker, so an outage costs one request per backoff, not
   * one per lane.
   */
  probing(): boolean {
    return this.#failures > 0;
  }

  /** The tracker answered `retry`: pause every request for the backoff, or as long as it asked. */
  failed(retryAfterMs: number | undefined, now: number = Date.now()): void {
    // Requests that were in flight together fail together: one step of backoff, not one each.
    if (this.waitMs(now) === 0) this.#failures++;
    const backoff = backoffMs(this.#failures, this.#baseMs, this.#maxMs, Math.random());
    this.#pausedUntil = Math.max(this.#pausedUntil, now + backoff);
    if (retryAfterMs !== undefined) this.#askedUntil = Math.max(this.#askedUntil, now + retryAfterMs);
  }

  /**
   * A delivery. Each one takes back one step of backoff, so a tracker that fails most requests stays slowed
   * down; returns true when the last step goes (the tracker is back: waiting pings are due again).
   */
  delivered(): boolean {
    if (this.#failures === 0) return false;
    this.#failures--;
    return this.#failures === 0;
  }
}

/** An error's message and, where a runtime puts the detail there (Deno, Node), its cause's. */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause !== undefined && cause !== error.message ? `${error.message} (${cause})` : error.message;
}

/**
 * The wait before retry number `attempts`: exponential from `baseMs`, capped
 * at `maxMs`, with jitter (between half and all of it) so that many clients
 * that failed together do not retry together.
 *
 * @param attempts Failed attempts so far (1 for the first retry).
 * @param baseMs The first wait.
 * @param maxMs The longest wait.
 * @param random A number in [0, 1).
 * @returns Milliseconds to wait.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const wait = backoffMs(3, 1000, 300_000, Math.random());
 * assert.ok(wait >= 2000 && wait <= 4000);
 * ```
 */
export function backoffMs(attempts: number, baseMs: number, maxMs: number, random: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(ceiling / 2 + (random * ceiling) / 2);
}
