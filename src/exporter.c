/*
 * The exporter (--listen): libmicrohttpd serves HTTP from one thread
 * that polls every connection (epoll); this file routes requests and
 * takes audits on a thread of its own.
 *
 *   GET|HEAD /metrics  the result of an audit, rendered by render_prom
 *   GET|HEAD /         a short HTML page linking to /metrics
 *   other paths        404;  other methods  405 with Allow
 *   HTTP/1.1, no Host  400
 *
 * A scrape is suspended (MHD_suspend_connection) and put on the waiting
 * list; the audit thread takes an audit, then answers every scrape on
 * the list at that moment with it, those that came during the audit
 * too (single flight: ten Prometheus servers cost one audit).  At most
 * --max-requests scrapes wait at once, more get 503 at once; a scrape
 * still waiting when its X-Prometheus-Scrape-Timeout-Seconds is almost
 * spent gets 503 (the main thread looks every EXPORTER_TICK_MS).
 *
 * Hostile clients: a connection costs a descriptor and a little memory,
 * not a thread, so the connection limit follows the descriptor limit
 * (slow and silent clients do not take the place of scrapes); the
 * request line and headers must fit in the per-connection memory; a
 * silent connection is closed after a timeout.  A body is never read: a
 * request that announces one is answered from its headers and its
 * connection closed.
 *
 * Every error is one line on stderr: a request answered with an error
 * status, a failed audit (snapshot_take says why), libmicrohttpd's own
 * messages, each kind once a minute at most (a flood of refused
 * connections is one line, and a count in the metrics).
 */
#include "exporter.h"

#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <zlib.h>

#include "diag.h"
#include "netns.h"
#include "render.h"
#include "report.h"
#include "snapshot.h"
#include "sockaudit.h"
#include "text.h"

/* Per connection: the request line and headers must fit in about half. */
#define EXPORTER_MEMORY_LIMIT (16 * 1024)
/* Seconds a connection may stay silent. */
#define EXPORTER_TIMEOUT_S 10
/* Connections served at once: the descriptor limit but a reserve for
 * the audit (netlink, /proc), and this many at most. */
#define EXPORTER_CONNECTIONS_MAX 8192
#define EXPORTER_FD_RESERVE 128L
#define EXPORTER_BACKLOG 1024
/* At a stop, how long the requests begun may take to be answered. */
#define EXPORTER_DRAIN_MS 15000
/* How often scrapes past their deadline are looked for. */
#define EXPORTER_TICK_MS 100
/* A scrape's answer is due this long before Prometheus gives up. */
#define EXPORTER_DEADLINE_MARGIN_MS 500LL
/* A kind of libmicrohttpd message is logged once in this long. */
#define EXPORTER_LOG_EVERY_MS 60000

static const char metrics_type[] = "text/plain; version=0.0.4; charset=utf-8";
static const char text_type[] = "text/plain; charset=utf-8";
static const char allowed[] = "GET, HEAD";

static const char index_page[] =
	"<!DOCTYPE html>\n"
	"<html><head><meta charset=\"utf-8\"><title>sockaudit exporter</title></head>\n"
	"<body><h1>sockaudit exporter</h1>\n"
	"<p>TCP socket audit of this host (CLOSE-WAIT, idle, stalled and dead\n"
	"sockets by server port, client peer and process), taken afresh for\n"
	"each scrape: <a href=\"/metrics\">/metrics</a>.</p>\n"
	"<p>sockaudit " SOCKAUDIT_VERSION "</p></body></html>\n";

/* One audit's answer, shared by the scrapes that waited for it. */
struct result {
	atomic_uint refs;
	unsigned status;
	struct MHD_Response *plain, *gzip; /* gzip: NULL when none asked */
	const char *body; /* plain's, alive as long as plain */
	size_t len;
};

/* One request; every request has one, a scrape also waits in it. */
struct scrape {
	struct scrape *prev, *next; /* on the waiting list */
	struct MHD_Connection *c;
	struct result *res;	    /* the audit's answer (a reference) */
	struct MHD_Response *resp;  /* what to queue once resumed */
	unsigned status;
	long long deadline_ms;	    /* 0: none */
	bool resumed, gzip;
};

