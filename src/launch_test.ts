// How the hook is started: runtime flags and the shell fast path.
import assert from "node:assert/strict";
import { fastPathCommand } from "./launch.ts";

Deno.test("fastPathCommand() quotes paths so that spaces and quotes cannot break the shell", () => {
  const command = fastPathCommand(["/opt/my bun/bun", "/home/o'neil/hook.ts"]);
  assert.ok(command.includes(`setsid '/opt/my bun/bun' '/home/o'"'"'neil/hook.ts' --detached <&3`), command);
  assert.ok(command.startsWith("trap '' TERM HUP; exec 3<&0; "), command);
});
