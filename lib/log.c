/*
 * log.c - logging for rosterd and rosterctl. One line per event on stderr,
 * prefixed "<N>" with the syslog severity so journald files it correctly when
 * stderr is the journal; plain "progname: " otherwise. Personal data never
 * comes here: callers log ids, counts and error strings only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "roster/log.h"

/* Set once at start, before any thread exists; read-only afterwards. */
static const char *log_progname = "roster";
static int log_max = LOG_LEVEL_INFO;
static int log_journal;

void log_init(const char *progname, int level)
{
	log_progname = progname;
	log_max = level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

int log_level_parse(const char *name)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {{"error", LOG_LEVEL_ERR},
	              {"warning", LOG_LEVEL_WARN},
	              {"info", LOG_LEVEL_INFO},
	              {"debug", LOG_LEVEL_DEBUG}};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(name, levels[i].name) == 0)
			return levels[i].level;
	return -1;
}

__attribute__((format(printf, 3, 0))) static void log_emit(int level, int with_errno,
                                                           const char *fmt, va_list ap)
{
	char msg[1024];
	int saved = errno;

	if (level > log_max)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal)
		fprintf(stderr, "<%d>%s%s%s\n", level, msg, with_errno ? ": " : "",
		        with_errno ? strerror(saved) : "");
	else
		fprintf(stderr, "%s: %s%s%s\n", log_progname, msg, with_errno ? ": " : "",
		        with_errno ? strerror(saved) : "");
	errno = saved;
}

#define LOG_BODY(level, with_errno)                                                                \
	do {                                                                                       \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_emit(level, with_errno, fmt, ap);                                              \
		va_end(ap);                                                                        \
	} while (0)

void log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, 1);
}

void log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, 0);
}

void log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, 0);
}

void log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, 0);
}

void fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERR, 1);
	exit(70);
}

void fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERR, 0);
	exit(70);
}
