/*
 * JSON renderer (contract: "JSON").  The document is streamed through a
 * json_writer: the outer object is laid out by hand and every group and
 * socket is written as it is walked, on a line of its own, so memory
 * does not grow with the number of sockets and `grep` still works.
 */
#include "render.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "json_writer.h"
#include "parse.h"
#include "text.h"
#include "workload.h"

/* A process and, when fd >= 0, the descriptor it holds a socket by.  The
 * name is untrusted bytes, encoded by text_json_string. */
static void proc_object(struct json_writer *o, const struct proc_rec *p, int fd)
{
	jsonw_object_begin(o, NULL);
	jsonw_uint(o, "pid", p->pid);
	jsonw_string(o, "comm", p->comm, p->comm_len);
	if (fd >= 0)
		jsonw_uint(o, "fd", (unsigned)fd);
	jsonw_object_end(o);
}

static void add_addr(struct json_writer *o, const char *key, int family,
		     const unsigned char *addr)
{
	char a[64];

	jsonw_cstring(o, key, text_addr(family, addr, a, sizeof(a)));
}

/*
 * "netns" (the namespace's inode) and "netns_name" (its name under
 * /run/netns, else null) of sockets tagged `tag`.  A name is a file name
 * anyone with root chose: encoded like a process name.
 */
static void add_netns(struct json_writer *o, const struct render_opts *ro,
		      uint32_t tag)
{
	const struct netns_target *nt = netns_by_tag(ro->ns, tag);

	if (tag == GROUP_NETNS_MIXED) {
		/* A group with sockets in more than one namespace. */
		jsonw_null(o, "netns");
		jsonw_null(o, "netns_name");
		return;
	}
	jsonw_uint(o, "netns", netns_ino_of(ro->ns, tag));
	if (nt && nt->name)
		jsonw_string(o, "netns_name", nt->name, strnlen(nt->name, 255));
	else
		jsonw_null(o, "netns_name");
}

static void add_counts(struct json_writer *o, const struct counts *n)
{
	jsonw_uint(o, "close_wait", n->close_wait);
	jsonw_uint(o, "idle", n->idle);
	jsonw_uint(o, "stalled", n->stalled);
	jsonw_uint(o, "dead", n->dead);
	jsonw_uint(o, "peer_closed", n->peer_closed);
	jsonw_uint(o, "dropping", n->dropping);
}

/* A UNIX name (len bytes, 0: unbound) as a JSON string like a process
 * name, or null. */
static void add_unix_name(struct json_writer *o, const char *key,
			  const unsigned char *name, size_t len)
{
	char shown[256];

	if (!name || !len) {
		jsonw_null(o, key);
		return;
	}
	text_unix_name(name, len, shown);
	jsonw_string(o, key, shown, len);
}

/* The keys of a UNIX socket: "type", "path", "peer_inode", "peer_path"
 * (null when the source cannot tell: /proc). */
static void add_unix_keys(struct json_writer *o, const struct sock_table *t,
			  const struct sock_rec *s)
{
	const unsigned char *name;
	size_t len = table_path(t, s, &name);
	int found;

	jsonw_cstring(o, "type", unix_type_name(s->utype));
	add_unix_name(o, "path", name, len);
	if (s->ux.peer_inode)
		jsonw_uint(o, "peer_inode", s->ux.peer_inode);
	else
		jsonw_null(o, "peer_inode");
	len = audit_peer_path(t, s, &name, &found);
	add_unix_name(o, "peer_path", name, len);
}

/* A rate as a number with three decimals ("-0.000" never). */
static void add_rate(struct json_writer *o, const char *key, double v)
{
	char num[48];

	if (v > -0.0005 && v < 0.0005)
		v = 0;
	snprintf(num, sizeof(num), "%.3f", v);
	jsonw_number(o, key, num);
}

