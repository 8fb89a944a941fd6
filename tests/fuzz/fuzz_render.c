/* libFuzzer target: the renderers fed random socket tables.
 *
 * The input is decoded (struct in, below) into a socket table that the
 * sources and the owner scan could have produced -- sockets of both
 * families in every state and origin, processes with unique PIDs and
 * untrusted names, descriptors joining them, listeners, namespaces,
 * workloads (units, containers, pods) with untrusted names -- then
 * audited under fuzzed options and groupings, optionally run through growth.c as
 * a --watch sample, and rendered four ways into memory.  Checked:
 *
 *   audit       the selected sockets are those marked selected, and the
 *               groups' counts add up to the totals
 *   table       (groups and --list) valid UTF-8, no control character but
 *               the newline, and the totals line says the selected count
 *   JSON        parses with cJSON; totals.sockets, the lengths of
 *               "groups", "sockets" and "processes" match the audit, and
 *               the groups' sockets add up to the total
 *   Prometheus  passes tests/lib/prom.c's strict reader (HELP and TYPE,
 *               names, label escapes, UTF-8, no series twice), and the
 *               sockaudit_sockets series add up to the total
 *
 * Missing input bytes read as zeros, so every input decodes.  With
 * FUZZ_RENDER_PRINT set in the environment, the four outputs go to
 * stderr (to read what a reproducer renders).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "growth.h"
#include "netns.h"
#include "render.h"
#include "table.h"
#include "workload.h"
#include "../lib/prom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SOCKS 48
#define MAX_PROCS 24 /* < 32: PIDs are unique by construction */
#define MAX_REFS 64
#define MAX_SHARED 600 /* descriptors of one socket: past the 16 KiB
			* JSON buffer of render_json's emit */
#define MAX_NS 4
#define MAX_WL 4 /* workloads shared by the processes */

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static uint16_t u16(struct in *in)
{
	return (uint16_t)(u8(in) | u8(in) << 8);
}

static uint32_t u32(struct in *in)
{
	return (uint32_t)u16(in) | (uint32_t)u16(in) << 16;
}

static void bytes(struct in *in, void *out, size_t n)
{
	unsigned char *o = out;

	while (n--)
		*o++ = u8(in);
}

/* A port from a small set half the time, so that sockets share ports,
 * peers and listeners and groups hold more than one socket. */
static uint16_t port(struct in *in)
{
	static const uint16_t common[] = { 0, 22, 80, 443, 8080, 32768, 60999, 65535 };
	uint8_t b = u8(in);

	return b & 0x80 ? common[b & 7] : u16(in);
}

/* An address: mostly from a few, sometimes random (the family's bytes
 * only; the rest stays zero, as the sources leave it). */
static void addr(struct in *in, int family, unsigned char a[16])
{
	uint8_t b = u8(in);
	size_t len = family == AF_INET ? 4 : 16;

	memset(a, 0, 16);
	if (b & 0x80) {
		bytes(in, a, len);
	} else if (family == AF_INET) {
		a[0] = 127;
		a[3] = (unsigned char)(1 + (b & 3));
	} else {
		a[15] = (unsigned char)(b & 3);
		if (b & 4) { /* ::ffff:127.0.0.x */
			a[10] = a[11] = 0xff;
			a[12] = 127;
			a[15] = (unsigned char)(1 + (b & 3));
		}
	}
}

/* Namespaces: ours (tag 0) and up to MAX_NS - 1 others, some named,
 * some audited.  Returns whether the report names them. */
