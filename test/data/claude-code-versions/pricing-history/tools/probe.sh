#!/bin/bash
# probe.sh VERSION MODEL USAGE_JSON [RESPONSE_MODEL] -> prints total_cost_usd etc.
V=$1; MODEL=$2; USAGE=$3; RM=$4
PORT=$((20000 + RANDOM % 20000))
/tmp/cc/run/install.sh $V || exit 1
node /work/research/pricing/standin.mjs $PORT "$USAGE" $RM 2>/tmp/cc/run/standin.$V.log &
SP=$!
sleep 0.5
H=$(mktemp -d /tmp/cc/run/home.XXXX)
if [ -f /tmp/cc/run/$V/package/cli.js ]; then CMD="node /tmp/cc/run/$V/package/cli.js"; else CMD=$(find /tmp/cc/run/$V/native -type f -name 'claude*' | head -1); fi
cd $H
HOME=$H ANTHROPIC_API_KEY=sk-ant-test ANTHROPIC_BASE_URL=http://127.0.0.1:$PORT DISABLE_TELEMETRY=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 \
  timeout 90 $CMD -p "PRICEPROBE say ok" --model "$MODEL" --output-format json > $H/out.json 2>$H/err.txt
echo "rc=$? $(python3 -c "
import json,sys
try:
  d=json.load(open('$H/out.json'))
  print('cost',repr(d.get('total_cost_usd',d.get('cost_usd'))),'modelUsage',json.dumps({k:v.get('costUSD') for k,v in (d.get('modelUsage') or {}).items()}))
except Exception as e: print('ERR',e,open('$H/out.json').read()[:300],open('$H/err.txt').read()[:300])
")"
kill $SP 2>/dev/null
grep -h '"costUSD"' -r $H/.claude/projects 2>/dev/null | head -2 | cut -c1-200
rm -rf $H
