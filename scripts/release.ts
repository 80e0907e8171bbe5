/**
 * Writes what the installers download into dist/: hook.ts, install.sh,
 * install.ps1 and SHA256SUMS (the checksums both installers verify before they install
 * anything). Publish the folder as it is; its URL is install.sh's base URL.
 *
 * Run: deno task release
 */
import { ROOT } from "./_dev.ts";

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function main(): Promise<void> {
  const dist = `${ROOT}dist`;
  Deno.mkdirSync(dist, { recursive: true });
  const files = [
    ["hook.ts", `${ROOT}hook.ts`],
    ["install.sh", `${ROOT}scripts/install.sh`],
    ["install.ps1", `${ROOT}scripts/install.ps1`],
  ] as const;
  const lines: string[] = [];
  for (const [name, source] of files) {
    const bytes = Deno.readFileSync(source);
    Deno.writeFileSync(`${dist}/${name}`, bytes);
    lines.push(`${await sha256(bytes)}  ${name}`);
  }
  Deno.writeTextFileSync(`${dist}/SHA256SUMS`, lines.join("\n") + "\n");
  console.log(`Wrote dist/: ${files.map(([name]) => name).join(", ")}, SHA256SUMS`);
}

if (import.meta.main) await main();
