// Reading transcripts from the end.
import assert from "node:assert/strict";
import { readLinesBackward } from "./transcript.ts";

Deno.test("readLinesBackward() returns every line, last first, across chunk and multi-byte boundaries", async () => {
  const path = Deno.makeTempFileSync();
  const lines = ["first é", "", "😀😀😀 second", "third " + "x".repeat(50), "last, no newline ü"];
  Deno.writeTextFileSync(path, lines.join("\n"));
  for (const chunk of [1, 3, 7, 64 * 1024]) {
    const read: string[] = [];
    for await (const line of readLinesBackward(path, chunk)) read.push(line);
    assert.deepEqual(read, lines.filter((line) => line !== "").reverse(), `chunks of ${chunk}`);
  }
  Deno.removeSync(path);
});
