#!/usr/bin/env bash
# berth serve's HTTP front under abuse, one case per run (MODE), each with
# a real berth serve in front of the MCP fixture and real sockets:
#  sessions     10,000 initialize POSTs that never DELETE do not lock a new
#               client out; the sessions a client uses survive them; a
#               session that made no request after initialize closes after
#               http.session_idle_unused; 1 MiB of capabilities per
#               initialize does not stay in berth's memory per session
#  idle         2,000 sockets that send part of a request line and stop do
#               not grow berth's threads, and a client's call still answers
#               within 100 ms while they are held; the oldest idle one is
#               dropped for a new connection (per address and in all:
#               2,000 more from a second address, and a third gets in);
#               a partial request is closed after http.read_timeout
#  expect       Expect: 100-continue with a Content-Length over
#               http.max_body is answered 413 before any body is read, and
#               without "100 Continue"
#  loopback     with "listen": "127.0.0.2:PORT" the URL berth prints
#               answers (one definition of loopback for the listen address
#               and the Host check)
# Usage: abuse_test.sh BERTH FIXTURE SOURCE_DIR MODE
set -u
BERTH=$1 FIXTURE=$2 SRC=$3 MODE=$4
TMP=$(mktemp -d)
spid="" hold=""
trap '[ -n "$hold" ] && kill $hold 2>/dev/null; [ -n "$spid" ] && kill $spid 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
. "$SRC/tests/lib/checks.sh"
. "$SRC/tests/lib/free_port.sh"
PORT=$(free_port)
HOSTADDR=127.0.0.1
export HOME="$TMP/home"
unset XDG_RUNTIME_DIR
mkdir -p "$HOME"

