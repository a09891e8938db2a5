# A real systemd to test berth's units with: containers booted from the
# image of .ci/systemd-image, with systemd as PID 1. Sourced by a test,
# which then calls sc_boot; every container it boots is removed when the
# test's shell exits (the EXIT trap is set here: a test with cleanup of its
# own puts it in sc_on_exit), together with the containers that the berth
# inside started on the host's daemon. Containers left by a test that was
# killed (SIGKILL from a ctest timeout runs no trap) are removed by the next
# test's first sc_boot.
#
#   sc_boot NAME [DOCKER RUN OPTIONS...]  boots a container, waits for
#       `systemctl is-system-running --wait` ("degraded" is fine: the failed
#       units are printed), sets SC=<its docker name>; fails after 60 s
#   sc COMMAND...            runs COMMAND in $SC as root (stdin is passed)
#   sc_sh SCRIPT             bash -c SCRIPT in $SC as root
#   sc_as USER COMMAND...    COMMAND as USER, in USER's session environment
#                            (HOME, XDG_RUNTIME_DIR, the user bus)
#   sc_put FILE PATH [MODE]  copies a host file to PATH in $SC
#   sc_hostname              $SC's host name (berth's instance ids in the
#                            containers it starts begin with it)
#
# Container names are berth-systemd-<NAME>-<pid of the test>-<random>; each
# carries the label berth.test.systemd=<host>/<pid>, by which a later test
# finds those whose test is gone.
SC=""
SC_ALL=()
SC_IMAGE=${SC_IMAGE:-berth-test/systemd:bookworm}
SC_LABEL=berth.test.systemd
SC_OWNER="$(hostname)/$$"

sc_on_exit() { :; }

# sc_remove NAME: the container, and what its berth started on this daemon
# (berth's io.berth.instance label begins with the container's host name).
sc_remove() {
  local host ids
  host=$(docker inspect -f '{{.Config.Hostname}}' "$1" 2>/dev/null) || return 0
  docker rm -f "$1" >/dev/null 2>&1
  ids=$(docker ps -a --filter label=io.berth.managed=true \
    --format "{{.ID}} {{.Label \"io.berth.instance\"}}" | awk -v h="$host/" 'index($2, h) == 1 { print $1 }')
  [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1
  return 0
}

sc_cleanup() {
  local c
  sc_on_exit
  for c in "${SC_ALL[@]}"; do sc_remove "$c"; done
}
trap sc_cleanup EXIT

# The containers of tests that are gone (same host, their pid not running).
sc_sweep() {
  local name owner pid
  while read -r name owner; do
    [ -n "$name" ] || continue
    [ "${owner%/*}" = "$(hostname)" ] || continue
    pid=${owner##*/}
    [ "$pid" != "$$" ] && ! kill -0 "$pid" 2>/dev/null || continue
    echo "  removing $name, left by test pid $pid"
    sc_remove "$name"
  done < <(docker ps -a --filter "label=$SC_LABEL" --format "{{.Names}} {{.Label \"$SC_LABEL\"}}")
}

sc_boot() {
  local name=$1 c state i out
  shift
  [ ${#SC_ALL[@]} -gt 0 ] || sc_sweep
  c=berth-systemd-$name-$$-$RANDOM
  # The flags systemd needs in a container: its own cgroup namespace and
  # CAP_SYS_ADMIN (for the services' mount namespaces; --privileged fails
  # here), /run and /run/lock on tmpfs, SIGRTMIN+3 to shut down.
  if ! out=$(docker run -d --name "$c" --hostname "$c" --label "$SC_LABEL=$SC_OWNER" \
    --cap-add SYS_ADMIN --cgroupns=private --tmpfs /run --tmpfs /run/lock \
    --stop-signal SIGRTMIN+3 "$@" "$SC_IMAGE" /lib/systemd/systemd 2>&1); then
    echo "FAIL: docker run of $SC_IMAGE: $out"
    return 1
  fi
  SC_ALL+=("$c")
  SC=$c
  # the manager's bus comes up a moment after the start; until then
  # systemctl fails at once
  for ((i = 0; i < 300; i++)); do
    state=$(timeout 60 docker exec "$c" systemctl is-system-running --wait 2>/dev/null)
    case $state in
    running) return 0 ;;
    degraded)
      echo "  $c: degraded; failed units:"
      docker exec "$c" systemctl --failed --no-legend --plain | sed 's/^/    /'
      return 0
      ;;
    starting | initializing | "") ;;
    *)
      echo "FAIL: $c: the system is $state"
      docker exec "$c" systemctl --failed --no-legend --plain
      return 1
      ;;
    esac
    [ "$(docker inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" = true ] || break
    sleep 0.2
  done
  echo "FAIL: $c did not boot (last state: ${state:-none})"
  docker logs --tail 30 "$c" 2>&1
  return 1
}

sc() { docker exec -i "$SC" "$@"; }
sc_sh() { docker exec -i "$SC" bash -c "$1"; }
sc_as() {
  local user=$1 uid home
  shift
  uid=$(docker exec "$SC" id -u "$user") || return 1
  home=$(docker exec "$SC" getent passwd "$user" | cut -d: -f6)
  docker exec -i -u "$user" -w "$home" -e HOME="$home" -e USER="$user" \
    -e XDG_RUNTIME_DIR="/run/user/$uid" \
    -e DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$uid/bus" "$SC" "$@"
}
sc_put() {
  docker cp "$1" "$SC:$2" >/dev/null || return 1
  docker exec "$SC" chown root:root "$2"
  [ -z "${3:-}" ] || docker exec "$SC" chmod "$3" "$2"
}
sc_hostname() { docker inspect -f '{{.Config.Hostname}}' "$SC"; }
