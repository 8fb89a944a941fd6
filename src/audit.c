/*
 * The audit: flag every socket, select what the options ask for, group
 * the selected sockets and order the groups most suspicious first.
 *
 * Groups (contract, "Groups"): a socket whose local port has a listener
 * in the namespace, or lies below the ephemeral range, is server-side and
 * grouped by local port; any other is client-side, grouped by peer
 * address and port; a dead socket is grouped by the lowest PID holding it.
 */
#include "audit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "vec.h"
#include "workload.h"

/*
 * The flags of a UDP or UNIX socket: dropping for a UDP socket that has
 * dropped datagrams; peer_closed for a connected UNIX stream or
 * seqpacket socket whose peer closed (or shut down writing): the kernel
 * set its receive side shut down.  Only sock_diag gives that state.
 */
static unsigned kind_flags(const struct sock_rec *s)
{
	if (s->protocol == PROTO_UDP)
		return s->drops ? FLAG_DROPPING : 0;
	if (s->protocol == PROTO_UNIX && s->has_shutdown &&
	    s->state == ST_ESTABLISHED &&
	    (s->utype == SOCK_STREAM || s->utype == SOCK_SEQPACKET) &&
	    (s->shutdown & UNIX_SHUT_RCV))
		return FLAG_PEER_CLOSED;
	return 0;
}

unsigned audit_flags_of(const struct sock_rec *s, uint32_t idle_ms)
{
	unsigned f = 0;

	if (sock_is_dead(s))
		return FLAG_DEAD;
	if (s->protocol != PROTO_TCP)
		return kind_flags(s);
	if (s->state == ST_CLOSE_WAIT)
		f |= FLAG_CLOSE_WAIT;
	if (!s->has_times)
		return f;
	if (s->state == ST_ESTABLISHED && s->last_recv_ms >= idle_ms &&
	    s->last_send_ms >= idle_ms)
		f |= FLAG_IDLE;
	/* In CLOSE-WAIT the peer's FIN may count as one byte of recv_q. */
	if (((s->state == ST_ESTABLISHED && s->recv_q > 0) ||
	     (s->state == ST_CLOSE_WAIT && s->recv_q > 1)) &&
	    s->last_recv_ms >= idle_ms)
		f |= FLAG_STALLED;
	return f;
}

int audit_shows_times(const struct sock_rec *s)
{
	return s->has_times && s->state != ST_LISTEN && s->state != ST_TIME_WAIT &&
	       s->state != ST_SYN_SENT && s->state != ST_SYN_RECV;
}

const char *audit_side_name(enum group_side side)
{
	static const char *const names[SIDE_COUNT] = {
		"server", "client", "process", "unit", "container", "pod",
	};

	return (unsigned)side < SIDE_COUNT ? names[side] : "?";
}

static int bit_set(const uint8_t *bits, uint16_t v)
{
	return (bits[v >> 3] >> (v & 7)) & 1;
}

static int is_selected(const struct sock_rec *s, const struct audit_opts *o)
{
	unsigned fam = s->family == AF_INET ? FAMILY_INET :
		       s->family == AF_INET6 ? FAMILY_INET6 : FAMILY_BOTH;

	if (s->origin == ORIGIN_LATE || !(o->states & STATE_BIT(s->state)))
		return 0;
	/* -4, -6: a UNIX socket is neither. */
	if ((o->families & fam) != fam)
		return 0;
	/* A UNIX socket has no port: a port selection leaves it out. */
	if ((o->ports || o->rports) && s->protocol == PROTO_UNIX)
		return 0;
	if (o->ports && !(s->has_local && bit_set(o->ports, s->lport)))
		return 0;
	/* A dead socket has no peer: it never matches a remote port. */
	if (o->rports && (sock_is_dead(s) || !bit_set(o->rports, s->rport)))
		return 0;
	if (o->flags && !(s->flags & o->flags))
		return 0;
	if (o->by_pid && s->owners == NO_INDEX)
		return 0;
	return 1;
}

