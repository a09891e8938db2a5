#!/usr/bin/env bash
# berth serve under systemd's readiness protocol, against a listener of
# our own in $NOTIFY_SOCKET (the datagrams systemd reads):
#  - READY=1 comes once the endpoint answers, with where it serves;
#  - STATUS= follows the servers' health: "1 of 2 servers ready" and the
#    server that keeps failing named with its error, as berth status says;
#  - SIGHUP: RELOADING=1, then READY=1 with what the reload did;
#  - SIGTERM: STOPPING=1 before berth exits 0;
#  - the servers do not inherit NOTIFY_SOCKET.
# Usage: sd_notify_test.sh BERTH FIXTURE SOURCE_DIR
set -u
BERTH=$1 FIXTURE=$2 SRC=$3
TMP=$(mktemp -d)
spid="" lpid=""
trap '[ -n "$spid" ] && kill $spid 2>/dev/null; [ -n "$lpid" ] && kill $lpid 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
. "$SRC/tests/lib/checks.sh"
. "$SRC/tests/lib/free_port.sh"
export HOME="$TMP/home"
unset XDG_RUNTIME_DIR
mkdir -p "$HOME"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT/mcp

# The listener: every datagram, with whether the endpoint answered the
# moment it came, one line each (newlines as "|").
# (appended, so that emptying the file between phases leaves no hole)
python3 - "$TMP/notify.sock" "$PORT" >>"$TMP/notes" 2>"$TMP/listener.err" <<'PY' &
import socket, sys
path, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
while True:
    msg = s.recv(65536).decode()
    c = socket.socket()
    up = c.connect_ex(("127.0.0.1", port)) == 0
    c.close()
    print(("up " if up else "down ") + msg.replace("\n", "|"), flush=True)
PY
lpid=$!
for _ in $(seq 100); do [ -S "$TMP/notify.sock" ] && break; sleep 0.05; done

printf '{ "listen": "127.0.0.1:%s",\n  "mcpServers": { "good": { "command": "%s" },\n    "bad": { "command": "/bin/sh", "args": ["-c", "read -r line; echo broken >&2; exit 3"] } } }\n' \
  "$PORT" "$FIXTURE" >"$TMP/c.json"
NOTIFY_SOCKET="$TMP/notify.sock" "$BERTH" serve --config "$TMP/c.json" >/dev/null 2>"$TMP/serve.log" &
spid=$!
# note PATTERN: the first message matching it (waits up to 10 s)
note_of() {
  local i
  for ((i = 0; i < 200; i++)); do
    grep -m1 -E "$1" "$TMP/notes" && return 0
    sleep 0.05
  done
  return 1
}

ready=$(note_of 'READY=1') || { echo "FAIL: no READY=1: $(cat "$TMP/notes" "$TMP/serve.log")"; exit 1; }
case "$ready" in
  "up READY=1|STATUS=serving at $URL") ok ;;
  *) fail "READY=1 before the endpoint answered, or without where: $ready" ;;
esac
[ "$(head -1 "$TMP/notes")" = "$ready" ] && ok || fail "something came before READY=1: $(head -1 "$TMP/notes")"

health=$(note_of 'STATUS=1 of 2 servers ready; (failed|restarting): bad') &&
  ok || fail "no health line for 1 of 2: $(cat "$TMP/notes")"
case "$health" in *"bad ("*"exited with status 3"*broken*) ok ;; *) fail "the failing server's error and stderr are not named: $health" ;; esac
st=$("$BERTH" status --config "$TMP/c.json" 2>&1)
case "$st" in *"health: 1 of 2 servers ready; "*"bad ("*) ok ;; *) fail "berth status has no health line: $st" ;; esac
[ "$("$BERTH" status --json --config "$TMP/c.json" | jq -r '.health.ready, .health.servers, .health.all_failed' | tr '\n' ' ')" = "1 2 false " ] &&
  ok || fail "status document: $("$BERTH" status --json --config "$TMP/c.json" | jq -c .health)"

# the servers' environment is berth's allow-list: no NOTIFY_SOCKET
gpid=$(pgrep -P $spid -f "$FIXTURE" | head -1)
if [ -z "$gpid" ]; then
  fail "the server good does not run"
elif tr '\0' '\n' <"/proc/$gpid/environ" | grep -q '^NOTIFY_SOCKET='; then
  fail "a server inherited NOTIFY_SOCKET"
else
  ok
fi

: >"$TMP/notes"
kill -HUP $spid
note_of 'RELOADING=1' >/dev/null && ok || fail "no RELOADING=1: $(cat "$TMP/notes")"
r=$(note_of '^up READY=1\|STATUS=') && ok || fail "no READY=1 after the reload: $(cat "$TMP/notes")"
[ "$r" = "up READY=1|STATUS=0 started, 0 stopped, 2 unchanged" ] && ok || fail "the reload's READY=1: $r"

: >"$TMP/notes"
kill -TERM $spid
wait $spid
rc=$?
spid=""
[ $rc = 0 ] && ok || fail "berth serve exited $rc"
grep -q 'STOPPING=1' "$TMP/notes" && ok || fail "no STOPPING=1: $(cat "$TMP/notes")"
finish
