# A scratch place for a test of berth serve, sourced after SRC is set: TMP
# (removed at exit, after the berth serve in $spid, if any, is killed),
# checks.sh and free_port.sh, PORT (free), URL (its /mcp on loopback), and
# HOME inside TMP with no XDG_RUNTIME_DIR, so berth's state and tokens stay
# in TMP.
TMP=$(mktemp -d)
spid=""
trap '[ -n "$spid" ] && kill $spid 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
. "$SRC/tests/lib/checks.sh"
. "$SRC/tests/lib/free_port.sh"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT/mcp
export HOME="$TMP/home"
unset XDG_RUNTIME_DIR
mkdir -p "$HOME"
