#!/usr/bin/env bash
# The container life cycle against the real daemon, through `berth serve`:
#  - kill -9 of a berth with isolated servers that keep running after their
#    stdin closes (FIXTURE_IGNORE_EOF): its plain server's container and its
#    direct child stop by themselves (stdin EOF, PR_SET_PDEATHSIG), and so
#    does the one under docker's init (the parent-death SIGTERM reaches it
#    through the docker client and the init); the two that are PID 1 (init
#    off) ignore that SIGTERM and stay; the next berth removes them within
#    10 s at start, and leaves alone the containers of a second berth that
#    still runs;
#  - a user's docker run without --rm is labelled, swept, and removed;
#  - a server killed inside its container comes back in a new container;
#  - SIGTERM stops everything, containers that ignore stdin included, in
#    about one shutdown sequence, and leaves no container, cidfile or child.
# Usage: lifecycle_test.sh BERTH STATIC_FIXTURE SOURCE_DIR
set -u
BERTH=$1 FIXTURE=$2 SRC=$3
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  # nothing of this test may outlive it, whatever failed
  ids=$(docker ps -aq --filter label=io.berth.managed=true --filter "label=berth.lifecycle=$$")
  [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT
. "$SRC/tests/lib/checks.sh"

docker_ready "$FIXTURE"

. "$SRC/tests/lib/free_port.sh"
PORT_A=$(free_port) PORT_B=$((PORT_A + 1))

export HOME="$TMP/home"
unset XDG_RUNTIME_DIR BERTH_CONFIG
mkdir -p "$HOME"
CIDDIR=$HOME/.cache/berth/cid
IMG=berth-test/fixture:latest
# every container of this test carries berth.lifecycle=<this shell's pid>
TAG=(\"--label\", \"berth.lifecycle=$$\")

cat >"$TMP/a.json" <<JSON
{ "listen": "127.0.0.1:$PORT_A", "docker_isolation": { "mode": "docker", "extra_args": [${TAG[*]}] },
  "mcpServers": {
    "keep1": { "command": "/mcp_fixture", "env": { "FIXTURE_IGNORE_EOF": "1" },
               "isolation": { "image": "$IMG", "init": false }, "timeouts": { "shutdown": 1 } },
    "keep2": { "command": "/mcp_fixture", "env": { "FIXTURE_IGNORE_EOF": "1" },
               "isolation": { "image": "$IMG", "init": false }, "timeouts": { "shutdown": 1 } },
    "term": { "command": "/mcp_fixture", "env": { "FIXTURE_IGNORE_EOF": "1" },
              "isolation": { "image": "$IMG" }, "timeouts": { "shutdown": 1 } },
    "plain": { "command": "/mcp_fixture", "isolation": { "image": "$IMG" } },
    "hand": { "command": "docker", "args": ["run", "-i", ${TAG[*]}, "$IMG"] },
    "direct": { "command": "$FIXTURE", "env": { "FIXTURE_IGNORE_EOF": "1" },
                "isolation": { "mode": "none" } }
} }
JSON
cat >"$TMP/b.json" <<JSON
{ "listen": "127.0.0.1:$PORT_B", "docker_isolation": { "mode": "docker", "extra_args": [${TAG[*]}] },
  "mcpServers": {
    "keep1": { "command": "/mcp_fixture", "env": { "FIXTURE_IGNORE_EOF": "1" },
               "isolation": { "image": "$IMG", "init": false }, "timeouts": { "shutdown": 1 } }
} }
JSON

# serve NAME CONFIG: berth serve in the background, its log in TMP/NAME.log
serve() {
  "$BERTH" serve --config "$2" >"$TMP/$1.out" 2>"$TMP/$1.log" &
  eval "PID_$1=$!"
  PIDS+=($!)
}
# wait_for FILE PATTERN COUNT SECONDS: until PATTERN matches COUNT lines
wait_for() {
  local i
  for ((i = 0; i < $4 * 20; i++)); do
    [ "$(grep -c -E "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
    sleep 0.05
  done
  return 1
}
instance_of() { sed -n 's/.*(instance \([^;]*\);.*/\1/p' "$TMP/$1.log" | head -1; }
ids_of() { docker ps -aq --filter "label=io.berth.instance=$1" | sort; }
running_of() { docker ps -q --filter "label=io.berth.instance=$1" | sort; }
alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $st != Z* ]]; }

