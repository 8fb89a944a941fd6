/*
 * The hash index and the growable array (hindex.c, vec.c), the two
 * containers every table of the program is built on.  Keys are chosen
 * to collide (the same hash for many items, hashes that differ only in
 * high bits) so that probing, growth and rehashing are all exercised;
 * every item put must be found again, and nothing else.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hindex.h"
#include "vec.h"
#include "lib/runsuite.h"

/* How a row's keys hash. */
enum shape { SEQUENTIAL, SAME_HASH, HIGH_BITS, SPARSE };

static const struct {
	enum shape shape;
	size_t n;
} rows[] = {
	{ SEQUENTIAL, 1 },   { SEQUENTIAL, 17 },  { SEQUENTIAL, 100000 },
	{ SAME_HASH, 300 },  { HIGH_BITS, 5000 }, { SPARSE, 20000 },
};

struct keys {
	uint64_t *k;
	size_t n, cap;
	enum shape shape;
};

static uint64_t key_hash(const struct keys *ks, uint64_t key)
{
	return ks->shape == SAME_HASH ? 42 : key;
}

static uint64_t item_hash(uint32_t item, const void *ctx)
{
	const struct keys *ks = ctx;

	return key_hash(ks, ks->k[item]);
}

static uint64_t key_of(enum shape shape, size_t i)
{
	switch (shape) {
	case HIGH_BITS:
		return (uint64_t)i << 40;
	case SPARSE:
		return (uint64_t)i * 2654435761u + 7;
	default:
		return i + 1;
	}
}

/* The slot of key: its own, or the empty one it would take. */
static size_t find(const struct hindex *h, const struct keys *ks, uint64_t key)
{
	size_t i = hindex_first(h, key_hash(ks, key));

	for (; !hindex_empty(h, i); i = hindex_next(h, i))
		if (ks->k[hindex_item(h, i)] == key)
			break;
	return i;
}

START_TEST(test_put_find)
{
	struct keys ks = { .shape = rows[_i].shape };
	struct hindex h;
	size_t i, slot;

	hindex_init(&h);
	for (i = 0; i < rows[_i].n; i++) {
		uint64_t key = key_of(ks.shape, i);

		ck_assert_int_eq(VEC_GROW(ks.k, ks.cap, ks.n), 0);
		ck_assert_int_eq(hindex_reserve(&h, 1, item_hash, &ks), 0);
		ck_assert_uint_le(2 * (h.n + 1), h.cap);
		slot = find(&h, &ks, key);
		ck_assert_msg(hindex_empty(&h, slot), "key %zu found before it was put", i);
		ks.k[ks.n] = key;
		hindex_put(&h, slot, (uint32_t)ks.n++);
		/* Put twice: found, not added. */
		ck_assert(!hindex_empty(&h, find(&h, &ks, key)));
	}
	ck_assert_uint_eq(h.n, rows[_i].n);
	for (i = 0; i < rows[_i].n; i++) {
		slot = find(&h, &ks, key_of(ks.shape, i));
		ck_assert_msg(!hindex_empty(&h, slot), "key %zu lost", i);
		ck_assert_uint_eq(hindex_item(&h, slot), i);
	}
	/* A key never put is not found. */
	ck_assert(hindex_empty(&h, find(&h, &ks, key_of(ks.shape, rows[_i].n))));
	hindex_clear(&h);
	ck_assert_uint_eq(h.n, 0);
	ck_assert(hindex_empty(&h, find(&h, &ks, key_of(ks.shape, 0))));
	hindex_free(&h);
	free(ks.k);
}
END_TEST

START_TEST(test_reserve_at_once)
{
	struct keys ks = { .shape = SEQUENTIAL };
	struct hindex h;

	hindex_init(&h);
	ck_assert_int_eq(hindex_reserve(&h, 1000, item_hash, &ks), 0);
	ck_assert_uint_ge(h.cap, 2000);
	ck_assert_uint_eq(h.cap & (h.cap - 1), 0);
	/* Enough room already: the slots stay. */
	{
		uint32_t *before = h.slots;

		ck_assert_int_eq(hindex_reserve(&h, 10, item_hash, &ks), 0);
		ck_assert_ptr_eq(h.slots, before);
	}
	ck_assert_int_eq(hindex_reserve(&h, SIZE_MAX, item_hash, &ks), -ENOMEM);
	hindex_free(&h);
}
END_TEST

START_TEST(test_vec)
{
	int *v = NULL;
	size_t cap = 0, n;
	char *b = NULL;
	size_t bcap = 0;

	for (n = 0; n < 1000; n++) {
		ck_assert_int_eq(VEC_GROW(v, cap, n), 0);
		ck_assert_uint_gt(cap, n);
		v[n] = (int)n;
	}
	for (n = 0; n < 1000; n++)
		ck_assert_int_eq(v[n], (int)n);
	/* Sizes that overflow are refused, the array kept. */
	ck_assert_int_eq(vec_reserve(&v, &cap, SIZE_MAX, sizeof(*v)), -ENOMEM);
	ck_assert_int_eq(vec_reserve(&v, &cap, SIZE_MAX / 2, sizeof(*v)), -ENOMEM);
	ck_assert_int_eq(v[999], 999);
	/* Bytes: room for exactly what is asked, or more. */
	ck_assert_int_eq(vec_reserve(&b, &bcap, 5000, 1), 0);
	ck_assert_uint_ge(bcap, 5000);
	memset(b, 'x', 5000);
	free(b);
	free(v);
}
END_TEST

START_TEST(test_bytes_hash)
{
	/* FNV-1a: the empty input is the seed; one byte changes it. */
	ck_assert_uint_eq(hindex_bytes(HINDEX_SEED, "", 0), HINDEX_SEED);
	ck_assert_uint_ne(hindex_bytes(HINDEX_SEED, "a", 1),
			  hindex_bytes(HINDEX_SEED, "b", 1));
	ck_assert_uint_eq(hindex_bytes(HINDEX_SEED, "a", 1), 0xaf63dc4c8601ec8cULL);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("hindex");
	TCase *tc = tcase_create("hindex");
	int failed;

	tcase_add_loop_test(tc, test_put_find, 0, (int)(sizeof(rows) / sizeof(rows[0])));
	tcase_add_test(tc, test_reserve_at_once);
	tcase_add_test(tc, test_vec);
	tcase_add_test(tc, test_bytes_hash);
	suite_add_tcase(su, tc);
	failed = run_suite(su);
	return failed != 0;
}
