/*
 * Growth over a --watch window (see growth.h).  Groups are matched from
 * sample to sample by their key (namespace, side, port, peer, PID);
 * processes by PID.
 */
#include "growth.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"

struct growth_group {
	struct group key; /* key fields only: no counts, no processes, no
			   * path ref (it points into one sample's table) */
	/* A UNIX group's name, owned: names are compared by bytes. */
	uint8_t path_len;
	unsigned char path[255];
	struct series sockets, close_wait, idle, peer_closed, dropping;
	uint64_t seen;	  /* the last sample it was present in */
	uint64_t present; /* samples it was present in */
};

struct growth_proc {
	pid_t pid;
	uint32_t comm_len; /* its name, to notice a PID reused by another */
	char comm[64];
	uint64_t n;	  /* samples it was seen in */
	/* Its own time sums, of minutes since its first sample: from
	 * sample 0, t*t of a process first seen days in cancels in the
	 * slope's n*stt - st*st. */
	double t1, st, stt;
	struct series fds, sockets;
	uint32_t fd_types_first[FDT_COUNT]; /* fd_types in its first sample */
};

void growth_init(struct growth *g)
{
	memset(g, 0, sizeof(*g));
}

void growth_free(struct growth *g)
{
	size_t i;

	for (i = 0; g->groups && i < g->ngroups; i++)
		free(g->groups[i].key.wl_key);
	free(g->groups);
	hindex_free(&g->group_index);
	free(g->procs);
	hindex_free(&g->proc_index);
	memset(g, 0, sizeof(*g));
}

/* A UNIX server or client group, keyed by a name. */
static bool named(const struct group *k)
{
	return k->protocol == PROTO_UNIX &&
	       (k->side == SIDE_SERVER || k->side == SIDE_CLIENT);
}

/* Whether tracked group e is the group k, whose UNIX name (if any) is
 * name[0..len). */
static bool same_key(const struct growth_group *e, const struct group *b,
		     const unsigned char *name, size_t len)
{
	const struct group *a = &e->key;

	if (a->side != b->side || a->protocol != b->protocol)
		return false;
	/* A group across namespaces is the same whatever namespaces its
	 * sockets are in from one sample to the next. */
	if (!audit_side_spans_netns(a->side) && a->netns != b->netns)
		return false;
	if (named(b))
		return e->path_len == len && !memcmp(e->path, name, len);
	if (a->side == SIDE_SERVER)
		return a->port == b->port;
	if (a->side == SIDE_PROCESS)
		return a->pid == b->pid;
	if (audit_side_is_workload(a->side))
		return a->wl_key && b->wl_key ? !strcmp(a->wl_key, b->wl_key) :
						 a->wl_key == b->wl_key;
	return a->port == b->port && a->family == b->family &&
	       !memcmp(a->raddr, b->raddr, sizeof(a->raddr));
}

static uint64_t key_hash(const struct group *k, const unsigned char *name,
			 size_t len)
{
	uint64_t h = HINDEX_SEED;
	uint32_t side = (uint32_t)k->side;

	if (!audit_side_spans_netns(k->side))
		h = hindex_bytes(h, &k->netns, sizeof(k->netns));
	h = hindex_bytes(h, &side, sizeof(side));
	h = hindex_bytes(h, &k->protocol, sizeof(k->protocol));
	if (named(k))
		return hindex_bytes(h, name, len);
	if (k->side == SIDE_PROCESS)
		return hindex_bytes(h, &k->pid, sizeof(k->pid));
	if (audit_side_is_workload(k->side))
		return k->wl_key ? hindex_bytes(h, k->wl_key, strlen(k->wl_key)) : h;
	h = hindex_bytes(h, &k->port, sizeof(k->port));
	if (k->side == SIDE_CLIENT)
		h = hindex_bytes(hindex_bytes(h, &k->family, 1), k->raddr, sizeof(k->raddr));
	return h;
}

static uint64_t group_item_hash(uint32_t item, const void *ctx)
{
	const struct growth *g = ctx;
	const struct growth_group *e = &g->groups[item];

	return key_hash(&e->key, e->path, e->path_len);
}

static uint64_t proc_item_hash(uint32_t item, const void *ctx)
{
	const struct growth *g = ctx;

	return (uint64_t)g->procs[item].pid;
}

/* The tracked group with this key (a group of table t), added (all
 * zero so far) if new. */