# --- two berths: B keeps running, A is killed --------------------------------
serve B "$TMP/b.json"
wait_for "$TMP/B.log" 'server keep1 ready' 1 30 && ok || fail "B did not get ready: $(cat "$TMP/B.log")"
serve A "$TMP/a.json"
wait_for "$TMP/A.log" 'server [a-z0-9]+ ready' 6 60 && ok || fail "A did not get ready: $(cat "$TMP/A.log")"
IA=$(instance_of A) IB=$(instance_of B)
case "$IA" in "$(hostname)"/"$PID_A"/*/*) ok ;; *) fail "A's instance id [$IA] does not name host and pid $PID_A" ;; esac
B_IDS=$(ids_of "$IB")
[ "$(echo "$B_IDS" | grep -c .)" = 1 ] && ok || fail "B runs [$B_IDS], want one container"
[ "$(ids_of "$IA" | grep -c .)" = 5 ] && ok || fail "A runs $(ids_of "$IA" | grep -c .) containers, want 5"
direct_pid=$(sed -n 's/.*server direct started (pid \([0-9]*\)).*/\1/p' "$TMP/A.log")
alive "$direct_pid" && ok || fail "A's direct server is not running (pid [$direct_pid])"
# the user's docker run carries berth's labels (it has no --rm)
hand=$(docker ps -q --filter "label=io.berth.instance=$IA" --filter label=io.berth.server=hand)
[ -n "$hand" ] && ok || fail "the user's docker run has no io.berth labels"

kill -9 "$PID_A"
wait "$PID_A" 2>/dev/null
# PR_SET_PDEATHSIG: the direct child gets SIGTERM from the kernel
for _ in $(seq 60); do alive "$direct_pid" || break; sleep 0.05; done
alive "$direct_pid" && fail "the direct server outlived berth's kill -9 by 3 s" || ok
# the plain server and the user's docker run end at their stdin's EOF (each
# in its own time), term by the SIGTERM its init passes on; keep1 and keep2
# do not
running_as() { docker ps -q --filter "label=io.berth.instance=$IA" --filter "label=io.berth.server=$1"; }
for _ in $(seq 200); do
  [ -z "$(running_as plain)$(running_as hand)$(running_as term)" ] && break
  sleep 0.05
done
[ -z "$(running_as plain)" ] && ok || fail "the plain server's container still runs 10 s after berth died"
[ -z "$(running_as term)" ] && ok || fail "the server under docker's init still runs 10 s after berth died"
[ -z "$(running_as hand)" ] && ok || fail "the user's docker run still runs 10 s after berth died"
left=$(ids_of "$IA")
[ "$(running_of "$IA" | grep -c .)" = 2 ] && ok \
  || fail "want keep1 and keep2 of A still running before the sweep, have: $(docker ps --filter "label=io.berth.instance=$IA" --format '{{.Names}}')"
echo "$left" | grep -q "$hand" && ok || fail "the user's exited container without --rm should still exist before the sweep"
note "A killed; left behind: $(echo "$left" | grep -c .) containers"

# --- a new berth sweeps A's, and leaves B's alone ------------------------------
t0=$(date +%s%N)
serve A2 "$TMP/a.json"
swept=""
for _ in $(seq 200); do
  [ -z "$(ids_of "$IA")" ] && { swept=$(( ($(date +%s%N) - t0) / 1000000 )); break; }
  sleep 0.05
done
if [ -n "$swept" ]; then ok; note "A's leftovers removed ${swept} ms after the next berth started"
else fail "A's containers still there 10 s after the next start: $(docker ps -a --filter "label=io.berth.instance=$IA" --format '{{.Names}} {{.Status}}')"; fi
grep -q "removing container .* its berth (pid $PID_A) is not running" "$TMP/A2.log" && ok \
  || fail "the sweep did not say why: $(cat "$TMP/A2.log")"
[ "$(ids_of "$IB")" = "$B_IDS" ] && [ -n "$(running_of "$IB")" ] && ok \
  || fail "B's container was touched: before [$B_IDS] now [$(ids_of "$IB")]"
wait_for "$TMP/A2.log" 'server [a-z0-9]+ ready' 6 60 && ok || fail "A2 did not get ready: $(cat "$TMP/A2.log")"
IA2=$(instance_of A2)