static bool build_ns(struct in *in, struct netns_set *ns)
{
	uint8_t b = u8(in);
	size_t n = 1 + (b & 3), i;

	memset(ns, 0, sizeof(*ns));
	ns->self_fd = -1;
	ns->self = 4026531840u + (b >> 4);
	ns->shown = b & 4;
	if (!ns->shown)
		n = 1;
	ns->v = calloc(n, sizeof(*ns->v));
	if (!ns->v)
		return false;
	for (i = 0; i < n; i++) {
		struct netns_target *nt = &ns->v[i];
		uint8_t f = u8(in);

		nt->fd = -1;
		nt->via = i ? NETNS_VIA_ARG : NETNS_VIA_SELF;
		nt->ino = i ? ns->self + 16 + (uint32_t)i : ns->self;
		nt->tag = i ? nt->ino : 0;
		nt->audited = i == 0 || (f & 1);
		if (!nt->audited)
			nt->err = f & 2 ? -ENOENT : -EPERM;
		if (f & 4) {
			/* Up to NAME_MAX and past it. */
			size_t len = f & 8 ? u16(in) % 300 : (f >> 4) & 15;

			nt->name = malloc(len + 1);
			if (nt->name) {
				bytes(in, nt->name, len);
				nt->name[len] = '\0';
			}
		}
	}
	ns->n = ns->cap = n;
	return ns->shown;
}

/* The namespace tag of a socket: one of the audited namespaces. */
static uint32_t pick_ns(struct in *in, const struct netns_set *ns)
{
	size_t i = u8(in) % ns->n;

	return ns->v[i].audited ? ns->v[i].tag : 0;
}

static void build_socket(struct in *in, struct sock_table *t,
			 const struct netns_set *ns, uint32_t inode)
{
	struct sock_rec *s = table_add_sock(t);
	uint8_t b;

	if (!s)
		return;
	b = u8(in);
	s->family = b & 1 ? AF_INET6 : AF_INET;
	s->origin = (b >> 1) & 3;
	s->state = (uint8_t)(ST_ESTABLISHED + u8(in) % (ST_COUNT - 1));
	s->netns = pick_ns(in, ns);
	s->inode = inode;
	s->uid = u8(in) & 1 ? 0 : 1000 + u8(in);
	s->has_local = 1;
	addr(in, s->family, s->laddr);
	s->lport = port(in);
	if (sock_is_dead(s)) {
		/* Only a descriptor: no peer, no queues, maybe no address. */
		s->state = ST_CLOSE;
		s->has_local = b & 8 ? 1 : 0;
		if (!s->has_local) {
			memset(s->laddr, 0, sizeof(s->laddr));
			s->lport = 0;
		}
		return;
	}
	if (s->state == ST_LISTEN) {
		uint32_t saved = t->cur_netns;

		t->cur_netns = s->netns;
		table_mark_listener(t, s->lport);
		t->cur_netns = saved;
		s->send_q = u8(in);
	} else {
		addr(in, s->family, s->raddr);
		s->rport = port(in);
		s->recv_q = b & 16 ? u32(in) : u8(in) & 3;
		s->send_q = b & 32 ? u32(in) : 0;
	}
	s->has_times = b & 64 ? 1 : 0;
	if (s->has_times) {
		s->last_recv_ms = b & 128 ? u32(in) : u16(in);
		s->last_send_ms = b & 128 ? u32(in) : u16(in);
	}
}

static void build_procs(struct in *in, struct sock_table *t, size_t n)
{
	uint32_t base = u16(in);
	size_t i;

	for (i = 0; i < n; i++) {
		char comm[64];
		size_t len = u8(in) % 65;
		pid_t pid = (pid_t)(base * 32 + i + 1);
		uint32_t pi;
		struct proc_rec *p;
		uint8_t f;

		bytes(in, comm, len);
		pi = table_add_proc(t, pid, comm, len);
		if (pi == NO_INDEX)
			return;
		p = &t->procs[pi];
		f = u8(in);
		p->fds = f & 1 ? u32(in) : u8(in);
		p->socket_fds = f & 2 ? u32(in) : u8(in);
		p->has_fd_limit = f & 4 ? 1 : 0;
		if (p->has_fd_limit)
			p->fd_limit = f & 8 ? FD_LIMIT_NONE :
				      f & 16 ? (uint64_t)u32(in) << 8 : u16(in);
	}
}

