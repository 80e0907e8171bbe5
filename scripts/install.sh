#!/bin/sh
# Installs the TelemHQ hook for Claude Code in one command:
#
#   curl -fsSL "$BASE/install.sh" | sh -s -- --base-url "$BASE" --url https://telemhq.com/ping/YOUR_TOKEN
#
# It finds Deno or Bun, downloads hook.ts and SHA256SUMS from the base URL
# (--base-url, or TELEMHQ_INSTALL_BASE_URL), checks the checksum before
# anything is moved into place, then runs the hook's own install, which takes
# every other option (--scope, --runtime, --tool-activity; see hook.ts --help).
# It never needs sudo. All logic is in functions and main runs last, so a
# download cut short runs nothing.
set -eu

die() {
  printf 'TelemHQ install: %s\n' "$1" >&2
  exit 1
}

# Plain http only to this machine: the files are code that will run on every hook event.
check_base_url() {
  case "$1" in
    https://*) ;;
    http://127.0.0.1:* | http://127.0.0.1/* | http://localhost:* | http://localhost/*) ;;
    "") die "no base URL to download from: give --base-url URL (or set TELEMHQ_INSTALL_BASE_URL)." ;;
    *) die "refusing to download from \"$1\": use an https:// URL." ;;
  esac
}

find_runtime() {
  for candidate in "$(command -v deno 2>/dev/null || true)" "${HOME:-}/.deno/bin/deno" \
    "$(command -v bun 2>/dev/null || true)" "${HOME:-}/.bun/bin/bun"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}

download() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 2 -o "$2" "$1" || die "cannot download $1: check the base URL and your connection."
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1" || die "cannot download $1: check the base URL and your connection."
  else
    die "neither curl nor wget is installed: install one and run this again."
  fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
  fi
}

verify() {
  expected=$(awk '$2 == "hook.ts" || $2 == "*hook.ts" { print $1 }' "$1/SHA256SUMS")
  [ -n "$expected" ] || die "SHA256SUMS has no line for hook.ts: nothing was installed."
  actual=$(sha256_of "$1/hook.ts")
  [ "$expected" = "$actual" ] ||
    die "checksum mismatch for hook.ts: the download is corrupt or was tampered with; nothing was installed."
}

run_install() {
  runtime=$1
  hook=$2
  shift 2
  case "$runtime" in
    */deno) "$runtime" run --no-config --no-lock -A "$hook" install "$@" ;;
    *) "$runtime" --no-env-file --no-install "$hook" install "$@" ;;
  esac
}

main() {
  base_url=${TELEMHQ_INSTALL_BASE_URL:-}
  if [ "${1:-}" = "--base-url" ]; then
    [ $# -ge 2 ] || die "--base-url needs a URL."
    base_url=$2
    shift 2
  fi
  base_url=${base_url%/}
  check_base_url "$base_url"
  runtime=$(find_runtime) || die "neither Deno nor Bun was found: install one (https://deno.com, https://bun.sh) and run this again."
  work=$(mktemp -d "${TMPDIR:-/tmp}/telemhq-install.XXXXXX")
  trap 'rm -rf "$work"' EXIT INT TERM
  download "$base_url/hook.ts" "$work/hook.ts"
  download "$base_url/SHA256SUMS" "$work/SHA256SUMS"
  verify "$work"
  run_install "$runtime" "$work/hook.ts" "$@"
}

main "$@"
