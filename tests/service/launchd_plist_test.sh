#!/usr/bin/env bash
# The LaunchAgent plist berth service install writes on macOS, made here by
# the same code: valid against Apple's plist DTD (kept beside this test),
# and read by Python's plistlib with the keys launchd needs, for paths that
# need escaping.
#   launchd_plist_test.sh DUMP SOURCE_DIR
set -u
DUMP=$1
SRC=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. "$SRC/tests/lib/checks.sh"

exe='/Users/a&b <c>/bin/berth'
cfg='/Users/a&b <c>/Library/Application Support/berth/config.json'
logs='/Users/a&b <c>/Library/Logs/berth'
"$DUMP" plist io.berth "$exe" "$cfg" "$logs" >"$TMP/io.berth.plist" && ok || fail "the plist was not made"

# the plist's DOCTYPE names Apple's DTD: a catalog maps it to the copy here
cat >"$TMP/catalog.xml" <<XML
<?xml version="1.0"?>
<catalog xmlns="urn:oasis:names:tc:entity:xmlns:xml:catalog">
  <public publicId="-//Apple//DTD PLIST 1.0//EN" uri="file://$SRC/tests/service/PropertyList-1.0.dtd"/>
  <system systemId="http://www.apple.com/DTDs/PropertyList-1.0.dtd" uri="file://$SRC/tests/service/PropertyList-1.0.dtd"/>
</catalog>
XML
out=$(XML_CATALOG_FILES="$TMP/catalog.xml" xmllint --noout --nonet --valid "$TMP/io.berth.plist" 2>&1) &&
  [ -z "$out" ] && ok || fail "not valid against the plist DTD: $out"

out=$(python3 - "$TMP/io.berth.plist" "$exe" "$cfg" "$logs" <<'PY' 2>&1
import plistlib, sys
path, exe, cfg, logs = sys.argv[1:]
with open(path, "rb") as f:
    p = plistlib.load(f)
want = {
    "Label": "io.berth",
    "ProgramArguments": [exe, "serve", "--config", cfg],
    "RunAtLoad": True,
    "KeepAlive": {"SuccessfulExit": False},
    "StandardOutPath": logs + "/berth.log",
    "StandardErrorPath": logs + "/berth.log",
}
bad = [f"{k}: {p.get(k)!r}, want {v!r}" for k, v in want.items() if p.get(k) != v]
if not isinstance(p.get("EnvironmentVariables"), dict):
    bad.append("EnvironmentVariables is not a dict")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
) && ok || fail "plistlib: $out"

# a path XML cannot carry is refused, not written broken
if "$DUMP" plist io.berth "$(printf '/bin/\001x')" "$cfg" "$logs" >/dev/null 2>"$TMP/err"; then
  fail "a control character in a path was written"
else
  grep -q "control character" "$TMP/err" && ok || fail "no reason: $(cat "$TMP/err")"
fi
finish