/* The workloads of build_workloads and the strings they own. */
struct wl_pool {
	struct workload w[MAX_WL];
	struct wl_container c[MAX_WL];
	char *s[MAX_WL * 10];
	size_t ns;
};

/* An untrusted name, NULL when unknown, sometimes past the 4,096 bytes
 * the JSON renderer cuts a name at. */
static char *wl_string(struct in *in, struct wl_pool *pool)
{
	uint8_t b = u8(in);
	size_t len;
	char *s;

	if (!b || pool->ns == sizeof(pool->s) / sizeof(pool->s[0]))
		return NULL;
	len = b & 0x80 ? (size_t)u16(in) % 5000 : b % 48;
	s = malloc(len + 1);
	if (!s)
		return NULL;
	bytes(in, s, len);
	s[len] = '\0';
	pool->s[pool->ns++] = s;
	return s;
}

/* A few workloads, each process given one of them or none. */
static void build_workloads(struct in *in, struct sock_table *t,
			    struct wl_pool *pool)
{
	size_t n = u8(in) % (MAX_WL + 1), i;

	for (i = 0; i < n; i++) {
		struct workload *w = &pool->w[i];
		struct wl_container *c = &pool->c[i];
		uint8_t f = u8(in);

		w->resolved = true;
		w->cgroup = wl_string(in, pool);
		w->unit = wl_string(in, pool);
		w->user_unit = wl_string(in, pool);
		w->c = f & 3 ? c : NULL;
		c->is_container = f & 1;
		c->id = wl_string(in, pool);
		c->runtime = wl_string(in, pool);
		c->name = wl_string(in, pool);
		c->has_pod = f & 2;
		c->pod_namespace = wl_string(in, pool);
		c->pod_name = wl_string(in, pool);
		c->pod_uid = wl_string(in, pool);
		c->pod_container = wl_string(in, pool);
	}
	for (i = 0; n && i < t->nprocs; i++) {
		uint8_t b = u8(in);

		t->procs[i].wl = b % (n + 1) ? &pool->w[b % (n + 1) - 1] : NULL;
	}
}

static void free_workloads(struct wl_pool *pool)
{
	while (pool->ns)
		free(pool->s[--pool->ns]);
}

/* Descriptors: random pairs, then every dead socket owned by someone
 * (it was only seen as a descriptor). */
static void build_refs(struct in *in, struct sock_table *t)
{
	size_t n = t->nprocs && t->nsocks ? u8(in) % MAX_REFS : 0, i;
	int fd = 3;

	for (i = 0; i < n; i++) {
		uint32_t s = u8(in) % t->nsocks, p = u8(in) % t->nprocs;

		table_add_owner(t, s, p, fd++);
	}
	/* Sometimes one socket shared by every process, many times over
	 * (a listener inherited across forks). */
	if (t->nprocs && t->nsocks && (u8(in) & 0xf0) == 0xf0) {
		uint32_t s = u8(in) % t->nsocks;
		size_t many = u16(in) % MAX_SHARED;

		for (i = 0; i < many; i++)
			table_add_owner(t, s, (uint32_t)(i % t->nprocs), fd++);
	}
	for (i = 0; i < t->nsocks; i++) {
		struct sock_rec *s = &t->socks[i];

		if (!sock_is_dead(s) || s->owners != NO_INDEX)
			continue;
		if (t->nprocs)
			table_add_owner(t, (uint32_t)i, u8(in) % t->nprocs, fd++);
		else
			s->origin = ORIGIN_KERNEL;
	}
}

