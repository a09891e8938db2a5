#!/usr/bin/env bash
# berth call and berth tools as a user runs them, against the MCP fixture.
# Usage: call_cli_test.sh BERTH MCP_FIXTURE [EMULATOR]
set -u
. "$(dirname "$0")/../lib/run_berth.sh"
BERTH=$1 FX=$2 EMU=${3:-}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0 passes=0
fail() { echo "FAIL: $1"; fails=$((fails+1)); }
ok() { passes=$((passes+1)); }
run() { # run WANT_RC ARGS...
  local want=$1; shift
  run_berth "$@"
  out=$(cat "$TMP/out"); err=$(cat "$TMP/err")
  [ "$rc" = "$want" ] && ok || fail "berth $* exited $rc, want $want; stdout: $out; stderr: $err"
}
has() { case "$1" in *"$2"*) ok ;; *) fail "missing [$2] in [$1]" ;; esac; }

# a copy only this test runs, so "no process left" counts only ours
cp "$FX" "$TMP/fixture-$$${FX##*mcp_fixture}"
FX="$TMP/fixture-$$${FX##*mcp_fixture}"

cat >"$TMP/c.json" <<JSON
{ "mcpServers": {
    "fx": { "command": "$FX", "env": { "FIXTURE_PAGE_SIZE": "4", "TOKEN": "cfg-secret-77" } },
    "noisy": { "command": "$FX", "env": { "FIXTURE_STARTUP_NOISE": "1" } },
    "broken": { "command": "$FX", "env": { "FIXTURE_FAIL_INIT": "1" } },
    "missing": { "command": "no-such-mcp-server-anywhere" },
    "remote": { "url": "https://mcp.example.com/mcp" }
} }
JSON
C=(--config "$TMP/c.json")

run 0 call fx echo --args '{"text": "hello from berth"}' "${C[@]}"
[ "$out" = "hello from berth" ] && ok || fail "echo printed [$out]"
[ -z "$err" ] && ok || fail "a quiet call printed on stderr: $err"
run 0 call fx add --args '{"a": 2, "b": 40}' "${C[@]}" --json
[ "$(echo "$out" | jq -r '.structuredContent.sum')" = 42 ] && ok || fail "add --json: $out"
run 0 call noisy echo --args '{"text": "through the noise"}' "${C[@]}"
has "$out" "through the noise"
# the server's env reaches it; berth's own output never shows the value
run 0 call fx env_dump "${C[@]}" --log-level debug
has "$out" '"TOKEN":"cfg-secret-77"'
case "$err" in *cfg-secret-77*) fail "log shows a configured value: $err" ;; *) ok ;; esac
# a proxy URL of berth's reaches a server through env.allow without its
# credentials, whatever the pattern (docs/spawn.md, "The child's
# environment"); berth plan shows what the child really gets
cat >"$TMP/proxy.json" <<JSON
{ "env": { "allow": ["HTTP*"] },
  "mcpServers": { "fx": { "command": "$FX" } } }
JSON
HTTPS_PROXY=http://user:pw-proxy-5@proxy.example:3128 run 0 call fx env_dump --config "$TMP/proxy.json"
has "$out" '"HTTPS_PROXY":"http://proxy.example:3128"'
case "$out" in *pw-proxy-5*) fail "the child got berth's proxy credentials: $out" ;; *) ok ;; esac
HTTPS_PROXY=http://user:pw-proxy-5@proxy.example:3128 run 0 plan fx --json --config "$TMP/proxy.json"
[ "$(echo "$out" | jq -r '.env[] | select(startswith("HTTPS_PROXY="))')" = "HTTPS_PROXY=http://proxy.example:3128" ] \
  && ok || fail "berth plan shows the proxy as: $(echo "$out" | jq -c .env)"
# a tool error: exit 1, the message on stderr
run 1 call fx add --args '{"a": "two"}' "${C[@]}"
[ -n "$err" ] && ok || fail "tool error printed nothing"
# a crash mid-call fails the call at once, naming the server and status
run 1 call fx crash --args '{"code": 7}' "${C[@]}"
has "$err" "server fx exited with status 7"
run 1 call broken echo "${C[@]}"
has "$err" "failed to initialize"
has "$err" "fatal: bad config"
run 1 call missing anything "${C[@]}"
has "$err" "command not found: no-such-mcp-server-anywhere (searched:"
# an error masks what the plan masks, and shows what it shows: a folder of
# the server's PATH that holds a secret, and one that holds none
cat >"$TMP/notfound.json" <<'JSON'
{ "mcpServers": {
    "s": { "command": "no-such-mcp-server-anywhere",
           "env": { "VAULT_TOKEN": "acme-s3cr3t-dir", "PATH": "/opt/acme-s3cr3t-dir/bin" } },
    "v": { "command": "no-such-mcp-server-anywhere", "env": { "PATH": "/opt/tools/bin" } }
} }
JSON
run 1 call s anything --config "$TMP/notfound.json"
has "$err" "command not found: no-such-mcp-server-anywhere (searched: /opt/***/bin"
case "$err" in *acme-s3cr3t-dir*) fail "the error shows a secret: $err" ;; *) ok ;; esac
run 1 call v anything --config "$TMP/notfound.json"
has "$err" "(searched: /opt/tools/bin"
# (without a login shell to ask, as on Windows, berth plan itself fails
# with the error)
run_berth plan v --json --config "$TMP/notfound.json"
out=$(cat "$TMP/out"); err=$(cat "$TMP/err")
if [ "$rc" = 0 ]; then
  [ "$(echo "$out" | jq -r '.env[] | select(startswith("PATH="))')" = "PATH=/opt/tools/bin" ] \
    && ok || fail "berth plan hides a PATH the error shows: $(echo "$out" | jq -c .env)"