# --- what servers --json and doctor --json say about them ----------------------
"$BERTH" servers --json --config "$TMP/a.json" >"$TMP/servers.json" 2>"$TMP/err" || fail "servers --json: $(cat "$TMP/err")"
k1=$(docker ps -q --filter "label=io.berth.instance=$IA2" --filter label=io.berth.server=keep1)
# keep1 has two: A2's and the other berth's (B's keep1), both alive
[ "$(jq -r --arg i "$IA2" '.servers[] | select(.name == "keep1") | (.containers | map(select(.instance == $i))[0]) as $c
     | "\(.isolation.mode) \(.isolation.image) \(.state) \(.containers | length) \($c.id) \($c.state) \($c.owner_alive)"' "$TMP/servers.json")" \
   = "docker $IMG running 2 $k1 running true" ] && ok || fail "servers --json keep1: $(jq -c '.servers[] | select(.name == "keep1")' "$TMP/servers.json")"
jq -r --arg i "$IA2" '.servers[] | select(.name == "keep1") | .containers[] | select(.instance == $i) | .name' "$TMP/servers.json" | grep -q '^berth-keep1-[0-9a-f]*$' \
  && ok || fail "servers --json: keep1's container name"
[ "$(jq -r '.servers[] | select(.name == "hand") | "\(.state) \(.containers | length)"' "$TMP/servers.json")" = "running 1" ] \
  && ok || fail "servers --json hand: $(jq -c '.servers[] | select(.name == "hand")' "$TMP/servers.json")"
[ "$(jq -r '.servers[] | select(.name == "direct") | has("containers")' "$TMP/servers.json")" = false ] \
  && ok || fail "servers --json: a direct server has no containers"
"$BERTH" doctor --json --config "$TMP/a.json" >"$TMP/doctor.json" 2>"$TMP/err" || fail "doctor --json: $(cat "$TMP/err")"
[ "$(jq -r '.servers[] | select(.name == "keep2") | "\(.mode) \(.image) \(.state) \(.containers[0].state)"' "$TMP/doctor.json")" \
   = "docker $IMG running running" ] && ok || fail "doctor --json keep2: $(jq -c '.servers[] | select(.name == "keep2")' "$TMP/doctor.json")"
[ "$(jq -r '.servers[] | select(.name == "hand") | .mode' "$TMP/doctor.json")" = "docker run" ] && ok || fail "doctor: hand's mode"
"$BERTH" doctor --config "$TMP/a.json" >"$TMP/doctor.txt" 2>&1
grep -q "container berth-keep1-[0-9a-f]* ($k1): running; its berth (pid $PID_A2) is running" "$TMP/doctor.txt" \
  && ok || fail "doctor text: $(sed -n '/^servers:/,$p' "$TMP/doctor.txt")"

# --- a server killed inside its container is restarted in a new one -----------
old=$(docker ps -q --filter "label=io.berth.instance=$IA2" --filter label=io.berth.server=keep1)
[ -n "$old" ] && ok || fail "no keep1 container for A2"
docker kill "$old" >/dev/null
wait_for "$TMP/A2.log" 'server keep1 ready' 2 30 && ok || fail "keep1 did not come back: $(cat "$TMP/A2.log")"
new=$(docker ps -q --filter "label=io.berth.instance=$IA2" --filter label=io.berth.server=keep1)
[ -n "$new" ] && [ "$new" != "$old" ] && ok || fail "keep1's container after the restart: [$new] (was [$old])"
grep -q "server keep1 restarts in 1 s" "$TMP/A2.log" && ok || fail "no restart logged for keep1"
for _ in $(seq 100); do
  docker inspect "$old" >/dev/null 2>&1 || break
  sleep 0.05
done
docker inspect "$old" >/dev/null 2>&1 && fail "the killed container $old was not removed" || ok

# --- SIGTERM: everything stops, in parallel --------------------------------------
a2_direct=$(sed -n 's/.*server direct started (pid \([0-9]*\)).*/\1/p' "$TMP/A2.log" | tail -1)
t0=$(date +%s%N)
kill -TERM "$PID_A2"
wait "$PID_A2"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $rc = 0 ] && ok || fail "berth serve exited $rc on SIGTERM"
note "A2 stopped 6 servers (3 ignore their stdin, grace 1 s) in $ms ms"
# keep1, keep2 and term each wait 1 s for stdin, then docker stop -t 1 (a
# PID 1 ignores SIGTERM: SIGKILL after 1 s more; term's init passes it on):
# about 2 s for all, not 5
[ $ms -lt 8000 ] && ok || fail "stopping took $ms ms: not in parallel?"
grep -q "stopping its container" "$TMP/A2.log" && ok || fail "no docker stop logged"
[ -z "$(ids_of "$IA2")" ] && ok || fail "containers left after SIGTERM: $(docker ps -a --filter "label=io.berth.instance=$IA2" --format '{{.Names}} {{.Status}}')"
alive "$a2_direct" && fail "the direct server of A2 is still running" || ok

kill -TERM "$PID_B"
wait "$PID_B"
[ -z "$(ids_of "$IB")" ] && ok || fail "B left its container behind"
[ -z "$(ls -A "$CIDDIR" 2>/dev/null)" ] && ok || fail "cidfiles left: $(ls -A "$CIDDIR")"

finish
