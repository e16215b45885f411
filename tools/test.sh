#!/usr/bin/env bash
# test.sh - builds roster and runs the whole test suite (unit and end-to-end).
# Run as root (or via sudo): the end-to-end tests switch identities with setpriv.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
werror=OFF
[ "${CI:-}" = true ] && werror=ON
cmake -S . -B build -DROSTER_WERROR=$werror >/dev/null
cmake --build build -j"$(nproc)"
# The test identities run rosterctl from the build tree: let them reach it.
for d in "$PWD" "$PWD/build"; do
	p=$d
	while [ "$p" != / ]; do chmod o+x "$p" 2>/dev/null || true; p=$(dirname "$p"); done
done
# Tests run side by side, one per core: each has its own folder, daemon and socket,
# and most of their time is spent waiting on the disk (a run with -j1 took 6.2
# minutes, with -j2 on two cores 4.0).
ctest --test-dir build --output-on-failure -j"$(nproc)"
# In CI (or with SANITIZE=1) the whole suite runs again under AddressSanitizer and
# UndefinedBehaviorSanitizer: the package test once is enough, and so is t-reindex,
# whose dozen walks of 6,000 one-record commits took 4.4 minutes under the
# sanitizers on a slow disk (t-master.sh walks an index rotation under them).
if [ "${CI:-}" = true ] || [ "${SANITIZE:-}" = 1 ]; then
	cmake -S . -B build-asan -DROSTER_SANITIZE=ON -DROSTER_WERROR=$werror >/dev/null
	cmake --build build-asan -j"$(nproc)"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --test-dir build-asan --output-on-failure -j"$(nproc)" -E "e2e-t-deb|e2e-t-reindex"
fi
# In CI (or with TSAN=1) the tests of rosterd's threads under ThreadSanitizer.
if [ "${CI:-}" = true ] || [ "${TSAN:-}" = 1 ]; then
	tools/tsan.sh
fi
# In CI the static checks too (tools/lint.sh: cppcheck and clang-tidy, no finding allowed).
if [ "${CI:-}" = true ] || [ "${LINT:-}" = 1 ]; then
	tools/lint.sh
fi
# In CI each fuzz harness also runs briefly from its corpus (tools/fuzz.sh for
# longer runs); ctest above already replayed every corpus input.
if [ "${CI:-}" = true ] || [ "${FUZZ:-}" = 1 ]; then
	tools/fuzz.sh "${FUZZ_SECONDS:-20}"
fi
