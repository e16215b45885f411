#!/usr/bin/env bash
# valgrind.sh [CTEST-REGEX] - the end-to-end tests with every serving rosterd under
# valgrind memcheck (definite leaks and every error fail the daemon with exit 99;
# tests that stop the daemon check its exit status). Slow: run by hand, not in CI
# (the sanitizer pass there covers the same ground faster). Reports go to
# build/valgrind/ (one file per daemon process). rosterd links jemalloc: memcheck
# is told to replace its malloc and free as it does glibc's.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind.sh: apt-get install valgrind"; exit 1; }
mkdir -p build/valgrind
rm -f build/valgrind/*.log
export ROSTERD_WRAP="valgrind --soname-synonyms=somalloc=*jemalloc* --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --log-file=$PWD/build/valgrind/%p.log"
ctest --test-dir build --output-on-failure -R "${1:-^e2e-}" -E "e2e-t-(deb|crash|failsync|tamper)" || true
# A daemon killed on purpose leaves no summary; every finished one must be clean.
bad=$(grep -l "ERROR SUMMARY: [1-9]" build/valgrind/*.log || true)
echo "valgrind: $(ls build/valgrind/*.log | wc -l) daemon runs, $(grep -l "ERROR SUMMARY: 0 errors" build/valgrind/*.log | wc -l) clean, the rest killed on purpose (no summary)"
[ -z "$bad" ] || { echo "valgrind found errors in:"; echo "$bad"; exit 1; }
