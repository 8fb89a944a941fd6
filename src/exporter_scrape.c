/*
 * The exporter's scrapes and single flight (exporter_scrape.h).
 *
 * A scrape is suspended (MHD_suspend_connection) and put on the waiting
 * list; the audit thread takes an audit, then answers every scrape on
 * the list at that moment with it, those that came during the audit
 * too (single flight: ten Prometheus servers cost one audit).  At most
 * --max-requests scrapes wait at once, more get 503 at once; a scrape
 * still waiting when its X-Prometheus-Scrape-Timeout-Seconds is almost
 * spent gets 503 (scrapes_sweep_late).  The answer is rendered once,
 * and compressed once when a scrape asked for gzip.
 */
#include "exporter_scrape.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <zlib.h>

#include "diag.h"
#include "exporter_http.h"
#include "netns.h"
#include "render.h"
#include "report.h"
#include "snapshot.h"

/* One audit's answer, shared by the scrapes that waited for it. */
struct result {
	atomic_uint refs;
	unsigned status;
	struct MHD_Response *plain, *gzip; /* gzip: NULL when none asked */
	const char *body; /* plain's, alive as long as plain */
	size_t len;
};

static const char *const canned_text[CANNED_COUNT] = {
	[CANNED_BUSY] = "too many scrapes at once (--max-requests); try again\n",
	[CANNED_STOPPING] = "the exporter is stopping\n",
	[CANNED_LATE] = "the audit did not finish within the scrape timeout\n",
};

/* The exporter's own counters, after the audit's exposition. */
static void render_counters(FILE *f, struct scrapes *sc)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} counters[] = {
		{ "sockaudit_exporter_scrapes_shared_total",
		  "Scrapes answered with an audit taken for another scrape (single flight).",
		  offsetof(struct scrapes, shared) },
		{ "sockaudit_exporter_scrapes_rejected_total",
		  "Scrapes answered 503 at once: --max-requests were waiting already.",
		  offsetof(struct scrapes, rejected) },
		{ "sockaudit_exporter_scrapes_late_total",
		  "Scrapes answered 503 when their X-Prometheus-Scrape-Timeout-Seconds ran out.",
		  offsetof(struct scrapes, late) },
		{ "sockaudit_exporter_connections_refused_total",
		  "Connections refused: at the connection limit, out of descriptors or memory.",
		  offsetof(struct scrapes, refused) },
		{ "sockaudit_exporter_connections_evicted_total",
		  "Idle or slow connections closed to free slots, the busiest client's first.",
		  offsetof(struct scrapes, evicted) },
		{ "sockaudit_exporter_auth_throttled_total",
		  "Requests answered 429: their client had too many new passwords checked.",
		  offsetof(struct scrapes, throttled) },
	};

	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		atomic_ullong *v = (atomic_ullong *)(void *)((char *)sc + counters[i].off);

		fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", counters[i].name,
			counters[i].help, counters[i].name, counters[i].name,
			(unsigned long long)atomic_load(v));
	}
}

/* The exposition of one snapshot in a malloc'd buffer.  Returns 0 or
 * -errno (nothing to free then). */
static int render_buffer(struct scrapes *sc, const struct snapshot *s,
			 char **body, size_t *len)
{
	struct render_opts ro;
	FILE *f;
	int rc;

	report_render_opts(sc->o, s, NULL, &ro);
	*body = NULL;
	*len = 0;
	f = open_memstream(body, len);
	if (!f)
		return -errno;
	rc = render_prom(f, &s->t, &s->a, &ro);
	if (!rc)
		render_counters(f, sc);
	if (fclose(f) && !rc)
		rc = -(errno ? errno : EIO);
	if (rc) {
		free(*body);
		*body = NULL;
	}
	return rc;
}

/* `in` compressed with gzip into a malloc'd buffer.  Returns 0 or
 * -ENOMEM / -EIO. */
