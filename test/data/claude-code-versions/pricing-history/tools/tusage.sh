#!/bin/bash
V=$1; PORT=$((20000 + RANDOM % 20000))
/tmp/cc/run/install.sh $V
node /work/research/pricing/standin.mjs $PORT '{"input_tokens":250000,"output_tokens":1000}' 2>/dev/null & SP=$!; sleep 0.5
H=$(mktemp -d /tmp/cc/run/home.XXXX); cd $H
if [ -f /tmp/cc/run/$V/package/cli.js ]; then CMD="node /tmp/cc/run/$V/package/cli.js"; else CMD=$(find /tmp/cc/run/$V/native -type f -name 'claude*' | head -1); fi
HOME=$H ANTHROPIC_API_KEY=sk-ant-test ANTHROPIC_BASE_URL=http://127.0.0.1:$PORT DISABLE_AUTOUPDATER=1 timeout 90 $CMD -p "PRICEPROBE hi" --model claude-sonnet-4-20250514 --output-format json >/dev/null 2>&1
echo "$V $(grep -h '"type":"assistant"' $H/.claude/projects/*/*.jsonl | python3 -c "
import sys,json
for l in sys.stdin:
    d=json.loads(l); u=d['message'].get('usage',{}); print('out=%s in=%s model=%s req=%s' % (u.get('output_tokens'),u.get('input_tokens'),d['message'].get('model'),d.get('requestedModel')), end='; ')
")"
kill $SP; rm -rf $H
