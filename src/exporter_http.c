/*
 * The exporter's HTTP pieces with no exporter state (exporter_http.h):
 * routes, answers, the headers a scrape sends, log lines.  They run on
 * libmicrohttpd's thread and the audit thread alike.
 */
#include "exporter_http.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "diag.h"
#include "text.h"

/* A scrape's answer is due this long before Prometheus gives up. */
#define EXPORTER_DEADLINE_MARGIN_MS 500LL
/* A kind of libmicrohttpd message is logged once in this long. */
#define EXPORTER_LOG_EVERY_MS 60000

const char exporter_metrics_type[] = "text/plain; version=0.0.4; charset=utf-8";
const char exporter_text_type[] = "text/plain; charset=utf-8";
static const char allowed[] = "GET, HEAD";

long long exporter_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
void exporter_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct exporter_log *ls = cls;
	char line[256], esc[4 * sizeof(line) + 1];
	long long now = exporter_now_ms();
	unsigned quiet = 0, k, oldest = 0;
	size_t n;

	if (ls->refused && refusal(fmt))
		atomic_fetch_add(ls->refused, 1);
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

int exporter_client_addr(struct MHD_Connection *c, unsigned char addr[16])
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	if (sa && sa->sa_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return AF_INET;
	}
	if (sa && sa->sa_family == AF_INET6) {
		memcpy(addr, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return AF_INET6;
	}
	return 0;
}

/* One line for a request answered with an error status: what was asked
 * and by whom. */
void exporter_log_request(struct MHD_Connection *c, const char *method,
			  const char *url, unsigned status, const char *why)
{
	unsigned char addr[16];
	char peer[64] = "?", line[1024];
	int family = exporter_client_addr(c, addr);

	if (family)
		text_addr(family, addr, peer, sizeof(peer));
	exporter_request_line(line, sizeof(line), status, method, url, peer, why);
	diag_warn("%s", line);
}

/* A response over `body` (freed by libmicrohttpd once sent when `owned`,
 * or here when the response cannot be made) with its Content-Type (and
 * Allow for 405, Content-Encoding when given).  NULL when out of memory. */
struct MHD_Response *exporter_response(unsigned status, const char *type,
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
enum MHD_Result exporter_answer(struct MHD_Connection *c, unsigned status,
				const char *type, char *body, size_t len, bool owned)
{
	struct MHD_Response *r = exporter_response(status, type, NULL, body, len, owned);
	enum MHD_Result ret;

	if (!r) {
		diag_warn("http: cannot make a response: out of memory");
		return MHD_NO;
	}
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result exporter_answer_text(struct MHD_Connection *c, unsigned status,
				     const char *text)
{
	return exporter_answer(c, status, exporter_text_type, (char *)text, strlen(text), false);
}

/* Whether Accept-Encoding allows gzip: a "gzip" (or "*") element without
 * q=0.  A value that cannot be read is taken as no. */
bool exporter_accepts_gzip(const char *v)
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
long long exporter_scrape_deadline(const char *v, long long now)
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
