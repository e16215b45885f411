#!/usr/bin/env bash
# tsan.sh - runs the tests that exercise rosterd's threads (the writer, the audit
# reader, checkpoints beside the writer, backups, key rotations, lone commits on
# the main thread between the writer's merges) and the
# verifier's (audit verify parses on several) under ThreadSanitizer, and fails
# on any report. ALL=1 runs the whole suite (about 6 minutes on two cores;
# t-hostile's memory bound does not hold under TSan's shadow memory, and the
# package test adds nothing).
# Run as root, after tools/deps.sh (tools/test.sh calls it in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
werror=OFF
[ "${CI:-}" = true ] && werror=ON
cmake -S . -B build-tsan -DROSTER_TSAN=ON -DROSTER_WERROR=$werror >/dev/null
cmake --build build-tsan -j"$(nproc)"
logs=$(mktemp -d /tmp/roster-tsan.XXXXXX)
trap 'rm -rf "$logs"' EXIT
tests="e2e-t-auditfilter|e2e-t-auditfind|e2e-t-auditspan|e2e-t-rotate|e2e-t-checkpoint|e2e-t-admin|e2e-t-journal|e2e-t-failsync|e2e-t-idxlog|unit-journal|unit-audit"
[ "${ALL:-}" = 1 ] && tests=.
rc=0
TSAN_OPTIONS="log_path=$logs/tsan second_deadlock_stack=1" \
	ctest --test-dir build-tsan --output-on-failure -j"$(nproc)" -R "$tests" \
	-E "e2e-t-deb|e2e-t-hostile" || rc=$?
if compgen -G "$logs/tsan.*" >/dev/null; then
	cat "$logs"/tsan.*
	echo "tsan: ThreadSanitizer reported the above" >&2
	exit 1
fi
exit $rc