/* Whether a holder of s passes o->holder_ok (true when none is set). */
static int held_by_selected(const struct sock_table *t, const struct sock_rec *s,
			    const struct audit_opts *o)
{
	uint32_t r;

	if (!o->holder_ok)
		return 1;
	for (r = s->owners; r != NO_INDEX; r = t->refs[r].next)
		if (o->holder_ok(t, t->refs[r].proc, o->holder_arg))
			return 1;
	return 0;
}

/* What identifies a group; zeroed before use so memcmp compares it. */
struct group_key {
	uint64_t wl_hash;	/* workload sides: of the key, 0 for none */
	uint32_t netns;
	int32_t pid;
	uint32_t path; /* UNIX: canonical name ref (interned by path_canon) */
	uint16_t port;
	uint8_t side;
	uint8_t family;
	uint8_t protocol;
	/* No padding: memcmp compares every byte (zeroed with the key). */
	/* cppcheck-suppress unusedStructMember */
	uint8_t spare[7];
	unsigned char raddr[16];
};

/*
 * UNIX names interned: sockets that share a name carry it at different
 * places of the table's pool; groups need one reference for equal bytes.
 * The index's items are path refs minus one, hashed by their bytes.
 */
static uint64_t path_hash(const struct sock_table *t, uint32_t ref)
{
	return hindex_bytes(HINDEX_SEED, t->paths + ref, t->paths[ref - 1]);
}

static uint64_t path_item_hash(uint32_t item, const void *ctx)
{
	return path_hash(ctx, item + 1);
}

/*
 * The canonical reference of path ref `ref` (the first one seen with the
 * same bytes) into *out; 0 stays 0.  Returns 0 or -ENOMEM.
 */
static int path_canon(struct hindex *pm, const struct sock_table *t,
		      uint32_t ref, uint32_t *out)
{
	const unsigned char *name;
	size_t len, j;

	*out = 0;
	if (!ref || ref > t->paths_len)
		return 0;
	if (hindex_reserve(pm, 1, path_item_hash, t) < 0)
		return -ENOMEM;
	name = t->paths + ref;
	len = t->paths[ref - 1];
	for (j = hindex_first(pm, path_hash(t, ref)); !hindex_empty(pm, j);
	     j = hindex_next(pm, j)) {
		uint32_t other = hindex_item(pm, j) + 1;

		if (t->paths[other - 1] == len && !memcmp(t->paths + other, name, len)) {
			*out = other;
			return 0;
		}
	}
	hindex_put(pm, j, ref - 1);
	*out = ref;
	return 0;
}

size_t audit_group_path(const struct sock_table *t, const struct group *g,
			const unsigned char **name)
{
	*name = NULL;
	if (g->protocol != PROTO_UNIX || !g->path || g->path > t->paths_len)
		return 0;
	*name = t->paths + g->path;
	return t->paths[g->path - 1];
}

size_t audit_peer_path(const struct sock_table *t, const struct sock_rec *s,
		       const unsigned char **name, int *found)
{
	uint32_t peer;

	*name = NULL;
	*found = 0;
	if (s->protocol != PROTO_UNIX || !s->ux.peer_inode)
		return 0;
	peer = table_find(t, s->ux.peer_inode);
	if (peer == NO_INDEX || t->socks[peer].protocol != PROTO_UNIX)
		return 0;
	*found = 1;
	return table_path(t, &t->socks[peer], name);
}

struct group_map {
	struct hindex index; /* of groups, by key */
	struct group *groups;
	size_t n, groups_cap;
};

/* FNV-1a of a workload key; 0 for none. */
static uint64_t wl_hash(const char *key)
{
	if (!key)
		return 0;
	return hindex_bytes(HINDEX_SEED, key, strlen(key)) | 1;
}

static uint64_t key_hash(const struct group_key *k)
{
	return hindex_bytes(HINDEX_SEED, k, sizeof(*k));
}

