# free_port: prints a TCP port nobody listens on now (IPv4 or IPv6), from a
# random start in 20000-59999, for a test's berth serve "listen". Another
# process may still take it before berth does; tests that start several
# servers ask for one port each.
free_port() {
  local -A used=()
  local local_addr state p i
  for f in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$f" ] || continue
    # sl local_address rem_address st ...; 0A is LISTEN
    while read -r _ local_addr _ state _; do
      [ "$state" = 0A ] && used[$((16#${local_addr##*:}))]=1
    done < <(tail -n +2 "$f")
  done
  p=$((20000 + RANDOM % 40000))
  for ((i = 0; i < 1000; i++)); do
    if [ -z "${used[$p]:-}" ]; then
      echo "$p"
      return 0
    fi
    p=$((p + 1))
  done
  return 1
}
