#!/bin/sh
# The TelemHQ plugin's hook command (hooks/hooks.json runs it for each event).
#
# Claude Code waits for this script, so it only hands the event on: it ignores
# SIGTERM and SIGHUP (Claude Code's teardown may signal it 15 ms after the
# start; an ignored signal stays ignored in what it starts), and starts, in a
# session of its own, the first runtime it finds for hook.ts: Bun, then Deno,
# then Node 22.18 or later. It exits at once; with no runtime, the event is
# dropped silently (Claude Code must never be disturbed), and
# `sh hooks/telemhq.sh doctor` says what is missing.
#
# Usage: telemhq.sh [tool]   (tool: a tool event, sent only with the tool_activity option)
#        telemhq.sh doctor [--ping]
set -u

# True for a program this hook may run: an absolute path (a relative PATH entry would let the folder Claude Code
# runs in, a repository, choose the program), executable.
usable() {
  case $1 in
    /*) [ -x "$1" ] ;;
    *) return 1 ;;
  esac
}

# True when a path may go into Deno's flags: no comma (it separates their lists), no line break.
flag_safe() {
  case $1 in
    *,* | *'
'*) return 1 ;;
  esac
}

# Prints the runtime command line for hook.ts, one word per line, or nothing when none runs it.
runtime_words() {
  hook=$1
  state=$2
  for candidate in "$(command -v bun 2>/dev/null)" "${HOME:-}/.bun/bin/bun"; do
    if usable "$candidate"; then
      printf '%s\n' "$candidate" --no-env-file --no-install "$hook"
      return 0
    fi
  done
  for candidate in "$(command -v deno 2>/dev/null)" "${HOME:-}/.deno/bin/deno"; do
    if usable "$candidate" && flag_safe "$state$(claude_dir)$hook$candidate"; then
      # Deno checks --allow-run against the binary's real path (its sender runs Deno.execPath()).
      candidate=$(realpath "$candidate" 2>/dev/null || printf '%s' "$candidate")
      printf '%s\n' "$candidate" run --no-config --no-lock --no-prompt "--allow-net$(net_host)" --allow-env \
        "--allow-read=$(claude_dir)/projects,$state,$candidate,/etc/claude-code" \
        "--allow-write=$state" "--allow-run=$candidate" --allow-sys=uid "$hook"
      return 0
    fi
  done
  node=$(command -v node 2>/dev/null) || return 0
  if usable "$node" && node_runs_typescript "$node"; then
    printf '%s\n' "$node" "$hook"
  fi
}

# "=host" for Deno's --allow-net: the ping URL's host (as the URL parser gives it: no user, no default port), when it
# has a plain one; otherwise any host (the hook itself still refuses a URL it cannot use).
net_host() {
  url=${TELEMHQ_PING_URL:-${CLAUDE_PLUGIN_OPTION_PING_URL:-}}
  host=${url#*://}
  host=${host%%/*}
  host=${host##*@}
  case $url in https://*) host=${host%:443} ;; http://*) host=${host%:80} ;; esac
  case $host in
    "" | *[!A-Za-z0-9.:-]*) ;;
    *) printf '=%s' "$host" ;;
  esac
}

claude_dir() {
  printf '%s' "${CLAUDE_CONFIG_DIR:-${HOME:-}/.claude}"
}

# Node strips TypeScript types from 22.18 on (23.6 on the odd line).
node_runs_typescript() {
  version=$("$1" --version 2>/dev/null) || return 1
  version=${version#v}
  major=${version%%.*}
  rest=${version#*.}
  minor=${rest%%.*}
  case $major$minor in *[!0-9]*) return 1 ;; esac
  [ "$major" -ge 24 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge 18 ]; } || { [ "$major" -eq 23 ] && [ "$minor" -ge 6 ]; }
}

# What to say when nothing runs hook.ts.
no_runtime() {
  found=""
  node=$(command -v node 2>/dev/null) && found=" (found Node $("$node" --version 2>/dev/null), too old to run TypeScript)"
  echo "TelemHQ: no runtime for hook.ts: looked for Bun, Deno and Node 22.18 or later on PATH$found." >&2
  echo "Install one (Bun: https://bun.sh, Deno: https://deno.com, or Node 22.18+), then start Claude Code again." >&2
}

# Runs `doctor` (and its options) under the runtime the hook would use.
doctor() {
  root=$1
  shift
  words=$(runtime_words "$root/hook.ts" "$(state_dir)")
  if [ -z "$words" ]; then
    no_runtime
    return 1
  fi
  # One word per line: split on newlines only.
  old_ifs=$IFS
  IFS='
'
  # shellcheck disable=SC2086 # the words are split on purpose
  set -- $words doctor "$@"
  IFS=$old_ifs
  "$@"
}

state_dir() {
  printf '%s' "${TELEMHQ_STATE_DIR:-$(claude_dir)/telemhq}"
}

# Hands the event (stdin) to hook.ts in a session of its own, and returns at once.
hand_on() {
  root=$1
  words=$(runtime_words "$root/hook.ts" "$(state_dir)")
  if [ -z "$words" ]; then
    cat >/dev/null
    return 0
  fi
  old_ifs=$IFS
  IFS='
'
  # shellcheck disable=SC2086 # the words are split on purpose
  set -- $words --detached
  IFS=$old_ifs
  # A background command of a script reads /dev/null unless told otherwise: the event goes through fd 3.
  exec 3<&0
  if command -v setsid >/dev/null 2>&1; then
    setsid "$@" <&3 >/dev/null 2>&1 &
  elif command -v perl >/dev/null 2>&1; then
    perl -MPOSIX -e 'POSIX::setsid(); exec @ARGV' "$@" <&3 >/dev/null 2>&1 &
  else
    "$@" <&3 >/dev/null 2>&1 &
  fi
}

main() {
  trap '' TERM HUP
  root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd) || exit 0
  case "${1:-}" in
    doctor)
      shift
      doctor "$root" "$@"
      exit $?
      ;;
    tool)
      # Tool events only with the plugin's tool_activity option on (absent: off).
      if [ "${CLAUDE_PLUGIN_OPTION_TOOL_ACTIVITY:-false}" != true ]; then
        cat >/dev/null
        exit 0
      fi
      ;;
  esac
  hand_on "$root"
  exit 0
}

main "$@"
