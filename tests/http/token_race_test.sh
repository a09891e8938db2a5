#!/usr/bin/env bash
# Two berths started at the same moment on one state folder (a service and
# a terminal, two clients launching berth stdio) both start: the one that
# loses the race to make control.token uses the winner's token instead of
# failing with "File exists". Twenty rounds, each on a fresh state folder.
# Usage: token_race_test.sh BERTH SOURCE_DIR
set -u
BERTH=$1 SRC=$2
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
. "$SRC/tests/lib/checks.sh"
. "$SRC/tests/lib/free_port.sh"
unset XDG_RUNTIME_DIR
for round in $(seq 20); do
  export HOME="$TMP/home$round"
  mkdir -p "$HOME"
  pa=$(free_port) pb=$(free_port)
  [ "$pa" = "$pb" ] && pb=$((pa + 1))
  printf '{ "listen": "127.0.0.1:%s", "mcpServers": {} }\n' "$pa" >"$TMP/a.json"
  printf '{ "listen": "127.0.0.1:%s", "mcpServers": {} }\n' "$pb" >"$TMP/b.json"
  "$BERTH" serve --config "$TMP/a.json" >/dev/null 2>"$TMP/a.log" &
  a=$!
  "$BERTH" serve --config "$TMP/b.json" >/dev/null 2>"$TMP/b.log" &
  b=$!
  for _ in $(seq 100); do
    grep -q "MCP endpoint" "$TMP/a.log" && grep -q "MCP endpoint" "$TMP/b.log" && break
    kill -0 $a 2>/dev/null && kill -0 $b 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 $a 2>/dev/null && kill -0 $b 2>/dev/null; then ok
  else fail "round $round: a berth did not start: $(cat "$TMP/a.log" "$TMP/b.log")"; fi
  # both answer with the one token in the file
  for c in a b; do
    "$BERTH" status --config "$TMP/$c.json" >/dev/null 2>"$TMP/st.err" && ok || fail "round $round: berth status for $c: $(cat "$TMP/st.err")"
  done
  kill -TERM $a $b 2>/dev/null
  wait $a $b 2>/dev/null
done
finish
