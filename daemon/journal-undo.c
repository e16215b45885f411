/*
 * journal-undo.c - `rosterd recover`: after a start refused to replay the
 * journal (a record that does not apply, "journal_damaged"), puts back the meta
 * pages data.mdb had when rosterd stopped (journal.undo, kept by that start
 * before it rewound them to the checkpoint) and sets the journal aside, so the
 * next start opens the state LMDB held at the stop, every acknowledged write
 * included. Only right after a crash of the process: after a power loss those
 * pages may name pages the disk never received (docs/operations.md).
 *
 * It changes nothing unless everything shows that the refused start left the
 * folder as it is: the journal's header valid and not clean, data.mdb the file
 * the journal was written for and still exactly at its checkpoint (no replay
 * went further), journal.undo two LMDB meta pages of that size. The order of
 * the changes keeps a crash of this command harmless: the pages are written and
 * synced before the journal is moved, so a start in between rewinds and
 * refuses again, as before, and a second recover finishes the first's work.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "journal.h"
#include "roster/log.h"

#define LMDB_META_MAGIC 0xBEEFC0DEu /* mm_magic, right after the 16-byte page header */

struct undo {
	char journal[PATH_MAX], undo[PATH_MAX], data[PATH_MAX], moved[PATH_MAX];
	int jfd, dfd;
	uint8_t *slot, *other, *pages, *have;
	uint32_t psize;
};

static int nothing(struct roster_err *err, const char *why)
{
	return roster_err_set(err, 0, "nothing_to_recover", "nothing to recover: %s", why);
}

