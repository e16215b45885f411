/*
 * written.c - the table behind written.h: open addressing with linear probing
 * over fixed slots, ids kept back to back in one growing buffer. Slots are
 * found by SipHash (libsodium's crypto_shorthash) under a key drawn per table:
 * the ids come from a log the auditor does not trust, and a known hash would
 * let a crafted log pile every id onto one probe chain.
 */
#include <string.h>

#include <sodium.h>

#include "roster/util.h"
#include "roster/written.h"

#define ID_MAX 255 /* ids are far shorter (ROSTER_ID_MAX); longer ones are cut */

struct slot {
	struct written_last last;
	uint64_t id_off; /* into ids; id_len 0 marks an empty slot */
	uint8_t id_len;
};

struct written {
	struct slot *slots;
	size_t cap, n; /* cap is a power of two, n at most 3/4 of it */
	char *ids;
	size_t ids_len, ids_cap;
	uint8_t key[crypto_shorthash_KEYBYTES];
};

struct written *roster_written_new(void)
{
	struct written *wt = roster_xcalloc(1, sizeof(*wt));

	wt->cap = 1024;
	wt->slots = roster_xcalloc(wt->cap, sizeof(*wt->slots));
	crypto_shorthash_keygen(wt->key);
	return wt;
}

void roster_written_free(struct written *wt)
{
	if (wt == NULL)
		return;
	free(wt->slots);
	free(wt->ids);
	free(wt);
}

size_t roster_written_count(const struct written *wt)
{
	return wt->n;
}

static size_t slot_of(const struct written *wt, const char *id, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const unsigned char *)id, len, wt->key);
	memcpy(&v, h, sizeof(v));
	return (size_t)v & (wt->cap - 1);
}

static int slot_is(const struct written *wt, const struct slot *s, const char *id, size_t len)
{
	return s->id_len == len && memcmp(wt->ids + s->id_off, id, len) == 0;
}

/* The slot holding id, or the empty one where it would go. */
static struct slot *probe(const struct written *wt, const char *id, size_t len)
{
	size_t i = slot_of(wt, id, len);

	while (wt->slots[i].id_len != 0 && !slot_is(wt, &wt->slots[i], id, len))
		i = (i + 1) & (wt->cap - 1);
	return &wt->slots[i];
}

static void grow(struct written *wt)
{
	struct slot *old = wt->slots;
	size_t oldcap = wt->cap;

	wt->cap *= 2;
	wt->slots = roster_xcalloc(wt->cap, sizeof(*wt->slots));
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].id_len != 0)
			*probe(wt, wt->ids + old[i].id_off, old[i].id_len) = old[i];
	free(old);
}

static uint64_t id_keep(struct written *wt, const char *id, size_t len)
{
	uint64_t off = wt->ids_len;

	if (wt->ids_len + len > wt->ids_cap) {
		wt->ids_cap = wt->ids_cap ? 2 * wt->ids_cap : 64 << 10;
		if (wt->ids_cap < wt->ids_len + len)
			wt->ids_cap = wt->ids_len + len;
		wt->ids = roster_xrealloc(wt->ids, wt->ids_cap);
	}
	memcpy(wt->ids + off, id, len);
	wt->ids_len += len;
	return off;
}

void roster_written_set(struct written *wt, const char *id, size_t idlen, const char *object,
                        uint64_t seq)
{
	struct slot *s;

	if (idlen == 0)
		return;
	if (idlen > ID_MAX)
		idlen = ID_MAX;
	if (4 * (wt->n + 1) > 3 * wt->cap)
		grow(wt);
	s = probe(wt, id, idlen);
	if (s->id_len == 0) {
		s->id_off = id_keep(wt, id, idlen);
		s->id_len = (uint8_t)idlen;
		s->last.first = seq;
		wt->n++;
	}
	s->last.seq = seq;
	s->last.valid = roster_hex_decode(s->last.object, sizeof(s->last.object), object) == 0;
}

struct written_last *roster_written_find(struct written *wt, const char *id, size_t idlen)
{
	struct slot *s;

	if (idlen == 0 || idlen > ID_MAX)
		return NULL;
	s = probe(wt, id, idlen);
	return s->id_len ? &s->last : NULL;
}

int roster_written_matches(const struct written_last *w, const char *object)
{
	uint8_t digest[32];

	return w && w->valid && object && roster_hex_decode(digest, sizeof(digest), object) == 0 &&
	       sodium_memcmp(digest, w->object, sizeof(digest)) == 0;
}

int roster_written_each(struct written *wt,
                        int (*fn)(void *arg, const char *id, size_t idlen, struct written_last *w),
                        void *arg)
{
	for (size_t i = 0; i < wt->cap; i++) {
		struct slot *s = &wt->slots[i];
		int rc;

		if (s->id_len != 0 && (rc = fn(arg, wt->ids + s->id_off, s->id_len, &s->last)) != 0)
			return rc;
	}
	return 0;
}
