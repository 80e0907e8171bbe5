// Reading the event from stdin.
import assert from "node:assert/strict";
import { HookSkip, parseEvent } from "./input.ts";

Deno.test("parseEvent() gives a clear reason for every kind of bad input", () => {
  const encode = (text: string) => new TextEncoder().encode(text);
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(), /empty/],
    [encode("not json"), /not valid JSON/],
    [encode("[1,2]"), /not an object/],
    [encode("null"), /not an object/],
    [encode('"Stop"'), /not an object/],
    [new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), /not valid UTF-8/],
  ];
  for (const [bytes, reason] of cases) {
    assert.throws(() => parseEvent(bytes), (error) => error instanceof HookSkip && reason.test(error.message));
  }
  assert.deepEqual(parseEvent(encode('{"hook_event_name":"Stop"}')), { hook_event_name: "Stop" });
});