/* The journal: locked (no rosterd serves), its newer header valid and not clean. */
static int undo_journal(struct undo *u, const char *dir, struct roster_err *err)
{
	uint64_t g0, g1;

	if ((u->jfd = open(u->journal, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? nothing(err, "the data folder has no journal")
		                       : journal_sys_err(err, "cannot open", u->journal);
	if (flock(u->jfd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK
		           ? roster_err_set(
		                 err, 0, "busy",
		                 "a rosterd is serving the registry in %s; stop it first", dir)
		           : journal_sys_err(err, "cannot lock", u->journal);
	g0 = journal_slot_read(u->jfd, 0, u->slot);
	g1 = journal_slot_read(u->jfd, 1, u->other);
	if (g1 > g0)
		memcpy(u->slot, u->other, JR_SLOT);
	if (g0 == 0 && g1 == 0)
		return roster_err_set(err, 0, "journal_damaged",
		                      "%s has no valid header: restore the last backup",
		                      u->journal);
	if (get32(u->slot + 36) == 1)
		return nothing(err, "the journal is marked clean (rosterd stopped cleanly, or "
		                    "its last start replayed the journal whole)");
	u->psize = get32(u->slot + 32);
	return 0;
}

/* journal.undo: two meta pages of the journal's page size, not the checkpoint's. */
static int undo_pages(struct undo *u, struct roster_err *err)
{
	size_t len = 2 * (size_t)u->psize;
	struct stat sb;
	uint32_t magic;
	int fd, rc = -1;

	if ((fd = open(u->undo, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT
		           ? nothing(err, "no journal.undo: no start was refused after an "
		                          "unclean stop (start rosterd; if it refuses, run this "
		                          "again)")
		           : journal_sys_err(err, "cannot open", u->undo);
	if (fstat(fd, &sb) < 0 || sb.st_size != (off_t)len ||
	    pread(fd, u->pages, len, 0) != (ssize_t)len) {
		roster_err_set(err, 0, "undo_damaged",
		               "%s does not hold two meta pages of %u bytes: restore the last "
		               "backup",
		               u->undo, u->psize);
		goto done;
	}
	for (size_t i = 0; i < 2; i++) {
		memcpy(&magic, u->pages + i * u->psize + 16, sizeof(magic));
		if (magic != LMDB_META_MAGIC) {
			roster_err_set(err, 0, "undo_damaged",
			               "%s: page %zu is not an LMDB meta page: restore the last "
			               "backup",
			               u->undo, i);
			goto done;
		}
	}
	if (memcmp(u->pages, u->slot + JR_FIXED, len) == 0) {
		nothing(err, "journal.undo holds the checkpoint's own pages");
		goto done;
	}
	rc = 0;
done:
	close(fd);
	return rc;
}

/* data.mdb: the journal's file, its meta pages still the checkpoint's. */
static int undo_data(struct undo *u, struct roster_err *err)
{
	size_t len = 2 * (size_t)u->psize;
	uint8_t root[JR_HASH];

	if ((u->dfd = open(u->data, O_RDWR | O_CLOEXEC)) < 0)
		return journal_sys_err(err, "cannot open", u->data);
	if (journal_root_hash(u->dfd, u->slot + JR_FIXED, u->psize, root) < 0 ||
	    sodium_memcmp(root, u->slot + JR_ROOT_AT, JR_HASH) != 0)
		return roster_err_set(err, 0, "journal_mismatch",
		                      "%s is not the data file %s was written for; nothing was "
		                      "changed: restore the last backup",
		                      u->data, u->journal);
	if (pread(u->dfd, u->have, len, 0) != (ssize_t)len)
		return journal_sys_err(err, "cannot read the meta pages of", u->data);
	/* Or already the pages to put back: a recover stopped before it moved the
	 * journal (the next start would rewind again, harmlessly). */
	if (memcmp(u->have, u->slot + JR_FIXED, len) != 0 && memcmp(u->have, u->pages, len) != 0)
		return roster_err_set(err, 0, "not_rewound",
		                      "%s is no longer at the journal's checkpoint (a start got "
		                      "further than rewinding it, or it was changed since); "
		                      "nothing was changed: restore the last backup",
		                      u->data);
	if (access(u->moved, F_OK) == 0)
		return roster_err_set(err, 0, "exists",
		                      "%s exists (from an earlier recovery?): move it out of the "
		                      "data folder first; nothing was changed",
		                      u->moved);
	return 0;
}

static int dir_sync(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* The pages first, synced; then the journal aside; then journal.undo gone. */
static int undo_apply(struct undo *u, const char *dir, struct roster_err *err)
{
	size_t len = 2 * (size_t)u->psize;

	if (pwrite(u->dfd, u->pages, len, 0) != (ssize_t)len || fdatasync(u->dfd) < 0)
		return journal_sys_err(err, "cannot write the meta pages into", u->data);
	if (rename(u->journal, u->moved) < 0 || dir_sync(dir) < 0)
		return journal_sys_err(err, "cannot move the journal to", u->moved);
	if (unlink(u->undo) < 0 || dir_sync(dir) < 0)
		log_warn("%s: the recovery is done, but it could not be removed", u->undo);
	return 0;
}

int journal_recover(const char *dir, struct roster_err *err)
{
	struct undo u = {.jfd = -1, .dfd = -1};
	int rc = -1;

	snprintf(u.journal, sizeof(u.journal), "%s/journal", dir);
	snprintf(u.undo, sizeof(u.undo), "%s/journal.undo", dir);
	snprintf(u.data, sizeof(u.data), "%s/data.mdb", dir);
	snprintf(u.moved, sizeof(u.moved), "%s/journal.refused", dir);
	u.slot = roster_xmalloc(JR_SLOT);
	u.other = roster_xmalloc(JR_SLOT);
	u.pages = roster_xmalloc(2 * (size_t)JR_PAGE_MAX);
	u.have = roster_xmalloc(2 * (size_t)JR_PAGE_MAX);
	if (undo_journal(&u, dir, err) == 0 && undo_pages(&u, err) == 0 &&
	    undo_data(&u, err) == 0 && undo_apply(&u, dir, err) == 0)
		rc = 0;
	if (u.dfd >= 0)
		close(u.dfd);
	if (u.jfd >= 0)
		close(u.jfd); /* the lock goes with it */
	free(u.slot);
	free(u.other);
	free(u.pages);
	free(u.have);
	return rc;
}
