/*
 * The hash index (see hindex.h).
 */
#include "hindex.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t hindex_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--)
		h = (h ^ *c++) * 1099511628211ULL;
	return h;
}

void hindex_init(struct hindex *h)
{
	memset(h, 0, sizeof(*h));
}

void hindex_free(struct hindex *h)
{
	free(h->slots);
	hindex_init(h);
}

void hindex_clear(struct hindex *h)
{
	if (h->slots)
		memset(h->slots, 0, h->cap * sizeof(*h->slots));
	h->n = 0;
}

int hindex_reserve(struct hindex *h, size_t more, hindex_hash_fn hash,
		   const void *ctx)
{
	size_t want = 16, i;
	struct hindex g;

	if (more > (SIZE_MAX / 4) - h->n)
		return -ENOMEM;
	if (2 * (h->n + more) <= h->cap)
		return 0;
	while (want < 2 * (h->n + more))
		want *= 2;
	g.cap = want;
	g.n = 0;
	g.slots = calloc(want, sizeof(*g.slots));
	if (!g.slots)
		return -ENOMEM;
	for (i = 0; i < h->cap; i++) {
		size_t j;

		if (hindex_empty(h, i))
			continue;
		j = hindex_first(&g, hash(hindex_item(h, i), ctx));
		while (!hindex_empty(&g, j))
			j = hindex_next(&g, j);
		hindex_put(&g, j, hindex_item(h, i));
	}
	free(h->slots);
	*h = g;
	return 0;
}
