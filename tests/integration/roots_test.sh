#!/usr/bin/env bash
# A server that asks roots/list outside any call (after
# notifications/initialized, as filesystem servers do) is answered by
# berth stdio (docs/http.md, "Roots"): with the config's roots before a
# client gave its own, then with the roots of the client, which berth asks
# on stdout itself; and again when the client says they changed.
# With "filesystem" (and BERTH_NPM_PREFIX from .ci/npm-deps): the same
# with the real @modelcontextprotocol/server-filesystem, whose allowed
# folders become the roots berth gives it.
# Usage: roots_test.sh BERTH FIXTURE SOURCE_DIR [filesystem]
set -u
BERTH=$1 FIXTURE=$2 SRC=$3 MODE=${4:-fixture}
TMP=$(mktemp -d)
trap 'kill $BPID 2>/dev/null; rm -rf "$TMP"' EXIT
. "$SRC/tests/lib/checks.sh"
export HOME="$TMP/home"
unset XDG_RUNTIME_DIR
mkdir -p "$HOME"
if [ "$MODE" = filesystem ]; then
  [ -n "${BERTH_NPM_PREFIX:-}" ] || { echo "FAIL: BERTH_NPM_PREFIX is not set; run .ci/npm-deps first: export BERTH_NPM_PREFIX=\$(.ci/npm-deps | tail -1)"; exit 1; }
  FS=$BERTH_NPM_PREFIX/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js
  [ -f "$FS" ] || { echo "FAIL: server-filesystem is not under $BERTH_NPM_PREFIX; run .ci/npm-deps"; exit 1; }
  mkdir -p "$TMP/arg" "$TMP/configured" "$TMP/client"
  jq -n --arg node "$(command -v node)" --arg fs "$FS" --arg arg "$TMP/arg" --arg root "file://$TMP/configured" \
    '{ roots: [$root], mcpServers: { fs: { command: $node, args: [$fs, $arg] } } }' >"$TMP/c.json"
else
  cat >"$TMP/c.json" <<JSON
{ "roots": ["file:///srv/configured"],
  "mcpServers": { "a": { "command": "$FIXTURE", "env": { "FIXTURE_ASK_ROOTS": "1" } } } }
JSON
fi
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

if [ "$MODE" = filesystem ]; then
  # allowed_become DIR: the server's allowed folders are DIR alone
  allowed_become() {
    local r
    for _ in $(seq 100); do
      n=$((n + 1))
      send "{\"jsonrpc\":\"2.0\",\"id\":$n,\"method\":\"tools/call\",\"params\":{\"name\":\"fs__list_allowed_directories\",\"arguments\":{}}}"
      r=$(recv_id $n)
      r=$(jq -r '.result.content[0].text' <<<"$r" 2>/dev/null)
      [ "$r" = "Allowed directories:
$1" ] && return 0
      sleep 0.1
    done
    echo "  the server says: $r" >&2
    return 1
  }
  send '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'
  recv_id 1 >/dev/null
  send '{"jsonrpc":"2.0","method":"notifications/initialized"}'
  allowed_become "$TMP/configured" && ok || fail "server-filesystem did not take the configured roots: $(cat "$HOME/.cache/berth/logs/fs.log")"
  log=$HOME/.cache/berth/logs/fs.log
  grep -q "Failed to request" "$log" && fail "server-filesystem: $(grep "Failed to request" "$log")" || ok
  exec {B[1]}>&-
  wait $BPID
  coproc B { exec "$BERTH" stdio --config "$TMP/c.json" 2>"$TMP/err"; }
  BPID=$B_PID
  ROOTS="[{\"uri\":\"file://$TMP/client\"}]"
  send '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"roots":{"listChanged":true}},"clientInfo":{"name":"t","version":"1"}}}'
  recv_id 1 >/dev/null
  send '{"jsonrpc":"2.0","method":"notifications/initialized"}'
  allowed_become "$TMP/client" && ok || fail "server-filesystem did not take the client's roots"
  exec {B[1]}>&-
  wait $BPID && ok || fail "berth stdio exited $?: $(tail -3 "$TMP/err")"
  finish
  exit
fi

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
