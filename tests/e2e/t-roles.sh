# t-roles.sh - deny by default: every route refuses every role that lacks it,
# with 403 / exit 77, a clear message, and an audit entry for the refusal.
. "$(dirname "$0")/lib.sh"
new_registry
add_person
as $CLERK --json doc add --person "$PID" --type passport --number P1 --country DE --expires 2031-01-01
DID=$(field "$OUT" id)
as $CLERK --json travel request --person "$PID" --destinations FR --depart 2027-01-01 --return 2027-01-02 --purpose x
TID=$(field "$OUT" id)

# route: the roles that may call it (c clerk, p approver, a auditor).
routes=(
	"c|person add --name X --birth-date 1980-01-01 --nationality DE --employer E --segment upstream --expertise metallurgy"
	"cp|person get $PID"
	"cp|person list"
	"c|person update $PID --version 1 --site S"
	"c|doc add --person $PID --type passport --number P2 --country DE --expires 2031-01-01"
	"cp|doc get $DID"
	"cp|doc list --person $PID"
	"c|doc custody $DID surrender --to employer"
	"c|travel request --person $PID --destinations FR --depart 2027-01-01 --return 2027-01-02 --purpose x"
	"cp|travel get $TID"
	"cp|travel list --status pending"
	"p|travel deny $TID --reason no"
	"c|travel cancel $TID"
		"a|audit tail"
	"a|audit export"
	"a|audit checkpoint"
	"a|audit checkpoint --new"
	"a|audit pubkey"
	"a|audit prove 1"
	"a|audit consistency 1 2"
	"a|audit verify"
)
for route in "${routes[@]}"; do
	allowed=${route%%|*}
	args=${route#*|}
	for who in c:$CLERK2 p:$APPROVER a:$AUDITOR d:$ADMIN n:$NOBODY; do
		role=${who%%:*}
		uid=${who#*:}
		case $allowed in *$role*) continue ;; esac
		as "$uid" $args
		expect 77 "uid $uid ($role) refused: $args"
		check "refusal says which role is needed ($args)" contains "$ERR" "role needed"
		check "refusal reveals no personal data ($args)" test "$(contains "$OUT$ERR" "Müller" && echo y)" != y
	done
done

as $AUDITOR --json audit export
denied=$(grep -c '"outcome":"denied"' <<<"$OUT")
check "every refusal is in the audit log ($denied)" test "$denied" -ge 40
check "a refusal of a no-role account is audited" contains "$OUT" "\"uid\":$NOBODY"
check "audit entries carry no personal data" test "$(grep -c -e Müller -e 1979-04-13 -e T22000129 <<<"$OUT")" = 0

# health/status: any role; nobody without one.
as $ADMIN status
expect 0 "admin sees status"
check "status lists the caller's roles" contains "$OUT" "roles: admin"
as $NOBODY status
expect 77 "no role, no status"

# SIGHUP reloads the role table.
EXTRA_ROLES="" write_conf
sed -i "s/^auditor = uid:$AUDITOR\$/auditor = uid:$AUDITOR, uid:$NOBODY/" "$CONF"
kill -HUP "$DPID"
sleep 0.3
as $NOBODY audit tail --n 1
expect 0 "a role granted in the config works after SIGHUP"
finish
