/*
 * The exporter (--listen): libmicrohttpd serves HTTP, one thread per
 * connection; this file only routes requests and takes audits.
 *
 *   GET|HEAD /metrics  a fresh snapshot, rendered by render_prom
 *   GET|HEAD /         a short HTML page linking to /metrics
 *   other paths        404;  other methods  405 with Allow
 *
 * Audits are serialized by one mutex: concurrent scrapes wait for each
 * other instead of reading /proc side by side.  Requests are bounded by
 * libmicrohttpd: the request line and headers must fit in the
 * per-connection memory (a larger request is refused), a silent
 * connection is closed after a timeout, and only so many connections
 * are served at once.  A body is never read: a request that announces
 * one is answered from its headers and its connection closed.
 *
 * Every error is one line on stderr: a request answered with an error
 * status, a failed audit (snapshot_take says why), libmicrohttpd's own
 * messages.
 */
#include "exporter.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

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
/* Connections served at once (each has a thread). */
#define EXPORTER_CONNECTIONS 16
#define EXPORTER_BACKLOG 64
/* At a stop, how long the requests begun may take to be answered. */
#define EXPORTER_DRAIN_MS 15000

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

struct exporter {
	const struct options *o;
	pthread_mutex_t lock; /* one audit at a time */
	atomic_bool stopping; /* SIGTERM/SIGINT came: audit no more */
	atomic_bool fatal;    /* a namespace could not be left: exit 3 */
	atomic_uint in_flight; /* requests begun and not yet answered */
};

/* libmicrohttpd's messages, one "sockaudit: http: ..." line each, escaped
 * like a process name: they may quote what a client sent. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[256], esc[4 * sizeof(line) + 1];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	text_escape_name(line, n, esc, sizeof(esc));
	diag_warn("http: %s", esc);
}

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

/* Queue a response.  A `body` given with `owned` is freed by
 * libmicrohttpd once sent (or here, when the response cannot be made). */
static enum MHD_Result answer(struct MHD_Connection *c, unsigned status,
			      const char *type, char *body, size_t len, bool owned)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (owned)
		r = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	else
		r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (owned)
			free(body);
		diag_warn("http: cannot make a response: out of memory");
		return MHD_NO;
	}
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES ||
	    (status == MHD_HTTP_METHOD_NOT_ALLOWED &&
	     MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allowed) != MHD_YES)) {
		MHD_destroy_response(r);
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

/* The exposition of one snapshot in a malloc'd buffer.  Returns 0 or
 * -errno (nothing to free then). */
static int render_buffer(const struct options *o, const struct snapshot *s,
			 char **body, size_t *len)
{
	struct render_opts ro;
	FILE *f;
	int rc;

	report_render_opts(o, s, NULL, &ro);
	*body = NULL;
	*len = 0;
	f = open_memstream(body, len);
	if (!f)
		return -errno;
	rc = render_prom(f, &s->t, &s->a, &ro);
	if (fclose(f) && !rc)
		rc = -(errno ? errno : EIO);
	if (rc) {
		free(*body);
		*body = NULL;
	}
	return rc;
}

static enum MHD_Result metrics(struct exporter *e, struct MHD_Connection *c,
			       const char *method, const char *url)
{
	struct snapshot s;
	char *body = NULL;
	size_t len = 0;
	int status, rc = 0;

	pthread_mutex_lock(&e->lock);
	/* Scrapes queued behind an audit when a stop came are not run: the
	 * stop waits for every request, and each audit can take seconds. */
	if (atomic_load(&e->stopping)) {
		pthread_mutex_unlock(&e->lock);
		return answer_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "the exporter is stopping\n");
	}
	status = snapshot_take(&s, e->o);
	if (!status) {
		rc = render_buffer(e->o, &s, &body, &len);
		snapshot_free(&s);
	} else if (netns_lost()) {
		/* Before the lock is let go: no scrape waiting for it may
		 * audit from this thread's namespace or delay the stop. */
		atomic_store(&e->stopping, true);
	}
	pthread_mutex_unlock(&e->lock);
	/* A thread left in another network namespace would serve that
	 * namespace's sockets as ours from now on: stop, with status 3. */
	if (status && netns_lost() && !atomic_exchange(&e->fatal, true)) {
		diag_warn("--listen: a network namespace could not be left; stopping");
		kill(getpid(), SIGTERM);
	}
	/* snapshot_take has said why on stderr: that is the error's line. */
	if (status)
		return answer_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "the audit failed; see the exporter's log\n");
	if (rc) {
		log_request(c, method, url, MHD_HTTP_INTERNAL_SERVER_ERROR, strerror(-rc));
		return answer_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				   "the report could not be made; see the exporter's log\n");
	}
	return answer(c, MHD_HTTP_OK, metrics_type, body, len, true);
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
	struct exporter_request r = {
		.method = method,
		.url = url,
		.content_length = MHD_lookup_connection_value(
			c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH),
		.transfer_encoding = MHD_lookup_connection_value(
			c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING),
		.first = !*state,
		.upload_size = *upload_size,
	};

	(void)version;
	(void)upload_data;
	if (r.first) {
		*state = e;
		atomic_fetch_add(&e->in_flight, 1);
	}
	switch (exporter_route(&r)) {
	case ROUTE_WAIT:
		return MHD_YES;
	case ROUTE_DISCARD:
		*upload_size = 0;
		return MHD_YES;
	case ROUTE_NOT_ALLOWED:
		log_request(c, method, url, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "method not allowed");
		return answer_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				   "method not allowed: use GET\n");
	case ROUTE_METRICS:
		return metrics(e, c, method, url);
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

	(void)c;
	(void)toe;
	if (*state) {
		*state = NULL;
		atomic_fetch_sub(&e->in_flight, 1);
	}
}

