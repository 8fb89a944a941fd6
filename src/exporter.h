/*
 * --listen: a Prometheus exporter.  Each GET /metrics takes a fresh
 * snapshot with the options' selections and answers with render_prom's
 * exposition; GET / is a short HTML page.  Built on libmicrohttpd.
 */
#ifndef EXPORTER_H
#define EXPORTER_H

#include <stdbool.h>
#include <stddef.h>

#include "options.h"

/*
 * Serve on o->listen_addr until SIGTERM or SIGINT: one thread polls
 * every connection (epoll), one thread audits.  Scrapes wait for the
 * audit suspended, at most o->max_requests of them (more get 503), and
 * those that arrive while an audit runs share its result.  Returns the exit
 * status: 0 after a clean stop, EXIT_CANNOT_RUN (after one line on
 * stderr) when the first audit fails or the address cannot be served.
 */
int exporter_run(const struct options *o);

/* What one call of libmicrohttpd's request handler does. */
enum exporter_route {
	ROUTE_WAIT,	   /* a plain GET or HEAD: answered at its end */
	ROUTE_DISCARD,	   /* body bytes after the answer: dropped */
	ROUTE_METRICS,	   /* 200 with a fresh audit (503 when it fails) */
	ROUTE_INDEX,	   /* 200 with the HTML page */
	ROUTE_NOT_FOUND,   /* 404 */
	ROUTE_NOT_ALLOWED, /* 405 with Allow: GET, HEAD */
	ROUTE_BAD_REQUEST, /* 400: an HTTP/1.1 request without Host */
};

/* A request as the handler sees it in one call. */
struct exporter_request {
	const char *method, *url;
	const char *content_length;    /* header values; NULL when absent */
	const char *transfer_encoding;
	const char *version; /* "HTTP/1.1"...; NULL: unknown */
	const char *host;    /* the Host header; NULL when absent */
	bool first;	     /* the first call: headers only */
	size_t upload_size;  /* body bytes offered in this call */
};

/*
 * The route of a request: its method, path and body headers only, no
 * I/O.  GET and HEAD of "/metrics" and "/" are served, other paths get
 * 404 and other methods 405; an HTTP/1.1 request without Host gets 400
 * (RFC 9112, 3.2); a request announcing a body is answered from its
 * first call (the body is never read).
 */
enum exporter_route exporter_route(const struct exporter_request *r);

/*
 * The log line of a request answered with an error status, without the
 * "sockaudit: " prefix: "http: STATUS for METHOD PATH from PEER: WHY",
 * the method (16 bytes at most) and path (64, then "...") escaped like a
 * process name.  Returns snprintf's count.
 */
int exporter_request_line(char *buf, size_t len, unsigned status,
			  const char *method, const char *url,
			  const char *peer, const char *why);

#endif
