/*
 * audit.h - audit entries: RFC 8785 canonical JSON, chained by the RFC 6962 leaf
 * hash of the previous entry. Shared by the daemon (which writes them) and the
 * client (which checks an export).
 */
#ifndef ROSTER_AUDIT_H
#define ROSTER_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "roster/err.h"

#define ROSTER_HASH_BYTES 32

/* SHA-256(0x00 || entry): the RFC 6962 leaf hash, also the next entry's `prev`. */
void roster_audit_leaf_hash(uint8_t out[ROSTER_HASH_BYTES], const uint8_t *entry, size_t len);

/* Checks one exported entry: canonical, its seq, and that prev equals the leaf hash
 * of the entry before it (prev_hash, all zeros for seq 0). On success fills
 * leaf with this entry's leaf hash. */
int roster_audit_check_entry(const char *entry, size_t len, uint64_t want_seq,
                             const uint8_t prev_hash[ROSTER_HASH_BYTES],
                             uint8_t leaf[ROSTER_HASH_BYTES], struct roster_err *err);

#endif
