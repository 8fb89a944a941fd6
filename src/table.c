/* The socket table and its inode index. */
#include "table.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void table_init(struct sock_table *t)
{
	memset(t, 0, sizeof(*t));
}

void table_free(struct sock_table *t)
{
	free(t->socks);
	free(t->procs);
	free(t->refs);
	free(t->owner_tail);
	free(t->index);
	free(t->listeners);
	free(t->netns);
	free(t->paths);
	table_init(t);
}

/* Grow *arr (of elements of size `size`) so that it has room for one
 * more element.  Returns 0 or -ENOMEM. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 256;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

struct sock_rec *table_add_sock(struct sock_table *t)
{
	struct sock_rec *r;

	if (grow((void **)&t->socks, &t->socks_cap, t->nsocks, sizeof(*t->socks)))
		return NULL;
	r = &t->socks[t->nsocks++];
	memset(r, 0, sizeof(*r));
	r->owners = NO_INDEX;
	r->group = NO_INDEX;
	r->has_local = 1;
	r->netns = t->cur_netns;
	return r;
}

/* Inode numbers are close to sequential; a multiplicative hash spreads
 * them over the table. */
static size_t slot_of(uint32_t inode, size_t cap)
{
	uint32_t h = (uint32_t)(inode * 2654435761u);

	return (size_t)h & (cap - 1);
}

static void index_put(struct sock_table *t, uint32_t sock)
{
	size_t i = slot_of(t->socks[sock].inode, t->index_cap);

	while (t->index[i]) {
		/* The same inode twice (a dump that raced with the kernel):
		 * the first record wins. */
		if (t->socks[t->index[i] - 1].inode == t->socks[sock].inode)
			return;
		i = (i + 1) & (t->index_cap - 1);
	}
	t->index[i] = sock + 1;
}

int table_index(struct sock_table *t)
{
	size_t want = 1024, i;

	while (want < 2 * t->nsocks)
		want *= 2;
	if (want > t->index_cap) {
		uint32_t *idx = calloc(want, sizeof(*idx));

		if (!idx)
			return -ENOMEM;
		free(t->index);
		t->index = idx;
		t->index_cap = want;
		t->index_used = 0;
	}
	for (i = t->index_used; i < t->nsocks; i++)
		if (t->socks[i].inode)
			index_put(t, (uint32_t)i);
	t->index_used = t->nsocks;
	return 0;
}

uint32_t table_find(const struct sock_table *t, uint32_t inode)
{
	size_t i;

	if (!t->index_cap || !inode)
		return NO_INDEX;
	i = slot_of(inode, t->index_cap);
	while (t->index[i]) {
		uint32_t s = t->index[i] - 1;

		if (t->socks[s].inode == inode)
			return s;
		i = (i + 1) & (t->index_cap - 1);
	}
	return NO_INDEX;
}

/* A record's identity for table_drop_repeats: its inode, or, held by no
 * descriptor (inode 0), its state and both ends. */
static uint64_t repeat_hash(const struct sock_rec *r)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	const unsigned char *parts[] = { r->laddr, r->raddr };

	if (r->inode)
		return (uint64_t)r->inode * 0x9e3779b97f4a7c15ULL;
	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; i < 16; i++)
			h = (h ^ parts[k][i]) * 1099511628211ULL;
	h = (h ^ r->lport) * 1099511628211ULL;
	h = (h ^ r->rport) * 1099511628211ULL;
	h = (h ^ r->family) * 1099511628211ULL;
	return (h ^ r->state) * 1099511628211ULL;
}

static bool same_socket(const struct sock_rec *a, const struct sock_rec *b)
{
	if (a->inode || b->inode)
		return a->inode == b->inode;
	return a->family == b->family && a->state == b->state && a->lport == b->lport &&
	       a->rport == b->rport && !memcmp(a->laddr, b->laddr, sizeof(a->laddr)) &&
	       !memcmp(a->raddr, b->raddr, sizeof(a->raddr));
}

/*
 * Why repeats happen: both sources walk the kernel's hash tables in
 * pieces (a netlink message, a read of /proc/net/tcp) and resume at a
 * position counted within a bucket.  A socket added to or removed from
 * that bucket in between shifts what follows, so one socket is listed
 * twice (or one is missed, which no reader can tell).  A repeat would
 * count twice and, since owners join by inode to the first record, show
 * a socket that nobody holds.  Open addressing over the range, at most
 * half full; the earlier record stays, the order is kept.
 */
ssize_t table_drop_repeats(struct sock_table *t, size_t from)
{
	size_t n = t->nsocks > from ? t->nsocks - from : 0, cap = 16, out = from;
	uint32_t *set;

	if (n < 2)
		return 0;
	while (cap < 2 * n)
		cap *= 2;
	set = calloc(cap, sizeof(*set));
	if (!set)
		return -ENOMEM;
	for (size_t i = from; i < t->nsocks; i++) {
		const struct sock_rec *r = &t->socks[i];
		size_t slot = (size_t)(repeat_hash(r) >> 17) & (cap - 1);
		bool repeat = false;

		for (; set[slot]; slot = (slot + 1) & (cap - 1))
			if (same_socket(&t->socks[set[slot] - 1], r)) {
				repeat = true;
				break;
			}
		if (repeat)
			continue;
		if (out != i)
			t->socks[out] = *r;
		set[slot] = (uint32_t)(out + 1);
		out++;
	}
	free(set);
	n = t->nsocks - out;
	t->nsocks = out;
	return (ssize_t)n;
}

