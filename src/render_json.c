/*
 * JSON renderer (contract: "JSON").  The document is streamed: the outer
 * object is written by hand and every group and socket is built as a
 * small cJSON object, printed on a line of its own and freed, so memory
 * does not grow with the number of sockets and `grep` still works.
 */
#include "render.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>

#include "parse.h"
#include "text.h"
#include "workload.h"

/*
 * Whole numbers as raw JSON tokens: cJSON prints every number as a double
 * with "%1.15g" and reads it back to check, which was a quarter of the
 * time of a large report.
 */
static void add_uint(cJSON *o, const char *key, unsigned long long v)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", v);
	cJSON_AddRawToObject(o, key, num);
}

/* A process name as a JSON string, encoded by text_json_string rather
 * than cJSON, which leaves DEL and C1 controls raw. */
static cJSON *comm_string(const struct proc_rec *p)
{
	char quoted[6 * sizeof(p->comm) + 3];

	text_json_string(p->comm, p->comm_len, quoted, sizeof(quoted));
	return cJSON_CreateRaw(quoted);
}

static cJSON *proc_object(const struct proc_rec *p, int fd)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	add_uint(o, "pid", p->pid);
	cJSON_AddItemToObject(o, "comm", comm_string(p));
	if (fd >= 0)
		add_uint(o, "fd", fd);
	return o;
}

static void add_addr(cJSON *o, const char *key, int family,
		     const unsigned char *addr)
{
	char a[64];

	cJSON_AddStringToObject(o, key, text_addr(family, addr, a, sizeof(a)));
}

/*
 * "netns" (the namespace's inode) and "netns_name" (its name under
 * /run/netns, else null) of sockets tagged `tag`.  A name is a file name
 * anyone with root chose: encoded like a process name.
 */
static void add_netns(cJSON *o, const struct render_opts *ro, uint32_t tag)
{
	const struct netns_target *nt = netns_by_tag(ro->ns, tag);

	if (tag == GROUP_NETNS_MIXED) {
		/* A group with sockets in more than one namespace. */
		cJSON_AddNullToObject(o, "netns");
		cJSON_AddNullToObject(o, "netns_name");
		return;
	}
	add_uint(o, "netns", netns_ino_of(ro->ns, tag));
	if (nt && nt->name) {
		size_t len = strnlen(nt->name, 255);
		char quoted[6 * 255 + 3];

		text_json_string(nt->name, len, quoted, sizeof(quoted));
		cJSON_AddItemToObject(o, "netns_name", cJSON_CreateRaw(quoted));
	} else {
		cJSON_AddNullToObject(o, "netns_name");
	}
}

static void add_counts(cJSON *o, const struct counts *n)
{
	add_uint(o, "close_wait", n->close_wait);
	add_uint(o, "idle", n->idle);
	add_uint(o, "stalled", n->stalled);
	add_uint(o, "dead", n->dead);
	add_uint(o, "peer_closed", n->peer_closed);
	add_uint(o, "dropping", n->dropping);
}

/* A UNIX name (len bytes, 0: unbound) as a JSON string like a process
 * name, or null. */
static void add_unix_name(cJSON *o, const char *key, const unsigned char *name,
			  size_t len)
{
	char shown[256], quoted[6 * 256 + 3];

	if (!name || !len) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	text_unix_name(name, len, shown);
	text_json_string(shown, len, quoted, sizeof(quoted));
	cJSON_AddItemToObject(o, key, cJSON_CreateRaw(quoted));
}

/* The keys of a UNIX socket: "type", "path", "peer_inode", "peer_path"
 * (null when the source cannot tell: /proc). */
static void add_unix_keys(cJSON *o, const struct sock_table *t,
			  const struct sock_rec *s)
{
	const unsigned char *name;
	size_t len = table_path(t, s, &name);
	int found;

	cJSON_AddStringToObject(o, "type", unix_type_name(s->utype));
	add_unix_name(o, "path", name, len);
	if (s->ux.peer_inode)
		add_uint(o, "peer_inode", s->ux.peer_inode);
	else
		cJSON_AddNullToObject(o, "peer_inode");
	len = audit_peer_path(t, s, &name, &found);
	add_unix_name(o, "peer_path", name, len);
}

