/*
 * test.h - the unit tests' few helpers: CHECK counts instead of aborting, so one
 * run reports every failure, and test_done() prints "N passed, N failed".
 */
#ifndef ROSTER_TEST_H
#define ROSTER_TEST_H

#include <stdio.h>
#include <stdlib.h>

static int test_pass, test_fail;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (cond) {                                                                        \
			test_pass++;                                                               \
		} else {                                                                           \
			test_fail++;                                                               \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

static inline char *test_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static inline int test_done(void)
{
	printf("%d passed, %d failed\n", test_pass, test_fail);
	return test_fail ? 1 : 0;
}

#endif
