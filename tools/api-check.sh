#!/usr/bin/env bash
# api-check.sh - every route in daemon/routes.c's table is in docs/openapi.yaml
# with its method, and the description names no route the daemon lacks. Reads
# the description's layout as written there (paths at two spaces, methods at
# four), so a path indented wrongly, and so nested inside another, is found too.
# Run by tools/lint.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
routes=$(grep -o '{EVHTTP_REQ_[A-Z]*, "/v1/[^"]*"' daemon/routes.c |
	sed -E 's/\{EVHTTP_REQ_([A-Z]+), "([^"]*)"/\1 \2/' | tr 'A-Z' 'a-z' | sort)
described=$(awk '/^  \/v1\// {sub(":$", "", $1); path = $1; next}
	/^  [^ ]/ {path = ""}
	/^[^ ]/ {path = ""}
	path != "" && /^    (get|post|patch|put|delete):/ {m = $1; sub(":", "", m); print m, path}' \
	docs/openapi.yaml | sort)
missing=$(comm -23 <(echo "$routes") <(echo "$described"))
extra=$(comm -13 <(echo "$routes") <(echo "$described"))
[ -z "$missing" ] || sed 's/^/not in docs\/openapi.yaml: /' <<<"$missing"
[ -z "$extra" ] || sed 's/^/in docs\/openapi.yaml, not a route: /' <<<"$extra"
n=$(($(grep -c . <<<"$missing" || true) + $(grep -c . <<<"$extra" || true)))
echo "api-check: $(grep -c . <<<"$routes") routes, $n not matching the API description"
[ "$n" = 0 ]