/* The fixed answers, made once. */
enum canned { CANNED_BUSY, CANNED_STOPPING, CANNED_LATE, CANNED_COUNT };

static const char *const canned_text[CANNED_COUNT] = {
	[CANNED_BUSY] = "too many scrapes at once (--max-requests); try again\n",
	[CANNED_STOPPING] = "the exporter is stopping\n",
	[CANNED_LATE] = "the audit did not finish within the scrape timeout\n",
};

struct exporter {
	const struct options *o;
	struct MHD_Daemon *d;
	pthread_mutex_t lock;	 /* the waiting and answered lists */
	pthread_cond_t wake;	 /* for the audit thread */
	struct scrape *first, *last; /* waiting, oldest first */
	unsigned waiting;
	struct scrape *answered; /* to resume, by the loop thread */
	int wakefd;		 /* eventfd: the loop thread has work */
	bool audits_done;	 /* the audit thread has returned */
	atomic_bool stopping;	 /* SIGTERM/SIGINT came: audit no more */
	atomic_bool fatal;	 /* a namespace could not be left: exit 3 */
	atomic_uint in_flight;	 /* requests begun and not yet answered */
	atomic_ullong shared;	 /* scrapes answered by another's audit */
	atomic_ullong rejected;	 /* 503 past --max-requests */
	atomic_ullong late;	 /* 503 past the scrape timeout */
	atomic_ullong refused;	 /* connections libmicrohttpd refused */
	struct MHD_Response *canned[CANNED_COUNT];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The one exporter, for mhd_log's counters (libmicrohttpd's logger has
 * its own closure, set once). */
struct log_state {
	pthread_mutex_t lock;
	struct exporter *e;
	struct {
		const char *fmt;  /* a kind of message: its format */
		long long last;	  /* when logged */
		unsigned quiet;	  /* not logged since */
	} kinds[16];
};

/* Whether a libmicrohttpd message is about a connection refused (at the
 * connection limit, out of descriptors or memory at accept). */
static bool refusal(const char *fmt)
{
	return strstr(fmt, "limit") || strstr(fmt, "accept") ||
	       strstr(fmt, "Accept");
}

/* libmicrohttpd's messages, one "sockaudit: http: ..." line each, escaped
 * like a process name (they may quote what a client sent); each kind
 * (its format) once per EXPORTER_LOG_EVERY_MS, with the count of those
 * not logged in between: a flood is an episode, not a line each. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct log_state *ls = cls;
	char line[256], esc[4 * sizeof(line) + 1];
	long long now = now_ms();
	unsigned quiet = 0, k, oldest = 0;
	size_t n;

	if (ls->e && refusal(fmt))
		atomic_fetch_add(&ls->e->refused, 1);
	pthread_mutex_lock(&ls->lock);
	for (k = 0; k < sizeof(ls->kinds) / sizeof(ls->kinds[0]); k++) {
		if (ls->kinds[k].fmt == fmt)
			break;
		if (ls->kinds[k].last < ls->kinds[oldest].last)
			oldest = k;
	}
	if (k == sizeof(ls->kinds) / sizeof(ls->kinds[0])) {
		k = oldest;
		ls->kinds[k].fmt = fmt;
		ls->kinds[k].last = 0;
		ls->kinds[k].quiet = 0;
	} else if (now - ls->kinds[k].last < EXPORTER_LOG_EVERY_MS) {
		ls->kinds[k].quiet++;
		pthread_mutex_unlock(&ls->lock);
		return;
	}
	quiet = ls->kinds[k].quiet;
	ls->kinds[k].quiet = 0;
	ls->kinds[k].last = now;
	pthread_mutex_unlock(&ls->lock);
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	text_escape_name(line, n, esc, sizeof(esc));
	if (quiet)
		diag_warn("http: %s (and %u more like it in the last minute)", esc, quiet);
	else
		diag_warn("http: %s", esc);
}

static struct log_state log_state = { .lock = PTHREAD_MUTEX_INITIALIZER };

int exporter_request_line(char *buf, size_t len, unsigned status,
			  const char *method, const char *url,
			  const char *peer, const char *why)
{
	char m[4 * 16 + 1], u[4 * 64 + 1];
	size_t ul = strlen(url), ml = strlen(method);

	text_escape_name(method, ml > 16 ? 16 : ml, m, sizeof(m));
	text_escape_name(url, ul > 64 ? 64 : ul, u, sizeof(u));
	return snprintf(buf, len, "http: %u for %s %s%s from %s: %s", status, m,
			u, ul > 64 ? "..." : "", peer, why);
}

/* One line for a request answered with an error status: what was asked
 * and by whom. */
