#!/usr/bin/env bash
# Runs the built berth binary the way a user does and checks its output and
# exit codes. Usage: cli_test.sh BERTH SOURCE_DIR [EMULATOR]
# (EMULATOR runs a Windows berth.exe under Wine.)
set -u
. "$(dirname "$0")/../lib/run_berth.sh"
BERTH=$1
SRC=$2
EMU=${3:-}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
passes=0

# run EXPECTED_RC -- ARGS...: runs berth, keeps stdout/stderr in $out/$err.
run() {
  local want=$1; shift; shift
  run_berth "$@"
  out=$(cat "$TMP/out"); err=$(cat "$TMP/err")
  if [ "$rc" != "$want" ]; then
    fail "berth $* exited $rc, expected $want"$'\n'"stdout: $out"$'\n'"stderr: $err"
    return 1
  fi
  return 0
}
fail() { echo "FAIL: $1"; fails=$((fails+1)); }
pass() { passes=$((passes+1)); }
has() { # has WHERE TEXT
  case "$1" in *"$2"*) pass ;; *) fail "missing '$2' in:"$'\n'"$1" ;; esac
}
hasnt() {
  case "$1" in *"$2"*) fail "unexpected '$2' in:"$'\n'"$1" ;; *) pass ;; esac
}
empty() { [ -z "$1" ] && pass || fail "expected no output, got:"$'\n'"$1"; }

EX=$SRC/examples/config.json

# --version / --help
run 0 -- --version && has "$out" "berth 0." && has "$out" "apr 1." && empty "$err"
run 0 -- -V && has "$out" "berth "
run 0 -- --help && has "$out" "Usage: berth" && has "$out" "check" \
  && has "$out" "servers" && has "$out" "Exit status: 0 success, 1 failure, 2 usage error"
run 0 -- help check && has "$out" "Usage: berth check [--config FILE]"
for c in check servers; do
  run 0 -- $c --help && has "$out" "Usage: berth $c" && has "$out" "--config FILE"
  run 0 -- $c -h && has "$out" "Usage: berth $c"
done
run 0 -- servers --help && has "$out" "--json"

# usage errors: exit 2, a reason and where to look
run 2 -- && has "$err" "Usage: berth"
run 2 -- frobnicate && has "$err" "unknown command 'frobnicate'" && has "$err" "Try 'berth --help'"
run 2 -- check --bogus && has "$err" "berth check: unknown option '--bogus'" && has "$err" "Try 'berth check --help'"
run 2 -- check --json && has "$err" "unknown option '--json'"
run 2 -- check --config && has "$err" "option '--config' needs a value"
run 2 -- check --config= && has "$err" "needs a file name"
run 2 -- check extra && has "$err" "unexpected argument 'extra'"
run 2 -- --log-level loud check && has "$err" "invalid log level 'loud'"

# berth service: its actions and options (the backends are tested where
# their manager runs: tests/service/)
run 0 -- --help && has "$out" "service   run berth in the background as an OS service"
run 0 -- service --help && has "$out" "Usage: berth service ACTION [--user|--system]" \
  && has "$out" "docs/service.md" && has "$out" "install" && has "$out" "uninstall"
run 2 -- service && has "$err" "berth service: what should it do? install, uninstall, start, stop or status"
run 2 -- service frob && has "$err" "berth service: unknown action 'frob'"
run 2 -- service status --user --system && has "$err" "--user and --system exclude each other"
run 2 -- service status extra && has "$err" "unexpected argument 'extra'"
run 2 -- check --user && has "$err" "berth check: unknown option '--user'"
run 2 -- service status --args x && has "$err" "unknown option '--args'"
if [ -z "$EMU" ] && [ ! -d /run/systemd/system ]; then
  # no systemd on this machine: install says so and writes nothing
  HOME="$TMP/svchome" XDG_CONFIG_HOME="" run 1 -- service install --user &&
    has "$err" "systemd does not run this machine" && has "$err" "berth serve --config"
  [ ! -e "$TMP/svchome/.config/systemd/user/berth.service" ] && pass || fail "a unit was written without systemd"
  HOME="$TMP/svchome" XDG_CONFIG_HOME="" run 1 -- service status --user &&
    has "$out" "berth service: systemd (user), not installed" &&
    has "$out" "config:   $TMP/svchome/.config/berth/config.json" && has "$out" "logs:     the journal"
fi

# check on the bundled example
run 0 -- check --config "$EX" && has "$out" "$EX: valid" && has "$out" "everything" \
  && has "$out" "MEMORY_FILE_PATH=/tmp/berth-memory.json" && empty "$err"
run 0 -- --config "$EX" check && has "$out" "valid"
run 0 -- check --config="$EX" && has "$out" "valid"
run 0 -- check -c "$EX" --log-level debug && has "$out" "valid"

