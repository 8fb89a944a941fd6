/*
 * Unit tests for text.h: escaping untrusted process names for the table,
 * making bytes valid UTF-8 for JSON, Prometheus label values, widths,
 * addresses and durations.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "text.h"
#include "lib/runsuite.h"

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Inputs carry their length: names may hold NUL bytes. */
struct bytes_row {
	const char *in;
	size_t len;
	const char *want;
	size_t wantlen;
};

#define ROW(in, want) { in, sizeof(in) - 1, want, sizeof(want) - 1 }

/* ---- text_escape_name ---------------------------------------------- */

static const struct bytes_row esc_rows[] = {
	ROW("", ""),
	ROW("nginx", "nginx"),
	ROW("my server", "my server"),
	ROW("a\\b", "a\\\\b"),
	ROW("\\", "\\\\"),
	ROW("\\x41", "\\\\x41"),
	/* C0 controls, DEL. */
	ROW("\x1b[2J", "\\x1b[2J"),
	ROW("a\nb", "a\\x0ab"),
	ROW("\t", "\\x09"),
	ROW("\r", "\\x0d"),
	ROW("\x01\x1f", "\\x01\\x1f"),
	ROW("\x7f", "\\x7f"),
	ROW("x\x00y", "x\\x00y"),
	ROW(" ~", " ~"),
	/* C1 controls U+0080..U+009F: both bytes escaped. */
	ROW("\xc2\x80", "\\xc2\\x80"),
	ROW("\xc2\x9b", "\\xc2\\x9b"),
	ROW("\xc2\x9f", "\\xc2\\x9f"),
	ROW("a\xc2\x9b" "31m", "a\\xc2\\x9b" "31m"),
	/* U+00A0 and up are not controls: kept. */
	ROW("\xc2\xa0", "\xc2\xa0"),
	ROW("\xc3\xa9", "\xc3\xa9"),                 /* é */
	ROW("caf\xc3\xa9", "caf\xc3\xa9"),
	ROW("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac"), /* 日本 */
	ROW("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"), /* U+1F600 */
	ROW("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"), /* U+10FFFF */
	ROW("\xef\xbf\xbd", "\xef\xbf\xbd"),         /* U+FFFD itself */
	ROW("\xed\x9f\xbf", "\xed\x9f\xbf"),         /* U+D7FF */
	ROW("\xee\x80\x80", "\xee\x80\x80"),         /* U+E000 */
	/* Bytes that are not UTF-8: each one \xhh. */
	ROW("\xff", "\\xff"),
	ROW("\xfe", "\\xfe"),
	ROW("\x80", "\\x80"),
	ROW("a\xbfz", "a\\xbfz"),
	ROW("\xc0\x80", "\\xc0\\x80"),               /* overlong NUL */
	ROW("\xc1\xbf", "\\xc1\\xbf"),               /* overlong */
	ROW("\xe0\x80\xaf", "\\xe0\\x80\\xaf"),      /* overlong '/' */
	ROW("\xe0\x9f\xbf", "\\xe0\\x9f\\xbf"),      /* overlong U+07FF */
	ROW("\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf"),
	ROW("\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf"), /* overlong U+FFFF */
	ROW("\xed\xa0\x80", "\\xed\\xa0\\x80"),      /* surrogate U+D800 */
	ROW("\xed\xbf\xbf", "\\xed\\xbf\\xbf"),      /* surrogate U+DFFF */
	ROW("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"), /* U+110000 */
	ROW("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80"),
	ROW("\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80"),
	/* Truncated sequences, at the end and before other bytes. */
	ROW("\xc3", "\\xc3"),
	ROW("\xe6\x97", "\\xe6\\x97"),
	ROW("\xf0\x9f\x98", "\\xf0\\x9f\\x98"),
	ROW("\xe6\x97" "A", "\\xe6\\x97" "A"),
	ROW("\xc3" "A", "\\xc3" "A"),
	/* A bad lead byte must not swallow the valid sequence after it. */
	ROW("\xe6\xe6\x97\xa5", "\\xe6\xe6\x97\xa5"),
	ROW("\xc3\xc3\xa9", "\\xc3\xc3\xa9"),
	ROW("\xf0\x9f\xe6\x97\xa5", "\\xf0\\x9f\xe6\x97\xa5"),
	/* A continuation byte that is a control in Latin-1 terms but
	 * follows a valid lead is part of the character (U+00E9 above);
	 * a C1 after a broken lead is escaped byte by byte. */
	ROW("\xe6\xc2\x9b", "\\xe6\\xc2\\x9b"),
	/* Everything at once. */
	ROW("\x1b[31mev\nil\t\"q\"\\\xff\xc2\x9b",
	    "\\x1b[31mev\\x0ail\\x09\"q\"\\\\\\xff\\xc2\\x9b"),
};

