/*
 * loadgen.c - a load generator for rosterd (or any server of its API) over its
 * Unix socket: N keep-alive connections (libcurl's multi interface, one handle
 * per connection, each reusing its connection), each sending its next request as
 * soon as the last is answered, for a fixed time. Reports throughput and
 * p50/p99/p99.9 latency, as a text line and as JSON.
 *
 *   loadgen -s SOCKET [-c CONNS] [-t SECONDS] [-w WORKLOAD] [--json]
 *
 * Workloads: create (POST one constant person), create-varied (POST a different
 * person each time: unique national id and name, birth dates, employers,
 * segments and expertise spread, as a real registry's are), read (GET a person
 * picked at random from up to 20,000 the registry holds), custody (a document's
 * surrender and release, alternating, one document per connection), list (GET a
 * page of 20 from a random place), health (GET /v1/health, not audited), mix (40%
 * read, 30% create, 20% custody, 10% list).
 *
 * The two creates differ in what the blind indexes see: the constant person's
 * terms are the same few keys every time, while varied persons' name, national
 * id, birth date and employer tag to a random place in the index each.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

enum kind { K_CREATE, K_VARIED, K_READ, K_CUSTODY, K_LIST, K_HEALTH };

struct conn {
	CURL *curl;
	struct curl_slist *headers;
	char *body; /* response bytes, for setup calls */
	size_t len;
	char doc[64];  /* this connection's document, for custody */
	char req[512]; /* a varied person's body, alive until its reply */
	int doc_held;  /* 1: with the holder (next: surrender) */
	double started;
	enum kind kind;
};

struct run {
	const char *socket;
	char **persons;
	size_t npersons;
	double *lat;
	size_t nlat, cap;
	size_t errors;
	unsigned seed;
	unsigned long varied; /* varied persons made so far */
	unsigned mark;        /* in their national ids: unique across runs */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
	struct conn *c = arg;

	c->body = realloc(c->body, c->len + size * n + 1);
	memcpy(c->body + c->len, data, size * n);
	c->len += size * n;
	c->body[c->len] = '\0';
	return size * n;
}

static const char person_json[] =
    "{\"name\":\"Load Person\",\"birth_date\":\"1980-01-01\",\"nationality\":\"DE\","
    "\"employer\":\"Acme Magnets\",\"segment\":\"downstream\",\"expertise\":"
    "[\"magnet-alloys\"],\"research\":\"Sintered NdFeB, grain boundary diffusion.\"}";

/* A person no other request of any run has sent: letters for the name (names
 * take Latin script only), the run's mark and a count for the national id. */
static void varied_person(struct run *r, struct conn *c)
{
	static const char *const segments[] = {"upstream", "midstream", "downstream",
	                                       "cross-cutting"};
	static const char *const skills[] = {
	    "metallurgy",   "solvent-extraction", "magnet-alloys", "powder-metallurgy",
	    "motor-design", "process-control",    "magnetics-rnd", "ip-analysis"};
	unsigned long n = r->varied++, x = n * 2654435761UL + r->mark;
	char name[9];

	for (int i = 0; i < 8; i++, x /= 26)
		name[i] = (char)('a' + x % 26);
	name[8] = '\0';
	snprintf(c->req, sizeof(c->req),
	         "{\"name\":\"%c%s Varied\",\"birth_date\":\"%lu-%02lu-%02lu\","
	         "\"national_id\":\"V%XX%lu\",\"nationality\":\"DE\",\"employer\":"
	         "\"Employer %c%c\",\"segment\":\"%s\",\"expertise\":[\"%s\",\"%s\"],"
	         "\"research\":\"Sintered NdFeB, grain boundary diffusion.\"}",
	         'A' + (int)(n % 26), name + 1, 1950 + n % 50, 1 + n / 50 % 12, 1 + n / 600 % 28,
	         r->mark, n, 'a' + (int)(n % 20), 'a' + (int)(n / 20 % 20), segments[n % 4],
	         skills[n % 8], skills[(n + 1 + n / 8 % 7) % 8]);
}

