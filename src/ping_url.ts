/**
 * The ping URL: it holds the tracker's secret token, so it is checked before
 * use (https, or http to loopback only) and never shown whole.
 *
 * Owns: `parsePingUrl`, redaction. Uses: input.
 *
 * @module
 */

import { HookSkip } from "./input.ts";

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["localhost", "[::1]"]);

/**
 * Checks the ping URL: `https:`, or `http:` to a loopback address only,
 * because the URL holds the tracker's secret token.
 *
 * @param raw The URL, for example from `TELEMHQ_PING_URL`.
 * @returns The parsed URL.
 * @throws {HookSkip} When the URL is malformed or would send the token in clear text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(parsePingUrl("https://telemhq.com/ping/TOKEN").host, "telemhq.com");
 * ```
 */
export function parsePingUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new HookSkip("TELEMHQ_PING_URL is not a valid URL: set it to the ping URL of your TelemHQ tracker");
  }
  // A ping URL is the tracker's, whole: a space means a paste that took more than the URL.
  if (/\s/.test(raw.trim())) {
    throw new HookSkip("TELEMHQ_PING_URL holds a space: set it to the ping URL of your TelemHQ tracker alone");
  }
  // Credentials in a URL would be sent to the host in an Authorization header and kept in the spool's destination.
  if (url.username !== "" || url.password !== "") {
    throw new HookSkip("TELEMHQ_PING_URL holds a user name or password: the tracker's token goes in its path only");
  }
  // A host is letters, digits, dots and dashes (or an IPv6 literal): never a comma, which would also widen
  // the installed Deno hook's --allow-net list.
  if (!/^([a-z0-9.-]+|\[[0-9a-f:.]+\])$/i.test(url.hostname)) {
    throw new HookSkip("TELEMHQ_PING_URL has a host name with characters a host cannot have");
  }
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:") {
    if (isLoopbackHost(url.hostname)) return url;
    throw new HookSkip(
      `TELEMHQ_PING_URL uses plain http to ${url.host}: the token would cross the network in clear text; use https`,
    );
  }
  throw new HookSkip(`TELEMHQ_PING_URL has unsupported scheme "${url.protocol}": use https`);
}

function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Shows a ping URL without its secret: scheme, host and port only.
 *
 * @param url The ping URL.
 * @returns For example `"https://telemhq.com/<redacted>"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(redactUrl(new URL("https://telemhq.com/ping/abc123")), "https://telemhq.com/<redacted>");
 * ```
 */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}/<redacted>`;
}

/**
 * Removes every trace of a URL's secret parts from a message, and its line breaks.
 *
 * @param message Text that may quote the URL (an error from the runtime's fetch, say).
 * @param url The ping URL.
 * @returns The message, one line, without the URL's path, query or credentials.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const url = new URL("https://telemhq.com/ping/abc123");
 * assert.equal(redactMessage("failed: https://telemhq.com/ping/abc123", url), "failed: /<redacted>");
 * ```
 */
export function redactMessage(message: string, url: URL): string {
  const secrets = [url.href, url.pathname + url.search, url.pathname, url.username, url.password]
    .filter((secret) => secret.length > 1);
  let redacted = message;
  for (const secret of secrets) redacted = redacted.split(secret).join("/<redacted>");
  return redacted.replace(/[\r\n]+/g, " ");
}

/**
 * Redacts every URL with a path in a text (a command line argument echoed in
 * an error, say): whatever a user typed where a ping URL does not belong, its
 * token is never printed.
 *
 * @param text Any text.
 * @returns The text, each URL shown as `scheme://host/<redacted>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(
 *   redactSecrets('Unknown option "https://telemhq.com/ping/TOKEN"'),
 *   'Unknown option "https://telemhq.com/<redacted>"',
 * );
 * assert.equal(redactSecrets('"telemhq.com/ping/TOKEN"'), '"telemhq.com/<redacted>"');
 * assert.equal(redactSecrets('"/home/me/my.project/x"'), '"/home/me/my.project/x"');
 * ```
 */
export function redactSecrets(text: string): string {
  return text.replace(/\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'`<>]+/g, (found) => {
    try {
      const url = new URL(found);
      return url.pathname.length > 1 || url.search !== "" || url.username !== "" ? redactUrl(url) : found;
    } catch {
      return `${found.split("://")[0]}://<redacted>`;
    }
  })
    // A URL typed without its scheme (telemhq.com/ping/TOKEN); a file path's parts are left alone.
    .replace(/(?<![\w/.:-])((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?::\d+)?)\/[^\s"'`<>]+/g, "$1/<redacted>");
}
