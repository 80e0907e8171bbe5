#!/bin/sh
# TelemHQ's launcher for Claude Code hooks: starts hook.ts for one event, or runs one of its commands.
# GENERATED from src/launcher.ts by `deno task build:hook`: edit that, not this file.
#
# For an event (no command), Claude Code waits for this script, so it only hands the event on: it ignores
# SIGTERM and SIGHUP (Claude Code's teardown may signal it 15-50 ms after the start; an ignored signal stays
# ignored in what it starts) and starts hook.ts from "/", in a session of its own, under the runtime given
# (--bun, --deno or --node PATH) or, when that is gone, the first it finds: Bun, then Deno, then Node 22.18
# or later. It exits at once. With no runtime the event is dropped silently (Claude Code must never be
# disturbed); `telemhq.sh doctor` says what is missing.
#
# Every program is found through absolute PATH entries only (an empty or relative one is the folder Claude
# Code runs in: a repository's), no runtime reads configuration a repository can hold (Bun's bunfig.toml,
# Deno's deno.json), and the variables that make a runtime load code are not passed on.
#
# Usage: telemhq.sh [--bun|--deno|--node PATH] [--hook FILE] [--host HOST] [tool]   one event on stdin
#        telemhq.sh [--bun|--deno|--node PATH] [--hook FILE] COMMAND [ARGS...]       a command; see --help
set -u
# First of all, before the shell reads the rest: Claude Code's teardown may signal it within milliseconds.
trap '' TERM HUP

# --- lists shared with hook.ts (src/config.ts, src/launch.ts) ---
ENV_NAMES=HOME,CLAUDE_CONFIG_DIR,TELEMHQ_PING_URL,CLAUDE_PLUGIN_OPTION_PING_URL,TELEMHQ_MEMBER,CLAUDE_PLUGIN_OPTION_MEMBER,TELEMHQ_HOOK_DEBUG,TELEMHQ_STATE_DIR,TELEMHQ_TIMEOUT_MS,TELEMHQ_SPOOL_MAX_PINGS,TELEMHQ_SPOOL_MAX_AGE_DAYS,TELEMHQ_RETRY_BASE_MS,TELEMHQ_RETRY_MAX_MS,TELEMHQ_SENDER_IDLE_MS,TELEMHQ_SENDER_CONCURRENCY,TELEMHQ_PRICES,TELEMHQ_HASH_SALT,TELEMHQ_EVENT_DIR
MANAGED_DIRS='/etc/claude-code,/Library/Application Support/ClaudeCode'
UNSAFE_ENV='NODE_OPTIONS NODE_COMPILE_CACHE NODE_REPL_EXTERNAL_MODULE NODE_TLS_REJECT_UNAUTHORIZED BUN_OPTIONS BUN_RUNTIME_TRANSPILER_CACHE_PATH BUN_INSPECT BUN_INSPECT_PRELOAD BUN_INSPECT_CONNECT_TO DENO_DIR XDG_CACHE_HOME'
BUN_FLAGS='--config=/dev/null --no-env-file --no-install'
DENO_FLAGS='--no-config --no-lock --no-prompt'
# ---
# The runtime install chose (none in the plugin's copy): what a command runs under when none is given.
INSTALLED_KIND=
INSTALLED_PATH=''

# Keeps only absolute PATH entries: a relative or empty one would let the current folder choose the program.
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

# Git Bash on Windows (MSYS2 has /proc/cygdrive; no user can create it on Linux or macOS, unlike a variable).
DRIVE_PATHS=""
[ -e /proc/cygdrive ] && DRIVE_PATHS=1