static void prepare(struct run *r, struct conn *c, enum kind k)
{
	char url[256];

	c->kind = k;
	c->len = 0;
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	switch (k) {
	case K_CREATE:
		snprintf(url, sizeof(url), "http://r/v1/persons");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, person_json);
		break;
	case K_VARIED:
		snprintf(url, sizeof(url), "http://r/v1/persons");
		varied_person(r, c);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, c->req);
		break;
	case K_READ:
		snprintf(url, sizeof(url), "http://r/v1/persons/%s",
		         r->persons[rand_r(&r->seed) % r->npersons]);
		break;
	case K_CUSTODY:
		snprintf(url, sizeof(url), "http://r/v1/documents/%s/custody", c->doc);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS,
		                 c->doc_held ? "{\"event\":\"surrender\",\"to\":\"employer\"}"
		                             : "{\"event\":\"release\"}");
		break;
	case K_LIST:
		snprintf(url, sizeof(url), "http://r/v1/persons?limit=20&after=%s",
		         r->persons[rand_r(&r->seed) % r->npersons]);
		break;
	case K_HEALTH:
		snprintf(url, sizeof(url), "http://r/v1/health");
		break;
	}
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	c->started = now();
}

static struct conn *conn_new(struct run *r)
{
	struct conn *c = calloc(1, sizeof(*c));

	c->curl = curl_easy_init();
	c->headers = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(c->curl, CURLOPT_UNIX_SOCKET_PATH, r->socket);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_PRIVATE, c);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	c->doc_held = 1;
	return c;
}

/* One blocking call on a connection (setup only); returns the parsed reply. */
static json_t *call(struct run *r, struct conn *c, const char *path, const char *body)
{
	char url[256];
	long status = 0;

	c->len = 0;
	snprintf(url, sizeof(url), "http://r%s", path);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
	if (body == NULL)
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	if (curl_easy_perform(c->curl) != CURLE_OK ||
	    (curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status), status >= 300)) {
		fprintf(stderr, "loadgen: setup call %s failed (%ld): %s\n", path, status,
		        c->body ? c->body : "");
		exit(1);
	}
	(void)r;
	return json_loadb(c->body, c->len, 0, NULL);
}

/* Setup: the ids of up to max persons the registry already holds (audited list
 * pages of 500), then new ones until there are at least 200 to read. */
static void persons_gather(struct run *r, struct conn *c, size_t max)
{
	char path[128], after[64] = "";

	r->persons = calloc(max + 200, sizeof(char *));
	while (r->npersons < max) {
		json_t *page, *rec;
		size_t i;

		snprintf(path, sizeof(path), "/v1/persons?limit=500%s%s", after[0] ? "&after=" : "",
		         after);
		page = call(r, c, path, NULL);
		json_array_foreach(json_object_get(page, "items"), i, rec)
		{
			if (r->npersons < max)
				r->persons[r->npersons++] =
				    strdup(json_string_value(json_object_get(rec, "id")));
		}
		if (!json_is_string(json_object_get(page, "next"))) {
			json_decref(page);
			break;
		}
		snprintf(after, sizeof(after), "%s",
		         json_string_value(json_object_get(page, "next")));
		json_decref(page);
	}
	while (r->npersons < 200) {
		json_t *p = call(r, c, "/v1/persons", person_json);

		r->persons[r->npersons++] = strdup(json_string_value(json_object_get(p, "id")));
		json_decref(p);
	}
}

static enum kind pick(struct run *r, const char *workload)
{
	unsigned x = rand_r(&r->seed) % 100;

	if (strcmp(workload, "create") == 0)
		return K_CREATE;
	if (strcmp(workload, "create-varied") == 0)
		return K_VARIED;
	if (strcmp(workload, "read") == 0)
		return K_READ;
	if (strcmp(workload, "custody") == 0)
		return K_CUSTODY;
	if (strcmp(workload, "list") == 0)
		return K_LIST;
	if (strcmp(workload, "health") == 0)
		return K_HEALTH;
	return x < 40 ? K_READ : x < 70 ? K_CREATE : x < 90 ? K_CUSTODY : K_LIST;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	struct run r = {.seed = 42};
	const char *workload = "create";
	int conns = 64, seconds = 10, json = 0, ch, running, rc;
	struct conn **cs;
	CURLM *multi;
	double t0, elapsed;

