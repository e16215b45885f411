/*
 * test-normalize.c - the blind indexes' text normalisation: its ASCII shortcut
 * gives what libunistring's case folding and NFC give, and Unicode input still
 * folds and composes.
 */
#include <string.h>

#include <unicase.h>
#include <uninorm.h>

#include "roster/normalize.h"
#include "test.h"

/* The reference, written apart from the code under test: the words (split on C
 * whitespace) joined by single spaces, then folded and composed by libunistring. */
static char *reference(const char *s)
{
	char *copy = strdup(s), *joined = calloc(1, strlen(s) + 1), *save = NULL, *word, *out;
	size_t len = 0;
	uint8_t *folded;

	for (word = strtok_r(copy, " \t\n\v\f\r", &save); word;
	     word = strtok_r(NULL, " \t\n\v\f\r", &save)) {
		if (*joined)
			strcat(joined, " ");
		strcat(joined, word);
	}
	free(copy);
	if (*joined == '\0') {
		free(joined);
		return NULL;
	}
	folded =
	    u8_casefold((const uint8_t *)joined, strlen(joined), NULL, UNINORM_NFC, NULL, &len);
	free(joined);
	out = malloc(len + 1);
	memcpy(out, folded, len);
	out[len] = '\0';
	free(folded);
	return out;
}

static void same(const char *in)
{
	char *got = roster_norm_text(in), *want = reference(in);

	CHECK((got == NULL && want == NULL) || (got && want && strcmp(got, want) == 0),
	      "'%s': got '%s', want '%s'", in, got ? got : "(null)", want ? want : "(null)");
	free(got);
	free(want);
}

int main(void)
{
	char s[8];

	/* Every ASCII character alone and between letters. */
	for (int c = 1; c < 0x80; c++) {
		snprintf(s, sizeof(s), "%c", c);
		same(s);
		snprintf(s, sizeof(s), "Ab%cZy", c);
		same(s);
	}
	same("  Ana   MÜLLER-Lüdenscheidt  ");
	same("ANA\tmuller\n");
	same("Mu\xcc\x88ller"); /* u + combining diaeresis composes to ü */
	same("STRASSE Stra\xc3\x9f"
	     "e"); /* ß folds to ss */
	same("\xce\x9f\xce\x94\xce\xa5\xce\xa3\xce\xa3\xce\x95\xce\xa5\xce\xa3"); /* Greek capitals
	                                                                           */
	same("   ");
	{
		char *a = roster_norm_text("mu\xcc\x88ller"),
		     *b = roster_norm_text("M\xc3\x9cLLER");

		CHECK(a && b && strcmp(a, b) == 0, "decomposed and capital forms index alike");
		free(a);
		free(b);
	}
	return test_done();
}
