#!/usr/bin/env bash
# berth under a real systemd, booted in containers from the image of
# .ci/systemd-image (tests/service/lib/systemd_container.sh), with the
# host's Docker socket and docker CLI mounted in:
#  - the package (cpack -G DEB from the build folder): dpkg -i makes the
#    account, the docker group's drop-in, and an enabled, running unit;
#    systemd-analyze verify passes on it; the unit is active only once berth
#    said READY=1 (the journal's order, and a berth whose READY cannot reach
#    systemd stays "activating" while it answers); its StatusText is the
#    servers' health line; an MCP client lists the servers' tools and calls
#    one in a container started from inside the service; a reload applies
#    a changed config; a stop leaves no berth, server, docker CLI or
#    container; apt-get remove leaves no unit and purge no config;
#  - the user unit: a lingering user's `berth service install --user`, the
#    endpoint on that user's port, `berth service status --user`,
#    `systemctl --user stop`, `berth service uninstall --user`;
#  - `berth service install --system` without the package, with the Docker
#    socket only at another path and DOCKER_HOST in /etc/berth/environment:
#    the same service, its status, a server in a container, uninstall.
# Fails (never skips) when docker does not answer. Prints each phase's time.
# Usage: systemd_test.sh BERTH STATIC_FIXTURE SOURCE_DIR BUILD_DIR
set -u
BERTH=$1 FIXTURE=$2 SRC=$3 BUILD=$4
TMP=$(mktemp -d)
RUN=$$-$RANDOM
. "$SRC/tests/lib/checks.sh"
. "$SRC/tests/service/lib/systemd_container.sh"
sc_on_exit() { rm -rf "$TMP"; }
unset DOCKER_HOST DOCKER_CONTEXT

# ---- phases and their times -------------------------------------------------
PHASE="" PHASE_T=0 TIMES=()
T_START=$(date +%s%N)
now_ms() { echo $((($(date +%s%N) - T_START) / 1000000)); }
phase() {
  local t
  t=$(now_ms)
  [ -z "$PHASE" ] || TIMES+=("$(printf '%6.1f s  %s' "$(((t - PHASE_T) / 100))e-1" "$PHASE")")
  PHASE=$1 PHASE_T=$t LOGGED=""
  [ -z "$PHASE" ] || echo "== $PHASE"
}
report_times() {
  phase ""
  echo "phase times:"
  printf '  %s\n' "${TIMES[@]}"
  printf '  %6.1f s  in all\n' "$(($(now_ms) / 100))e-1"
}

# ---- checks -----------------------------------------------------------------
eq() { [ "$2" = "$3" ] && ok || fail "$1: [$2], want [$3]"; }
has() { case $2 in *"$3"*) ok ;; *) fail "$1: [$2] does not contain [$3]" ;; esac; }
# svc_logs [USER]: the unit's status and journal, once per phase
svc_logs() {
  [ -z "$LOGGED" ] || return 0
  LOGGED=1
  echo "---- systemctl status berth / journalctl -u berth (${1:-system}) in $SC"
  if [ -n "${1:-}" ]; then
    sc_as "$1" systemctl --user status berth --no-pager -l 2>&1 | head -30
    sc journalctl _UID="$(sc id -u "$1")" -n 60 --no-pager 2>&1
  else
    sc systemctl status berth --no-pager -l 2>&1 | head -30
    sc journalctl -u berth -n 60 --no-pager 2>&1
  fi
  echo "----"
}
sfail() { fail "$1"; svc_logs "${2:-}"; }

# inside the container: processes of berth, its servers and docker CLIs
# ("PID USER EXE"; a binary removed since shows as "... (deleted)")
PROCS='for d in /proc/[0-9]*; do e=$(readlink "$d/exe" 2>/dev/null) || continue
  case $e in *berth*|*mcp_fixture*|/usr/bin/docker*) echo "${d#/proc/} $(stat -c %U "$d") $e" ;; esac