# True for an absolute path: /x, or C:/x in Git Bash on Windows (elsewhere C:/x is a folder in the current one).
absolute() {
  case $1 in
    /*) return 0 ;;
    [A-Za-z]:/*) [ -n "$DRIVE_PATHS" ] ;;
    *) return 1 ;;
  esac
}

# True for a program this launcher may run: an absolute path, executable, not a folder.
usable() {
  absolute "$1" && [ -f "$1" ] && [ -x "$1" ] || return 1
  # In a temporary folder (bunx keeps what it fetches in /tmp), a program is run only when it is this user's own: the
  # system may clean a folder of ours there, and anyone can make it again. Elsewhere, install checked its folders.
  case $1 in /tmp/* | /var/tmp/* | /dev/shm/*) [ -O "$1" ] ;; esac
}

# Sets FOUND to a program on PATH (absolute entries only, see absolute_path). Builtins only: the fast path forks
# nothing it can avoid.
find_program() {
  FOUND=""
  old_ifs=$IFS
  IFS=:
  set -f
  for dir in $PATH; do
    if usable "$dir/$1"; then
      FOUND=$dir/$1
      break
    fi
  done
  set +f
  IFS=$old_ifs
  [ -n "$FOUND" ]
}

# Sets REAL to a path with its symlinks resolved (Deno checks --allow-run and --allow-read against real paths):
# by realpath, or readlink and the shell's own cd -P (macOS before 13 has no realpath); run only for a link.
real_path() {
  REAL=$1
  if [ -L "$REAL" ] && find_program realpath && resolved=$("$FOUND" -- "$REAL" 2>/dev/null) && [ -n "$resolved" ]; then
    REAL=$resolved
    return 0
  fi
  hops=0
  while [ -L "$REAL" ] && [ "$hops" -lt 16 ] && find_program readlink; do
    link=$("$FOUND" -- "$REAL" 2>/dev/null) || break
    case $link in
      /*) REAL=$link ;;
      *) REAL=${REAL%/*}/$link ;;
    esac
    hops=$((hops + 1))
  done
  back=$PWD
  if CDPATH='' cd -P -- "${REAL%/*}/" 2>/dev/null; then
    REAL=${PWD%/}/${REAL##*/}
    cd -- "$back" || exit 0
  fi
}

# Sets SLASHLESS to a folder without its trailing slashes, as hook.ts names it.
without_slashes() {
  SLASHLESS=$1
  while :; do
    case $SLASHLESS in
      ?*/) SLASHLESS=${SLASHLESS%/} ;;
      *) break ;;
    esac
  done
}

# Sets CLAUDE (Claude Code's folder) and STATE (the hook's state folder), as hook.ts finds them.
find_folders() {
  if [ -n "${CLAUDE_CONFIG_DIR:-}" ]; then
    without_slashes "$CLAUDE_CONFIG_DIR"
    CLAUDE=$SLASHLESS
  else
    without_slashes "${HOME:-}"
    CLAUDE=$SLASHLESS/.claude
  fi
  if [ -n "${TELEMHQ_STATE_DIR:-}" ]; then
    without_slashes "$TELEMHQ_STATE_DIR"
    STATE=$SLASHLESS
  else
    STATE=$CLAUDE/telemhq
  fi
}

# True when a path may go into Deno's flags: absolute, no comma (it separates their lists), no line break.
flag_safe() {
  absolute "$1" || return 1
  case $1 in
    *,* | *'
'*) return 1 ;;
  esac
}

