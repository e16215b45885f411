/*
 * rng.c - random bytes for rosterd without a system call each time.
 *
 * libsodium's default generator asks the kernel (getrandom) on every call, and a
 * create asks twice (the record's id on the main thread, the envelope's nonce on
 * the writer): on this kind of virtual machine a system call is a microsecond or
 * more, so those were some 4% of what a create costs the daemon (bench/README.md,
 * eleventh round). Installed as libsodium's implementation, this one draws from
 * the kernel in blocks of RNG_POOL bytes and hands them out in order: every byte
 * still comes from getrandom, each is handed out once and wiped as it is. The
 * pool of each thread is sodium_malloc'd (locked, guard pages), since the bytes
 * waiting in it become nonces, ids and keys, and is wiped and freed when the
 * thread ends. A child after fork() starts from a new pool, not a copy.
 *
 * The only state outside the server struct: libsodium calls the generator with
 * no context, so each thread's pool hangs off a thread-specific key.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#include <sodium.h>

#include "rosterd.h"
#include "roster/log.h"

#define RNG_POOL 4096

struct rng_pool {
	size_t off;   /* bytes handed out; RNG_POOL when empty */
	unsigned gen; /* the fork generation it was filled in */
	uint8_t bytes[RNG_POOL];
};

static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static volatile unsigned fork_gen; /* changed in a child only, before its threads */

static void pool_free(void *p)
{
	sodium_free(p); /* wipes before it unmaps */
}

static void after_fork_child(void)
{
	fork_gen++;
}

static void pool_setup(void)
{
	if (pthread_key_create(&pool_key, pool_free) != 0 ||
	    pthread_atfork(NULL, NULL, after_fork_child) != 0)
		fatalx("cannot set up the random pool");
}

/* Straight from the kernel, for what the pool cannot serve. */
static void kernel_fill(uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t got = getrandom(p, n, 0); /* may be short past 256 bytes */

		if (got < 0) {
			if (errno == EINTR)
				continue;
			fatal("getrandom");
		}
		p += got;
		n -= (size_t)got;
	}
}

static struct rng_pool *pool_get(void)
{
	struct rng_pool *pool = pthread_getspecific(pool_key);

	if (pool == NULL) {
		if ((pool = sodium_malloc(sizeof(*pool))) == NULL)
			fatal("sodium_malloc");
		pool->off = RNG_POOL;
		if (pthread_setspecific(pool_key, pool) != 0)
			fatalx("cannot keep the random pool");
	}
	if (pool->gen != fork_gen) {
		sodium_memzero(pool->bytes, sizeof(pool->bytes));
		pool->off = RNG_POOL;
		pool->gen = fork_gen;
	}
	return pool;
}

static void rng_buf(void *const out, const size_t n)
{
	struct rng_pool *pool;
	uint8_t *p = out;
	size_t left = n;

	if (n > RNG_POOL / 4) { /* large requests gain nothing from the pool */
		kernel_fill(p, n);
		return;
	}
	pool = pool_get(); /* a thread that only draws large requests needs none */
	while (left > 0) {
		size_t take;

		if (pool->off == RNG_POOL) {
			kernel_fill(pool->bytes, RNG_POOL);
			pool->off = 0;
		}
		take = RNG_POOL - pool->off < left ? RNG_POOL - pool->off : left;
		memcpy(p, pool->bytes + pool->off, take);
		sodium_memzero(pool->bytes + pool->off, take);
		pool->off += take;
		p += take;
		left -= take;
	}
}

static uint32_t rng_random(void)
{
	uint32_t r;

	rng_buf(&r, sizeof(r));
	return r;
}

/* Drops what this thread's pool holds: the next bytes come from a new draw. */
static void rng_stir(void)
{
	struct rng_pool *pool = pthread_getspecific(pool_key);

	if (pool != NULL) {
		sodium_memzero(pool->bytes, sizeof(pool->bytes));
		pool->off = RNG_POOL;
	}
}

static const char *rng_name(void)
{
	return "rosterd-pool";
}

static randombytes_implementation rng_impl = {
    .implementation_name = rng_name,
    .random = rng_random,
    .stir = rng_stir,
    .uniform = NULL, /* libsodium's own, over rng_random */
    .buf = rng_buf,
    .close = NULL,
};

/* After sodium_init: the pools are sodium_malloc'd, which needs it done. */
int rng_install(void)
{
	pthread_once(&pool_once, pool_setup);
	return randombytes_set_implementation(&rng_impl);
}