/* A rate as a raw number with three decimals ("-0.000" never). */
static void add_rate(cJSON *o, const char *key, double v)
{
	char num[48];

	if (v > -0.0005 && v < 0.0005)
		v = 0;
	snprintf(num, sizeof(num), "%.3f", v);
	cJSON_AddRawToObject(o, key, num);
}

static void add_int(cJSON *o, const char *key, long long v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", v);
	cJSON_AddRawToObject(o, key, num);
}

static void add_group_growth(cJSON *o, const struct group_growth *gg)
{
	cJSON *g = cJSON_AddObjectToObject(o, "growth");

	if (g) {
		add_rate(g, "sockets_per_min", gg->sockets_per_min);
		add_rate(g, "close_wait_per_min", gg->close_wait_per_min);
		add_rate(g, "idle_per_min", gg->idle_per_min);
		add_rate(g, "peer_closed_per_min", gg->peer_closed_per_min);
		add_rate(g, "dropping_per_min", gg->dropping_per_min);
		add_int(g, "delta", gg->delta);
		add_int(g, "delta_prev", gg->delta_prev);
	}
	cJSON_AddBoolToObject(o, "leaking", gg->leaking);
}

/* A string from the runtimes' files or a cgroup path: bytes anyone who
 * can name a container chose, encoded like a process name. */
static void add_str(cJSON *o, const char *key, const char *v)
{
	size_t len;

	if (!v) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	len = strnlen(v, 4096);
	if (len <= 256) {
		char quoted[6 * 256 + 3];

		text_json_string(v, len, quoted, sizeof(quoted));
		cJSON_AddItemToObject(o, key, cJSON_CreateRaw(quoted));
	} else {
		char *big = malloc(6 * len + 3);

		if (big)
			text_json_string(v, len, big, 6 * len + 3);
		cJSON_AddItemToObject(o, key, big ? cJSON_CreateRaw(big) : NULL);
		free(big);
	}
}

/* "cgroup", "unit", "user_unit", "container" and "pod" (contract:
 * "Workloads"); null each when unknown. */
static void add_workload(cJSON *o, const struct workload *w)
{
	const struct wl_container *c = w ? w->c : NULL;
	cJSON *x;

	add_str(o, "cgroup", w ? w->cgroup : NULL);
	add_str(o, "unit", w ? w->unit : NULL);
	add_str(o, "user_unit", w ? w->user_unit : NULL);
	if (c && c->is_container && (x = cJSON_AddObjectToObject(o, "container"))) {
		add_str(x, "id", c->id);
		add_str(x, "runtime", c->runtime);
		add_str(x, "name", c->name);
	} else {
		cJSON_AddNullToObject(o, "container");
	}
	if (c && c->has_pod && (x = cJSON_AddObjectToObject(o, "pod"))) {
		add_str(x, "namespace", c->pod_namespace);
		add_str(x, "name", c->pod_name);
		add_str(x, "uid", c->pod_uid);
		add_str(x, "container", c->pod_container);
	} else {
		cJSON_AddNullToObject(o, "pod");
	}
}