# serve SETTINGS: berth serve on HOSTADDR:PORT with one fixture server "fx"
# and SETTINGS (JSON members of the top level, may be empty)
serve() {
  printf '{ "listen": "%s:%s", %s "mcpServers": { "fx": { "command": "%s" } } }\n' \
    "$HOSTADDR" "$PORT" "${1:+$1,}" "$FIXTURE" >"$TMP/c.json"
  "$BERTH" serve --config "$TMP/c.json" >"$TMP/serve.out" 2>"$TMP/serve.log" &
  spid=$!
  for _ in $(seq 200); do grep -q "server fx ready" "$TMP/serve.log" && return 0; sleep 0.05; done
  echo "FAIL: berth serve is not ready: $(cat "$TMP/serve.log")"
  exit 1
}
URL() { echo "http://$HOSTADDR:$PORT/mcp"; }
H=(-s -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
# new_session [CURL ARGS...]: initializes, prints the session id (none
# when refused; the status is in $TMP/code)
new_session() {
  curl "${H[@]}" "$@" -D "$TMP/hdr" -o "$TMP/body" -w '%{http_code}' "$(URL)" -d "$INIT" >"$TMP/code"
  tr -d '\r' <"$TMP/hdr" | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p'
}
# post SID BODY: prints the status code, the body in $TMP/body
post() {
  curl "${H[@]}" -H "Mcp-Session-Id: $1" -o "$TMP/body" -w '%{http_code}' "$(URL)" -d "$2"
}
echo_call() { # SID TEXT: the echo tool's text back, or nothing
  local code
  code=$(post "$1" "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"fx__echo\",\"arguments\":{\"text\":\"$2\"}}}")
  [ "$code" = 200 ] && sed -n 's/^data: //p' "$TMP/body" | jq -r '.result.content[0].text'
}
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$spid/status"; }
threads() { awk '/^Threads/ { print $2 }' "/proc/$spid/status"; }
sessions() { "$BERTH" status --json --config "$TMP/c.json" 2>/dev/null | jq .sessions; }
# initializes N [CAPS_FILE]: a curl config (curl -K) of N initialize POSTs
# on one connection, declaring the capabilities in CAPS_FILE (default {})
initializes() {
  local n=$1 i
  [ -n "${2:-}" ] || { echo '{}' >"$TMP/caps.json"; set -- "$1" "$TMP/caps.json"; }
  jq -c -n --slurpfile c "$2" '{jsonrpc:"2.0",id:1,method:"initialize",params:{protocolVersion:"2025-11-25",capabilities:$c[0],clientInfo:{name:"flood",version:"1"}}}' \
    >"$TMP/init.raw"
  for ((i = 1; i <= n; i++)); do
    printf 'url = "%s"\nheader = "Content-Type: application/json"\nheader = "Accept: application/json"\ndata = @%s\noutput = "/dev/null"\n' \
      "$(URL)" "$TMP/init.raw"
    [ "$i" = "$n" ] || echo next
  done >"$TMP/flood.curl"
}

case "$MODE" in
# ---- 1. sessions --------------------------------------------------------
sessions)
  # the memory checks measure berth, not AddressSanitizer's quarantine of
  # freed memory (256 MiB by default: it keeps the flood's bodies)
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
  serve ""
  # a client that uses its session, from before the flood
  used=$(new_session)
  [ -n "$used" ] && ok || fail "no session: $(cat "$TMP/code") $(cat "$TMP/body")"
  post "$used" '{"jsonrpc":"2.0","method":"notifications/initialized"}' >/dev/null
  [ "$(echo_call "$used" before)" = before ] && ok || fail "the first session's call: $(cat "$TMP/body")"
  # capabilities of 1 MiB each: 100 sessions do not keep a MiB each
  jq -c -n '{experimental:{blob:("x" * 1048576)}}' >"$TMP/big.json"
  initializes 100 "$TMP/big.json"
  base=$(rss)
  curl -s -K "$TMP/flood.curl"
  grown=$(( $(rss) - base ))
  note "100 sessions with 1 MiB of capabilities each: VmRSS grew $grown kB"
  [ "$grown" -le 16384 ] && ok || fail "100 sessions with 1 MiB capabilities grew berth by $grown kB"
  base=$(rss)
  initializes 10000
  t0=$(date +%s%N)
  curl -s -K "$TMP/flood.curl"
  note "10,000 initialize POSTs in $(( ($(date +%s%N) - t0) / 1000000 )) ms; $(sessions) sessions open; VmRSS $base -> $(rss) kB"
  sid=$(new_session)
  [ "$(cat "$TMP/code")" = 200 ] && [ -n "$sid" ] && ok \
    || fail "after the flood a new client gets HTTP $(cat "$TMP/code"): $(cat "$TMP/body")"
  post "$sid" '{"jsonrpc":"2.0","method":"notifications/initialized"}' >/dev/null
  [ "$(echo_call "$sid" after)" = after ] && ok || fail "the new session's call: $(cat "$TMP/body")"
  [ "$(echo_call "$used" still)" = still ] && ok \
    || fail "the session used before the flood was closed by it: $(cat "$TMP/body")"
  grown=$(( $(rss) - base ))
  [ "$grown" -le 20480 ] && ok || fail "10,000 abandoned sessions grew berth by $grown kB (over 20 MiB)"
  stop_serve $spid
  # a session that made no request after initialize closes after
  # session_idle_unused; one in use stays for session_idle
  PORT=$(free_port)
  serve '"http": { "session_idle": 600, "session_idle_unused": 2 }'
  used=$(new_session)
  post "$used" '{"jsonrpc":"2.0","method":"notifications/initialized"}' >/dev/null
  unused=$(new_session)
  [ "$(sessions)" = 2 ] && ok || fail "two sessions: $(sessions)"
  sleep 4
  code=$(post "$unused" '{"jsonrpc":"2.0","id":3,"method":"ping"}')
  [ "$code" = 404 ] && ok || fail "an unused session 4 s after initialize: HTTP $code $(cat "$TMP/body")"
  [ "$(echo_call "$used" later)" = later ] && ok || fail "a used session was closed with the unused one: $(cat "$TMP/body")"
  ;;