static void key_of_group(const struct group *g, struct group_key *k)
{
	memset(k, 0, sizeof(*k));
	k->netns = g->netns;
	k->side = (uint8_t)g->side;
	k->family = g->family;
	k->port = g->port;
	k->pid = g->pid;
	k->protocol = g->protocol;
	k->path = g->path;
	memcpy(k->raddr, g->raddr, sizeof(k->raddr));
	k->wl_hash = wl_hash(g->wl_key);
}

static uint64_t group_item_hash(uint32_t item, const void *ctx)
{
	const struct group_map *m = ctx;
	struct group_key k;

	key_of_group(&m->groups[item], &k);
	return key_hash(&k);
}

/* The group with this key, created when new; NULL when out of memory.
 * Valid until the next call. */
static struct group *map_get(struct group_map *m, const struct group_key *k,
			     const char *wl_key, uint32_t wl_proc)
{
	struct group *g;
	size_t j;

	if (hindex_reserve(&m->index, 1, group_item_hash, m) < 0 ||
	    VEC_GROW(m->groups, m->groups_cap, m->n))
		return NULL;
	for (j = hindex_first(&m->index, key_hash(k)); !hindex_empty(&m->index, j);
	     j = hindex_next(&m->index, j)) {
		struct group *other = &m->groups[hindex_item(&m->index, j)];
		struct group_key ok;

		key_of_group(other, &ok);
		if (!memcmp(&ok, k, sizeof(ok)) &&
		    (!wl_key || !strcmp(wl_key, other->wl_key)))
			return other;
	}
	g = &m->groups[m->n];
	memset(g, 0, sizeof(*g));
	g->netns = k->netns;
	g->side = (enum group_side)k->side;
	g->family = k->family;
	g->port = k->port;
	g->pid = k->pid;
	g->protocol = k->protocol;
	g->path = k->path;
	memcpy(g->raddr, k->raddr, sizeof(g->raddr));
	g->wl_proc = wl_proc;
	if (wl_key && !(g->wl_key = strdup(wl_key)))
		return NULL;
	hindex_put(&m->index, j, (uint32_t)m->n);
	m->n++;
	return g;
}

/* Side process: the lowest PID that holds s. */
static void key_by_process(const struct sock_table *t, const struct sock_rec *s,
			   struct group_key *k)
{
	uint32_t r;

	k->side = SIDE_PROCESS;
	for (r = s->owners; r != NO_INDEX; r = t->refs[r].next) {
		pid_t pid = t->procs[t->refs[r].proc].pid;

		if (!k->pid || pid < k->pid)
			k->pid = pid;
	}
}

/*
 * The group of a UNIX socket: its own name (server), else its peer's
 * (client), else its process.  Returns 0 or -ENOMEM.
 */
static int unix_key(const struct sock_table *t, const struct sock_rec *s,
		    struct hindex *pm, struct group_key *k)
{
	uint32_t peer;

	if (s->ux.path) {
		k->side = SIDE_SERVER;
		return path_canon(pm, t, s->ux.path, &k->path);
	}
	peer = s->ux.peer_inode ? table_find(t, s->ux.peer_inode) : NO_INDEX;
	if (peer != NO_INDEX && t->socks[peer].protocol == PROTO_UNIX &&
	    t->socks[peer].ux.path) {
		k->side = SIDE_CLIENT;
		return path_canon(pm, t, t->socks[peer].ux.path, &k->path);
	}
	key_by_process(t, s, k);
	return 0;
}

/* The group of a UDP socket: unconnected by local port (server),
 * connected by peer (client). */
static void udp_key(const struct sock_rec *s, struct group_key *k)
{
	if (s->state != ST_ESTABLISHED) {
		k->side = SIDE_SERVER;
		k->port = s->lport;
		return;
	}
	k->side = SIDE_CLIENT;
	k->family = s->family;
	k->port = s->rport;
	memcpy(k->raddr, s->raddr, sizeof(k->raddr));
}