/* The stop: accept no more connections (those in the backlog are
 * reset), let the audit running finish (scrapes waiting for it answer
 * 503 at once, see metrics) and every request begun be answered, for
 * EXPORTER_DRAIN_MS at most; then close.  An audit still running then
 * is waited for, unanswered. */
static void drain_and_stop(struct exporter *e, struct MHD_Daemon *d)
{
	struct timespec tick = { 0, 10 * 1000000L };
	MHD_socket lfd;
	int waited = 0;

	atomic_store(&e->stopping, true);
	lfd = MHD_quiesce_daemon(d);
	/* The descriptor stays open until the daemon is stopped; shutdown
	 * makes it a listener no more at once. */
	if (lfd != MHD_INVALID_SOCKET)
		shutdown(lfd, SHUT_RDWR);
	while (atomic_load(&e->in_flight) && waited < EXPORTER_DRAIN_MS) {
		nanosleep(&tick, NULL);
		waited += 10;
	}
	MHD_stop_daemon(d);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
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

int exporter_run(const struct options *o)
{
	struct exporter e = { .o = o };
	/* MHD_USE_ITC: MHD_quiesce_daemon needs it in this mode. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
	struct MHD_Daemon *d;
	struct snapshot s;
	sigset_t stop;
	int fd, status, sig;

	/* SIGTERM and SIGINT are taken by sigwaitinfo below; blocked from
	 * the start (every thread inherits the mask) to the end (main
	 * returns right after: a second signal during the stop must not
	 * kill the process), they cannot kill it halfway. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* A selection that cannot be audited (a --pid that does not exist,
	 * no socket source) fails now, not at every scrape. */
	status = snapshot_take(&s, o);
	if (status)
		goto out;
	snapshot_free(&s);

	fd = listen_socket(o);
	if (fd < 0) {
		diag_warn("--listen %s: %s", o->listen_arg, strerror(-fd));
		status = EXIT_CANNOT_RUN;
		goto out;
	}
	if (o->listen_addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	pthread_mutex_init(&e.lock, NULL);
	d = MHD_start_daemon(flags, 0, NULL, NULL, handle, &e,
			     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			     MHD_OPTION_NOTIFY_COMPLETED, completed, &e,
			     MHD_OPTION_LISTEN_SOCKET, fd,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT,
			     (size_t)EXPORTER_MEMORY_LIMIT,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)EXPORTER_CONNECTIONS,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)EXPORTER_TIMEOUT_S,
			     MHD_OPTION_END);
	if (!d) {
		close(fd);
		pthread_mutex_destroy(&e.lock);
		diag_warn("--listen %s: the HTTP server could not start", o->listen_arg);
		status = EXIT_CANNOT_RUN;
		goto out;
	}
	do
		sig = sigwaitinfo(&stop, NULL);
	while (sig < 0 && errno == EINTR);
	drain_and_stop(&e, d);
	pthread_mutex_destroy(&e.lock);
	status = atomic_load(&e.fatal) ? EXIT_CANNOT_RUN : EXIT_OK;
out:
	return status;
}
