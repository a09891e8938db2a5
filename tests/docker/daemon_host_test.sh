#!/usr/bin/env bash
# Which daemon an isolated server lands on, for real, with a second dockerd
# on a socket of its own (tests/docker/second-daemon):
#  - DOCKER_HOST in berth's environment: the plan is direct exec of the
#    resolved docker, and the container runs on the second daemon, not on
#    the default one;
#  - DOCKER_HOST absent from berth's environment and exported only by the
#    login shell's profile (a fake login shell that sets it in login mode):
#    the spawn is wrapped in that shell and reaches the second daemon too,
#    and so do the docker commands that stop and sweep it.
# Usage: daemon_host_test.sh BERTH STATIC_FIXTURE SOURCE_DIR
set -u
BERTH=$1 FIXTURE=$2 SRC=$3
TMP=$(mktemp -d)
D2=unix:///tmp/berth-dockerd2.sock
cleanup() {
  "$SRC/tests/docker/second-daemon" stop >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT
. "$SRC/tests/lib/checks.sh"
eq() { [ "$2" = "$3" ] && ok || fail "$1: [$2], want [$3]"; }

docker_ready "$FIXTURE"
t0=$(date +%s)
"$SRC/tests/docker/second-daemon" start >"$TMP/d2.log" 2>&1 \
  || { echo "FAIL: the second daemon did not start:"; cat "$TMP/d2.log"; exit 1; }
docker save berth-test/fixture:latest | DOCKER_HOST=$D2 docker load >/dev/null \
  || { echo "FAIL: could not copy the image to the second daemon"; exit 1; }
note "second daemon up with the image in $(( $(date +%s) - t0 )) s"

export HOME="$TMP/home"
unset XDG_RUNTIME_DIR BERTH_CONFIG DOCKER_HOST DOCKER_CONTEXT
mkdir -p "$HOME"
cat >"$TMP/c.json" <<'JSON'
{ "docker_isolation": { "mode": "docker", "network_mode": "none" },
  "mcpServers": {
    "iso": { "command": "/mcp_fixture", "isolation": { "image": "berth-test/fixture:latest" },
             "env": { "WHERE": "second" } }
} }
JSON
C=(--config "$TMP/c.json")
on_d2() { DOCKER_HOST=$D2 docker ps -q --filter label=io.berth.server=iso; }
on_d1() { docker ps -q --filter label=io.berth.server=iso; }

# call_and_look DESC ENV...: a 2.5 s call under ENV; while it runs, the
# container must be on the second daemon and not on the first; afterwards
# it must be gone from both
call_and_look() {
  local desc=$1 id="" i
  shift
  env "$@" "$BERTH" call iso sleep --args '{"ms": 2500}' "${C[@]}" >"$TMP/out" 2>"$TMP/err" &
  local bpid=$!
  for ((i = 0; i < 100; i++)); do
    id=$(on_d2)
    [ -n "$id" ] && break
    sleep 0.05
  done
  [ -n "$id" ] && ok || fail "$desc: no container on the second daemon"
  [ -z "$(on_d1)" ] && ok || fail "$desc: a container landed on the default daemon"
  wait $bpid && ok || fail "$desc: the call failed: $(cat "$TMP/err")"
  grep -q "slept 2500 ms" "$TMP/out" && ok || fail "$desc: no answer: $(cat "$TMP/out")"
  for ((i = 0; i < 100; i++)); do
    [ -z "$(DOCKER_HOST=$D2 docker ps -aq --filter label=io.berth.server=iso)" ] && break
    sleep 0.05
  done
  [ -z "$(DOCKER_HOST=$D2 docker ps -aq --filter label=io.berth.server=iso)" ] && ok \
    || fail "$desc: the container was left on the second daemon"
}

# --- DOCKER_HOST in berth's environment: direct exec -------------------------
DOCKER=$(command -v docker)
DOCKER_HOST=$D2 "$BERTH" plan iso --json "${C[@]}" >"$TMP/plan.json" 2>"$TMP/err" || fail "plan: $(cat "$TMP/err")"
eq "DOCKER_HOST set: wrapped" "$(jq -r .wrapped "$TMP/plan.json")" false
eq "DOCKER_HOST set: the program" "$(jq -r .program "$TMP/plan.json")" "$DOCKER"
eq "DOCKER_HOST set: passed to docker" \
  "$(jq -r '.env[] | select(startswith("DOCKER_HOST="))' "$TMP/plan.json")" "DOCKER_HOST=$D2"
call_and_look "DOCKER_HOST=$D2" DOCKER_HOST=$D2
DOCKER_HOST=$D2 "$BERTH" doctor "${C[@]}" >"$TMP/doctor" 2>&1
grep -q "The daemon answers" "$TMP/doctor" && ok || fail "doctor with DOCKER_HOST: $(cat "$TMP/doctor")"

# --- only the login shell knows DOCKER_HOST: the wrap --------------------------
# a login shell called bash whose profile (login mode only) exports it
mkdir -p "$TMP/shell"
cat >"$TMP/shell/bash" <<EOF
#!/bin/bash
if [ "\${1:-}" = -l ]; then export DOCKER_HOST=$D2; fi
exec /bin/bash "\$@"
EOF
chmod +x "$TMP/shell/bash"
SHELL="$TMP/shell/bash" "$BERTH" plan iso --json "${C[@]}" >"$TMP/plan.json" 2>"$TMP/err" || fail "plan: $(cat "$TMP/err")"
eq "login shell: wrapped" "$(jq -r .wrapped "$TMP/plan.json")" true
eq "login shell: the shell" "$(jq -r .program "$TMP/plan.json")" "$TMP/shell/bash"
eq "login shell: -l -c" "$(jq -r '.argv[1:3] | join(" ")' "$TMP/plan.json")" "-l -c"
# the server's env is assigned back from its alias first (docs/isolation.md)
line=$(jq -r '.argv[3]' "$TMP/plan.json")
case "$line" in
  "WHERE=\"\$BERTH_ENV_WHERE\" $DOCKER run --cidfile "*) ok ;;
  *) fail "login shell: the line does not start with WHERE's assignment and the absolute docker: $line" ;;