# ---- 2. idle connections ----------------------------------------------------
idle)
  ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  [ "$(ulimit -n)" -ge 4200 ] || { echo "FAIL: cannot raise the open file limit to 4200 (hard limit $(ulimit -Hn))"; exit 1; }
  serve '"http": { "read_timeout": 3 }'
  sid=$(new_session)
  post "$sid" '{"jsonrpc":"2.0","method":"notifications/initialized"}' >/dev/null
  [ "$(echo_call "$sid" warm)" = warm ] && ok || fail "no call before the sockets: $(cat "$TMP/body")"
  t_base=$(threads)
  # holder N SRC: N sockets from SRC that each send part of a request line,
  # held until stdin closes; prints "held N" once all are connected
  holder() {
    perl -MIO::Socket::INET -e '
      my ($port, $n, $src) = @ARGV; my @s;
      for (1 .. $n) {
        my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port,
                                      LocalAddr => $src, Proto => "tcp") or last;
        syswrite($c, "POST /mcp HTT"); push @s, $c;
      }
      print "held ", scalar(@s), "\n"; STDOUT->flush; <STDIN>;' "$PORT" "$1" "$2"
  }
  # hold NAME N SRC: a holder in the background, its stdin a FIFO this
  # shell keeps open (closing it ends the holder); waits for its "held"
  hold() {
    mkfifo "$TMP/$1.in"
    holder "$2" "$3" <"$TMP/$1.in" >"$TMP/$1.out" &
    hold="$hold $!"
    exec {fd}>"$TMP/$1.in"
    eval "$1_fd=$fd"
    for _ in $(seq 600); do grep -q held "$TMP/$1.out" && break; sleep 0.1; done
    line=$(cat "$TMP/$1.out")
  }
  hold h1 2000 127.0.0.1
  [ "$line" = "held 2000" ] && ok || fail "the holder connected: $line"
  sleep 0.5
  t_held=$(threads)
  note "berth's threads: $t_base before, $t_held with 2,000 idle sockets"
  [ "$t_held" -le $((t_base + 4)) ] && ok || fail "threads grew with idle sockets: $t_base -> $t_held"
  # a client's calls while they are held: a new connection each
  slow=0 worst=0
  for i in 1 2 3 4 5; do
    rm -f "$TMP/body"
    out=$(curl "${H[@]}" -H "Mcp-Session-Id: $sid" -o "$TMP/body" -w '%{http_code} %{time_total}' "$(URL)" \
          -d "{\"jsonrpc\":\"2.0\",\"id\":$i,\"method\":\"tools/call\",\"params\":{\"name\":\"fx__echo\",\"arguments\":{\"text\":\"t$i\"}}}")
    set -- $out
    [ "$1" = 200 ] && [ "$(sed -n 's/^data: //p' "$TMP/body" | jq -r '.result.content[0].text')" = "t$i" ] && ok \
      || fail "call $i while the sockets are held: HTTP $1 $(cat "$TMP/body")"
    ms=$(awk -v t="$2" 'BEGIN { printf "%d", t * 1000 }')
    [ "$ms" -gt "$worst" ] && worst=$ms
    [ "$ms" -lt 100 ] || slow=$((slow + 1))
  done
  note "5 calls while 2,000 sockets are held: the slowest took $worst ms"
  [ "$slow" -le 1 ] && [ "$worst" -lt 1000 ] && ok || fail "calls over 100 ms: $slow of 5 (slowest $worst ms)"
  # as many from a second address: together they reach the limit of all
  # connections; a third address still gets in (the longest idle goes)
  hold h2 2000 127.0.0.2
  [ "$line" = "held 2000" ] && ok || fail "the second holder connected: $line"
  # berth's sockets, once it took what waits in the listen backlog
  socks() { find "/proc/$spid/fd" -lname 'socket:*' 2>/dev/null | wc -l; }
  for _ in $(seq 50); do [ "$(socks)" -le $((512 + 8)) ] && break; sleep 0.1; done
  note "sockets berth holds: $(socks) (256 per address, 512 in all)"
  [ "$(socks)" -le $((512 + 8)) ] && ok || fail "berth holds $(socks) sockets (over 512 connections)"
  out=$(curl "${H[@]}" --interface 127.0.0.3 -H "Mcp-Session-Id: $sid" -o "$TMP/body" -w '%{http_code}' "$(URL)" \
        -d '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"fx__echo","arguments":{"text":"other"}}}')
  [ "$out" = 200 ] && ok || fail "a call from 127.0.0.3: HTTP $out"
  [ "$(threads)" -le $((t_base + 4)) ] && ok || fail "threads after the calls: $(threads)"
  # the partial requests are closed after read_timeout (3 s): the holder's
  # sockets read their end
  for _ in $(seq 100); do
    [ "$(ss -Htn state established "( dport = :$PORT )" 2>/dev/null | wc -l)" -le 2 ] && break
    sleep 0.1
  done
  left=$(ss -Htn state established "( dport = :$PORT )" 2>/dev/null | wc -l)
  note "established connections to berth 10 s later: $left"
  [ "$left" -le 2 ] && ok || fail "idle partial requests still open after read_timeout: $left"
  exec {h1_fd}>&- {h2_fd}>&-
  ;;
