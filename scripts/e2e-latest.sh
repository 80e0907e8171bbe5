#!/bin/sh
# Runs the end-to-end suite against the newest Claude Code on the npm registry
# (users run the newest), or against the version given: scripts/e2e-latest.sh 2.1.340
# Installs it into a throwaway folder; the pinned version in tools/ is untouched.
set -eu

die() {
  printf 'e2e-latest: %s\n' "$1" >&2
  exit 1
}

install_claude() {
  version=$1
  prefix=$2
  npm install --prefix "$prefix" --no-audit --no-fund --no-save "@anthropic-ai/claude-code@$version" >/dev/null 2>&1 ||
    die "cannot install @anthropic-ai/claude-code@$version from the npm registry"
  [ -x "$prefix/node_modules/.bin/claude" ] || die "the installed package has no claude binary"
}

main() {
  version=${1:-latest}
  root=$(cd "$(dirname "$0")/.." && pwd)
  prefix=$(mktemp -d "${TMPDIR:-/tmp}/telemhq-claude-latest.XXXXXX")
  trap 'rm -rf "$prefix"' EXIT INT TERM
  [ -x "$root/tools/node_modules/.bin/deno" ] || die "run 'npm run tools' first: it installs the pinned Deno and Bun"
  install_claude "$version" "$prefix"
  printf 'Claude Code under test: %s\n' "$("$prefix/node_modules/.bin/claude" --version)"
  cd "$root"
  CLAUDE_BINARY="$prefix/node_modules/.bin/claude" PATH="$root/tools/node_modules/.bin:$PATH" \
    deno test --allow-all test/e2e_claude.test.ts
}

main "$@"
