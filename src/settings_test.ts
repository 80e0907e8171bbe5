// Our entries in Claude Code's settings files: found, added and removed
// without touching anything else; broken files refused with their line.
import assert from "node:assert/strict";
import {
  addHooks,
  findOurHooks,
  formatSettings,
  jsonErrorLine,
  readSettings,
  removeOurHooks,
  type Settings,
} from "./settings.ts";

const OURS = "/home/me/.claude/hooks/telemhq.ts";
const ENTRY = { type: "command", command: `sh -c 'bun ${OURS}'`, timeout: 10 };

Deno.test("addHooks() then removeOurHooks() gives back the settings as they were", () => {
  const original = {
    model: "opus",
    hooks: { Stop: [{ hooks: [{ type: "command", command: "notify-send done" }] }] },
  };
  const settings: Settings = structuredClone(original);
  addHooks(settings, [["Stop"], ["StopFailure", "*"]], ENTRY);
  assert.equal(findOurHooks(settings, [OURS]).length, 2);
  assert.deepEqual((settings.hooks as Record<string, unknown[]>).Stop.length, 2, "the user's Stop hook stays");
  assert.equal(removeOurHooks(settings, [OURS]), 2);
  assert.deepEqual(settings, original);
});

Deno.test("removeOurHooks() keeps other hooks of a group it shares, and malformed groups as they are", () => {
  const settings: Settings = {
    hooks: {
      Stop: [{ hooks: [{ type: "command", command: "./guard.sh" }, ENTRY] }, "not a group"],
      Notification: "not a list",
    },
  };
  assert.equal(removeOurHooks(settings, [OURS]), 1);
  assert.deepEqual(settings, {
    hooks: {
      Stop: [{ hooks: [{ type: "command", command: "./guard.sh" }] }, "not a group"],
      Notification: "not a list",
    },
  });
});

Deno.test("formatSettings() keeps the file's indentation and its final newline", () => {
  assert.equal(formatSettings({ a: [1] }, '{\n\t"b": 1\n}'), '{\n\t"a": [\n\t\t1\n\t]\n}');
  assert.equal(formatSettings({ a: 1 }, undefined), '{\n  "a": 1\n}\n');
});

Deno.test("readSettings() refuses a broken file with the line of the mistake, and a non-object, under any runtime", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/broken.json`, '{\n  "a": 1,\n  "b": ,\n}\n');
    await assert.rejects(() => readSettings(`${dir}/broken.json`), /not valid JSON at line 3/);
    await Deno.writeTextFile(`${dir}/array.json`, "[]");
    await assert.rejects(() => readSettings(`${dir}/array.json`), /not a JSON object/);
    await Deno.writeTextFile(`${dir}/hooks.json`, '{"hooks": []}');
    await assert.rejects(() => readSettings(`${dir}/hooks.json`), /"hooks" is not an object/);
    assert.deepEqual(await readSettings(`${dir}/absent.json`), { settings: {} });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("jsonErrorLine() agrees with JSON.parse on what is valid, and finds a line for what is not", () => {
  const valid = ['{"a":[1,-2.5e3,true,false,null,"x\\"y\\u00e9"],"b":{}}', "[]", ' \n{\n"k" : "v"\n}\n', '"s"', "0"];
  for (const text of valid) assert.equal(jsonErrorLine(text), undefined, text);
  const broken = ['{"a":1,}', "[1 2]", '{"a" 1}', "{'a':1}", '{"a":01}', '"\u0001"', "{", "[]]", '{"a":tru}', ""];
  for (const text of broken) {
    assert.throws(() => JSON.parse(text), SyntaxError, `JSON.parse accepts ${JSON.stringify(text)}`);
    assert.equal(typeof jsonErrorLine(text), "number", JSON.stringify(text));
  }
  assert.equal(jsonErrorLine('{\n  "a": 1\n  "b": 2\n}'), 3);
});
