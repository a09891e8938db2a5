# Sourced by the shell tests. run_berth ARGS...: runs $EMU $BERTH ARGS with
# empty stdin, stdout in $TMP/out and stderr in $TMP/err, and sets $rc.
# Wine, now and then under parallel load, fails a new process before berth
# runs: usually in its DLL initialisation (STATUS_DLL_INIT_FAILED, exit
# 0x42), once here with exit 1. berth itself never fails without saying why,
# so under the emulator a non-zero exit with no output at all is retried
# twice. Wine can also leave a process hanging: under the emulator a run
# gets 120 s (no command these tests run needs more than a few), and one
# that takes longer is killed and retried the same way.
run_berth() {
  local _try
  for _try in 1 2 3; do
    ${EMU:+timeout -k 5 120} $EMU "$BERTH" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    rc=$?
    [ -n "$EMU" ] || return 0
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
      echo "note: berth $1 under wine still running after 120 s, retrying" >&2
      continue
    fi
    [ "$rc" != 0 ] && [ ! -s "$TMP/out" ] && [ ! -s "$TMP/err" ] || return 0
    echo "note: wine start-up failure (exit $rc, no output), retrying" >&2
  done
}