static int gzip_buffer(const char *in, size_t len, char **out, size_t *outlen)
{
	z_stream z = { 0 };
	uLong cap;
	int rc;

	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&z, (uLong)len) + 32;
	*out = malloc(cap);
	if (!*out) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	/* zlib's next_in is not const; deflate does not write it. */
	z.next_in = (Bytef *)(void *)(char *)(const void *)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)*out;
	z.avail_out = (uInt)cap;
	rc = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(*out);
		*out = NULL;
		return -EIO;
	}
	return 0;
}

static void result_put(struct result *r)
{
	if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	if (r->plain)
		MHD_destroy_response(r->plain);
	if (r->gzip)
		MHD_destroy_response(r->gzip);
	free(r);
}

/*
 * One audit, rendered: a result with one reference, status 200 with the
 * exposition, or 503 (the audit failed: snapshot_take has said why) or
 * 500 (the report could not be made).  NULL when out of memory.
 */
static struct result *take_audit(struct scrapes *sc)
{
	struct result *r = calloc(1, sizeof(*r));
	const char *why = NULL;
	struct snapshot s;
	char *body = NULL;
	size_t len = 0;
	int status, rc = 0;

	if (!r)
		return NULL;
	atomic_init(&r->refs, 1);
	status = snapshot_take(&s, sc->o);
	if (!status) {
		rc = render_buffer(sc, &s, &body, &len);
		snapshot_free(&s);
	} else if (netns_lost()) {
		/* No scrape may be audited from this thread's namespace:
		 * stop, with status 3. */
		atomic_store(&sc->stopping, true);
		if (!atomic_exchange(&sc->fatal, true)) {
			diag_warn("--listen: a network namespace could not be left; stopping");
			kill(getpid(), SIGTERM);
		}
	}
	/* What the audit took goes back to the system now, not at the
	 * next audit: the exporter idles most of its life. */
	malloc_trim(0);
	if (status) {
		r->status = MHD_HTTP_SERVICE_UNAVAILABLE;
		why = "the audit failed; see the exporter's log\n";
	} else if (rc) {
		r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		diag_warn("http: the report could not be made: %s", strerror(-rc));
		why = "the report could not be made; see the exporter's log\n";
	} else {
		r->status = MHD_HTTP_OK;
		r->body = body;
		r->len = len;
		r->plain = exporter_response(r->status, exporter_metrics_type, NULL, body, len, true);
	}
	if (why)
		r->plain = exporter_response(r->status, exporter_text_type, NULL, (char *)why,
					 strlen(why), false);
	if (!r->plain) {
		free(r);
		return NULL;
	}
	return r;
}

/* The gzip twin of a 200 result, when a scrape asked for it (else the
 * plain one is served). */
static void add_gzip(struct result *r)
{
	char *gz;
	size_t gzlen;

	if (r->status != MHD_HTTP_OK || r->gzip)
		return;
	if (gzip_buffer(r->body, r->len, &gz, &gzlen))
		return;
	r->gzip = exporter_response(r->status, exporter_metrics_type, "gzip", gz, gzlen, true);
}

/* ---- the waiting list (sc->lock held) ---- */

static void list_add(struct scrapes *sc, struct scrape *s)
{
	s->next = NULL;
	s->prev = sc->last;
	if (sc->last)
		sc->last->next = s;
	else
		sc->first = s;
	sc->last = s;
	sc->waiting++;
}

static void list_del(struct scrapes *sc, struct scrape *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		sc->first = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		sc->last = s->prev;
	s->prev = s->next = NULL;
	sc->waiting--;
}

static void wake_loop(struct scrapes *sc)
{
	uint64_t one = 1;

	(void)!write(sc->wakefd, &one, sizeof(one));
}

/*
 * Give each scrape of a detached chain (linked by next) its answer and
 * hand the chain to the loop thread, which resumes the connections: it
 * alone may, since only there has the handler that suspended one
 * surely returned.  Returns how many.
 */
