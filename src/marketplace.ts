/**
 * The marketplace a team's policy installs the plugin from, as Claude Code's
 * `extraKnownMarketplaces` takes it: a GitHub `owner/repo`, a git URL, the
 * URL of a `marketplace.json`, or a folder or `marketplace.json` on a drive
 * every machine mounts. Read the way `claude plugin marketplace add` reads a
 * source, and checked, so that the printed policy works on every machine.
 *
 * Owns: `marketplaceSource`. Uses: cli_args.
 *
 * @module
 */

import { CommandError } from "./cli_args.ts";

/** A marketplace source, as the `source` of an `extraKnownMarketplaces` entry. */
export type MarketplaceSource =
  | { source: "github"; repo: string; ref?: string }
  | { source: "git"; url: string; ref?: string }
  | { source: "url"; url: string }
  | { source: "directory"; path: string }
  | { source: "file"; path: string };

/** TelemHQ's own marketplace, once this repository is published: the default. */
export const DEFAULT_MARKETPLACE = "telemhq/claude-code";

const GITHUB_REPO = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}[A-Za-z0-9])?\/[A-Za-z0-9._-]{1,100}$/;
const SSH_GIT = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~\/-]+$/;
const GIT_REF = /^(?!.*\.\.)[A-Za-z0-9._\/-]{1,200}$/;

/**
 * Reads a marketplace source given on the command line: `owner/repo[#ref]`
 * (GitHub), `git@host:path[#ref]` or `https://host/path.git[#ref]` (git),
 * `https://host/.../marketplace.json` (a URL), or an absolute path (a folder,
 * or a `.json` file). Refuses anything else with one line: a relative path
 * (the policy is read on other machines), plain `http` beyond this machine,
 * spaces or control characters.
 *
 * @param given The source as typed.
 * @returns The source for the policy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(marketplaceSource("acme/claude-plugins#v2"), { source: "github", repo: "acme/claude-plugins", ref: "v2" });
 * assert.deepEqual(marketplaceSource("/srv/plugins/telemhq"), { source: "directory", path: "/srv/plugins/telemhq" });
 * assert.throws(() => marketplaceSource("./telemhq"), /relative path/);
 * ```
 */
export function marketplaceSource(given: string): MarketplaceSource {
  const refuse = (why: string): never => {
    throw new CommandError(`Cannot print the policy: --marketplace ${why}.`, 2);
  };
  // deno-lint-ignore no-control-regex -- the characters refused
  if (given.length > 2048 || /[\s\u0000-\u001f\u007f]/.test(given)) {
    refuse("holds spaces or control characters (or is too long)");
  }
  if (given.startsWith("/")) {
    if (/(^|\/)\.\.?(\/|$)/.test(given)) refuse(`"${given}" holds . or .. parts: give the folder's own path`);
    return given.endsWith(".json") ? { source: "file", path: given } : { source: "directory", path: given };
  }
  if (/^(\.|~)/.test(given)) {
    refuse(`"${given}" is a relative path: give an absolute path (the policy is read elsewhere)`);
  }
  const [base, ref, extra] = given.split("#");
  if (extra !== undefined || (ref !== undefined && !GIT_REF.test(ref))) refuse(`has a ref that is not a git ref`);
  const withRef = ref === undefined ? {} : { ref };
  if (GITHUB_REPO.test(base)) return { source: "github", repo: base, ...withRef };
  if (SSH_GIT.test(base)) return { source: "git", url: base, ...withRef };
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return refuse(
      `"${given}" is not a marketplace source: give owner/repo, a git URL, the URL of a marketplace.json, or an ` +
        `absolute path`,
    );
  }
  const loopback = url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "[::1]";
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    refuse(`"${url.protocol}" URLs are not accepted: give an https:// URL`);
  }
  if (url.username !== "" || url.password !== "") refuse("URL holds credentials: give them to git, not the policy");
  if (url.search !== "") refuse("URL has a query: give the marketplace's own address");
  if (url.pathname.endsWith(".git")) return { source: "git", url: url.href, ...withRef };
  if (ref !== undefined) refuse("ref goes only with a git repository (owner/repo, or a URL ending in .git)");
  if (url.pathname.endsWith(".json")) return { source: "url", url: url.href };
  return refuse(`URL on ${url.host} is neither a git repository (ending in .git) nor a marketplace.json`);
}
