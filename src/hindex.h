/*
 * The program's one hash index, for every lookup table: open addressing
 * with linear probing, at most half full.  The items stay in the
 * caller's array; a slot holds an item's number plus one (0: empty).
 * The caller hashes and compares, walking the probe sequence from
 * hindex_first with hindex_next until an empty slot or its item; a new
 * item goes into the empty slot the walk stopped at (hindex_put).
 */
#ifndef SOCKAUDIT_HINDEX_H
#define SOCKAUDIT_HINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hindex {
	uint32_t *slots;
	size_t cap; /* a power of two; 0 before the first hindex_reserve */
	size_t n;   /* items put */
};

/* An item's hash, for rehashing when the index grows. */
typedef uint64_t (*hindex_hash_fn)(uint32_t item, const void *ctx);

#define HINDEX_SEED 14695981039346656037ULL

/* FNV-1a over n bytes at p, from h (HINDEX_SEED to start). */
uint64_t hindex_bytes(uint64_t h, const void *p, size_t n);

void hindex_init(struct hindex *h);
void hindex_free(struct hindex *h);

/* Room for `more` items beyond those put, at most half full: grows and
 * rehashes with hash(item, ctx) when needed.  Returns 0 or -ENOMEM (the
 * index unchanged). */
int hindex_reserve(struct hindex *h, size_t more, hindex_hash_fn hash,
		   const void *ctx);

/* Forget every item, keeping the slots. */
void hindex_clear(struct hindex *h);

/* The first slot of hash's probe sequence (the index reserved). */
static inline size_t hindex_first(const struct hindex *h, uint64_t hash)
{
	/* Keys that differ in a few low or high bits (inode numbers,
	 * ports) spread over the whole table. */
	hash ^= hash >> 33;
	hash *= 0xff51afd7ed558ccdULL;
	hash ^= hash >> 33;
	return (size_t)hash & (h->cap - 1);
}

static inline size_t hindex_next(const struct hindex *h, size_t slot)
{
	return (slot + 1) & (h->cap - 1);
}

static inline bool hindex_empty(const struct hindex *h, size_t slot)
{
	return h->slots[slot] == 0;
}

/* The item in a slot that is not empty. */
static inline uint32_t hindex_item(const struct hindex *h, size_t slot)
{
	return h->slots[slot] - 1;
}

/* Put item into the empty slot a walk stopped at (room reserved). */
static inline void hindex_put(struct hindex *h, size_t slot, uint32_t item)
{
	h->slots[slot] = item + 1;
	h->n++;
}

#endif