START_TEST(test_escape_rows)
{
	const struct bytes_row *r = &esc_rows[_i];
	size_t cap = 4 * r->len + 1, ret;
	char *out = malloc(cap + 8);

	ck_assert_ptr_nonnull(out);
	memset(out, 'Z', cap + 8);
	ret = text_escape_name(r->in, r->len, out, cap);
	ck_assert_msg(strcmp(out, r->want) == 0,
		      "row %d: escaped to \"%s\", want \"%s\"", _i, out, r->want);
	ck_assert_msg(ret == r->wantlen, "row %d: returned %zu, want %zu", _i,
		      ret, r->wantlen);
	/* The documented size is always enough, and nothing is written
	 * past the NUL. */
	ck_assert(ret <= 4 * r->len);
	ck_assert(out[cap] == 'Z');
	free(out);
}
END_TEST

/* The escaped name prints nothing a terminal acts on. */
START_TEST(test_escape_output_is_inert)
{
	unsigned char in[256];
	char out[4 * 256 + 1];
	size_t i, n;

	for (i = 0; i < 256; i++)
		in[i] = (unsigned char)i;
	n = text_escape_name((const char *)in, sizeof(in), out, sizeof(out));
	ck_assert_uint_eq(n, strlen(out));
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];

		ck_assert_msg(c >= 0x20 && c < 0x7f,
			      "byte %#x at %zu in the escape of 0..255", c, i);
	}
	/* 0x20..0x7e but the backslash stay; the backslash doubles; every
	 * other byte (C0, DEL, 0x80..0xff, all stray) is \xhh. */
	ck_assert_uint_eq(n, 94 + 2 + (256 - 95) * 4);
}
END_TEST

/* Truncation: like snprintf, the result is a NUL-terminated prefix and
 * the return value the length the whole would need. */
struct trunc_row {
	const char *in;
	size_t len;
	size_t outsz;
};

static const struct trunc_row esc_trunc_rows[] = {
	{ "\x1b", 1, 0 },
	{ "\x1b", 1, 1 },
	{ "\x1b", 1, 2 },
	{ "\x1b", 1, 3 },
	{ "\x1b", 1, 4 },
	{ "\x1b", 1, 5 },
	{ "abc\\def", 7, 4 },
	{ "abc\\def", 7, 5 },
	{ "\xe6\x97\xa5\xe6\x9c\xac", 6, 2 },
	{ "\xe6\x97\xa5\xe6\x9c\xac", 6, 4 },
	{ "\xc2\x9b\xff", 3, 7 },
	{ "\xc2\x9b\xff", 3, 9 },
	{ "\xc2\x9b\xff", 3, 12 },
};

