/*
 * failsync.c - an LD_PRELOAD shim for tests: once the file named by
 * $FAILSYNC_TRIGGER exists, fsync, fdatasync and msync fail with EIO, as a dying
 * disk makes them. rosterd must then never report a write as done.
 */
#include <dlfcn.h>
#include <errno.h>
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