/* A port set holding a few ports of the table's sockets and a random one. */
static uint8_t *port_set(struct in *in, const struct sock_table *t, bool local)
{
	uint8_t *set = calloc(65536 / 8, 1);
	size_t n = u8(in) % 4, i;

	if (!set)
		return NULL;
	for (i = 0; i < n; i++) {
		uint16_t v = u16(in);

		if (t->nsocks && (v & 1)) {
			const struct sock_rec *s = &t->socks[(v >> 1) % t->nsocks];

			v = local ? s->lport : s->rport;
		}
		set[v >> 3] |= (uint8_t)(1u << (v & 7));
	}
	return set;
}

static void audit_options(struct in *in, const struct sock_table *t,
			  struct audit_opts *o, uint8_t **ports, uint8_t **rports)
{
	uint8_t b = u8(in);

	memset(o, 0, sizeof(*o));
	o->idle_ms = b & 1 ? u32(in) : 60000;
	o->states = b & 2 ? (u16(in) & STATES_ALL) : STATES_ALL;
	if (!o->states)
		o->states = STATES_ALL;
	o->flags = b & 4 ? u8(in) & 0x0f : 0;
	o->families = 1 + u8(in) % 3;
	o->by_pid = b & 8;
	o->ephemeral_low = b & 16 ? u16(in) : 32768;
	o->fd_pressure = 1 + u8(in) % 100;
	*ports = b & 32 ? port_set(in, t, true) : NULL;
	*rports = b & 64 ? port_set(in, t, false) : NULL;
	o->ports = *ports;
	o->rports = *rports;
}

/* ---- checks ---------------------------------------------------------- */

/* Valid UTF-8, and no control character but '\n' (C1 included). */
static bool clean_text(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t len, k;
		uint32_t cp;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\n') || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += len;
	}
	return true;
}

static void check_audit(const struct sock_table *t, const struct audit *a)
{
	size_t i, n = 0;
	uint64_t sum = 0;

	for (i = 0; i < t->nsocks; i++)
		n += t->socks[i].selected;
	if (n != a->nselected || a->totals.sockets != a->nselected)
		abort();
	for (i = 0; i < a->ngroups; i++)
		sum += a->groups[i].n.sockets;
	if (sum != a->totals.sockets)
		abort();
	for (i = 0; i < a->nselected; i++)
		if (!t->socks[a->selected[i]].selected ||
		    t->socks[a->selected[i]].group >= a->ngroups)
			abort();
}

/* Render into memory; returns the text (NUL-terminated) or NULL. */
typedef int (*renderer)(FILE *, const struct sock_table *, const struct audit *,
			const struct render_opts *);

static char *render_mem(renderer r, const struct sock_table *t,
			const struct audit *a, const struct render_opts *ro,
			size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	int rc;

	if (!f)
		return NULL;
	rc = r(f, t, a, ro);
	if (fclose(f) && !rc)
		rc = -ENOMEM;
	if (getenv("FUZZ_RENDER_PRINT") && buf)
		fprintf(stderr, "----\n%s", buf);
	if (rc) {
		/* Memory only: the renderers fail on nothing else. */
		if (rc != -ENOMEM)
			abort();
		free(buf);
		return NULL;
	}
	return buf;
}

static void check_table(const char *text, size_t len, const struct audit *a)
{
	char want[64];
	int n;

	if (!clean_text((const unsigned char *)text, len) || !len ||
	    text[len - 1] != '\n' || strlen(text) != len)
		abort();
	n = snprintf(want, sizeof(want), "%u socket%s in %zu group",
		     a->totals.sockets, a->totals.sockets == 1 ? "" : "s",
		     a->ngroups);
	if (n <= 0 || !strstr(text, want))
		abort();
}

static int array_len(const cJSON *root, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);

	if (!cJSON_IsArray(v))
		abort();
	return cJSON_GetArraySize(v);
}

