#!/usr/bin/env bash
# A server that asks roots/list outside any call (after
# notifications/initialized, as filesystem servers do) is answered by
# berth stdio (docs/http.md, "Roots"): with the config's roots before a
# client gave its own, then with the roots of the client, which berth asks
# on stdout itself; and again when the client says they changed.
# Usage: roots_test.sh BERTH FIXTURE SOURCE_DIR
set -u
BERTH=$1 FIXTURE=$2 SRC=$3
TMP=$(mktemp -d)
trap 'kill $BPID 2>/dev/null; rm -rf "$TMP"' EXIT
. "$SRC/tests/lib/checks.sh"
export HOME="$TMP/home"
unset XDG_RUNTIME_DIR
mkdir -p "$HOME"
cat >"$TMP/c.json" <<JSON
{ "roots": ["file:///srv/configured"],
  "mcpServers": { "a": { "command": "$FIXTURE", "env": { "FIXTURE_ASK_ROOTS": "1" } } } }
JSON
coproc B { exec "$BERTH" stdio --config "$TMP/c.json" 2>"$TMP/err"; }
BPID=$B_PID
send() { printf '%s\n' "$1" >&"${B[1]}"; }
ROOTS='[]'
# recv_id ID: reads lines until the response with ID, answering berth's own
# roots/list with $ROOTS on the way (each one it asks is logged)
recv_id() {
  local line id
  while IFS= read -r -t 20 line <&"${B[0]}"; do
    if [ "$(jq -r '.method // empty' <<<"$line")" = roots/list ]; then
      id=$(jq -c .id <<<"$line")
      echo "$id" >>"$TMP/asked"
      send "{\"jsonrpc\":\"2.0\",\"id\":$id,\"result\":{\"roots\":$ROOTS}}"
      continue
    fi
    [ "$(jq -c '.id' <<<"$line" 2>/dev/null)" = "$1" ] && { printf '%s\n' "$line"; return 0; }
  done
  return 1
}
n=10
# roots_become JSON: a's roots tool says its last answer was {"roots": JSON}
roots_become() {
  local r want
  want=$(jq -c '{roots: .}' <<<"$1")
  for _ in $(seq 100); do
    n=$((n + 1))
    send "{\"jsonrpc\":\"2.0\",\"id\":$n,\"method\":\"tools/call\",\"params\":{\"name\":\"a__roots\",\"arguments\":{}}}"
    # not in a pipeline: bash closes a coprocess's pipes there
    r=$(recv_id $n)
    r=$(jq -c '.result.content[0].text | fromjson | .last' <<<"$r" 2>/dev/null)
    [ "$r" = "$want" ] && return 0
    sleep 0.05
  done
  echo "  a's last roots answer: $r" >&2
  return 1
}

# a client without roots: the configured ones
send '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'
recv_id 1 >/dev/null
send '{"jsonrpc":"2.0","method":"notifications/initialized"}'
roots_become '[{"uri":"file:///srv/configured"}]' && ok || fail "a server asking outside a call did not get the configured roots"
touch "$TMP/asked"
[ ! -s "$TMP/asked" ] && ok || fail "berth asked a client without roots for them"
exec {B[1]}>&-
wait $BPID

# a client with roots: berth asks it, the server gets them, and again when
# they change
coproc B { exec "$BERTH" stdio --config "$TMP/c.json" 2>"$TMP/err"; }
BPID=$B_PID
ROOTS='[{"uri":"file:///work/client","name":"client"}]'
send '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"roots":{"listChanged":true}},"clientInfo":{"name":"t","version":"1"}}}'
recv_id 1 >/dev/null
send '{"jsonrpc":"2.0","method":"notifications/initialized"}'
roots_become "$ROOTS" && ok || fail "the server did not get the client's roots"
[ "$(wc -l <"$TMP/asked")" = 1 ] && grep -q '^"berth-roots-' "$TMP/asked" && ok || fail "berth's questions to the client: $(cat "$TMP/asked")"
ROOTS='[{"uri":"file:///work/other"}]'
send '{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}'
roots_become "$ROOTS" && ok || fail "the server did not get the client's new roots"
[ "$(wc -l <"$TMP/asked")" = 2 ] && ok || fail "berth did not ask again after list_changed: $(cat "$TMP/asked")"
exec {B[1]}>&-
wait $BPID && ok || fail "berth stdio exited $?: $(tail -3 "$TMP/err")"
finish
