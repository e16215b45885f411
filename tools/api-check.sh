#!/usr/bin/env bash
# api-check.sh - every route in daemon/routes.c's table is in docs/openapi.yaml
# with its method and its query parameters, and the description names no route
# the daemon lacks. Reads
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
# Each route's query parameters (routes.c's last column) are those the
# description lists for it, by name or by a $ref to components/parameters.
params=$(python3 - <<'PY'
import re
doc, path, method, listed = open("docs/openapi.yaml").read().split("\n"), None, None, {}
for line in doc:
    m = re.match(r"^  (/v1/\S+):\s*$", line)
    if m:
        path, method = m.group(1), None
        continue
    if re.match(r"^\S|^  \S", line):
        path = None
        continue
    m = re.match(r"^    (get|post|patch|put|delete):", line)
    if path and m:
        method = m.group(1)
        listed[(method, path)] = set()
    if path and method:
        listed[(method, path)] |= set(re.findall(r"\{name: (\w+), in: query", line))
        listed[(method, path)] |= set(p for p in re.findall(r"#/components/parameters/(\w+)", line)
                                      if p != "id")
src = open("daemon/routes.c").read()
table = src[src.index("routes[] = {"):]
table = table[:table.index("};")]
for m in re.finditer(r"\{EVHTTP_REQ_(\w+), \"([^\"]+)\",[^{}]*?\}", table, re.S):
    words = re.findall(r"\"([^\"]*)\"", m.group(0))
    code = set(words[2].split()) if len(words) > 2 else set()
    key = (m.group(1).lower(), m.group(2))
    if key in listed and code != listed[key]:
        print("%s %s takes %s; docs/openapi.yaml lists %s" % (key[0], key[1],
              " ".join(sorted(code)) or "none", " ".join(sorted(listed[key])) or "none"))
PY
)
[ -z "$params" ] || printf 'query parameters: %s\n' "$params"
n=$((n + $(grep -c . <<<"$params" || true)))
echo "api-check: $(grep -c . <<<"$routes") routes, $n not matching the API description"
[ "$n" = 0 ]
