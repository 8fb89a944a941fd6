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
	cJSON_AddNumberToObject(o, "pid", p->pid);
	cJSON_AddItemToObject(o, "comm", comm_string(p));
	if (fd >= 0)
		cJSON_AddNumberToObject(o, "fd", fd);
	return o;
}

static void add_addr(cJSON *o, const char *key, int family,
		     const unsigned char *addr)
{
	char a[64];

	cJSON_AddStringToObject(o, key, text_addr(family, addr, a, sizeof(a)));
}

static void add_counts(cJSON *o, const struct counts *n)
{
	cJSON_AddNumberToObject(o, "close_wait", n->close_wait);
	cJSON_AddNumberToObject(o, "idle", n->idle);
	cJSON_AddNumberToObject(o, "stalled", n->stalled);
	cJSON_AddNumberToObject(o, "dead", n->dead);
}

static cJSON *group_object(const struct sock_table *t, const struct group *g)
{
	static const char *const sides[] = { "server", "client", "process" };
	cJSON *o = cJSON_CreateObject(), *procs, *states;
	size_t i;
	int s;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "side", sides[g->side]);
	if (g->side == SIDE_SERVER) {
		cJSON_AddNumberToObject(o, "local_port", g->port);
	} else if (g->side == SIDE_CLIENT) {
		add_addr(o, "remote_address", g->family, g->raddr);
		cJSON_AddNumberToObject(o, "remote_port", g->port);
	} else {
		cJSON_AddNumberToObject(o, "pid", g->pid);
	}
	procs = cJSON_AddArrayToObject(o, "processes");
	for (i = 0; procs && i < g->nprocs; i++)
		cJSON_AddItemToArray(procs, proc_object(&t->procs[g->procs[i]], -1));
	cJSON_AddNumberToObject(o, "sockets", g->n.sockets);
	states = cJSON_AddObjectToObject(o, "states");
	for (s = ST_ESTABLISHED; states && s < ST_COUNT; s++)
		if (g->n.states[s])
			cJSON_AddNumberToObject(states, state_json_name(s),
						g->n.states[s]);
	add_counts(o, &g->n);
	return o;
}

static cJSON *socket_object(const struct sock_table *t, const struct sock_rec *s)
{
	cJSON *o = cJSON_CreateObject(), *procs, *flags;
	int times = s->has_times && s->state != ST_LISTEN &&
		    s->state != ST_TIME_WAIT;
	int dead = s->origin == ORIGIN_FD;
	unsigned bit;
	uint32_t r;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "family", s->family == AF_INET ? "inet" : "inet6");
	cJSON_AddStringToObject(o, "state", state_json_name(s->state));
	if (s->has_local) {
		add_addr(o, "local_address", s->family, s->laddr);
		cJSON_AddNumberToObject(o, "local_port", s->lport);
	} else {
		cJSON_AddNullToObject(o, "local_address");
		cJSON_AddNullToObject(o, "local_port");
	}
	if (dead) {
		cJSON_AddNullToObject(o, "remote_address");
		cJSON_AddNullToObject(o, "remote_port");
	} else {
		add_addr(o, "remote_address", s->family, s->raddr);
		cJSON_AddNumberToObject(o, "remote_port", s->rport);
	}
	cJSON_AddNumberToObject(o, "inode", s->inode);
	cJSON_AddNumberToObject(o, "uid", s->uid);
	if (dead) {
		cJSON_AddNullToObject(o, "recv_q");
		cJSON_AddNullToObject(o, "send_q");
	} else {
		cJSON_AddNumberToObject(o, "recv_q", s->recv_q);
		cJSON_AddNumberToObject(o, "send_q", s->send_q);
	}
	if (times) {
		cJSON_AddNumberToObject(o, "last_recv_ms", s->last_recv_ms);
		cJSON_AddNumberToObject(o, "last_send_ms", s->last_send_ms);
		cJSON_AddNumberToObject(o, "idle_ms", s->last_recv_ms < s->last_send_ms ?
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
	for (bit = 1; flags && bit <= FLAG_DEAD; bit <<= 1)
		if (s->flags & bit)
			cJSON_AddItemToArray(flags, cJSON_CreateString(flag_name(bit)));
	return o;
}

/* Print an object compactly after `sep` and free it.  Returns -ENOMEM
 * when cJSON could not build or print it. */
static int emit(FILE *out, const char *sep, cJSON *o)
{
	char *text;

	if (!o)
		return -ENOMEM;
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		return -ENOMEM;
	fputs(sep, out);
	fputs(text, out);
	cJSON_free(text);
	return 0;
}

int render_json(FILE *out, const struct sock_table *t, const struct audit *a,
		const struct render_opts *ro)
{
	cJSON *totals;
	size_t i;
	int rc = 0;

	fprintf(out, "{\"schema\":1,\"source\":\"%s\",\"idle_threshold_ms\":%u,",
		ro->source, (unsigned)a->idle_ms);
	totals = cJSON_CreateObject();
	if (totals) {
		cJSON_AddNumberToObject(totals, "sockets", a->totals.sockets);
		add_counts(totals, &a->totals);
	}
	rc = emit(out, "\"totals\":", totals);
	if (!rc)
		fputs(",\"groups\":[", out);
	for (i = 0; i < a->ngroups && !rc; i++)
		rc = emit(out, i ? ",\n" : "\n", group_object(t, &a->groups[i]));
	if (!rc)
		fputs("\n],\"sockets\":[", out);
	for (i = 0; i < a->nselected && !rc; i++)
		rc = emit(out, i ? ",\n" : "\n",
			  socket_object(t, &t->socks[a->selected[i]]));
	if (!rc)
		fputs("\n]", out);
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
