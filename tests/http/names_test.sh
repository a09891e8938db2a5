#!/usr/bin/env bash
# Who owns a tool name (docs/http.md, "Names"): with "namespace": "none"
# on two servers that both have env_dump, the name is the first's in config
# order, whatever is up. While the first is down (backoff after a crash) a
# list does not give its names to the second and a call of env_dump fails
# with -32030 naming the first; after a reload that restarts the first
# with a changed config, the name is still the first's.
# Usage: names_test.sh BERTH FIXTURE SOURCE_DIR
set -u
BERTH=$1 FIXTURE=$2 SRC=$3
. "$SRC/tests/lib/serve_scratch.sh"
config() { # FIRST_ENV_VALUE
  cat >"$TMP/c.json" <<JSON
{ "listen": "127.0.0.1:$PORT", "namespace": "none",
  "mcpServers": {
    "first": { "command": "$FIXTURE", "env": { "WHO": "first", "V": "$1" } },
    "second": { "command": "$FIXTURE", "env": { "WHO": "second" } } } }
JSON
}
state() { "$BERTH" status --json --config "$TMP/c.json" 2>/dev/null | jq -r --arg n "$1" '.servers[] | select(.name == $n) | "\(.state) \(.pid)"'; }
wait_state() { # NAME STATE [NOT_PID]
  local s
  for _ in $(seq 100); do
    s=$(state "$1")
    [ "${s%% *}" = "$2" ] && [ "${s#* }" != "${3:-}" ] && return 0
    sleep 0.05
  done
  return 1
}
H=(-s -H 'Content-Type: application/json' -H 'Accept: application/json')
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
sid=""
post() { curl "${H[@]}" -H "Mcp-Session-Id: $sid" "$URL" -d "$1"; }
open_session() {
  sid=$(curl "${H[@]}" -D - -o /dev/null "$URL" -d "$INIT" | tr -d '\r' | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p')
  post '{"jsonrpc":"2.0","method":"notifications/initialized"}' >/dev/null
}
names() { post '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' | jq -r '.result.tools[].name' | grep env_dump | sort | tr '\n' ' '; }
# who answers env_dump NAME: the server's WHO, or the error
who() {
  post "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"$1\",\"arguments\":{}}}" \
    | jq -r 'if .error then "error \(.error.code): \(.error.message)" else (.result.content[0].text | fromjson | .WHO) end'
}

config 1
"$BERTH" serve --config "$TMP/c.json" >/dev/null 2>"$TMP/serve.log" &
spid=$!
wait_state first ready && wait_state second ready || { echo "FAIL: not ready: $(cat "$TMP/serve.log")"; exit 1; }
open_session
hashed=$(names | tr ' ' '\n' | grep '^env_dump_')
[ "$(names)" = "env_dump $hashed " ] && ok || fail "names at start: [$(names)]"
[ "$(who env_dump)" = first ] && [ "$(who "$hashed")" = second ] && ok || fail "at start: env_dump -> $(who env_dump), $hashed -> $(who "$hashed")"

# ---- the first is down (its restart waits 1 s): its name is nobody else's ----
pid=$(state first | cut -d' ' -f2)
post '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"crash","arguments":{"code":3}}}' >/dev/null
wait_state first backoff && ok || fail "first is not in backoff: $(state first)"
[ "$(names)" = "$hashed " ] && ok || fail "while first is down, the list: [$(names)]"
w=$(who env_dump)
case "$w" in "error -32030: server first is not running (backoff: server first exited with status 3)") ok ;;
  *) fail "env_dump while first is down: $w" ;; esac
[ "$(who "$hashed")" = second ] && ok || fail "second's own while first is down: $(who "$hashed")"
wait_state first ready "$pid" && ok || fail "first did not come back: $(state first)"
[ "$(who env_dump)" = first ] && ok || fail "env_dump after first came back: $(who env_dump)"

# ---- a reload restarts the first (its env changed): still the first's --------
pid=$(state first | cut -d' ' -f2)
config 2
kill -HUP $spid
wait_state first ready "$pid" && ok || fail "first was not restarted by the reload: $(state first)"
grep -q "config reloaded: 1 started, 1 stopped, 1 unchanged" "$TMP/serve.log" && ok || fail "reload: $(grep reload "$TMP/serve.log")"
[ "$(names)" = "env_dump $hashed " ] && ok || fail "names after the reload: [$(names)]"
[ "$(who env_dump)" = first ] && [ "$(who "$hashed")" = second ] && ok \
  || fail "after the reload: env_dump -> $(who env_dump), $hashed -> $(who "$hashed")"
"$BERTH" status --json --config "$TMP/c.json" | jq -r '[.servers[].name] | join(" ")' | grep -qx "first second" && ok \
  || fail "status order after the reload: $("$BERTH" status --json --config "$TMP/c.json" | jq -c '[.servers[].name]')"

stop_serve $spid
spid=""
finish
