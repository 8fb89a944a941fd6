/*
 * Prometheus renderer: the audit in the text exposition format (version
 * 0.0.4), for node_exporter's textfile collector and for the exporter's
 * /metrics.  Every metric is a gauge, with HELP and TYPE lines even when
 * it has no series, so the set of names does not change between
 * scrapes.
 *
 * Label sets stay bounded: server groups are one per port, process
 * groups one per process holding dead sockets, and client groups -- one
 * per peer, as many as a host has remote endpoints -- are kept for the
 * first --max-peers of them in the audit's order (most suspicious first:
 * dead and CLOSE-WAIT, then stalled, then idle, then the biggest), the
 * rest summed into peer="other" (one per namespace).
 *
 * Series come in a fixed order (namespace, then server by port, client
 * by address and port, "other", process by PID), so two scrapes of an
 * unchanged host are byte for byte the same but for the duration.
 */
#include "render.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "text.h"
#include "workload.h"

/* A group as exported; `other` rows sum the folded client peers. */
enum row_kind { ROW_SERVER, ROW_CLIENT, ROW_OTHER, ROW_PROCESS, ROW_WORKLOAD };

struct row {
	enum row_kind kind;
	uint8_t protocol; /* enum sock_proto: "other" rows are per kind too */
	uint32_t netns;
	const struct sock_table *t; /* for UNIX names */
	const struct group *g; /* NULL for ROW_OTHER */
	struct counts n;
	enum group_side other_side; /* ROW_OTHER: the side folded */
	const struct workload *w;   /* ROW_WORKLOAD: its fields, or NULL */
};

static void add_counts(struct counts *to, const struct counts *from)
{
	int s;

	to->sockets += from->sockets;
	for (s = 0; s < ST_COUNT; s++)
		to->states[s] += from->states[s];
	to->close_wait += from->close_wait;
	to->idle += from->idle;
	to->stalled += from->stalled;
	to->dead += from->dead;
	to->peer_closed += from->peer_closed;
	to->dropping += from->dropping;
}

/* Namespace, kind, then the group's key. */
static int cmp_rows(const void *x, const void *y)
{
	const struct row *a = x, *b = y;

	if (a->netns != b->netns)
		return a->netns < b->netns ? -1 : 1;
	if (a->protocol != b->protocol)
		return a->protocol < b->protocol ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->kind == ROW_OTHER)
		return 0;
	if (a->kind == ROW_PROCESS)
		return (a->g->pid > b->g->pid) - (a->g->pid < b->g->pid);
	if (a->kind == ROW_WORKLOAD) {
		if (!a->g->wl_key || !b->g->wl_key)
			return !!a->g->wl_key - !!b->g->wl_key; /* null first */
		return strcmp(a->g->wl_key, b->g->wl_key);
	}
	if (a->protocol == PROTO_UNIX)
		return (a->g->path > b->g->path) - (a->g->path < b->g->path);
	if (a->kind == ROW_CLIENT) {
		int c;

		if (a->g->family != b->g->family)
			return a->g->family < b->g->family ? -1 : 1;
		c = memcmp(a->g->raddr, b->g->raddr, sizeof(a->g->raddr));
		if (c)
			return c < 0 ? -1 : 1;
	}
	return (a->g->port > b->g->port) - (a->g->port < b->g->port);
}

/*
 * The rows to export: every server and process group, the first
 * max_peers client groups in audit order, and one "other" row per
 * namespace for the client groups past them.  Returns the number of
 * rows in *out (free()), or -ENOMEM.  *folded: client groups folded.
 */