uint32_t table_add_proc(struct sock_table *t, pid_t pid, const char *comm,
			size_t comm_len)
{
	struct proc_rec *p;

	if (grow((void **)&t->procs, &t->procs_cap, t->nprocs, sizeof(*t->procs)))
		return NO_INDEX;
	p = &t->procs[t->nprocs];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	if (comm_len > sizeof(p->comm))
		comm_len = sizeof(p->comm);
	memcpy(p->comm, comm, comm_len);
	p->comm_len = (uint32_t)comm_len;
	return (uint32_t)t->nprocs++;
}

int table_add_owner(struct sock_table *t, uint32_t sock, uint32_t proc, int fd)
{
	struct sock_rec *s = &t->socks[sock];
	struct owner_ref *r;

	if (grow((void **)&t->refs, &t->refs_cap, t->nrefs, sizeof(*t->refs)))
		return -ENOMEM;
	if (sock >= t->owner_tail_cap) {
		size_t cap = t->socks_cap > sock ? t->socks_cap : (size_t)sock + 1;
		uint32_t *v = realloc(t->owner_tail, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->owner_tail = v;
		t->owner_tail_cap = cap;
	}
	r = &t->refs[t->nrefs];
	r->proc = proc;
	r->fd = fd;
	r->next = NO_INDEX;
	/* Keep owners in scan order (ascending PID, then fd): append at the
	 * tail.  (Walking the list instead was quadratic when thousands of
	 * processes share sockets: a pre-fork server.) */
	if (s->owners == NO_INDEX)
		s->owners = (uint32_t)t->nrefs;
	else
		t->refs[t->owner_tail[sock]].next = (uint32_t)t->nrefs;
	t->owner_tail[sock] = (uint32_t)t->nrefs++;
	return 0;
}

/* A 64-bit mix for the listener set: keys differ in a few bits. */
static size_t listener_slot(uint64_t key, size_t cap)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)key & (cap - 1);
}

static uint64_t listener_key(uint32_t netns, uint16_t port)
{
	return ((uint64_t)netns << 16 | port) + 1;
}

static void listener_put(uint64_t *set, size_t cap, uint64_t key)
{
	size_t i = listener_slot(key, cap);

	while (set[i] && set[i] != key)
		i = (i + 1) & (cap - 1);
	set[i] = key;
}

int table_mark_listener(struct sock_table *t, uint16_t port)
{
	uint64_t key = listener_key(t->cur_netns, port);

	if (table_has_listener(t, t->cur_netns, port))
		return 0;
	/* At most half full, so that probes stay short. */
	if (2 * (t->nlisteners + 1) > t->listeners_cap) {
		size_t ncap = t->listeners_cap ? 2 * t->listeners_cap : 256, i;
		uint64_t *set = calloc(ncap, sizeof(*set));

		if (!set)
			return -ENOMEM;
		for (i = 0; i < t->listeners_cap; i++)
			if (t->listeners[i])
				listener_put(set, ncap, t->listeners[i]);
		free(t->listeners);
		t->listeners = set;
		t->listeners_cap = ncap;
	}
	listener_put(t->listeners, t->listeners_cap, key);
	t->nlisteners++;
	return 0;
}

int table_has_listener(const struct sock_table *t, uint32_t netns, uint16_t port)
{
	uint64_t key = listener_key(netns, port);
	size_t i;

	if (!t->listeners_cap)
		return 0;
	for (i = listener_slot(key, t->listeners_cap); t->listeners[i];
	     i = (i + 1) & (t->listeners_cap - 1))
		if (t->listeners[i] == key)
			return 1;
	return 0;
}

int table_set_ephemeral_low(struct sock_table *t, uint32_t netns, uint16_t lo)
{
	struct table_netns *p;
	size_t i;

	for (i = 0; i < t->nnetns; i++)
		if (t->netns[i].netns == netns) {
			t->netns[i].ephemeral_low = lo;
			return 0;
		}
	p = realloc(t->netns, (t->nnetns + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	t->netns = p;
	p[t->nnetns].netns = netns;
	p[t->nnetns].ephemeral_low = lo;
	t->nnetns++;
	return 0;
}

uint16_t table_ephemeral_low(const struct sock_table *t, uint32_t netns,
			     uint16_t dflt)
{
	size_t i;

	for (i = 0; i < t->nnetns; i++)
		if (t->netns[i].netns == netns)
			return t->netns[i].ephemeral_low;
	return dflt;
}

int table_set_path(struct sock_table *t, struct sock_rec *r, const void *name,
		   size_t len)
{
	if (len > 255)
		len = 255;
	if (t->paths_len + 1 + len > t->paths_cap) {
		size_t ncap = t->paths_cap ? t->paths_cap : 4096;
		unsigned char *p;

		while (ncap < t->paths_len + 1 + len)
			ncap *= 2;
		p = realloc(t->paths, ncap);
		if (!p)
			return -ENOMEM;
		t->paths = p;
		t->paths_cap = ncap;
	}
	/* Offsets are 32-bit: past 4 GiB of names, refuse. */
	if (t->paths_len >= UINT32_MAX - 256)
		return -ENOMEM;
	r->ux.path = (uint32_t)t->paths_len + 1;
	t->paths[t->paths_len] = (unsigned char)len;
	memcpy(t->paths + t->paths_len + 1, name, len);
	t->paths_len += 1 + len;
	return 0;
}

size_t table_path(const struct sock_table *t, const struct sock_rec *r,
		  const unsigned char **name)
{
	size_t off;

	*name = NULL;
	if (r->protocol != PROTO_UNIX || !r->ux.path)
		return 0;
	off = r->ux.path - 1;
	if (off >= t->paths_len)
		return 0;
	*name = t->paths + off + 1;
	return t->paths[off];
}
