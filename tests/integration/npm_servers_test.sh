#!/usr/bin/env bash
# Real MCP servers from npm through the built berth binary: `berth tools` and
# `berth call` against @modelcontextprotocol/server-everything and
# @modelcontextprotocol/server-memory, installed by .ci/npm-deps (which pins
# their versions). Run under node directly, by absolute path: no npx, no
# network during the test.
#   npm_servers_test.sh BERTH [NPM_PREFIX]
# NPM_PREFIX defaults to $BERTH_NPM_PREFIX (how ctest passes it). Without one,
# or without the packages in it, the test FAILS: it never skips.
set -u
BERTH=${1:-}
PREFIX=${2:-${BERTH_NPM_PREFIX:-}}
# shellcheck disable=SC2016 # the command is shown, not run
HOWTO='run .ci/npm-deps first: export BERTH_NPM_PREFIX=$(.ci/npm-deps | tail -1)'
[ -n "$BERTH" ] || { echo "usage: $0 BERTH [NPM_PREFIX]" >&2; exit 2; }
[ -x "$BERTH" ] || { echo "FAIL: no berth binary at $BERTH"; exit 1; }
command -v jq >/dev/null || { echo "FAIL: jq is required (.ci/setup installs it)"; exit 1; }
if [ -z "$PREFIX" ]; then
  echo "FAIL: BERTH_NPM_PREFIX is not set; $HOWTO"
  exit 1
fi
NODE=$(command -v node) || { echo "FAIL: node not found on PATH; $HOWTO"; exit 1; }

MCP=$PREFIX/node_modules/@modelcontextprotocol
# entry PACKAGE_DIR: the absolute path of the script its one bin names.
entry() {
  local pj=$1/package.json rel
  [ -f "$pj" ] || return 1
  rel=$(jq -r 'if (.bin | type) == "string" then .bin
               else .bin | to_entries[0].value end' "$pj") || return 1
  [ -f "$1/$rel" ] && echo "$1/$rel"
}
EVERYTHING=$(entry "$MCP/server-everything") ||
  { echo "FAIL: server-everything is not installed under $PREFIX; $HOWTO"; exit 1; }
MEMORY=$(entry "$MCP/server-memory") ||
  { echo "FAIL: server-memory is not installed under $PREFIX; $HOWTO"; exit 1; }
echo "node $("$NODE" --version) at $NODE"
echo "server-everything $(jq -r .version "$MCP/server-everything/package.json"): $EVERYTHING"
echo "server-memory $(jq -r .version "$MCP/server-memory/package.json"): $MEMORY"

TMP=$(mktemp -d /tmp/berth-npm.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/home"
fails=0
passes=0
fail() { echo "FAIL: $1"; fails=$((fails+1)); }
pass() { passes=$((passes+1)); }

MEMFILE=$TMP/memory/graph.jsonl
mkdir -p "$TMP/memory"
CFG=$TMP/config.json
jq -n --arg node "$NODE" --arg ev "$EVERYTHING" --arg mem "$MEMORY" \
      --arg memfile "$MEMFILE" '{
  timeouts: { initialize: 60, call: 60 },
  mcpServers: {
    everything: { command: $node, args: [$ev, "stdio"] },
    memory: { command: $node, args: [$mem],
              env: { MEMORY_FILE_PATH: $memfile } }
  }
}' >"$CFG"

# run WANT_RC ARGS...: runs berth with the config and an empty HOME (its
# logs go there), keeps stdout/stderr in $out/$err.
run() {
  local want=$1; shift
  HOME=$TMP/home "$BERTH" "$@" --config "$CFG" >"$TMP/out" 2>"$TMP/err" </dev/null
  rc=$?
  out=$(cat "$TMP/out"); err=$(cat "$TMP/err")
  if [ "$rc" != "$want" ]; then
    fail "berth $* exited $rc, expected $want"$'\n'"stdout: $out"$'\n'"stderr: $err"
    return 1
  fi
  return 0
}
# check DESC JQ_EXPR: the expression over $out (JSON) must give true.
check() {
  local got
  if got=$(jq -e "$2" <<<"$out" 2>&1); then pass; else
    fail "$1: jq '$2' gave ${got:-nothing} on:"$'\n'"$out"
  fi
}
eq() { # eq DESC GOT WANT
  if [ "$2" == "$3" ]; then pass; else fail "$1: got [$2], want [$3]"; fi
}

# --- berth tools everything --json ------------------------------------------
# The tools server-everything 2026.8.31 lists on stdio (its own names).
if run 0 tools everything --json; then
  check "one server in the answer" '.servers | length == 1'
  check "the server is everything, no error" \
    '.servers[0].server == "everything" and (.servers[0] | has("error") | not)'
  for t in echo get-sum get-env get-tiny-image trigger-long-running-operation; do
    check "everything lists $t" "[.servers[0].tools[].name] | index(\"$t\") != null"
  done
  check "echo has an input schema with message" \
    '.servers[0].tools[] | select(.name == "echo")
     | .inputSchema.properties | has("message")'
fi

# --- berth tools everything (the table) -------------------------------------
if run 0 tools everything; then
  case "$out" in
    *"everything  echo  Echoes back the input string"*) pass ;;
    *) fail "the table lacks the echo line:"$'\n'"$out" ;;
  esac
