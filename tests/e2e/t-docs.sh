# t-docs.sh - the manual pages render cleanly and agree with --help; the bash
# completion completes nouns, verbs and flags; `cmake --install` puts everything
# in place.
. "$(dirname "$0")/lib.sh"
command -v groff >/dev/null || { echo "SKIP: no groff"; exit 77; }
B=$(dirname "$ROSTERCTL")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
for page in "$B/rosterctl.1" "$SRC/docs/man/rosterd.8" "$SRC/docs/man/rosterd.conf.5"; do
	groff -man -ww -z "$page" 2>"$T/groff.err"
	check "$(basename "$page") renders without warnings ($(cat "$T/groff.err"))" test ! -s "$T/groff.err"
done
man_text=$(groff -man -Tascii -P-cbou "$B/rosterctl.1" 2>/dev/null | tr -s ' ')
"$ROSTERCTL" --help >"$T/help.txt"
while read -r noun verb _; do
	check "rosterctl(1) documents '$noun $verb'" grep -q "$noun $verb" <<<"$man_text"
done < <(grep -E '^  [a-z]' "$T/help.txt")
check "rosterctl(1) documents the exit codes" grep -q "permission denied" <<<"$man_text"
check "rosterctl(1) says 75 is retry later" grep -q "75 retry later" <<<"$man_text"
"$ROSTERCTL" help >"$T/help2.txt"
check "rosterctl help prints what --help prints" cmp -s "$T/help.txt" "$T/help2.txt"
"$ROSTERCTL" help doc >"$T/help-doc.txt"
check "rosterctl help doc lists the doc commands alone" \
	test "$(grep -cE '^  doc ' "$T/help-doc.txt")" -ge 3 -a "$(grep -cE '^  person ' "$T/help-doc.txt")" = 0
rc=0
"$ROSTERCTL" help nosuch 2>"$T/help.err" || rc=$?
check "rosterctl help of an unknown noun is a usage error ($rc)" test $rc = 64

complete_words() { # complete_words WORDS...: what bash completion offers after them
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _rosterctl; echo "${COMPREPLY[*]}"' \
		_ "$B/rosterctl.bash" "$@"
}
check "completion offers nouns" grep -q "person" <<<"$(complete_words rosterctl "")"
check "completion offers verbs" grep -q "import" <<<"$(complete_words rosterctl person "")"
check "completion offers a command's flags" grep -q -- "--birth-date" <<<"$(complete_words rosterctl person find --)"

cmake --install "$B" --prefix "$T/prefix" >/dev/null
for f in bin/rosterd bin/rosterctl share/man/man1/rosterctl.1 share/man/man8/rosterd.8 \
	share/man/man5/rosterd.conf.5 share/bash-completion/completions/rosterctl \
	lib/systemd/system/rosterd.service lib/systemd/system/rosterd.socket \
	lib/sysusers.d/roster.conf lib/tmpfiles.d/roster.conf; do
	check "cmake --install puts $f in place" test -e "$T/prefix/$f"
done
finish
