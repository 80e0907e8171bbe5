// The ping URL: checked before use, never shown whole.
import assert from "node:assert/strict";
import { HookSkip } from "./input.ts";
import { parsePingUrl, redactUrl } from "./ping_url.ts";

Deno.test("parsePingUrl() refuses clear-text http except to loopback, and malformed URLs", () => {
  assert.equal(parsePingUrl("https://telemhq.com/ping/T").host, "telemhq.com");
  assert.equal(parsePingUrl("http://127.0.0.1:8080/ping/T").port, "8080");
  assert.equal(parsePingUrl("http://localhost/ping/T").hostname, "localhost");
  assert.equal(parsePingUrl("http://[::1]:9/ping/T").hostname, "[::1]");
  for (const bad of ["http://telemhq.com/ping/T", "http://10.0.0.1/ping/T", "ftp://x/T", "telemhq.com/ping/T", ""]) {
    assert.throws(() => parsePingUrl(bad), HookSkip, bad);
  }
  assert.throws(
    () => parsePingUrl("http://telemhq.com/ping/SECRET_T"),
    (error: Error) => !error.message.includes("SECRET_T"),
  );
});
Deno.test("parsePingUrl() refuses credentials in the URL and a paste that holds more than the URL", () => {
  for (const bad of ["https://user:SECRET_PW@telemhq.com/ping/T", "https://user@telemhq.com/ping/T"]) {
    assert.throws(() => parsePingUrl(bad), (error: Error) => /user name or password/.test(error.message), bad);
    assert.throws(() => parsePingUrl(bad), (error: Error) => !error.message.includes("SECRET_PW"), bad);
  }
  assert.throws(() => parsePingUrl("https://telemhq.com/ping/T extra"), /holds a space/);
  assert.equal(parsePingUrl("  https://telemhq.com/ping/T\n").pathname, "/ping/T", "surrounding space is trimmed");
});

Deno.test("redactUrl() keeps the host and never the token", () => {
  const shown = redactUrl(new URL("https://user:pw@telemhq.com:8443/ping/SECRET_TOKEN?x=SECRET_Q"));
  assert.equal(shown, "https://telemhq.com:8443/<redacted>");
});