static struct growth_group *find_group(struct growth *g, const struct sock_table *t,
				       const struct group *k)
{
	struct growth_group *e;
	const unsigned char *name;
	size_t len = audit_group_path(t, k, &name), j;

	if (hindex_reserve(&g->group_index, 1, group_item_hash, g) < 0 ||
	    VEC_GROW(g->groups, g->groups_cap, g->ngroups))
		return NULL;
	for (j = hindex_first(&g->group_index, key_hash(k, name, len));
	     !hindex_empty(&g->group_index, j); j = hindex_next(&g->group_index, j))
		if (same_key(&g->groups[hindex_item(&g->group_index, j)], k, name, len))
			return &g->groups[hindex_item(&g->group_index, j)];
	e = &g->groups[g->ngroups];
	memset(e, 0, sizeof(*e));
	e->key.netns = k->netns;
	e->key.side = k->side;
	e->key.family = k->family;
	e->key.port = k->port;
	e->key.pid = k->pid;
	e->key.protocol = k->protocol;
	memcpy(e->key.raddr, k->raddr, sizeof(e->key.raddr));
	/* The workload's key, its own copy: the audit's goes with it. */
	e->key.wl_proc = NO_INDEX;
	if (k->wl_key && !(e->key.wl_key = strdup(k->wl_key)))
		return NULL;
	e->path_len = (uint8_t)(len < sizeof(e->path) ? len : sizeof(e->path));
	if (len)
		memcpy(e->path, name, e->path_len);
	hindex_put(&g->group_index, j, (uint32_t)g->ngroups++);
	return e;
}

static struct growth_proc *find_proc(struct growth *g, pid_t pid)
{
	struct growth_proc *e;
	size_t j;

	if (hindex_reserve(&g->proc_index, 1, proc_item_hash, g) < 0 ||
	    VEC_GROW(g->procs, g->procs_cap, g->nprocs))
		return NULL;
	for (j = hindex_first(&g->proc_index, (uint64_t)pid); !hindex_empty(&g->proc_index, j);
	     j = hindex_next(&g->proc_index, j))
		if (g->procs[hindex_item(&g->proc_index, j)].pid == pid)
			return &g->procs[hindex_item(&g->proc_index, j)];
	e = &g->procs[g->nprocs];
	memset(e, 0, sizeof(*e));
	e->pid = pid;
	hindex_put(&g->proc_index, j, (uint32_t)g->nprocs++);
	return e;
}

/* Add value y at time t (minutes) to a series whose first sample this
 * is when `first`. */
static void series_add(struct series *s, double t, uint32_t y, bool first)
{
	s->sy += y;
	s->sty += t * y;
	if (first)
		s->first = y;
	else if (y < s->prev)
		s->fell = true;
	if (!first && y != s->first)
		s->changed = true;
	s->prev = y;
	s->last = y;
}

/* A sample in which the series' group is absent: value 0 (which adds
 * nothing to the sums). */
static void series_absent(struct series *s)
{
	if (s->prev)
		s->fell = true;
	if (s->first)
		s->changed = true;
	s->prev = s->last = 0;
}

/* Least-squares slope per minute over n samples with time sums st, stt. */
static double slope(const struct series *s, double n, double st, double stt)
{
	double den = n * stt - st * st;

	if (n < 2 || den <= 0 || !s->changed)
		return 0;
	return (n * s->sty - st * s->sy) / den;
}

static void group_rates(const struct growth *g, const struct growth_group *e,
			struct group_growth *out)
{
	double n = (double)g->samples;

	out->sockets_per_min = slope(&e->sockets, n, g->st, g->stt);
	out->close_wait_per_min = slope(&e->close_wait, n, g->st, g->stt);
	out->idle_per_min = slope(&e->idle, n, g->st, g->stt);
	out->peer_closed_per_min = slope(&e->peer_closed, n, g->st, g->stt);
	out->dropping_per_min = slope(&e->dropping, n, g->st, g->stt);
	out->delta = (int64_t)e->sockets.last - (int64_t)e->sockets.first;
	/* Present in at least LEAK_MIN_SAMPLES samples itself: a group
	 * that just appeared (0 before) rose, but is not yet a staircase. */
	out->leaking = e->present >= LEAK_MIN_SAMPLES && !e->sockets.fell &&
		       e->sockets.last > e->sockets.first;
}

