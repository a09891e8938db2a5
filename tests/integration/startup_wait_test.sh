#!/usr/bin/env bash
# A client that lists (or calls) at once while servers are still starting
# is answered once they are ready, not with an empty list
# (docs/http.md, "Servers still starting"), bounded by
# timeouts.startup_wait:
#  - slow (a fixture started after a 1 s sleep) and fast (a fixture):
#    initialize, initialized, tools/list and a call of slow's echo sent at
#    once get both servers' tools and the echo;
#  - with "startup_wait": 1 and a server that never answers initialize, the
#    first list answers after about 1 s with what is ready, and the next
#    at once; with 0, at once;
#  - once every server is ready, a list takes no wait.
# Usage: startup_wait_test.sh BERTH FIXTURE SOURCE_DIR stdio|http
set -u
BERTH=$1 FIXTURE=$2 SRC=$3 MODE=$4
TMP=$(mktemp -d)
bpid=""
trap '[ -n "$bpid" ] && kill $bpid 2>/dev/null; exec 8>&- 9<&- 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
. "$SRC/tests/lib/checks.sh"
. "$SRC/tests/lib/free_port.sh"
export HOME="$TMP/home"
unset XDG_RUNTIME_DIR
mkdir -p "$HOME"
N=$(printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' \
      '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
      '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' | "$FIXTURE" 2>/dev/null |
    jq -s '.[] | select(.id == 2) | .result.tools | length')
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'
INITED='{"jsonrpc":"2.0","method":"notifications/initialized"}'
LIST='{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
CALL='{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"slow__echo","arguments":{"text":"at once"}}}'
ms() { echo $(( $(date +%s%N) / 1000000 )); }

config() { # STARTUP_WAIT ("" for the default) SERVERS_JSON
  local port
  port=$(free_port)
  URL=http://127.0.0.1:$port/mcp
  jq -n --arg listen "127.0.0.1:$port" --argjson servers "$2" --arg wait "$1" \
    '{ listen: $listen, mcpServers: $servers } +
     (if $wait == "" then {} else { timeouts: { startup_wait: ($wait | tonumber) } } end)' >"$TMP/c.json"
}
SLOW_FAST=$(jq -n --arg fx "$FIXTURE" '{
  slow: { command: "/bin/sh", args: ["-c", "sleep 1; exec \"$0\"", $fx] },
  fast: { command: $fx } }')
# slow after 4 s: what "no wait" answers cannot have it, even on a loaded
# machine where berth itself takes a while to start
SLOWER_FAST=$(jq -n --arg fx "$FIXTURE" '{
  slow: { command: "/bin/sh", args: ["-c", "sleep 4; exec \"$0\"", $fx] },
  fast: { command: $fx } }')
FAST_MUTE=$(jq -n --arg fx "$FIXTURE" '{
  fast: { command: $fx },
  mute: { command: "/bin/sh", args: ["-c", "exec sleep 60"], timeouts: { initialize: 30 } } }')

