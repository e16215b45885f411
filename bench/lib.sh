# lib.sh - what the bench scripts that serve a registry built by rotate-bench
# share: its rosterd.conf, and waiting for rosterd to answer. Sourced.

# bench_conf DIR MAP_SIZE ROLE...: DIR/rosterd.conf for the registry in DIR (its
# socket DIR/sock), each ROLE granted to root; BENCH_SETTINGS (lines) added.
bench_conf() {
	local d=$1 map=$2 role
	shift 2
	{
		printf 'data_dir = %s\nsocket = %s/sock\nmaster_key = %s/master.key\n' "$d" "$d" "$d"
		printf 'origin = bench.example/roster\nmap_size = %s\nallow_root = yes\n' "$map"
		[ -z "${BENCH_SETTINGS:-}" ] || printf '%s\n' "$BENCH_SETTINGS"
		echo "[roles]"
		for role in "$@"; do echo "$role = uid:0"; done
	} >"$d/rosterd.conf"
}

# bench_wait DIR: until the rosterd on DIR/sock answers.
bench_wait() {
	until curl -sf --unix-socket "$1/sock" http://r/v1/health >/dev/null 2>&1; do sleep 0.05; done
}