# Sets NET to "=host" for Deno's --allow-net: the ping URL's host (as the URL parser gives it: no user, no default
# port) when the URL is known here, else --host; otherwise "" (any host; the hook still refuses a URL it cannot use).
net_host() {
  url=${TELEMHQ_PING_URL:-${CLAUDE_PLUGIN_OPTION_PING_URL:-}}
  if [ -z "$url" ]; then
    host=$HOST_OPTION
  else
    host=${url#*://}
    host=${host%%/*}
    host=${host##*@}
    case $url in https://*) host=${host%:443} ;; http://*) host=${host%:80} ;; esac
  fi
  case $host in
    "" | *[!A-Za-z0-9.:-]*) NET="" ;;
    *) NET="=$host" ;;
  esac
}

# Node runs the JavaScript beside hook.ts (hook.mjs, the same code with its types stripped) from 20 on, and hook.ts
# itself from 22.18 (23.6 on the odd line), where it strips the types on every start.
node_runs() {
  # From "/": a version manager's shim picks its program by the folder it runs in, and a repository's
  # .tool-versions or .nvmrc must not choose what runs (or see the environment, the plugin's URL among it).
  version=$(cd / && "$1" --version 2>/dev/null) || return 1
  version=${version#v}
  major=${version%%.*}
  rest=${version#*.}
  minor=${rest%%.*}
  case $major$minor in "" | *[!0-9]*) return 1 ;; esac
  [ -n "$NODE_HOOK" ] && [ "$major" -ge 20 ] && return 0
  case $HOOK in *.ts) ;; *) [ "$major" -ge 20 ]; return ;; esac
  [ "$major" -ge 24 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge 18 ]; } || { [ "$major" -eq 23 ] && [ "$minor" -ge 6 ]; }
}

# Chooses the runtime: the one given (install checked its version), else the one install chose, if it is still
# there, else the first found. Sets KIND and RUNTIME.
choose_runtime() {
  if [ -n "$GIVEN_KIND" ] && usable "$GIVEN_PATH"; then
    KIND=$GIVEN_KIND
    RUNTIME=$GIVEN_PATH
    return 0
  fi
  if [ -z "$GIVEN_KIND" ] && [ -n "$INSTALLED_KIND" ] && usable "$INSTALLED_PATH"; then
    KIND=$INSTALLED_KIND
    RUNTIME=$INSTALLED_PATH
    return 0
  fi
  case $HOOK in
    *.ts) kinds="bun deno node" ;;
    *) kinds="node" ;;
  esac
  for kind in $kinds; do
    find_program "$kind" || FOUND=""
    for candidate in "$FOUND" "${HOME:-}/.$kind/bin/$kind"; do
      if usable "$candidate" && { [ "$kind" != node ] || node_runs "$candidate"; }; then
        KIND=$kind
        RUNTIME=$candidate
        return 0
      fi
    done
  done
  return 1
}

# Adds a word to WORDS, the command line being built (one word per line).
add_words() {
  for word in "$@"; do
    WORDS="$WORDS$word
"
  done
}

# Sets WORDS to the command line that runs hook.ts, one word per line: narrow Deno permissions for an event (and
# ping-test, doctor's test of them), every permission for a command people type. Fails when a path cannot go into
# Deno's flags.
runtime_words() {
  WORDS=""
  case $KIND in
    bun)
      # shellcheck disable=SC2086 # the flags are split on purpose
      add_words "$RUNTIME" $BUN_FLAGS "$HOOK"
      ;;
    node) add_words "$RUNTIME" "${NODE_HOOK:-$HOOK}" ;;
    deno)
      real_path "$RUNTIME"
      deno=$REAL
      allow_run=--allow-run=$deno
      case ${REAL##*/} in
        deno) ;;
        *)
          # A version manager's shim (mise) leads to the manager, not to Deno: run the shim itself (from "/", where
          # only its global choice holds), and let the hook start its sender through the Deno that turns out to be.
          deno=$RUNTIME
          allow_run=--allow-run
          ;;
      esac
      if [ "$1" = all ]; then
        # shellcheck disable=SC2086
        add_words "$deno" run $DENO_FLAGS --allow-all "$HOOK"
        return 0
      fi
      find_folders
      reads="$CLAUDE/projects"
      projects=/
      if [ -d "$CLAUDE/projects" ]; then
        real_path "$CLAUDE/projects"
        projects=$REAL
        [ "$projects" = "$CLAUDE/projects" ] || reads="$reads,$projects"
      fi
      flag_safe "$STATE" && flag_safe "$CLAUDE" && flag_safe "$deno" && flag_safe "$HOOK" && flag_safe "$projects" ||
        return 1
      net_host
      # shellcheck disable=SC2086
      add_words "$deno" run $DENO_FLAGS "--allow-net$NET" "--allow-env=$ENV_NAMES" \
        "--allow-read=$reads,$STATE,$deno,$MANAGED_DIRS" "--allow-write=$STATE" "$allow_run" --allow-sys=uid \
        "$HOOK"
      ;;
  esac
}

