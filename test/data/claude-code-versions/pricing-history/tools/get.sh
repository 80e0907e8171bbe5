#!/bin/bash
# usage: get.sh VERSION -> /tmp/cc/js/VERSION.js (cli.js or extracted binary text)
set -e
V=$1
OUT=/tmp/cc/js/$V.js
[ -s $OUT ] && exit 0
:
D=$(mktemp -d /tmp/cc/work/$V.XXXX); cd $D; export npm_config_cache=$D/.npmcache
if npm pack @anthropic-ai/claude-code@$V --silent >/dev/null 2>&1; then :; fi
T=$(ls *.tgz)
if tar tzf $T | grep -q '^package/cli.js$'; then
  tar xzf $T package/cli.js; mv package/cli.js $OUT
elif tar tzf $T | grep -q '^package/cli.mjs$'; then
  tar xzf $T package/cli.mjs; mv package/cli.mjs $OUT
else
  rm -f $T
  npm pack @anthropic-ai/claude-code-linux-x64@$V --silent >/dev/null 2>&1
  T=$(ls *.tgz)
  tar xzf $T
  B=$(find package -type f -size +10M | head -1)
  strings -a -n 8 $B > $OUT  # keep long printable runs
fi
cd /; rm -rf $D

ls -la $OUT
