/* The socket table and its inode index. */
#include "table.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"

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
	hindex_free(&t->index);
	free(t->listeners);
	hindex_free(&t->listener_index);
	free(t->netns);
	free(t->paths);
	table_init(t);
}

struct sock_rec *table_add_sock(struct sock_table *t)
{
	struct sock_rec *r;

	if (VEC_GROW(t->socks, t->socks_cap, t->nsocks))
		return NULL;
	r = &t->socks[t->nsocks++];
	memset(r, 0, sizeof(*r));
	r->owners = NO_INDEX;
	r->group = NO_INDEX;
	r->has_local = 1;
	r->netns = t->cur_netns;
	return r;
}

static uint64_t sock_hash(uint32_t sock, const void *ctx)
{
	const struct sock_table *t = ctx;

	return t->socks[sock].inode;
}

static void index_put(struct sock_table *t, uint32_t sock)
{
	size_t i = hindex_first(&t->index, t->socks[sock].inode);

	for (; !hindex_empty(&t->index, i); i = hindex_next(&t->index, i))
		/* The same inode twice (a dump that raced with the kernel):
		 * the first record wins. */
		if (t->socks[hindex_item(&t->index, i)].inode == t->socks[sock].inode)
			return;
	hindex_put(&t->index, i, sock);
}

int table_index(struct sock_table *t)
{
	size_t i;

	if (t->index_used > t->nsocks)
		t->index_used = t->nsocks;
	if (hindex_reserve(&t->index, t->nsocks - t->index_used, sock_hash, t))
		return -ENOMEM;
	for (i = t->index_used; i < t->nsocks; i++)
		if (t->socks[i].inode)
			index_put(t, (uint32_t)i);
	t->index_used = t->nsocks;
	return 0;
}

uint32_t table_find(const struct sock_table *t, uint32_t inode)
{
	size_t i;

	if (!t->index.cap || !inode)
		return NO_INDEX;
	for (i = hindex_first(&t->index, inode); !hindex_empty(&t->index, i);
	     i = hindex_next(&t->index, i))
		if (t->socks[hindex_item(&t->index, i)].inode == inode)
			return hindex_item(&t->index, i);
	return NO_INDEX;
}

/* A record's identity for table_drop_repeats: its inode, or, held by no
 * descriptor (inode 0), its state and both ends. */
static uint64_t repeat_hash(const struct sock_rec *r)
{
	uint64_t h = HINDEX_SEED;

	if (r->inode)
		return r->inode;
	h = hindex_bytes(h, r->laddr, sizeof(r->laddr));
	h = hindex_bytes(h, r->raddr, sizeof(r->raddr));
	h = hindex_bytes(h, &r->lport, sizeof(r->lport));
	h = hindex_bytes(h, &r->rport, sizeof(r->rport));
	h = hindex_bytes(h, &r->family, sizeof(r->family));
	return hindex_bytes(h, &r->state, sizeof(r->state));
}

static uint64_t repeat_hash_of(uint32_t sock, const void *ctx)
{
	const struct sock_table *t = ctx;

	return repeat_hash(&t->socks[sock]);
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
	size_t n = t->nsocks > from ? t->nsocks - from : 0, out = from;
	struct hindex set;

	if (n < 2)
		return 0;
	hindex_init(&set);
	if (hindex_reserve(&set, n, repeat_hash_of, t))
		return -ENOMEM;
	for (size_t i = from; i < t->nsocks; i++) {
		const struct sock_rec *r = &t->socks[i];
		size_t slot = hindex_first(&set, repeat_hash(r));
		bool repeat = false;

		for (; !hindex_empty(&set, slot); slot = hindex_next(&set, slot))
			if (same_socket(&t->socks[hindex_item(&set, slot)], r)) {
				repeat = true;
				break;
			}
		if (repeat)
			continue;
		if (out != i)
			t->socks[out] = *r;
		hindex_put(&set, slot, (uint32_t)out);
		out++;
	}
	hindex_free(&set);
	n = t->nsocks - out;
	t->nsocks = out;
	return (ssize_t)n;
}

