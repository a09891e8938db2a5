#!/usr/bin/env bash
# A stop while servers are still starting is acted on at once: berth serve
# with servers that never finish starting ends within 2 s of SIGTERM (berth
# stdio within 2 s of its stdin's end, the way its client stops it) and
# leaves none of their processes behind, where waiting out the initialize
# timeout (30 s here) would take 30 s. The servers:
#  - mute:   sleep 600 (never reads stdin, never answers initialize);
#  - deaf:   reads stdin to its end, never answers;
#  - listless: answers initialize, then never answers tools/list (the
#             first list refresh);
#  - stubborn: never answers and ignores SIGTERM: killed after its
#             shutdown grace (0.5 s).
# Usage: serve_stop_test.sh BERTH SOURCE_DIR [stdio|stdio-term]
#   with "stdio": berth stdio instead of berth serve, stopped by its stdin's
#   end; "stdio-term": berth stdio stopped by SIGTERM while its stdin stays
#   open (its reader is then never joined, and it must still exit 0 with
#   nothing leaked: the ASan run checks that)
set -u
BERTH=$1 SRC=$2 MODE=${3:-serve}
TMP=$(mktemp -d)
bpid=""
trap '[ -n "$bpid" ] && kill -KILL $bpid 2>/dev/null; exec 9>&- 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
. "$SRC/tests/lib/checks.sh"
. "$SRC/tests/lib/free_port.sh"
export HOME="$TMP/home"
unset XDG_RUNTIME_DIR
mkdir -p "$HOME"

# answers initialize with a revision berth speaks, then reads and ignores
LISTLESS='read -r l; echo "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"listless\",\"version\":\"1\"}}}"; cat >/dev/null; sleep 600'
PORT=$(free_port)
jq -n --arg listen "127.0.0.1:$PORT" --arg listless "$LISTLESS" '{
  listen: $listen,
  mcpServers: {
    mute: { command: "sleep", args: ["600"], timeouts: { initialize: 30 } },
    deaf: { command: "sh", args: ["-c", "cat >/dev/null; sleep 600"],
            timeouts: { initialize: 30 } },
    listless: { command: "sh", args: ["-c", $listless],
                timeouts: { initialize: 30 } },
    stubborn: { command: "sh", args: ["-c", "trap \"\" TERM; sleep 600"],
                timeouts: { initialize: 30, shutdown: 0.5 } }
  } }' >"$TMP/c.json"

# descendants PID: every process under PID, children first
descendants() {
  local c
  for c in $(pgrep -P "$1"); do
    echo "$c"
    descendants "$c"
  done
}
now() { date +%s.%N; }

if [ "$MODE" != serve ]; then
  # stdin a FIFO held open here until the stop
  mkfifo "$TMP/in"
  "$BERTH" stdio --config "$TMP/c.json" <"$TMP/in" >"$TMP/out" 2>"$TMP/log" &
  bpid=$!
  exec 9>"$TMP/in"
else
  "$BERTH" serve --config "$TMP/c.json" >"$TMP/out" 2>"$TMP/log" &
  bpid=$!
fi

# all four started (four children); half a second more, and listless has
# answered its initialize (its tools/list is pending)
for _ in $(seq 100); do
  [ "$(pgrep -c -P $bpid)" = 4 ] && break
  sleep 0.05
done
sleep 0.5
pids=$(descendants $bpid | tr '\n' ' ')
n=$(pgrep -c -P $bpid)
[ "$n" = 4 ] && ok || fail "berth $MODE has $n children, want 4: $(cat "$TMP/log")"
grep -q "server .* ready" "$TMP/log" && fail "a server that never answers is ready: $(cat "$TMP/log")" || ok

t0=$(now)
if [ "$MODE" = stdio ]; then exec 9>&-; else kill -TERM $bpid; fi
wait $bpid
rc=$?
t1=$(now)
bpid=""
exec 9>&- 2>/dev/null
took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
how=SIGTERM
[ "$MODE" = stdio ] && how="its stdin ended"
MODE=${MODE%-term}
note "berth $MODE stopped $(echo $pids | wc -w) processes in $took s after $how"
[ $rc = 0 ] && ok || fail "berth $MODE exited $rc: $(tail -5 "$TMP/log")"
awk -v t="$took" 'BEGIN { exit !(t < 2.0) }' && ok \
  || fail "berth $MODE took $took s to stop after $how (at most 2 s): $(cat "$TMP/log")"
# gone: no such process, or a zombie its new parent has not reaped yet
alive() { [ -r "/proc/$1/stat" ] && ! awk '{ exit $3 != "Z" }' "/proc/$1/stat" 2>/dev/null; }
left=""
for p in $pids; do alive "$p" && left="$left $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null))"; done
[ -z "$left" ] && ok || fail "processes left after $how:$left"
# the stubborn one ignored SIGTERM and was killed after its grace
grep -q "server stubborn ignored SIGTERM" "$TMP/log" && ok \
  || fail "no SIGKILL for the server that ignores SIGTERM: $(cat "$TMP/log")"
finish