static unsigned resume_chain(struct scrapes *sc, struct scrape *s, struct result *res,
			     struct MHD_Response *canned, unsigned status)
{
	struct scrape *last = NULL, *first = s;
	unsigned n = 0;

	for (; s; s = s->next) {

		if (res) {
			atomic_fetch_add(&res->refs, 1);
			s->res = res;
			s->resp = s->gzip && res->gzip ? res->gzip : res->plain;
			s->status = res->status;
		} else {
			s->resp = canned;
			s->status = status;
		}
		s->resumed = true;
		last = s;
		n++;
	}
	if (!first)
		return 0;
	pthread_mutex_lock(&sc->lock);
	last->next = sc->answered;
	sc->answered = first;
	pthread_mutex_unlock(&sc->lock);
	wake_loop(sc);
	return n;
}

/* Whether a scrape on the chain asked for gzip. */
static bool chain_wants_gzip(const struct scrape *s)
{
	for (; s; s = s->next)
		if (s->gzip)
			return true;
	return false;
}

/*
 * The audit thread: while scrapes wait, take an audit and answer every
 * scrape waiting when it is done, those that came during it too.  At a
 * stop, scrapes waiting before an audit began get 503; it returns when
 * stopping and none waits.
 */
void *scrapes_audit_thread(void *arg)
{
	struct scrapes *sc = arg;

	pthread_mutex_lock(&sc->lock);
	for (;;) {
		struct scrape *chain;
		struct result *res;
		unsigned n;

		while (!sc->first && !atomic_load(&sc->stopping))
			pthread_cond_wait(&sc->wake, &sc->lock);
		if (!sc->first)
			break;
		if (atomic_load(&sc->stopping)) {
			chain = sc->first;
			sc->first = sc->last = NULL;
			sc->waiting = 0;
			pthread_mutex_unlock(&sc->lock);
			resume_chain(sc, chain, NULL, sc->canned[CANNED_STOPPING],
				     MHD_HTTP_SERVICE_UNAVAILABLE);
			pthread_mutex_lock(&sc->lock);
			continue;
		}
		pthread_mutex_unlock(&sc->lock);
		res = take_audit(sc);
		pthread_mutex_lock(&sc->lock);
		chain = sc->first;
		sc->first = sc->last = NULL;
		sc->waiting = 0;
		pthread_mutex_unlock(&sc->lock);
		if (res && chain_wants_gzip(chain))
			add_gzip(res);
		/* Out of memory: the fixed 503 answers them. */
		n = resume_chain(sc, chain, res, sc->canned[CANNED_BUSY],
				 MHD_HTTP_SERVICE_UNAVAILABLE);
		if (res && n > 1)
			atomic_fetch_add(&sc->shared, n - 1);
		result_put(res);
		pthread_mutex_lock(&sc->lock);
	}
	sc->audits_done = true;
	pthread_mutex_unlock(&sc->lock);
	wake_loop(sc);
	return NULL;
}

/* Scrapes whose deadline has come get 503 (the main thread, every
 * tick). */
void scrapes_sweep_late(struct scrapes *sc)
{
	struct scrape *late = NULL, *s, *next;
	long long now = exporter_now_ms();
	unsigned n;

	pthread_mutex_lock(&sc->lock);
	for (s = sc->first; s; s = next) {
		next = s->next;
		if (s->deadline_ms && now >= s->deadline_ms) {
			list_del(sc, s);
			s->next = late;
			late = s;
		}
	}
	pthread_mutex_unlock(&sc->lock);
	n = resume_chain(sc, late, NULL, sc->canned[CANNED_LATE], MHD_HTTP_SERVICE_UNAVAILABLE);
	if (n)
		atomic_fetch_add(&sc->late, n);
}

/* A scrape: 503 at once when stopping or --max-requests wait already,
 * else suspended on the waiting list for the audit thread. */
