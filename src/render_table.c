/*
 * Table renderers: one row per group (default) or per socket (--list).
 * Columns are sized in a first pass and printed in a second, so the rows
 * are formatted twice instead of being held in memory.
 */
#include "render.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "text.h"
#include "workload.h"
#include "vec.h"

/* Processes named in a group row before "+N". */
#define GROUP_PROCS_SHOWN 3

enum align { LEFT, RIGHT };

/* A growable string for one cell. */
struct buf {
	char *s;
	size_t len, cap;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (vec_reserve(&b->s, &b->cap, b->len + n + 1, 1))
		return -ENOMEM;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

static int buf_str(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

/* "comm[pid]" with the name escaped for a terminal. */
static int buf_proc(struct buf *b, const struct proc_rec *p)
{
	char esc[4 * sizeof(p->comm) + 1], pid[24];

	text_escape_name(p->comm, p->comm_len, esc, sizeof(esc));
	snprintf(pid, sizeof(pid), "[%d]", (int)p->pid);
	return buf_str(b, esc) || buf_str(b, pid) ? -ENOMEM : 0;
}

/* Which kinds other than TCP the audit selected sockets of:
 * PROTO_BIT mask. */
static unsigned kinds_shown(const struct audit *a)
{
	unsigned m = 0;
	size_t i;

	for (i = 0; i < a->ngroups; i++)
		m |= PROTO_BIT(a->groups[i].protocol);
	return m & ~PROTO_BIT(PROTO_TCP);
}

/* A UNIX name (len bytes) escaped for a terminal as a process name is,
 * "@" for an abstract one's leading NUL; "*" when unbound.  out holds
 * 4 * 255 + 1 bytes. */
static const char *unix_name_cell(const unsigned char *name, size_t len,
				  char *out, size_t outsz)
{
	char shown[256];

	if (!name || !len) {
		snprintf(out, outsz, "*");
		return out;
	}
	text_unix_name(name, len, shown);
	text_escape_name(shown, len, out, outsz);
	return out;
}

/*
 * Keep the cells of shown columns (show[c]), in order, at the front of
 * cells; returns how many.  Rows and headings go through it alike, so
 * optional columns stay aligned.
 */
static size_t compact(char **cells, const bool *show, size_t ncols)
{
	size_t c, n = 0;

	for (c = 0; c < ncols; c++)
		if (show[c])
			cells[n++] = cells[c];
	return n;
}

/* Print one row: cells padded to widths, the last one unpadded. */
static void print_row(FILE *out, char *const *cells, const size_t *widths,
		      const enum align *al, size_t ncols)
{
	size_t c;

	for (c = 0; c < ncols; c++) {
		size_t w = text_width(cells[c]);
		size_t pad = widths[c] > w ? widths[c] - w : 0;

		const char *gap = c == ncols - 1 ? "" : "  ";

		/* A left-aligned last column needs no padding. */
		if (c == ncols - 1 && al[c] == LEFT)
			pad = 0;
		if (al[c] == RIGHT)
			fprintf(out, "%*s%s%s", (int)pad, "", cells[c], gap);
		else
			fprintf(out, "%s%*s%s", cells[c], (int)pad, "", gap);
	}
	fputc('\n', out);
}

static void widen(size_t *widths, char *const *cells, size_t ncols)
{
	size_t c;

	for (c = 0; c < ncols; c++) {
		size_t w = text_width(cells[c]);

		if (w > widths[c])
			widths[c] = w;
	}
}

/*
 * The NETNS cell of namespace `tag`: its name (escaped as a process name
 * is) or its inode; "-" for a group with sockets in several.  buf holds 4 * 255 + 1 bytes.
 */
static const char *netns_cell(const struct render_opts *ro, uint32_t tag,
			      char *buf, size_t len)
{
	const struct netns_target *nt = netns_by_tag(ro->ns, tag);

	if (tag == GROUP_NETNS_MIXED)
		snprintf(buf, len, "-");
	else if (nt && nt->name)
		text_escape_name(nt->name, strnlen(nt->name, 255), buf, len);
	else
		snprintf(buf, len, "%u", (unsigned)netns_ino_of(ro->ns, tag));
	return buf;
}

/* Namespaces read, for the report. */
static size_t netns_audited(const struct render_opts *ro)
{
	size_t i, n = 0;

	for (i = 0; i < ro->ns->n; i++)
		n += ro->ns->v[i].audited;
	return n;
}

/* Whether more than one namespace was read: then the table gets a NETNS
 * column (first), whatever the rows selected; with one, the totals line
 * names it. */
static bool netns_column(const struct render_opts *ro)
{
	return render_shows_netns(ro) && netns_audited(ro) > 1;
}

/* ", network namespace NAME" or ", N network namespaces" for the totals
 * line when the report names namespaces, else "". */
static const char *netns_summary(const struct render_opts *ro, char *buf,
				 size_t len)
{
	size_t i, n;

	buf[0] = '\0';
	if (!render_shows_netns(ro))
		return buf;
	n = netns_audited(ro);
	for (i = 0; n == 1 && i < ro->ns->n; i++)
		if (ro->ns->v[i].audited) {
			char cell[4 * 255 + 1];

			snprintf(buf, len, ", network namespace %s",
				 netns_cell(ro, ro->ns->v[i].tag, cell, sizeof(cell)));
		}
	if (n != 1)
		snprintf(buf, len, ", %zu network namespaces", n);
	return buf;
}

static void totals_line(FILE *out, const struct audit *a,
			const struct render_opts *ro)
{
	char idle[32], ns[4 * 255 + 64];

	fprintf(out,
		"%u socket%s in %zu group%s: %u close_wait, %u idle, %u stalled, "
		"%u dead (source %s, idle threshold %s%s)%s\n",
		a->totals.sockets, a->totals.sockets == 1 ? "" : "s", a->ngroups,
		a->ngroups == 1 ? "" : "s", a->totals.close_wait, a->totals.idle,
		a->totals.stalled, a->totals.dead,
		render_source_name(ro->source),
		text_duration(a->idle_ms, idle, sizeof(idle)),
		netns_summary(ro, ns, sizeof(ns)),
		ro->inconsistent ? "; INCONSISTENT: the kernel's dump kept changing "
				   "while read" : "");
	if (kinds_shown(a))
		fprintf(out, "%u peer_closed (UNIX), %u dropping (UDP)\n",
			a->totals.peer_closed, a->totals.dropping);
}

static int finish(FILE *out)
{
	if (fflush(out) == EOF || ferror(out))
		return -(errno ? errno : EIO);
	return 0;
}

/* A signed change: "+3", "-2", "0". */
static void signed_cell(char *cell, size_t len, long long v)
{
	snprintf(cell, len, v > 0 ? "+%lld" : "%lld", v);
}

/* A rate per minute with one decimal, "0.0" never negative zero. */
static void rate_cell(char *cell, size_t len, double v)
{
	if (v > -0.05 && v < 0.05)
		v = 0;
	snprintf(cell, len, "%+.1f", v);
	if (v == 0)
		snprintf(cell, len, "0.0");
}

/* "sample 3 at 2026-11-22T19:40:01.123Z (every 250ms)" */
static void watch_header(FILE *out, const struct watch_info *w)
{
	char when[40], every[32];

	fprintf(out, "sample %llu at %s (every %s)\n", (unsigned long long)w->sample,
		text_rfc3339(&w->time, when, sizeof(when)),
		text_duration(w->interval_ms, every, sizeof(every)));
}

/* ---- the processes section ---- */

#define PROC_COLS 9
#define PROC_WATCH_COLS 2

static const char *const proc_head[PROC_COLS + PROC_WATCH_COLS] = {
	"PROCESS", "WORKLOAD", "SOCKETS", "FDS", "SOCKET_FDS", "FD_LIMIT", "USE",
	"FD_TYPES", "FLAGS", "FDS_PER_MIN", "LIMIT_IN"
};
static const enum align proc_align[PROC_COLS + PROC_WATCH_COLS] = {
	LEFT, LEFT, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, LEFT, LEFT, RIGHT, RIGHT
};

/* Workload cells longer than this end in "..." (a cri-containerd scope
 * unit is 79 characters). */
#define WORKLOAD_CELL_MAX 32
#define WORKLOAD_CELL_BUF (4 * WORKLOAD_CELL_MAX + 1)

/* The WORKLOAD cell (workload_label), escaped as a process name is. */
static void workload_cell(const struct workload *w, char *cell, size_t size)
{
	char label[512];
	const char *l = workload_label(w, label, sizeof(label));
	size_t n = strnlen(l, WORKLOAD_CELL_MAX + 1);

	if (n > WORKLOAD_CELL_MAX) {
		char cut[WORKLOAD_CELL_MAX + 1];

		memcpy(cut, l, WORKLOAD_CELL_MAX - 3);
		memcpy(cut + WORKLOAD_CELL_MAX - 3, "...", 4);
		text_escape_name(cut, WORKLOAD_CELL_MAX, cell, size);
	} else {
		text_escape_name(l, n, cell, size);
	}
}

/* "udp=5,unix=15,pipe=7": the kinds a process has descriptors of, in
 * fd_types order; "-" for none.  Under --watch each kind that changed
 * since the process's first sample says by how much: "pipe=40(+30)".
 * types holds FD_TYPES_CELL bytes (8 kinds of 32 at most). */
#define FD_TYPES_CELL 320
static void fd_types_cell(const struct proc_rec *p, const struct proc_growth *pg,
			  char *types)
{
	size_t used = 0;
	unsigned k;

	snprintf(types, FD_TYPES_CELL, "-");
	for (k = 0; k < FDT_COUNT; k++) {
		long long d = pg ? pg->fd_types_delta[k] : 0;

		if (!p->fd_types[k] && !d)
			continue;
		used += (size_t)snprintf(types + used, FD_TYPES_CELL - used,
					 "%s%s=%u", used ? "," : "", fd_type_name(k),
					 (unsigned)p->fd_types[k]);
		if (d)
			used += (size_t)snprintf(types + used, FD_TYPES_CELL - used,
						 d > 0 ? "(+%lld)" : "(%lld)", d);
	}
}

/* Is process i of the audit worth a row?  Every one under --pid; else
 * those near their limit, and under --watch those whose descriptors
 * grow. */
static bool proc_shown(const struct proc_rec *p, const struct render_opts *ro,
		       size_t i)
{
	const struct proc_growth *pg =
		ro->watch && ro->watch->procs ? &ro->watch->procs[i] : NULL;

	return ro->all_procs || (p->flags & PFLAG_FD_PRESSURE) ||
	       (pg && pg->fds_per_min >= 0.05);
}

static int proc_cells(const struct proc_rec *p, const struct proc_growth *pg,
		      struct buf *name, char f[8][32], char *wl, char *types,
		      char **cells)
{
	name->len = 0;
	if (buf_str(name, "") || buf_proc(name, p))
		return -ENOMEM;
	snprintf(f[0], 32, "%u", (unsigned)p->sockets);
	snprintf(f[1], 32, "%u", (unsigned)p->fds);
	snprintf(f[2], 32, "%u", (unsigned)p->socket_fds);
	if (p->has_fd_limit && p->fd_limit != FD_LIMIT_NONE) {
		snprintf(f[3], 32, "%llu", (unsigned long long)p->fd_limit);
		snprintf(f[4], 32, "%llu%%", p->fd_limit ?
			 (unsigned long long)p->fds * 100 / p->fd_limit : 100ULL);
	} else {
		snprintf(f[3], 32, "%s", p->has_fd_limit ? "unlimited" : "?");
		snprintf(f[4], 32, "-");
	}
	snprintf(f[5], 32, "%s", p->flags & PFLAG_FD_PRESSURE ? "fd_pressure" : "-");
	snprintf(f[6], 32, "-");
	snprintf(f[7], 32, "-");
	if (pg) {
		rate_cell(f[6], 32, pg->fds_per_min);
		if (pg->minutes_to_limit >= 0) {
			double ms = pg->minutes_to_limit * 60000.0;

			text_duration(ms > 2147483647.0 ? 2147483647u : (uint32_t)ms,
				      f[7], 32);
		}
	}
	workload_cell(p->wl, wl, WORKLOAD_CELL_BUF);
	cells[0] = name->s;
	cells[1] = wl;
	cells[2] = f[0];
	cells[3] = f[1];
	cells[4] = f[2];
	cells[5] = f[3];
	cells[6] = f[4];
	fd_types_cell(p, pg, types);
	cells[7] = types;
	cells[8] = f[5];
	cells[9] = f[6];
	cells[10] = f[7];
	return 0;
}

/* After the totals: the processes holding selected sockets, with their
 * descriptors against their limit (see proc_shown).  Nothing when no
 * process qualifies. */
static int procs_section(FILE *out, const struct sock_table *t,
			 const struct audit *a, const struct render_opts *ro)
{
	size_t ncols = PROC_COLS + (ro->watch ? PROC_WATCH_COLS : 0);
	size_t widths[PROC_COLS + PROC_WATCH_COLS] = { 0 };
	char *cells[PROC_COLS + PROC_WATCH_COLS];
	struct buf name = { 0 };
	char f[8][32], wl[WORKLOAD_CELL_BUF], types[FD_TYPES_CELL];
	size_t i, shown = 0;
	int pass, rc = 0;

	for (i = 0; i < a->nprocs; i++)
		shown += proc_shown(&t->procs[a->procs[i]], ro, i);
	if (!shown)
		return 0;
	fputc('\n', out);
	widen(widths, (char *const *)proc_head, ncols);
	for (pass = 0; pass < 2 && !rc; pass++) {
		if (pass == 1)
			print_row(out, (char *const *)proc_head, widths, proc_align,
				  ncols);
		for (i = 0; i < a->nprocs && !rc; i++) {
			const struct proc_rec *p = &t->procs[a->procs[i]];

			if (!proc_shown(p, ro, i))
				continue;
			rc = proc_cells(p, ro->watch && ro->watch->procs ?
					&ro->watch->procs[i] : NULL, &name, f, wl, types,
					cells);
			if (rc)
				break;
			if (pass == 0)
				widen(widths, cells, ncols);
			else
				print_row(out, cells, widths, proc_align, ncols);
		}
	}
	free(name.s);
	return rc;
}

/* ---- one row per group ---- */

/* NETNS (first, when shown), the columns every group table has, and
 * those appended under --watch. */
#define GROUP_COLS 13 /* the last two only with UDP or UNIX groups */
#define WATCH_COLS 6 /* the flag rates only with UNIX, UDP groups */

static const char *const group_head[GROUP_COLS + WATCH_COLS] = {
	"NETNS", "GROUP", "SIDE", "PROCESSES", "TOTAL", "ESTAB", "IDLE",
	"CLOSE_WAIT", "STALLED", "DEAD", "OTHER", "PEER_CLOSED", "DROPPING",
	"+FIRST", "+PREV", "PER_MIN", "PEER_CLOSED_PER_MIN", "DROPPING_PER_MIN",
	"LEAKING"
};
static const enum align group_align[GROUP_COLS + WATCH_COLS] = {
	LEFT, LEFT, LEFT, LEFT, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT,
	RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, LEFT
};

/* The key cell of a UDP or UNIX group: "udp *:53", "udp 10.0.0.1:53",
 * "unix /run/x.sock", "unix pid 42".  key holds GROUP_KEY_MAX bytes. */
#define GROUP_KEY_MAX (4 * 255 + 64)
static void kind_group_key(const struct sock_table *t, const struct group *g,
			   char *key)
{
	char name[4 * 255 + 1], ep[64];
	const unsigned char *path;
	size_t len;

	if (g->side == SIDE_PROCESS)
		snprintf(key, GROUP_KEY_MAX, "%s pid %d", proto_name(g->protocol),
			 (int)g->pid);
	else if (g->protocol == PROTO_UNIX) {
		len = audit_group_path(t, g, &path);
		snprintf(key, GROUP_KEY_MAX, "unix %s",
			 unix_name_cell(path, len, name, sizeof(name)));
	} else if (g->side == SIDE_SERVER)
		snprintf(key, GROUP_KEY_MAX, "udp *:%u", (unsigned)g->port);
	else
		snprintf(key, GROUP_KEY_MAX, "udp %s",
			 text_endpoint(g->family, g->raddr, g->port, ep, sizeof(ep)));
}

/* The watch columns of one group (sample 0: no change yet). */
static void watch_cells(const struct watch_info *w, size_t i,
			char nums[WATCH_COLS][24], char **cells)
{
	const struct group_growth *gg = w->groups ? &w->groups[i] : NULL;
	int c;

	for (c = 0; c < WATCH_COLS; c++)
		snprintf(nums[c], 24, "-");
	if (gg) {
		signed_cell(nums[0], 24, gg->delta);
		signed_cell(nums[1], 24, gg->delta_prev);
		rate_cell(nums[2], 24, gg->sockets_per_min);
		rate_cell(nums[3], 24, gg->peer_closed_per_min);
		rate_cell(nums[4], 24, gg->dropping_per_min);
		snprintf(nums[5], 24, "%s", gg->leaking ? "LEAKING" : "no");
	}
	for (c = 0; c < WATCH_COLS; c++)
		cells[GROUP_COLS + c] = nums[c];
}

/* The GROUP cell of a --group-by unit, container or pod group: the
 * unit, the container's name (else its 12-digit id), the pod's
 * NAMESPACE/NAME (else its uid), its first 255 bytes escaped as a
 * process name is (anyone who can name a container chose them); "-" for
 * the null group.  (A UDP or UNIX one is prefixed "udp " or "unix " by
 * the caller.)  size: at least 4 * 255 + 1. */
static void workload_group_name(const struct sock_table *t, const struct group *g,
				char *key, size_t size)
{
	const struct workload *w = g->wl_proc != NO_INDEX ? t->procs[g->wl_proc].wl : NULL;
	const struct wl_container *c = w ? w->c : NULL;
	const char *name = g->wl_key;
	size_t max = 255;

	if (!name) {
		snprintf(key, size, "-");
		return;
	}
	if (g->side == SIDE_CONTAINER && c && c->name)
		name = c->name;
	else if (g->side == SIDE_CONTAINER)
		max = 12;
	text_escape_name(name, strnlen(name, max), key, size);
}

/* Cells of one group row but NETNS (cells[0]); the caller frees
 * procs.s. */
static int group_cells(const struct sock_table *t, const struct group *g,
		       char *key, char nums[9][16], struct buf *procs,
		       char **cells)
{
	const struct counts *n = &g->n;
	uint32_t other = n->sockets - n->states[ST_ESTABLISHED] -
			 n->close_wait - n->dead;
	uint32_t vals[6] = { n->sockets, n->states[ST_ESTABLISHED], n->idle,
			     n->close_wait, n->stalled, n->dead };
	size_t i;

	if (audit_side_is_workload(g->side)) {
		char name[GROUP_KEY_MAX - 8];

		workload_group_name(t, g, name, sizeof(name));
		snprintf(key, GROUP_KEY_MAX, "%s%s%s",
			 g->protocol != PROTO_TCP ? proto_name(g->protocol) : "",
			 g->protocol != PROTO_TCP ? " " : "", name);
	} else if (g->protocol != PROTO_TCP)
		kind_group_key(t, g, key);
	else if (g->side == SIDE_SERVER)
		snprintf(key, GROUP_KEY_MAX, "*:%u", (unsigned)g->port);
	else if (g->side == SIDE_CLIENT)
		text_endpoint(g->family, g->raddr, g->port, key, GROUP_KEY_MAX);
	else if (g->pid)
		snprintf(key, GROUP_KEY_MAX, "pid %d", (int)g->pid);
	else
		snprintf(key, GROUP_KEY_MAX, "-");

	procs->len = 0;
	if (buf_str(procs, ""))
		return -ENOMEM;
	for (i = 0; i < g->nprocs && i < GROUP_PROCS_SHOWN; i++) {
		if ((i && buf_str(procs, ",")) || buf_proc(procs, &t->procs[g->procs[i]]))
			return -ENOMEM;
	}
	if (g->nprocs > GROUP_PROCS_SHOWN) {
		char more[24];

		snprintf(more, sizeof(more), ",+%zu", g->nprocs - GROUP_PROCS_SHOWN);
		if (buf_str(procs, more))
			return -ENOMEM;
	}
	if (g->nprocs == 0 && buf_str(procs, "-"))
		return -ENOMEM;

	cells[1] = key;
	cells[2] = (char *)audit_side_name(g->side);
	cells[3] = procs->s;
	for (i = 0; i < 6; i++) {
		snprintf(nums[i], 16, "%u", (unsigned)vals[i]);
		cells[4 + i] = nums[i];
	}
	snprintf(nums[6], 16, "%u", (unsigned)other);
	cells[10] = nums[6];
	snprintf(nums[7], 16, "%u", (unsigned)n->peer_closed);
	cells[11] = nums[7];
	snprintf(nums[8], 16, "%u", (unsigned)n->dropping);
	cells[12] = nums[8];
	return 0;
}

int render_table_groups(FILE *out, const struct sock_table *t,
			const struct audit *a, const struct render_opts *ro)
{
	size_t widths[GROUP_COLS + WATCH_COLS] = { 0 };
	char key[GROUP_KEY_MAX], nums[9][16], wnums[WATCH_COLS][24], ns[4 * 255 + 1];
	char *cells[GROUP_COLS + WATCH_COLS], *head[GROUP_COLS + WATCH_COLS];
	enum align al[GROUP_COLS + WATCH_COLS];
	bool show[GROUP_COLS + WATCH_COLS];
	unsigned kinds = kinds_shown(a);
	struct buf procs = { 0 };
	size_t all = GROUP_COLS + (ro->watch ? WATCH_COLS : 0), ncols, i;
	int pass, rc = 0;

	/* NETNS with more than one namespace; PEER_CLOSED, DROPPING (and
	 * their rates under --watch) with
	 * UNIX, UDP groups. */
	for (i = 0; i < all; i++) {
		show[i] = true;
		head[i] = (char *)group_head[i];
		cells[i] = (char *)"";
	}
	show[0] = netns_column(ro);
	show[11] = (kinds & PROTO_BIT(PROTO_UNIX)) != 0;
	show[12] = (kinds & PROTO_BIT(PROTO_UDP)) != 0;
	if (ro->watch) {
		show[GROUP_COLS + 3] = show[11];
		show[GROUP_COLS + 4] = show[12];
	}
	compact(head, show, all);
	for (i = 0, ncols = 0; i < all; i++)
		if (show[i])
			al[ncols++] = group_align[i];
	if (ro->watch)
		watch_header(out, ro->watch);
	widen(widths, head, ncols);
	for (pass = 0; pass < 2 && !rc; pass++) {
		if (pass == 1)
			print_row(out, head, widths, al, ncols);
		for (i = 0; i < a->ngroups && !rc; i++) {
			rc = group_cells(t, &a->groups[i], key, nums, &procs, cells);
			if (rc)
				break;
			if (ro->watch)
				watch_cells(ro->watch, i, wnums, cells);
			if (show[0])
				cells[0] = (char *)netns_cell(ro, a->groups[i].netns,
							      ns, sizeof(ns));
			compact(cells, show, all);
			/* The last column is not padded, but PROCESSES is
			 * not last: size it too. */
			if (pass == 0)
				widen(widths, cells, ncols);
			else
				print_row(out, cells, widths, al, ncols);
		}
	}
	free(procs.s);
	if (rc)
		return rc;
	totals_line(out, a, ro);
	rc = procs_section(out, t, a, ro);
	if (rc)
		return rc;
	return finish(out);
}

/* ---- one row per socket ---- */

/* NETNS, NETID (with UDP or UNIX sockets), then the columns every list
 * has. */
#define LIST_COLS 10
#define LIST_CELL 1100 /* an escaped name (4 * 255) and an inode */

static const char *const list_head[LIST_COLS] = {
	"NETNS", "NETID", "STATE", "RECV-Q", "SEND-Q", "LOCAL", "REMOTE", "IDLE",
	"FLAGS", "PROCESS"
};
static const enum align list_align[LIST_COLS] = {
	LEFT, LEFT, LEFT, RIGHT, RIGHT, LEFT, LEFT, RIGHT, LEFT, LEFT
};

/* ss's Netid: tcp, udp, u_str, u_dgr, u_seq. */
static const char *netid(const struct sock_rec *s)
{
	if (s->protocol != PROTO_UNIX)
		return proto_name(s->protocol);
	return s->utype == SOCK_STREAM ? "u_str" :
	       s->utype == SOCK_DGRAM ? "u_dgr" : "u_seq";
}

/* LOCAL and REMOTE of a UNIX socket as ss -x prints them: its name and
 * inode, its peer's name and inode ("*" unbound or unknown, 0 no peer);
 * REMOTE "-" when the source did not give peers (/proc/net/unix). */
static void unix_endpoints(const struct sock_table *t, const struct sock_rec *s,
			   char *local, char *remote)
{
	char name[4 * 255 + 1];
	const unsigned char *path;
	size_t len = table_path(t, s, &path);
	int found;

	snprintf(local, LIST_CELL, "%s %u", unix_name_cell(path, len, name, sizeof(name)),
		 (unsigned)s->inode);
	if (!s->has_shutdown) {
		snprintf(remote, LIST_CELL, "-");
		return;
	}
	len = audit_peer_path(t, s, &path, &found);
	snprintf(remote, LIST_CELL, "%s %u", unix_name_cell(path, len, name, sizeof(name)),
		 (unsigned)s->ux.peer_inode);
}


/* The LOCAL cell: ADDRESS:PORT; a dead socket's released one marked so
 * (another socket may hold that port now); "*" when unknown. */
static void local_cell(const struct sock_rec *s, char *cell, size_t len)
{
	size_t n;

	if (s->has_local) {
		text_endpoint(s->family, s->laddr, s->lport, cell, len);
	} else if (s->released) {
		text_endpoint(s->family, s->laddr, s->lport, cell, len);
		n = strlen(cell);
		if (n < len)
			snprintf(cell + n, len - n, " (released)");
	} else {
		snprintf(cell, len, "*");
	}
}

/* Cells of one socket row but NETNS (cells[0]) and NETID (cells[1]). */
static int list_cells(const struct sock_table *t, const struct sock_rec *s,
		      char f[6][LIST_CELL], struct buf *procs, char **cells)
{
	unsigned bit;
	size_t used;
	uint32_t r;

	/* "-" when unknown, as IDLE is. */
	if (sock_has_queues(s)) {
		snprintf(f[0], 64, "%u", (unsigned)s->recv_q);
		snprintf(f[1], 64, "%u", (unsigned)s->send_q);
	} else {
		snprintf(f[0], 64, "-");
		snprintf(f[1], 64, "-");
	}
	if (s->protocol == PROTO_UNIX)
		unix_endpoints(t, s, f[2], f[3]);
	else
		local_cell(s, f[2], 64);
	if (s->protocol == PROTO_UNIX) {
		/* (both set above) */
	} else if (sock_is_dead(s)) {
		snprintf(f[3], 64, "*");
	} else if (s->protocol == PROTO_UDP && s->state != ST_ESTABLISHED) {
		char a[64];

		/* An unconnected UDP socket: "0.0.0.0:*", as ss prints it. */
		snprintf(f[3], 64, s->family == AF_INET6 ? "[%s]:*" : "%s:*",
			 text_addr(s->family, s->raddr, a, sizeof(a)));
	} else if (s->state == ST_LISTEN) {
		char a[64];

		/* A listener has no peer: "0.0.0.0:*", as ss prints it. */
		snprintf(f[3], 64, s->family == AF_INET6 ? "[%s]:*" : "%s:*",
			 text_addr(s->family, s->raddr, a, sizeof(a)));
	} else {
		text_endpoint(s->family, s->raddr, s->rport, f[3], 64);
	}
	if (audit_shows_times(s))
		text_duration(s->last_recv_ms < s->last_send_ms ? s->last_recv_ms :
				s->last_send_ms, f[4], 64);
	else
		snprintf(f[4], 64, "-");
	snprintf(f[5], 64, "-");
	for (bit = 1, used = 0; bit <= FLAG_LAST; bit <<= 1) {
		if (!(s->flags & bit))
			continue;
		/* Every name with commas fits in 64 bytes. */
		used += (size_t)snprintf(f[5] + used, 64 - used, "%s%s",
					 used ? "," : "", flag_name(bit));
	}

	procs->len = 0;
	if (buf_str(procs, ""))
		return -ENOMEM;
	for (r = s->owners; r != NO_INDEX; r = t->refs[r].next) {
		char fd[24];

		snprintf(fd, sizeof(fd), "/%d", (int)t->refs[r].fd);
		if ((r != s->owners && buf_str(procs, ",")) ||
		    buf_proc(procs, &t->procs[t->refs[r].proc]) || buf_str(procs, fd))
			return -ENOMEM;
	}
	if (s->owners == NO_INDEX && buf_str(procs, "-"))
		return -ENOMEM;

	cells[1] = (char *)netid(s);
	cells[2] = (char *)sock_state_table_name(s);
	cells[3] = f[0];
	cells[4] = f[1];
	cells[5] = f[2];
	cells[6] = f[3];
	cells[7] = f[4];
	cells[8] = f[5];
	cells[9] = procs->s;
	return 0;
}

int render_table_list(FILE *out, const struct sock_table *t,
		      const struct audit *a, const struct render_opts *ro)
{
	size_t widths[LIST_COLS] = { 0 };
	char f[6][LIST_CELL];
	char ns[4 * 255 + 1];
	char *cells[LIST_COLS], *head[LIST_COLS];
	enum align al[LIST_COLS];
	bool show[LIST_COLS];
	struct buf procs = { 0 };
	size_t ncols, i;
	int pass, rc = 0;

	/* NETNS with more than one namespace, NETID with other kinds than
	 * TCP: the TCP-only list is as it always was. */
	for (i = 0; i < LIST_COLS; i++) {
		show[i] = true;
		head[i] = (char *)list_head[i];
	}
	show[0] = netns_column(ro);
	show[1] = kinds_shown(a) != 0;
	compact(head, show, LIST_COLS);
	for (i = 0, ncols = 0; i < LIST_COLS; i++)
		if (show[i])
			al[ncols++] = list_align[i];
	if (ro->watch)
		watch_header(out, ro->watch);
	widen(widths, head, ncols);
	for (pass = 0; pass < 2 && !rc; pass++) {
		if (pass == 1)
			print_row(out, head, widths, al, ncols);
		for (i = 0; i < a->nselected; i++) {
			const struct sock_rec *s = &t->socks[a->selected[i]];

			rc = list_cells(t, s, f, &procs, cells);
			if (rc)
				break;
			cells[0] = show[0] ? (char *)netns_cell(ro, s->netns, ns,
								sizeof(ns)) : (char *)"";
			compact(cells, show, LIST_COLS);
			if (pass == 0)
				widen(widths, cells, ncols);
			else
				print_row(out, cells, widths, al, ncols);
		}
	}
	free(procs.s);
	if (rc)
		return rc;
	totals_line(out, a, ro);
	rc = procs_section(out, t, a, ro);
	if (rc)
		return rc;
	return finish(out);
}
