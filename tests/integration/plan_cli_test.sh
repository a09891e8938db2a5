#!/usr/bin/env bash
# The spawn core as a user meets it (docs/spawn.md): the built
# berth binary runs under `env -i` with a controlled PATH holding a fake
# docker, a fake login shell as SHELL and an empty HOME, and its JSON is read
# with jq. Plans are also executed for real, through real shells, and the
# fake docker records the argv it received.
# Usage: plan_cli_test.sh BERTH
set -u
BERTH=$1
command -v jq >/dev/null || { echo "FAIL: jq is required (.ci/setup installs it)"; exit 1; }
[ -x "$BERTH" ] || { echo "FAIL: no berth binary at $BERTH"; exit 1; }

# A fixed, space-free prefix: the fake docker's path needs no shell quoting,
# so the wrapped line must start with it verbatim.
TMP=$(mktemp -d /tmp/berth-plancli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fails=0
passes=0
fail() { echo "FAIL: $1"; fails=$((fails+1)); }
pass() { passes=$((passes+1)); }
note() { echo "NOTE: $1"; }
eq() { # eq DESC GOT WANT
  if [ "$2" == "$3" ]; then pass; else fail "$1: got [$2], want [$3]"; fi
}
prefix() { # prefix DESC TEXT PREFIX
  case "$2" in "$3"*) pass ;; *) fail "$1: [$2] does not start with [$3]" ;; esac
}
contains() { # contains DESC TEXT PART
  case "$2" in *"$3"*) pass ;; *) fail "$1: [$3] not in [$2]" ;; esac
}

BIN=$TMP/bin                 # on PATH, holds the fake docker
HOMEDIR=$TMP/home
SH=$TMP/shells/login-sh      # the fake login shell (SHELL)
REC=$TMP/docker-argv         # what the fake docker received, NUL-separated
DOWN=$TMP/daemon-down        # when present, docker info fails
mkdir -p "$BIN" "$HOMEDIR" "$TMP/shells" "$TMP/loginbin"

fake_docker() { # fake_docker PATH
  cat >"$1" <<EOF
#!/bin/sh
# fake docker: answers 'docker info --format ...' like a live daemon unless
# $DOWN exists; records every other call's argv.
if [ "\$1" = info ] && [ "\$2" = --format ]; then
  if [ -e '$DOWN' ]; then
    echo 'Cannot connect to the Docker daemon at unix:///tmp/x.sock' >&2
    exit 1
  fi
  echo 27.0.1
  exit 0
fi
printf '%s\0' "\$@" >'$REC'
exit 0
EOF
  chmod 755 "$1"
}
fake_docker "$BIN/docker"

# The fake login shell: with -l it sources a "profile" (a banner on stdout,
# like a noisy rc file); then it behaves like sh.
cat >"$SH" <<'EOF'
#!/bin/sh
if [ "$1" = -l ]; then
  shift
  echo 'Welcome to fake-login-sh (profile banner)'
fi
exec /bin/sh "$@"
EOF
chmod 755 "$SH"

B_PATH="$BIN:/usr/bin:/bin"
# runb ENV... -- ARGS...: berth under env -i with exactly ENV; sets $out $err $rc
runb() {
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  env -i "${envs[@]}" "$BERTH" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
  rc=$?
  out=$(cat "$TMP/out"); err=$(cat "$TMP/err")
}
# the usual environment: fake docker on PATH, fake SHELL, empty HOME
std_env=(PATH="$B_PATH" SHELL="$SH" HOME="$HOMEDIR" LANG=C.UTF-8)
jqr() { jq -r "$1" <<<"$out"; }
# NUL-separated array of a JSON string array, so newlines survive
jarr() { jq -j "$1"' | (., "\u0000")' <<<"$out"; }

ok_json() { # ok_json DESC: berth exited 0 with valid JSON
  if [ "$rc" != 0 ] || ! jq -e . >/dev/null 2>&1 <<<"$out"; then
    fail "$1: exit $rc"$'\n'"stdout: $out"$'\n'"stderr: $err"
    return 1
  fi
  return 0
}

