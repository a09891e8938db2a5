# Sourced by the shell tests. run_berth ARGS...: runs $EMU $BERTH ARGS with
# empty stdin, stdout in $TMP/out and stderr in $TMP/err, and sets $rc.
# Wine, now and then under parallel load, kills a new process in its DLL
# initialisation (STATUS_DLL_INIT_FAILED, exit 0x42) before berth runs: that
# case alone, only under the emulator, is retried twice.
run_berth() {
  local _try
  for _try in 1 2 3; do
    $EMU "$BERTH" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    rc=$?
    [ -n "$EMU" ] && [ "$rc" = 66 ] && [ ! -s "$TMP/out" ] && [ ! -s "$TMP/err" ] || return 0
    echo "note: wine start-up failure (exit 66), retrying" >&2
  done
}
