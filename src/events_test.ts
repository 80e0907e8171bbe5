// The event table, and every list derived from it.
import assert from "node:assert/strict";
import { eventRule, FAILED_EVENTS, HOOK_EVENTS, INSTALL_EVENTS } from "./events.ts";

Deno.test("FAILED_EVENTS are the two failure events of the reference script", () => {
  assert.deepEqual([...FAILED_EVENTS].sort(), ["PostToolUseFailure", "StopFailure"]);
});

Deno.test("INSTALL_EVENTS wires the usage events always and tool activity on request, with their matchers", () => {
  assert.deepEqual(INSTALL_EVENTS.always, [["Stop"], ["StopFailure", "*"], ["SubagentStop"], ["SessionEnd"]]);
  assert.deepEqual(INSTALL_EVENTS.toolActivity, [["PostToolUse", "Bash|Edit|MultiEdit|Write"], [
    "PostToolUseFailure",
    "*",
  ]]);
});

Deno.test("every event that carries usage is wired by install, so no usage goes unreported", () => {
  const wired = new Set(INSTALL_EVENTS.always.map(([event]) => event));
  for (const [event, rule] of Object.entries(HOOK_EVENTS)) {
    if (rule.usage !== undefined) assert.ok(wired.has(event), event);
  }
});

Deno.test("eventRule() gives an empty rule for unknown names, even ones that look like object keys", () => {
  assert.deepEqual(eventRule("Notification"), {});
  assert.deepEqual(eventRule("constructor"), {});
  assert.deepEqual(eventRule("__proto__"), {});
});
