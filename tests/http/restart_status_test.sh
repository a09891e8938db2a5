#!/usr/bin/env bash
# What `berth status` says of restarts (docs/supervision.md, "Restarts in
# status"): a restart asked for with `berth restart` is counted, apart from
# the restarts after an exit, and it is no error; a crash still is.
# Usage: restart_status_test.sh BERTH FIXTURE SOURCE_DIR
set -u
BERTH=$1 FIXTURE=$2 SRC=$3
. "$SRC/tests/lib/serve_scratch.sh"
printf '{ "listen": "127.0.0.1:%s", "mcpServers": { "f": { "command": "%s" } } }\n' "$PORT" "$FIXTURE" >"$TMP/c.json"
st() { "$BERTH" status --json --config "$TMP/c.json" 2>/dev/null | jq -c '.servers[] | select(.name == "f")'; }
field() { st | jq -r ".$1"; }
# wait_new_pid OLD: until f is ready with another pid than OLD
wait_new_pid() {
  local p
  for _ in $(seq 100); do
    p=$(st | jq -r 'select(.state == "ready") | .pid')
    [ -n "$p" ] && [ "$p" != "$1" ] && return 0
    sleep 0.1
  done
  return 1
}
"$BERTH" serve --config "$TMP/c.json" >/dev/null 2>"$TMP/serve.log" &
spid=$!
wait_new_pid 0 || { echo "FAIL: f not ready: $(cat "$TMP/serve.log")"; exit 1; }
[ "$(st | jq -c '[.restarts, .restarts_requested, .last_error]')" = '[0,0,null]' ] && ok || fail "at start: $(st)"

# ---- a restart asked for: counted, no error ---------------------------------
pid=$(field pid)
"$BERTH" restart f --config "$TMP/c.json" >"$TMP/rs.out" 2>&1 || fail "berth restart: $(cat "$TMP/rs.out")"
wait_new_pid "$pid" && ok || fail "f did not come back: $(st)"
s=$(st)
[ "$(jq .restarts <<<"$s")" = 1 ] && ok || fail "a requested restart is not counted: $s"
[ "$(jq .restarts_requested <<<"$s")" = 1 ] && ok || fail "not told apart as requested: $s"
[ "$(jq -r .last_error <<<"$s")" = null ] && ok || fail "a requested restart left an error: $s"
"$BERTH" status --config "$TMP/c.json" >"$TMP/st.txt" 2>&1
grep -q '^f  *ready  *[0-9]*  *1 ' "$TMP/st.txt" && ok || fail "berth status text: $(cat "$TMP/st.txt")"

# ---- a crash: counted as a restart after an exit, with its error ------------
pid=$(field pid)
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
H=(-s -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
sid=$(curl "${H[@]}" -D - -o /dev/null "$URL" -d "$INIT" | tr -d '\r' | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p')
curl "${H[@]}" -H "Mcp-Session-Id: $sid" "$URL" -d '{"jsonrpc":"2.0","method":"notifications/initialized"}' >/dev/null
curl "${H[@]}" -H "Mcp-Session-Id: $sid" "$URL" \
  -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"f__crash","arguments":{"code":3}}}' >/dev/null
wait_new_pid "$pid" && ok || fail "f did not come back after its crash: $(st)"
s=$(st)
[ "$(jq .restarts <<<"$s")" = 2 ] && ok || fail "restarts after a crash: $s"
[ "$(jq .restarts_requested <<<"$s")" = 1 ] && ok || fail "a crash was counted as requested: $s"
[ "$(jq -r .last_error <<<"$s")" = "server f exited with status 3" ] && [ "$(jq .last_exit <<<"$s")" = 3 ] && ok \
  || fail "the crash's error: $s"

# ---- asked for again: the crash's error is not overwritten -----------------
pid=$(field pid)
"$BERTH" restart f --config "$TMP/c.json" >/dev/null 2>&1
wait_new_pid "$pid" && ok || fail "f did not come back: $(st)"
[ "$(st | jq -c '[.restarts, .restarts_requested, .last_error, .last_exit]')" = '[3,2,"server f exited with status 3",3]' ] && ok \
  || fail "after a second requested restart: $(st)"

stop_serve $spid
spid=""
finish
