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

/*
 * The same for a whole host, where sockets come and go: `before` and
 * `after` are two readings of ss taken around sockaudit's.  Every key
 * in both (a socket unchanged across the readings) must be in got; a
 * key of got in neither (a socket that came and went, or changed and
 * changed back, in between) is tolerated up to `slack` times.  Fails
 * listing the differences; returns how many keys were stable; frees all
 * three sets.
 */
size_t keyset_expect_stable(struct keyset *got, struct keyset *before,
			    struct keyset *after, size_t slack, const char *what);

#endif
