/* libFuzzer target: escaping untrusted names for the table, JSON and
 * Prometheus label values.  Checks what text.h promises: the table form
 * has no control byte, the JSON form is valid UTF-8 with no raw control
 * character, the label form is valid UTF-8 with no raw newline and only
 * the format's three escapes, the return is the full length, and a small
 * buffer gets a NUL-terminated prefix. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Valid UTF-8 (no overlongs, surrogates, or code points > U+10FFFF),
 * and no C0, DEL or C1 character raw. */
static int json_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		uint32_t cp;
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		if (cp >= 0x80 && cp <= 0x9f)
			return 0;
		i += len;
	}
	return 1;
}

static void check_escape(const char *in, size_t size)
{
	size_t cap = 4 * size + 1;
	char *out = malloc(cap);
	if (!out)
		return;
	size_t need = text_escape_name(in, size, out, cap);
	if (need >= cap || strlen(out) != need)
		abort();
	for (size_t i = 0; i < need; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c < 0x20 || c == 0x7f)
			abort();
	}
	/* The table form is valid UTF-8 too (bad bytes become \xhh). */
	if (!json_ok((const unsigned char *)out, need))
		abort();

	/* A small buffer: the same length returned, a NUL-terminated prefix. */
	for (size_t small = 0; small <= 8; small += 3) {
		char *sb = malloc(small ? small : 1);
		if (!sb)
			break;
		size_t n2 = text_escape_name(in, size, small ? sb : NULL, small);
		if (n2 != need)
			abort();
		if (small) {
			size_t l = strnlen(sb, small);
			if (l >= small || memcmp(sb, out, l) != 0)
				abort();
		}
		free(sb);
	}
	free(out);
}

static void check_json(const char *in, size_t size)
{
	size_t cap = 6 * size + 3;
	char *out = malloc(cap);
	if (!out)
		return;
	size_t need = text_json_string(in, size, out, cap);
	if (need >= cap || strlen(out) != need || need < 2 ||
	    out[0] != '"' || out[need - 1] != '"')
		abort();
	if (!json_ok((const unsigned char *)out, need))
		abort();
	for (size_t small = 0; small <= 8; small += 3) {
		char *sb = malloc(small ? small : 1);
		if (!sb)
			break;
		size_t n2 = text_json_string(in, size, small ? sb : NULL, small);
		if (n2 != need)
			abort();
		if (small) {
			size_t l = strnlen(sb, small);
			if (l >= small || memcmp(sb, out, l) != 0)
				abort();
		}
		free(sb);
	}
	free(out);

	size_t ucap = 3 * size + 1;
	char *u = malloc(ucap);
	if (!u)
		return;
	size_t un = text_utf8_sanitize(in, size, u, ucap);
	if (un >= ucap || strlen(u) > un)
		abort();
	free(u);
}

static void check_prom(const char *in, size_t size)
{
	size_t cap = 3 * size + 1;
	char *out = malloc(cap), *again;
	if (!out)
		return;
	size_t need = text_prom_label(in, size, out, cap);
	if (need >= cap || strlen(out) > need)
		abort();
	/* Valid UTF-8: sanitizing it again changes nothing. */
	again = malloc(3 * need + 1);
	if (again) {
		if (text_utf8_sanitize(out, need, again, 3 * need + 1) != need ||
		    memcmp(again, out, need) != 0)
			abort();
		free(again);
	}
	for (size_t i = 0; i < need; i++) {
		if (out[i] == '\n' || out[i] == '"')
			abort();
		if (out[i] == '\\') {
			if (i + 1 >= need || !strchr("\\\"n", out[i + 1]))
				abort();
			i++;
		}
	}
	for (size_t small = 1; small <= 7; small += 3) {
		char sb[8];
		if (text_prom_label(in, size, sb, small) != need)
			abort();
		if (strnlen(sb, small) >= small || memcmp(sb, out, strlen(sb)) != 0)
			abort();
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exactly-sized copy, so ASan sees reads past the end. */
	char *in = malloc(size ? size : 1);
	if (!in)
		return 0;
	if (size)
		memcpy(in, data, size);
	check_escape(in, size);
	check_json(in, size);
	check_prom(in, size);
	free(in);
	return 0;
}