else
  has "$err" "(searched: /opt/tools/bin)"
fi
# a program berth found in such a folder that cannot run: the start error
# names it with the secret masked (what berth status shows too)
if [ -z "$EMU" ]; then
  mkdir -p "$TMP/acme-s3cr3t-dir/bin"
  printf '#!/nonexistent/interpreter\n' >"$TMP/acme-s3cr3t-dir/bin/tool"
  chmod 755 "$TMP/acme-s3cr3t-dir/bin/tool"
  cat >"$TMP/cannotrun.json" <<JSON
{ "mcpServers": { "t": { "command": "tool",
    "env": { "VAULT_TOKEN": "acme-s3cr3t-dir", "PATH": "$TMP/acme-s3cr3t-dir/bin" } } } }
JSON
  run 1 call t anything --config "$TMP/cannotrun.json"
  has "$err" "cannot run $TMP/***/bin/tool"
  case "$err" in *acme-s3cr3t-dir*) fail "the start error shows a secret: $err" ;; *) ok ;; esac
  run 0 plan t --json --config "$TMP/cannotrun.json"
  [ "$(echo "$out" | jq -r .program)" = "$TMP/***/bin/tool" ] && ok || fail "plan program: $(echo "$out" | jq -r .program)"
fi
run 1 call remote x "${C[@]}"
has "$err" "remote server"
run 1 call nosuch x "${C[@]}"
has "$err" 'no server "nosuch"'
run 2 call fx echo --args '[1]' "${C[@]}"
has "$err" "--args must be a JSON object"
run 2 call fx "${C[@]}"
has "$err" "which tool?"

# an answer over the message limit (max_message): an error at once, naming
# the limit and the size, not a timeout (docs/supervision.md)
cat >"$TMP/limit.json" <<JSON
{ "max_message": 65536, "timeouts": { "call": 30 },
  "mcpServers": { "fx": { "command": "$FX" },
                  "roomy": { "command": "$FX", "max_message": 200000 } } }
JSON
t0=$(date +%s)
run 1 call fx big_output --args '{"bytes": 100000}' --config "$TMP/limit.json"
[ $(( $(date +%s) - t0 )) -lt 10 ] && ok || fail "an answer over the limit took $(( $(date +%s) - t0 )) s"
has "$err" "server fx answered tools/call with 1000"
has "$err" "bytes, over its limit of 65536 bytes (max_message)"
run 0 call roomy big_output --args '{"bytes": 100000}' --config "$TMP/limit.json"
[ ${#out} -ge 100000 ] && ok || fail "a server's own max_message: ${#out} bytes printed"
# the server is still there for the next call of the same berth: the
# default limit, 16 MiB, on Linux (Wine's pipes make 17 MB slow)
if [ -z "$EMU" ]; then
  printf '{ "timeouts": { "call": 20 }, "mcpServers": { "fx": { "command": "%s" } } }\n' "$FX" >"$TMP/big.json"
  t0=$(date +%s)
  run 1 call fx big_output --args '{"bytes": 17000000}' --config "$TMP/big.json"
  [ $(( $(date +%s) - t0 )) -lt 10 ] && ok || fail "17 MB took $(( $(date +%s) - t0 )) s"
  has "$err" "over its limit of 16777216 bytes (max_message)"
fi

# tools: paging followed, every tool listed
run 0 tools fx "${C[@]}" --json
[ "$(echo "$out" | jq '.servers[0].tools | length')" = 14 ] && ok || fail "tools --json: $out"
run 0 tools fx "${C[@]}"
has "$out" "fx  echo  "
# every enabled local server; one that cannot start makes it exit 1
run 1 tools "${C[@]}" --json
[ "$(echo "$out" | jq -r '[.servers[] | select(.error) | .server] | sort | join(",")')" = "broken,missing" ] \
  && ok || fail "tools errors: $out"
[ "$(echo "$out" | jq -r '.servers[] | select(.server == "noisy") | .tools | length')" = 14 ] && ok || fail "noisy tools"

# berth's own SIGTERM / SIGINT: the call in flight fails at once, the server
# is shut down, nothing survives (Unix signals)
if [ -z "$EMU" ]; then
  for sig in TERM INT; do
    "$BERTH" call fx sleep --args '{"ms": 30000}' "${C[@]}" >"$TMP/out" 2>"$TMP/err" </dev/null &
    bpid=$!
    for _ in $(seq 100); do pgrep -f "$FX" >/dev/null && break; sleep 0.05; done
    sleep 0.2
    start=$(date +%s%N)
    kill -$sig $bpid
    wait $bpid; rc=$?
    took=$(( ($(date +%s%N) - start) / 1000000 ))
    [ "$rc" -ge 128 ] && ok || fail "SIG$sig: berth exited $rc: $(cat "$TMP/err")"
    [ "$took" -lt 5000 ] && ok || fail "SIG$sig: berth took $took ms to stop"
    left=$(pgrep -f "$FX" | grep -vx "$$" || true)
    [ -z "$left" ] && ok || fail "SIG$sig: processes left: $left"
  done
fi

# no process left behind by any of it
if [ -z "$EMU" ]; then
  left=$(pgrep -f "$FX" | grep -vx "$$" || true)
  [ -z "$left" ] && ok || fail "processes left: $left"
fi

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