int growth_add(struct growth *g, const struct sock_table *t,
	       const struct audit *a, double when, struct group_growth *gg,
	       struct proc_growth *pg)
{
	uint64_t k = g->samples;
	double tm;
	size_t i;

	if (k == 0)
		g->t0 = when;
	tm = (when - g->t0) / 60.0;
	g->samples++;
	g->st += tm;
	g->stt += tm * tm;

	for (i = 0; i < a->ngroups; i++) {
		const struct group *grp = &a->groups[i];
		struct growth_group *e = find_group(g, t, grp);
		/* A group new after sample 0 was 0 until now: its first
		 * value stays 0. */
		bool first = k == 0;
		uint32_t before;

		if (!e)
			return -ENOMEM;
		/* Its value in the sample before (0 when it was absent). */
		before = e->sockets.last;
		series_add(&e->sockets, tm, grp->n.sockets, first);
		series_add(&e->close_wait, tm, grp->n.close_wait, first);
		series_add(&e->idle, tm, grp->n.idle, first);
		series_add(&e->peer_closed, tm, grp->n.peer_closed, first);
		series_add(&e->dropping, tm, grp->n.dropping, first);
		e->seen = k;
		e->present++;
		if (gg) {
			group_rates(g, e, &gg[i]);
			gg[i].delta_prev = k ? (int64_t)grp->n.sockets - (int64_t)before : 0;
		}
	}
	/* Groups tracked but absent now count 0. */
	for (i = 0; i < g->ngroups; i++) {
		struct growth_group *e = &g->groups[i];

		if (e->seen == k)
			continue;
		series_absent(&e->sockets);
		series_absent(&e->close_wait);
		series_absent(&e->idle);
		series_absent(&e->peer_closed);
		series_absent(&e->dropping);
	}

	for (i = 0; i < a->nprocs; i++) {
		const struct proc_rec *p = &t->procs[a->procs[i]];
		struct growth_proc *e = find_proc(g, p->pid);
		double n, tp;
		unsigned k2;

		if (!e)
			return -ENOMEM;
		/* A PID reused by a process of another name starts over. */
		if (e->n && (e->comm_len != p->comm_len ||
			     memcmp(e->comm, p->comm, p->comm_len) != 0)) {
			memset(e, 0, sizeof(*e));
			e->pid = p->pid;
		}
		if (e->n == 0) {
			e->comm_len = p->comm_len;
			memcpy(e->comm, p->comm, sizeof(e->comm));
			e->t1 = tm;
			memcpy(e->fd_types_first, p->fd_types, sizeof(e->fd_types_first));
		}
		tp = tm - e->t1;
		e->n++;
		e->st += tp;
		e->stt += tp * tp;
		series_add(&e->fds, tp, p->fds, e->n == 1);
		series_add(&e->sockets, tp, p->sockets, e->n == 1);
		if (!pg)
			continue;
		n = (double)e->n;
		pg[i].fds_per_min = slope(&e->fds, n, e->st, e->stt);
		pg[i].sockets_per_min = slope(&e->sockets, n, e->st, e->stt);
		pg[i].fds_delta = (int64_t)e->fds.last - (int64_t)e->fds.first;
		for (k2 = 0; k2 < FDT_COUNT; k2++)
			pg[i].fd_types_delta[k2] = (int64_t)p->fd_types[k2] -
						   (int64_t)e->fd_types_first[k2];
		pg[i].samples = e->n;
		pg[i].minutes_to_limit = -1;
		if (pg[i].fds_per_min > 0 && p->has_fd_limit &&
		    p->fd_limit != FD_LIMIT_NONE)
			pg[i].minutes_to_limit =
				p->fds >= p->fd_limit ? 0 :
				(double)(p->fd_limit - p->fds) / pg[i].fds_per_min;
	}
	return 0;
}

bool growth_fastest(const struct growth *g, struct group *fastest,
		    const unsigned char **name, size_t *name_len,
		    double *per_min)
{
	bool found = false;
	size_t i;

	if (g->samples < 2)
		return false;
	for (i = 0; i < g->ngroups; i++) {
		struct group_growth r;

		group_rates(g, &g->groups[i], &r);
		if (!found || r.sockets_per_min > *per_min) {
			*per_min = r.sockets_per_min;
			*fastest = g->groups[i].key;
			*name_len = named(&g->groups[i].key) ? g->groups[i].path_len : 0;
			*name = *name_len ? g->groups[i].path : NULL;
			found = true;
		}
	}
	return found;
}