esac
[ -z "$(jq -r '.env[] | select(startswith("DOCKER_HOST="))' "$TMP/plan.json")" ] && ok \
  || fail "login shell: berth invented a DOCKER_HOST"
call_and_look "DOCKER_HOST from the login shell" SHELL="$TMP/shell/bash"

# the same shell is used for management commands: a berth serve with it
# stops its container on the second daemon (the server ignores stdin EOF,
# so only docker stop through the wrap ends it)
. "$SRC/tests/lib/free_port.sh"
cat >"$TMP/keep.json" <<JSON
{ "listen": "127.0.0.1:$(free_port)", "docker_isolation": { "mode": "docker", "network_mode": "none" },
  "mcpServers": {
    "iso": { "command": "/mcp_fixture", "isolation": { "image": "berth-test/fixture:latest" },
             "env": { "FIXTURE_IGNORE_EOF": "1" }, "timeouts": { "shutdown": 1 } }
} }
JSON
SHELL="$TMP/shell/bash" "$BERTH" serve --config "$TMP/keep.json" 2>"$TMP/serve.log" &
spid=$!
for ((i = 0; i < 600; i++)); do
  grep -q "server iso ready" "$TMP/serve.log" && break
  sleep 0.05
done
[ -n "$(on_d2)" ] && ok || fail "serve: no container on the second daemon: $(cat "$TMP/serve.log")"
kill -TERM $spid
wait $spid
eq "serve: exit status on SIGTERM" $? 0
grep -q "stopping its container" "$TMP/serve.log" && ok || fail "serve: no docker stop: $(cat "$TMP/serve.log")"
[ -z "$(DOCKER_HOST=$D2 docker ps -aq --filter label=io.berth.server=iso)" ] && ok \
  || fail "serve: docker stop through the login shell left the container on the second daemon"

finish
