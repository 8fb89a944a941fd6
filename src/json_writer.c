/* A streaming JSON writer (see json_writer.h). */
#include "json_writer.h"

#include <errno.h>
#include <string.h>

#include "text.h"

void jsonw_init(struct json_writer *w, FILE *out)
{
	w->out = out;
	w->err = 0;
	w->depth = 0;
	w->more[0] = false;
	w->len = 0;
}

int jsonw_flush(struct json_writer *w)
{
	if (w->len && fwrite(w->buf, 1, w->len, w->out) != w->len && !w->err)
		w->err = -(errno ? errno : EIO);
	w->len = 0;
	return w->err;
}

/* Room for n more bytes in the buffer (n at most its size). */
static char *reserve(struct json_writer *w, size_t n)
{
	if (w->len + n > sizeof(w->buf))
		jsonw_flush(w);
	return w->buf + w->len;
}

void jsonw_raw(struct json_writer *w, const char *s, size_t n)
{
	if (n > sizeof(w->buf)) {
		jsonw_flush(w);
		if (fwrite(s, 1, n, w->out) != n && !w->err)
			w->err = -(errno ? errno : EIO);
		return;
	}
	memcpy(reserve(w, n), s, n);
	w->len += n;
}

static void put_char(struct json_writer *w, char c)
{
	*reserve(w, 1) = c;
	w->len++;
}

/*
 * What comes before a value: a comma after the previous member of the
 * same object or array, then `"key":` inside an object.
 */
static void prefix(struct json_writer *w, const char *key)
{
	if (w->depth) {
		if (w->more[w->depth])
			put_char(w, ',');
		w->more[w->depth] = true;
	}
	if (key) {
		put_char(w, '"');
		jsonw_raw(w, key, strlen(key));
		jsonw_raw(w, "\":", 2);
	}
}

static void open_level(struct json_writer *w, const char *key, char c)
{
	prefix(w, key);
	put_char(w, c);
	/* Deeper than JSON_MAX_DEPTH is a caller's bug: the commas of the
	 * deepest levels are then shared, the text stays well formed. */
	if (w->depth + 1 < JSON_MAX_DEPTH)
		w->depth++;
	w->more[w->depth] = false;
}

static void close_level(struct json_writer *w, char c)
{
	put_char(w, c);
	if (w->depth)
		w->depth--;
}

void jsonw_object_begin(struct json_writer *w, const char *key)
{
	open_level(w, key, '{');
}

void jsonw_object_end(struct json_writer *w)
{
	close_level(w, '}');
}

void jsonw_array_begin(struct json_writer *w, const char *key)
{
	open_level(w, key, '[');
}

void jsonw_array_end(struct json_writer *w)
{
	close_level(w, ']');
}

/* The decimal digits of v into the end of buf[20]; returns the first. */
static char *utoa_end(unsigned long long v, char *end)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

void jsonw_uint(struct json_writer *w, const char *key, unsigned long long v)
{
	char num[24], *end = num + sizeof(num), *p = utoa_end(v, end);

	prefix(w, key);
	jsonw_raw(w, p, (size_t)(end - p));
}

void jsonw_int(struct json_writer *w, const char *key, long long v)
{
	char num[24], *end = num + sizeof(num), *p;

	/* The magnitude in unsigned arithmetic: -LLONG_MIN overflows. */
	p = utoa_end(v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v, end);
	if (v < 0)
		*--p = '-';
	prefix(w, key);
	jsonw_raw(w, p, (size_t)(end - p));
}

void jsonw_null(struct json_writer *w, const char *key)
{
	prefix(w, key);
	jsonw_raw(w, "null", 4);
}

void jsonw_bool(struct json_writer *w, const char *key, bool v)
{
	prefix(w, key);
	if (v)
		jsonw_raw(w, "true", 4);
	else
		jsonw_raw(w, "false", 5);
}

void jsonw_number(struct json_writer *w, const char *key, const char *text)
{
	prefix(w, key);
	jsonw_raw(w, text, strlen(text));
}

/* Whether text_json_string would copy every byte of s as it is:
 * printable ASCII without '"' and '\\', the common case. */
static bool plain_ascii(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			return false;
	}
	return true;
}

void jsonw_string(struct json_writer *w, const char *key, const char *s,
		 size_t len)
{
	char *p;

	if (len > JSON_STRING_MAX)
		len = JSON_STRING_MAX;
	prefix(w, key);
	if (plain_ascii(s, len)) {
		p = reserve(w, len + 2);
		p[0] = '"';
		memcpy(p + 1, s, len);
		p[len + 1] = '"';
		w->len += len + 2;
		return;
	}
	/* 6 * len + 3 bytes are always enough; the NUL is not kept. */
	p = reserve(w, 6 * len + 3);
	w->len += text_json_string(s, len, p, 6 * len + 3);
}

void jsonw_cstring(struct json_writer *w, const char *key, const char *s)
{
	jsonw_string(w, key, s, strnlen(s, JSON_STRING_MAX));
}
