#!/usr/bin/env bash
# What a berth killed outright leaves in its servers' process groups, ended
# by the next berth (docs/supervision.md, "berth killed outright"):
#  - A: a berth serve whose server is `sh -c 'server & sleep 1000 & wait'`
#    (the parent-death signal ends sh, stdin's end the server, and the
#    sleep, a grandchild, runs on with its group's leader gone), and one
#    whose sh ignores SIGTERM (the leader runs on too). A is killed with
#    SIGKILL; both sleeps outlive it.
#  - B: a second berth serve on the same state folder, running all along:
#    its server's group is never touched.
#  - two records forged in the folder of a berth that is gone: one naming a
#    foreign group under its true start time (ended: the record is read),
#    one naming another foreign group under a start time it does not have
#    (the id was reused: never killed).
#  - A2, the next berth serve on A's config, ends A's two groups and the
#    first forged one at start, leaves B's and the reused one alone, and
#    removes the records of berths that are gone; stopped, it leaves no
#    record of its own.
# Usage: orphan_groups_test.sh BERTH FIXTURE SOURCE_DIR
set -u
BERTH=$1 FIXTURE=$2 SRC=$3
TMP=$(mktemp -d)
PIDS=()
# the sleeps' lengths (seconds) name them: this run's, no other process's
S=$((1000000 + ($$ % 100000) * 4))
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  # whatever failed, no sleep of this test outlives it
  pkill -9 -x -f "sleep ($S|$((S + 1))|$((S + 2))|$((S + 3)))" 2>/dev/null
  for p in ${FOREIGN:-}; do kill -9 -- "-$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT
. "$SRC/tests/lib/checks.sh"
. "$SRC/tests/lib/free_port.sh"
export HOME="$TMP/home"
unset XDG_RUNTIME_DIR BERTH_CONFIG BERTH_STATE_DIR
mkdir -p "$HOME"
GROUPS_DIR=$HOME/.cache/berth/groups

# sh's background jobs read /dev/null: the server gets berth's stdin on fd 3
TREE='exec 3<&0; "$0" <&3 3<&- & sleep $1 & wait'
STUBBORN='trap "" TERM; exec 3<&0; "$0" <&3 3<&- & sleep $1 & wait'
PORT_A=$(free_port) PORT_B=$(free_port)
config() { # FILE PORT SERVERS_JSON
  jq -n --arg listen "127.0.0.1:$2" --argjson s "$3" \
    '{ listen: $listen, mcpServers: $s }' >"$1"
}
config "$TMP/a.json" "$PORT_A" "$(jq -n --arg t "$TREE" --arg st "$STUBBORN" --arg fx "$FIXTURE" \
  --arg s0 "$S" --arg s1 "$((S + 1))" '{
  tree: { command: "sh", args: ["-c", $t, $fx, $s0] },
  stubborn: { command: "sh", args: ["-c", $st, $fx, $s1] } }')"
config "$TMP/b.json" "$PORT_B" "$(jq -n --arg t "$TREE" --arg fx "$FIXTURE" --arg s2 "$((S + 2))" '{
  tree: { command: "sh", args: ["-c", $t, $fx, $s2] } }')"

serve() { # NAME CONFIG
  "$BERTH" serve --config "$2" >"$TMP/$1.out" 2>"$TMP/$1.log" &
  eval "PID_$1=$!"
  PIDS+=($!)
}
wait_for() { # FILE PATTERN COUNT SECONDS
  local i
  for ((i = 0; i < $4 * 20; i++)); do
    [ "$(grep -c -E "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
    sleep 0.05
  done
  return 1
}
# running: not gone and not a zombie its new parent has not reaped
alive() { [ -r "/proc/$1/stat" ] && ! awk '{ exit $3 != "Z" }' "/proc/$1/stat" 2>/dev/null; }
gone_within() { # PID SECONDS
  local i
  for ((i = 0; i < $2 * 20; i++)); do alive "$1" || return 0; sleep 0.05; done
  ! alive "$1"
}
server_pid() { sed -n "s/.*server $2 started (pid \([0-9]*\)).*/\1/p" "$TMP/$1.log" | head -1; }
sleep_of() { pgrep -x sleep -P "$1" | head -1; } # the sleep sh started
# a process's start time in seconds since the epoch, as berth reads it
started() {
  local ticks btime hz
  ticks=$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20)
  btime=$(awk '$1 == "btime" { print $2 }' /proc/stat)
  hz=$(getconf CLK_TCK)
  echo $((btime + ticks / hz))
}

