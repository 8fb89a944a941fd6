/*
 * Unit tests for json_writer.h: the text of each value, the commas of
 * nested objects and arrays, strings escaped like text_json_string and
 * cut at JSON_STRING_MAX, output past one buffer, and a failed write.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_writer.h"
#include "text.h"
#include "lib/runsuite.h"

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The writer is too large for a test's stack. */
static struct json_writer w;

/* What `fill` writes, as a NUL-terminated string to free. */
static char *written(void (*fill)(struct json_writer *), size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *out = open_memstream(&buf, &n);

	ck_assert_ptr_nonnull(out);
	jsonw_init(&w, out);
	fill(&w);
	ck_assert_int_eq(jsonw_flush(&w), 0);
	ck_assert_int_eq(fclose(out), 0);
	if (len)
		*len = n;
	return buf;
}

/* ---- values ------------------------------------------------------- */

static void fill_uint_0(struct json_writer *o) { jsonw_uint(o, NULL, 0); }
static void fill_uint_max(struct json_writer *o) { jsonw_uint(o, NULL, ULLONG_MAX); }
static void fill_int_neg(struct json_writer *o) { jsonw_int(o, NULL, -42); }
static void fill_int_min(struct json_writer *o) { jsonw_int(o, NULL, LLONG_MIN); }
static void fill_int_max(struct json_writer *o) { jsonw_int(o, NULL, LLONG_MAX); }
static void fill_null(struct json_writer *o) { jsonw_null(o, NULL); }
static void fill_bools(struct json_writer *o)
{
	jsonw_array_begin(o, NULL);
	jsonw_bool(o, NULL, true);
	jsonw_bool(o, NULL, false);
	jsonw_array_end(o);
}
static void fill_number(struct json_writer *o) { jsonw_number(o, "r", "-1.500"); }
static void fill_empty(struct json_writer *o)
{
	jsonw_object_begin(o, NULL);
	jsonw_array_begin(o, "a");
	jsonw_array_end(o);
	jsonw_object_begin(o, "o");
	jsonw_object_end(o);
	jsonw_object_end(o);
}
/* Commas at each level, none at the top (the caller's layout). */
static void fill_nested(struct json_writer *o)
{
	jsonw_object_begin(o, NULL);
	jsonw_uint(o, "a", 1);
	jsonw_array_begin(o, "b");
	jsonw_object_begin(o, NULL);
	jsonw_null(o, "c");
	jsonw_object_begin(o, "d");
	jsonw_int(o, "e", -1);
	jsonw_int(o, "f", 2);
	jsonw_object_end(o);
	jsonw_object_end(o);
	jsonw_object_begin(o, NULL);
	jsonw_object_end(o);
	jsonw_cstring(o, NULL, "s");
	jsonw_array_end(o);
	jsonw_bool(o, "g", false);
	jsonw_object_end(o);
	jsonw_raw(o, ",\n", 2);
	jsonw_object_begin(o, NULL);
	jsonw_uint(o, "h", 3);
	jsonw_object_end(o);
}

struct value_row {
	void (*fill)(struct json_writer *);
	const char *want;
};

static const struct value_row value_rows[] = {
	{ fill_uint_0, "0" },
	{ fill_uint_max, "18446744073709551615" },
	{ fill_int_neg, "-42" },
	{ fill_int_min, "-9223372036854775808" },
	{ fill_int_max, "9223372036854775807" },
	{ fill_null, "null" },
	{ fill_bools, "[true,false]" },
	{ fill_number, "\"r\":-1.500" },
	{ fill_empty, "{\"a\":[],\"o\":{}}" },
	{ fill_nested, "{\"a\":1,\"b\":[{\"c\":null,\"d\":{\"e\":-1,\"f\":2}},{},\"s\"],"
		       "\"g\":false},\n{\"h\":3}" },
};

START_TEST(test_value_rows)
{
	const struct value_row *r = &value_rows[_i];
	char *got = written(r->fill, NULL);

	ck_assert_str_eq(got, r->want);
	free(got);
}
END_TEST

/* ---- strings ------------------------------------------------------ */

