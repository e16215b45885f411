/*
 * docgen.c - rosterctl's manual page and bash completion, generated from the same
 * command table that `rosterctl --help` prints, so the three never disagree.
 * Run at build time: `rosterctl --man` and `rosterctl --completion`.
 */
#include <stdio.h>
#include <string.h>

#include "rosterctl.h"

/* roff needs its backslashes and leading dots/quotes escaped. */
static void roff(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

void docgen_man(FILE *f, const struct cmd_entry *const *table)
{
	const char *noun = "";

	fprintf(f, ".TH ROSTERCTL 1 \"\" \"roster %s\" \"roster manual\"\n", ROSTER_VERSION);
	fprintf(f, ".ad l\n.nh\n.SH NAME\nrosterctl \\- client of the roster registry daemon\n");
	fprintf(f, ".SH SYNOPSIS\n.B rosterctl\n[\\fB\\-s\\fR \\fISOCKET\\fR] [\\fB\\-\\-json\\fR] "
	           "\\fINOUN\\fR \\fIVERB\\fR [\\fIARGS\\fR]\n");
	fprintf(f,
	        ".SH DESCRIPTION\nrosterctl talks HTTP/1.1 and JSON to rosterd(8) over its Unix "
	        "socket (\\fB\\-s\\fR, or \\fB$ROSTER_SOCKET\\fR). The daemon knows the caller by "
	        "its uid and checks its roles. Record fields are flags: the field name with "
	        "\\- for _, such as \\fB\\-\\-birth\\-date\\fR. With \\fB\\-\\-json\\fR the "
	        "daemon's JSON goes to standard output, or its error object to standard "
	        "error. \\fBrosterctl help\\fR [\\fINOUN\\fR] lists the commands (of one "
	        "noun).\n");
	fprintf(f, ".SH COMMANDS\n");
	for (const struct cmd_entry *const *e = table; *e; e++) {
		if (strcmp((*e)->noun, noun) != 0) {
			noun = (*e)->noun;
			fprintf(f, ".SS %s\n", noun);
		}
		fprintf(f, ".TP\n.B %s%s%s ", (*e)->noun, (*e)->verb ? " " : "",
		        (*e)->verb ? (*e)->verb : "");
		roff(f, (*e)->usage);
		fputc('\n', f);
		roff(f, (*e)->help);
		fputc('\n', f);
	}
	fprintf(f, ".SH EXIT STATUS\n.TP\n0\nsuccess\n.TP\n1\nnot found (or, for audit verify, "
	           "the log does not verify)\n.TP\n64\nusage error\n.TP\n65\ninput rejected: "
	           "validation or conflict\n.TP\n69\nthe daemon is unreachable\n.TP\n70\ninternal "
	           "error (or the daemon stopped taking writes)\n.TP\n75\nretry later: the "
	           "registry's disk is full (retry once space is freed), or rosterd is over "
	           "a connection limit, busy or stopping (after trying again for about 3 s: such "
	           "a refusal comes before the request is handled); nothing was "
	           "stored\n.TP\n77\npermission "
	           "denied\n");
	fprintf(f, ".SH ENVIRONMENT\n.TP\nROSTER_SOCKET\nthe daemon's socket "
	           "(default /run/roster/rosterd.sock)\n");
	fprintf(f, ".SH SEE ALSO\nrosterd(8), rosterd.conf(5)\n");
}

void docgen_completion(FILE *f, const struct cmd_entry *const *table)
{
	fprintf(f, "# bash completion for rosterctl, generated from its command table\n"
	           "_rosterctl()\n{\n"
	           "\tlocal cur=${COMP_WORDS[COMP_CWORD]} noun= verb= i\n"
	           "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	           "\t\tcase ${COMP_WORDS[i]} in\n"
	           "\t\t-s | --socket) ((i++)) ;;\n"
	           "\t\t-*) ;;\n"
	           "\t\t*) if [ -z \"$noun\" ]; then noun=${COMP_WORDS[i]}; "
	           "elif [ -z \"$verb\" ]; then verb=${COMP_WORDS[i]}; fi ;;\n"
	           "\t\tesac\n\tdone\n");
	fprintf(f, "\tif [ -z \"$noun\" ]; then\n\t\tCOMPREPLY=($(compgen -W \"");
	for (const struct cmd_entry *const *e = table; *e; e++)
		if (e == table || strcmp(e[-1]->noun, (*e)->noun) != 0)
			fprintf(f, "%s ", (*e)->noun);
	fprintf(f, "--json --socket --help --version\" -- \"$cur\"))\n\t\treturn\n\tfi\n");
	fprintf(f, "\tcase $noun in\n");
	for (const struct cmd_entry *const *e = table; *e; e++) {
		if (e != table && strcmp(e[-1]->noun, (*e)->noun) == 0)
			continue;
		fprintf(f, "\t%s)\n\t\tif [ -z \"$verb\" ]; then\n\t\t\tCOMPREPLY=($(compgen -W \"",
		        (*e)->noun);
		for (const struct cmd_entry *const *v = e;
		     *v && strcmp((*v)->noun, (*e)->noun) == 0; v++)
			if ((*v)->verb)
				fprintf(f, "%s ", (*v)->verb);
		fprintf(
		    f,
		    "--help\" -- \"$cur\"))\n\t\t\t[ -n \"${COMPREPLY[*]}\" ] && return\n\t\tfi\n"
		    "\t\tcase $verb in\n");
		for (const struct cmd_entry *const *v = e;
		     *v && strcmp((*v)->noun, (*e)->noun) == 0; v++) {
			/* The flags a command takes are the --words of its usage line. */
			fprintf(f, "\t\t%s) COMPREPLY=($(compgen -W \"",
			        (*v)->verb ? (*v)->verb : "*");
			for (const char *p = strstr((*v)->usage, "--"); p;
			     p = strstr(p + 2, "--")) {
				size_t n = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz-");

				if (n)
					fprintf(f, "--%.*s ", (int)n, p + 2);
			}
			fprintf(f, "--help\" -- \"$cur\")) ;;\n");
		}
		fprintf(f, "\t\tesac ;;\n");
	}
	fprintf(f, "\tesac\n}\ncomplete -F _rosterctl rosterctl\n");
}
