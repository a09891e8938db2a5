#!/usr/bin/env bash
# berth stdio: berth as one MCP server on its own stdin and stdout, in front
# of two fixture servers, driven by a coprocess client: the handshake, the
# merged namespaced tool list, a call, progress, a sampling request the
# server sends through berth to this client and the answer going back,
# cancellation; stdout holds nothing but JSON-RPC; stdin's end stops berth
# and its servers.
# Usage: stdio_front_test.sh BERTH FIXTURE
set -u
BERTH=$1 FIXTURE=$2
TMP=$(mktemp -d)
trap 'kill $BPID 2>/dev/null; rm -rf "$TMP"' EXIT
fails=0 passes=0
fail() { echo "FAIL: $1"; fails=$((fails+1)); }
ok() { passes=$((passes+1)); }
export HOME="$TMP/home"
unset XDG_RUNTIME_DIR
mkdir -p "$HOME"
# the fixture's own tool count, asked of it directly: each server's share
N=$(printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' \
      '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
      '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' | "$FIXTURE" 2>/dev/null |
    jq -s '.[] | select(.id == 2) | .result.tools | length')
[ "${N:-0}" -gt 10 ] || { echo "FAIL: the fixture listed ${N:-no} tools"; exit 1; }
cat >"$TMP/c.json" <<JSON
{ "mcpServers": { "a": { "command": "$FIXTURE" }, "b": { "command": "$FIXTURE" } } }
JSON
coproc B { exec "$BERTH" stdio --config "$TMP/c.json" 2>"$TMP/err"; }
BPID=$B_PID
send() { printf '%s\n' "$1" >&"${B[1]}"; }
# recv_id ID: reads lines until the response with ID; keeps every line
recv_id() {
  local line
  while IFS= read -r -t 20 line <&"${B[0]}"; do
    printf '%s\n' "$line" >>"$TMP/all"
    if [ "$(jq -c '.id' <<<"$line" 2>/dev/null)" = "$1" ] && jq -e 'has("result") or has("error")' <<<"$line" >/dev/null; then
      printf '%s\n' "$line"
      return 0
    fi
    # the server's sampling request, forwarded by berth: answer it
    if [ "$(jq -r '.method // empty' <<<"$line")" = sampling/createMessage ]; then
      id=$(jq -c .id <<<"$line")
      send "{\"jsonrpc\":\"2.0\",\"id\":$id,\"result\":{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"sampled by the test\"},\"model\":\"t\"}}"
    fi
  done
  return 1
}
send '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"sampling":{}},"clientInfo":{"name":"t","version":"1"}}}'
r=$(recv_id 1) && [ "$(jq -r .result.protocolVersion <<<"$r")" = 2025-11-25 ] && ok || fail "initialize: $r"
send '{"jsonrpc":"2.0","method":"notifications/initialized"}'
# servers join when ready
for _ in $(seq 100); do grep -q "server b ready" "$TMP/err" && grep -q "server a ready" "$TMP/err" && break; sleep 0.05; done
send '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
r=$(recv_id 2)
[ "$(jq '[.result.tools[].name | select(startswith("a__") or startswith("b__"))] | length' <<<"$r")" = $((2 * N)) ] && ok || fail "tools/list: $(jq -c '[.result.tools[].name]' <<<"$r")"
send '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"b__echo","arguments":{"text":"über stdio"}}}'
r=$(recv_id 3) && [ "$(jq -r '.result.content[0].text' <<<"$r")" = "über stdio" ] && ok || fail "echo: $r"
send '{"jsonrpc":"2.0","id":"p","method":"tools/call","params":{"name":"a__notify_progress","arguments":{"steps":3},"_meta":{"progressToken":"tok-9"}}}'
r=$(recv_id '"p"') && ok || fail "progress call: $r"
[ "$(grep -c '"progressToken":"tok-9"' "$TMP/all")" = 3 ] && ok || fail "progress notifications with the client's token: $(grep progress "$TMP/all")"
send '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"a__ask_sampling","arguments":{"prompt":"hi"}}}'
r=$(recv_id 4)
jq -e '.result.content[0].text | contains("sampled by the test")' <<<"$r" >/dev/null && ok || fail "sampling round trip: $r"
grep -q '"method":"sampling/createMessage"' "$TMP/all" && ok || fail "no sampling request reached the client"
# cancellation: a long sleep, cancelled, answers at once with an error
send '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"b__sleep","arguments":{"ms":20000}}}'
sleep 0.3
t0=$(date +%s)
send '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5,"reason":"test"}}'
r=$(recv_id 5)
[ $(( $(date +%s) - t0 )) -lt 5 ] && jq -e 'has("error")' <<<"$r" >/dev/null && ok || fail "cancel: $r"
# a server that is down: calls fail at once, naming it; it comes back
send '{"jsonrpc":"2.0","id":"c","method":"tools/call","params":{"name":"b__crash","arguments":{"code":3}}}'
r=$(recv_id '"c"') && [ "$(jq .error.code <<<"$r")" = -32030 ] && ok || fail "crash: $r"
send '{"jsonrpc":"2.0","id":"d","method":"tools/call","params":{"name":"b__echo","arguments":{"text":"x"}}}'
r=$(recv_id '"d"')
[ "$(jq .error.code <<<"$r")" = -32030 ] && jq -e '.error.message | test("server b")' <<<"$r" >/dev/null && ok || fail "call to a down server: $r"
for i in $(seq 60); do
  send "{\"jsonrpc\":\"2.0\",\"id\":\"e$i\",\"method\":\"tools/call\",\"params\":{\"name\":\"b__echo\",\"arguments\":{\"text\":\"back\"}}}"
  r=$(recv_id "\"e$i\"")
  [ "$(jq -r '.result.content[0].text // empty' <<<"$r")" = back ] && break
  sleep 0.1