/* The group of socket s into *k.  Returns 0 or -ENOMEM. */
static int group_key_of(const struct sock_table *t, const struct sock_rec *s,
			const struct audit_opts *o, struct hindex *pm,
			struct group_key *k)
{
	memset(k, 0, sizeof(*k));
	k->netns = s->netns;
	k->protocol = s->protocol;
	if (s->protocol == PROTO_UNIX)
		return unix_key(t, s, pm, k);
	if (s->protocol == PROTO_UDP) {
		udp_key(s, k);
		return 0;
	}
	if (sock_is_dead(s)) {
		key_by_process(t, s, k);
	} else if (s->lport &&
		   (table_has_listener(t, s->netns, s->lport) ||
		    s->lport < table_ephemeral_low(t, s->netns, o->ephemeral_low))) {
		/* (A dumped socket with no local port, seen once in a dump
		 * racing a close, has no server identity: client side.) */
		k->side = SIDE_SERVER;
		k->port = s->lport;
	} else {
		k->side = SIDE_CLIENT;
		k->family = s->family;
		k->port = s->rport;
		memcpy(k->raddr, s->raddr, sizeof(k->raddr));
	}
	return 0;
}

/* The holder of s with the lowest PID, NO_INDEX when none. */
static uint32_t lowest_holder(const struct sock_table *t, const struct sock_rec *s)
{
	uint32_t r, best = NO_INDEX;

	for (r = s->owners; r != NO_INDEX; r = t->refs[r].next)
		if (best == NO_INDEX ||
		    t->procs[t->refs[r].proc].pid < t->procs[best].pid)
			best = t->refs[r].proc;
	return best;
}

/*
 * The group of s under --group-by process, unit, container or pod: the
 * process, or the workload, of its lowest holder (dead sockets too), in
 * every namespace at once, one group a protocol.  *wl_key (in buf or the workload) is NULL
 * for a socket whose holder has none, or that has no holder.
 */
static void workload_group_key(const struct sock_table *t, const struct sock_rec *s,
			       const struct audit_opts *o, struct group_key *k,
			       const char **wl_key, uint32_t *wl_proc, char *buf,
			       size_t size)
{
	static const enum workload_kind kinds[] = {
		[GROUP_BY_UNIT] = WL_UNIT, [GROUP_BY_CONTAINER] = WL_CONTAINER,
		[GROUP_BY_POD] = WL_POD,
	};
	uint32_t p = lowest_holder(t, s);

	memset(k, 0, sizeof(*k));
	/* One group a protocol, as under port grouping: every group has
	 * one protocol, and a leak of UNIX sockets is not hidden in a
	 * workload's TCP. */
	k->protocol = s->protocol;
	*wl_key = NULL;
	*wl_proc = NO_INDEX;
	if (o->group_by == GROUP_BY_PROCESS) {
		k->side = SIDE_PROCESS;
		k->pid = p == NO_INDEX ? 0 : t->procs[p].pid;
		return;
	}
	k->side = (uint8_t)(SIDE_UNIT + (o->group_by - GROUP_BY_UNIT));
	if (p != NO_INDEX && t->procs[p].wl)
		*wl_key = workload_key(t->procs[p].wl, kinds[o->group_by], buf, size);
	if (*wl_key)
		*wl_proc = p;
	k->wl_hash = wl_hash(*wl_key);
}

static void count(struct counts *c, const struct sock_rec *s)
{
	c->sockets++;
	c->states[s->state]++;
	c->close_wait += !!(s->flags & FLAG_CLOSE_WAIT);
	c->idle += !!(s->flags & FLAG_IDLE);
	c->stalled += !!(s->flags & FLAG_STALLED);
	c->dead += !!(s->flags & FLAG_DEAD);
	c->peer_closed += !!(s->flags & FLAG_PEER_CLOSED);
	c->dropping += !!(s->flags & FLAG_DROPPING);
}

