#!/bin/sh
# Installs the TelemHQ hook for Claude Code in one command:
#
#   curl -fsSL "$BASE/install.sh" | sh -s -- --base-url "$BASE" --url https://telemhq.com/ping/YOUR_TOKEN
#
# It finds Deno or Bun, downloads hook.ts and SHA256SUMS from the base URL
# (--base-url, or TELEMHQ_INSTALL_BASE_URL), checks the checksum before
# anything is moved into place, then runs the hook's own install, which takes
# every other option (--scope, --runtime, --tool-activity; see hook.ts --help).
# --sha256 HEX checks hook.ts against a checksum you got elsewhere (a release
# page, a colleague) instead of the server's SHA256SUMS: the server's own file
# only proves the download is whole, not that the server is honest.
# It never needs sudo. All logic is in functions and main runs last, so a
# download cut short runs nothing.
set -eu

# Keeps only absolute PATH entries: a relative or empty one is the current folder, and a repository there
# could hold a program named deno, bun, curl or sha256sum that would run with your ping URL.
absolute_path() {
  kept=""
  old_ifs=$IFS
  IFS=:
  set -f
  for dir in $PATH; do
    case $dir in /*) kept=${kept:+$kept:}$dir ;; esac
  done
  set +f
  IFS=$old_ifs
  PATH=$kept
  export PATH
}

die() {
  printf 'TelemHQ install: %s\n' "$1" >&2
  exit 1
}

# Plain http only to this machine: the files are code that will run on every hook event. The URL
# is taken apart, not matched by prefix: "http://127.0.0.1:80@example.com" names example.com.
check_base_url() {
  [ -n "$1" ] || die "no base URL to download from: give --base-url URL (or set TELEMHQ_INSTALL_BASE_URL)."
  scheme=${1%%://*}
  rest=${1#*://}
  [ "$rest" != "$1" ] || die "refusing to download from \"$1\": it is not a URL; use an https:// URL."
  authority=${rest%%/*}
  case "$authority" in
    *@*) die "refusing to download from \"$1\": a base URL must not hold a user name or password." ;;
    "" | *[!A-Za-z0-9.:\[\]-]*) die "refusing to download from \"$1\": its host is not valid." ;;
  esac
  case "$scheme" in
    https) ;;
    http)
      host=${authority%:*}
      port=${authority##*:}
      [ "$port" != "$authority" ] || { host=$authority; port=80; }
      case "$authority" in "[::1]") host="[::1]" port=80 ;; esac
      case "$port" in "" | *[!0-9]*) die "refusing to download from \"$1\": its port is not a number." ;; esac
      case "$host" in
        127.0.0.1 | localhost | "[::1]") ;;
        *) die "refusing to download from \"$1\": use an https:// URL." ;;
      esac
      ;;
    *) die "refusing to download from \"$1\": use an https:// URL." ;;
  esac
}

find_runtime() {
  for candidate in "$(command -v deno 2>/dev/null || true)" "${HOME:-}/.deno/bin/deno" \
    "$(command -v bun 2>/dev/null || true)" "${HOME:-}/.bun/bin/bun"; do
    case $candidate in /*) ;; *) continue ;; esac
    if [ -f "$candidate" ] && [ -x "$candidate" ]; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}

# Redirects may only lead to https; from a loopback base (tests, a local mirror) none is followed.
# wget cannot hold redirects to https (its --https-only is for recursive downloads): it follows none.
download() {
  case "$1" in
    https://*) curl_protocols='--proto =https --proto-redir =https' ;;
    *) curl_protocols='--proto =http --max-redirs 0' ;;
  esac
  if command -v curl >/dev/null 2>&1; then
    # shellcheck disable=SC2086 # the protocol options are words on purpose
    curl -fsL --retry 2 $curl_protocols -o "$2" "$1" ||
      die "cannot download $1: check the base URL and your connection (redirects away from https are refused)."
  elif command -v wget >/dev/null 2>&1; then
    wget -q --max-redirect=0 -O "$2" "$1" ||
      die "cannot download $1: check the base URL and your connection (redirects away from https are refused)."
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
  expected=$2
  if [ -z "$expected" ]; then
    expected=$(awk '$2 == "hook.ts" || $2 == "*hook.ts" { print $1 }' "$1/SHA256SUMS")
    [ -n "$expected" ] || die "SHA256SUMS has no line for hook.ts: nothing was installed."
  fi
  actual=$(sha256_of "$1/hook.ts")
  [ "$expected" = "$actual" ] ||
    die "checksum mismatch for hook.ts: the download is corrupt or was tampered with; nothing was installed."
}

# The runtime reads no configuration a repository in this folder could hold (Bun's bunfig.toml and its
# preload, Deno's deno.json), and none of the variables that make a runtime load code.
run_install() {
  runtime=$1
  hook=$2
  shift 2
  unset NODE_OPTIONS NODE_COMPILE_CACHE NODE_REPL_EXTERNAL_MODULE NODE_TLS_REJECT_UNAUTHORIZED BUN_OPTIONS BUN_RUNTIME_TRANSPILER_CACHE_PATH BUN_INSPECT BUN_INSPECT_PRELOAD BUN_INSPECT_CONNECT_TO DENO_DIR XDG_CACHE_HOME
  case "$runtime" in
    */deno) "$runtime" run --no-config --no-lock --no-prompt -A "$hook" install "$@" ;;
    *) "$runtime" --config=/dev/null --no-env-file --no-install "$hook" install "$@" ;;
  esac
}

main() {
  absolute_path
  base_url=${TELEMHQ_INSTALL_BASE_URL:-}
  pinned=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --base-url)
        [ $# -ge 2 ] || die "--base-url needs a URL."
        base_url=$2
        shift 2
        ;;
      --sha256)
        [ $# -ge 2 ] || die "--sha256 needs the checksum of hook.ts."
        pinned=$(printf '%s' "$2" | tr 'A-F' 'a-f')
        case "$pinned" in *[!0-9a-f]*) die "--sha256 takes 64 hex digits." ;; esac
        [ ${#pinned} -eq 64 ] || die "--sha256 takes 64 hex digits."
        shift 2
        ;;
      *) break ;;
    esac
  done
  base_url=${base_url%/}
  check_base_url "$base_url"
  runtime=$(find_runtime) || die "neither Deno nor Bun was found: install one (https://deno.com, https://bun.sh) and run this again."
  work=$(mktemp -d "${TMPDIR:-/tmp}/telemhq-install.XXXXXX")
  trap 'rm -rf "$work"' EXIT INT TERM
  download "$base_url/hook.ts" "$work/hook.ts"
  [ -n "$pinned" ] || download "$base_url/SHA256SUMS" "$work/SHA256SUMS"
  verify "$work" "$pinned"
  run_install "$runtime" "$work/hook.ts" "$@"
}

main "$@"