static void add_group_growth(struct json_writer *o, const struct group_growth *gg)
{
	jsonw_object_begin(o, "growth");
	add_rate(o, "sockets_per_min", gg->sockets_per_min);
	add_rate(o, "close_wait_per_min", gg->close_wait_per_min);
	add_rate(o, "idle_per_min", gg->idle_per_min);
	add_rate(o, "peer_closed_per_min", gg->peer_closed_per_min);
	add_rate(o, "dropping_per_min", gg->dropping_per_min);
	jsonw_int(o, "delta", gg->delta);
	jsonw_int(o, "delta_prev", gg->delta_prev);
	jsonw_object_end(o);
	jsonw_bool(o, "leaking", gg->leaking);
}

/* A string from the runtimes' files or a cgroup path: bytes anyone who
 * can name a container chose, encoded like a process name; null when
 * unknown. */
static void add_str(struct json_writer *o, const char *key, const char *v)
{
	if (v)
		jsonw_cstring(o, key, v);
	else
		jsonw_null(o, key);
}

/* "id", "runtime" and "name" of a container. */
static void add_container(struct json_writer *o, const struct wl_container *c)
{
	jsonw_object_begin(o, "container");
	add_str(o, "id", c->id);
	add_str(o, "runtime", c->runtime);
	add_str(o, "name", c->name);
	jsonw_object_end(o);
}

/* "namespace", "name", "uid" and (with_container) "container" of a pod. */
static void add_pod(struct json_writer *o, const struct wl_container *c,
		    bool with_container)
{
	jsonw_object_begin(o, "pod");
	add_str(o, "namespace", c->pod_namespace);
	add_str(o, "name", c->pod_name);
	add_str(o, "uid", c->pod_uid);
	if (with_container)
		add_str(o, "container", c->pod_container);
	jsonw_object_end(o);
}

/* "cgroup", "unit", "user_unit", "container" and "pod" (contract:
 * "Workloads"); null each when unknown. */
static void add_workload(struct json_writer *o, const struct workload *w)
{
	const struct wl_container *c = w ? w->c : NULL;

	add_str(o, "cgroup", w ? w->cgroup : NULL);
	add_str(o, "unit", w ? w->unit : NULL);
	add_str(o, "user_unit", w ? w->user_unit : NULL);
	if (c && c->is_container)
		add_container(o, c);
	else
		jsonw_null(o, "container");
	if (c && c->has_pod)
		add_pod(o, c, true);
	else
		jsonw_null(o, "pod");
}

/* The "growth" of a process under --watch (contract: "Watch"). */
static void add_proc_growth(struct json_writer *o, const struct proc_growth *pg)
{
	unsigned i;

	jsonw_object_begin(o, "growth");
	add_rate(o, "fds_per_min", pg->fds_per_min);
	add_rate(o, "sockets_per_min", pg->sockets_per_min);
	jsonw_int(o, "fds_delta", pg->fds_delta);
	jsonw_object_begin(o, "fd_types_delta");
	for (i = 0; i < FDT_COUNT; i++)
		jsonw_int(o, fd_type_name(i), pg->fd_types_delta[i]);
	jsonw_object_end(o);
	if (pg->minutes_to_limit >= 0)
		add_rate(o, "minutes_to_fd_limit", pg->minutes_to_limit);
	else
		jsonw_null(o, "minutes_to_fd_limit");
	jsonw_object_end(o);
}

/* The top-level "processes" entry of a process holding selected sockets;
 * pg: its growth under --watch, or NULL. */
static void holder_object(struct json_writer *o, const struct proc_rec *p,
			  const struct proc_growth *pg)
{
	unsigned i;

	jsonw_object_begin(o, NULL);
	jsonw_uint(o, "pid", p->pid);
	jsonw_string(o, "comm", p->comm, p->comm_len);
	jsonw_uint(o, "sockets", p->sockets);
	jsonw_uint(o, "fds", p->fds);
	jsonw_uint(o, "socket_fds", p->socket_fds);
	if (p->has_fd_limit && p->fd_limit != FD_LIMIT_NONE)
		jsonw_uint(o, "fd_limit", p->fd_limit);
	else
		jsonw_null(o, "fd_limit");
	jsonw_object_begin(o, "fd_types");
	for (i = 0; i < FDT_COUNT; i++)
		jsonw_uint(o, fd_type_name(i), p->fd_types[i]);
	jsonw_object_end(o);
	jsonw_array_begin(o, "flags");
	if (p->flags & PFLAG_FD_PRESSURE)
		jsonw_cstring(o, NULL, "fd_pressure");
	jsonw_array_end(o);
	add_workload(o, p->wl);
	if (pg)
		add_proc_growth(o, pg);
	jsonw_object_end(o);
}

