/*
 * failsync.c - an LD_PRELOAD shim for tests: once the file named by
 * $FAILSYNC_TRIGGER exists, fsync, fdatasync and msync fail with EIO, as a dying
 * disk makes them, and so do writes to a file opened O_DSYNC or O_SYNC (each is a
 * write and a sync). rosterd must then never report a write as done. With
 * FAILSYNC_WRITES=no only the syncs fail: a disk whose flush of scattered pages
 * fails while small synchronous writes still go through (a checkpoint's sync of
 * data.mdb failing beside the writer, whose journal records are written).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static int failing(void)
{
	const char *trigger = getenv("FAILSYNC_TRIGGER");

	return trigger && access(trigger, F_OK) == 0;
}

int fsync(int fd)
{
	int (*real)(int);

	*(void **)&real = dlsym(RTLD_NEXT, "fsync"); /* POSIX's way to a function pointer */

	if (failing()) {
		errno = EIO;
		return -1;
	}
	return real(fd);
}

int fdatasync(int fd)
{
	int (*real)(int);

	*(void **)&real = dlsym(RTLD_NEXT, "fdatasync");

	if (failing()) {
		errno = EIO;
		return -1;
	}
	return real(fd);
}

int msync(void *addr, size_t len, int flags)
{
	int (*real)(void *, size_t, int);

	*(void **)&real = dlsym(RTLD_NEXT, "msync");

	if (failing()) {
		errno = EIO;
		return -1;
	}
	return real(addr, len, flags);
}

/* A synchronous write: fails like a sync. */
static int sync_write(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & (O_DSYNC | O_SYNC)) != 0;
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t (*real)(int, const void *, size_t, off_t);
	const char *writes = getenv("FAILSYNC_WRITES");

	*(void **)&real = dlsym(RTLD_NEXT, "pwrite");
	if (failing() && sync_write(fd) && !(writes && writes[0] == 'n')) {
		errno = EIO;
		return -1;
	}
	return real(fd, buf, len, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off);
}
