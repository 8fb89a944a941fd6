/*
 * Text helpers for the renderers: escaping untrusted names, making bytes
 * valid UTF-8, printing addresses and durations.  No I/O.
 */
#ifndef TEXT_H
#define TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Escape a process name for the table: every control byte (C0, DEL),
 * every C1 character (U+0080-U+009F, two bytes in UTF-8) and every byte
 * that is not part of valid UTF-8 becomes \xhh (lower-case hex, byte by
 * byte), a backslash becomes \\.  Writes at most outsz-1 bytes and a NUL;
 * returns the length the full result needs (like snprintf), so callers
 * size the buffer with 4 * len + 1.
 */
size_t text_escape_name(const char *in, size_t len, char *out, size_t outsz);

/*
 * Copy bytes as valid UTF-8: each byte that is not part of a valid UTF-8
 * sequence becomes U+FFFD (3 bytes).  Same return convention as above;
 * 3 * len + 1 is always enough.
 */
size_t text_utf8_sanitize(const char *in, size_t len, char *out, size_t outsz);

/*
 * Untrusted bytes as a quoted JSON string: valid UTF-8 (one U+FFFD per
 * stray byte), with '"' and '\\' escaped and every control character --
 * C0, DEL and C1 (U+0080-U+009F) -- written as \\u00XX, so the JSON is
 * as safe on a terminal as the table.  Same return convention as above;
 * 6 * len + 3 is always enough.
 */
size_t text_json_string(const char *in, size_t len, char *out, size_t outsz);

/*
 * Untrusted bytes as the inside of a Prometheus label value (text
 * exposition format, without the quotes): valid UTF-8 (one U+FFFD per
 * stray byte), and the format's three escapes: a backslash, a double
 * quote and a newline each become a backslash and that character ('n'
 * for the newline).  Other control characters are valid in a label
 * value and are copied.  Same return convention as above; 3 * len + 1
 * is always enough.
 */
size_t text_prom_label(const char *in, size_t len, char *out, size_t outsz);

/*
 * A UNIX socket name as users write it: an abstract name's leading NUL
 * becomes '@' (ss, /proc/net/unix); other bytes are copied, still
 * untrusted.  out has room for len bytes.  Returns len.
 */
size_t text_unix_name(const unsigned char *name, size_t len, char *out);

/* At most max bytes of s (NULL: "") escaped as text_escape_name does,
 * for a one-line message; buf of 4 * max + 1 bytes.  Returns buf. */
const char *text_excerpt(const char *s, size_t max, char *buf, size_t len);

/* Display width (in columns) of an escaped, valid-UTF-8 string: one per
 * code point.  Used to align table columns. */
size_t text_width(const char *s);

/* inet_ntop of a 4- or 16-byte address; buf of INET6_ADDRSTRLEN. */
const char *text_addr(int family, const unsigned char *addr, char *buf,
		      size_t len);

/* "addr:port", IPv6 in brackets as ss prints it: "[::1]:8080". */
const char *text_endpoint(int family, const unsigned char *addr,
			  uint16_t port, char *buf, size_t len);

/* A duration for people: "850ms", "12s", "1m05s", "2h03m", "3d04h". */
const char *text_duration(uint32_t ms, char *buf, size_t len);

/* A UTC time in RFC 3339 with milliseconds: "2026-11-22T19:40:01.123Z".
 * buf of at least 32 bytes. */
const char *text_rfc3339(const struct timespec *ts, char *buf, size_t len);

#endif