# Says that no runtime runs hook.ts for a command, and what to install.
no_runtime() {
  found=""
  find_program node && found=" (found Node $("$FOUND" --version 2>/dev/null), too old)"
  gone=""
  [ -n "$INSTALLED_KIND" ] && gone=" (install chose $INSTALLED_PATH, which is gone)"
  if [ -n "$NODE_HOOK" ]; then
    printf '%s
' "TelemHQ: no runtime for ${HOOK##*/}$gone: looked for Bun, Deno and Node 20 or later on PATH$found." >&2
    echo "Install one (Bun: https://bun.sh, Deno: https://deno.com, or Node 20+), then run this command again." >&2
  else
    printf '%s
' "TelemHQ: no runtime for ${HOOK##*/}$gone: looked for Bun, Deno and Node 22.18 or later on PATH$found." >&2
    echo "Install one (Bun: https://bun.sh, Deno: https://deno.com, or Node 22.18+), then run this command again." >&2
  fi
  [ -n "$gone" ] && echo "Or install again for Node 20 or later, from a clone: sh hooks/telemhq.sh install --url -" >&2
  return 0
}

# The same, for the user inside Claude Code: a SessionStart hook's JSON answer (nothing in it comes from outside).
no_runtime_notice() {
  printf '%s
' '{"systemMessage":"TelemHQ: no runtime for the hook (looked for Bun, Deno and Node 20 or later on PATH), so no usage is sent. Install one (https://bun.sh, https://deno.com or Node 20+), then start Claude Code again; sh <plugin folder>/hooks/telemhq.sh doctor says more."}'
}

# Runs a command of hook.ts in the foreground, in the folder it was asked from (doctor reads its project).
run_command() {
  if ! choose_runtime; then
    no_runtime
    return 1
  fi
  mode=all
  if [ "$1" = ping-test ]; then
    # doctor's test of the hook's own permissions, run as an event would be: from "/".
    mode=narrow
    cd / || return 1
  fi
  if ! runtime_words "$mode"; then
    echo "TelemHQ: a path holds a comma, which Deno's permission flags cannot express: use Bun." >&2
    return 1
  fi
  # Started from "/" too: a version manager's shim would pick the program by this folder's files. hook.ts goes
  # back to the folder named here once it runs (doctor and install read its project).
  TELEMHQ_EVENT_DIR=$PWD && export TELEMHQ_EVENT_DIR
  cd / || return 1
  old_ifs=$IFS
  IFS='
'
  set -f
  # shellcheck disable=SC2086 # one word per line: split on newlines only, never globbed
  set -- $WORDS "$@"
  set +f
  IFS=$old_ifs
  exec "$@"
}

# Hands the event (stdin) to hook.ts in a session of its own, from "/", and returns at once.
hand_on() {
  if ! choose_runtime || ! runtime_words narrow; then
    find_program cat && "$FOUND" >/dev/null
    return 0
  fi
  # The project folder goes by the environment, which only this user can read: a command line is every user's.
  TELEMHQ_EVENT_DIR=$PWD && export TELEMHQ_EVENT_DIR
  old_ifs=$IFS
  IFS='
'
  set -f
  # shellcheck disable=SC2086 # one word per line: split on newlines only, never globbed
  set -- $WORDS --detached
  set +f
  IFS=$old_ifs
  # A background command of a script reads /dev/null unless told otherwise: the event goes through fd 3.
  exec 3<&0
  cd / || return 0
  # Under TELEMHQ_HOOK_DEBUG=1 the hook's one line goes where this script's stderr goes; otherwise nowhere.
  [ "${TELEMHQ_HOOK_DEBUG:-}" = 1 ] || exec 2>/dev/null
  if find_program setsid; then
    "$FOUND" "$@" <&3 >/dev/null &
  elif find_program perl; then
    "$FOUND" -MPOSIX -e 'POSIX::setsid(); exec @ARGV' "$@" <&3 >/dev/null &
  else
    "$@" <&3 >/dev/null &
  fi
}

