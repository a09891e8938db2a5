#!/usr/bin/env bash
# Redaction as a user of berth serve meets it (docs/config.md, "Secrets"),
# with fixture servers and real reloads:
#  - configured values that are no secrets stay visible in the log
#    ("MODE": "ready" leaves "server fx ready" alone; "D": "<folder>" leaves
#    the paths under it alone);
#  - a secret of 3 characters is masked, in the log, in berth status, in the
#    server's own log file and in berth call's error;
#  - a value that a reload made a secret is masked from then on, and one a
#    later reload dropped is shown again.
# Usage: redaction_test.sh BERTH FIXTURE SOURCE_DIR
set -u
BERTH=$1 FIXTURE=$2 SRC=$3
. "$SRC/tests/lib/serve_scratch.sh"
LOG=$TMP/serve.log
config() { # SERVERS_JSON
  printf '{ "listen": "127.0.0.1:%s",\n  "mcpServers": { %s } }\n' "$PORT" "$1" >"$TMP/c.json"
}
status() { "$BERTH" status --json --config "$TMP/c.json" 2>/dev/null; }
# since LINE: the log from line LINE on
since() { tail -n +"$1" "$LOG"; }
# wait_line FROM PATTERN: PATTERN (grep -E) in the log from line FROM
wait_line() {
  local i
  for ((i = 0; i < 100; i++)); do
    since "$1" | grep -qE "$2" && return 0
    sleep 0.1
  done
  return 1
}
hup() { # SIGHUP, and the reload finished; sets $mark to the log's line count before it
  mark=$(($(wc -l <"$LOG") + 1))
  kill -HUP "$spid"
  wait_line "$mark" "config reloaded"
}

# ---- the first config: a visible MODE and folder, a 3-character secret ----
config "\"fx\": { \"command\": \"$FIXTURE\", \"env\": { \"MODE\": \"ready\", \"D\": \"$TMP\" } },
  \"broken\": { \"command\": \"$FIXTURE\", \"env\": { \"FIXTURE_FAIL_INIT\": \"1\", \"API_TOKEN\": \"bad\" } }"
"$BERTH" serve --config "$TMP/c.json" >/dev/null 2>"$LOG" &
spid=$!
wait_line 1 "server fx (ready|\*\*\*) \(MCP" || { echo "FAIL: fx never ready: $(cat "$LOG")"; exit 1; }
wait_line 1 "broken failed to initialize" || fail "broken's failure not logged: $(cat "$LOG")"
grep -q "server fx ready (MCP" "$LOG" && ok || fail "a value that is no secret is masked in the log: $(grep 'server fx' "$LOG")"
grep -q "serving 2 servers from $TMP/c.json" "$LOG" && ok || fail "a path under a configured folder is masked: $(grep serving "$LOG")"
grep -q "fatal: \*\*\* config" "$LOG" && ok || fail "the 3-character secret is not masked in the log: $(grep fatal "$LOG")"
grep -q "bad config" "$LOG" && fail "the log shows the secret: $(grep 'bad config' "$LOG")" || ok
# berth status: the server's last error, as the log has it
st=$(status)
err=$(echo "$st" | jq -r '.servers[] | select(.name == "broken") | .last_error')
case "$err" in *"fatal: *** config"*) ok ;; *) fail "status last_error: $err" ;; esac
case "$st" in *"bad config"*) fail "berth status shows the secret: $st" ;; *) ok ;; esac
# the server's own log file
slog=$HOME/.cache/berth/logs/broken.log
[ -f "$slog" ] || slog=$(grep -o 'server logs in [^)]*' "$LOG" | head -1 | sed 's/server logs in //')/broken.log
grep -q "fatal: \*\*\* config" "$slog" && ok || fail "the server's log file: $(cat "$slog" 2>&1)"
grep -q "bad config" "$slog" && fail "the server's log file shows the secret" || ok
# berth call reports the same failure with the same redaction
"$BERTH" call broken echo --config "$TMP/c.json" >"$TMP/out" 2>"$TMP/err" </dev/null
case "$(cat "$TMP/err")" in *"bad config"*) fail "berth call's error shows the secret: $(cat "$TMP/err")" ;;
  *"fatal: *** config"*) ok ;; *) fail "berth call's error: $(cat "$TMP/err")" ;; esac

# ---- a reload makes "ready" a secret: masked at once ------------------------
config "\"fx\": { \"command\": \"$FIXTURE\", \"env\": { \"MODE\": \"x\", \"SESSION_TOKEN\": \"ready\" } }"
hup && ok || fail "no reload: $(tail -3 "$LOG")"
wait_line "$mark" "server fx (ready|\*\*\*) \(MCP" || fail "fx not restarted: $(since "$mark")"
since "$mark" | grep -q "server fx \*\*\* (MCP" && ok || fail "the new secret is not masked: $(since "$mark" | grep 'server fx')"

# ---- a reload drops it: shown again -----------------------------------------
config "\"fx\": { \"command\": \"$FIXTURE\", \"env\": { \"MODE\": \"y\" } }"
hup && ok || fail "no reload: $(tail -3 "$LOG")"
wait_line "$mark" "server fx (ready|\*\*\*) \(MCP" || fail "fx not restarted: $(since "$mark")"
since "$mark" | grep -q "server fx ready (MCP" && ok || fail "a value the reload dropped is still masked: $(since "$mark" | grep 'server fx')"

stop_serve "$spid"
spid=""
finish