/* Most suspicious first: dead and close_wait, then stalled, then idle;
 * then bigger groups; then by side and key so the order is stable. */
static int cmp_groups(const struct group *a, const struct group *b)
{
	uint32_t ua = a->n.dead + a->n.close_wait + a->n.peer_closed;
	uint32_t ub = b->n.dead + b->n.close_wait + b->n.peer_closed;
	int c;

	if (ua != ub)
		return ua > ub ? -1 : 1;
	ua = a->n.stalled + a->n.dropping;
	ub = b->n.stalled + b->n.dropping;
	if (ua != ub)
		return ua > ub ? -1 : 1;
	if (a->n.idle != b->n.idle)
		return a->n.idle > b->n.idle ? -1 : 1;
	if (a->n.sockets != b->n.sockets)
		return a->n.sockets > b->n.sockets ? -1 : 1;
	if (a->protocol != b->protocol)
		return a->protocol < b->protocol ? -1 : 1;
	if (a->side != b->side)
		return a->side < b->side ? -1 : 1;
	if (a->path != b->path)
		return a->path < b->path ? -1 : 1;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->raddr, b->raddr, sizeof(a->raddr));
	if (c)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->wl_key != b->wl_key) {
		if (!a->wl_key || !b->wl_key)
			return a->wl_key ? -1 : 1; /* the null group last */
		c = strcmp(a->wl_key, b->wl_key);
		if (c)
			return c;
	}
	/* The same key in two namespaces: two groups, in inode order. */
	return (a->netns > b->netns) - (a->netns < b->netns);
}

/* Group indices, by the groups they index (for qsort_r). */
static int cmp_group_idx(const void *x, const void *y, void *groups)
{
	const struct group *g = groups;

	return cmp_groups(&g[*(const uint32_t *)x], &g[*(const uint32_t *)y]);
}

/* Socket indices: by group rank, then state, then local and remote port
 * (for qsort_r, over the table). */
static int cmp_socks(const void *x, const void *y, void *table)
{
	const struct sock_table *t = table;
	const struct sock_rec *a = &t->socks[*(const uint32_t *)x];
	const struct sock_rec *b = &t->socks[*(const uint32_t *)y];

	if (a->group != b->group)
		return a->group < b->group ? -1 : 1;
	if (a->state != b->state)
		return a->state < b->state ? -1 : 1;
	if (a->lport != b->lport)
		return a->lport < b->lport ? -1 : 1;
	if (a->rport != b->rport)
		return a->rport < b->rport ? -1 : 1;
	return (a->inode > b->inode) - (a->inode < b->inode);
}

/* (group, process) pairs, for each group's unique process list. */
struct gp {
	uint32_t group;
	pid_t pid;
	uint32_t proc;
};

static int cmp_gp(const void *x, const void *y)
{
	const struct gp *a = x, *b = y;

	if (a->group != b->group)
		return a->group < b->group ? -1 : 1;
	return (a->pid > b->pid) - (a->pid < b->pid);
}

static int cmp_proc_pid(const void *x, const void *y, void *table)
{
	const struct sock_table *t = table;
	pid_t a = t->procs[*(const uint32_t *)x].pid;
	pid_t b = t->procs[*(const uint32_t *)y].pid;

	return (a > b) - (a < b);
}

/*
 * The processes that hold selected sockets, ascending PID: how many
 * selected sockets each holds, and whether its descriptors near their
 * limit.
 */
static int collect_holders(struct sock_table *t, const struct audit_opts *o,
			   struct audit *a)
{
	/* seen[proc]: the last selected socket (index + 1) counted for it,
	 * so that a process holding a socket on several descriptors counts
	 * it once, in one pass over the owners. */
	uint32_t *seen = calloc(t->nprocs ? t->nprocs : 1, sizeof(*seen));
	size_t i;

