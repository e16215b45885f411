#!/usr/bin/env bash
# lint.sh - clang-format, cppcheck and clang-tidy over every C file, with the
# checked-in configuration (.clang-format, .clang-tidy; tools/lint/jansson.cfg
# tells cppcheck about jansson's macros), and tools/api-check.sh (every route in
# the API description). Any finding fails. CI runs it (tools/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
files=(lib/*.c daemon/*.c client/*.c tests/*.c tests/fuzz/*.c bench/*.c)
headers=(include/roster/*.h daemon/*.h client/*.h tests/fuzz/*.h)
n_fmt=0
for f in "${files[@]}" "${headers[@]}" tests/unit/*.c; do
	clang-format --dry-run -Werror "$f" 2>/dev/null || { echo "not formatted: $f (clang-format -i $f)"; n_fmt=$((n_fmt + 1)); }
done
out=$(cppcheck --enable=warning,style,performance,portability --std=c11 --quiet \
	--inline-suppr --error-exitcode=0 -I include -I daemon -I client \
	--suppress=missingIncludeSystem --suppress=variableScope \
	--library=tools/lint/jansson.cfg --template='{file}:{line}: {severity} {id}: {message}' \
	"${files[@]}" 2>&1 || true)
n_cpp=$(grep -c ': \(error\|warning\|style\|performance\|portability\) ' <<<"$out" || true)
[ "$n_cpp" = 0 ] || echo "$out"
cmake -S . -B build-lint -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
tidy=$(printf '%s\n' "${files[@]}" | xargs -P"$(nproc)" -n4 clang-tidy -p build-lint --quiet 2>/dev/null |
	grep -E '(warning|error):' || true)
n_tidy=$(grep -c . <<<"$tidy" || true)
[ "$n_tidy" = 0 ] || echo "$tidy"
api=0
bash tools/api-check.sh || api=1
echo "lint: clang-format $n_fmt files off, cppcheck $n_cpp findings, clang-tidy $n_tidy findings (${#files[@]} files)"
[ "$n_fmt" = 0 ] && [ "$n_cpp" = 0 ] && [ "$n_tidy" = 0 ] && [ "$api" = 0 ]
