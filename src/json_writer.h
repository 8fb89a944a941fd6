/*
 * A streaming JSON writer: values go straight into one buffer, flushed to
 * a stream when full, with no tree and no allocation.  The writer keeps
 * the commas between members of nested objects and arrays; at the top
 * level (depth 0) it writes no separator, so the caller lays out the
 * document (newlines between the entries of a long array) with
 * jsonw_raw.  Keys are constant strings that need no escaping; string
 * values are escaped like text_json_string.  No function fails: a
 * failed write is kept and jsonw_flush returns it.
 */
#ifndef JSON_WRITER_H
#define JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16
/* Longest string value written whole; longer ones are cut there. */
#define JSON_STRING_MAX 4096

struct json_writer {
	FILE *out;
	int err;		      /* first write error (-errno), or 0 */
	unsigned depth;		      /* open objects and arrays */
	bool more[JSON_MAX_DEPTH];    /* a member already written there */
	size_t len;		      /* bytes in buf */
	char buf[65536];
};

void jsonw_init(struct json_writer *w, FILE *out);

/* Text as it is (n bytes), with no separator: the caller's layout. */
void jsonw_raw(struct json_writer *w, const char *s, size_t n);

/*
 * Values.  `key` is the member's name inside an object, NULL inside an
 * array or at the top level.  Begin/end pairs nest up to JSON_MAX_DEPTH.
 */
void jsonw_object_begin(struct json_writer *w, const char *key);
void jsonw_object_end(struct json_writer *w);
void jsonw_array_begin(struct json_writer *w, const char *key);
void jsonw_array_end(struct json_writer *w);
void jsonw_uint(struct json_writer *w, const char *key, unsigned long long v);
void jsonw_int(struct json_writer *w, const char *key, long long v);
void jsonw_null(struct json_writer *w, const char *key);
void jsonw_bool(struct json_writer *w, const char *key, bool v);
/* A number already formatted (e.g. "%.3f"). */
void jsonw_number(struct json_writer *w, const char *key, const char *text);
/* Untrusted bytes (len, at most JSON_STRING_MAX used) as a JSON string
 * encoded by text_json_string. */
void jsonw_string(struct json_writer *w, const char *key, const char *s,
		 size_t len);
/* A NUL-terminated string, the same way. */
void jsonw_cstring(struct json_writer *w, const char *key, const char *s);

/* Write what is buffered to the stream.  Returns 0, or the first write
 * error (-errno) since jsonw_init. */
int jsonw_flush(struct json_writer *w);

#endif