# ---------------------------------------------------------------------------
# 1. Direct exec with DOCKER_HOST, login-shell wrap without it (Linux rules)
cat >"$TMP/plan.json" <<'EOF'
{
  "mcpServers": {
    "dock": { "command": "docker", "args": ["run", "-i", "--rm", "img"] },
    "iso": {
      "command": "uvx",
      "args": ["mcp-server-fetch"],
      "isolation": { "mode": "docker", "image": "myimg:1" }
    }
  }
}
EOF
for srv in dock iso; do
  runb "${std_env[@]}" DOCKER_HOST=unix:///tmp/x.sock -- plan "$srv" --json --config "$TMP/plan.json"
  if ok_json "plan $srv (DOCKER_HOST)"; then
    cid=$(jqr .cidfile)
    eq "$srv direct: program" "$(jqr .program)" "$BIN/docker"
    eq "$srv direct: argv[0]" "$(jqr '.argv[0]')" "$BIN/docker"
    eq "$srv direct: argv[1]" "$(jqr '.argv[1]')" run
    eq "$srv direct: argv[2]" "$(jqr '.argv[2]')" --cidfile
    eq "$srv direct: argv[3] is the cidfile" "$(jqr '.argv[3]')" "$cid"
    eq "$srv direct: wrapped" "$(jqr .wrapped)" false
    eq "$srv direct: shell" "$(jqr .shell)" null
    eq "$srv direct: docker.source" "$(jqr .docker.source)" path
    eq "$srv direct: docker.verified" "$(jqr .docker.verified)" true
    eq "$srv direct: daemon_env_guaranteed" "$(jqr .docker.daemon_env_guaranteed)" true
    prefix "$srv: cidfile in berth's private folder" "$cid" "$HOMEDIR/.cache/berth/cid/"
    [ ! -e "$cid" ] && pass || fail "$srv: the cidfile $cid was pre-created"
    # the docker client gets DOCKER_HOST (allow-listed passthrough)
    contains "$srv direct: DOCKER_HOST reaches docker" "$(jqr '.env[]')" "DOCKER_HOST=unix:///tmp/x.sock"
    # exactly one --cidfile
    eq "$srv direct: one --cidfile" "$(jqr '[.argv[] | select(. == "--cidfile")] | length')" 1
  fi

  runb "${std_env[@]}" -- plan "$srv" --json --config "$TMP/plan.json"
  if ok_json "plan $srv (no DOCKER_HOST)"; then
    cid=$(jqr .cidfile)
    eq "$srv wrap: program" "$(jqr .program)" "$SH"
    eq "$srv wrap: argv length" "$(jqr '.argv | length')" 4
    eq "$srv wrap: argv[0]" "$(jqr '.argv[0]')" "$SH"
    eq "$srv wrap: argv[1]" "$(jqr '.argv[1]')" -l
    eq "$srv wrap: argv[2]" "$(jqr '.argv[2]')" -c
    eq "$srv wrap: wrapped" "$(jqr .wrapped)" true
    eq "$srv wrap: shell" "$(jqr .shell)" "$SH"
    eq "$srv wrap: daemon_env_guaranteed" "$(jqr .docker.daemon_env_guaranteed)" false
    line=$(jqr '.argv[3]')
    prefix "$srv wrap: line starts with the absolute docker, run, --cidfile" \
      "$line" "$BIN/docker run --cidfile $cid "
    case "$line" in *"--cidfile"*"--cidfile"*) fail "$srv wrap: two --cidfile in [$line]" ;; *) pass ;; esac
  fi
done

# a fresh cidfile name for every start
runb "${std_env[@]}" -- plan dock --json --config "$TMP/plan.json"; c1=$(jqr .cidfile)
runb "${std_env[@]}" -- plan dock --json --config "$TMP/plan.json"; c2=$(jqr .cidfile)
[ -n "$c1" ] && [ "$c1" != "$c2" ] && pass || fail "cidfile names repeat: [$c1] [$c2]"