/* Inputs carry their length: names may hold NUL bytes. */
static const struct {
	const char *in;
	size_t len;
} string_rows[] = {
	{ "", 0 },
	{ "nginx: worker", 13 },
	{ "a\"b\\c", 5 },
	{ "\x1b[2J\n\t", 6 },
	{ "x\0y", 3 },
	{ "\x7f\xc2\x9b", 3 },
	{ "caf\xc3\xa9 \xe6\x97\xa5", 9 },
	{ "\xff\xc3", 2 },
};

static size_t string_i;

static void fill_string(struct json_writer *o)
{
	jsonw_string(o, "k", string_rows[string_i].in, string_rows[string_i].len);
}

/* Every string is exactly what text_json_string makes of it, the plain
 * ASCII ones copied as they are included. */
START_TEST(test_string_rows)
{
	char want[6 * 16 + 8];
	char *got;

	string_i = (size_t)_i;
	memcpy(want, "\"k\":", 4);
	text_json_string(string_rows[_i].in, string_rows[_i].len, want + 4,
			 sizeof(want) - 4);
	got = written(fill_string, NULL);
	ck_assert_str_eq(got, want);
	free(got);
}
END_TEST

static char *long_str;
static size_t long_len;

static void fill_long(struct json_writer *o)
{
	jsonw_string(o, NULL, long_str, long_len);
}

/* A string longer than JSON_STRING_MAX is cut there, escaped or not. */
START_TEST(test_string_cut)
{
	char *got, *want = malloc(6 * JSON_STRING_MAX + 3);
	size_t n;

	long_len = JSON_STRING_MAX + 100;
	long_str = malloc(long_len);
	ck_assert_ptr_nonnull(long_str);
	ck_assert_ptr_nonnull(want);
	memset(long_str, _i ? '\n' : 'a', long_len);
	text_json_string(long_str, JSON_STRING_MAX, want, 6 * JSON_STRING_MAX + 3);
	got = written(fill_long, &n);
	ck_assert_uint_eq(n, strlen(want));
	ck_assert_int_eq(memcmp(got, want, n), 0);
	free(got);
	free(want);
	free(long_str);
}
END_TEST

/* ---- output ------------------------------------------------------- */

#define MANY 30000 /* about 170 KB: three buffers */

static void fill_many(struct json_writer *o)
{
	int i;

	jsonw_array_begin(o, NULL);
	for (i = 0; i < MANY; i++)
		jsonw_uint(o, NULL, (unsigned)i);
	jsonw_array_end(o);
}

/* Far more than one buffer: nothing lost or repeated at the flushes. */
START_TEST(test_many_buffers)
{
	size_t n, len = 0, size = 8 * MANY;
	char *got = written(fill_many, &n), *want = malloc(size);
	int i;

	ck_assert_ptr_nonnull(want);
	for (i = 0; i < MANY; i++)
		len += (size_t)snprintf(want + len, size - len, "%c%d", i ? ',' : '[', i);
	len += (size_t)snprintf(want + len, size - len, "]");
	ck_assert_uint_gt(n, 2 * sizeof(w.buf));
	ck_assert_uint_eq(n, len);
	ck_assert_int_eq(memcmp(got, want, n), 0);
	free(want);
	free(got);
}
END_TEST

/* A stream that cannot be written: the error comes back from the flush
 * (the first one, however many buffers were written after it). */
START_TEST(test_write_error)
{
	FILE *full = fopen("/dev/full", "w");

	ck_assert_ptr_nonnull(full);
	setvbuf(full, NULL, _IONBF, 0);
	jsonw_init(&w, full);
	fill_many(&w);
	ck_assert_int_eq(jsonw_flush(&w), -ENOSPC);
	ck_assert_int_eq(jsonw_flush(&w), -ENOSPC);
	fclose(full);
}
END_TEST

static Suite *json_writer_suite(void)
{
	Suite *s = suite_create("json_writer");
	TCase *tc = tcase_create("values");

	tcase_add_loop_test(tc, test_value_rows, 0, NROWS(value_rows));
	tcase_add_loop_test(tc, test_string_rows, 0, NROWS(string_rows));
	tcase_add_loop_test(tc, test_string_cut, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("output");
	tcase_add_test(tc, test_many_buffers);
	tcase_add_test(tc, test_write_error);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(json_writer_suite());
}