static void log_request(struct MHD_Connection *c, const char *method,
			const char *url, unsigned status, const char *why)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char peer[64] = "?", line[1024];

	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;

		if (sa->sa_family == AF_INET)
			text_addr(AF_INET, (const unsigned char *)&((const struct sockaddr_in *)
				  (const void *)sa)->sin_addr, peer, sizeof(peer));
		else if (sa->sa_family == AF_INET6)
			text_addr(AF_INET6, (const unsigned char *)&((const struct sockaddr_in6 *)
				  (const void *)sa)->sin6_addr, peer, sizeof(peer));
	}
	exporter_request_line(line, sizeof(line), status, method, url, peer, why);
	diag_warn("%s", line);
}

/* A response over `body` (freed by libmicrohttpd once sent when `owned`,
 * or here when the response cannot be made) with its Content-Type (and
 * Allow for 405, Content-Encoding when given).  NULL when out of memory. */
static struct MHD_Response *make_response(unsigned status, const char *type,
					  const char *encoding, char *body,
					  size_t len, bool owned)
{
	struct MHD_Response *r;

	if (owned)
		r = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	else
		r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (owned)
			free(body);
		return NULL;
	}
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES ||
	    (status == MHD_HTTP_METHOD_NOT_ALLOWED &&
	     MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allowed) != MHD_YES) ||
	    (encoding &&
	     (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, encoding) != MHD_YES ||
	      MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding") != MHD_YES))) {
		MHD_destroy_response(r);
		return NULL;
	}
	return r;
}

/* Queue a response made here for this one request. */
static enum MHD_Result answer(struct MHD_Connection *c, unsigned status,
			      const char *type, char *body, size_t len, bool owned)
{
	struct MHD_Response *r = make_response(status, type, NULL, body, len, owned);
	enum MHD_Result ret;

	if (!r) {
		diag_warn("http: cannot make a response: out of memory");
		return MHD_NO;
	}
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result answer_text(struct MHD_Connection *c, unsigned status,
				   const char *text)
{
	return answer(c, status, text_type, (char *)text, strlen(text), false);
}

/* The exporter's own counters, after the audit's exposition. */
static void render_counters(FILE *f, struct exporter *e)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} counters[] = {
		{ "sockaudit_exporter_scrapes_shared_total",
		  "Scrapes answered with an audit taken for another scrape (single flight).",
		  offsetof(struct exporter, shared) },
		{ "sockaudit_exporter_scrapes_rejected_total",
		  "Scrapes answered 503 at once: --max-requests were waiting already.",
		  offsetof(struct exporter, rejected) },
		{ "sockaudit_exporter_scrapes_late_total",
		  "Scrapes answered 503 when their X-Prometheus-Scrape-Timeout-Seconds ran out.",
		  offsetof(struct exporter, late) },
		{ "sockaudit_exporter_connections_refused_total",
		  "Connections refused: at the connection limit, out of descriptors or memory.",
		  offsetof(struct exporter, refused) },
	};

	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		atomic_ullong *v = (atomic_ullong *)(void *)((char *)e + counters[i].off);

		fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", counters[i].name,
			counters[i].help, counters[i].name, counters[i].name,
			(unsigned long long)atomic_load(v));
	}
}