/*
 * The key of a --group-by unit, container or pod group: "unit": name,
 * "container": {id, runtime, name}, "pod": {namespace, name, uid}; null
 * for the group of sockets whose holders have none.
 */
static void add_workload_key(struct json_writer *o, const struct sock_table *t,
			     const struct group *g)
{
	const struct workload *w = g->wl_proc != NO_INDEX ? t->procs[g->wl_proc].wl : NULL;
	const struct wl_container *c = w ? w->c : NULL;

	if (g->side == SIDE_UNIT)
		add_str(o, "unit", g->wl_key);
	else if (!g->wl_key || !c)
		jsonw_null(o, audit_side_name(g->side));
	else if (g->side == SIDE_CONTAINER)
		add_container(o, c);
	else if (g->side == SIDE_POD)
		add_pod(o, c, false);
}

/* What a group is keyed by: a port, a peer, a workload or a process. */
static void add_group_key(struct json_writer *o, const struct sock_table *t,
			  const struct group *g)
{
	if (g->protocol == PROTO_UNIX && g->side != SIDE_PROCESS) {
		const unsigned char *name;
		size_t len = audit_group_path(t, g, &name);

		add_unix_name(o, "path", name, len);
	} else if (g->side == SIDE_SERVER) {
		jsonw_uint(o, "local_port", g->port);
	} else if (g->side == SIDE_CLIENT) {
		add_addr(o, "remote_address", g->family, g->raddr);
		jsonw_uint(o, "remote_port", g->port);
	} else if (audit_side_is_workload(g->side)) {
		add_workload_key(o, t, g);
	} else if (g->pid) {
		jsonw_uint(o, "pid", g->pid);
	} else {
		jsonw_null(o, "pid"); /* --group-by process: no holder */
	}
}

/* One entry of "groups"; gg: its growth under --watch, or NULL. */
static void group_object(struct json_writer *o, const struct sock_table *t,
			 const struct group *g, const struct render_opts *ro,
			 const struct group_growth *gg)
{
	size_t i;
	int s;

	jsonw_object_begin(o, NULL);
	jsonw_cstring(o, "side", audit_side_name(g->side));
	jsonw_cstring(o, "protocol", proto_name(g->protocol));
	if (render_shows_netns(ro))
		add_netns(o, ro, g->netns);
	add_group_key(o, t, g);
	jsonw_array_begin(o, "processes");
	for (i = 0; i < g->nprocs; i++)
		proc_object(o, &t->procs[g->procs[i]], -1);
	jsonw_array_end(o);
	jsonw_uint(o, "sockets", g->n.sockets);
	jsonw_object_begin(o, "states");
	for (s = ST_ESTABLISHED; s < ST_COUNT; s++)
		if (g->n.states[s])
			jsonw_uint(o, g->protocol != PROTO_TCP && s == ST_CLOSE ?
					     "unconnected" : state_json_name(s),
				  g->n.states[s]);
	jsonw_object_end(o);
	add_counts(o, &g->n);
	if (gg)
		add_group_growth(o, gg);
	jsonw_object_end(o);
}

/*
 * A dead socket's local end is the one it had before the kernel released
 * its port, which another socket may hold by now: not local_address /
 * local_port (null), but "last_local_address" / "last_local_port", null
 * when it could not be read.
 */