# ---- 3. Expect: 100-continue --------------------------------------------------
expect)
  serve '"http": { "max_body": 1048576 }'
  # raw REQUEST: sends it on a new connection, prints the first line of the
  # answer within 5 s
  raw() {
    exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
    printf '%s' "$1" >&"$fd"
    line=""
    IFS= read -r -t 5 line <&"$fd"
    exec {fd}>&-
    printf '%s\n' "${line%$'\r'}"
  }
  hdr=$'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\n'
  line=$(raw "${hdr}Content-Length: 104857600"$'\r\nExpect: 100-continue\r\n\r\n')
  [ "${line:0:12}" = "HTTP/1.1 413" ] && ok || fail "Expect: 100-continue with 100 MB: [$line]"
  # no Expect: the 413 comes before the body does
  line=$(raw "${hdr}Content-Length: 104857600"$'\r\n\r\n')
  [ "${line:0:12}" = "HTTP/1.1 413" ] && ok || fail "Content-Length of 100 MB, no body sent: [$line]"
  # the limit itself passes: Expect on a body within it gets 100 Continue
  line=$(raw "${hdr}Content-Length: 1048576"$'\r\nExpect: 100-continue\r\n\r\n')
  [ "${line:0:12}" = "HTTP/1.1 100" ] && ok || fail "Expect: 100-continue within the limit: [$line]"
  # and the body's JSON error text says the limit
  code=$(curl "${H[@]}" -o "$TMP/body" -w '%{http_code}' -H 'Expect: 100-continue' "$(URL)" \
         --data-binary @<(head -c 2000000 /dev/zero | tr '\0' ' '))
  [ "$code" = 413 ] && jq -e '.error.message | test("1048576")' "$TMP/body" >/dev/null && ok \
    || fail "curl with a 2 MB body: HTTP $code $(cat "$TMP/body")"
  ;;
# ---- 4. loopback -----------------------------------------------------------------
loopback)
  HOSTADDR=127.0.0.2
  serve ""
  url=$(sed -n 's/^berth serves .* at \(http:[^ ]*\)$/\1/p' "$TMP/serve.out")
  [ "$url" = "$(URL)" ] && ok || fail "the printed URL: [$url] in $(cat "$TMP/serve.out")"
  sid=$(new_session)
  [ "$(cat "$TMP/code")" = 200 ] && [ -n "$sid" ] && ok \
    || fail "the printed URL $url: HTTP $(cat "$TMP/code") $(cat "$TMP/body")"
  # every loopback name passes the Host check, and only those
  for h in 127.0.0.2 127.0.0.1 127.255.255.254 localhost LocalHost '[::1]' '[0:0:0:0:0:0:0:1]'; do
    code=$(curl "${H[@]}" -H "Host: $h:$PORT" -o "$TMP/body" -w '%{http_code}' "$(URL)" -d "$INIT")
    [ "$code" = 200 ] && ok || fail "Host: $h:$PORT answered $code $(cat "$TMP/body")"
  done
  for h in 128.0.0.1 evil.example 127.0.0.1.evil.example localhost.evil.example '[::2]' 0x7f.0.0.1; do
    code=$(curl "${H[@]}" -H "Host: $h:$PORT" -o "$TMP/body" -w '%{http_code}' "$(URL)" -d "$INIT")
    [ "$code" = 403 ] && ok || fail "Host: $h:$PORT answered $code, not 403"
  done
  # and the Origin check agrees
  code=$(curl "${H[@]}" -H "Origin: http://127.0.0.2:$PORT" -o "$TMP/body" -w '%{http_code}' "$(URL)" -d "$INIT")
  [ "$code" = 200 ] && ok || fail "Origin http://127.0.0.2:$PORT answered $code"
  ;;
*) echo "usage: abuse_test.sh BERTH FIXTURE SOURCE_DIR sessions|idle|expect|loopback"; exit 2 ;;
esac
stop_serve $spid
spid=""
finish
