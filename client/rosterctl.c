/*
 * rosterctl.c - the client's entry point: global options, then NOUN VERB.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "rosterctl.h"

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"socket", required_argument, NULL, 's'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {"version", no_argument, NULL, 'V'},
	                                     {"man", no_argument, NULL, 'M'},
	                                     {"completion", no_argument, NULL, 'C'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	struct ctl ctl = {.socket = getenv("ROSTER_SOCKET")};
	int ch, rc, n = 0;

	/* "+": stop at the noun, so command flags are left for the command. */
	while ((ch = getopt_long(argc, argv, "+s:jVh", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			ctl.socket = optarg;
			break;
		case 'j':
			ctl.json = 1;
			break;
		case 'M': /* for the build: the manual page */
			docgen_man(stdout, cmd_table);
			return EXIT_OK;
		case 'C': /* for the build: bash completion */
			docgen_completion(stdout, cmd_table);
			return EXIT_OK;
		case 'V':
			printf("rosterctl %s\n", ROSTER_VERSION);
			return EXIT_OK;
		case 'h':
			cmd_usage(stdout, NULL);
			return EXIT_OK;
		default:
			cmd_usage(stderr, NULL);
			return EXIT_USAGE;
		}
	}
	/* --json is also accepted after the command, where scripts often put it. */
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			ctl.json = 1;
		else
			argv[optind + n++] = argv[i];
	}
	if (ctl.socket == NULL || ctl.socket[0] == '\0')
		ctl.socket = "/run/roster/rosterd.sock";
	/* audit verify hashes and checks signatures with libsodium, which asks this first. */
	if (sodium_init() < 0) {
		fprintf(stderr, "rosterctl: libsodium failed to initialise\n");
		return EXIT_INTERNAL;
	}
	curl_global_init(CURL_GLOBAL_NOTHING);
	rc = cmd_run(&ctl, n, argv + optind);
	curl_global_cleanup();
	return rc;
}
