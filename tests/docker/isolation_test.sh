#!/usr/bin/env bash
# Docker isolation against the real daemon (.ci/docker-setup starts it):
# an isolated fixture server answers through berth call; its configured env
# is inside the container and in none of berth's output; --network,
# --memory, name and labels reach docker; the container is hardened by
# default (no-new-privileges, no capabilities, docker-init as PID 1, a pids
# limit), and a server's isolation turns each off; the container is gone
# afterwards; a user-supplied docker run server works the same way. No
# value of a server's env is on any process's command line while its
# docker client runs (direct exec and the login-shell wrap): it reaches the
# container through `-e NAME` from the client's environment, past a login
# profile that exports the same name.
# Usage: isolation_test.sh BERTH STATIC_FIXTURE SOURCE_DIR
set -u
BERTH=$1 FIXTURE=$2 SRC=$3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. "$SRC/tests/lib/checks.sh"
has() { case "$1" in *"$2"*) ok ;; *) fail "missing [$2] in [$1]" ;; esac; }

docker_ready "$FIXTURE"

cat >"$TMP/c.json" <<'JSON'
{ "docker_isolation": { "mode": "docker", "memory_limit": "64m" },
  "mcpServers": {
    "iso": { "command": "/mcp_fixture", "env": { "API_KEY": "iso-secret-4242" },
             "isolation": { "image": "berth-test/fixture:latest", "network_mode": "none" } },
    "loose": { "command": "/mcp_fixture",
               "isolation": { "image": "berth-test/fixture:latest", "no_new_privileges": false,
                              "cap_drop_all": false, "init": false, "pids_limit": 0 } },
    "bridged": { "command": "/mcp_fixture",
                 "isolation": { "image": "berth-test/fixture:latest", "network_mode": "bridge" } },
    "byhand": { "command": "docker",
                "args": ["run", "-i", "--rm", "--label", "berth.test=byhand", "berth-test/fixture:latest"],
                "env": { "HAND_TOKEN": "hand-secret-777" } },
    "github": { "command": "docker",
                "args": ["run", "-i", "--rm", "-e", "GH_TOKEN", "berth-test/fixture:latest"],
                "env": { "GH_TOKEN": "gh-secret-555" } }
} }
JSON
C=(--config "$TMP/c.json")
# berth's own environment decides direct exec or the login-shell wrap; both
# must work here (no DOCKER_HOST: the wrap through the login shell)
export HOME="$TMP/home"; mkdir -p "$HOME"

"$BERTH" call iso echo --args '{"text": "from a container"}' "${C[@]}" >"$TMP/out" 2>"$TMP/err"
[ $? = 0 ] && ok || fail "isolated echo: $(cat "$TMP/err")"
has "$(cat "$TMP/out")" "from a container"

"$BERTH" call iso env_dump "${C[@]}" --log-level debug >"$TMP/out" 2>"$TMP/err"
has "$(cat "$TMP/out")" '"API_KEY":"iso-secret-4242"'
case "$(cat "$TMP/err")" in *iso-secret-4242*) fail "a log line shows the configured value" ;; *) ok ;; esac
"$BERTH" plan iso "${C[@]}" >"$TMP/plan" 2>&1
case "$(cat "$TMP/plan")" in *iso-secret-4242*) fail "berth plan shows the configured value" ;; *) ok ;; esac
has "$(cat "$TMP/plan")" "API_KEY=***"

