/*
 * fuzz-config.c - rosterd.conf as any bytes, through inih and our settings
 * parser (config.c). Promise: a config either loads with its required settings
 * or is refused with a message naming the file; nothing leaks either way.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../daemon/rosterd.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct roster_err err = {0};
	struct config cfg;
	char path[64];
	int fd = memfd_create("fuzz-config", MFD_CLOEXEC), rc;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rc = config_load(&cfg, path, &err);
	if (rc == 0)
		FUZZ_ASSERT(cfg.data_dir && cfg.socket && cfg.master_key && cfg.origin);
	else
		FUZZ_ASSERT(err.message[0] != '\0');
	config_free(&cfg);
	close(fd);
	return 0;
}