static long build_rows(const struct sock_table *t, const struct audit *a,
		       uint32_t max_peers, struct row **out, size_t *folded)
{
	struct row *rows, *others = NULL;
	size_t n = 0, nothers = 0, clients = 0, i, j;

	*folded = 0;
	rows = malloc((a->ngroups + 1) * sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	for (i = 0; i < a->ngroups; i++) {
		const struct group *g = &a->groups[i];
		struct row *o = NULL;

		/* Peers and workloads are as many as a host has. */
		bool bounded = g->side != SIDE_CLIENT && !audit_side_is_workload(g->side);

		if (bounded || clients++ < max_peers) {
			memset(&rows[n], 0, sizeof(rows[n]));
			rows[n].kind = g->side == SIDE_SERVER ? ROW_SERVER :
				       g->side == SIDE_CLIENT ? ROW_CLIENT :
				       g->side == SIDE_PROCESS ? ROW_PROCESS : ROW_WORKLOAD;
			rows[n].netns = g->netns;
			rows[n].protocol = g->protocol;
			rows[n].t = t;
			rows[n].g = g;
			rows[n].n = g->n;
			if (g->wl_proc != NO_INDEX)
				rows[n].w = t->procs[g->wl_proc].wl;
			n++;
			continue;
		}
		(*folded)++;
		for (j = 0; j < nothers; j++)
			if (others[j].netns == g->netns &&
			    others[j].protocol == g->protocol)
				o = &others[j];
		if (!o) {
			struct row *p = realloc(others, (nothers + 1) * sizeof(*p));

			if (!p) {
				free(others);
				free(rows);
				return -ENOMEM;
			}
			others = p;
			o = &others[nothers++];
			memset(o, 0, sizeof(*o));
			o->kind = ROW_OTHER;
			o->netns = g->netns;
			o->other_side = g->side;
			o->protocol = g->protocol;
			o->t = t;
		}
		add_counts(&o->n, &g->n);
	}
	/* There are at most as many (namespace, kind) pairs as folded
	 * groups, so the "other" rows fit in the slots the folded groups left. */
	if (nothers)
		memcpy(rows + n, others, nothers * sizeof(*others));
	n += nothers;
	free(others);
	qsort(rows, n, sizeof(*rows), cmp_rows);
	*out = rows;
	return (long)n;
}

static void family(FILE *out, const char *name, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void workload_label_pair(FILE *out, const char *key, const char *v);

/* side="unit",unit=...; side="container",container_id=...,container=...;
 * side="pod",namespace=...,pod=...: the known fields of a --group-by
 * workload group (none for the group of sockets without one). */
static void workload_group_labels(FILE *out, const struct row *r)
{
	const struct wl_container *c = r->w && r->g->wl_key ? r->w->c : NULL;

	fprintf(out, "side=\"%s\"", audit_side_name(r->g->side));
	if (r->g->side == SIDE_UNIT) {
		workload_label_pair(out, "unit", r->g->wl_key);
	} else if (r->g->side == SIDE_CONTAINER && c) {
		workload_label_pair(out, "container_id", c->id);
		workload_label_pair(out, "container", c->name);
	} else if (r->g->side == SIDE_POD && c) {
		workload_label_pair(out, "namespace", c->pod_namespace);
		workload_label_pair(out, "pod", c->pod_name ? c->pod_name : c->pod_uid);
	}
}


/* path="..." of a UNIX group: its name as the table prints it (escaped
 * byte by byte, at most 4 * 108 bytes from a sun_path), then escaped for
 * the format, so the label value is bounded. */
static void path_label(FILE *out, const struct row *r)
{
	char shown[256], esc[4 * 255 + 1], label[3 * sizeof(esc) + 1];
	const unsigned char *name;
	size_t len = audit_group_path(r->t, r->g, &name), elen;

	if (!len) {
		fputs(",path=\"\"", out);
		return;
	}
	text_unix_name(name, len, shown);
	elen = text_escape_name(shown, len, esc, sizeof(esc));
	text_prom_label(esc, elen < sizeof(esc) ? elen : sizeof(esc) - 1, label,
			sizeof(label));
	fprintf(out, ",path=\"%s\"", label);
}

/* [protocol="udp|unix",]side="...",port|peer|path|pid="..."[,netns="..."]:
 * TCP series keep the labels they always had. */
static void group_labels(FILE *out, const struct row *r)
{
	char peer[INET6_ADDRSTRLEN + 16];

	if (r->protocol != PROTO_TCP)
		fprintf(out, "protocol=\"%s\",", proto_name(r->protocol));
	if (r->protocol == PROTO_UNIX && r->kind != ROW_PROCESS) {
		fprintf(out, "side=\"%s\"", r->kind == ROW_SERVER ? "server" : "client");
		if (r->kind == ROW_OTHER)
			fputs(",path=\"other\"", out);
		else
			path_label(out, r);
		if (r->netns)
			fprintf(out, ",netns=\"%u\"", (unsigned)r->netns);
		return;
	}
	switch (r->kind) {
	case ROW_SERVER:
		fprintf(out, "side=\"server\",port=\"%u\"", (unsigned)r->g->port);
		break;
	case ROW_CLIENT:
		fprintf(out, "side=\"client\",peer=\"%s\"",
			text_endpoint(r->g->family, r->g->raddr, r->g->port, peer,
				      sizeof(peer)));
		break;
	case ROW_OTHER:
		if (audit_side_is_workload(r->other_side))
			fprintf(out, "side=\"%s\",%s=\"other\"",
				audit_side_name(r->other_side), r->other_side == SIDE_POD ?
				"pod" : audit_side_name(r->other_side));
		else
			fputs("side=\"client\",peer=\"other\"", out);
		break;
	case ROW_PROCESS:
		fputs("side=\"process\"", out);
		if (r->g->pid)
			fprintf(out, ",pid=\"%d\"", (int)r->g->pid);
		break;
	case ROW_WORKLOAD:
		workload_group_labels(out, r);
		break;
	}
	if (r->netns)
		fprintf(out, ",netns=\"%u\"", (unsigned)r->netns);
}

static void sockets_series(FILE *out, const struct row *rows, size_t n)
{
	size_t i;
	int s;

	family(out, "sockaudit_sockets",
	       "Selected TCP sockets by group (server port, client peer, or "
	       "process holding dead sockets) and state.");
	for (i = 0; i < n; i++) {
		for (s = ST_ESTABLISHED; s < ST_NEW_SYN_RECV; s++) {
			uint32_t v = rows[i].n.states[s];

			/* Request sockets are SYN-RECV too: one series. */
			if (s == ST_SYN_RECV)
				v += rows[i].n.states[ST_NEW_SYN_RECV];
			if (!v)
				continue;
			fputs("sockaudit_sockets{", out);
			group_labels(out, &rows[i]);
			fprintf(out, ",state=\"%s\"} %u\n",
				rows[i].protocol != PROTO_TCP && s == ST_CLOSE ?
					"unconnected" : state_json_name(s),
				(unsigned)v);
		}
	}
}

static void flag_series(FILE *out, const struct row *r, unsigned flag,
			uint32_t v)
{
	fputs("sockaudit_flagged_sockets{", out);
	group_labels(out, r);
	fprintf(out, ",flag=\"%s\"} %u\n", flag_name(flag), (unsigned)v);
}

/* Every flag a group's sockets can carry, zeros included: a leak that
 * was fixed reads 0, not a series that vanished. */
static void flagged_series(FILE *out, const struct row *rows, size_t n)
{
	size_t i;

	family(out, "sockaudit_flagged_sockets",
	       "Selected sockets carrying a flag (TCP: close_wait, idle, stalled; "
	       "dead for process groups; UDP: dropping; UNIX: peer_closed), by group.");
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		if (r->protocol == PROTO_UDP) {
			flag_series(out, r, FLAG_DROPPING, r->n.dropping);
			continue;
		}
		if (r->protocol == PROTO_UNIX) {
			flag_series(out, r, FLAG_PEER_CLOSED, r->n.peer_closed);
			continue;
		}
		if (r->kind == ROW_PROCESS) {
			flag_series(out, r, FLAG_DEAD, r->n.dead);
			continue;
		}
		flag_series(out, r, FLAG_CLOSE_WAIT, r->n.close_wait);
		flag_series(out, r, FLAG_IDLE, r->n.idle);
		flag_series(out, r, FLAG_STALLED, r->n.stalled);
	}
}

/* Label values from cgroup paths and runtime files are cut here. */
#define WORKLOAD_LABEL_MAX 128

/* ,key="value" for a workload field: escaped as a process name, cut at
 * WORKLOAD_LABEL_MAX bytes; nothing when the field is unknown. */
static void workload_label_pair(FILE *out, const char *key, const char *v)
{
	char esc[4 * WORKLOAD_LABEL_MAX + 1];
	char label[3 * sizeof(esc) + 1];
	size_t len;

	if (!v || !*v)
		return;
	len = text_escape_name(v, strnlen(v, WORKLOAD_LABEL_MAX), esc, sizeof(esc));
	text_prom_label(esc, len < sizeof(esc) ? len : sizeof(esc) - 1, label,
			sizeof(label));
	fprintf(out, ",%s=\"%s\"", key, label);
}

/* {pid="...",comm="...",unit=...}: the name as the table prints it
 * (control characters and stray bytes as \xhh), then escaped for the
 * format; the workload labels that are known (contract: "Workloads"). */
/* A process's labels: pid, comm, its workload's, and type when not
 * NULL (sockaudit_process_fds_by_type). */
static void proc_labels(FILE *out, const struct proc_rec *p, const char *type)
{
	char esc[4 * sizeof(p->comm) + 1];
	char label[3 * sizeof(esc) + 1];
	size_t len = text_escape_name(p->comm, p->comm_len, esc, sizeof(esc));
	const struct wl_container *c = p->wl ? p->wl->c : NULL;

	text_prom_label(esc, len < sizeof(esc) ? len : sizeof(esc) - 1, label,
			sizeof(label));
	fprintf(out, "{pid=\"%d\",comm=\"%s\"", (int)p->pid, label);
	if (p->wl)
		workload_label_pair(out, "unit", p->wl->unit ? p->wl->unit :
						 p->wl->user_unit);
	if (c && c->is_container) {
		workload_label_pair(out, "container_id", c->id);
		workload_label_pair(out, "container", c->name);
	}
	if (c && c->has_pod) {
		workload_label_pair(out, "namespace", c->pod_namespace);
		workload_label_pair(out, "pod", c->pod_name ? c->pod_name : c->pod_uid);
	}
	if (type)
		fprintf(out, ",type=\"%s\"", type);
	fputc('}', out);
}

enum proc_value { PV_SOCKETS, PV_FDS, PV_SOCKET_FDS, PV_LIMIT };

struct proc_order {
	const struct sock_table *t;
	const struct audit *a;
};

/* Positions in a->procs: most sockets first, then the lower PID. */
static int cmp_procs(const void *x, const void *y, void *arg)
{
	const struct proc_order *o = arg;
	const struct proc_rec *p = &o->t->procs[o->a->procs[*(const uint32_t *)x]];
	const struct proc_rec *q = &o->t->procs[o->a->procs[*(const uint32_t *)y]];

	if (p->sockets != q->sockets)
		return p->sockets > q->sockets ? -1 : 1;
	return (p->pid > q->pid) - (p->pid < q->pid);
}

/*
 * Which of the audit's processes (a->procs order) are exported one by
 * one: the `max` holding most sockets, or all.  Returns a malloc'd array
 * of a->nprocs flags, NULL when every process is kept (*err 0) or out of
 * memory (*err -ENOMEM).
 */
static bool *kept_procs(const struct sock_table *t, const struct audit *a,
			uint32_t max, int *err)
{
	struct proc_order o = { t, a };
	uint32_t *order;
	bool *keep;
	size_t i;

	*err = 0;
	if (a->nprocs <= max)
		return NULL;
	order = malloc(a->nprocs * sizeof(*order));
	keep = calloc(a->nprocs, sizeof(*keep));
	if (!order || !keep) {
		free(order);
		free(keep);
		*err = -ENOMEM;
		return NULL;
	}
	for (i = 0; i < a->nprocs; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, a->nprocs, sizeof(*order), cmp_procs, &o);
	for (i = 0; i < max; i++)
		keep[order[i]] = true;
	free(order);
	return keep;
}

static void process_series(FILE *out, const struct sock_table *t,
			   const struct audit *a, const bool *keep,
			   const char *name, const char *help, enum proc_value what)
{
	unsigned long long other = 0;
	size_t i;

	family(out, name, help);
	for (i = 0; i < a->nprocs; i++) {
		const struct proc_rec *p = &t->procs[a->procs[i]];
		unsigned long long v;

		switch (what) {
		case PV_SOCKETS:
			v = p->sockets;
			break;
		case PV_FDS:
			v = p->fds;
			break;
		case PV_SOCKET_FDS:
			v = p->socket_fds;
			break;
		default:
			if (!p->has_fd_limit || p->fd_limit == FD_LIMIT_NONE)
				continue;
			v = p->fd_limit;
			break;
		}
		if (keep && !keep[i]) {
			other += v;
			continue;
		}
		fputs(name, out);
		proc_labels(out, p, NULL);
		fprintf(out, " %llu\n", v);
	}
	/* A sum of limits means nothing: the folded have none. */
	if (keep && what != PV_LIMIT)
		fprintf(out, "%s{pid=\"other\",comm=\"other\"} %llu\n", name, other);
}

/* sockaudit_process_fds_by_type{pid,comm,workload...,type}: every kind, zeros
 * included, of each process holding selected sockets; those past
 * --max-processes (keep false) summed as pid="other". */
static void fd_type_series(FILE *out, const struct sock_table *t,
			   const struct audit *a, const bool *keep)
{
	unsigned long long other[FDT_COUNT] = { 0 };
	size_t i;
	unsigned k;

	family(out, "sockaudit_process_fds_by_type",
	       "Open file descriptors of a process holding selected sockets, by "
	       "kind (tcp, udp, unix, other_socket, pipe, anon_inode, file, other).");
	for (i = 0; i < a->nprocs; i++) {
		const struct proc_rec *p = &t->procs[a->procs[i]];

		if (keep && !keep[i]) {
			for (k = 0; k < FDT_COUNT; k++)
				other[k] += p->fd_types[k];
			continue;
		}
		for (k = 0; k < FDT_COUNT; k++) {
			fputs("sockaudit_process_fds_by_type", out);
			proc_labels(out, p, fd_type_name(k));
			fprintf(out, " %u\n", (unsigned)p->fd_types[k]);
		}
	}
	for (k = 0; keep && k < FDT_COUNT; k++)
		fprintf(out,
			"sockaudit_process_fds_by_type{pid=\"other\",comm=\"other\","
			"type=\"%s\"} %llu\n", fd_type_name(k), other[k]);
}

int render_prom(FILE *out, const struct sock_table *t, const struct audit *a,
		const struct render_opts *ro)
{
	struct row *rows = NULL;
	size_t folded;
	long n = build_rows(t, a, ro->max_peers, &rows, &folded);
	bool *keep;
	int err;

	if (n < 0)
		return (int)n;
	/* When the report names namespaces, every group is labelled with
	 * its namespace's inode, ours too (whose sockets carry tag 0); a
	 * group with sockets in several namespaces is labelled with none. */
	for (long i = 0; i < n; i++)
		if (rows[i].netns == GROUP_NETNS_MIXED)
			rows[i].netns = 0;
		else if (render_shows_netns(ro))
			rows[i].netns = netns_ino_of(ro->ns, rows[i].netns);
	sockets_series(out, rows, (size_t)n);
	flagged_series(out, rows, (size_t)n);
	free(rows);
	family(out, "sockaudit_folded_peers",
	       "Client peers past --max-peers, summed into peer=\"other\".");
	fprintf(out, "sockaudit_folded_peers %zu\n", folded);

	keep = kept_procs(t, a, ro->max_processes, &err);
	if (err)
		return err;
	process_series(out, t, a, keep, "sockaudit_process_sockets",
		       "Selected TCP sockets a process holds.", PV_SOCKETS);
	process_series(out, t, a, keep, "sockaudit_process_open_fds",
		       "Open file descriptors of a process holding selected sockets.",
		       PV_FDS);
	process_series(out, t, a, keep, "sockaudit_process_socket_fds",
		       "Socket descriptors (any kind) of a process holding selected "
		       "sockets.", PV_SOCKET_FDS);
	fd_type_series(out, t, a, keep);
	process_series(out, t, a, keep, "sockaudit_process_fd_limit",
		       "Soft RLIMIT_NOFILE of a process holding selected sockets "
		       "(absent when unlimited or unknown).", PV_LIMIT);
	free(keep);
	family(out, "sockaudit_folded_processes",
	       "Processes past --max-processes, summed into pid=\"other\".");
	fprintf(out, "sockaudit_folded_processes %zu\n",
		a->nprocs > ro->max_processes ? a->nprocs - ro->max_processes : 0);

	family(out, "sockaudit_idle_threshold_seconds",
	       "Idle threshold of the idle and stalled flags.");
	fprintf(out, "sockaudit_idle_threshold_seconds %u.%03u\n",
		(unsigned)(a->idle_ms / 1000), (unsigned)(a->idle_ms % 1000));
	family(out, "sockaudit_dump_inconsistent",
	       "1 when the kernel's socket dump kept changing while it was read.");
	fprintf(out, "sockaudit_dump_inconsistent %d\n", ro->inconsistent ? 1 : 0);
	family(out, "sockaudit_scrape_duration_seconds",
	       "How long the audit took.");
	fprintf(out, "sockaudit_scrape_duration_seconds %.6f\n", ro->seconds);
	family(out, "sockaudit_source_info",
	       "Where the sockets were read: bpf (BPF iterators), netlink "
	       "(sock_diag) or proc "
	       "(/proc/net/tcp, no idle or stalled).");
	fprintf(out, "sockaudit_source_info{source=\"%s\"} 1\n",
		render_source_name(ro->source));

	if (fflush(out) == EOF || ferror(out))
		return -(errno ? errno : EIO);
	return 0;
}