static void check_json(const char *text, size_t len, const struct audit *a,
		       const struct render_opts *ro)
{
	cJSON *root, *totals, *g;
	const cJSON *v;
	double sum = 0;

	if (!clean_text((const unsigned char *)text, len) || strlen(text) != len)
		abort();
	/* NDJSON: one line. */
	if (ro->one_line && strchr(text, '\n') != text + len - 1)
		abort();
	root = cJSON_Parse(text);
	if (!root)
		abort();
	totals = cJSON_GetObjectItemCaseSensitive(root, "totals");
	v = cJSON_GetObjectItemCaseSensitive(totals, "sockets");
	if (!cJSON_IsNumber(v) || v->valuedouble != a->nselected)
		abort();
	if ((size_t)array_len(root, "groups") != a->ngroups ||
	    (size_t)array_len(root, "sockets") != a->nselected ||
	    (size_t)array_len(root, "processes") != a->nprocs)
		abort();
	cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(root, "groups")) {
		v = cJSON_GetObjectItemCaseSensitive(g, "sockets");
		if (!cJSON_IsNumber(v))
			abort();
		sum += v->valuedouble;
	}
	if (sum != a->nselected)
		abort();
	if (ro->has_max) {
		v = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(root, "assertion"), "ok");
		if (!cJSON_IsBool(v) || cJSON_IsTrue(v) != (a->nselected <= ro->max))
			abort();
	}
	cJSON_Delete(root);
}

static void check_prom(const char *text, size_t len, const struct audit *a)
{
	struct prom_doc d;
	char err[256];
	int i;
	double sum = 0;

	if (strlen(text) != len)
		abort();
	if (prom_parse(text, &d, err, sizeof(err))) {
		fprintf(stderr, "fuzz_render: %s\n", err);
		abort();
	}
	for (i = 0; i < d.n; i++) {
		if (!isfinite(d.samples[i].value))
			abort();
		if (!strcmp(d.samples[i].name, "sockaudit_sockets"))
			sum += d.samples[i].value;
	}
	if (sum != a->totals.sockets)
		abort();
	prom_free(&d);
}

/* ---- the target -------------------------------------------------------- */

/* An earlier sample: the audit's groups with other counts, its
 * processes with other descriptor counts. */
static int earlier_sample(struct in *in, struct sock_table *t,
			  const struct audit *a, struct growth *gr, double when)
{
	struct audit b = *a;
	struct group *groups = malloc((a->ngroups + 1) * sizeof(*groups));
	uint32_t *fds = malloc((a->nprocs + 1) * sizeof(*fds));
	size_t i;
	int rc = -ENOMEM;

	if (!groups || !fds)
		goto out;
	for (i = 0; i < a->ngroups; i++) {
		groups[i] = a->groups[i];
		if (u8(in) & 1) {
			groups[i].n.sockets = u16(in);
			groups[i].n.close_wait = u8(in);
			groups[i].n.idle = u8(in);
		}
	}
	b.groups = groups;
	/* Only some of the groups: the others are absent then. */
	b.ngroups = a->ngroups ? u8(in) % (a->ngroups + 1) : 0;
	for (i = 0; i < a->nprocs; i++) {
		struct proc_rec *p = &t->procs[a->procs[i]];

		fds[i] = p->fds;
		p->fds = u8(in) & 1 ? u16(in) : p->fds;
	}
	rc = growth_add(gr, t, &b, when, NULL, NULL);
	for (i = 0; i < a->nprocs; i++)
		t->procs[a->procs[i]].fds = fds[i];
out:
	free(groups);
	free(fds);
	return rc;
}

/* Optionally make it a --watch sample: up to three earlier samples of
 * fuzzed counts, then this audit, added to growth.c at fuzzed,
 * increasing times. */
static void watch_sample(struct in *in, struct sock_table *t,
			 const struct audit *a, struct growth *gr,
			 struct watch_info *w, struct group_growth **gg,
			 struct proc_growth **pg)
{
	size_t k, n = 1 + u8(in) % 4;
	double when = u8(in) & 1 ? 1.7e7 : 12.5;

