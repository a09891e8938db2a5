#!/usr/bin/env bash
# berth.exe as a Windows user runs it, under Wine: docker.exe found at a
# well-known location (not on PATH) and what happens when it is gone, the
# user PATH from the registry (REG_EXPAND_SZ with %VAR%), plan and doctor.
# Usage: win32_test.sh BERTH_EXE FAKE_DOCKER_EXE SOURCE_DIR WINE
# Needs WINEPREFIX set (ctest passes the CI's); writes into that prefix and
# restores what it changed.
set -u
BERTH=$1 FAKE=$2 SRC=$3 WINE=$4
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
cleanup() {
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

# 2. gone: no verified docker, so cmd.exe runs bare docker (SPAWN.md 2)
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

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
