/* libFuzzer target: the exporter's request handling.
 *
 * What answers a request is exporter_route (method, path, body headers,
 * which call of the handler this is) and, for an error status, the log
 * line exporter_request_line writes from what the client sent.  HTTP
 * itself is parsed by libmicrohttpd before either sees a byte, so the
 * input is the strings libmicrohttpd would pass on: NUL-separated
 * fields
 *
 *   flags  method  url  content-length  transfer-encoding  peer
 *
 * (flags: bit 0 Content-Length present, bit 1 Transfer-Encoding
 * present, bit 2 the peer an address (bit 3: IPv6) made of the peer
 * field's bytes, else "?", bit 4 HTTP/1.1 (else HTTP/1.0), bit 5 a Host
 * header; the next bytes the body chunks' sizes).  Checked against the
 * contract (man/sockaudit.8, "The exporter"):
 *
 *   over the calls libmicrohttpd makes for one request (headers, body
 *   chunks, end), exactly one answers it; a request announcing a body
 *   is answered at its first call, and body bytes after that are
 *   dropped
 *   400 for HTTP/1.1 without Host, whatever else it is;
 *   an audit (ROUTE_METRICS) only for GET or HEAD of exactly /metrics;
 *   the page only for GET or HEAD of /; 405 for any other method, 404
 *   for any other path
 *   the log line is one line of printable text that fits its bound,
 *   names the status, and cuts a path past 64 bytes with "..."
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include "exporter_http.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next NUL-terminated field (the rest of the input for the last). */
static const char *field(const char **p, const char *end)
{
	const char *s = *p;
	const char *nul = memchr(s, '\0', (size_t)(end - s));

	*p = nul ? nul + 1 : end;
	return s;
}

static bool answers(enum exporter_route r)
{
	return r != ROUTE_WAIT && r != ROUTE_DISCARD;
}

/* The answer the contract gives a request. */
static enum exporter_route expected(const struct exporter_request *r)
{
	const char *method = r->method, *url = r->url;

	if (!strcmp(r->version, "HTTP/1.1") && !r->host)
		return ROUTE_BAD_REQUEST;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return ROUTE_NOT_ALLOWED;
	if (!strcmp(url, "/metrics"))
		return ROUTE_METRICS;
	if (!strcmp(url, "/"))
		return ROUTE_INDEX;
	return ROUTE_NOT_FOUND;
}

/* Play the calls of one request: headers, then `chunks` body chunks of
 * the sizes given, then the end; stop at the answer, as libmicrohttpd
 * does once a response is queued. */
static void check_calls(struct exporter_request *r, const uint8_t *sizes,
			size_t chunks)
{
	bool body = (r->content_length && strcmp(r->content_length, "0")) ||
		    r->transfer_encoding;
	enum exporter_route got;
	size_t i;

	r->first = true;
	r->upload_size = 0;
	got = exporter_route(r);
	if (body && !answers(got))
		abort(); /* the body is never waited for */
	for (i = 0; !answers(got) && i <= chunks; i++) {
		r->first = false;
		r->upload_size = i < chunks ? sizes[i] : 0;
		got = exporter_route(r);
		if (r->upload_size && got != ROUTE_WAIT && got != ROUTE_DISCARD)
			abort();
	}
	if (!answers(got))
		abort(); /* no answer at the end of the request */
	if (got != expected(r))
		abort();

	/* Body bytes offered after the answer are dropped. */
	r->first = false;
	r->upload_size = 1 + (chunks ? sizes[0] : 0);
	if (exporter_route(r) != ROUTE_DISCARD)
		abort();
}

/* The peer as log_request names it: an address text_addr printed from
 * libmicrohttpd's sockaddr, or "?". */
static void peer_text(const char *raw, uint8_t f, char *p, size_t len)
{
	unsigned char a[16] = { 0 };

	memcpy(a, raw, strnlen(raw, sizeof(a)));
	if (f & 4)
		text_addr(f & 8 ? AF_INET6 : AF_INET, a, p, len);
	else
		snprintf(p, len, "?");
}

static void check_log(const char *method, const char *url, const char *p)
{
	/* The bound log_request gives it: escaped method and path, a peer
	 * address, a reason. */
	char line[1024];
	size_t ul = strlen(url);
	int n;

	n = exporter_request_line(line, sizeof(line), 404, method, url, p,
				  "not found");
	if (n < 0 || (size_t)n >= sizeof(line) || strlen(line) != (size_t)n)
		abort();
	if (strncmp(line, "http: 404 for ", 14) != 0)
		abort();
	for (const char *c = line; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			abort();
	if (ul > 64 && !strstr(line, "... from "))
		abort();
	/* Truncation is safe: a short buffer gets a terminated prefix. */
	{
		char small[8];

		exporter_request_line(small, sizeof(small), 404, method, url, p, "x");
		if (strnlen(small, sizeof(small)) >= sizeof(small) ||
		    strncmp(small, line, strlen(small)) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	const char *p, *end, *flags, *cl, *te;
	char peer[64];
	struct exporter_request r;
	uint8_t f;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	p = buf;
	end = buf + size;
	flags = field(&p, end);
	f = (uint8_t)flags[0];
	memset(&r, 0, sizeof(r));
	r.method = field(&p, end);
	r.url = field(&p, end);
	cl = field(&p, end);
	te = field(&p, end);
	r.content_length = f & 1 ? cl : NULL;
	r.transfer_encoding = f & 2 ? te : NULL;
	r.version = f & 16 ? "HTTP/1.1" : "HTTP/1.0";
	r.host = f & 32 ? "localhost" : NULL;
	check_calls(&r, (const uint8_t *)flags + (flags[0] ? 1 : 0),
		    strnlen(flags + (flags[0] ? 1 : 0), 4));
	peer_text(field(&p, end), f, peer, sizeof(peer));
	check_log(r.method, r.url, peer);
	free(buf);
	return 0;
}