done'
procs() { sc_sh "$PROCS"; }
# port_answers PORT: anything answers HTTP there (in the container)
port_answers() {
  [ "$(sc curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$1/mcp")" != 000 ]
}
# show PROP [--user USER]: one property of berth.service
show() {
  if [ -n "${2:-}" ]; then sc_as "$2" systemctl --user show -p "$1" --value berth
  else sc systemctl show -p "$1" --value berth; fi
}
# wait_status TEXT [USER]: StatusText becomes TEXT within 30 s
wait_status() {
  local i s=""
  for ((i = 0; i < 150; i++)); do
    s=$(show StatusText "${2:-}")
    [ "$s" = "$1" ] && { ok; return 0; }
    sleep 0.2
  done
  sfail "StatusText is [$s] after 30 s, want [$1]" "${2:-}"
  return 1
}
# tools PORT: the tool names a fresh MCP session lists, sorted
tools() {
  sc mcp-probe "$1" tools/list 2>"$TMP/probe.err" | jq -r 'select(.id == 2) | .result.tools[].name' | sort | tr '\n' ' '
}
# call PORT TOOL ARGS: the text of a tools/call's first content item
call() {
  sc mcp-probe "$1" tools/call "{\"name\": \"$2\", \"arguments\": $3}" 2>"$TMP/probe.err" |
    jq -r 'select(.id == 2) | .result.content[0].text'
}
# containers [--all]: the ids of the containers of this test's berths on the
# host's daemon (each carries berth.systemd-test=$RUN), running or --all
containers() {
  docker ps -q ${1:+-a} --filter label=io.berth.managed=true --filter "label=berth.systemd-test=$RUN"
}
# no_leftovers WHAT: no berth, server or docker CLI process in $SC, and no
# container of this test, running at once and at all within 10 s (--rm)
no_leftovers() {
  local left i
  left=$(procs)
  [ -z "$left" ] && ok || sfail "$1: processes left: $left"
  [ -z "$(containers)" ] && ok || fail "$1: containers still running: $(containers)"
  for ((i = 0; i < 50; i++)); do
    [ -z "$(containers --all)" ] && break
    sleep 0.2
  done
  [ -z "$(containers --all)" ] && ok || fail "$1: containers left: $(docker ps -a --filter "label=berth.systemd-test=$RUN")"
}
# config_json PORT: a config with a local fixture server and one in a
# container (labelled with this run, so its containers can be found)
config_json() {
  cat <<JSON
{ "listen": "127.0.0.1:$1",
  "docker_isolation": { "mode": "docker", "network_mode": "none",
                        "extra_args": ["--label", "berth.systemd-test=$RUN"] },
  "mcpServers": {
    "local": { "command": "/usr/local/lib/berth-test/mcp_fixture", "isolation": { "mode": "none" } },
    "iso": { "command": "/mcp_fixture", "isolation": { "image": "berth-test/fixture:latest" } }${2:-}
  } }
JSON
}
# put_common: the fixture, the MCP client, and the docker group with the
# socket's gid (so SupplementaryGroups=docker reaches the socket)
put_common() {
  sc mkdir -p /usr/local/lib/berth-test
  sc_put "$FIXTURE" /usr/local/lib/berth-test/mcp_fixture 0755 &&
    sc_put "$SRC/tests/service/mcp-probe" /usr/local/bin/mcp-probe 0755 &&
    sc groupadd -g "$SOCK_GID" docker
}
# verify FILE [USER]: systemd-analyze verify passes and says nothing of berth
verify() {
  local rc
  if [ -n "${2:-}" ]; then sc_as "$2" systemd-analyze --user verify "$1" >"$TMP/verify" 2>&1
  else sc systemd-analyze verify "$1" >"$TMP/verify" 2>&1; fi
  rc=$?
  [ $rc = 0 ] && ! grep -q berth "$TMP/verify" && ok ||
    fail "systemd-analyze verify $1: exit $rc: $(cat "$TMP/verify")"
}