# DOCKER_CONTEXT counts like DOCKER_HOST; an empty DOCKER_HOST does not
runb "${std_env[@]}" DOCKER_CONTEXT=remote -- plan dock --json --config "$TMP/plan.json"
ok_json "plan dock (DOCKER_CONTEXT)" && eq "DOCKER_CONTEXT: wrapped" "$(jqr .wrapped)" false
runb "${std_env[@]}" DOCKER_HOST= -- plan dock --json --config "$TMP/plan.json"
ok_json "plan dock (empty DOCKER_HOST)" && eq "empty DOCKER_HOST: wrapped" "$(jqr .wrapped)" true

# ---------------------------------------------------------------------------
# 2. Plans executed for real: through the fake login shell and real
# bash/zsh/fish as SHELL (quoted for the family of SHELL), and directly. The
# fake docker must receive exactly the planned docker argv.
cat >"$TMP/hostile.json" <<'EOF'
{
  "mcpServers": {
    "dock": {
      "command": "docker",
      "args": ["run", "-i", "--rm", "img", "arg with space", "it's", "say \"hi\"",
               "$HOME", "`id`", "$(id)", "back\\slash", "trailing\\", "日本 é 😀",
               "a;b&c|d", "*", "~", "%PATH%", "!x", "#c", "", "two\nlines"]
    },
    "iso": {
      "command": "uvx",
      "args": ["srv", "/data/my files/it's", "$HOME", "x\\\"y"],
      "isolation": { "mode": "docker", "image": "myimg:1" }
    }
  }
}
EOF
# the labels berth adds to the user's own docker run, after its -e flags;
# the instance label names this berth process (host/pid/start/random)
labels() {
  local inst
  inst=$(jqr '.argv | join(" ")' | grep -o 'io\.berth\.instance=[A-Za-z0-9._/-]*' | head -1)
  case "$inst" in
    "io.berth.instance=$(hostname)/"*/*/*) pass ;;
    *) fail "instance label [$inst] is not io.berth.instance=<host>/<pid>/<start>/<token>" ;;
  esac
  dock_labels=(--label io.berth.managed=true --label io.berth.server=dock --label "$inst")
}
dock_tail=(-i --rm img "arg with space" "it's" 'say "hi"' '$HOME' '`id`' '$(id)'
           'back\slash' 'trailing\' "日本 é 😀" 'a;b&c|d' '*' '~' '%PATH%' '!x' '#c' ''
           $'two\nlines')
iso_tail=(myimg:1 uvx srv "/data/my files/it's" '$HOME' 'x\"y')

# exec_plan DESC: runs the plan in $out with its env; sets got[] from $REC
exec_plan() {
  local pargv=() penv=()
  mapfile -d '' pargv < <(jarr '.argv[]')
  mapfile -d '' penv < <(jarr '.env[]')
  rm -f "$REC"
  env -i "${penv[@]}" "${pargv[@]}" </dev/null >"$TMP/exec-out" 2>"$TMP/exec-err"
  local erc=$?
  got=()
  if [ "$erc" != 0 ] || [ ! -e "$REC" ]; then
    fail "$1: the plan did not run docker (exit $erc): $(cat "$TMP/exec-err")"$'\n'"argv: ${pargv[*]}"
    return 1
  fi
  mapfile -d '' got <"$REC"
  return 0
}
# same_list DESC WANT... -- GOT...
same_list() {
  local desc=$1; shift
  local want=() g=()
  while [ "$1" != -- ]; do want+=("$1"); shift; done
  shift
  g=("$@")
  if [ "${#want[@]}" != "${#g[@]}" ]; then
    fail "$desc: ${#g[@]} arguments, want ${#want[@]}: got $(printf '[%s]' "${g[@]}")"
    return
  fi
  local i
  for i in "${!want[@]}"; do
    if [ "${want[$i]}" != "${g[$i]}" ]; then
      fail "$desc: argument $i is [${g[$i]}], want [${want[$i]}]"
      return
    fi
  done
  pass
}

shells=("$SH")
for s in bash zsh fish; do
  p=$(command -v "$s") && shells+=("$p") || note "$s not installed: its wrap is not executed (.ci/setup installs it)"
done
for shell in "${shells[@]}"; do
  for srv in dock iso; do
    runb PATH="$B_PATH" SHELL="$shell" HOME="$HOMEDIR" LANG=C.UTF-8 -- plan "$srv" --json --config "$TMP/hostile.json"
    ok_json "plan $srv with SHELL=$shell" || continue
    eq "$srv with SHELL=$shell: wrapped by it" "$(jqr .program)" "$shell"
    cid=$(jqr .cidfile)
    labels
    exec_plan "$srv via $shell -l -c" || continue
    if [ "$srv" = dock ]; then
      same_list "$srv via $(basename "$shell") -l -c" run --cidfile "$cid" "${dock_labels[@]}" "${dock_tail[@]}" -- "${got[@]}"
    else
      same_list "$srv via $(basename "$shell") -l -c (head)" run --cidfile "$cid" -- "${got[@]:0:3}"
      same_list "$srv via $(basename "$shell") -l -c (tail)" "${iso_tail[@]}" -- "${got[@]: -${#iso_tail[@]}}"
    fi
  done
done
for srv in dock iso; do
  runb "${std_env[@]}" DOCKER_HOST=unix:///tmp/x.sock -- plan "$srv" --json --config "$TMP/hostile.json"
  ok_json "plan $srv direct (hostile)" || continue
  cid=$(jqr .cidfile)
  labels
  exec_plan "$srv direct" || continue
  if [ "$srv" = dock ]; then
    same_list "$srv direct exec" run --cidfile "$cid" "${dock_labels[@]}" "${dock_tail[@]}" -- "${got[@]}"
  else
    same_list "$srv direct exec (head)" run --cidfile "$cid" -- "${got[@]:0:3}"
    same_list "$srv direct exec (tail)" "${iso_tail[@]}" -- "${got[@]: -${#iso_tail[@]}}"
  fi
done

# ---------------------------------------------------------------------------
# 3. Secrets: berth's own environment and the config's values never reach
# any output; configured env shows as KEY=*** where it goes.
S_AWS=AKIAsecretValue123
S_GH=ghp_envSecret456
S_CFG=cfgSecret789
S_PW=pwSecret000
cat >"$TMP/secrets.json" <<EOF
{
  "mcpServers": {
    "dock": {
      "command": "docker",
      "args": ["run", "-i", "--rm", "img", "postgresql://u:$S_PW@h/db"],
      "env": { "API_KEY": "$S_CFG" }
    },
    "iso": {
      "command": "uvx",
      "args": ["mcp-server-postgres", "postgresql://u:$S_PW@h/db"],
      "env": { "API_KEY": "$S_CFG" },
      "isolation": { "mode": "docker", "image": "myimg:1" }
    },
    "direct": {
      "command": "cat",
      "args": ["postgresql://u:$S_PW@h/db"],
      "env": { "API_KEY": "$S_CFG" }
    }
  }
}
EOF
secret_env=("AWS_SECRET_ACCESS_KEY=$S_AWS" "GITHUB_TOKEN=$S_GH")
no_secret() { # no_secret DESC TEXT
  local s
  for s in "$S_AWS" "$S_GH" "$S_CFG" "$S_PW"; do
    case "$2" in *"$s"*) fail "$1: the secret $s is in the output:"$'\n'"$2"; return ;; esac
  done
  pass
}
for dh in "" DOCKER_HOST=unix:///tmp/x.sock; do
  envs=("${std_env[@]}" "${secret_env[@]}")
  [ -n "$dh" ] && envs+=("$dh")
  tag=${dh:+ with DOCKER_HOST}
  for args in "check" "servers" "servers --json" "doctor" "doctor --json"; do
    # shellcheck disable=SC2086
    runb "${envs[@]}" -- --log-level debug $args --config "$TMP/secrets.json"
    [ "$rc" = 0 ] && pass || fail "berth $args$tag exited $rc: $err"
    no_secret "berth $args$tag" "$out"$'\n'"$err"
  done
  for srv in dock iso direct; do
    runb "${envs[@]}" -- --log-level debug plan "$srv" --config "$TMP/secrets.json"
    [ "$rc" = 0 ] && pass || fail "berth plan $srv$tag exited $rc: $err"
    no_secret "berth plan $srv$tag" "$out"$'\n'"$err"
    runb "${envs[@]}" -- --log-level debug plan "$srv" --json --config "$TMP/secrets.json"
    no_secret "berth plan $srv --json$tag" "$out"$'\n'"$err"
    ok_json "plan $srv --json$tag (secrets)" || continue
    eq "$srv$tag: no AWS_SECRET_ACCESS_KEY in the child env" \
      "$(jqr '[.env[] | select(startswith("AWS_SECRET_ACCESS_KEY="))] | length')" 0
    eq "$srv$tag: no GITHUB_TOKEN in the child env" \
      "$(jqr '[.env[] | select(startswith("GITHUB_TOKEN="))] | length')" 0
    if [ "$srv" = direct ]; then
      eq "direct$tag: API_KEY in env, redacted" \
        "$(jqr '[.env[] | select(startswith("API_KEY="))] | join(",")')" "API_KEY=***"
      eq "direct$tag: no -e flags" "$(jqr '[.argv[] | select(. == "-e")] | length')" 0
      eq "direct$tag: the URL's credentials are redacted" "$(jqr '.argv[1]')" "postgresql://***@h/db"
      eq "direct$tag: not wrapped" "$(jqr .wrapped)" false
      continue
    fi
    # docker shapes: API_KEY goes to the container as -e API_KEY, its value
    # in the docker client's environment (redacted here): directly under
    # its name, through the login shell under an alias it assigns back
    if [ -n "$dh" ]; then
      eq "$srv$tag: API_KEY in the docker client's env, redacted" \
        "$(jqr '[.env[] | select(startswith("API_KEY="))] | join(",")')" "API_KEY=***"
      # the -e flag, with no value, before the image
      idx=$(jqr '.argv | [range(0; length - 1) as $i | select(.[$i] == "-e" and .[$i + 1] == "API_KEY") | $i] | join(",")')
      img=$(jqr '.argv | index("img") // index("myimg:1")')
      case "$idx" in ''|*,*) fail "$srv$tag: want exactly one -e API_KEY in argv: $(jqr -c .argv)" ;;
        *) [ "$idx" -lt "$img" ] && pass || fail "$srv$tag: -e after the image: $(jqr -c .argv)" ;; esac
      [ "$srv" = dock ] && eq "dock$tag: -e right after run --cidfile CID" "$idx" 4
    else
      eq "$srv$tag: the alias in the docker client's env, redacted" \
        "$(jqr '[.env[] | select(startswith("API_KEY=") or startswith("BERTH_ENV_API_KEY="))] | join(",")')" \
        "BERTH_ENV_API_KEY=***"
      line=$(jqr '.argv[3]')
      prefix "$srv$tag: the line assigns it back first" "$line" 'API_KEY="$BERTH_ENV_API_KEY" '
      contains "$srv$tag: -e API_KEY in the wrapped line" "$line" " -e API_KEY "
    fi
  done
done

# The operator lets secret-named variables through (env.allow): the child
# gets them, but every printed plan shows KEY=*** (the name says secret).
cat >"$TMP/allow.json" <<'EOF'
{
  "env": { "allow": ["AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN"] },
  "mcpServers": {
    "direct": { "command": "cat", "args": [] },
    "dock": { "command": "docker", "args": ["run", "-i", "--rm", "img"] }
  }
}
EOF
for srv in direct dock; do
  runb "${std_env[@]}" "${secret_env[@]}" -- --log-level debug plan "$srv" --json --config "$TMP/allow.json"
  no_secret "allow-listed secrets: plan $srv --json" "$out"$'\n'"$err"
  if ok_json "plan $srv (allow-listed secrets)"; then
    eq "allow-listed: $srv env AWS_SECRET_ACCESS_KEY" \
      "$(jqr '[.env[] | select(startswith("AWS_SECRET_ACCESS_KEY="))] | join(",")')" "AWS_SECRET_ACCESS_KEY=***"
    eq "allow-listed: $srv env GITHUB_TOKEN" \
      "$(jqr '[.env[] | select(startswith("GITHUB_TOKEN="))] | join(",")')" "GITHUB_TOKEN=***"
  fi
  runb "${std_env[@]}" "${secret_env[@]}" -- --log-level debug plan "$srv" --config "$TMP/allow.json"
  no_secret "allow-listed secrets: plan $srv" "$out"$'\n'"$err"
  contains "allow-listed: plan $srv (human) lists the key" "$out" "GITHUB_TOKEN=***"
done

# ---------------------------------------------------------------------------
# 4. berth doctor: where docker came from, and whether the daemon answers
doctor_env() { # doctor_env ENV...: berth doctor --json; sets $out
  runb "$@" -- doctor --json
  ok_json "doctor ($*)"
}
for dh in "" DOCKER_HOST=unix:///tmp/x.sock; do
  tag=${dh:+ with DOCKER_HOST}
  envs=("${std_env[@]}"); [ -n "$dh" ] && envs+=("$dh")
  rm -f "$DOWN"
  if doctor_env "${envs[@]}"; then
    eq "doctor$tag: docker.path" "$(jqr .docker.path)" "$BIN/docker"
    eq "doctor$tag: docker.source" "$(jqr .docker.source)" path
    eq "doctor$tag: docker.verified" "$(jqr .docker.verified)" true
    eq "doctor$tag: docker.available" "$(jqr .docker.available)" true
    eq "doctor$tag: server_version" "$(jqr .docker.server_version)" 27.0.1
    eq "doctor$tag: daemon_env_guaranteed" "$(jqr .docker.daemon_env_guaranteed)" \
      "$([ -n "$dh" ] && echo true || echo false)"
    eq "doctor$tag: login shell" "$(jqr .login_shell.shell)" "$SH"
    eq "doctor$tag: login shell captured (banner and all)" "$(jqr .login_shell.captured)" true
  fi
  touch "$DOWN"
  if doctor_env "${envs[@]}"; then
    eq "doctor$tag, daemon down: available" "$(jqr .docker.available)" false
    eq "doctor$tag, daemon down: server_version" "$(jqr .docker.server_version)" null
    [ -n "$(jqr '.docker.error // empty')" ] && pass || fail "doctor$tag, daemon down: no error text"
    eq "doctor$tag, daemon down: docker still found" "$(jqr .docker.path)" "$BIN/docker"
  fi
  rm -f "$DOWN"
done

# Not on PATH, at a Linux well-known location (~/bin/docker, rootless):
# source "bundled". A docker installed on this machine at a location probed
# earlier (/usr/bin, /usr/local/bin, /snap/bin) is hidden with a private
# mount when the system allows it.
sysdockers=()
for f in /usr/bin/docker /usr/local/bin/docker /snap/bin/docker; do
  [ -e "$f" ] && sysdockers+=("$f")
done
hide_ok=1
if [ ${#sysdockers[@]} -gt 0 ]; then
  if ! unshare -rm sh -c 'mount --bind /dev/null "$1"' sh "${sysdockers[0]}" 2>/dev/null; then
    hide_ok=0
  fi
fi
# hidden ENV...: runs berth under env -i with the system dockers masked
hidden() {
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  if [ ${#sysdockers[@]} -eq 0 ]; then
    env -i "${envs[@]}" "$BERTH" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
  else
    unshare -rm sh -c '
      n=$1; shift
      while [ "$n" -gt 0 ]; do mount --bind /dev/null "$1" || exit 99; shift; n=$((n-1)); done
      exec "$@"' sh "${#sysdockers[@]}" "${sysdockers[@]}" \
      env -i "${envs[@]}" "$BERTH" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
  fi
  rc=$?
  out=$(cat "$TMP/out"); err=$(cat "$TMP/err")
}

mkdir -p "$HOMEDIR/bin"
fake_docker "$HOMEDIR/bin/docker"
if [ "$hide_ok" = 1 ]; then
  hidden PATH=/usr/bin:/bin SHELL="$SH" HOME="$HOMEDIR" LANG=C.UTF-8 -- doctor --json
  if ok_json "doctor (docker at ~/bin)"; then
    eq "HOME/bin/docker: docker.path" "$(jqr .docker.path)" "$HOMEDIR/bin/docker"
    eq "HOME/bin/docker: docker.source" "$(jqr .docker.source)" bundled
    eq "HOME/bin/docker: docker.verified" "$(jqr .docker.verified)" true
    eq "HOME/bin/docker: docker.available" "$(jqr .docker.available)" true
  fi
  # ... and a plan uses it by its absolute path inside the wrap
  hidden PATH=/usr/bin:/bin SHELL="$SH" HOME="$HOMEDIR" LANG=C.UTF-8 -- plan dock --json --config "$TMP/plan.json"
  if ok_json "plan (docker at ~/bin)"; then
    prefix "HOME/bin/docker: the wrapped line" "$(jqr '.argv[3]')" "$HOMEDIR/bin/docker run --cidfile "
    # its folder is put in front of the docker client's PATH
    prefix "HOME/bin/docker: PATH starts with its folder" "$(jqr '.env[] | select(startswith("PATH="))')" "PATH=$HOMEDIR/bin:"
  fi
  rm -f "$HOMEDIR/bin/docker"

  # only the login shell knows docker: source "login_shell"
  LSH=$TMP/shells/profile-sh
  fake_docker "$TMP/loginbin/docker"
  cat >"$LSH" <<EOF
#!/bin/sh
if [ "\$1" = -l ]; then
  shift
  echo 'motd: welcome'
  PATH='$TMP/loginbin':"\$PATH"; export PATH
fi
exec /bin/sh "\$@"
EOF
  chmod 755 "$LSH"
  hidden PATH=/usr/bin:/bin SHELL="$LSH" HOME="$HOMEDIR" LANG=C.UTF-8 -- doctor --json
  if ok_json "doctor (docker from the login shell)"; then
    eq "login shell docker: path" "$(jqr .docker.path)" "$TMP/loginbin/docker"
    eq "login shell docker: source" "$(jqr .docker.source)" login_shell
    eq "login shell docker: verified" "$(jqr .docker.verified)" true
    eq "login shell docker: available" "$(jqr .docker.available)" true
  fi
  # nowhere: absent
  hidden PATH=/usr/bin:/bin SHELL="$SH" HOME="$HOMEDIR" LANG=C.UTF-8 -- doctor --json
  if ok_json "doctor (no docker)"; then
    eq "no docker: path" "$(jqr .docker.path)" null
    eq "no docker: source" "$(jqr .docker.source)" absent
    eq "no docker: available" "$(jqr .docker.available)" false
  fi
else
  note "a docker is installed at ${sysdockers[*]} and cannot be hidden here (no unshare): checking only that it wins as 'bundled'"
  runb PATH=/usr/bin:/bin SHELL="$SH" HOME="$HOMEDIR" LANG=C.UTF-8 -- doctor --json
  if ok_json "doctor (docker at ~/bin, system docker present)"; then
    eq "system docker: docker.source" "$(jqr .docker.source)" bundled
    eq "system docker: docker.path" "$(jqr .docker.path)" "${sysdockers[0]}"
  fi
fi

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
