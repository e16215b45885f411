#!/usr/bin/env bash
# fuzz.sh [SECONDS] [HARNESS...] - builds the libFuzzer harnesses with clang (ASan
# and UBSan on) in build-fuzz/ and runs each for SECONDS (default 30), starting from
# its seed corpus in tests/fuzz/corpus/. New inputs go to build-fuzz/corpus/ (not the
# repo); a crash stops the run, leaves crash-* in build-fuzz/ and fails. Copy a crash
# into tests/fuzz/corpus/HARNESS/ once fixed: ctest replays it from then on.
# Prints one line per harness: executions, speed, coverage, corpus size.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(aquery body canon config envelope verify)
command -v clang >/dev/null || { echo "fuzz.sh: clang is needed (apt-get install clang)"; exit 1; }
CC=clang cmake -S . -B build-fuzz -DROSTER_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target $(printf 'fuzz-%s ' "${harnesses[@]}") >/dev/null
fail=0
for h in "${harnesses[@]}"; do
	out=build-fuzz/corpus/$h
	mkdir -p "$out"
	log=build-fuzz/fuzz-$h.log
	if ! (cd build-fuzz && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		"./tests/fuzz-$h" -max_total_time="$secs" -print_final_stats=1 -max_len=65536 \
		-timeout=10 -rss_limit_mb=2048 "corpus/$h" "../tests/fuzz/corpus/$h" >"fuzz-$h.log" 2>&1); then
		echo "fuzz-$h: FAILED (see $log and build-fuzz/crash-*)"
		tail -n 30 "$log"
		fail=1
		continue
	fi
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
	speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | grep -o '[0-9]*')
	printf 'fuzz-%-9s %ss  %12s runs  %8s/s  cov %6s  corpus %s\n' "$h" "$secs" "$runs" "$speed" \
		"${cov:-?}" "$(ls "$out" | wc -l)"
done
exit $fail