	memset(w, 0, sizeof(*w));
	w->sample = n - 1;
	w->time.tv_sec = (time_t)u32(in);
	w->time.tv_nsec = u32(in) % 1000000000;
	w->interval_ms = 1 + u16(in);
	*gg = calloc(a->ngroups + 1, sizeof(**gg));
	*pg = calloc(a->nprocs + 1, sizeof(**pg));
	if (!*gg || !*pg)
		return;
	for (k = 0; k + 1 < n; k++) {
		if (earlier_sample(in, t, a, gr, when))
			return;
		double gap = u16(in);

		when += 0.001 + (u8(in) & 1 ? gap : gap / 100);
	}
	if (growth_add(gr, t, a, when, *gg, *pg))
		return;
	if (n > 1) {
		w->groups = *gg;
		w->procs = *pg;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct sock_table t;
	struct netns_set ns;
	struct audit_opts ao;
	struct audit a;
	struct render_opts ro;
	struct watch_info w;
	struct growth gr;
	struct group_growth *gg = NULL;
	struct proc_growth *pg = NULL;
	struct wl_pool pool = { .ns = 0 };
	uint8_t *ports = NULL, *rports = NULL, b;
	size_t nsocks, nprocs, i, len;
	char *text;

	table_init(&t);
	growth_init(&gr);
	build_ns(&in, &ns);
	if (!ns.v)
		return 0;
	nsocks = u8(&in) % (MAX_SOCKS + 1);
	nprocs = u8(&in) % (MAX_PROCS + 1);
	{
		uint32_t inode = 1 + u16(&in);

		for (i = 0; i < nsocks; i++)
			build_socket(&in, &t, &ns, inode + (uint32_t)i);
	}
	/* Ephemeral ranges of other namespaces. */
	for (i = 1; i < ns.n; i++)
		if (u8(&in) & 1)
			table_set_ephemeral_low(&t, ns.v[i].tag, u16(&in));
	table_index(&t);
	build_procs(&in, &t, nprocs);
	build_refs(&in, &t);
	audit_options(&in, &t, &ao, &ports, &rports);

	b = u8(&in);
	memset(&ro, 0, sizeof(ro));
	ro.source = b & 1 ? SOURCE_PROC : SOURCE_NETLINK;
	ro.has_max = b & 2;
	ro.max = b & 2 ? u8(&in) : 0;
	ro.inconsistent = b & 4;
	ro.one_line = b & 8;
	ro.all_procs = b & 16;
	ro.max_peers = b & 32 ? u8(&in) % 8 : 50;
	/* Folded processes when peers are: 0 to 3 kept. */
	ro.max_processes = b & 32 ? ro.max_peers % 4 : 100;
	ro.seconds = u32(&in) / 1e6;
	ro.ns = &ns;
	/* Read last, so that older inputs decode as before. */
	build_workloads(&in, &t, &pool);
	ao.group_by = u8(&in) % (GROUP_BY_POD + 1);

	if (audit_run(&t, &ao, &a) == 0) {
		check_audit(&t, &a);
		if (b & 64) {
			watch_sample(&in, &t, &a, &gr, &w, &gg, &pg);
			ro.watch = &w;
		}
		text = render_mem(render_table_groups, &t, &a, &ro, &len);
		if (text)
			check_table(text, len, &a);
		free(text);
		text = render_mem(render_table_list, &t, &a, &ro, &len);
		if (text)
			check_table(text, len, &a);
		free(text);
		text = render_mem(render_json, &t, &a, &ro, &len);
		if (text)
			check_json(text, len, &a, &ro);
		free(text);
		text = render_mem(render_prom, &t, &a, &ro, &len);
		if (text)
			check_prom(text, len, &a);
		free(text);
		audit_free(&a);
	}
	free(gg);
	free(pg);
	free_workloads(&pool);
	growth_free(&gr);
	free(ports);
	free(rports);
	netns_free(&ns);
	table_free(&t);
	return 0;
}