/* The top-level "processes" entry of a process holding selected sockets. */
static cJSON *holder_object(const struct proc_rec *p, const struct proc_growth *pg)
{
	cJSON *o = proc_object(p, -1), *flags, *g, *types;
	unsigned i;

	if (!o)
		return NULL;
	add_uint(o, "sockets", p->sockets);
	add_uint(o, "fds", p->fds);
	add_uint(o, "socket_fds", p->socket_fds);
	if (p->has_fd_limit && p->fd_limit != FD_LIMIT_NONE)
		add_uint(o, "fd_limit", p->fd_limit);
	else
		cJSON_AddNullToObject(o, "fd_limit");
	types = cJSON_AddObjectToObject(o, "fd_types");
	for (i = 0; types && i < FDT_COUNT; i++)
		add_uint(types, fd_type_name(i), p->fd_types[i]);
	flags = cJSON_AddArrayToObject(o, "flags");
	if (flags && (p->flags & PFLAG_FD_PRESSURE))
		cJSON_AddItemToArray(flags, cJSON_CreateString("fd_pressure"));
	add_workload(o, p->wl);
	if (!pg)
		return o;
	g = cJSON_AddObjectToObject(o, "growth");
	if (g) {
		add_rate(g, "fds_per_min", pg->fds_per_min);
		add_rate(g, "sockets_per_min", pg->sockets_per_min);
		add_int(g, "fds_delta", pg->fds_delta);
		types = cJSON_AddObjectToObject(g, "fd_types_delta");
		for (i = 0; types && i < FDT_COUNT; i++)
			add_int(types, fd_type_name(i), pg->fd_types_delta[i]);
		if (pg->minutes_to_limit >= 0)
			add_rate(g, "minutes_to_fd_limit", pg->minutes_to_limit);
		else
			cJSON_AddNullToObject(g, "minutes_to_fd_limit");
	}
	return o;
}

/*
 * The key of a --group-by unit, container or pod group: "unit": name,
 * "container": {id, runtime, name}, "pod": {namespace, name, uid}; null
 * for the group of sockets whose holders have none.
 */
static void add_workload_key(cJSON *o, const struct sock_table *t,
			     const struct group *g)
{
	const struct workload *w = g->wl_proc != NO_INDEX ? t->procs[g->wl_proc].wl : NULL;
	const struct wl_container *c = w ? w->c : NULL;
	cJSON *x;

	if (g->side == SIDE_UNIT) {
		add_str(o, "unit", g->wl_key);
	} else if (!g->wl_key || !c) {
		cJSON_AddNullToObject(o, audit_side_name(g->side));
	} else if (g->side == SIDE_CONTAINER &&
		   (x = cJSON_AddObjectToObject(o, "container"))) {
		add_str(x, "id", c->id);
		add_str(x, "runtime", c->runtime);
		add_str(x, "name", c->name);
	} else if (g->side == SIDE_POD && (x = cJSON_AddObjectToObject(o, "pod"))) {
		add_str(x, "namespace", c->pod_namespace);
		add_str(x, "name", c->pod_name);
		add_str(x, "uid", c->pod_uid);
	}
}

static cJSON *group_object(const struct sock_table *t, const struct group *g,
			   const struct render_opts *ro)
{
	cJSON *o = cJSON_CreateObject(), *procs, *states;
	size_t i;
	int s;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "side", audit_side_name(g->side));
	cJSON_AddStringToObject(o, "protocol", proto_name(g->protocol));
	if (render_shows_netns(ro))
		add_netns(o, ro, g->netns);
	if (g->protocol == PROTO_UNIX && g->side != SIDE_PROCESS) {
		const unsigned char *name;
		size_t len = audit_group_path(t, g, &name);

		add_unix_name(o, "path", name, len);
	} else if (g->side == SIDE_SERVER) {
		add_uint(o, "local_port", g->port);
	} else if (g->side == SIDE_CLIENT) {
		add_addr(o, "remote_address", g->family, g->raddr);
		add_uint(o, "remote_port", g->port);
	} else if (audit_side_is_workload(g->side)) {
		add_workload_key(o, t, g);
	} else if (g->pid) {
		add_uint(o, "pid", g->pid);
	} else {
		cJSON_AddNullToObject(o, "pid"); /* --group-by process: no holder */
	}
	procs = cJSON_AddArrayToObject(o, "processes");
	for (i = 0; procs && i < g->nprocs; i++)
		cJSON_AddItemToArray(procs, proc_object(&t->procs[g->procs[i]], -1));
	add_uint(o, "sockets", g->n.sockets);
	states = cJSON_AddObjectToObject(o, "states");
	for (s = ST_ESTABLISHED; states && s < ST_COUNT; s++)
		if (g->n.states[s])
			add_uint(states, g->protocol != PROTO_TCP && s == ST_CLOSE ?
						 "unconnected" : state_json_name(s),
				 g->n.states[s]);
	add_counts(o, &g->n);
	return o;
}

