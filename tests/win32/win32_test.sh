#!/usr/bin/env bash
# berth.exe as a Windows user runs it, under Wine: docker.exe found at a
# well-known location (not on PATH) and what happens when it is gone, the
# user PATH from the registry (REG_EXPAND_SZ with %VAR%), plan and doctor;
# and berth serve's Streamable HTTP front, reached from Linux curl (Wine's
# sockets are the host's), in front of the Windows MCP fixture.
# Usage: win32_test.sh BERTH_EXE FAKE_DOCKER_EXE SOURCE_DIR WINE [MCP_FIXTURE_EXE]
# MCP_FIXTURE_EXE defaults to mcp_fixture.exe beside FAKE_DOCKER_EXE (both
# are built in tests/fixtures). Needs WINEPREFIX set (ctest passes the CI's);
# writes into that prefix and restores what it changed.
set -u
BERTH=$1 FAKE=$2 SRC=$3 WINE=$4
MCP_FX=${5:-$(dirname "$FAKE")/mcp_fixture.exe}
: "${WINEPREFIX:?WINEPREFIX must be set}"
export WINEDEBUG=-all
TMP=$(mktemp -d)
DOCKER_DIR="$WINEPREFIX/drive_c/Program Files/Docker/Docker/resources/bin"
fails=0 passes=0
fail() { echo "FAIL: $1"; fails=$((fails+1)); }
check() { # check DESCRIPTION JQ_EXPR EXPECTED FILE
  local got
  got=$(jq -r "$2" "$4" 2>/dev/null)
  [ "$got" = "$3" ] && passes=$((passes+1)) || fail "$1: got [$got], want [$3]"
}
serve_pid=""
cleanup() {
  if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null; fi
  rm -rf "$TMP"
  rm -f "$DOCKER_DIR/docker.exe"
  "$WINE" reg delete 'HKCU\Environment' /v Path /f >/dev/null 2>&1
}
trap cleanup EXIT

cat >"$TMP/win.json" <<'JSON'
{
  "mcpServers": {
    "gh": { "command": "docker", "args": ["run", "-i", "--rm", "ghcr.io/github/github-mcp-server"],
            "env": { "GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_wineSecret1" } },
    "iso": { "command": "uvx", "args": ["mcp-server-fetch"], "isolation": { "mode": "docker" } },
    "tool": { "command": "mytool", "args": ["a b"] }
  }
}
JSON

# berth.exe itself
out=$("$WINE" "$BERTH" --version 2>&1) && [[ "$out" == berth\ *"(windows;"* ]] && passes=$((passes+1)) || fail "--version: $out"
"$WINE" "$BERTH" check --config "$SRC/examples/config.json" >"$TMP/check.txt" 2>&1 \
  && grep -q "examples/config.json: valid" "$TMP/check.txt" && passes=$((passes+1)) || fail "check: $(cat "$TMP/check.txt")"

# 1. docker.exe only at the Docker Desktop location, PATH without it
mkdir -p "$DOCKER_DIR"
cp "$FAKE" "$DOCKER_DIR/docker.exe"
WIN_DOCKER='C:\Program Files\Docker\Docker\resources\bin\docker.exe'
for server in gh iso; do
  "$WINE" "$BERTH" plan $server --config "$TMP/win.json" --json >"$TMP/p.json" 2>"$TMP/err" || fail "plan $server: $(cat "$TMP/err")"
  check "$server source" '.docker.source' bundled "$TMP/p.json"
  check "$server verified" '.docker.verified' true "$TMP/p.json"
  check "$server direct exec" '.wrapped' false "$TMP/p.json"
  check "$server program" '.program' "$WIN_DOCKER" "$TMP/p.json"
  check "$server run" '.argv[1]' run "$TMP/p.json"
  check "$server cidfile after run" '.argv[2]' --cidfile "$TMP/p.json"
  check "$server command line" '.command_line | startswith("\"C:\\Program Files\\Docker\\Docker\\resources\\bin\\docker.exe\" run --cidfile ")' true "$TMP/p.json"
  # docker's folder goes first on its PATH
  check "$server PATH" '[.env[] | select(ascii_downcase | startswith("path="))][0] | ascii_downcase | startswith("path=c:\\program files\\docker\\docker\\resources\\bin;")' true "$TMP/p.json"