# cmdlines_with TEXT: the pids whose command line holds TEXT
cmdlines_with() {
  # the pattern from a file: grep's own command line must not hold it
  printf '%s\n' "$1" >"$TMP/pattern"
  grep -alFf "$TMP/pattern" /proc/[0-9]*/cmdline 2>/dev/null | sed 's|^/proc/\([0-9]*\)/cmdline$|\1|'
}
# docker_client LABEL: the pid of the running docker client whose argv
# holds LABEL (the wrapping shell execs docker, or is its parent)
docker_client() {
  local p
  for p in $(cmdlines_with "$1"); do
    case "$(tr '\0' '\n' <"/proc/$p/cmdline" | head -1)" in
      docker|*/docker) echo "$p"; return ;;
    esac
  done
}
# no_value_in_cmdlines WHAT VALUE NAME LABEL: while WHAT's docker client
# runs, no process's command line holds VALUE; the client's has -e NAME
# alone, and its environment holds the value
no_value_in_cmdlines() {
  local pid holders
  pid=$(docker_client "$4")
  if [ -z "$pid" ]; then fail "$1: no docker client running"; return; fi
  holders=$(cmdlines_with "$2")
  [ -z "$holders" ] && ok || fail "$1: the value is on the command line of: $(for h in $holders; do tr '\0' ' ' <"/proc/$h/cmdline"; echo; done)"
  tr '\0' '\n' <"/proc/$pid/cmdline" | grep -A1 -x -- -e | grep -qx "$3" \
    && ok || fail "$1: the docker client has no [-e $3]: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
  tr '\0' '\n' <"/proc/$pid/environ" | grep -qx "$3=$2" \
    && ok || fail "$1: the docker client's environment lacks $3"
}

# while a call runs, the container carries what the plan says
"$BERTH" call iso sleep --args '{"ms": 2500}' "${C[@]}" >"$TMP/out" 2>"$TMP/err" &
bpid=$!
cid=""
for _ in $(seq 100); do
  cid=$(docker ps -q --filter label=io.berth.server=iso --filter label=io.berth.managed=true)
  [ -n "$cid" ] && break
  sleep 0.05
done
if [ -n "$cid" ]; then
  ok
  [ "$(docker inspect -f '{{.HostConfig.Memory}}' "$cid")" = 67108864 ] && ok || fail "memory limit not applied"
  [ "$(docker inspect -f '{{.HostConfig.NetworkMode}}' "$cid")" = none ] && ok || fail "network mode not applied"
  name=$(docker inspect -f '{{.Name}}' "$cid")
  case "$name" in /berth-iso-*) ok ;; *) fail "container name $name" ;; esac
  [ -n "$(docker inspect -f '{{index .Config.Labels "io.berth.instance"}}' "$cid")" ] && ok || fail "no instance label"
  docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$cid" | grep -qx 'API_KEY=iso-secret-4242' \
    && ok || fail "env not passed into the container"
  no_value_in_cmdlines "iso (login-shell wrap)" iso-secret-4242 API_KEY io.berth.server=iso
  # hardened by default
  hard=$(docker inspect -f 'sec={{json .HostConfig.SecurityOpt}} drop={{json .HostConfig.CapDrop}} init={{json .HostConfig.Init}} pids={{.HostConfig.PidsLimit}}' "$cid")
  [ "$hard" = 'sec=["no-new-privileges"] drop=["ALL"] init=true pids=1024' ] && ok \
    || fail "the isolated container is not hardened by default: $hard"
else
  fail "no running container labelled io.berth.server=iso"
fi
wait $bpid && ok || fail "the sleep call failed: $(cat "$TMP/err")"
has "$(cat "$TMP/out")" "slept 2500 ms"

# running_cid SERVER: the id of SERVER's running container, waiting for it
running_cid() {
  local id="" i
  for i in $(seq 100); do
    id=$(docker ps -q --filter "label=io.berth.server=$1" --filter label=io.berth.managed=true)
    [ -n "$id" ] && break
    sleep 0.05
  done
  echo "$id"
}
# gone_within SERVER TENTHS: SERVER's container is gone within that time
gone_within() {
  local i
  for ((i = 0; i < $2 * 2; i++)); do
    [ -z "$(docker ps -q --filter "label=io.berth.server=$1")" ] && return 0
    sleep 0.05
  done
  return 1
}

