/*
 * test-rng.c - rosterd's pooled random bytes (daemon/rng.c) as libsodium hands
 * them out: installed by name; never the same bytes twice, within a thread,
 * across threads or across a fork (a child must not replay what its parent's
 * pool still held); requests of every size, across pool boundaries and larger
 * than a pool, filled entirely; stirring drops what the pool held.
 */
#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "rosterd.h"
#include "test.h"

#define DRAWS 2000
#define DRAW  24 /* an envelope's nonce */

static uint8_t drawn[3 * DRAWS][DRAW];

static void *draw_many(void *arg)
{
	uint8_t(*out)[DRAW] = arg;

	for (size_t i = 0; i < DRAWS; i++)
		randombytes_buf(out[i], DRAW);
	return NULL;
}

static int draw_cmp(const void *a, const void *b)
{
	return memcmp(a, b, DRAW);
}

/* Main thread and two others, 6,000 nonces: none repeats. */
static void check_threads(void)
{
	pthread_t t[2];
	size_t dups = 0;

	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, draw_many, drawn[(size_t)(i + 1) * DRAWS]);
	draw_many(drawn[0]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	qsort(drawn, 3 * DRAWS, DRAW, draw_cmp);
	for (size_t i = 1; i < 3 * DRAWS; i++)
		dups += memcmp(drawn[i - 1], drawn[i], DRAW) == 0;
	CHECK(dups == 0, "%zu repeated nonces among %d drawn by three threads", dups, 3 * DRAWS);
}

/* After fork the child's next bytes are not the parent's next bytes. */
static void check_fork(void)
{
	uint8_t mine[32], childs[32] = {0};
	int fds[2], status = 0;
	pid_t pid;

	randombytes_buf(mine, 1); /* the pool holds bytes when the fork comes */
	if (pipe(fds) != 0 || (pid = fork()) < 0) {
		CHECK(0, "cannot fork");
		return;
	}
	if (pid == 0) {
		randombytes_buf(childs, sizeof(childs));
		_exit(write(fds[1], childs, sizeof(childs)) == (ssize_t)sizeof(childs) ? 0 : 1);
	}
	randombytes_buf(mine, sizeof(mine));
	CHECK(read(fds[0], childs, sizeof(childs)) == (ssize_t)sizeof(childs),
	      "no bytes from child");
	waitpid(pid, &status, 0);
	CHECK(memcmp(mine, childs, sizeof(mine)) != 0, "the child drew the parent's bytes");
	close(fds[0]);
	close(fds[1]);
}

/* Every size up to past a pool fills every byte: no run of zeros left behind. */
static void check_sizes(void)
{
	static const size_t sizes[] = {1, 4, 16, 24, 32, 1000, 1023, 1024, 1025, 4095, 4096, 9000};
	static uint8_t buf[9000 + 64];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i], longest = 0;

		for (int round = 0; round < 5; round++) { /* crosses pool boundaries */
			size_t zero_run = 0;

			memset(buf, 0, sizeof(buf));
			randombytes_buf(buf, n);
			for (size_t j = 0; j < n; j++) {
				zero_run = buf[j] == 0 ? zero_run + 1 : 0;
				longest = zero_run > longest ? zero_run : longest;
			}
			CHECK(buf[n] == 0, "a draw of %zu bytes wrote past its end", n);
		}
		CHECK(longest < 8, "a draw of %zu bytes left %zu bytes unfilled", n, longest);
	}
}

int main(void)
{
	uint8_t a[32], b[32];
	uint32_t below;

	CHECK(sodium_init() >= 0 && rng_install() == 0, "cannot install");
	CHECK(strcmp(randombytes_implementation_name(), "rosterd-pool") == 0, "installed as %s",
	      randombytes_implementation_name());
	check_threads();
	check_fork();
	check_sizes();
	randombytes_buf(a, sizeof(a));
	randombytes_stir();
	randombytes_buf(b, sizeof(b));
	CHECK(memcmp(a, b, sizeof(a)) != 0, "the same bytes after a stir");
	below = randombytes_uniform(10);
	CHECK(below < 10, "randombytes_uniform(10) gave %u", below);
	return test_done();
}