static void check_truncated(size_t (*fn)(const char *, size_t, char *, size_t),
			    const struct trunc_row *r, int row)
{
	char full[64], out[64 + 8];
	size_t need, ret;

	need = fn(r->in, r->len, full, sizeof(full));
	ck_assert(need < sizeof(full));
	memset(out, 'Z', sizeof(out));
	ret = fn(r->in, r->len, out, r->outsz);
	ck_assert_msg(ret == need, "row %d: truncated call returned %zu, want %zu",
		      row, ret, need);
	if (r->outsz == 0) {
		ck_assert_msg(out[0] == 'Z', "row %d: wrote into a 0-byte buffer", row);
		return;
	}
	ck_assert_msg(memchr(out, '\0', r->outsz) != NULL,
		      "row %d: no NUL within %zu bytes", row, r->outsz);
	ck_assert_msg(strlen(out) < r->outsz, "row %d", row);
	ck_assert_msg(strncmp(out, full, strlen(out)) == 0,
		      "row %d: \"%s\" is not a prefix of \"%s\"", row, out, full);
	ck_assert_msg(out[r->outsz] == 'Z', "row %d: wrote past outsz", row);
	if (r->outsz > need)
		ck_assert_str_eq(out, full);
}

START_TEST(test_escape_truncation_rows)
{
	check_truncated(text_escape_name, &esc_trunc_rows[_i], _i);
}
END_TEST

/* ---- text_utf8_sanitize -------------------------------------------- */

#define FFFD "\xef\xbf\xbd"

