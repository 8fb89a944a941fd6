/*
 * The exporter (--listen): libmicrohttpd serves HTTP from one thread
 * that polls every connection (epoll); this file starts it, routes
 * requests (exporter_http.c) and hands scrapes to the audit thread
 * (exporter_scrape.c, single flight).
 *
 *   GET|HEAD /metrics  the result of an audit, rendered by render_prom
 *   GET|HEAD /         a short HTML page linking to /metrics
 *   other paths        404;  other methods  405 with Allow
 *   HTTP/1.1, no Host  400
 *
 * A scrape still waiting when its X-Prometheus-Scrape-Timeout-Seconds is
 * almost spent gets 503 (the main thread looks every EXPORTER_TICK_MS).
 *
 * Hostile clients: a connection costs a descriptor and a little memory,
 * not a thread, so the connection limit follows the descriptor limit
 * (slow and silent clients do not take the place of scrapes); the
 * request line and headers must fit in the per-connection memory; a
 * silent connection is closed after a timeout.  A body is never read: a
 * request that announces one is answered from its headers and its
 * connection closed.
 *
 * --web-config (exporter_web.c): TLS, basic authentication (every
 * request, whatever its path, is checked before it is answered), and
 * SIGHUP reading the file again.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "diag.h"
#include "exporter_conns.h"
#include "exporter_http.h"
#include "exporter_scrape.h"
#include "exporter_web.h"
#include "snapshot.h"
#include "sockaudit.h"

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
	struct MHD_Daemon *d;
	struct scrapes sc;	 /* the waiting list, the audit thread's */
	struct conns conns;	 /* who holds the connection slots */
	atomic_uint in_flight;	 /* requests begun and not yet answered */
	struct exporter_web web; /* --web-config */
};

/* libmicrohttpd's logger has its own closure, set once. */
static struct exporter_log log_state = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* libmicrohttpd's handler of every request (exporter_route says what
 * each call does): scrapes go to the waiting list, the rest is answered
 * here.  A resumed scrape queues the answer the audit thread gave it. */
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
	enum exporter_route route;
	enum MHD_Result ret;

	(void)upload_data;
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE,
						  e->sc.canned[CANNED_BUSY]);
		*state = s;
		atomic_fetch_add(&e->in_flight, 1);
		conns_busy(c, true);
	}
	if (s->resumed)
		return MHD_queue_response(c, s->status, s->resp);
	route = exporter_route(&r);
	if (route == ROUTE_WAIT)
		return MHD_YES;
	if (route == ROUTE_DISCARD) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (!exporter_web_authorized(&e->web, c, method, url, &ret))
		return ret;
	switch (route) {
	case ROUTE_WAIT:
	case ROUTE_DISCARD:
		break;
	case ROUTE_BAD_REQUEST:
		exporter_log_request(c, method, url, MHD_HTTP_BAD_REQUEST, "HTTP/1.1 without Host");
		return exporter_answer_text(c, MHD_HTTP_BAD_REQUEST, "bad request: HTTP/1.1 needs Host\n");
	case ROUTE_NOT_ALLOWED:
		exporter_log_request(c, method, url, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "method not allowed");
		return exporter_answer_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				   "method not allowed: use GET\n");
	case ROUTE_METRICS:
		return scrapes_begin(&e->sc, c, s);
	case ROUTE_INDEX:
		return exporter_answer(c, MHD_HTTP_OK, "text/html; charset=utf-8",
			      (char *)index_page, sizeof(index_page) - 1, false);
	case ROUTE_NOT_FOUND:
	default:
		break;
	}
	exporter_log_request(c, method, url, MHD_HTTP_NOT_FOUND, "not found");
	return exporter_answer_text(c, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n");
}

/* libmicrohttpd has one connection callback: the slots' record
 * (exporter_conns.c) is made first and closed last, and holds the web
 * config's context (without a record, out of memory, that context is
 * kept nowhere: a reference to its generation is lost). */
