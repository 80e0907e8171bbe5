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