static const struct bytes_row utf8_rows[] = {
	ROW("", ""),
	ROW("abc", "abc"),
	/* Controls are valid UTF-8: the JSON writer escapes them. */
	ROW("\x1b\n\t\x7f", "\x1b\n\t\x7f"),
	ROW("\xc2\x9b", "\xc2\x9b"),
	ROW("\xc3\xa9", "\xc3\xa9"),
	ROW("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac"),
	ROW("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"),
	ROW(FFFD, FFFD),
	ROW("\xff", FFFD),
	ROW("a\xffz", "a" FFFD "z"),
	ROW("\xff\xfe", FFFD FFFD),
	ROW("\x80", FFFD),
	ROW("\xc0\x80", FFFD FFFD),
	ROW("\xc1\xbf", FFFD FFFD),
	ROW("\xe0\x80\xaf", FFFD FFFD FFFD),
	ROW("\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD),
	ROW("\xed\xa0\x80", FFFD FFFD FFFD),
	ROW("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD),
	ROW("\xe6\x97", FFFD FFFD),
	ROW("\xe6\x97" "A", FFFD FFFD "A"),
	ROW("\xe6\xe6\x97\xa5", FFFD "\xe6\x97\xa5"),
	ROW("x\x00y", "x\x00y"),
	ROW("\x1b[31mev\nil\t\"q\"\\\xff\xc2\x9b",
	    "\x1b[31mev\nil\t\"q\"\\" FFFD "\xc2\x9b"),
};

START_TEST(test_utf8_rows)
{
	const struct bytes_row *r = &utf8_rows[_i];
	size_t cap = 3 * r->len + 1, ret, wantlen = r->wantlen;
	char *out = malloc(cap + 8);

	ck_assert_ptr_nonnull(out);
	memset(out, 'Z', cap + 8);
	ret = text_utf8_sanitize(r->in, r->len, out, cap);
	ck_assert_msg(ret == wantlen, "row %d: returned %zu, want %zu", _i, ret,
		      wantlen);
	ck_assert_msg(memcmp(out, r->want, wantlen) == 0 && out[wantlen] == '\0',
		      "row %d: got \"%s\", want \"%s\"", _i, out, r->want);
	ck_assert(ret <= 3 * r->len);
	ck_assert(out[cap] == 'Z');
	free(out);
}
END_TEST

/* Every byte string comes out as valid UTF-8: sanitizing twice changes
 * nothing. */
START_TEST(test_utf8_idempotent)
{
	unsigned char in[256];
	char once[3 * 256 + 1], twice[3 * 256 + 1];
	size_t i, n1, n2;

	for (i = 0; i < 256; i++)
		in[i] = (unsigned char)(255 - i);
	n1 = text_utf8_sanitize((const char *)in, sizeof(in), once, sizeof(once));
	n2 = text_utf8_sanitize(once, n1, twice, sizeof(twice));
	ck_assert_uint_eq(n1, n2);
	ck_assert(memcmp(once, twice, n1) == 0);
	/* 128 ASCII bytes kept, 128 others each one U+FFFD. */
	ck_assert_uint_eq(n1, 128 + 128 * 3);
}
END_TEST

static const struct trunc_row utf8_trunc_rows[] = {
	{ "\xff", 1, 0 },
	{ "\xff", 1, 1 },
	{ "\xff", 1, 2 },
	{ "\xff", 1, 3 },
	{ "\xff", 1, 4 },
	{ "a\xff" "b", 3, 3 },
	{ "\xe6\x97\xa5", 3, 2 },
	{ "\xe6\x97\xa5", 3, 4 },
};

START_TEST(test_utf8_truncation_rows)
{
	check_truncated(text_utf8_sanitize, &utf8_trunc_rows[_i], _i);
}
END_TEST

/* ---- text_prom_label ----------------------------------------------- */

static const struct bytes_row prom_rows[] = {
	ROW("", ""),
	ROW("nginx", "nginx"),
	/* The format's three escapes. */
	ROW("a\\b", "a\\\\b"),
	ROW("\"q\"", "\\\"q\\\""),
	ROW("a\nb", "a\\nb"),
	ROW("\\n", "\\\\n"),
	/* Other controls are valid in a label value: copied. */
	ROW("\t\r\x1b\x7f", "\t\r\x1b\x7f"),
	ROW("\xc2\x9b", "\xc2\x9b"),
	/* Valid UTF-8 kept, stray bytes one U+FFFD each. */
	ROW("caf\xc3\xa9", "caf\xc3\xa9"),
	ROW("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"),
	ROW("\xff", FFFD),
	ROW("a\xff\xfe\"", "a" FFFD FFFD "\\\""),
	ROW("\xe6\x97\"", FFFD FFFD "\\\""),
	ROW("\xed\xa0\x80", FFFD FFFD FFFD),
	ROW("x\x00y", "x\x00y"),
	/* A name as the table prints it, as render_prom passes it. */
	ROW("e\\x1b\\x0a\\\\\\xff", "e\\\\x1b\\\\x0a\\\\\\\\\\\\xff"),
};

START_TEST(test_prom_rows)
{
	const struct bytes_row *r = &prom_rows[_i];
	size_t cap = 3 * r->len + 1, ret;
	char *out = malloc(cap + 8);

	ck_assert_ptr_nonnull(out);
	memset(out, 'Z', cap + 8);
	ret = text_prom_label(r->in, r->len, out, cap);
	ck_assert_msg(ret == r->wantlen, "row %d: returned %zu, want %zu", _i, ret,
		      r->wantlen);
	ck_assert_msg(memcmp(out, r->want, r->wantlen) == 0 && out[r->wantlen] == '\0',
		      "row %d: got \"%s\", want \"%s\"", _i, out, r->want);
	ck_assert(out[cap] == 'Z');
	free(out);
}
END_TEST

/* Every byte string gives a value a scraper reads: valid UTF-8, no raw
 * newline, every quote and backslash escaped. */
START_TEST(test_prom_label_inert)
{
	unsigned char in[256];
	char out[3 * 256 + 1], check[3 * 256 + 1];
	size_t i, n;

	for (i = 0; i < 256; i++)
		in[i] = (unsigned char)i;
	n = text_prom_label((const char *)in, sizeof(in), out, sizeof(out));
	ck_assert(n < sizeof(out));
	ck_assert_uint_eq(text_utf8_sanitize(out, n, check, sizeof(check)), n);
	ck_assert(memchr(out, '\n', n) == NULL);
	for (i = 0; i < n; i++) {
		if (out[i] == '\\') {
			ck_assert(i + 1 < n && strchr("\\\"n", out[i + 1]));
			i++;
		} else {
			ck_assert(out[i] != '"');
		}
	}
}
END_TEST

static const struct trunc_row prom_trunc_rows[] = {
	{ "\xff", 1, 2 },
	{ "a\"b", 3, 2 },
	{ "a\"b", 3, 3 },
	{ "\n\n", 2, 3 },
	{ "\xe6\x97\xa5", 3, 2 },
};

START_TEST(test_prom_truncation_rows)
{
	check_truncated(text_prom_label, &prom_trunc_rows[_i], _i);
}
END_TEST

/* ---- text_width ---------------------------------------------------- */

struct width_row {
	const char *s;
	size_t width;
};

static const struct width_row width_rows[] = {
	{ "", 0 },
	{ "abc", 3 },
	{ "\\x1b[2J", 7 },
	{ "\\\\", 2 },
	{ "\xc3\xa9", 1 },
	{ "caf\xc3\xa9", 4 },
	{ "\xe6\x97\xa5\xe6\x9c\xac", 2 },
	{ "\xf0\x9f\x98\x80!", 2 },
	{ FFFD, 1 },
};

START_TEST(test_width_rows)
{
	const struct width_row *r = &width_rows[_i];

	ck_assert_msg(text_width(r->s) == r->width, "text_width(\"%s\") = %zu, want %zu",
		      r->s, text_width(r->s), r->width);
}
END_TEST

/* ---- text_addr, text_endpoint -------------------------------------- */

struct addr_row {
	int family;
	const char *addr; /* as inet_pton reads it */
	uint16_t port;
	const char *text;
	const char *endpoint;
};

static const struct addr_row addr_rows[] = {
	{ AF_INET, "127.0.0.1", 8080, "127.0.0.1", "127.0.0.1:8080" },
	{ AF_INET, "0.0.0.0", 22, "0.0.0.0", "0.0.0.0:22" },
	{ AF_INET, "10.0.0.5", 443, "10.0.0.5", "10.0.0.5:443" },
	{ AF_INET, "255.255.255.255", 65535, "255.255.255.255",
	  "255.255.255.255:65535" },
	{ AF_INET6, "::1", 8080, "::1", "[::1]:8080" },
	{ AF_INET6, "::", 22, "::", "[::]:22" },
	{ AF_INET6, "2001:db8::1", 443, "2001:db8::1", "[2001:db8::1]:443" },
	{ AF_INET6, "fe80::1:2:3:4", 1, "fe80::1:2:3:4", "[fe80::1:2:3:4]:1" },
	/* IPv4-mapped stays as the kernel gives it. */
	{ AF_INET6, "::ffff:127.0.0.1", 9090, "::ffff:127.0.0.1",
	  "[::ffff:127.0.0.1]:9090" },
	{ AF_INET6, "2001:db8:1:2:3:4:5:6", 65535, "2001:db8:1:2:3:4:5:6",
	  "[2001:db8:1:2:3:4:5:6]:65535" },
};

START_TEST(test_addr_rows)
{
	const struct addr_row *r = &addr_rows[_i];
	unsigned char a[16];
	char buf[INET6_ADDRSTRLEN], ep[INET6_ADDRSTRLEN + 8];
	const char *p;

	memset(a, 0xee, sizeof(a));
	ck_assert_int_eq(inet_pton(r->family, r->addr, a), 1);
	memset(buf, 'Z', sizeof(buf));
	p = text_addr(r->family, a, buf, sizeof(buf));
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, r->text);
	memset(ep, 'Z', sizeof(ep));
	p = text_endpoint(r->family, a, r->port, ep, sizeof(ep));
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, r->endpoint);
}
END_TEST