done
grep -q ghp_wineSecret1 "$TMP/p.json" && fail "secret in plan" || passes=$((passes+1))
"$WINE" "$BERTH" doctor --json --config "$TMP/win.json" >"$TMP/d.json" 2>"$TMP/err" || fail "doctor: $(cat "$TMP/err")"
check "doctor path" '.docker.path' "$WIN_DOCKER" "$TMP/d.json"
check "doctor source" '.docker.source' bundled "$TMP/d.json"
check "doctor daemon env" '.docker.daemon_env_guaranteed' true "$TMP/d.json"
check "doctor os" '.os' windows "$TMP/d.json"

# 2. gone: no verified docker, so cmd.exe runs bare docker (docs/spawn.md)
rm -f "$DOCKER_DIR/docker.exe"
"$WINE" "$BERTH" plan gh --config "$TMP/win.json" --json >"$TMP/p.json" 2>"$TMP/err" || fail "plan without docker: $(cat "$TMP/err")"
check "absent source" '.docker.source' absent "$TMP/p.json"
check "absent wrapped" '.wrapped' true "$TMP/p.json"
check "cmd wrap" '.command_line | test("cmd\\.exe\"? /d /s /c \"docker run --cidfile ")' true "$TMP/p.json"
check "cmd argv" '.argv[1:4] | join(" ")' "/d /s /c" "$TMP/p.json"

# 3. the user PATH from the registry, %VAR% expanded, reaches the child
mkdir -p "$WINEPREFIX/drive_c/berth-tools"
cp "$FAKE" "$WINEPREFIX/drive_c/berth-tools/mytool.exe"
"$WINE" reg add 'HKCU\Environment' /v Path /t REG_EXPAND_SZ /d '%BERTH_TOOLS%;C:\other' /f >/dev/null 2>&1 \
  || fail "reg add"
BERTH_TOOLS='C:\berth-tools' "$WINE" "$BERTH" plan tool --config "$TMP/win.json" --json >"$TMP/p.json" 2>"$TMP/err" \
  || fail "plan tool: $(cat "$TMP/err")"
check "registry PATH first" '[.env[] | select(ascii_downcase | startswith("path="))][0] | ascii_downcase | startswith("path=c:\\berth-tools;c:\\other;")' true "$TMP/p.json"
check "tool found through it" '.program | ascii_downcase' 'c:\berth-tools\mytool.exe' "$TMP/p.json"
check "tool line" '.command_line | ascii_downcase' 'c:\berth-tools\mytool.exe "a b"' "$TMP/p.json"
rm -rf "$WINEPREFIX/drive_c/berth-tools"

# 3b. the Windows child variables (docs/spawn.md). Under a replaced
# allow-list every child still gets SYSTEMROOT, SYSTEMDRIVE, WINDIR, TEMP,
# TMP and USERPROFILE from berth's environment, with a reason.
cat >"$TMP/winenv.json" <<'JSON'
{ "env": { "allow_defaults": false },
  "mcpServers": { "c": { "command": "C:\\windows\\system32\\cmd.exe" } } }
JSON
"$WINE" "$BERTH" plan c --config "$TMP/winenv.json" --json >"$TMP/p.json" 2>"$TMP/err" \
  || fail "plan under a replaced allow-list: $(cat "$TMP/err")"
for v in SYSTEMROOT SYSTEMDRIVE WINDIR TEMP TMP USERPROFILE; do
  check "every child gets $v" "[.env[] | select(startswith(\"$v=\"))] | length" 1 "$TMP/p.json"
done
check "every child reason" '[.reasons[] | select(startswith("SYSTEMROOT, SYSTEMDRIVE, WINDIR, TEMP, TMP, USERPROFILE from berth"))] | length' 1 "$TMP/p.json"
# berth started without USERPROFILE and LOCALAPPDATA (as a service running
# as LocalSystem may be): the folders Windows knows fill them in, and the
# plan says so
cat >"$TMP/localsystem.json" <<'JSON'
{ "mcpServers": { "c": { "command": "C:\\windows\\system32\\cmd.exe" } } }
JSON
winpath() { printf 'Z:%s' "$(realpath "$1")" | tr / '\\'; }
printf '@set USERPROFILE=\r\n@set LOCALAPPDATA=\r\n@"%s" plan c --config "%s" --json\r\n' \
  "$(winpath "$BERTH")" "$(winpath "$TMP/localsystem.json")" >"$TMP/localsystem.cmd"