static void notify(void *cls, struct MHD_Connection *c, void **socket_context,
		   enum MHD_ConnectionNotificationCode toe)
{
	struct exporter *e = cls;
	void *none = NULL;
	void **web;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		conns_notify(&e->conns, c, socket_context, toe);
	web = conns_context(*socket_context);
	exporter_web_notify(&e->web, c, web ? web : &none, toe);
	if (toe != MHD_CONNECTION_NOTIFY_STARTED)
		conns_notify(&e->conns, c, socket_context, toe);
}

/* A request has been answered (or its connection dropped): what the
 * stop waits for. */
static void completed(void *cls, struct MHD_Connection *c, void **state,
		      enum MHD_RequestTerminationCode toe)
{
	struct exporter *e = cls;
	struct scrape *s = *state;

	(void)toe;
	if (s) {
		conns_busy(c, false);
		*state = NULL;
		scrape_free(s);
		atomic_fetch_sub(&e->in_flight, 1);
	}
}

/* Whether the loop may end: stopping, the audit thread gone (no scrape
 * suspended any more), and every request begun answered or the drain
 * time spent. */
static bool loop_done(struct exporter *e, long long drain_end)
{
	return scrapes_idle(&e->sc) &&
	       (!atomic_load(&e->in_flight) || exporter_now_ms() >= drain_end);
}

