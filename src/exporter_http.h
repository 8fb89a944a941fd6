/*
 * The exporter's HTTP pieces that hold no exporter state: the route of
 * a request, the answers made from a status and a text, the headers a
 * scrape sends (Accept-Encoding, X-Prometheus-Scrape-Timeout-Seconds),
 * and the log lines (a request answered with an error status,
 * libmicrohttpd's own messages).
 */
#ifndef EXPORTER_HTTP_H
#define EXPORTER_HTTP_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

/* Content types of the answers. */
extern const char exporter_metrics_type[];
extern const char exporter_text_type[];

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

/* The client address of connection c into addr (16 bytes; IPv4 in the
 * first 4), as libmicrohttpd gives it.  Returns its family, AF_INET or
 * AF_INET6, or 0 when it is not known. */
int exporter_client_addr(struct MHD_Connection *c, unsigned char addr[16]);

/* That line on stderr for a request of connection c, its peer looked up. */
void exporter_log_request(struct MHD_Connection *c, const char *method,
			  const char *url, unsigned status, const char *why);

/* The state of exporter_mhd_log, libmicrohttpd's logger: when each kind
 * of message was logged last.  Initialise lock with
 * PTHREAD_MUTEX_INITIALIZER and the rest with zeros. */
struct exporter_log {
	pthread_mutex_t lock;
	atomic_ullong *refused; /* refused connections counted here; or NULL */
	struct {
		const char *fmt;  /* a kind of message: its format */
		long long last;	  /* when logged */
		unsigned quiet;	  /* not logged since */
	} kinds[16];
};

/*
 * libmicrohttpd's messages (MHD_OPTION_EXTERNAL_LOGGER, cls a struct
 * exporter_log): one "sockaudit: http: ..." line each, escaped like a
 * process name; each kind once a minute at most, with the count of those
 * not logged in between.
 */
void exporter_mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/*
 * A response over `body` (freed by libmicrohttpd once sent when `owned`,
 * or here when the response cannot be made) with its Content-Type (and
 * Allow for 405, Content-Encoding when given).  NULL when out of memory.
 */
struct MHD_Response *exporter_response(unsigned status, const char *type,
				       const char *encoding, char *body,
				       size_t len, bool owned);

/* Queue a response made by exporter_response for this one request. */
enum MHD_Result exporter_answer(struct MHD_Connection *c, unsigned status,
				const char *type, char *body, size_t len, bool owned);

/* Queue a text/plain answer (a static text) for this one request. */
enum MHD_Result exporter_answer_text(struct MHD_Connection *c, unsigned status,
				     const char *text);

/* Whether an Accept-Encoding value allows gzip: a "gzip" (or "*")
 * element without q=0.  NULL or a value that cannot be read: no. */
bool exporter_accepts_gzip(const char *v);

/* The deadline (exporter_now_ms's clock) of a scrape from its
 * X-Prometheus-Scrape-Timeout-Seconds value: a little before the
 * timeout, or 0 (none, or a value that cannot be read). */
long long exporter_scrape_deadline(const char *v, long long now);

/* CLOCK_MONOTONIC in milliseconds. */
long long exporter_now_ms(void);

#endif
