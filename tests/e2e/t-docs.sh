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