/*
 * A dead socket's local end is the one it had before the kernel released
 * its port, which another socket may hold by now: not local_address /
 * local_port (null), but "last_local_address" / "last_local_port", null
 * when it could not be read.
 */
static void add_released_end(cJSON *o, const struct sock_rec *s)
{
	if (s->released) {
		add_addr(o, "last_local_address", s->family, s->laddr);
		add_uint(o, "last_local_port", s->lport);
	} else {
		cJSON_AddNullToObject(o, "last_local_address");
		cJSON_AddNullToObject(o, "last_local_port");
	}
}

static cJSON *socket_object(const struct sock_table *t, const struct sock_rec *s,
			    const struct render_opts *ro)
{
	cJSON *o = cJSON_CreateObject(), *procs, *flags;
	int times = audit_shows_times(s);
	int dead = sock_is_dead(s);
	unsigned bit;
	uint32_t r;

	if (!o)
		return NULL;
	if (render_shows_netns(ro))
		add_netns(o, ro, s->netns);
	cJSON_AddStringToObject(o, "protocol", proto_name(s->protocol));
	cJSON_AddStringToObject(o, "family", s->family == AF_INET ? "inet" :
					     s->family == AF_INET6 ? "inet6" : "unix");
	cJSON_AddStringToObject(o, "state", sock_state_json_name(s));
	if (s->protocol == PROTO_UNIX)
		add_unix_keys(o, t, s);
	if (s->has_local) {
		add_addr(o, "local_address", s->family, s->laddr);
		add_uint(o, "local_port", s->lport);
	} else {
		cJSON_AddNullToObject(o, "local_address");
		cJSON_AddNullToObject(o, "local_port");
	}
	if (dead || s->protocol == PROTO_UNIX) {
		if (dead)
			add_released_end(o, s);
		cJSON_AddNullToObject(o, "remote_address");
		cJSON_AddNullToObject(o, "remote_port");
	} else {
		add_addr(o, "remote_address", s->family, s->raddr);
		add_uint(o, "remote_port", s->rport);
	}
	add_uint(o, "inode", s->inode);
	if (sock_has_uid(s))
		add_uint(o, "uid", s->uid);
	else
		cJSON_AddNullToObject(o, "uid");
	if (!sock_has_queues(s)) {
		cJSON_AddNullToObject(o, "recv_q");
		cJSON_AddNullToObject(o, "send_q");
	} else {
		add_uint(o, "recv_q", s->recv_q);
		add_uint(o, "send_q", s->send_q);
	}
	if (s->protocol == PROTO_UDP)
		add_uint(o, "drops", s->drops);
	if (times) {
		add_uint(o, "last_recv_ms", s->last_recv_ms);
		add_uint(o, "last_send_ms", s->last_send_ms);
		add_uint(o, "idle_ms", s->last_recv_ms < s->last_send_ms ?
					s->last_recv_ms : s->last_send_ms);
	} else {
		cJSON_AddNullToObject(o, "last_recv_ms");
		cJSON_AddNullToObject(o, "last_send_ms");
		cJSON_AddNullToObject(o, "idle_ms");
	}
	procs = cJSON_AddArrayToObject(o, "processes");
	for (r = s->owners; procs && r != NO_INDEX; r = t->refs[r].next)
		cJSON_AddItemToArray(procs, proc_object(&t->procs[t->refs[r].proc],
							t->refs[r].fd));
	flags = cJSON_AddArrayToObject(o, "flags");
	for (bit = 1; flags && bit <= FLAG_LAST; bit <<= 1)
		if (s->flags & bit)
			cJSON_AddItemToArray(flags, cJSON_CreateString(flag_name(bit)));
	return o;
}

/* Printed objects go through one reused buffer; a larger one (a socket
 * held by hundreds of processes) is printed by cJSON into its own. */
static char emit_buf[16384];

/* Print an object compactly after `sep` and free it.  Returns -ENOMEM
 * when cJSON could not build or print it. */