	while ((ch = getopt_long(argc, argv, "s:c:t:w:", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			r.socket = optarg;
			break;
		case 'c':
			conns = (int)strtol(optarg, NULL, 10);
			break;
		case 't':
			seconds = (int)strtol(optarg, NULL, 10);
			break;
		case 'w':
			workload = optarg;
			break;
		case 'j':
			json = 1;
			break;
		default:
			fprintf(stderr,
			        "usage: loadgen -s SOCKET [-c CONNS] [-t SECONDS] [-w "
			        "create|create-varied|read|custody|list|health|mix] [--json]\n");
			return 64;
		}
	}
	if (r.socket == NULL || conns < 1 || seconds < 1)
		return 64;
	r.mark = (unsigned)getpid() ^ (unsigned)time(NULL) << 16; /* ids unique across runs */
	curl_global_init(CURL_GLOBAL_NOTHING);
	cs = calloc((size_t)conns, sizeof(*cs)); // NOLINT(bugprone-sizeof-expression): pointers
	for (int i = 0; i < conns; i++)
		cs[i] = conn_new(&r);

	/* Setup, not timed: persons to read, and one document per connection. */
	if (strcmp(workload, "health") != 0) {
		persons_gather(&r, cs[0], 20000);
		for (int i = 0; i < conns &&
		                (strcmp(workload, "custody") == 0 || strcmp(workload, "mix") == 0);
		     i++) {
			char body[256];
			json_t *d;

			snprintf(body, sizeof(body),
			         "{\"person\":\"%s\",\"type\":\"passport\",\"number\":\"LG%d%u\","
			         "\"country\":\"DE\",\"expires\":\"2031-01-01\"}",
			         r.persons[i % r.npersons], i, (unsigned)time(NULL));
			d = call(&r, cs[i], "/v1/documents", body);
			snprintf(cs[i]->doc, sizeof(cs[i]->doc), "%s",
			         json_string_value(json_object_get(d, "id")));
			json_decref(d);
		}
	}

	multi = curl_multi_init();
	r.cap = 1 << 20;
	r.lat = malloc(r.cap * sizeof(double));
	t0 = now();
	for (int i = 0; i < conns; i++) {
		prepare(&r, cs[i], pick(&r, workload));
		curl_multi_add_handle(multi, cs[i]->curl);
	}
	do {
		CURLMsg *m;
		int left;

		curl_multi_perform(multi, &running);
		while ((m = curl_multi_info_read(multi, &left)) != NULL) {
			struct conn *c;
			long status = 0;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
			curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			if (m->data.result != CURLE_OK || status >= 300)
				r.errors++;
			else if (c->kind == K_CUSTODY)
				c->doc_held = !c->doc_held;
			if (r.nlat == r.cap)
				r.lat = realloc(r.lat, (r.cap *= 2) * sizeof(double));
			r.lat[r.nlat++] = now() - c->started;
			curl_multi_remove_handle(multi, c->curl);
			if (now() - t0 < seconds) {
				prepare(&r, c,
				        c->kind == K_CUSTODY && strcmp(workload, "custody") == 0
				            ? K_CUSTODY
				            : pick(&r, workload));
				curl_multi_add_handle(multi, c->curl);
			}
		}
		if (running)
			curl_multi_poll(multi, NULL, 0, 100, NULL);
	} while (running || now() - t0 < seconds);
	elapsed = now() - t0;
	rc = r.errors ? 2 : 0;
	qsort(r.lat, r.nlat, sizeof(double), cmp);
	if (r.nlat == 0) {
		fprintf(stderr, "loadgen: no request completed\n");
		rc = 1;
	} else {
		double p50 = r.lat[r.nlat / 2] * 1e3, p99 = r.lat[r.nlat * 99 / 100] * 1e3,
		       p999 = r.lat[r.nlat * 999 / 1000] * 1e3, rate = (double)r.nlat / elapsed;

		if (json)
			printf("{\"workload\":\"%s\",\"connections\":%d,\"seconds\":%.1f,"
			       "\"requests\":%zu,\"errors\":%zu,\"rps\":%.0f,\"p50_ms\":%.3f,"
			       "\"p99_ms\":%.3f,\"p999_ms\":%.3f}\n",
			       workload, conns, elapsed, r.nlat, r.errors, rate, p50, p99, p999);
		else
			printf(
			    "%-8s c=%-3d %8.0f req/s  p50 %7.3f ms  p99 %7.3f ms  p99.9 %7.3f ms  "
			    "(%zu requests, %zu errors)\n",
			    workload, conns, rate, p50, p99, p999, r.nlat, r.errors);
	}
	for (int i = 0; i < conns; i++) {
		curl_multi_remove_handle(multi, cs[i]->curl);
		curl_easy_cleanup(cs[i]->curl);
		curl_slist_free_all(cs[i]->headers);
		free(cs[i]->body);
		free(cs[i]);
	}
	curl_multi_cleanup(multi);
	free(cs);
	free(r.lat);
	return rc;
}