/* The exposition of one snapshot in a malloc'd buffer.  Returns 0 or
 * -errno (nothing to free then). */
static int render_buffer(struct exporter *e, const struct snapshot *s,
			 char **body, size_t *len)
{
	struct render_opts ro;
	FILE *f;
	int rc;

	report_render_opts(e->o, s, NULL, &ro);
	*body = NULL;
	*len = 0;
	f = open_memstream(body, len);
	if (!f)
		return -errno;
	rc = render_prom(f, &s->t, &s->a, &ro);
	if (!rc)
		render_counters(f, e);
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
static struct result *take_audit(struct exporter *e)
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
	status = snapshot_take(&s, e->o);
	if (!status) {
		rc = render_buffer(e, &s, &body, &len);
		snapshot_free(&s);
	} else if (netns_lost()) {
		/* No scrape may be audited from this thread's namespace:
		 * stop, with status 3. */
		atomic_store(&e->stopping, true);
		if (!atomic_exchange(&e->fatal, true)) {
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
		r->plain = make_response(r->status, metrics_type, NULL, body, len, true);
	}
	if (why)
		r->plain = make_response(r->status, text_type, NULL, (char *)why,
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
	r->gzip = make_response(r->status, metrics_type, "gzip", gz, gzlen, true);
}

/* ---- the waiting list (e->lock held) ---- */

static void list_add(struct exporter *e, struct scrape *s)
{
	s->next = NULL;
	s->prev = e->last;
	if (e->last)
		e->last->next = s;
	else
		e->first = s;
	e->last = s;
	e->waiting++;
}

static void list_del(struct exporter *e, struct scrape *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		e->first = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		e->last = s->prev;
	s->prev = s->next = NULL;
	e->waiting--;
}

static void wake_loop(struct exporter *e)
{
	uint64_t one = 1;

	(void)!write(e->wakefd, &one, sizeof(one));
}

/*
 * Give each scrape of a detached chain (linked by next) its answer and
 * hand the chain to the loop thread, which resumes the connections: it
 * alone may, since only there has the handler that suspended one
 * surely returned.  Returns how many.
 */
static unsigned resume_chain(struct exporter *e, struct scrape *s, struct result *res,
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
	pthread_mutex_lock(&e->lock);
	last->next = e->answered;
	e->answered = first;
	pthread_mutex_unlock(&e->lock);
	wake_loop(e);
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
static void *audit_thread(void *arg)
{
	struct exporter *e = arg;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		struct scrape *chain;
		struct result *res;
		unsigned n;

		while (!e->first && !atomic_load(&e->stopping))
			pthread_cond_wait(&e->wake, &e->lock);
		if (!e->first)
			break;
		if (atomic_load(&e->stopping)) {
			chain = e->first;
			e->first = e->last = NULL;
			e->waiting = 0;
			pthread_mutex_unlock(&e->lock);
			resume_chain(e, chain, NULL, e->canned[CANNED_STOPPING],
				     MHD_HTTP_SERVICE_UNAVAILABLE);
			pthread_mutex_lock(&e->lock);
			continue;
		}
		pthread_mutex_unlock(&e->lock);
		res = take_audit(e);
		pthread_mutex_lock(&e->lock);
		chain = e->first;
		e->first = e->last = NULL;
		e->waiting = 0;
		pthread_mutex_unlock(&e->lock);
		if (res && chain_wants_gzip(chain))
			add_gzip(res);
		/* Out of memory: the fixed 503 answers them. */
		n = resume_chain(e, chain, res, e->canned[CANNED_BUSY],
				 MHD_HTTP_SERVICE_UNAVAILABLE);
		if (res && n > 1)
			atomic_fetch_add(&e->shared, n - 1);
		result_put(res);
		pthread_mutex_lock(&e->lock);
	}
	e->audits_done = true;
	pthread_mutex_unlock(&e->lock);
	wake_loop(e);
	return NULL;
}

/* Scrapes whose deadline has come get 503 (the main thread, every
 * EXPORTER_TICK_MS). */
static void sweep_late(struct exporter *e)
{
	struct scrape *late = NULL, *s, *next;
	long long now = now_ms();
	unsigned n;

	pthread_mutex_lock(&e->lock);
	for (s = e->first; s; s = next) {
		next = s->next;
		if (s->deadline_ms && now >= s->deadline_ms) {
			list_del(e, s);
			s->next = late;
			late = s;
		}
	}
	pthread_mutex_unlock(&e->lock);
	n = resume_chain(e, late, NULL, e->canned[CANNED_LATE], MHD_HTTP_SERVICE_UNAVAILABLE);
	if (n)
		atomic_fetch_add(&e->late, n);
}

/* Whether Accept-Encoding allows gzip: a "gzip" (or "*") element without
 * q=0.  A value that cannot be read is taken as no. */
static bool accepts_gzip(const char *v)
{
	while (v && *v) {
		size_t n;

		v += strspn(v, " \t,");
		n = strcspn(v, ",");
		if ((!strncasecmp(v, "gzip", 4) && strchr(" \t;,", v[4] ? v[4] : ',')) ||
		    (v[0] == '*' && strchr(" \t;,", v[1] ? v[1] : ','))) {
			const char *q = memchr(v, ';', n);

			if (!q)
				return true;
			q += strspn(q + 1, " \t") + 1;
			if (strncasecmp(q, "q=", 2) != 0 || strtod(q + 2, NULL) > 0)
				return true;
		}
		v += n;
	}
	return false;
}

/* The deadline of a scrape from X-Prometheus-Scrape-Timeout-Seconds: a
 * little before the timeout, or 0 (none, or a value that cannot be
 * read). */
static long long scrape_deadline(const char *v, long long now)
{
	char *end;
	double t;
	long long ms;

	if (!v)
		return 0;
	errno = 0;
	t = strtod(v, &end);
	if (errno || end == v || *end || !(t > 0) || t > 86400)
		return 0;
	ms = (long long)(t * 1000);
	ms = ms > 2 * EXPORTER_DEADLINE_MARGIN_MS ? ms - EXPORTER_DEADLINE_MARGIN_MS : ms / 2;
	return now + (ms ? ms : 1);
}

/* A scrape: 503 at once when stopping or --max-requests wait already,
 * else suspended on the waiting list for the audit thread. */
static enum MHD_Result scrape_begin(struct exporter *e, struct MHD_Connection *c,
				    struct scrape *s)
{
	enum canned refuse = CANNED_COUNT;

	s->c = c;
	s->gzip = accepts_gzip(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							   MHD_HTTP_HEADER_ACCEPT_ENCODING));
	s->deadline_ms = scrape_deadline(
		MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					    "X-Prometheus-Scrape-Timeout-Seconds"),
		now_ms());
	pthread_mutex_lock(&e->lock);
	if (atomic_load(&e->stopping)) {
		refuse = CANNED_STOPPING;
	} else if (e->waiting >= e->o->max_requests) {
		refuse = CANNED_BUSY;
		atomic_fetch_add(&e->rejected, 1);
	} else {
		/* Suspended before the lock is let go: the audit thread may
		 * resume it right after. */
		MHD_suspend_connection(c);
		list_add(e, s);
		pthread_cond_signal(&e->wake);
	}
	pthread_mutex_unlock(&e->lock);
	if (refuse == CANNED_COUNT)
		return MHD_YES;
	return MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, e->canned[refuse]);
}

