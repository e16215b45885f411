# t-passphrase.sh - the master key derived from a passphrase with Argon2id (its
# salt and costs stored in the registry), a wrong passphrase refused, and a
# rotation to a new passphrase online.
. "$(dirname "$0")/lib.sh"
printf 'correct horse battery staple\n' >"$T/pass"
chmod 600 "$T/pass"
write_conf
sed -i "s|^master_key = .*|master_passphrase = $T/pass\nkdf = interactive|" "$CONF"
"$ROSTERD" init -c "$CONF" 2>>"$T/rosterd.log"
check "init with a passphrase" test $? = 0
check "no key file is written" test ! -e "$T/master.key"
start_daemon
add_person
expect 0 "the registry serves with a passphrase-derived key"
stop_daemon
check "the KDF salt is stored, the passphrase is not" test "$(grep -c -a "battery" "$T/data/data.mdb")" = 0

cp "$T/pass" "$T/pass.good"
printf 'wrong horse battery staple\n' >"$T/pass"
"$ROSTERD" -c "$CONF" 2>"$T/start.err"
check "a wrong passphrase is refused" grep -q "does not open this registry" "$T/start.err"
chmod 644 "$T/pass"
"$ROSTERD" -c "$CONF" 2>"$T/start.err"
check "a group-readable passphrase file is refused" grep -q "must not be readable" "$T/start.err"
cp "$T/pass.good" "$T/pass"
chmod 600 "$T/pass"
start_daemon

as $ADMIN key rotate master
expect 65 "rotating needs the new passphrase in pass.new"
check "and says where to put it" contains "$ERR" "pass.new"
printf 'a much longer and newer passphrase\n' >"$T/pass.new"
chmod 600 "$T/pass.new"
client_load 5
as $ADMIN key rotate master
expect 0 "rotate to the new passphrase"
wait $CLIENT
check "no client request failed during it" test ! -e "$T/out/client.err"
check "the new passphrase took the old one's place" grep -q "newer" "$T/pass"
as $ADMIN backup "$T/out/bk"
stop_daemon
cp "$T/pass.good" "$T/pass.old"
cp "$T/pass" "$T/pass.cur"
cp "$T/pass.old" "$T/pass"
"$ROSTERD" -c "$CONF" 2>"$T/start.err"
check "the old passphrase no longer opens the registry" grep -q "does not open this registry" "$T/start.err"
cp "$T/pass.cur" "$T/pass"
start_daemon
as $CLERK --json person get "$PID"
check "records read with the new passphrase" test "$(field "$OUT" name)" = "Ana Müller"
"$ROSTERD" verify-backup -c "$CONF" "$T/out/bk" >"$T/vb.out" 2>&1
check "verify-backup derives the key with the backup's own KDF parameters" test $? = 0
finish