/* The longest endpoint fits a buffer sized for it. */
START_TEST(test_endpoint_longest)
{
	unsigned char a[16];
	char ep[sizeof("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535")];

	ck_assert_int_eq(inet_pton(AF_INET6, "1:ffff:ffff:ffff:ffff:ffff:ffff:ffff", a),
			 1);
	ck_assert_str_eq(text_endpoint(AF_INET6, a, 65535, ep, sizeof(ep)),
			 "[1:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
}
END_TEST

/* ---- text_duration ------------------------------------------------- */

struct dur_row {
	uint32_t ms;
	const char *text;
};

/* Larger units are truncated, not rounded: an idle time is never shown
 * longer than it is. */
static const struct dur_row dur_rows[] = {
	{ 0, "0ms" },
	{ 1, "1ms" },
	{ 850, "850ms" },
	{ 999, "999ms" },
	{ 1000, "1s" },
	{ 1999, "1s" },
	{ 12000, "12s" },
	{ 59999, "59s" },
	{ 60000, "1m00s" },
	{ 65000, "1m05s" },
	{ 3599999, "59m59s" },
	{ 3600000, "1h00m" },
	{ 7380000, "2h03m" },
	{ 86399999, "23h59m" },
	{ 86400000, "1d00h" },
	{ 273600000, "3d04h" },
	{ 2147483647u, "24d20h" },
	{ UINT32_MAX, "49d17h" },
};

START_TEST(test_duration_rows)
{
	const struct dur_row *r = &dur_rows[_i];
	char buf[32];

	memset(buf, 'Z', sizeof(buf));
	ck_assert_str_eq(text_duration(r->ms, buf, sizeof(buf)), r->text);
}
END_TEST

struct excerpt_row {
	const char *in; /* NULL: no text */
	size_t max;
	const char *out;
};

/* At most max bytes of the input, then escaped: a byte cut is not
 * taken for the start of a longer character. */
static const struct excerpt_row excerpt_rows[] = {
	{ NULL, 40, "" },
	{ "", 40, "" },
	{ "cert.pem", 40, "cert.pem" },
	{ "cert.pem", 4, "cert" },
	{ "a\nb", 40, "a\\x0ab" },
	{ "tab\there", 40, "tab\\x09here" },
	{ "\xc3\xa9t\xc3\xa9", 1, "\\xc3" },
};

START_TEST(test_excerpt_rows)
{
	const struct excerpt_row *r = &excerpt_rows[_i];
	char buf[4 * 40 + 1];

	memset(buf, 'Z', sizeof(buf));
	ck_assert_str_eq(text_excerpt(r->in, r->max, buf, sizeof(buf)), r->out);
}
END_TEST

static Suite *text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("escape");

	tcase_add_loop_test(tc, test_escape_rows, 0, NROWS(esc_rows));
	tcase_add_test(tc, test_escape_output_is_inert);
	tcase_add_loop_test(tc, test_escape_truncation_rows, 0,
			    NROWS(esc_trunc_rows));
	tcase_add_loop_test(tc, test_excerpt_rows, 0, NROWS(excerpt_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("utf8");
	tcase_add_loop_test(tc, test_utf8_rows, 0, NROWS(utf8_rows));
	tcase_add_test(tc, test_utf8_idempotent);
	tcase_add_loop_test(tc, test_utf8_truncation_rows, 0,
			    NROWS(utf8_trunc_rows));
	tcase_add_loop_test(tc, test_width_rows, 0, NROWS(width_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("prometheus");
	tcase_add_loop_test(tc, test_prom_rows, 0, NROWS(prom_rows));
	tcase_add_test(tc, test_prom_label_inert);
	tcase_add_loop_test(tc, test_prom_truncation_rows, 0, NROWS(prom_trunc_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_loop_test(tc, test_addr_rows, 0, NROWS(addr_rows));
	tcase_add_test(tc, test_endpoint_longest);
	tcase_add_loop_test(tc, test_duration_rows, 0, NROWS(dur_rows));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(text_suite());
}