static int emit(FILE *out, const char *sep, cJSON *o)
{
	char *text = emit_buf;

	if (!o)
		return -ENOMEM;
	if (!cJSON_PrintPreallocated(o, emit_buf, sizeof(emit_buf), 0))
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		return -ENOMEM;
	fputs(sep, out);
	fputs(text, out);
	if (text != emit_buf)
		cJSON_free(text);
	return 0;
}

/*
 * "namespaces": every namespace the audit meant to read, and whether it
 * could ("audited", and "error" when it could not).  One that vanished
 * while it was read is left out.
 */
static int emit_namespaces(FILE *out, const struct netns_set *ns,
			   const char *sep, const char *nl)
{
	size_t i, n = 0;
	int rc = 0;

	fputs(",\"namespaces\":[", out);
	for (i = 0; i < ns->n && !rc; i++) {
		const struct netns_target *nt = &ns->v[i];
		struct render_opts one = { .ns = ns };
		cJSON *o;

		if (!nt->audited && nt->err == -ENOENT)
			continue;
		o = cJSON_CreateObject();
		if (o) {
			add_netns(o, &one, nt->tag);
			cJSON_AddBoolToObject(o, "audited", nt->audited);
			if (nt->audited || !nt->err)
				cJSON_AddNullToObject(o, "error");
			else
				cJSON_AddStringToObject(o, "error", strerror(-nt->err));
		}
		rc = emit(out, n++ ? sep : nl, o);
	}
	if (!rc)
		fprintf(out, "%s]", nl);
	return rc;
}

int render_json(FILE *out, const struct sock_table *t, const struct audit *a,
		const struct render_opts *ro)
{
	const struct watch_info *w = ro->watch;
	const char *nl = ro->one_line ? "" : "\n";
	const char *sep = ro->one_line ? "," : ",\n";
	cJSON *totals;
	size_t i;
	int rc = 0;

	fputs("{\"schema\":1,", out);
	if (w) {
		char when[40];

		fprintf(out, "\"sample\":%llu,\"time\":\"%s\",",
			(unsigned long long)w->sample,
			text_rfc3339(&w->time, when, sizeof(when)));
	}
	fprintf(out, "\"source\":\"%s\",\"inconsistent\":%s,"
		"\"idle_threshold_ms\":%u,", render_source_name(ro->source),
		ro->inconsistent ? "true" : "false", (unsigned)a->idle_ms);
	totals = cJSON_CreateObject();
	if (totals) {
		add_uint(totals, "sockets", a->totals.sockets);
		add_counts(totals, &a->totals);
	}
	rc = emit(out, "\"totals\":", totals);
	if (!rc)
		fputs(",\"groups\":[", out);
	for (i = 0; i < a->ngroups && !rc; i++) {
		cJSON *g = group_object(t, &a->groups[i], ro);

		if (g && w && w->groups)
			add_group_growth(g, &w->groups[i]);
		rc = emit(out, i ? sep : nl, g);
	}
	if (!rc)
		fprintf(out, "%s],\"sockets\":[", nl);
	for (i = 0; i < a->nselected && !rc; i++)
		rc = emit(out, i ? sep : nl,
			  socket_object(t, &t->socks[a->selected[i]], ro));
	if (!rc)
		fprintf(out, "%s],\"processes\":[", nl);
	for (i = 0; i < a->nprocs && !rc; i++)
		rc = emit(out, i ? sep : nl,
			  holder_object(&t->procs[a->procs[i]],
					w && w->procs ? &w->procs[i] : NULL));
	if (!rc)
		fprintf(out, "%s]", nl);
	if (!rc && render_shows_netns(ro))
		rc = emit_namespaces(out, ro->ns, sep, nl);
	if (!rc && ro->has_max) {
		fprintf(out, ",\"assertion\":{\"max\":%llu,\"selected\":%zu,\"ok\":%s}",
			(unsigned long long)ro->max, a->nselected,
			a->nselected <= ro->max ? "true" : "false");
	}
	if (rc)
		return rc;
	fputs("}\n", out);
	if (fflush(out) == EOF || ferror(out))
		return -(errno ? errno : EIO);
	return 0;
}
