#!/usr/bin/env bash
# berth serve's event loop (docs/http.md, "Connections and threads"), with a
# real berth serve in front of the MCP fixture and curl as the clients:
#  - a streamed call that says nothing opens its event stream after a
#    second, while the call still runs (the stream's thread, not the job's,
#    resumes the connection: the loop must be woken for it)
#  - a slow streamed call and a slow plain call at once do not hold a third
#    client's call: neither runs on a loop thread past its first
#    milliseconds, whatever the stream did meanwhile
# Run as is (epoll, berth's loop threads) and with BERTH_HTTP_MHD_LOOP=1.
# Usage: loop_test.sh BERTH FIXTURE SOURCE_DIR
set -u
BERTH=$1 FIXTURE=$2 SRC=$3
. "$SRC/tests/lib/serve_scratch.sh"
# three servers: the fixture answers one call at a time, so each slow call
# and the third client's call have their own
printf '{ "listen": "127.0.0.1:%s", "mcpServers": { "fx": { "command": "%s" }, "fy": { "command": "%s" }, "fz": { "command": "%s" } } }\n' \
  "$PORT" "$FIXTURE" "$FIXTURE" "$FIXTURE" >"$TMP/c.json"
"$BERTH" serve --config "$TMP/c.json" >"$TMP/serve.out" 2>"$TMP/serve.log" &
spid=$!
for _ in $(seq 200); do [ "$(grep -c "server f[xyz] ready" "$TMP/serve.log")" = 3 ] && break; sleep 0.05; done
H=(-s -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
# session CAPS: a new initialized session declaring CAPS, its id printed
session() {
  local sid
  sid=$(curl "${H[@]}" -D - -o /dev/null "$URL" -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\",\"capabilities\":$1,\"clientInfo\":{\"name\":\"curl\",\"version\":\"1\"}}}" \
        | tr -d '\r' | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p')
  curl "${H[@]}" -H "Mcp-Session-Id: $sid" "$URL" -d '{"jsonrpc":"2.0","method":"notifications/initialized"}' >/dev/null
  echo "$sid"
}
# call SID ID TOOL ARGS [META]: prints "first-byte-s total-s", the body in
# $TMP/call.ID
call() {
  curl "${H[@]}" -N -H "Mcp-Session-Id: $1" -o "$TMP/call.$2" -w '%{time_starttransfer} %{time_total}' "$URL" \
    -d "{\"jsonrpc\":\"2.0\",\"id\":$2,\"method\":\"tools/call\",\"params\":{\"name\":\"$3\",\"arguments\":$4${5:+,\"_meta\":$5}}}"
}
ms() { awk -v t="$1" 'BEGIN { printf "%d", t * 1000 }'; }
answer() { sed -n 's/^data: //p' "$TMP/call.$1" | jq -r 'select(.id == '"$1"') | .result.content[0].text // empty' | head -1; }

streamer=$(session '{"sampling":{}}')
plain=$(session '{}')
third=$(session '{}')
[ -n "$streamer" ] && [ -n "$plain" ] && [ -n "$third" ] && ok || fail "no sessions: $(cat "$TMP/serve.log")"

# ---- a quiet streamed call opens its stream after a second
set -- $(call "$streamer" 2 fx__sleep '{"ms":3000}' '{"progressToken":"p"}')
note "a streamed 3 s call: first byte after $(ms "$1") ms, answer after $(ms "$2") ms"
[ "$(ms "$1")" -lt 2000 ] && ok || fail "the stream of a quiet call opened after $(ms "$1") ms, not after about 1 s"
[ "$(ms "$2")" -ge 2900 ] && [ -n "$(answer 2)" ] && ok || fail "the streamed call's answer: $(cat "$TMP/call.2")"

# ---- two slow calls at once do not hold a third client
call "$streamer" 3 fx__sleep '{"ms":4000}' '{"progressToken":"q"}' >"$TMP/t3" &
a=$!
sleep 1.5 # A's stream is open now
call "$plain" 4 fz__sleep '{"ms":2500}' >"$TMP/t4" &
b=$!
sleep 0.5
set -- $(call "$third" 5 fy__echo '{"text":"third"}')
note "an echo while a streamed and a plain slow call run: $(ms "$2") ms"
[ "$(answer 5)" = third ] && ok || fail "the third client's call: $(cat "$TMP/call.5")"
[ "$(ms "$2")" -lt 500 ] && ok || fail "the third client's call took $(ms "$2") ms while two slow calls ran"
wait $a $b
[ -n "$(answer 3)" ] && [ -n "$(answer 4)" ] && ok || fail "the slow calls' answers: $(cat "$TMP/call.3") / $(cat "$TMP/call.4")"

stop_serve $spid
spid=""
finish