/* Whether the request announces a body. */
static bool has_body(const struct exporter_request *r)
{
	return (r->content_length && strcmp(r->content_length, "0") != 0) ||
	       r->transfer_encoding;
}

/*
 * libmicrohttpd calls first with the headers, then with the body (if
 * any) and once more at its end.  A plain GET is answered at the end,
 * which keeps the connection open for the next scrape.  A request with
 * a body or another method is answered at once: the body is never
 * read, and the connection is closed after the answer.
 */
enum exporter_route exporter_route(const struct exporter_request *r)
{
	bool get = !strcmp(r->method, MHD_HTTP_METHOD_GET) ||
		   !strcmp(r->method, MHD_HTTP_METHOD_HEAD);

	if (r->first) {
		if (r->version && !strcmp(r->version, MHD_HTTP_VERSION_1_1) && !r->host)
			return ROUTE_BAD_REQUEST;
		if (get && !has_body(r))
			return ROUTE_WAIT;
	} else if (r->upload_size) {
		return ROUTE_DISCARD; /* not reached: answered already */
	}
	if (!get)
		return ROUTE_NOT_ALLOWED;
	if (!strcmp(r->url, "/metrics"))
		return ROUTE_METRICS;
	if (!strcmp(r->url, "/"))
		return ROUTE_INDEX;
	return ROUTE_NOT_FOUND;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_size, void **state)
{
	struct exporter *e = cls;
	struct scrape *s = *state;
	struct exporter_request r = {
		.method = method,
		.url = url,
		.content_length = MHD_lookup_connection_value(
			c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH),
		.transfer_encoding = MHD_lookup_connection_value(
			c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING),
		.version = version,
		.host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST),
		.first = !s,
		.upload_size = *upload_size,
	};

	(void)upload_data;
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE,
						  e->canned[CANNED_BUSY]);
		*state = s;
		atomic_fetch_add(&e->in_flight, 1);
	}
	if (s->resumed)
		return MHD_queue_response(c, s->status, s->resp);
	switch (exporter_route(&r)) {
	case ROUTE_WAIT:
		return MHD_YES;
	case ROUTE_DISCARD:
		*upload_size = 0;
		return MHD_YES;
	case ROUTE_BAD_REQUEST:
		log_request(c, method, url, MHD_HTTP_BAD_REQUEST, "HTTP/1.1 without Host");
		return answer_text(c, MHD_HTTP_BAD_REQUEST, "bad request: HTTP/1.1 needs Host\n");
	case ROUTE_NOT_ALLOWED:
		log_request(c, method, url, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "method not allowed");
		return answer_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				   "method not allowed: use GET\n");
	case ROUTE_METRICS:
		return scrape_begin(e, c, s);
	case ROUTE_INDEX:
		return answer(c, MHD_HTTP_OK, "text/html; charset=utf-8",
			      (char *)index_page, sizeof(index_page) - 1, false);
	case ROUTE_NOT_FOUND:
	default:
		break;
	}
	log_request(c, method, url, MHD_HTTP_NOT_FOUND, "not found");
	return answer_text(c, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n");
}