# invalid file: diagnostics on stderr, nothing on stdout, exit 1
cat >"$TMP/bad.json" <<'JSON'
{
  "mcpServers": {
    "a": { "comand": "npx" }
  }
}
JSON
run 1 -- check --config "$TMP/bad.json" && empty "$out" \
  && has "$err" "$TMP/bad.json:3:12: error: mcpServers.a.comand: unknown key in a server entry; did you mean \"command\"?" \
  && has "$err" "$TMP/bad.json: invalid: 2 errors, 0 warnings"
run 1 -- servers --config "$TMP/bad.json" && empty "$out" && has "$err" "did you mean"
run 1 -- check --config "$TMP/missing.json" && has "$err" "$TMP/missing.json: error: cannot read the config file"
run 1 -- check --config "$TMP" && has "$err" "is a directory"

# secrets from the file never reach any output
cat >"$TMP/secret.json" <<'JSON'
{
  "mcpServers": {
    "gh": { "command": "docker", "args": ["run", "-i", "--rm", "-e", "GITHUB_TOKEN", "img"],
            "env": { "GITHUB_TOKEN": "ghp_SECRETSECRET123", "MODE": "ready", "PIN_PASS": "p1n" } },
    "remote": { "url": "https://u:pw-SECRET9@mcp.example.com/mcp?key=SECRET8",
                "headers": { "Authorization": "Bearer SECRET7" } }
  }
}
JSON
for cmd in "check" "servers" "servers --json"; do
  run 0 -- $cmd --config "$TMP/secret.json"
  for s in ghp_SECRETSECRET123 SECRET9 SECRET8 SECRET7 p1n; do
    hasnt "$out$err" "$s"
  done
done
run 0 -- servers --config "$TMP/secret.json" --json
echo "$out" >"$TMP/servers.json"
if command -v jq >/dev/null; then
  [ "$(jq -r '.servers[0].env.GITHUB_TOKEN' "$TMP/servers.json")" = "***" ] && pass || fail "env not redacted in --json"
  [ "$(jq -r '.servers[0].env.PIN_PASS' "$TMP/servers.json")" = "***" ] && pass || fail "a 3-character secret not redacted in --json"
  [ "$(jq -r '.servers[0].env.MODE' "$TMP/servers.json")" = "ready" ] && pass || fail "a value that is no secret is hidden in --json"
  [ "$(jq -r '.servers[1].headers.Authorization' "$TMP/servers.json")" = "***" ] && pass || fail "header not redacted in --json"
  [ "$(jq -r '.servers[1].url' "$TMP/servers.json")" = "https://***@mcp.example.com/mcp?key=***" ] && pass || fail "url not redacted"
  [ "$(jq -r '.servers[0].args | length' "$TMP/servers.json")" = "6" ] && pass || fail "args lost in --json"
  [ "$(jq -r '.servers[0].isolation.mode' "$TMP/servers.json")" = "none" ] && pass || fail "isolation mode"
else
  fail "jq is not installed (.ci/setup installs it)"
fi

# servers table
run 0 -- servers --config "$EX" && has "$out" "NAME" && has "$out" "memory" \
  && has "$out" "disabled" && has "$out" "npx -y @modelcontextprotocol/server-memory"

# where the config comes from: --config > $BERTH_CONFIG > platform default
cp "$EX" "$TMP/env.json"
BERTH_CONFIG="$TMP/env.json" run 0 -- check && has "$out" "$TMP/env.json: valid"
BERTH_CONFIG="$TMP/env.json" run 1 -- check --config "$TMP/bad.json" && has "$err" "bad.json"
if [ -z "$EMU" ]; then
mkdir -p "$TMP/xdg/berth"
if [ ! -e /etc/berth/config.json ]; then
  env -u BERTH_CONFIG HOME="$TMP/home" XDG_CONFIG_HOME="$TMP/xdg" "$BERTH" check >"$TMP/out" 2>"$TMP/err"
  [ $? = 1 ] && pass || fail "no config anywhere should exit 1"
  has "$(cat "$TMP/err")" "no config file found (looked for $TMP/xdg/berth/config.json, /etc/berth/config.json)"
  env -u BERTH_CONFIG HOME="$TMP/home" XDG_CONFIG_HOME= "$BERTH" check >"$TMP/out" 2>"$TMP/err"
  has "$(cat "$TMP/err")" "looked for $TMP/home/.config/berth/config.json"
fi
cp "$EX" "$TMP/xdg/berth/config.json"
env -u BERTH_CONFIG HOME="$TMP/home" XDG_CONFIG_HOME="$TMP/xdg" "$BERTH" check >"$TMP/out" 2>"$TMP/err"
[ $? = 0 ] && pass || fail "XDG config not used: $(cat "$TMP/err")"
has "$(cat "$TMP/out")" "$TMP/xdg/berth/config.json: valid"
else
  # Windows: %ProgramData%\berth\config.json
  env -u BERTH_CONFIG $EMU "$BERTH" check >"$TMP/out" 2>"$TMP/err"
  [ $? = 1 ] && pass || fail "no config anywhere should exit 1"
  has "$(cat "$TMP/err")" '\berth\config.json); pass --config FILE or set BERTH_CONFIG'
  run 0 -- --version && has "$out" "(windows;"
fi

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