static void add_released_end(struct json_writer *o, const struct sock_rec *s)
{
	if (s->released) {
		add_addr(o, "last_local_address", s->family, s->laddr);
		jsonw_uint(o, "last_local_port", s->lport);
	} else {
		jsonw_null(o, "last_local_address");
		jsonw_null(o, "last_local_port");
	}
}

/* "local_*", "remote_*" (and a dead socket's "last_local_*") keys. */
static void add_ends(struct json_writer *o, const struct sock_rec *s, int dead)
{
	if (s->has_local) {
		add_addr(o, "local_address", s->family, s->laddr);
		jsonw_uint(o, "local_port", s->lport);
	} else {
		jsonw_null(o, "local_address");
		jsonw_null(o, "local_port");
	}
	if (dead || s->protocol == PROTO_UNIX) {
		if (dead)
			add_released_end(o, s);
		jsonw_null(o, "remote_address");
		jsonw_null(o, "remote_port");
	} else {
		add_addr(o, "remote_address", s->family, s->raddr);
		jsonw_uint(o, "remote_port", s->rport);
	}
}

/* "last_recv_ms", "last_send_ms" and "idle_ms", null without times. */
static void add_times(struct json_writer *o, const struct sock_rec *s)
{
	if (audit_shows_times(s)) {
		jsonw_uint(o, "last_recv_ms", s->last_recv_ms);
		jsonw_uint(o, "last_send_ms", s->last_send_ms);
		jsonw_uint(o, "idle_ms", s->last_recv_ms < s->last_send_ms ?
					s->last_recv_ms : s->last_send_ms);
	} else {
		jsonw_null(o, "last_recv_ms");
		jsonw_null(o, "last_send_ms");
		jsonw_null(o, "idle_ms");
	}
}

/* One entry of "sockets": its ends, numbers, holders and flags. */
static void socket_object(struct json_writer *o, const struct sock_table *t,
			  const struct sock_rec *s, const struct render_opts *ro)
{
	int dead = sock_is_dead(s);
	unsigned bit;
	uint32_t r;

	jsonw_object_begin(o, NULL);
	if (render_shows_netns(ro))
		add_netns(o, ro, s->netns);
	jsonw_cstring(o, "protocol", proto_name(s->protocol));
	jsonw_cstring(o, "family", s->family == AF_INET ? "inet" :
				  s->family == AF_INET6 ? "inet6" : "unix");
	jsonw_cstring(o, "state", sock_state_json_name(s));
	if (s->protocol == PROTO_UNIX)
		add_unix_keys(o, t, s);
	add_ends(o, s, dead);
	jsonw_uint(o, "inode", s->inode);
	if (sock_has_uid(s))
		jsonw_uint(o, "uid", s->uid);
	else
		jsonw_null(o, "uid");
	if (!sock_has_queues(s)) {
		jsonw_null(o, "recv_q");
		jsonw_null(o, "send_q");
	} else {
		jsonw_uint(o, "recv_q", s->recv_q);
		jsonw_uint(o, "send_q", s->send_q);
	}
	if (s->protocol == PROTO_UDP)
		jsonw_uint(o, "drops", s->drops);
	add_times(o, s);
	jsonw_array_begin(o, "processes");
	for (r = s->owners; r != NO_INDEX; r = t->refs[r].next)
		proc_object(o, &t->procs[t->refs[r].proc], t->refs[r].fd);
	jsonw_array_end(o);
	jsonw_array_begin(o, "flags");
	for (bit = 1; bit <= FLAG_LAST; bit <<= 1)
		if (s->flags & bit)
			jsonw_cstring(o, NULL, flag_name(bit));
	jsonw_array_end(o);
	jsonw_object_end(o);
}

/* Text laid out by hand between the writer's values. */
static void put(struct json_writer *o, const char *s)
{
	jsonw_raw(o, s, strlen(s));
}

/*
 * "namespaces": every namespace the audit meant to read, and whether it
 * could ("audited", and "error" when it could not).  One that vanished
 * while it was read is left out.
 */
