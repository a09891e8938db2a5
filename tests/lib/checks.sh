# What the shell tests share: counting their checks, and checks that more
# than one of them makes. Sourced after BERTH, SRC and TMP are set; the
# test ends with `finish`.
fails=0 passes=0
fail() { echo "FAIL: $1"; fails=$((fails+1)); }
ok() { passes=$((passes+1)); }
note() { echo "  $*"; }
finish() {
  echo "$passes passed, $fails failed"
  [ "$fails" = 0 ]
}

# docker_ready STATIC_FIXTURE: a daemon answers and the test images are built
# (else the test ends here, failed)
docker_ready() {
  docker info >/dev/null 2>&1 || { echo "FAIL: no Docker daemon answers; run .ci/docker-setup first"; exit 1; }
  "$SRC/tests/docker/build-images" "$1" >"$TMP/build.log" 2>&1 \
    || { echo "FAIL: building the test images:"; cat "$TMP/build.log"; exit 1; }
}

# stop_serve PID: SIGTERM to a berth serve, which exits 0 and leaves none of
# its children running
stop_serve() {
  local pids p rc left=""
  pids=$(pgrep -P "$1" | tr '\n' ' ')
  kill -TERM "$1"
  wait "$1"
  rc=$?
  [ $rc = 0 ] && ok || fail "berth serve exited $rc"
  for p in $pids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
  [ -z "$left" ] && ok || fail "processes left after SIGTERM:$left"
}
