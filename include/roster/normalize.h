/*
 * normalize.h - the forms values take before they are blind-indexed, so that
 * lookups match however a clerk typed them (docs/search.md).
 */
#ifndef ROSTER_NORMALIZE_H
#define ROSTER_NORMALIZE_H

/* Free text (names, employers): whitespace trimmed and collapsed to one space,
 * Unicode case-folded and NFC-normalised. malloc'd; NULL when nothing is left. */
char *roster_norm_text(const char *s);

/* Codes (national ids, document numbers): ASCII upper case, without spaces, '-',
 * '/' and '.'. malloc'd; NULL when nothing is left. */
char *roster_norm_code(const char *s);

#endif