fi

# --- berth call everything echo / get-sum -------------------------------------
if run 0 call everything echo --args '{"message":"hi berth"}'; then
  eq "echo's text" "$out" "Echo: hi berth"
fi
if run 0 call everything echo --args '{"message":"hi berth"}' --json; then
  check "echo's result as JSON" \
    '.content == [{type: "text", text: "Echo: hi berth"}]'
fi
if run 0 call everything get-sum --args '{"a":2,"b":3}'; then
  case "$out" in *"is 5"*) pass ;; *) fail "get-sum 2+3: $out" ;; esac
fi
# an unknown tool: the server says so, berth exits 1
if run 1 call everything no-such-tool; then
  case "$err" in *no-such-tool*) pass ;;
    *) fail "unknown tool: stderr does not name it:"$'\n'"$err" ;; esac
fi

# --- memory: state kept in MEMORY_FILE_PATH across two berth runs ------------
# Each berth call starts its own server process: read_graph in the second
# one sees the entity only through the file the env variable named.
ENT='{"entities":[{"name":"berth_npm_test","entityType":"test run",
      "observations":["created through berth call"]}]}'
if run 0 call memory create_entities --args "$ENT" --json; then
  check "create_entities answers with the entity" \
    '[.content[].text | fromjson? | .[]?.name] | index("berth_npm_test") != null
     or ([.structuredContent.entities[]?.name] | index("berth_npm_test") != null)'
fi
if [ -s "$MEMFILE" ] && grep -q berth_npm_test "$MEMFILE"; then pass; else
  fail "the memory file $MEMFILE does not hold the entity: MEMORY_FILE_PATH did not reach the server"
  ls -la "$TMP/memory" "$(dirname "$MEMORY")" 2>&1
fi
if run 0 call memory read_graph --json; then
  check "read_graph shows the entity with its observation" \
    '(.content[0].text | fromjson | .entities[]
      | select(.name == "berth_npm_test")
      | .entityType == "test run"
        and .observations == ["created through berth call"])'
fi
if run 0 call memory read_graph; then
  case "$out" in *'"berth_npm_test"'*) pass ;;
    *) fail "read_graph text lacks the entity:"$'\n'"$out" ;; esac
fi

# --- berth tools --json: the whole config, both servers ----------------------
if run 0 tools --json; then
  check "both servers, in config order" \
    '[.servers[].server] == ["everything", "memory"]'
  check "no server reports an error" '[.servers[] | has("error")] | any | not'
  check "everything lists echo" \
    '.servers[] | select(.server == "everything") | [.tools[].name] | index("echo") != null'
  for t in create_entities read_graph search_nodes; do
    check "memory lists $t" \
      ".servers[] | select(.server == \"memory\") | [.tools[].name] | index(\"$t\") != null"
  done
fi

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
