#!/bin/bash
# install.sh VERSION -> /tmp/cc/run/VERSION/package/cli.js (or native binary)
set -e
V=$1; D=/tmp/cc/run/$V
exec 9>/tmp/cc/run/.lock.$V; flock 9
[ -d $D/package ] && exit 0
mkdir -p $D; cd $D; export npm_config_cache=$D/.npmc
npm pack @anthropic-ai/claude-code@$V --silent >/dev/null 2>&1
tar xzf *.tgz; rm -f *.tgz
if [ ! -f package/cli.js ]; then
  npm pack @anthropic-ai/claude-code-linux-x64@$V --silent >/dev/null 2>&1
  mkdir -p native; tar xzf *linux-x64*.tgz -C native; rm -f *.tgz
fi
rm -rf .npmc