"$WINE" cmd /c "$(winpath "$TMP/localsystem.cmd")" >"$TMP/p.json" 2>"$TMP/err" \
  || fail "plan without USERPROFILE: $(cat "$TMP/err")"
for v in USERPROFILE LOCALAPPDATA; do
  check "$v filled" "[.env[] | select(ascii_downcase | startswith(\"$(tr A-Z a-z <<<"$v")=c:\\\\\"))] | length" 1 "$TMP/p.json"
  check "$v reason" "[.reasons[] | select(startswith(\"$v is not in berth's environment\"))] | length" 1 "$TMP/p.json"
done

# 4. berth serve: MCP over HTTP from Linux curl to berth.exe under Wine.
# A copy of the fixture under a name of its own, so that "nothing left
# behind" counts only this test's processes.
. "$SRC/tests/lib/free_port.sh"
serve_test() {
  local fx="$TMP/fx-$$.exe" port url try code sid left
  command -v curl >/dev/null || { fail "serve: curl is not installed"; return; }
  [ -f "$MCP_FX" ] || { fail "serve: no MCP fixture at $MCP_FX"; return; }
  cp "$MCP_FX" "$fx"
  # Started up to three times: on a fresh port when another process took
  # the one free_port gave, and after Wine's start-up failure (exit 66 with
  # no output, as run_berth retries).
  for try in 1 2 3; do
    port=$(free_port) || { fail "serve: no free port"; return; }
    printf '{ "listen": "127.0.0.1:%s",\n  "mcpServers": { "fx": { "command": "%s" } } }\n' \
      "$port" "$fx" >"$TMP/serve.json"
    : >"$TMP/serve.log"
    BERTH_LOG_LEVEL=debug "$WINE" "$BERTH" serve --config "$TMP/serve.json" \
      </dev/null >"$TMP/serve.out" 2>"$TMP/serve.log" &
    serve_pid=$!
    for _ in $(seq 600); do   # 60 s
      grep -q 'server fx ready' "$TMP/serve.log" && break
      kill -0 "$serve_pid" 2>/dev/null || break
      sleep 0.1
    done
    grep -q 'server fx ready' "$TMP/serve.log" && break
    kill "$serve_pid" 2>/dev/null
    wait "$serve_pid"
    code=$?
    serve_pid=""
    if grep -q 'cannot listen' "$TMP/serve.log" \
       || { [ "$code" = 66 ] && [ ! -s "$TMP/serve.log" ]; }; then
      echo "note: berth serve did not start (exit $code), retrying" >&2
      continue
    fi
    break
  done
  if [ -z "$serve_pid" ]; then
    fail "serve: not ready: $(cat "$TMP/serve.log" "$TMP/serve.out")"
    return
  fi
  passes=$((passes+1))
  grep -q "MCP endpoint: http://127.0.0.1:$port/mcp" "$TMP/serve.log" \
    && passes=$((passes+1)) || fail "serve: no endpoint line in $(cat "$TMP/serve.log")"

  url=http://127.0.0.1:$port/mcp
  local C=(-s -m 30 --noproxy '*' -o "$TMP/body" -w '%{http_code}'
           -H 'Accept: application/json, text/event-stream'
           -H 'Content-Type: application/json')
  # the JSON-RPC message of an answer, plain JSON or one SSE event
  body() { if jq -e . "$TMP/body" >/dev/null 2>&1; then cat "$TMP/body"; else sed -n 's/^data: //p' "$TMP/body"; fi; }
  code=$(curl "${C[@]}" -D "$TMP/hdr" "$url" -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}')
  [ "$code" = 200 ] && passes=$((passes+1)) || fail "serve initialize: HTTP $code: $(cat "$TMP/body")"
  [ "$(body | jq -r '.result.serverInfo.name')" = berth ] && passes=$((passes+1)) \
    || fail "serve initialize result: $(cat "$TMP/body")"
  sid=$(tr -d '\r' <"$TMP/hdr" | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p')
  [ ${#sid} -ge 16 ] && passes=$((passes+1)) || fail "serve: no Mcp-Session-Id in $(cat "$TMP/hdr")"
  C+=(-H "Mcp-Session-Id: $sid" -H 'MCP-Protocol-Version: 2025-11-25')
  code=$(curl "${C[@]}" "$url" -d '{"jsonrpc":"2.0","method":"notifications/initialized"}')
  [ "$code" = 202 ] && passes=$((passes+1)) || fail "serve initialized: HTTP $code: $(cat "$TMP/body")"
  code=$(curl "${C[@]}" "$url" -d '{"jsonrpc":"2.0","id":2,"method":"tools/list"}')
  [ "$code" = 200 ] && passes=$((passes+1)) || fail "serve tools/list: HTTP $code: $(cat "$TMP/body")"
  body | jq -e '[.result.tools[].name] | index("fx__echo") != null' >/dev/null 2>&1 \
    && passes=$((passes+1)) || fail "serve tools/list lacks fx__echo: $(head -c 600 "$TMP/body")"
  code=$(curl "${C[@]}" "$url" -d '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"fx__echo","arguments":{"text":"hello from wine"}}}')
  [ "$code" = 200 ] && passes=$((passes+1)) || fail "serve tools/call: HTTP $code: $(cat "$TMP/body")"
  [ "$(body | jq -r '.result.content[0].text')" = "hello from wine" ] && passes=$((passes+1)) \
    || fail "serve echo: $(cat "$TMP/body")"

  # Stop: there is no console to send Ctrl+C to; end the Wine process. Its
  # server goes with it (berth's job object), and nothing of ours is left.
  kill "$serve_pid" 2>/dev/null
  wait "$serve_pid" 2>/dev/null
  serve_pid=""
  for _ in $(seq 100); do
    left=$(pgrep -f -- "$fx")
    [ -z "$left" ] && break
    sleep 0.1
  done
  if [ -z "$left" ]; then
    passes=$((passes+1))
  else
    fail "serve: the fixture outlived berth.exe: $left"
    kill $left 2>/dev/null
  fi
}
serve_test

# 5. berth.exe stdio: the same server on its own stdin and stdout, in front
# of the Windows fixture; stdin's end stops it (retried once after Wine's
# start-up failure, exit 66 with no output)
stdio_test() {
  local fx="$TMP/fxs-$$.exe" code try
  [ -f "$MCP_FX" ] || { fail "stdio: no MCP fixture at $MCP_FX"; return; }
  cp "$MCP_FX" "$fx"
  printf '{ "mcpServers": { "fx": { "command": "%s" } } }\n' "$fx" >"$TMP/stdio.json"
  for try in 1 2; do
    { printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' \
                     '{"jsonrpc":"2.0","method":"notifications/initialized"}'
      # the server joins when ready
      sleep 5
      printf '%s\n' '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"fx__echo","arguments":{"text":"stdio on windows"}}}'
      sleep 3; } | "$WINE" "$BERTH" stdio --config "$TMP/stdio.json" >"$TMP/stdio.out" 2>"$TMP/stdio.err"
    code=$?
    [ "$code" = 66 ] && [ ! -s "$TMP/stdio.out" ] && continue
    break
  done
  [ "$code" = 0 ] && passes=$((passes+1)) || fail "stdio: exit $code: $(tail -3 "$TMP/stdio.err")"
  [ "$(jq -r 'select(.id == 1) | .result.serverInfo.name' "$TMP/stdio.out" 2>/dev/null)" = berth ] \
    && passes=$((passes+1)) || fail "stdio initialize: $(head -c 400 "$TMP/stdio.out")"
  [ "$(jq -r 'select(.id == 2) | .result.content[0].text' "$TMP/stdio.out" 2>/dev/null)" = "stdio on windows" ] \
    && passes=$((passes+1)) || fail "stdio echo: $(head -c 600 "$TMP/stdio.out") / $(tail -3 "$TMP/stdio.err")"
}
stdio_test

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