/* A request has been answered (or its connection dropped): what the
 * stop waits for. */
static void completed(void *cls, struct MHD_Connection *c, void **state,
		      enum MHD_RequestTerminationCode toe)
{
	struct exporter *e = cls;
	struct scrape *s = *state;

	(void)c;
	(void)toe;
	if (s) {
		*state = NULL;
		result_put(s->res);
		free(s);
		atomic_fetch_sub(&e->in_flight, 1);
	}
}

/* Resume the connections of the answered scrapes (the loop thread,
 * between two runs of libmicrohttpd: no handler is running).  A scrape
 * may be freed as soon as it is resumed, so next is read first. */
static void resume_answered(struct exporter *e)
{
	struct scrape *s, *next;

	pthread_mutex_lock(&e->lock);
	s = e->answered;
	e->answered = NULL;
	pthread_mutex_unlock(&e->lock);
	for (; s; s = next) {
		next = s->next;
		s->next = NULL;
		MHD_resume_connection(s->c);
	}
}

/* Whether the loop may end: stopping, the audit thread gone (no scrape
 * suspended any more), and every request begun answered or the drain
 * time spent. */
static bool loop_done(struct exporter *e, long long drain_end)
{
	bool done;

	pthread_mutex_lock(&e->lock);
	done = e->audits_done && !e->answered;
	pthread_mutex_unlock(&e->lock);
	return done && (!atomic_load(&e->in_flight) || now_ms() >= drain_end);
}