# the same with DOCKER_HOST set: docker runs directly, not through a shell
DOCKER_HOST=unix:///var/run/docker.sock "$BERTH" call iso sleep --args '{"ms": 2000}' "${C[@]}" >"$TMP/out" 2>"$TMP/err" &
bpid=$!
cid=$(running_cid iso)
[ -n "$cid" ] && no_value_in_cmdlines "iso (direct exec)" iso-secret-4242 API_KEY io.berth.server=iso \
  || fail "no container for the direct exec check"
wait $bpid && ok || fail "the direct exec call failed: $(cat "$TMP/err")"

# a login profile that exports the same name does not replace the value
# the config gives (the wrap passes it under an alias)
echo 'export API_KEY=from-the-profile' >"$HOME/.profile"
"$BERTH" call iso env_dump "${C[@]}" >"$TMP/out" 2>"$TMP/err"
has "$(cat "$TMP/out")" '"API_KEY":"iso-secret-4242"'
rm -f "$HOME/.profile"

# the defaults at work: with docker-init as PID 1, a SIGTERM to the
# container reaches the server (which has no handler of its own) and ends
# it; the kernel gives a PID 1 no signal it does not handle, so the server
# that turns init off runs on through the same SIGTERM
"$BERTH" call iso sleep --args '{"ms": 8000}' "${C[@]}" >"$TMP/out" 2>"$TMP/err" &
bpid=$!
cid=$(running_cid iso)
if [ -n "$cid" ]; then
  docker kill -s TERM "$cid" >/dev/null
  gone_within iso 20 && ok || fail "SIGTERM did not end the isolated server (no init as PID 1?)"
else
  fail "no running container for the SIGTERM check"
fi
wait $bpid && fail "the call survived its server's SIGTERM" || ok
"$BERTH" call loose sleep --args '{"ms": 2500}' "${C[@]}" >"$TMP/out" 2>"$TMP/err" &
bpid=$!
cid=$(running_cid loose)
if [ -n "$cid" ]; then
  loose=$(docker inspect -f 'sec={{json .HostConfig.SecurityOpt}} drop={{json .HostConfig.CapDrop}} init={{json .HostConfig.Init}} pids={{.HostConfig.PidsLimit}}' "$cid")
  case "$loose" in
    'sec=null drop=null init=null pids='|'sec=null drop=null init=null pids=0'|'sec=null drop=null init=null pids=<nil>') ok ;;
    *) fail "the server that turns the hardening off still has some: $loose" ;;
  esac
  docker kill -s TERM "$cid" >/dev/null
  sleep 1
  [ -n "$(docker ps -q --filter "label=io.berth.server=loose")" ] && ok \
    || fail "without init the server as PID 1 should run on through SIGTERM"
else
  fail "no running container for the server without hardening"
fi
wait $bpid && ok || fail "the call to the server without init failed: $(cat "$TMP/err")"
has "$(cat "$TMP/out")" "slept 2500 ms"
for _ in $(seq 100); do
  [ -z "$(docker ps -aq --filter label=io.berth.server=iso)" ] && break
  sleep 0.05
done
[ -z "$(docker ps -aq --filter label=io.berth.server=iso)" ] && ok || fail "the container was left behind"

# network_mode none, for real: a TCP connection to a listener on the host's
# bridge address fails inside, while the same call from a bridged container
# (the control) connects
GW=$(docker network inspect bridge -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}')
# a daemon that adopted a docker0 left by an earlier one lists only the
# subnet: the bridge's own address is the gateway then
[ -n "$GW" ] || GW=$(ip -4 -o addr show docker0 | awk '{sub(/\/.*/, "", $4); print $4; exit}')
PORT=$((20000 + RANDOM % 20000))
BUSYBOX=${BUSYBOX:-/bin/busybox}
"$BUSYBOX" nc -l -p "$PORT" >/dev/null 2>&1 &
ncpid=$!
# listening before the control connects (a fixed pause lost that race
# under a loaded machine: "Connection refused")
for _ in $(seq 100); do
  [ -n "$(ss -Hltn "sport = :$PORT" 2>/dev/null)" ] && break
  sleep 0.05
