/* Text helpers: escaping untrusted bytes, addresses, durations. */
#include "text.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/*
 * Length of the valid UTF-8 sequence at s (1 to 4), or 0 when the byte
 * at s does not start one: overlong forms, surrogates and code points
 * past U+10FFFF are invalid, as RFC 3629 says.
 */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* past U+10FFFF */
	} else
		return 0;
	if (avail < n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* Append bytes to a bounded buffer, counting what the whole needs. */
struct sink {
	char *out;
	size_t size, len;
};

static void sink_put(struct sink *k, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++, k->len++)
		if (k->len + 1 < k->size)
			k->out[k->len] = s[i];
}

static void sink_end(struct sink *k)
{
	if (k->size)
		k->out[k->len < k->size ? k->len : k->size - 1] = '\0';
}

static void sink_hex(struct sink *k, unsigned char c)
{
	char b[5];

	snprintf(b, sizeof(b), "\\x%02x", c);
	sink_put(k, b, 4);
}

size_t text_escape_name(const char *in, size_t len, char *out, size_t outsz)
{
	const unsigned char *s = (const unsigned char *)in;
	struct sink k = { out, outsz, 0 };
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq_len(s + i, len - i);

		if (n == 0 || s[i] < 0x20 || s[i] == 0x7f ||
		    (n == 2 && s[i] == 0xc2 && s[i + 1] <= 0x9f)) {
			/* A control character or a stray byte: the C1 pair
			 * is escaped byte by byte like the rest. */
			size_t j, m = n ? n : 1;

			for (j = 0; j < m; j++)
				sink_hex(&k, s[i + j]);
			i += m;
		} else if (s[i] == '\\') {
			sink_put(&k, "\\\\", 2);
			i++;
		} else {
			sink_put(&k, in + i, n);
			i += n;
		}
	}
	sink_end(&k);
	return k.len;
}

size_t text_utf8_sanitize(const char *in, size_t len, char *out, size_t outsz)
{
	const unsigned char *s = (const unsigned char *)in;
	struct sink k = { out, outsz, 0 };
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq_len(s + i, len - i);

		if (n == 0) {
			sink_put(&k, "\xef\xbf\xbd", 3);
			i++;
		} else {
			sink_put(&k, in + i, n);
			i += n;
		}
	}
	sink_end(&k);
	return k.len;
}

size_t text_json_string(const char *in, size_t len, char *out, size_t outsz)
{
	const unsigned char *s = (const unsigned char *)in;
	struct sink k = { out, outsz, 0 };
	size_t i = 0;

	sink_put(&k, "\"", 1);
	while (i < len) {
		size_t n = utf8_seq_len(s + i, len - i);
		unsigned cp = s[i];
		char esc[8];

		if (n == 2 && s[i] == 0xc2 && s[i + 1] <= 0x9f)
			cp = s[i + 1]; /* C1: U+0080-U+009F */
		if (n == 0) {
			sink_put(&k, "\xef\xbf\xbd", 3);
			i++;
		} else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
			snprintf(esc, sizeof(esc), "\\u%04x", cp);
			sink_put(&k, esc, 6);
			i += n;
		} else if (cp == '"' || cp == '\\') {
			esc[0] = '\\';
			esc[1] = (char)cp;
			sink_put(&k, esc, 2);
			i++;
		} else {
			sink_put(&k, in + i, n);
			i += n;
		}
	}
	sink_put(&k, "\"", 1);
	sink_end(&k);
	return k.len;
}

size_t text_prom_label(const char *in, size_t len, char *out, size_t outsz)
{
	const unsigned char *s = (const unsigned char *)in;
	struct sink k = { out, outsz, 0 };
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq_len(s + i, len - i);

		if (n == 0) {
			sink_put(&k, "\xef\xbf\xbd", 3);
			i++;
		} else if (s[i] == '\\' || s[i] == '"') {
			char esc[2] = { '\\', (char)s[i] };

			sink_put(&k, esc, 2);
			i++;
		} else if (s[i] == '\n') {
			sink_put(&k, "\\n", 2);
			i++;
		} else {
			sink_put(&k, in + i, n);
			i += n;
		}
	}
	sink_end(&k);
	return k.len;
}

size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

const char *text_excerpt(const char *s, size_t max, char *buf, size_t len)
{
	size_t n = s ? strlen(s) : 0;

	text_escape_name(s ? s : "", n < max ? n : max, buf, len);
	return buf;
}

const char *text_addr(int family, const unsigned char *addr, char *buf,
		      size_t len)
{
	if (!inet_ntop(family, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

const char *text_endpoint(int family, const unsigned char *addr,
			  uint16_t port, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	text_addr(family, addr, a, sizeof(a));
	if (family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, (unsigned)port);
	else
		snprintf(buf, len, "%s:%u", a, (unsigned)port);
	return buf;
}

const char *text_duration(uint32_t ms, char *buf, size_t len)
{
	uint32_t s = ms / 1000;

	if (ms < 1000)
		snprintf(buf, len, "%ums", (unsigned)ms);
	else if (s < 60)
		snprintf(buf, len, "%us", (unsigned)s);
	else if (s < 3600)
		snprintf(buf, len, "%um%02us", (unsigned)(s / 60), (unsigned)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%uh%02um", (unsigned)(s / 3600),
			 (unsigned)(s % 3600 / 60));
	else
		snprintf(buf, len, "%ud%02uh", (unsigned)(s / 86400),
			 (unsigned)(s % 86400 / 3600));
	return buf;
}

const char *text_rfc3339(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;
	time_t sec = ts->tv_sec;
	char day[24];

	if (!gmtime_r(&sec, &tm) || !strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(buf, len, "1970-01-01T00:00:00.000Z");
		return buf;
	}
	snprintf(buf, len, "%s.%03ldZ", day, (long)(ts->tv_nsec / 1000000));
	return buf;
}

size_t text_unix_name(const unsigned char *name, size_t len, char *out)
{
	if (!len)
		return 0;
	memcpy(out, name, len);
	if (out[0] == '\0')
		out[0] = '@';
	return len;
}