/*
 * The loop thread: libmicrohttpd's epoll descriptor and e->wakefd in
 * one epoll set; runs libmicrohttpd and resumes answered scrapes.  At
 * a stop it accepts no more connections (those in the backlog are
 * reset) and goes on until the requests begun are answered, for
 * EXPORTER_DRAIN_MS at most, and no connection is suspended.
 */
static void *loop_thread(void *arg)
{
	struct exporter *e = arg;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(e->d, MHD_DAEMON_INFO_EPOLL_FD);
	struct epoll_event ev = { .events = EPOLLIN }, got[4];
	long long drain_end = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0 || !di || epoll_ctl(ep, EPOLL_CTL_ADD, di->epoll_fd, &ev) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, e->wakefd, &ev) < 0) {
		diag_warn("--listen: epoll: %s", strerror(errno));
		atomic_store(&e->fatal, true);
		kill(getpid(), SIGTERM);
	}
	for (;;) {
		MHD_UNSIGNED_LONG_LONG t = 0;
		int wait = 1000;
		uint64_t n;

		if (MHD_get_timeout(e->d, &t) == MHD_YES)
			wait = t < 1000 ? (int)t : 1000;
		if (ep >= 0)
			epoll_wait(ep, got, 4, wait);
		else
			nanosleep(&(struct timespec){ 0, 10 * 1000000L }, NULL);
		(void)!read(e->wakefd, &n, sizeof(n));
		resume_answered(e);
		MHD_run(e->d);
		if (atomic_load(&e->stopping)) {
			if (!drain_end) {
				MHD_socket lfd = MHD_quiesce_daemon(e->d);

				/* The descriptor stays open until the daemon
				 * is stopped; shutdown makes it a listener no
				 * more at once. */
				if (lfd != MHD_INVALID_SOCKET)
					shutdown(lfd, SHUT_RDWR);
				drain_end = now_ms() + EXPORTER_DRAIN_MS;
			}
			if (loop_done(e, drain_end))
				break;
		}
	}
	if (ep >= 0)
		close(ep);
	return NULL;
}

/* The stop: no more audits (scrapes waiting for none get 503 at once,
 * see audit_thread), the loop drains; an audit still running is waited
 * for, its scrapes answered if the drain time allows. */
static void stop(struct exporter *e, pthread_t auditor, pthread_t looper)
{
	pthread_mutex_lock(&e->lock);
	atomic_store(&e->stopping, true);
	pthread_cond_signal(&e->wake);
	pthread_mutex_unlock(&e->lock);
	wake_loop(e);
	pthread_join(auditor, NULL);
	pthread_join(looper, NULL);
	MHD_stop_daemon(e->d);
}