usage() {
  cat >&2 <<'USAGE'
Usage: telemhq.sh                     hand one Claude Code event (on stdin) to the hook (what Claude Code runs)
       telemhq.sh tool                the same for a tool event, sent only with the plugin's tool_activity option
       telemhq.sh COMMAND [ARGS...]   run a command: doctor | status | flush | log | report | install | uninstall | command
       telemhq.sh --help              the hook's own help, with every command
USAGE
}

main() {
  absolute_path
  # shellcheck disable=SC2086 # the names are split on purpose
  unset $UNSAFE_ENV
  # This script's folder, from its own path alone (no program a broken PATH could swap, never the current folder
  # by accident): absolute as Claude Code runs it (C:/Users/... in Git Bash on Windows), or relative to where a
  # person typed it.
  case $0 in
    */*) absolute "$0" && here=${0%/*} || here=$PWD/${0%/*} ;;
    *) here=$PWD ;;
  esac
  absolute "$here" || exit 0
  # The hook beside it: the plugin's (hooks/../hook.ts), or the one install put in Claude Code's hooks/.
  HOOK=${here%/*}/hook.ts
  for installed in "$here/telemhq.ts" "$here/telemhq.mjs"; do
    [ -f "$HOOK" ] || HOOK=$installed
  done
  NODE_HOOK=""
  GIVEN_KIND=""
  GIVEN_PATH=""
  HOST_OPTION=""
  while [ $# -ge 2 ]; do
    case $1 in
      --bun | --deno | --node) GIVEN_KIND=${1#--} GIVEN_PATH=$2 ;;
      --hook) HOOK=$2 ;;
      --host) HOST_OPTION=$2 ;;
      *) break ;;
    esac
    shift 2
  done
  # Node runs plain JavaScript beside hook.ts when there is one (no type stripping on every event), through its
  # starter (a private compile cache) when there is one.
  base=${HOOK%.ts}
  base=${base%.mjs}
  if [ -f "$base-node.mjs" ]; then
    NODE_HOOK=$base-node.mjs
  elif [ -f "$base.mjs" ]; then
    NODE_HOOK=$base.mjs
  fi
  case "${1:-}" in
    "") hand_on ;;
    tool)
      # Tool events only with the plugin's tool_activity option on (absent: off).
      if [ "${CLAUDE_PLUGIN_OPTION_TOOL_ACTIVITY:-false}" = true ]; then hand_on; else cat >/dev/null; fi
      ;;
    session-start)
      # Once a session (hooks.json: at startup and resume), a word to the user when no runtime can run the hook,
      # which would otherwise drop every event silently: Claude Code shows a SessionStart hook's systemMessage.
      # With a runtime, nothing: no output, nothing started.
      find_program cat && "$FOUND" >/dev/null
      choose_runtime || no_runtime_notice
      ;;
    --print-argv)
      # For the tests: the command line an event would get, one word per line.
      choose_runtime && runtime_words narrow && printf '%s' "$WORDS"
      ;;
    --help | -h | help) run_command --help || usage ;;
    doctor | status | flush | log | report | install | uninstall | command | ping-test) run_command "$@" ;;
    *)
      echo "telemhq.sh: unknown command \"$1\": run telemhq.sh --help for the commands." >&2
      exit 2
      ;;
  esac
  exit $?
}

main "$@"