# ---- the two fronts, as a client sees them -----------------------------------
# start: berth on the config; send MSG...: requests at once; answer ID: the
# response with that id (waits up to 20 s); stop: berth ends
start() {
  if [ "$MODE" = stdio ]; then
    coproc B { exec "$BERTH" stdio --config "$TMP/c.json" 2>"$TMP/log"; }
    bpid=$B_PID
    exec 8>&"${B[1]}" 9<&"${B[0]}"
    exec {B[1]}>&- {B[0]}<&-
  else
    "$BERTH" serve --config "$TMP/c.json" >/dev/null 2>"$TMP/log" &
    bpid=$!
    for _ in $(seq 200); do
      curl -s -o /dev/null "$URL" -d '' && break
      kill -0 $bpid 2>/dev/null || { fail "berth serve ended: $(cat "$TMP/log")"; break; }
      sleep 0.01
    done
    sid=""
  fi
}
H=(-s -H 'Content-Type: application/json' -H 'Accept: application/json')
send() {
  local m
  for m in "$@"; do
    if [ "$MODE" = stdio ]; then
      printf '%s\n' "$m" >&8
    elif [ -z "$sid" ]; then
      sid=$(curl "${H[@]}" -D - -o "$TMP/http.1" "$URL" -d "$m" | tr -d '\r' | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p')
    else
      # each request in parallel, as a client that does not wait would
      curl "${H[@]}" -H "Mcp-Session-Id: $sid" "$URL" -d "$m" >>"$TMP/http.$(jq -r '.id // "n"' <<<"$m")" &
    fi
  done
}
answer() { # ID
  local line id
  if [ "$MODE" = stdio ]; then
    # answers come in any order: one read before its turn waits here
    if [ -s "$TMP/early.$1" ]; then cat "$TMP/early.$1"; rm -f "$TMP/early.$1"; return 0; fi
    while IFS= read -r -t 20 line <&9; do
      id=$(jq -c .id <<<"$line" 2>/dev/null)
      [ "$id" = "$1" ] && { printf '%s\n' "$line"; return 0; }
      [ -n "$id" ] && [ "$id" != null ] && printf '%s\n' "$line" >"$TMP/early.$id"
    done
    return 1
  fi
  for _ in $(seq 2000); do
    [ -s "$TMP/http.$1" ] && jq -e . "$TMP/http.$1" >/dev/null 2>&1 && { cat "$TMP/http.$1"; rm -f "$TMP/http.$1"; return 0; }
    sleep 0.01
  done
  return 1
}
stop() {
  if [ "$MODE" = stdio ]; then exec 8>&- 9<&-; else kill -TERM $bpid 2>/dev/null; fi
  wait $bpid
  bpid=""
  rm -f "$TMP"/http.* "$TMP"/early.*
}
tools_of() { jq -r '.result.tools[]?.name' | sed 's/__.*//' | sort | uniq -c | awk '{ printf "%s=%s ", $2, $1 }'; }

# ---- all at once, while slow starts --------------------------------------------
config "" "$SLOW_FAST"
start
[ "$MODE" = http ] && send "$INIT" && answer 1 >/dev/null
t0=$(ms)
if [ "$MODE" = stdio ]; then send "$INIT" "$INITED" "$LIST" "$CALL"; else send "$INITED" "$LIST" "$CALL"; fi
r=$(answer 2)
took=$(( $(ms) - t0 ))
[ "$(tools_of <<<"$r")" = "fast=$N slow=$N " ] && ok || fail "the first list, sent at once: $(tools_of <<<"$r") after $took ms: $(head -c 300 <<<"$r")"
r=$(answer 3)
[ "$(jq -r '.result.content[0].text' <<<"$r")" = "at once" ] && ok || fail "a call sent at once: $r"
note "first list answered after $took ms (slow starts after 1 s)"
# every server ready: no wait at all
for _ in $(seq 100); do grep -q "server slow ready" "$TMP/log" && break; sleep 0.05; done
t0=$(ms)
send '{"jsonrpc":"2.0","id":4,"method":"tools/list"}'
r=$(answer 4)
took=$(( $(ms) - t0 ))
[ "$took" -lt 1000 ] && [ "$(tools_of <<<"$r")" = "fast=$N slow=$N " ] && ok || fail "a list with every server ready took $took ms: $(tools_of <<<"$r")"
stop

# ---- bounded: a server that never answers initialize --------------------------
config 1 "$FAST_MUTE"
start
[ "$MODE" = http ] && send "$INIT" && answer 1 >/dev/null
t0=$(ms)
if [ "$MODE" = stdio ]; then send "$INIT" "$INITED" "$LIST"; else send "$INITED" "$LIST"; fi
r=$(answer 2)
took=$(( $(ms) - t0 ))
[ "$(tools_of <<<"$r")" = "fast=$N " ] && ok || fail "bounded wait, the list: $(tools_of <<<"$r")"
[ "$took" -ge 700 ] && [ "$took" -lt 3000 ] && ok || fail "the first list waited $took ms for startup_wait 1 s"
t0=$(ms)
send '{"jsonrpc":"2.0","id":4,"method":"tools/list"}'
r=$(answer 4)
took=$(( $(ms) - t0 ))
[ "$took" -lt 1000 ] && ok || fail "the next list, past startup_wait, took $took ms"
send '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"mute__echo","arguments":{"text":"x"}}}'
r=$(answer 5)
jq -e '.error.code == -32030 and (.error.message | test("server mute is not running \\(starting"))' <<<"$r" >/dev/null && ok \
  || fail "a call of a server still starting past startup_wait: $r"
stop

# ---- startup_wait 0: no wait --------------------------------------------------
config 0 "$SLOWER_FAST"
start
[ "$MODE" = http ] && send "$INIT" && answer 1 >/dev/null
t0=$(ms)
if [ "$MODE" = stdio ]; then send "$INIT" "$INITED" "$LIST"; else send "$INITED" "$LIST"; fi
r=$(answer 2)
took=$(( $(ms) - t0 ))
[ "$took" -lt 3000 ] && ! tools_of <<<"$r" | grep -q slow && ok || fail "startup_wait 0: $(tools_of <<<"$r") after $took ms"
stop

finish