/* A listening socket on the --listen address.  Returns it or -errno. */
static int listen_socket(const struct options *o)
{
	int one = 1, fd;

	fd = socket(o->listen_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A restart must not wait for the last run's TIME-WAIT sockets. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)&o->listen_addr, o->listen_len) < 0 ||
	    listen(fd, EXPORTER_BACKLOG) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

/* Connections served at once: what the descriptor limit leaves after
 * the audit's reserve, EXPORTER_CONNECTIONS_MAX at most, 16 at least. */
static unsigned connection_limit(void)
{
	struct rlimit rl;
	rlim_t n;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return EXPORTER_CONNECTIONS_MAX;
	n = rl.rlim_cur > 2 * EXPORTER_FD_RESERVE ? rl.rlim_cur - EXPORTER_FD_RESERVE
						    : rl.rlim_cur / 2;
	if (n > EXPORTER_CONNECTIONS_MAX)
		n = EXPORTER_CONNECTIONS_MAX;
	return n < 16 ? 16 : (unsigned)n;
}

/* The fixed 503 answers.  Returns 0 or -ENOMEM. */
static int make_canned(struct exporter *e)
{
	for (int i = 0; i < CANNED_COUNT; i++) {
		e->canned[i] = make_response(MHD_HTTP_SERVICE_UNAVAILABLE, text_type, NULL,
					     (char *)canned_text[i],
					     strlen(canned_text[i]), false);
		if (!e->canned[i])
			return -ENOMEM;
		if (i == CANNED_BUSY &&
		    MHD_add_response_header(e->canned[i], "Retry-After", "1") != MHD_YES)
			return -ENOMEM;
	}
	return 0;
}

static void free_canned(struct exporter *e)
{
	for (int i = 0; i < CANNED_COUNT; i++)
		if (e->canned[i])
			MHD_destroy_response(e->canned[i]);
}

/* Until SIGTERM or SIGINT: scrapes past their deadline answered every
 * EXPORTER_TICK_MS. */
static void wait_for_stop(struct exporter *e, const sigset_t *stop)
{
	const struct timespec tick = { 0, EXPORTER_TICK_MS * 1000000L };

	for (;;) {
		int sig = sigtimedwait(stop, NULL, &tick);

		if (sig > 0 || (sig < 0 && errno != EAGAIN && errno != EINTR))
			return;
		sweep_late(e);
	}
}

/* The HTTP server on the listening socket fd.  NULL when it cannot
 * start. */
static struct MHD_Daemon *start_daemon(struct exporter *e, int fd)
{
	/* Its event loop is ours (loop_thread): connections are resumed
	 * there, between two runs, never while a handler runs. */
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

	if (e->o->listen_addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	return MHD_start_daemon(flags, 0, NULL, NULL, handle, e,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, &log_state,
				MHD_OPTION_NOTIFY_COMPLETED, completed, e,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				(size_t)EXPORTER_MEMORY_LIMIT,
				MHD_OPTION_CONNECTION_LIMIT, connection_limit(),
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)EXPORTER_TIMEOUT_S,
				MHD_OPTION_END);
}

int exporter_run(const struct options *o)
{
	static struct exporter e;
	pthread_t auditor, looper;
	struct snapshot s;
	sigset_t stop_sigs;
	int fd, status;

	memset(&e, 0, sizeof(e));
	e.o = o;
	e.wakefd = -1;
	/* SIGTERM and SIGINT are taken by sigtimedwait below; blocked from
	 * the start (every thread inherits the mask) to the end (main
	 * returns right after: a second signal during the stop must not
	 * kill the process), they cannot kill it halfway. */
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Three threads allocate: two arenas are enough, and memory after
	 * a burst returns to the idle size. */
	mallopt(M_ARENA_MAX, 2);

	/* A selection that cannot be audited (a --pid that does not exist,
	 * no socket source) fails now, not at every scrape. */
	status = snapshot_take(&s, o);
	if (status)
		return status;
	snapshot_free(&s);

	fd = listen_socket(o);
	if (fd < 0) {
		diag_warn("--listen %s: %s", o->listen_arg, strerror(-fd));
		return EXIT_CANNOT_RUN;
	}
	pthread_mutex_init(&e.lock, NULL);
	pthread_cond_init(&e.wake, NULL);
	log_state.e = &e;
	e.wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e.wakefd >= 0 && make_canned(&e) == 0)
		e.d = start_daemon(&e, fd);
	if (e.d && pthread_create(&auditor, NULL, audit_thread, &e) == 0) {
		if (pthread_create(&looper, NULL, loop_thread, &e) == 0) {
			wait_for_stop(&e, &stop_sigs);
			stop(&e, auditor, looper);
			status = atomic_load(&e.fatal) ? EXIT_CANNOT_RUN : EXIT_OK;
			goto out;
		}
		pthread_mutex_lock(&e.lock);
		atomic_store(&e.stopping, true);
		pthread_cond_signal(&e.wake);
		pthread_mutex_unlock(&e.lock);
		pthread_join(auditor, NULL);
	}
	if (e.d)
		MHD_stop_daemon(e.d);
	diag_warn("--listen %s: the HTTP server could not start", o->listen_arg);
	status = EXIT_CANNOT_RUN;
out:
	close(fd);
	free_canned(&e);
	if (e.wakefd >= 0)
		close(e.wakefd);
	log_state.e = NULL;
	pthread_cond_destroy(&e.wake);
	pthread_mutex_destroy(&e.lock);
	return status;
}