	if (!seen)
		return -ENOMEM;
	for (i = 0; i < t->nprocs; i++) {
		struct proc_rec *p = &t->procs[i];

		p->sockets = 0;
		p->flags = 0;
		if (p->has_fd_limit && p->fd_limit != FD_LIMIT_NONE && o->fd_pressure &&
		    (uint64_t)p->fds * 100 >= p->fd_limit * o->fd_pressure)
			p->flags |= PFLAG_FD_PRESSURE;
	}
	for (i = 0; i < a->nselected; i++) {
		const struct sock_rec *s = &t->socks[a->selected[i]];
		uint32_t r;

		for (r = s->owners; r != NO_INDEX; r = t->refs[r].next) {
			uint32_t proc = t->refs[r].proc;

			if (seen[proc] != (uint32_t)i + 1) {
				seen[proc] = (uint32_t)i + 1;
				t->procs[proc].sockets++;
			}
		}
	}
	free(seen);
	a->procs = malloc((t->nprocs ? t->nprocs : 1) * sizeof(*a->procs));
	if (!a->procs)
		return -ENOMEM;
	for (i = 0; i < t->nprocs; i++)
		if (t->procs[i].sockets)
			a->procs[a->nprocs++] = (uint32_t)i;
	qsort_r(a->procs, a->nprocs, sizeof(*a->procs), cmp_proc_pid, t);
	return 0;
}

/* Fill each group's process list from the owners of its sockets. */
static int collect_procs(const struct sock_table *t, struct audit *a)
{
	struct gp *pairs = NULL;
	size_t n = 0, cap = 0, i, j;

	for (i = 0; i < a->nselected; i++) {
		const struct sock_rec *s = &t->socks[a->selected[i]];
		uint32_t r;

		for (r = s->owners; r != NO_INDEX; r = t->refs[r].next) {
			if (VEC_GROW(pairs, cap, n)) {
				free(pairs);
				return -ENOMEM;
			}
			pairs[n].group = s->group;
			pairs[n].proc = t->refs[r].proc;
			pairs[n].pid = t->procs[pairs[n].proc].pid;
			n++;
		}
	}
	if (n)
		qsort(pairs, n, sizeof(*pairs), cmp_gp);
	for (i = 0; i < n; i = j) {
		struct group *g = &a->groups[pairs[i].group];
		size_t k = 0;

		for (j = i; j < n && pairs[j].group == pairs[i].group; j++)
			;
		g->procs = malloc((j - i) * sizeof(*g->procs));
		if (!g->procs) {
			free(pairs);
			return -ENOMEM;
		}
		for (k = 0; i + k < j; k++) {
			if (g->nprocs && pairs[i + k].pid ==
			    t->procs[g->procs[g->nprocs - 1]].pid)
				continue;
			g->procs[g->nprocs++] = pairs[i + k].proc;
		}
	}
	free(pairs);
	return 0;
}

/*
 * A group across namespaces is keyed without one; it takes the namespace
 * of its sockets when they share one, else GROUP_NETNS_MIXED (once its
 * key is no longer looked up: keys include the netns field).
 */
static void settle_spanning_netns(const struct sock_table *t, struct group_map *m)
{
	const uint32_t unset = GROUP_NETNS_MIXED - 1;
	size_t i;

	for (i = 0; i < m->n; i++)
		if (audit_side_spans_netns(m->groups[i].side))
			m->groups[i].netns = unset;
	for (i = 0; i < t->nsocks; i++) {
		const struct sock_rec *s = &t->socks[i];
		struct group *g;

		if (!s->selected)
			continue;
		g = &m->groups[s->group];
		if (!audit_side_spans_netns(g->side))
			continue;
		if (g->netns == unset)
			g->netns = s->netns;
		else if (g->netns != s->netns)
			g->netns = GROUP_NETNS_MIXED;
	}
}

/*
 * Put the n groups in the order `order` gives (order[i]: the group that
 * becomes the i-th) in place, and rank[old index] = new index: no
 * second array of them (thousands of groups on a big host).  `order`
 * is used up.
 */
