/*
 * Sets of canonical socket keys (see keyset.h).
 */
#include "keyset.h"

#include <check.h>
#include <stdbool.h>
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

/* Whether normalized ks holds key. */
static bool has_key(const struct keyset *ks, const char *key)
{
	return ks->n && bsearch(key, ks->keys, ks->n, KEY_LEN, cmp_key) != NULL;
}

static void keyset_free(struct keyset *ks)
{
	free(ks->keys);
	memset(ks, 0, sizeof(*ks));
}

size_t keyset_expect_stable(struct keyset *got, struct keyset *before,
			    struct keyset *after, size_t slack, const char *what)
{
	char missing[4096] = "", extra[4096] = "";
	size_t i, stable = 0, nmissing = 0, nextra = 0, lm = 0, le = 0;

	normalize(got);
	normalize(before);
	normalize(after);
	for (i = 0; i < before->n; i++) {
		if (!has_key(after, before->keys[i]))
			continue;
		stable++;
		if (has_key(got, before->keys[i]))
			continue;
		nmissing++;
		if (lm < sizeof(missing) - 1)
			lm += (size_t)snprintf(missing + lm, sizeof(missing) - lm,
					       "\n  ss only:        %s", before->keys[i]);
	}
	for (i = 0; i < got->n; i++) {
		if (has_key(before, got->keys[i]) || has_key(after, got->keys[i]))
			continue;
		nextra++;
		if (le < sizeof(extra) - 1)
			le += (size_t)snprintf(extra + le, sizeof(extra) - le,
					       "\n  sockaudit only: %s", got->keys[i]);
	}
	ck_assert_msg(stable > 0, "%s: no socket stable across ss's readings", what);
	ck_assert_msg(nmissing == 0,
		      "%s: %zu of %zu sockets ss saw unchanged before and after are not in "
		      "sockaudit's report:%s", what, nmissing, stable, missing);
	ck_assert_msg(nextra <= slack,
		      "%s: %zu sockets in sockaudit's report are in neither of ss's readings "
		      "(%zu tolerated):%s", what, nextra, slack, extra);
	fprintf(stderr, "%s: %zu sockets stable across ss's readings, all in sockaudit's; "
		"%zu of its %zu in neither reading (came and went)\n", what, stable, nextra,
		got->n);
	keyset_free(got);
	keyset_free(before);
	keyset_free(after);
	return stable;
}