done
"$BERTH" call bridged tcp_connect --args "{\"host\": \"$GW\", \"port\": $PORT}" "${C[@]}" >"$TMP/out" 2>"$TMP/err" \
  && has "$(cat "$TMP/out")" "connected to $GW:$PORT" \
  || fail "the bridged control could not connect to $GW:$PORT: $(cat "$TMP/out" "$TMP/err")"
"$BERTH" call iso tcp_connect --args "{\"host\": \"$GW\", \"port\": $PORT}" "${C[@]}" >"$TMP/out" 2>"$TMP/err"
[ $? = 1 ] && ok || fail "tcp_connect from network none did not fail"
has "$(cat "$TMP/err")" "connect to $GW:$PORT failed: Network is unreachable"
kill $ncpid 2>/dev/null; wait $ncpid 2>/dev/null

# a server that is docker run itself: never isolated again, env as -e
"$BERTH" call byhand env_dump "${C[@]}" >"$TMP/out" 2>"$TMP/err"
[ $? = 0 ] && ok || fail "docker run server: $(cat "$TMP/err")"
has "$(cat "$TMP/out")" '"HAND_TOKEN":"hand-secret-777"'
"$BERTH" plan byhand "${C[@]}" --json >"$TMP/plan.json" 2>&1
[ "$(jq -r '.mode' "$TMP/plan.json")" = docker ] && ok || fail "byhand mode"
# the cidfile right after run, and the configured value never shown
jq -r '.argv | join(" ")' "$TMP/plan.json" | grep -q 'docker run --cidfile [^ ]*byhand-[0-9a-f]*\.cid -e HAND_TOKEN --label io.berth.managed=true --label io.berth.server=byhand --label io.berth.instance=[^ ]* -i --rm' \
  && ok || fail "byhand plan: $(jq -c .argv "$TMP/plan.json")"
grep -q hand-secret-777 "$TMP/plan.json" && fail "plan shows HAND_TOKEN" || ok
# tracked like berth's own: labelled, with its id in the cidfile
"$BERTH" call byhand sleep --args '{"ms": 2500}' "${C[@]}" >"$TMP/out" 2>"$TMP/err" &
bpid=$!
hid=""
for _ in $(seq 100); do
  hid=$(docker ps -q --no-trunc --filter label=io.berth.server=byhand --filter label=berth.test=byhand)
  [ -n "$hid" ] && break
  sleep 0.05
done
[ -n "$hid" ] && ok || fail "the docker run server's container carries no io.berth.server label"
no_value_in_cmdlines "byhand" hand-secret-777 HAND_TOKEN io.berth.server=byhand
cidf=$(ls "$HOME"/.cache/berth/cid/*/byhand-*.cid 2>/dev/null | head -1)
[ -n "$cidf" ] && [ "$(cat "$cidf")" = "$hid" ] && ok || fail "cidfile [$cidf] does not hold the container id $hid"
wait $bpid && ok || fail "byhand sleep: $(cat "$TMP/err")"
for _ in $(seq 100); do
  [ -z "$(docker ps -aq --filter label=berth.test=byhand)" ] && break
  sleep 0.05
done
[ -z "$(docker ps -aq --filter label=berth.test=byhand)" ] && ok || fail "the docker run container was left behind"

# the form MCP clients document for docker run, -e NAME in the args and the
# value in env, gets the value into the container
"$BERTH" call github env_dump "${C[@]}" >"$TMP/out" 2>"$TMP/err"
[ $? = 0 ] && ok || fail "github: $(cat "$TMP/err")"
has "$(cat "$TMP/out")" '"GH_TOKEN":"gh-secret-555"'

finish