static void groups_reorder(struct group *g, uint32_t *order, uint32_t *rank,
			   size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		rank[order[i]] = (uint32_t)i;
	/* Each cycle of the permutation once, with one group set aside;
	 * a place filled is marked order[j] == j. */
	for (i = 0; i < n; i++) {
		struct group aside;
		size_t j = i, k;

		if (order[i] == i)
			continue;
		aside = g[i];
		while ((k = order[j]) != i) {
			g[j] = g[k];
			order[j] = (uint32_t)j;
			j = k;
		}
		g[j] = aside;
		order[j] = (uint32_t)j;
	}
}

int audit_run(struct sock_table *t, const struct audit_opts *o, struct audit *a)
{
	struct group_map m = { 0 };
	char kbuf[512];
	struct hindex pm = { 0 };
	struct group *g;
	uint32_t *rank = NULL, *order = NULL;
	size_t i;
	int rc = -ENOMEM;

	memset(a, 0, sizeof(*a));
	a->idle_ms = o->idle_ms;
	a->selected = malloc((t->nsocks ? t->nsocks : 1) * sizeof(*a->selected));
	if (!a->selected)
		goto out;

	for (i = 0; i < t->nsocks; i++) {
		struct sock_rec *s = &t->socks[i];
		struct group_key k;

		s->flags = (uint8_t)audit_flags_of(s, o->idle_ms);
		s->selected = (uint8_t)(is_selected(s, o) && held_by_selected(t, s, o));
		s->group = NO_INDEX;
		if (!s->selected)
			continue;
		if (o->group_by == GROUP_BY_PORT) {
			if (group_key_of(t, s, o, &pm, &k) < 0)
				goto out;
			g = map_get(&m, &k, NULL, NO_INDEX);
		} else {
			const char *key;
			uint32_t wp;

			workload_group_key(t, s, o, &k, &key, &wp, kbuf, sizeof(kbuf));
			g = map_get(&m, &k, key, wp);
		}
		if (!g)
			goto out;
		s->group = (uint32_t)(g - m.groups);
		count(&g->n, s);
		count(&a->totals, s);
		a->selected[a->nselected++] = (uint32_t)i;
	}

	settle_spanning_netns(t, &m);

	/* Order the groups, then renumber the sockets' group fields.  The
	 * array is allocated even without a group: a->groups is never NULL. */
	order = malloc((m.n ? m.n : 1) * sizeof(*order));
	rank = calloc(m.n ? m.n : 1, sizeof(*rank));
	if (!order || !rank || VEC_GROW(m.groups, m.groups_cap, 0))
		goto out;
	for (i = 0; i < m.n; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, m.n, sizeof(*order), cmp_group_idx, m.groups);
	groups_reorder(m.groups, order, rank, m.n);
	a->groups = m.groups;
	a->ngroups = m.n;
	m.groups = NULL;
	for (i = 0; i < t->nsocks; i++)
		if (t->socks[i].selected)
			t->socks[i].group = rank[t->socks[i].group];

	qsort_r(a->selected, a->nselected, sizeof(*a->selected), cmp_socks, t);
	rc = collect_procs(t, a);
	if (!rc)
		rc = collect_holders(t, o, a);
out:
	for (i = 0; m.groups && i < m.n; i++)
		free(m.groups[i].wl_key);
	free(order);
	free(rank);
	free(m.groups);
	hindex_free(&m.index);
	hindex_free(&pm);
	if (rc)
		audit_free(a);
	return rc;
}

void audit_free(struct audit *a)
{
	size_t i;

	for (i = 0; a->groups && i < a->ngroups; i++) {
		free(a->groups[i].procs);
		free(a->groups[i].wl_key);
	}
	free(a->groups);
	free(a->selected);
	free(a->procs);
	memset(a, 0, sizeof(*a));
}
