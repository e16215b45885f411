/*
 * prime.c - keeps the stretch of data.mdb that LMDB writes next in the page cache
 * as single pages, ahead of LMDB.
 *
 * Linux caches a file in folios sized by the writes that brought its pages in
 * (ext4 does so since 6.16): LMDB writes a run of adjacent new pages with one
 * writev, so up to 64 of them land in one folio. Later commits reuse such pages
 * one at a time, and each 4 KiB write, each writeback (journal.c starts one after
 * every commit) and each cleaning of the folio's mapping walks all of its blocks.
 * Pages read ahead with POSIX_FADV_WILLNEED come in one page each, and LMDB's
 * writes then reuse those. The stretch is allocated first (read-ahead stops at
 * the file's end), which also takes the disk space before LMDB needs it.
 * Measured with `loadgen -w create-varied -c 64` under perf: the folio walks
 * (ext4_block_write_begin, mpage_process_page_bufs) fell from 21% of rosterd's
 * time to 3% (bench/README.md, sixth round).
 *
 * LMDB reads only its own pages, so the file's length beyond them changes nothing
 * for it, for a backup (mdb_env_copyfd2 copies pages in use) or for the journal
 * (it measures growth by LMDB's last page).
 */
#include <fcntl.h>

#include "rosterd.h"

#define PRIME_AHEAD ((off_t)8 << 20)
#define PRIME_STEP  ((off_t)1 << 20) /* what one commit's upkeep primes at most */
/* One read-ahead request: per POSIX_FADV_WILLNEED call the kernel reads no more
 * than the larger of the device's read-ahead window (read_ahead_kb, 128 KiB by
 * default) and its largest request; a longer range is primed only at its start. */
#define PRIME_CHUNK ((off_t)128 << 10)

/* Allocates [from, to) of data.mdb and brings it into the page cache a page per
 * folio. On a full disk or a filesystem without fallocate, LMDB writes as it
 * would without this. No glibc posix_fallocate: where the filesystem lacks
 * fallocate, that writes every block. */
static void prime_range(int fd, off_t from, off_t to)
{
	if (fallocate(fd, 0, from, to - from) != 0)
		return;
	for (off_t at = from; at < to; at += PRIME_CHUNK)
		posix_fadvise(fd, at, to - at < PRIME_CHUNK ? to - at : PRIME_CHUNK,
		              POSIX_FADV_WILLNEED);
}

static off_t used_bytes(struct store *st)
{
	MDB_envinfo info;
	MDB_stat ms;

	if (mdb_env_info(st->env, &info) != 0 || mdb_env_stat(st->env, &ms) != 0)
		return -1;
	return (off_t)(info.me_last_pgno + 1) * ms.ms_psize;
}

void store_prime(struct store *st)
{
	off_t used = used_bytes(st), from, to;
	int fd;

	if (used < 0 || mdb_env_get_fd(st->env, &fd) != 0 ||
	    st->primed >= used + PRIME_AHEAD - PRIME_STEP)
		return;
	from = st->primed > used ? st->primed : used;
	to = used + PRIME_AHEAD;
	/* A step at a time, since the read-ahead runs in the writer's path (1 MiB,
	 * 0.3 ms; on the main thread after a lone commit); a fast start fills the
	 * stretch over a few commits. */
	if (to - from > PRIME_STEP && st->primed > used)
		to = from + PRIME_STEP;
	/* A failed step is not retried: the next comes when LMDB has used another. */
	st->primed = to;
	prime_range(fd, from, to);
}
