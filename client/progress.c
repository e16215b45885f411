/*
 * progress.c - progress bars for long operations. They are drawn on stderr,
 * only when it is a terminal (and not with --json), so scripts and pipes see
 * nothing; the daemon reports how far its background jobs have come at
 * GET /v1/progress, which the waiting commands poll.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rosterctl.h"

int progress_wanted(const struct ctl *ctl)
{
	return !ctl->json && isatty(2);
}

void progress_draw(const char *label, uint64_t done, uint64_t total, const char *what)
{
	int width = 30, filled, pct;

	if (total == 0) /* nothing to count: the job is done */
		done = total = 1;
	if (done > total)
		done = total;
	filled = (int)(done * (uint64_t)width / total);
	pct = (int)(done * 100 / total);
	fprintf(stderr, "\r%-12s [%.*s%*s] %3d%% %s", label, filled,
	        "##############################", width - filled, "", pct, what);
	fflush(stderr);
}

void progress_done(void)
{
	fputc('\n', stderr);
}

json_t *progress_fetch(const struct ctl *ctl)
{
	struct ctl quiet = *ctl; /* no nested watching while asking */
	struct response r;
	json_t *out = NULL;

	quiet.watch = NULL;
	quiet.progress = 0;
	if (http_request(&quiet, "GET", "/v1/progress", NULL, &r) == 0 && r.status == 200 && r.json)
		out = json_incref(r.json);
	response_free(&r);
	return out;
}

void progress_sleep(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}