/*
 * The loop thread: libmicrohttpd's epoll descriptor and e->sc.wakefd in
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
	unsigned hurry = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0 || !di || epoll_ctl(ep, EPOLL_CTL_ADD, di->epoll_fd, &ev) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, e->sc.wakefd, &ev) < 0) {
		diag_warn("--listen: epoll: %s", strerror(errno));
		atomic_store(&e->sc.fatal, true);
		kill(getpid(), SIGTERM);
	}
	for (;;) {
		MHD_UNSIGNED_LONG_LONG t = 0;
		int wait = 1000;
		uint64_t n;

		if (MHD_get_timeout(e->d, &t) == MHD_YES)
			wait = t < 1000 ? (int)t : 1000;
		/* After an eviction libmicrohttpd closes the connections at
		 * one run and listens again at the next: no waiting. */
		if (hurry) {
			hurry--;
			wait = 0;
		}
		if (ep >= 0)
			epoll_wait(ep, got, 4, wait);
		else
			nanosleep(&(struct timespec){ 0, 10 * 1000000L }, NULL);
		(void)!read(e->sc.wakefd, &n, sizeof(n));
		exporter_web_swap(&e->web);
		scrapes_resume_answered(&e->sc);
		MHD_run(e->d);
		if (conns_evict(&e->conns))
			hurry = 2;
		if (atomic_load(&e->sc.stopping)) {
			if (!drain_end) {
				MHD_socket lfd = MHD_quiesce_daemon(e->d);

				/* The descriptor stays open until the daemon
				 * is stopped; shutdown makes it a listener no
				 * more at once. */
				if (lfd != MHD_INVALID_SOCKET)
					shutdown(lfd, SHUT_RDWR);
				drain_end = exporter_now_ms() + EXPORTER_DRAIN_MS;
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
 * see scrapes_audit_thread), the loop drains; an audit still running is waited
 * for, its scrapes answered if the drain time allows. */
static void stop(struct exporter *e, pthread_t auditor, pthread_t looper)
{
	scrapes_stop(&e->sc);
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

/* Until SIGTERM or SIGINT: scrapes past their deadline answered every
 * EXPORTER_TICK_MS; SIGHUP reads the web config again, which the loop
 * thread then takes (woken for it). */
static void wait_for_stop(struct exporter *e, const sigset_t *stop)
{
	const struct timespec tick = { 0, EXPORTER_TICK_MS * 1000000L };
	uint64_t one = 1;

	for (;;) {
		int sig = sigtimedwait(stop, NULL, &tick);

		if (sig == SIGHUP) {
			exporter_web_reload(&e->web);
			(void)!write(e->sc.wakefd, &one, sizeof(one));
			continue;
		}
		if (sig > 0 || (sig < 0 && errno != EAGAIN && errno != EINTR))
			return;
		scrapes_sweep_late(&e->sc);
	}
}

/* The HTTP server on the listening socket fd.  NULL when it cannot
 * start. */
static struct MHD_Daemon *start_daemon(struct exporter *e, int fd)
{
	/* Its event loop is ours (loop_thread): connections are resumed
	 * there, between two runs, never while a handler runs. */
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem tls[5];

	if (e->o->listen_addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	exporter_web_options(&e->web, &flags, tls);
	e->conns.limit = connection_limit();
	return MHD_start_daemon(flags, 0, NULL, NULL, handle, e,
				MHD_OPTION_EXTERNAL_LOGGER, exporter_mhd_log, &log_state,
				MHD_OPTION_ARRAY, tls,
				MHD_OPTION_NOTIFY_CONNECTION, notify, e,
				MHD_OPTION_NOTIFY_COMPLETED, completed, e,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				(size_t)EXPORTER_MEMORY_LIMIT,
				MHD_OPTION_CONNECTION_LIMIT, e->conns.limit,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)EXPORTER_TIMEOUT_S,
				MHD_OPTION_END);
}

int exporter_run(const struct options *o, struct webconfig *wc)
{
	static struct exporter e;
	pthread_t auditor, looper;
	struct snapshot s;
	sigset_t stop_sigs;
	char err[512];
	int fd, status;

	memset(&e, 0, sizeof(e));
	e.o = o;
	e.sc.wakefd = -1;
	/* The file was checked (status 2 then): GnuTLS failing here is a
	 * cannot-run, status 3 (exporter_web.h). */
	if (exporter_web_init(&e.web, o->web_config, wc, err, sizeof(err))) {
		diag_warn("web config %s: %s", o->web_config, err);
		exporter_web_fini(&e.web);
		return EXIT_CANNOT_RUN;
	}
	/* SIGTERM, SIGINT and SIGHUP are taken by sigtimedwait below; blocked from
	 * the start (every thread inherits the mask) to the end (main
	 * returns right after: a second signal during the stop must not
	 * kill the process), they cannot kill it halfway. */
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGINT);
	sigaddset(&stop_sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Three threads allocate: two arenas are enough, and memory after
	 * a burst returns to the idle size. */
	mallopt(M_ARENA_MAX, 2);

	/* A selection that cannot be audited (a --pid that does not exist,
	 * no socket source) fails now, not at every scrape. */
	status = snapshot_take(&s, o);
	if (status) {
		exporter_web_fini(&e.web);
		return status;
	}
	snapshot_free(&s);

	fd = listen_socket(o);
	if (fd < 0) {
		diag_warn("--listen %s: %s", o->listen_arg, strerror(-fd));
		exporter_web_fini(&e.web);
		return EXIT_CANNOT_RUN;
	}
	if (scrapes_init(&e.sc, o) == 0) {
		log_state.refused = &e.sc.refused;
		e.conns.evicted = &e.sc.evicted;
		e.web.throttled = &e.sc.throttled;
		e.conns.log = &log_state;
		e.d = start_daemon(&e, fd);
	}
	if (e.d && pthread_create(&auditor, NULL, scrapes_audit_thread, &e.sc) == 0) {
		if (pthread_create(&looper, NULL, loop_thread, &e) == 0) {
			wait_for_stop(&e, &stop_sigs);
			stop(&e, auditor, looper);
			status = atomic_load(&e.sc.fatal) ? EXIT_CANNOT_RUN : EXIT_OK;
			goto out;
		}
		scrapes_stop(&e.sc);
		pthread_join(auditor, NULL);
	}
	if (e.d)
		MHD_stop_daemon(e.d);
	diag_warn("--listen %s: the HTTP server could not start", o->listen_arg);
	status = EXIT_CANNOT_RUN;
out:
	close(fd);
	log_state.refused = NULL;
	scrapes_fini(&e.sc);
	exporter_web_fini(&e.web);
	return status;
}
