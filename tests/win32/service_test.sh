#!/usr/bin/env bash
# berth as a Windows service under Wine (docs/service.md):
#  1. the MSI's tables: the ServiceInstall, ServiceControl and custom
#     action rows (msiinfo export)
#  2. msiexec /i installs berth.exe and the service berth and starts it on
#     %ProgramData%\berth\config.json; Linux curl reaches its endpoint and
#     the MCP fixture's tools; berth service status says so; sc stop stops
#     it through berth's control handler (berth's shutdown lines in
#     berth.log, the fixture gone); msiexec /x stops and removes it
#  3. the same without the MSI: berth service install --config FILE (a
#     path with spaces), status, stop, start, install again, a config that
#     cannot start, uninstall; and berth service run outside the SCM
# Wine is lenient (it has no delayed start, and keeps no recovery actions):
# a smoke test of berth's side, not proof for Windows.
# Usage: service_test.sh BERTH_EXE MSI MCP_FIXTURE_EXE SOURCE_DIR WINE
# Needs WINEPREFIX (ctest passes the CI's); changes its services, Program
# Files and ProgramData, and restores them.
set -u
BERTH=$1 MSI=$2 MCP_FX=$3 SRC=$4 WINE=$5
: "${WINEPREFIX:?WINEPREFIX must be set}"
export WINEDEBUG=-all
. "$SRC/tests/lib/free_port.sh"
TMP=$(mktemp -d)
fails=0 passes=0
fail() { echo "FAIL: $1"; fails=$((fails+1)); }
pass() { passes=$((passes+1)); }
# ok DESCRIPTION COMMAND...: passes when COMMAND succeeds
ok() { local d=$1; shift; if "$@" >/dev/null; then pass; else fail "$d"; return 1; fi; }

W() { "$WINE" "$@" </dev/null; }
unix_path() { W winepath -u "$1" 2>/dev/null | tr -d '\r'; }
PD_WIN='C:\ProgramData\berth'
PD=$(unix_path "$PD_WIN")
PF=$(unix_path 'C:\Program Files\berth')
T_WIN='C:\berth svc test'     # berth.exe and configs of part 3
T=$(unix_path "$T_WIN")
LOG=$PD/berth.log
SVC_KEY='HKLM\System\CurrentControlSet\Services\berth'
SRC_KEY='HKLM\System\CurrentControlSet\Services\EventLog\Application\berth'
FX_NAME=fx-svc-$$.exe          # this test's fixture: nothing else is named so

# The state word sc query gives (RUNNING, STOPPED, ...); empty when the
# service does not exist.
state() { W sc query berth 2>/dev/null | tr -d '\r' | sed -n 's/^ *STATE *: *[0-9]* *//p'; }
# wait_state WANT SECONDS
wait_state() {
  local i
  for ((i = 0; i < $2 * 4; i++)); do
    [ "$(state)" = "$1" ] && return 0
    sleep 0.25
  done
  return 1
}
# wait_log TEXT SECONDS: TEXT appears in berth.log
wait_log() {
  local i
  for ((i = 0; i < $2 * 4; i++)); do
    grep -qF -- "$1" "$LOG" 2>/dev/null && return 0
    sleep 0.25
  done
  return 1
}
count_log() { grep -cF -- "$1" "$LOG" 2>/dev/null; }
# is_state DESCRIPTION WANT SECONDS; has_log DESCRIPTION TEXT SECONDS: wait,
# and say what there was instead
is_state() {
  if wait_state "$2" "$3"; then pass; return 0; fi
  fail "$1: the service is '$(state)', not $2; berth.log ends: $(tail -5 "$LOG" 2>/dev/null)"
  return 1
}
has_log() {
  if wait_log "$2" "$3"; then pass
  else fail "$1: no '$2' in berth.log, which ends: $(tail -8 "$LOG" 2>/dev/null)"; fi
}
# has_new_log DESCRIPTION TEXT BEFORE SECONDS: TEXT is in berth.log more
# than BEFORE times (berth.log is appended to by every run)
has_new_log() {
  local i
  for ((i = 0; i < $4 * 4; i++)); do
    [ "$(count_log "$2")" -gt "$3" ] && { pass; return; }
    sleep 0.25
  done
  fail "$1: no new '$2' in berth.log, which ends: $(tail -8 "$LOG" 2>/dev/null)"
}
reg_value() { W reg query "$1" /v "$2" 2>/dev/null | tr -d '\r' | sed -n "s/^ *$2 *REG_[A-Z_]* *//p"; }
fixture_left() { pgrep -f -- "$FX_NAME"; }
# ends the Windows processes named NAME in the prefix (through Wine, so
# that its service manager sees them end: a kill from Linux leaves it
# thinking the service runs)
end_all() { W taskkill /f /im "$1" >/dev/null 2>&1; }
# no_fixture DESCRIPTION: this test's fixture is gone (within 10 s: Wine
# takes a moment to end a process whose job was closed)
no_fixture() {
  local i
  for ((i = 0; i < 40; i++)); do
    [ -z "$(fixture_left)" ] && { pass; return; }
    sleep 0.25
  done
  fail "$1: $(fixture_left)"
}
# Stops and removes what this test made; a service that will not stop
# (a broken control handler) is killed.
cleanup() {
  if [ -n "$(state)" ]; then
    W sc stop berth >/dev/null 2>&1
    wait_state STOPPED 20 || end_all berth.exe
    wait_state STOPPED 10
    W sc delete berth >/dev/null 2>&1
  fi
  [ -n "$(fixture_left)" ] && end_all "$FX_NAME"
  [ -f "$MSI" ] && W msiexec /x "$MSI" /qn >/dev/null 2>&1
  W reg delete "$SRC_KEY" /f >/dev/null 2>&1
  rm -rf "$TMP" "$PD" "$T" "$PF"
}
trap cleanup EXIT
# What follows needs the step that just failed: stop here.
abort() {
  echo "$passes passed, $fails failed; stopped early: the rest needs that step"
  echo "berth.log ends:"; cat "$LOG"
  exit 1
}