# ---- what the test needs --------------------------------------------------
phase "prerequisites: docker, test images, systemd image, the .deb"
docker_ready "$FIXTURE"
if ! "$SRC/.ci/systemd-image" >"$TMP/image.out" 2>"$TMP/image.err"; then
  echo "FAIL: .ci/systemd-image:"
  cat "$TMP/image.err"
  exit 1
fi
SC_IMAGE=$(tail -1 "$TMP/image.out")
note "$(tail -1 "$TMP/image.err")"
[ -x /usr/bin/docker ] || { echo "FAIL: no /usr/bin/docker (Debian's docker.io) to mount into the containers"; exit 1; }
SOCK_GID=$(stat -c %g /var/run/docker.sock) || { echo "FAIL: no /var/run/docker.sock"; exit 1; }
[ -f "$BUILD/CPackConfig.cmake" ] || { echo "FAIL: $BUILD has no CPackConfig.cmake (the package is not configured)"; exit 1; }
if ! (cd "$TMP" && cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$TMP/deb") >"$TMP/cpack.log" 2>&1; then
  echo "FAIL: cpack -G DEB:"
  cat "$TMP/cpack.log"
  exit 1
fi
DEB=$(ls "$TMP"/deb/berth_*.deb 2>/dev/null | head -1)
[ -n "$DEB" ] || { echo "FAIL: cpack made no berth_*.deb:"; cat "$TMP/cpack.log"; exit 1; }
note "package: ${DEB##*/}, $(du -k "$DEB" | cut -f1) KiB; socket gid $SOCK_GID"
MOUNT_DOCKER=(-v /usr/bin/docker:/usr/bin/docker:ro)

# ============================================================================
phase "package: boot, dpkg -i"
sc_boot pkg -v /var/run/docker.sock:/var/run/docker.sock "${MOUNT_DOCKER[@]}" || exit 1
HOST_A=$(sc_hostname)
put_common || { echo "FAIL: could not set the container up"; exit 1; }
sc_put "$DEB" /tmp/berth.deb || exit 1
sc env DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/berth.deb >"$TMP/dpkg.log" 2>&1 && ok ||
  { fail "dpkg -i: $(cat "$TMP/dpkg.log")"; svc_logs; }
sc getent passwd berth >/dev/null && ok || fail "dpkg -i made no user berth"
eq "the package's unit" "$(sc stat -c '%a %U' /lib/systemd/system/berth.service 2>&1)" "644 root"
eq "the config" "$(sc stat -c '%a %U:%G' /etc/berth/config.json 2>&1)" "640 root:berth"
eq "enabled" "$(sc systemctl is-enabled berth 2>&1)" enabled
eq "started by postinst" "$(sc systemctl is-active berth 2>&1)" active
has "the docker group's drop-in" "$(show DropInPaths)" /etc/systemd/system/berth.service.d/10-docker-group.conf
has "the service's groups" "$(show SupplementaryGroups)" docker
verify /lib/systemd/system/berth.service

# ----------------------------------------------------------------------------
phase "package: READY, StatusText, MCP through the service, a server in a container"
config_json 8750 | sc_sh 'cat >/etc/berth/config.json'
# with systemd's debug log, the journal says when berth's notification came
# and when systemd moved the unit from "start" (activating) to "running"
cursor=$(sc journalctl -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p')
sc systemd-analyze log-level debug
out=$(sc_sh 'systemctl restart berth; echo "$? $(curl -s -o /dev/null -w "%{http_code}" --max-time 3 http://127.0.0.1:8750/mcp)"')
sc systemd-analyze log-level info
set -- $out
eq "systemctl restart" "$1" 0
# systemctl start returns once the unit is active: the port answers at
# that moment, with no retry (READY=1 is not sent before berth listens)
[ "${2:-000}" != 000 ] && ok || sfail "the port did not answer when systemctl restart returned (HTTP ${2:-none})"
pid=$(show MainPID)
sc journalctl --after-cursor="$cursor" -u berth -o cat --no-pager >"$TMP/journal" 2>&1
l_start=$(grep -n -m1 'berth.service: Changed dead -> start' "$TMP/journal" | cut -d: -f1)
l_ready=$(grep -n -m1 "Got notification message from PID $pid (READY=1" "$TMP/journal" | cut -d: -f1)
l_run=$(grep -n -m1 'berth.service: Changed start -> running' "$TMP/journal" | cut -d: -f1)
note "journal lines: start ${l_start:-?}, READY=1 from pid $pid ${l_ready:-?}, running ${l_run:-?}"
[ -n "$l_start" ] && [ -n "$l_ready" ] && [ -n "$l_run" ] &&
  [ "$l_start" -lt "$l_ready" ] && [ "$l_ready" -lt "$l_run" ] && ok ||
  { fail "the unit was not activating until berth's READY=1:"; grep -n -e 'Changed' -e 'notification' "$TMP/journal"; }
eq "state" "$(show ActiveState),$(show SubState)" active,running
# berth's log says where it serves; the terminal's how-to text is not for
# the journal
grep -q "MCP endpoint: http://127.0.0.1:8750/mcp" "$TMP/journal" && ok || fail "the journal does not name the endpoint"
grep -q "Stop with Ctrl+C" "$TMP/journal" && fail "the terminal's how-to-connect text went to the journal" || ok
wait_status "2 of 2 servers ready"
t=$(tools 8750)
has "tools/list through the service" "$t" "iso__echo"
has "tools/list through the service" "$t" "local__echo"
[ -n "$t" ] || cat "$TMP/probe.err"
eq "tools/call in the container" "$(call 8750 iso__echo '{"text": "from a container"}')" "from a container"
ids=$(containers)
[ "$(echo "$ids" | grep -c .)" = 1 ] && ok || fail "containers of server iso: [$ids], want one"
inst=$(docker inspect -f '{{index .Config.Labels "io.berth.instance"}}' $ids 2>/dev/null)
has "the container's berth" "$inst" "$HOST_A/$pid/"

# A control: a berth that listens but whose READY=1 cannot reach systemd
# (no NOTIFY_SOCKET) stays activating: what made berth.service active was
# its READY, not its listening.
echo '{ "listen": "127.0.0.1:8751", "mcpServers": {} }' | sc_sh 'cat >/tmp/noready.json'
sc systemd-run --unit=berth-noready -p Type=notify -p NotifyAccess=main \
  -p Environment=BERTH_STATE_DIR=/tmp/noready --no-block \
  /usr/bin/env -u NOTIFY_SOCKET /usr/bin/berth serve --config /tmp/noready.json >/dev/null 2>&1
for ((i = 0; i < 50; i++)); do port_answers 8751 && break; sleep 0.1; done
port_answers 8751 && ok || fail "the control berth does not answer"
eq "a berth without READY" "$(sc systemctl show -p ActiveState,SubState --value berth-noready | tr '\n' ' ')" "activating start "
sc systemctl stop berth-noready
sc systemctl reset-failed berth-noready >/dev/null 2>&1

# ----------------------------------------------------------------------------
phase "package: reload, stop"
config_json 8750 ', "third": { "command": "/usr/local/lib/berth-test/mcp_fixture", "isolation": { "mode": "none" } }' |
  sc_sh 'cat >/etc/berth/config.json'
sc systemctl reload berth >"$TMP/reload" 2>&1 && ok || sfail "systemctl reload: $(cat "$TMP/reload")"
wait_status "3 of 3 servers ready"
eq "a reload is no restart" "$(show MainPID)" "$pid"
sc systemctl stop berth >"$TMP/stop" 2>&1 && ok || sfail "systemctl stop: $(cat "$TMP/stop")"
eq "after stop" "$(show ActiveState)" inactive
# berth stopped its servers itself, within the stop timeout
eq "stop result" "$(show Result)" success
sc journalctl -u berth --after-cursor="$cursor" -o cat --no-pager | grep -q "all servers stopped" && ok ||
  sfail "berth did not say it stopped its servers"
no_leftovers "systemctl stop"

# ----------------------------------------------------------------------------
phase "user unit: linger, install --user, status, stop, uninstall"
U=ada
sc useradd -m -s /bin/bash "$U"
uid=$(sc id -u "$U")
sc loginctl enable-linger "$U"
for ((i = 0; i < 100; i++)); do
  sc test -S "/run/user/$uid/bus" && [ "$(sc systemctl is-active "user@$uid.service")" = active ] && break
  sleep 0.1
done
eq "the user's manager (linger)" "$(sc systemctl is-active "user@$uid.service")" active
UCONF=/home/$U/.config/berth/config.json
UUNIT=/home/$U/.config/systemd/user/berth.service
sc_as "$U" mkdir -p "/home/$U/.config/berth"
echo '{ "listen": "127.0.0.1:8760", "mcpServers": { "mine": { "command": "/usr/local/lib/berth-test/mcp_fixture" } } }' |
  sc_as "$U" bash -c "cat >$UCONF"
sc_as "$U" berth service install --user >"$TMP/uinst" 2>&1 && ok ||
  sfail "berth service install --user: $(cat "$TMP/uinst")" "$U"
eq "the user unit" "$(sc stat -c '%a %U' "$UUNIT" 2>&1)" "644 $U"
eq "user unit active" "$(sc_as "$U" systemctl --user is-active berth 2>&1)" active
wait_status "1 of 1 server ready" "$U"
has "tools/list on the user's port" "$(tools 8760)" "mine__echo"
sc_as "$U" berth service status --user >"$TMP/ustatus" 2>&1
eq "berth service status --user: exit" $? 0
st=$(cat "$TMP/ustatus")
has "status --user" "$st" "berth service: systemd (user), installed, running"
has "status --user" "$st" "config:   $UCONF"
has "status --user" "$st" "logs:     the journal (journalctl --user -u berth)"
has "status --user" "$st" "health:   1 of 1 server ready"
verify "$UUNIT" "$U"
sc_as "$U" systemctl --user stop berth
eq "user unit after stop" "$(sc_as "$U" systemctl --user is-active berth 2>&1)" inactive
port_answers 8760 && fail "port 8760 still answers after systemctl --user stop" || ok
[ -z "$(procs)" ] && ok || fail "processes after systemctl --user stop: $(procs)"
sc_as "$U" systemctl --user start berth && ok || sfail "systemctl --user start" "$U"
sc_as "$U" berth service uninstall --user >"$TMP/uun" 2>&1 && ok ||
  sfail "berth service uninstall --user: $(cat "$TMP/uun")" "$U"
sc test -e "$UUNIT" && fail "uninstall --user left $UUNIT" || ok
sc_as "$U" systemctl --user cat berth >/dev/null 2>&1 && fail "systemctl --user cat berth still finds a unit" || ok
port_answers 8760 && fail "port 8760 still answers after uninstall --user" || ok
[ -z "$(procs)" ] && ok || fail "processes after uninstall --user: $(procs)"
sc test -f "$UCONF" && ok || fail "uninstall --user removed the config"

# ----------------------------------------------------------------------------
phase "package: apt-get remove, purge"
sc systemctl start berth && ok || sfail "systemctl start before the removal"
sc env DEBIAN_FRONTEND=noninteractive apt-get remove -y berth >"$TMP/remove" 2>&1 && ok ||
  fail "apt-get remove: $(cat "$TMP/remove")"
sc test -e /lib/systemd/system/berth.service && fail "remove left /lib/systemd/system/berth.service" || ok
sc test -e /etc/systemd/system/berth.service.d && fail "remove left the drop-in folder" || ok
sc systemctl cat berth >/dev/null 2>&1 && fail "systemctl cat berth still finds a unit after remove" || ok
eq "LoadState after remove" "$(show LoadState)" not-found
no_leftovers "apt-get remove"
sc test -f /etc/berth/config.json && ok || fail "remove took the config (only purge should)"
sc env DEBIAN_FRONTEND=noninteractive apt-get purge -y berth >"$TMP/purge" 2>&1 && ok ||
  fail "apt-get purge: $(cat "$TMP/purge")"
sc test -e /etc/berth/config.json && fail "purge left /etc/berth/config.json" || ok
sc test -e /var/lib/berth && fail "purge left /var/lib/berth" || ok

# ============================================================================
phase "install --system without the package, DOCKER_HOST from /etc/berth/environment"
# the socket only at another path: docker works only through DOCKER_HOST
sc_boot nopkg -v /var/run/docker.sock:/srv/docker/docker.sock "${MOUNT_DOCKER[@]}" || exit 1
HOST_B=$(sc_hostname)
put_common || { echo "FAIL: could not set the container up"; exit 1; }
sc_put "$BERTH" /usr/local/bin/berth 0755
sc mkdir -p /etc/berth
config_json 8750 | sc_sh 'umask 077; cat >/etc/berth/config.json'
echo "DOCKER_HOST=unix:///srv/docker/docker.sock" | sc_sh 'cat >/etc/berth/environment'
sc docker version >/dev/null 2>&1 && fail "docker answers without DOCKER_HOST: the test proves nothing" || ok
sc berth service install --system >"$TMP/sinst" 2>&1 && ok ||
  sfail "berth service install --system: $(cat "$TMP/sinst")"
SUNIT=/etc/systemd/system/berth.service
eq "the unit" "$(sc stat -c '%a %U' "$SUNIT" 2>&1)" "644 root"
sc grep -qx 'SupplementaryGroups=docker' "$SUNIT" && ok || fail "the unit has no SupplementaryGroups=docker"
eq "the config" "$(sc stat -c '%a %U:%G' /etc/berth/config.json 2>&1)" "640 root:berth"
eq "install --system: active" "$(sc systemctl is-active berth 2>&1)" active
verify "$SUNIT"
wait_status "2 of 2 servers ready"
sc berth service status --system >"$TMP/sstatus" 2>&1
eq "berth service status --system: exit" $? 0
st=$(cat "$TMP/sstatus")
has "status --system" "$st" "berth service: systemd (system), installed, running"
has "status --system" "$st" "unit:     $SUNIT"
has "status --system" "$st" "health:   2 of 2 servers ready"
has "status --system" "$st" "docker:   /usr/bin/docker"
eq "tools/call in the container (DOCKER_HOST)" "$(call 8750 iso__echo '{"text": "via DOCKER_HOST"}')" "via DOCKER_HOST"
ids=$(containers)
inst=$(docker inspect -f '{{index .Config.Labels "io.berth.instance"}}' $ids 2>/dev/null)
has "the container's berth (DOCKER_HOST)" "$inst" "$HOST_B/$(show MainPID)/"
sc berth service stop --system >"$TMP/sstop" 2>&1 && ok || sfail "berth service stop --system: $(cat "$TMP/sstop")"
eq "after berth service stop" "$(show ActiveState)" inactive
no_leftovers "berth service stop --system"
sc berth service uninstall --system >"$TMP/sun" 2>&1 && ok ||
  fail "berth service uninstall --system: $(cat "$TMP/sun")"
sc test -e "$SUNIT" && fail "uninstall --system left $SUNIT" || ok
sc systemctl cat berth >/dev/null 2>&1 && fail "systemctl cat berth still finds a unit after uninstall" || ok
sc test -f /etc/berth/config.json && ok || fail "uninstall --system removed the config"

report_times
finish
