# free_port: prints a TCP port no socket uses now (IPv4 or IPv6, in any
# state), for a test's berth serve "listen". It is taken below the range
# the kernel hands out to outgoing connections (ip_local_port_range): a
# port there can become a client's source port (curl, docker) at any
# moment, and a listen on it then fails with "address in use". Another
# process may still take it before berth does; tests that start several
# servers ask for one port each.
free_port() {
  local -A used=()
  local local_addr p i lo=20000 hi=32767 range
  if range=$(cat /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null); then
    set -- $range
    # below the ephemeral range when it leaves room, else above it
    if [ "$1" -gt 12000 ]; then hi=$(($1 - 1)); lo=$((hi - 10000 > 1024 ? hi - 10000 : 1025))
    else lo=$(($2 + 1)); hi=65535; fi
  fi
  for f in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$f" ] || continue
    # sl local_address rem_address st ...
    while read -r _ local_addr _; do
      used[$((16#${local_addr##*:}))]=1
    done < <(tail -n +2 "$f")
  done
  p=$((lo + RANDOM % (hi - lo + 1)))
  for ((i = 0; i <= hi - lo; i++)); do
    if [ -z "${used[$p]:-}" ]; then
      echo "$p"
      return 0
    fi
    p=$((p >= hi ? lo : p + 1))
  done
  return 1
}