enum MHD_Result scrapes_begin(struct scrapes *sc, struct MHD_Connection *c,
			      struct scrape *s)
{
	enum canned refuse = CANNED_COUNT;

	s->c = c;
	s->gzip = exporter_accepts_gzip(MHD_lookup_connection_value(
		c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING));
	s->deadline_ms = exporter_scrape_deadline(
		MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					    "X-Prometheus-Scrape-Timeout-Seconds"),
		exporter_now_ms());
	pthread_mutex_lock(&sc->lock);
	if (atomic_load(&sc->stopping)) {
		refuse = CANNED_STOPPING;
	} else if (sc->waiting >= sc->o->max_requests) {
		refuse = CANNED_BUSY;
		atomic_fetch_add(&sc->rejected, 1);
	} else {
		/* Suspended before the lock is let go: the audit thread may
		 * resume it right after. */
		MHD_suspend_connection(c);
		list_add(sc, s);
		pthread_cond_signal(&sc->wake);
	}
	pthread_mutex_unlock(&sc->lock);
	if (refuse == CANNED_COUNT)
		return MHD_YES;
	return MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, sc->canned[refuse]);
}

/* Resume the connections of the answered scrapes (the loop thread,
 * between two runs of libmicrohttpd: no handler is running).  A scrape
 * may be freed as soon as it is resumed, so next is read first. */
void scrapes_resume_answered(struct scrapes *sc)
{
	struct scrape *s, *next;

	pthread_mutex_lock(&sc->lock);
	s = sc->answered;
	sc->answered = NULL;
	pthread_mutex_unlock(&sc->lock);
	for (; s; s = next) {
		next = s->next;
		s->next = NULL;
		MHD_resume_connection(s->c);
	}
}

/* Whether the audit thread is gone and no answered scrape waits to be
 * resumed: no connection is suspended any more. */
bool scrapes_idle(struct scrapes *sc)
{
	bool idle;

	pthread_mutex_lock(&sc->lock);
	idle = sc->audits_done && !sc->answered;
	pthread_mutex_unlock(&sc->lock);
	return idle;
}

/* The fixed 503 answers.  Returns 0 or -ENOMEM. */
static int make_canned(struct scrapes *sc)
{
	for (int i = 0; i < CANNED_COUNT; i++) {
		sc->canned[i] = exporter_response(MHD_HTTP_SERVICE_UNAVAILABLE, exporter_text_type, NULL,
					     (char *)canned_text[i],
					     strlen(canned_text[i]), false);
		if (!sc->canned[i])
			return -ENOMEM;
		if (i == CANNED_BUSY &&
		    MHD_add_response_header(sc->canned[i], "Retry-After", "1") != MHD_YES)
			return -ENOMEM;
	}
	return 0;
}

static void free_canned(struct scrapes *sc)
{
	for (int i = 0; i < CANNED_COUNT; i++)
		if (sc->canned[i])
			MHD_destroy_response(sc->canned[i]);
}

int scrapes_init(struct scrapes *sc, const struct options *o)
{
	memset(sc, 0, sizeof(*sc));
	sc->o = o;
	pthread_mutex_init(&sc->lock, NULL);
	pthread_cond_init(&sc->wake, NULL);
	sc->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sc->wakefd < 0)
		return -errno;
	return make_canned(sc);
}

void scrapes_fini(struct scrapes *sc)
{
	free_canned(sc);
	if (sc->wakefd >= 0)
		close(sc->wakefd);
	sc->wakefd = -1;
	pthread_cond_destroy(&sc->wake);
	pthread_mutex_destroy(&sc->lock);
}

void scrapes_stop(struct scrapes *sc)
{
	pthread_mutex_lock(&sc->lock);
	atomic_store(&sc->stopping, true);
	pthread_cond_signal(&sc->wake);
	pthread_mutex_unlock(&sc->lock);
	wake_loop(sc);
}

void scrape_free(struct scrape *s)
{
	result_put(s->res);
	free(s);
}
