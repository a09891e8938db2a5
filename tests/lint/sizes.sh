#!/usr/bin/env bash
# The size rules of berth's C: no source file in runtime/ or service/ over
# 1,000 lines, and no function in runtime/, platform/ or service/ longer
# than 80 lines unless the comment right above it says why, with
# "(long: <reason>)".
#   tests/lint/sizes.sh [SOURCE_DIR]
# Prints every breach and exits 1 when there is one.
set -u
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 2
bad=0
shopt -s nullglob
for f in runtime/*/*.c runtime/*/*.h service/*.c service/*.h service/*/*.c service/*/*.h; do
  n=$(wc -l <"$f")
  if [ "$n" -gt 1000 ]; then
    echo "$f: $n lines (at most 1000)"
    bad=1
  fi
done
# A function: a line at column 0 that opens a definition, its "{" at column
# 0, its "}" at column 0. The comment block just above it may excuse it.
out=$(awk '
  FNR == 1 { comment = ""; in_comment = 0; sig = 0; body = 0 }
  body {
    if ($0 ~ /^}/) {
      len = FNR - sig + 1
      if (len > 80 && comment !~ /\(long: [^)]+\)/)
        printf "%s:%d: %s is %d lines (at most 80, or say why with (long: ...))\n", FILENAME, sig, name, len
      body = 0; comment = ""
    }
    next
  }
  /^\/\*/ { in_comment = 1; comment = "" }
  in_comment { comment = comment " " $0; if ($0 ~ /\*\//) in_comment = 0; next }
  /^[A-Za-z_][A-Za-z0-9_ \*]*[ \*]?[A-Za-z_][A-Za-z0-9_]*\(/ && $0 !~ /;[ \t]*$/ && $0 !~ /^(typedef|struct [a-z_]+ \{|#)/ {
    sig = FNR; name = $0; sub(/\(.*/, "", name); sub(/.*[ \*]/, "", name); pending = 1; next
  }
  pending && /^{/ { body = 1; pending = 0; next }
  pending && /;[ \t]*$/ && $0 !~ /^[ \t]/ { pending = 0; comment = "" }
  /^$/ { if (!pending) comment = "" }
' runtime/*/*.c platform/*/*.c service/*.c service/*/*.c)
if [ -n "$out" ]; then
  echo "$out"
  bad=1
fi
exit $bad
