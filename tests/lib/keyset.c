/*
 * Sets of canonical socket keys (see keyset.h).
 */
#include "keyset.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void keyset_add(struct keyset *ks, const char *key)
{
	if (ks->n == ks->cap) {
		ks->cap = ks->cap ? ks->cap * 2 : 32;
		ks->keys = realloc(ks->keys, ks->cap * sizeof(*ks->keys));
		ck_assert_ptr_nonnull(ks->keys);
	}
	snprintf(ks->keys[ks->n++], KEY_LEN, "%s", key);
}

int keyset_owner_cmp(const void *a, const void *b)
{
	const long *x = a, *y = b;

	return x[0] != y[0] ? (x[0] < y[0] ? -1 : 1) : (x[1] > y[1]) - (x[1] < y[1]);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Sorted, without duplicates. */
static void normalize(struct keyset *ks)
{
	size_t out = 0;

	if (ks->n)
		qsort(ks->keys, ks->n, KEY_LEN, cmp_key);
	for (size_t i = 0; i < ks->n; i++)
		if (out == 0 || strcmp(ks->keys[out - 1], ks->keys[i]))
			memmove(ks->keys[out++], ks->keys[i], KEY_LEN);
	ks->n = out;
}

void keyset_expect_same(struct keyset *got, struct keyset *want, const char *what)
{
	char diff[4096] = "";
	size_t i = 0, j = 0, len = 0;

	normalize(got);
	normalize(want);
	ck_assert_msg(want->n > 0, "%s: ss saw no socket", what);
	while (i < got->n || j < want->n) {
		int c = i == got->n ? 1 : j == want->n ? -1 : strcmp(got->keys[i], want->keys[j]);

		if (c == 0) {
			i++, j++;
			continue;
		}
		if (len < sizeof(diff) - 1)
			len += (size_t)snprintf(diff + len, sizeof(diff) - len, "\n  %s %s",
						c < 0 ? "sockaudit only:" : "ss only:       ",
						c < 0 ? got->keys[i] : want->keys[j]);
		if (c < 0)
			i++;
		else
			j++;
	}
	ck_assert_msg(diff[0] == '\0', "%s: sockaudit and ss disagree:%s", what, diff);
	free(got->keys);
	free(want->keys);
	memset(got, 0, sizeof(*got));
	memset(want, 0, sizeof(*want));
}
