/*
 * vocab.c - the closed vocabularies of DOMAIN.md: ISO 3166-1 alpha-2 country
 * codes, supply-chain segments and expertise categories, and calendar dates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/record.h"

/* The 249 officially assigned ISO 3166-1 alpha-2 codes, in order. */
static const char iso_countries[] =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO "
    "BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ "
    "DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP "
    "GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG "
    "KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML "
    "MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE "
    "PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL "
    "SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM "
    "US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

int roster_valid_country(const char *s)
{
	if (strlen(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z')
		return 0;
	/* Codes are 2 letters and a space; the last has no space after it. */
	for (const char *p = iso_countries;; p += 3) {
		if (p[0] == s[0] && p[1] == s[1])
			return 1;
		if (p[2] == '\0')
			return 0;
	}
}

static const char *const segments[] = {"upstream", "midstream", "downstream", "cross-cutting"};

static const char *const expertise[] = {
    "geology-mineralogy", "mining-process",      "solvent-extraction", "radioactive-waste",
    "metallurgy",         "process-control",     "oxide-purification", "environmental-compliance",
    "magnet-alloys",      "powder-metallurgy",   "magnet-fabrication", "motor-design",
    "magnetics-rnd",      "technology-transfer", "industrial-liaison", "ip-analysis"};

static int in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

int roster_valid_segment(const char *s)
{
	return in_list(s, segments, sizeof(segments) / sizeof(segments[0]));
}

int roster_valid_expertise(const char *s)
{
	return in_list(s, expertise, sizeof(expertise) / sizeof(expertise[0]));
}

void roster_expertise_join(char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(expertise) / sizeof(expertise[0]); i++) {
		int n = snprintf(out + o, outlen - o, "%s%s", i ? ", " : "", expertise[i]);

		if (n < 0 || (size_t)n >= outlen - o)
			return;
		o += (size_t)n;
	}
}

int roster_valid_date(const char *s)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, m, d, leap;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return 0;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1800 || m < 1 || m > 12 || d < 1)
		return 0;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= mdays[m - 1] + (m == 2 && leap);
}