static void add_namespaces(struct json_writer *o, const struct netns_set *ns,
			   const char *sep, const char *nl)
{
	struct render_opts one = { .ns = ns };
	size_t i, n = 0;

	put(o, ",\"namespaces\":[");
	for (i = 0; i < ns->n; i++) {
		const struct netns_target *nt = &ns->v[i];

		if (!nt->audited && nt->err == -ENOENT)
			continue;
		put(o, n++ ? sep : nl);
		jsonw_object_begin(o, NULL);
		add_netns(o, &one, nt->tag);
		jsonw_bool(o, "audited", nt->audited);
		if (nt->audited || !nt->err)
			jsonw_null(o, "error");
		else
			jsonw_cstring(o, "error", strerror(-nt->err));
		jsonw_object_end(o);
	}
	put(o, nl);
	put(o, "]");
}

/* The document's head: "schema", "sample" and "time" under --watch,
 * "source", "inconsistent", "idle_threshold_ms" and "totals". */
static void add_head(struct json_writer *o, const struct audit *a,
		     const struct render_opts *ro)
{
	const struct watch_info *w = ro->watch;

	put(o, "{\"schema\":1,");
	if (w) {
		char when[40];

		put(o, "\"sample\":");
		jsonw_uint(o, NULL, w->sample);
		put(o, ",\"time\":\"");
		put(o, text_rfc3339(&w->time, when, sizeof(when)));
		put(o, "\",");
	}
	put(o, "\"source\":\"");
	put(o, render_source_name(ro->source));
	put(o, "\",\"inconsistent\":");
	put(o, ro->inconsistent ? "true" : "false");
	put(o, ",\"idle_threshold_ms\":");
	jsonw_uint(o, NULL, (unsigned)a->idle_ms);
	put(o, ",\"totals\":");
	jsonw_object_begin(o, NULL);
	jsonw_uint(o, "sockets", a->totals.sockets);
	add_counts(o, &a->totals);
	jsonw_object_end(o);
}

/* The "assertion" of --max. */
static void add_assertion(struct json_writer *o, const struct audit *a,
			  const struct render_opts *ro)
{
	put(o, ",\"assertion\":");
	jsonw_object_begin(o, NULL);
	jsonw_uint(o, "max", ro->max);
	jsonw_uint(o, "selected", a->nselected);
	jsonw_bool(o, "ok", a->nselected <= ro->max);
	jsonw_object_end(o);
}

/* The writer and its buffer: too large for every stack a renderer may
 * run on, and reports are written one at a time. */
static struct json_writer writer;

int render_json(FILE *out, const struct sock_table *t, const struct audit *a,
		const struct render_opts *ro)
{
	const struct watch_info *w = ro->watch;
	const char *nl = ro->one_line ? "" : "\n";
	const char *sep = ro->one_line ? "," : ",\n";
	struct json_writer *o = &writer;
	size_t i;
	int rc;

	jsonw_init(o, out);
	add_head(o, a, ro);
	put(o, ",\"groups\":[");
	for (i = 0; i < a->ngroups; i++) {
		put(o, i ? sep : nl);
		group_object(o, t, &a->groups[i], ro,
			     w && w->groups ? &w->groups[i] : NULL);
	}
	put(o, nl);
	put(o, "],\"sockets\":[");
	for (i = 0; i < a->nselected; i++) {
		put(o, i ? sep : nl);
		socket_object(o, t, &t->socks[a->selected[i]], ro);
	}
	put(o, nl);
	put(o, "],\"processes\":[");
	for (i = 0; i < a->nprocs; i++) {
		put(o, i ? sep : nl);
		holder_object(o, &t->procs[a->procs[i]],
			      w && w->procs ? &w->procs[i] : NULL);
	}
	put(o, nl);
	put(o, "]");
	if (render_shows_netns(ro))
		add_namespaces(o, ro->ns, sep, nl);
	if (ro->has_max)
		add_assertion(o, a, ro);
	put(o, "}\n");
	rc = jsonw_flush(o);
	if (fflush(out) == EOF || ferror(out))
		return rc ? rc : -(errno ? errno : EIO);
	return rc;
}
