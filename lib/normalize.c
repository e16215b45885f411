/*
 * normalize.c - normalisation for blind indexes, with GNU libunistring for the
 * Unicode parts (case folding and NFC), so "MÜLLER", "müller" and "mu\u0308ller"
 * index alike.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <uninorm.h>

#include "roster/normalize.h"
#include "roster/util.h"

/* Lowers s in place if it is all ASCII; 0 (s untouched) if it is not. */
static int ascii_lower(char *s)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p >= 0x80)
			return 0;
	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return 1;
}

char *roster_norm_text(const char *s)
{
	size_t n = strlen(s), o = 0, outlen = 0;
	char *collapsed = roster_xmalloc(n + 1), *out;
	uint8_t *folded;
	int space = 0;

	for (const char *p = s; *p; p++) {
		if (isspace((unsigned char)*p)) {
			space = o > 0;
			continue;
		}
		if (space)
			collapsed[o++] = ' ';
		space = 0;
		collapsed[o++] = *p;
	}
	collapsed[o] = '\0';
	if (o == 0) {
		free(collapsed);
		return NULL;
	}
	/* ASCII folds to ASCII lower case and is its own NFC: no need for libunistring,
	 * which took a sixth of a create's work on the main thread (test-normalize.c
	 * checks both ways agree). */
	if (ascii_lower(collapsed))
		return collapsed;
	folded = u8_casefold((const uint8_t *)collapsed, o, NULL, UNINORM_NFC, NULL, &outlen);
	free(collapsed);
	if (folded == NULL)
		return NULL;
	out = roster_xmalloc(outlen + 1);
	memcpy(out, folded, outlen);
	out[outlen] = '\0';
	free(folded);
	return out;
}

char *roster_norm_code(const char *s)
{
	char *out = roster_xmalloc(strlen(s) + 1);
	size_t o = 0;

	for (const char *p = s; *p; p++)
		if (!isspace((unsigned char)*p) && *p != '-' && *p != '/' && *p != '.')
			out[o++] = (char)toupper((unsigned char)*p);
	out[o] = '\0';
	if (o == 0) {
		free(out);
		return NULL;
	}
	return out;
}
