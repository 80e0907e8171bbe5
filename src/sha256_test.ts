// SHA-256: the plain JavaScript one is held to Web Crypto.
import assert from "node:assert/strict";
import { sha256HexSync } from "./sha256.ts";

Deno.test("sha256HexSync() (the Node hot path's hash) equals Web Crypto's SHA-256 for every kind of input", async () => {
  const webCrypto = async (text: string) =>
    [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)))]
      .map((byte) => byte.toString(16).padStart(2, "0")).join("");
  const inputs = ["", "abc", "/home/dév/my project/ünïcode 名前", "😀".repeat(33), "x".repeat(1_000_000)];
  for (let length = 50; length <= 130; length++) inputs.push("a".repeat(length)); // around the 55/56/64-byte block edges
  for (const text of inputs) assert.equal(sha256HexSync(text), await webCrypto(text), `length ${text.length}`);
  assert.equal(sha256HexSync("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

Deno.test("every runtime's hot-path hash (Bun's hasher, Deno's Web Crypto, Node's JavaScript) equals Web Crypto's", async () => {
  const { runtimeBinary, ROOT } = await import("../scripts/_dev.ts");
  // The hot path hashes NUL-joined parts (a destination, a salt and a path, ids): a hash that stopped at NUL would pass
  // every other input.
  const inputs = [
    "",
    "/home/dév/my project/ünïcode 名前",
    "a\ud800b",
    "\udfff",
    "😀".repeat(33),
    "destination\u0000https://t.example/ping\u0000salt",
    "\u0000",
    "x".repeat(3_000_000),
  ];
  const script = `import { detectRuntime } from ${JSON.stringify(`${ROOT}mod.ts`)};
const out = [];
for (const text of ${JSON.stringify(inputs)}) out.push(await detectRuntime().sha256Hex(text));
console.log(JSON.stringify(out));`;
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, script);
    const expected = await Promise.all(
      inputs.map(async (text) =>
        [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)))]
          .map((byte) => byte.toString(16).padStart(2, "0")).join("")
      ),
    );
    const commands: Record<string, string[]> = {
      bun: [runtimeBinary("bun"), file],
      deno: [runtimeBinary("deno"), "run", "--no-config", "--no-lock", "-A", file],
      node: [`${ROOT}tools/node_modules/node-24/bin/node`, file],
    };
    for (const [name, [command, ...args]] of Object.entries(commands)) {
      const run = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
      const text = new TextDecoder().decode(run.stdout);
      assert.equal(run.code, 0, `${name}: ${new TextDecoder().decode(run.stderr)}`);
      assert.deepEqual(JSON.parse(text), expected, name);
    }
  } finally {
    await Deno.remove(file);
  }
});