done
[ "$(jq -r '.result.content[0].text // empty' <<<"$r")" = back ] && ok || fail "b did not come back: $r"
send '{"jsonrpc":"2.0","id":6,"method":"nope"}'
r=$(recv_id 6) && [ "$(jq .error.code <<<"$r")" = -32601 ] && ok || fail "unknown method: $r"
send 'not json'
send '{"jsonrpc":"2.0","id":7,"method":"ping"}'
r=$(recv_id 7) && ok || fail "ping after garbage: $r"
grep -q '"code":-32700' "$TMP/all" && ok || fail "no parse error for garbage"
# everything on stdout is JSON-RPC
bad=$(jq -c 'select(.jsonrpc != "2.0")' "$TMP/all" 2>&1)
[ -z "$bad" ] && ok || fail "stdout holds non-JSON-RPC: $bad"
pids=$(pgrep -P $BPID | tr '\n' ' ')
[ -n "$pids" ] && ok || fail "no server processes under berth"
exec {B[1]}>&-
wait $BPID
rc=$?
[ $rc = 0 ] && ok || fail "berth stdio exited $rc at the end of stdin: $(tail -5 "$TMP/err")"
left=""
for p in $pids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
[ -z "$left" ] && ok || fail "servers left after stdin ended:$left"
# namespace none on both: a name both offer is kept for the first, the
# second's gets a hash suffix, and the collision is logged, not shadowed
cat >"$TMP/none.json" <<JSON
{ "namespace": "none", "mcpServers": { "a": { "command": "$FIXTURE" }, "b": { "command": "$FIXTURE" } } }
JSON
out=$( (printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' \
          '{"jsonrpc":"2.0","method":"notifications/initialized"}'
        sleep 1.5
        printf '%s\n' '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"first"}}}'
        sleep 0.5) | "$BERTH" stdio --config "$TMP/none.json" 2>"$TMP/none.err")
names=$(jq -r 'select(.id == 2) | .result.tools[].name' <<<"$out" | sort)
[ "$(grep -c . <<<"$names")" = $((2 * N)) ] && ok || fail "namespace none: $(echo $names)"
grep -qx echo <<<"$names" && grep -qx 'echo_[0-9a-f]\{8\}' <<<"$names" && ok || fail "no suffixed echo: $(echo $names)"
[ "$(jq -r 'select(.id == 3) | .result.content[0].text' <<<"$out")" = first ] && ok || fail "echo routed: $out"
grep -q "tool name collision: echo is offered by a and b; a keeps it, b's is exposed as echo_" "$TMP/none.err" && ok \
  || fail "collision not logged: $(grep -i collision "$TMP/none.err")"

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