# --- A (killed) and B (running) -------------------------------------------
serve B "$TMP/b.json"
# one after the other: two berths making the state folder's control token
# at the same moment collide
wait_for "$TMP/B.log" 'server tree ready' 1 30 && ok || fail "B did not get ready: $(cat "$TMP/B.log")"
serve A "$TMP/a.json"
wait_for "$TMP/A.log" 'server [a-z]+ ready' 2 30 && ok || fail "A did not get ready: $(cat "$TMP/A.log")"
A_SH=$(server_pid A tree) A_STUB=$(server_pid A stubborn) B_SH=$(server_pid B tree)
A_SLEEP=$(sleep_of "$A_SH") A_STUB_SLEEP=$(sleep_of "$A_STUB") B_SLEEP=$(sleep_of "$B_SH")
[ -n "$A_SLEEP" ] && [ -n "$A_STUB_SLEEP" ] && [ -n "$B_SLEEP" ] && ok \
  || fail "no sleep under the servers' sh: A [$A_SLEEP] [$A_STUB_SLEEP], B [$B_SLEEP]"
note "A (pid $PID_A): tree sh $A_SH with sleep $A_SLEEP, stubborn sh $A_STUB with sleep $A_STUB_SLEEP; B (pid $PID_B): sleep $B_SLEEP"

kill -9 "$PID_A"
wait "$PID_A" 2>/dev/null
gone_within "$A_SH" 3 && ok || fail "A's server sh $A_SH outlived A's kill -9 by 3 s (no parent-death signal?)"
sleep 1
alive "$A_SLEEP" && ok || fail "A's grandchild sleep $A_SLEEP ended with A: this test shows nothing"
alive "$A_STUB" && alive "$A_STUB_SLEEP" && ok \
  || fail "the stubborn server's sh $A_STUB or its sleep $A_STUB_SLEEP ended with A: this test shows nothing"

# --- two forged records of a berth that is gone ------------------------------
sh -c 'exit 0' &
DEAD=$!
wait "$DEAD"
setsid sleep $((S + 3)) &
TRUE_G=$!
setsid sleep $((S + 3)) &
REUSED_G=$!
disown $TRUE_G $REUSED_G # their kill is no job of this shell's to report
FOREIGN="$TRUE_G $REUSED_G"
sleep 0.2
FORGED=$GROUPS_DIR/$DEAD-1-forged
mkdir -p "$FORGED"
echo "$TRUE_G $(started "$TRUE_G") $TRUE_G $(hostname) forged" >"$FORGED/$TRUE_G"
# the same group under a start time 100 s earlier: what a group that ended
# and whose id a new process took looks like
echo "$REUSED_G $(($(started "$REUSED_G") - 100)) $REUSED_G $(hostname) forged" >"$FORGED/$REUSED_G"

# --- A2 ends what A and the forged berth left -------------------------------
serve A2 "$TMP/a.json"
gone_within "$A_SLEEP" 10 && ok \
  || fail "A's grandchild sleep $A_SLEEP still runs 10 s after the next berth started: $(cat "$TMP/A2.log")"
gone_within "$A_STUB" 2 && gone_within "$A_STUB_SLEEP" 2 && ok \
  || fail "A's stubborn server (sh $A_STUB, sleep $A_STUB_SLEEP) still runs after the next berth started: $(cat "$TMP/A2.log")"
gone_within "$TRUE_G" 2 && ok || fail "the group of a true record ($TRUE_G) was not ended: $(cat "$TMP/A2.log")"
alive "$REUSED_G" && ok || fail "a record whose group's id was reused ($REUSED_G) got that group killed: $(cat "$TMP/A2.log")"
alive "$B_SLEEP" && alive "$B_SH" && ok || fail "the live berth B's server (sh $B_SH, sleep $B_SLEEP) was killed"
grep -q "ended process group $A_SH of server tree" "$TMP/A2.log" && ok \
  || fail "A2 does not say it ended A's group $A_SH: $(cat "$TMP/A2.log")"
grep -q "left process group $REUSED_G .*alone" "$TMP/A2.log" && ok \
  || fail "A2 does not say why it left group $REUSED_G alone: $(cat "$TMP/A2.log")"
wait_for "$TMP/A2.log" 'server [a-z]+ ready' 2 30 && ok || fail "A2 did not get ready: $(cat "$TMP/A2.log")"
grep -E "process group|start-up sweep" "$TMP/A2.log" | sed 's/^[^ ]* [a-z]* *//' | while read -r l; do note "A2: $l"; done
left=$(cd "$GROUPS_DIR" && ls -d *-* 2>/dev/null | grep -v -e "^$PID_A2-" -e "^$PID_B-" | tr '\n' ' ')
[ -z "$left" ] && ok || fail "the records of berths that are gone are still there: $left"
n=$(ls "$GROUPS_DIR"/"$PID_A2"-*/ 2>/dev/null | wc -l)
[ "$n" = 2 ] && ok || fail "A2 keeps $n records for its two servers: $(ls -R "$GROUPS_DIR")"

# --- stopped, A2 and B leave no record --------------------------------------
stop_serve "$PID_A2"
stop_serve "$PID_B"
PIDS=()
left=$(ls -A "$GROUPS_DIR" 2>/dev/null | tr '\n' ' ')
[ -z "$left" ] && ok || fail "records left after both berths stopped: $left"
finish
