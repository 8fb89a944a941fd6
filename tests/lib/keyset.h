/*
 * Sets of canonical socket keys, one text line per socket, for
 * comparing what sockaudit reports with what ss(8) lists: each test
 * builds the keys of both views its own way, then asks for the two sets
 * to be equal.
 */
#ifndef KEYSET_H
#define KEYSET_H

#include <stddef.h>

#define KEY_LEN 512

struct keyset {
	char (*keys)[KEY_LEN];
	size_t n, cap;
};

/* Add a copy of key (cut at KEY_LEN - 1 bytes). */
void keyset_add(struct keyset *ks, const char *key);

/* qsort comparison of (pid, fd) pairs held as long[2]: by PID, then fd. */
int keyset_owner_cmp(const void *a, const void *b);

/*
 * Fail the test unless both sets hold the same keys (duplicates
 * ignored) and want is not empty; the message lists the keys only one
 * side has.  Frees both sets.
 */
void keyset_expect_same(struct keyset *got, struct keyset *want, const char *what);

#endif
