// The settings read from the environment.
import assert from "node:assert/strict";
import { readConfig } from "./config.ts";
import { stateDirectory } from "./state_dir.ts";

Deno.test("readConfig() reads the URL, clamps numbers to sane ranges and reads the debug switch", () => {
  const config = (env: Record<string, string>) => readConfig((name) => env[name]);
  const defaults = config({});
  assert.equal(defaults.pingUrl, undefined);
  assert.equal(defaults.timeoutMs, 10_000);
  assert.equal(defaults.debug, false);
  assert.equal(defaults.stateDir, undefined, "no HOME, no state directory");
  assert.equal(defaults.spoolMaxPings, 10_000);
  assert.equal(defaults.spoolMaxAgeMs, 7 * 24 * 3600 * 1000);
  assert.equal(config({ TELEMHQ_PING_URL: "  https://t/p  " }).pingUrl, "https://t/p");
  assert.equal(config({ TELEMHQ_PING_URL: " " }).pingUrl, undefined);
  assert.equal(config({ TELEMHQ_TIMEOUT_MS: "250" }).timeoutMs, 250);
  assert.equal(config({ TELEMHQ_TIMEOUT_MS: "5" }).timeoutMs, 100);
  assert.equal(config({ TELEMHQ_TIMEOUT_MS: "999999" }).timeoutMs, 60_000);
  assert.equal(config({ TELEMHQ_TIMEOUT_MS: "soon" }).timeoutMs, 10_000);
  assert.equal(config({ TELEMHQ_TIMEOUT_MS: "" }).timeoutMs, 10_000);
  assert.equal(config({ TELEMHQ_HOOK_DEBUG: "1" }).debug, true);
  assert.equal(config({ TELEMHQ_HOOK_DEBUG: "yes" }).debug, false);
});
Deno.test("stateDirectory() honours TELEMHQ_STATE_DIR, then CLAUDE_CONFIG_DIR, then HOME", () => {
  const dir = (env: Record<string, string>) => stateDirectory((name) => env[name]);
  assert.equal(dir({ HOME: "/home/me" }), "/home/me/.claude/telemhq");
  assert.equal(dir({ HOME: "/home/me/", CLAUDE_CONFIG_DIR: "/etc/claude/" }), "/etc/claude/telemhq");
  assert.equal(dir({ HOME: "/home/me", CLAUDE_CONFIG_DIR: "/c", TELEMHQ_STATE_DIR: "/s" }), "/s");
  assert.equal(dir({}), undefined);
});