uint32_t table_add_proc(struct sock_table *t, pid_t pid, const char *comm,
			size_t comm_len)
{
	struct proc_rec *p;

	if (VEC_GROW(t->procs, t->procs_cap, t->nprocs))
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

	if (VEC_GROW(t->refs, t->refs_cap, t->nrefs))
		return -ENOMEM;
	if (sock >= t->owner_tail_cap) {
		size_t cap = t->socks_cap > sock ? t->socks_cap : (size_t)sock + 1;
		if (vec_reserve(&t->owner_tail, &t->owner_tail_cap, cap,
				sizeof(*t->owner_tail)))
			return -ENOMEM;
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

static uint64_t listener_key(uint32_t netns, uint16_t port)
{
	return (uint64_t)netns << 16 | port;
}

static uint64_t listener_hash(uint32_t item, const void *ctx)
{
	const struct sock_table *t = ctx;

	return t->listeners[item];
}

/* The slot of key in the listener index: its own, or the empty one
 * where it would go. */
static size_t listener_slot(const struct sock_table *t, uint64_t key)
{
	const struct hindex *h = &t->listener_index;
	size_t i = hindex_first(h, key);

	for (; !hindex_empty(h, i); i = hindex_next(h, i))
		if (t->listeners[hindex_item(h, i)] == key)
			break;
	return i;
}

int table_mark_listener(struct sock_table *t, uint16_t port)
{
	uint64_t key = listener_key(t->cur_netns, port);
	size_t i;

	if (table_has_listener(t, t->cur_netns, port))
		return 0;
	if (hindex_reserve(&t->listener_index, 1, listener_hash, t) ||
	    VEC_GROW(t->listeners, t->listeners_cap, t->nlisteners))
		return -ENOMEM;
	i = listener_slot(t, key);
	t->listeners[t->nlisteners] = key;
	hindex_put(&t->listener_index, i, (uint32_t)t->nlisteners++);
	return 0;
}

int table_has_listener(const struct sock_table *t, uint32_t netns, uint16_t port)
{
	if (!t->listener_index.cap)
		return 0;
	return !hindex_empty(&t->listener_index,
			     listener_slot(t, listener_key(netns, port)));
}

struct table_mark table_mark(const struct sock_table *t)
{
	struct table_mark m = {
		.nsocks = t->nsocks,
		.nlisteners = t->nlisteners,
		.paths_len = t->paths_len,
	};

	return m;
}

/* Put listener marks [0, nlisteners) in the listener index again; it
 * has room, they were all in it. */
static void listeners_reindex(struct sock_table *t)
{
	size_t i;

	hindex_clear(&t->listener_index);
	for (i = 0; i < t->nlisteners; i++)
		hindex_put(&t->listener_index, listener_slot(t, t->listeners[i]),
			   (uint32_t)i);
}

/* The same for the inode index and socks[0, index_used). */
static void socks_reindex(struct sock_table *t)
{
	size_t i;

	hindex_clear(&t->index);
	for (i = 0; i < t->index_used; i++)
		if (t->socks[i].inode)
			index_put(t, (uint32_t)i);
}

/*
 * Why every part: a listener mark left by a dump that failed makes the
 * audit take a later client socket on that port for a server one; an
 * index entry of a dropped socket would point at whichever record takes
 * its place.
 */
void table_rollback(struct sock_table *t, const struct table_mark *m)
{
	if (m->nsocks < t->nsocks)
		t->nsocks = m->nsocks;
	if (m->nlisteners < t->nlisteners) {
		t->nlisteners = m->nlisteners;
		listeners_reindex(t);
	}
	if (m->paths_len < t->paths_len)
		t->paths_len = m->paths_len;
	if (t->index_used > t->nsocks) {
		t->index_used = t->nsocks;
		socks_reindex(t);
	}
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
	if (VEC_GROW(t->netns, t->netns_cap, t->nnetns))
		return -ENOMEM;
	p = t->netns;
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
	if (vec_reserve(&t->paths, &t->paths_cap, t->paths_len + 1 + len, 1))
		return -ENOMEM;
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