# ---- MCP over HTTP from Linux, to the service under Wine -------------------
C=(-s -m 30 --noproxy '*' -H 'Accept: application/json, text/event-stream'
   -H 'Content-Type: application/json')
body() { if jq -e . "$TMP/body" >/dev/null 2>&1; then cat "$TMP/body"; else sed -n 's/^data: //p' "$TMP/body"; fi; }
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
# mcp_check WHAT PORT: initialize answers 200 from berth; the session lists
# the fixture's tools
mcp_check() {
  local what=$1 url=http://127.0.0.1:$2/mcp code sid
  code=$(curl "${C[@]}" -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' "$url" -d "$INIT")
  [ "$code" = 200 ] && pass || { fail "$what: initialize: HTTP $code: $(cat "$TMP/body")"; return; }
  [ "$(body | jq -r '.result.serverInfo.name')" = berth ] && pass \
    || fail "$what: initialize result: $(cat "$TMP/body")"
  sid=$(tr -d '\r' <"$TMP/hdr" | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p')
  local S=("${C[@]}" -o "$TMP/body" -w '%{http_code}' -H "Mcp-Session-Id: $sid"
           -H 'MCP-Protocol-Version: 2025-11-25')
  curl "${S[@]}" "$url" -d '{"jsonrpc":"2.0","method":"notifications/initialized"}' >/dev/null
  code=$(curl "${S[@]}" "$url" -d '{"jsonrpc":"2.0","id":2,"method":"tools/list"}')
  [ "$code" = 200 ] && body | jq -e '[.result.tools[].name] | index("fx__echo") != null' >/dev/null 2>&1 \
    && pass || fail "$what: tools/list (HTTP $code) lacks fx__echo: $(head -c 400 "$TMP/body")"
}

# config_json PORT [FX_MEMBERS [SERVERS]]: a config serving the fixture
# (with FX_MEMBERS in its object) at 127.0.0.1:PORT, and SERVERS
config_json() {
  printf '{ "listen": "127.0.0.1:%s",\n  "mcpServers": { "fx": { "command": "%s"%s }%s } }\n' \
    "$1" "$(printf '%s' "$T_WIN\\$FX_NAME" | sed 's/\\/\\\\/g')" "${2:+, $2}" "${3:+, $3}"
}

for tool in msiinfo curl jq; do
  command -v $tool >/dev/null || { echo "FAIL: $tool is not installed (.ci/setup)"; exit 1; }
done
[ -f "$MSI" ] || { echo "FAIL: no MSI at '$MSI' (is wixl installed? apt-get install wixl)"; exit 1; }
# a service left by an aborted run would answer for this one
[ -z "$(state)" ] || { echo "note: removing a service berth left in $WINEPREFIX"; cleanup; TMP=$(mktemp -d); }
rm -rf "$PD"
mkdir -p "$T" "$PD"
cp "$MCP_FX" "$T/$FX_NAME"

# ---- 1. the MSI's tables ------------------------------------------------------
msiinfo export "$MSI" ServiceInstall | tr -d '\r' >"$TMP/si"
# Name DisplayName ServiceType StartType ErrorControl ... StartName ... Arguments
ok "ServiceInstall row: $(cat "$TMP/si")" \
  awk -F'\t' '$2 == "berth" && $4 == 16 && $5 == 2 && $9 == "LocalSystem" && $11 == "service run" { f = 1 } END { exit !f }' "$TMP/si"
msiinfo export "$MSI" ServiceControl | tr -d '\r' >"$TMP/sc"
# start on install (1), stop on install (2) and uninstall (32), remove on uninstall (128)
ok "ServiceControl row: $(cat "$TMP/sc")" \
  awk -F'\t' '$2 == "berth" && $3 == 163 && $5 == 1 { f = 1 } END { exit !f }' "$TMP/sc"
msiinfo export "$MSI" CustomAction | tr -d '\r' >"$TMP/ca"
ok "the deferred, elevated berth service install: $(cat "$TMP/ca")" \
  awk -F'\t' '$1 == "ConfigureService" && $2 == 3090 && $4 == "service install --no-start" { f = 1 } END { exit !f }' "$TMP/ca"
msiinfo export "$MSI" InstallExecuteSequence | tr -d '\r' >"$TMP/seq"
ok "it runs between InstallServices and StartServices" \
  awk -F'\t' '{ s[$1] = $3 } END { exit !(s["InstallServices"] < s["ConfigureService"] && s["ConfigureService"] < s["StartServices"]) }' "$TMP/seq"

# ---- 2. msiexec -----------------------------------------------------------------
port=$(free_port) || { echo "FAIL: no free port"; exit 1; }
# a server that outlives its stdin: berth takes 3 s to stop it, long
# enough to see the checkpoints rise while the service stops
config_json "$port" '"env": { "FIXTURE_IGNORE_EOF": "1" }, "timeouts": { "shutdown": 3 }' >"$PD/config.json"
W msiexec /i "$MSI" /qn >"$TMP/msi.out" 2>&1
rc=$?
ok "msiexec /i: exit $rc: $(cat "$TMP/msi.out")" test $rc = 0
ok "msiexec installed berth.exe in Program Files" test -f "$PF/berth.exe"
is_state "msiexec started the service" RUNNING 30 || abort
has_log "berth in the service is ready" "reported event 2 to the event log: berth is ready: serving at http://127.0.0.1:$port/mcp" 30
has_log "its server" "server fx ready" 30
mcp_check "msi service" "$port"
# what only berth service install sets: the custom action ran
ok "the service runs berth.exe service run: $(reg_value "$SVC_KEY" ImagePath)" \
  test "$(reg_value "$SVC_KEY" ImagePath)" = '"C:\Program Files\berth\berth.exe" service run'
ok "berth set the preshutdown time: $(reg_value "$SVC_KEY" PreshutdownTimeout)" \
  test "$(reg_value "$SVC_KEY" PreshutdownTimeout)" = 0xea60
ok "the event source names berth.exe" \
  test "$(reg_value "$SRC_KEY" EventMessageFile)" = 'C:\Program Files\berth\berth.exe'
ok "the MSI kept the config it found" grep -q "127.0.0.1:$port" "$PD/config.json"

W "$PF/berth.exe" service status >"$TMP/st" 2>&1
rc=$?
ok "service status exits 0 when running (exit $rc): $(cat "$TMP/st")" test $rc = 0
ok "status names the backend, installed and running" \
  grep -qx 'berth service: windows (service control manager), installed, running' "$TMP/st"
ok "status names the config" grep -qxF "  config:   $PD_WIN\\config.json" "$TMP/st"
ok "status names the log" grep -qF "  logs:     $PD_WIN\\berth.log; events in the Application event log" "$TMP/st"
ok "status has the servers' health" grep -qx '  health:   1 of 1 server ready' "$TMP/st"
W "$PF/berth.exe" service status --json >"$TMP/st.json" 2>/dev/null
ok "status --json: $(head -c 300 "$TMP/st.json")" \
  jq -e '.backend == "windows" and .installed and .running and .daemon.servers[0].state == "ready"' "$TMP/st.json"

stops=$(count_log "all servers stopped in")
W sc stop berth >/dev/null 2>&1
# STOP_PENDING's checkpoints, as sc query shows them until STOPPED (30 s
# at most: berth needs about 3)
: >"$TMP/checkpoints"
end=$((SECONDS + 30))
while [ "$SECONDS" -lt "$end" ]; do
  W sc query berth 2>/dev/null | tr -d '\r' >"$TMP/q"
  grep -q 'STATE *: *1 *STOPPED' "$TMP/q" && break
  grep -q 'STATE *: *3 *STOP_PENDING' "$TMP/q" &&
    sed -n 's/^ *CHECKPOINT *: *0x\([0-9a-f]*\).*/\1/p' "$TMP/q" >>"$TMP/checkpoints"
  sleep 0.25
done
is_state "sc stop" STOPPED 5 || abort
# rising: never lower than the one before, and past the first
rising() {
  local c last=0
  while read -r c; do
    [ $((16#$c)) -ge "$last" ] || return 1
    last=$((16#$c))
  done <"$1"
  [ "$last" -ge 2 ]
}
ok "the checkpoint rose while berth stopped: $(tr '\n' ' ' <"$TMP/checkpoints")" rising "$TMP/checkpoints"
ok "the stop went through berth's control handler" \
  grep -qF "windows service: the service manager asks berth to stop (stop)" "$LOG"
ok "berth's shutdown stopped its servers" \
  test "$(count_log "all servers stopped in")" -gt "$stops"
ok "berth reported STOPPED with exit code 0" \
  test "$(W sc query berth | tr -d '\r' | sed -n 's/^ *SERVICE_EXIT_CODE *: *\([0-9]*\).*/\1/p')" = 0
no_fixture "no fixture outlived the service"
# running again, so that the uninstall has to stop it (at once: Wine's
# msiexec removes the files without waiting for the stop)
config_json "$port" >"$PD/config.json"
W sc start berth >/dev/null 2>&1
is_state "sc start" RUNNING 30 || abort
stops=$(count_log "all servers stopped in")
W msiexec /x "$MSI" /qn >"$TMP/msi.out" 2>&1
rc=$?
ok "msiexec /x: exit $rc: $(cat "$TMP/msi.out")" test $rc = 0
# Wine's msiexec does not wait for the stop (Windows does, ServiceControl
# Wait="yes"): the service marked for deletion goes once berth stopped
is_state "msiexec /x removed the service" "" 30
ok "its registry key is gone" bash -c "! '$WINE' reg query '$SVC_KEY' >/dev/null 2>&1"
ok "the event source is gone" bash -c "! '$WINE' reg query '$SRC_KEY' >/dev/null 2>&1"
ok "berth.exe is gone" test ! -e "$PF/berth.exe"
ok "berth stopped its servers first" test "$(count_log "all servers stopped in")" -gt "$stops"
ok "the config stays" test -f "$PD/config.json"
no_fixture "no fixture outlived the service"

# ---- 3. berth service install|status|stop|start|uninstall, no MSI ----------
cp "$BERTH" "$T/berth.exe"
B="$T_WIN\\berth.exe"
readies=$(count_log "server fx ready")
port=$(free_port) || { echo "FAIL: no free port"; exit 1; }
# and a server that cannot start: the event log hears of it
config_json "$port" "" '"gone": { "command": "C:\\berth-nowhere\\gone.exe" }' >"$T/my config.json"
W "$B" service install --config "$T_WIN\\my config.json" >"$TMP/out" 2>&1
rc=$?
ok "service install: exit $rc: $(cat "$TMP/out")" test $rc = 0
ok "install made the service" grep -qF "  created the service berth (LocalSystem): \"$B\" service run --config \"$T_WIN\\my config.json\"" "$TMP/out"
ok "install set the recovery actions" grep -qF "  set: restart 5, 10 and 30 s after a failure" "$TMP/out"
ok "install started it" grep -q '^  started berth (pid [0-9]*)$' "$TMP/out"
ok "sc query says RUNNING (it says $(state))" test "$(state)" = RUNNING
has_new_log "the installed service's server" "server fx ready" "$readies" 30
mcp_check "installed service" "$port"
has_log "a server that failed is a warning event" "reported event 5 to the event log: berth's servers: " 10
ok "that names it: $(grep -F 'event 5' "$LOG" | tail -1)" \
  grep -qF "; restarting: gone (command not found: C:\berth-nowhere\gone.exe" "$LOG"
W "$B" service status >"$TMP/st" 2>&1
ok "status: $(cat "$TMP/st")" grep -qx 'berth service: windows (service control manager), installed, running' "$TMP/st"
ok "status names the service's own config" grep -qxF "  config:   $T_WIN\\my config.json" "$TMP/st"
ok "status says what the service runs" grep -qF "  note: runs: \"$B\" service run --config" "$TMP/st"

stops=$(count_log "all servers stopped in")
W "$B" service stop >"$TMP/out" 2>&1
ok "service stop: $(cat "$TMP/out")" grep -qx '  stopped berth (exit code 0)' "$TMP/out"
ok "it is STOPPED (sc: $(state))" test "$(state)" = STOPPED || abort
ok "berth's shutdown ran" test "$(count_log "all servers stopped in")" -gt "$stops"
no_fixture "no fixture outlived it"
W "$B" service stop >"$TMP/out" 2>&1
ok "stop again: $(cat "$TMP/out")" grep -qx '  berth is not running' "$TMP/out"
W "$B" service status >"$TMP/st" 2>&1
rc=$?
ok "status exits 1 when stopped (exit $rc)" test $rc = 1
ok "status: $(cat "$TMP/st")" grep -qx 'berth service: windows (service control manager), installed, not running' "$TMP/st"
W "$B" service start >"$TMP/out" 2>&1
ok "service start: $(cat "$TMP/out")" grep -q '^  started berth (pid [0-9]*)$' "$TMP/out"
ok "running again" test "$(state)" = RUNNING
# install over a running service: updated and restarted
W "$B" service install --config "$T_WIN\\my config.json" >"$TMP/out" 2>&1
ok "install again: $(cat "$TMP/out")" grep -qF "  updated the service berth: \"$B\" service run" "$TMP/out"
ok "restarted" grep -q '^  stopped berth (exit code 0)$' "$TMP/out"
ok "running" test "$(state)" = RUNNING

# a config berth cannot start on: the SCM hears exit code 1, the event log why
printf '{ "listen": 5 }\n' >"$T/bad.json"
W "$B" service stop >/dev/null 2>&1
W "$B" service install --no-start --config "$T_WIN\\bad.json" >"$TMP/out" 2>&1
ok "install --no-start: $(cat "$TMP/out")" grep -qF '(not started: --no-start)' "$TMP/out"
W "$B" service start >"$TMP/out" 2>&1
rc=$?
ok "start on a bad config fails (exit $rc)" test $rc = 1
ok "and says why: $(cat "$TMP/out")" grep -qF "berth stopped as it started (exit code 1): see $PD_WIN\\berth.log" "$TMP/out"
has_log "the failure is an event with berth's reason" "reported event 4 to the event log: berth could not start; it said:" 10

W "$B" service uninstall >"$TMP/out" 2>&1
rc=$?
ok "uninstall: exit $rc: $(cat "$TMP/out")" test $rc = 0
ok "uninstall removed it" grep -qx '  removed the service berth' "$TMP/out"
ok "and says the config stays" grep -qF "its config $T_WIN\\bad.json and logs in $PD_WIN stay" "$TMP/out"
ok "sc query: no service (it says $(state))" test -z "$(state)"
ok "the event source is gone" bash -c "! '$WINE' reg query '$SRC_KEY' >/dev/null 2>&1"
W "$B" service uninstall >"$TMP/out" 2>&1
ok "uninstall again is fine: $(cat "$TMP/out")" grep -qx '  no service berth is installed' "$TMP/out"
W "$B" service start >"$TMP/out" 2>&1
rc=$?
ok "start with no service fails (exit $rc)" test $rc = 1
ok "and says to install: $(cat "$TMP/out")" grep -qF 'the service berth is not installed: berth service install' "$TMP/out"
W "$B" service run >"$TMP/out" 2>&1
rc=$?
ok "service run outside the SCM is a usage error (exit $rc)" test $rc = 2
ok "that says so: $(cat "$TMP/out")" grep -qF 'only the Windows service manager starts this' "$TMP/out"

echo "$passes passed, $fails failed"
[ "$fails" = 0 ] || { echo "berth.log ends:"; cat "$LOG"; exit 1; }
