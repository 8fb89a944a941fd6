/*
 * Table renderers: one row per group (default) or per socket (--list).
 * Columns are sized in a first pass and printed in a second, so the rows
 * are formatted twice instead of being held in memory.
 */
#include "render.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "text.h"

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
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 64;
		char *p;

		while (b->len + n + 1 > ncap)
			ncap *= 2;
		p = realloc(b->s, ncap);
		if (!p)
			return -ENOMEM;
		b->s = p;
		b->cap = ncap;
	}
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

static void totals_line(FILE *out, const struct audit *a,
			const struct render_opts *ro)
{
	char idle[32];

	fprintf(out,
		"%u socket%s in %zu group%s: %u close_wait, %u idle, %u stalled, "
		"%u dead (source %s, idle threshold %s)%s\n",
		a->totals.sockets, a->totals.sockets == 1 ? "" : "s", a->ngroups,
		a->ngroups == 1 ? "" : "s", a->totals.close_wait, a->totals.idle,
		a->totals.stalled, a->totals.dead, ro->source,
		text_duration(a->idle_ms, idle, sizeof(idle)),
		ro->inconsistent ? "; INCONSISTENT: the kernel's dump kept changing "
				   "while read" : "");
}

static int finish(FILE *out)
{
	if (fflush(out) == EOF || ferror(out))
		return -(errno ? errno : EIO);
	return 0;
}

/* ---- one row per group ---- */

#define GROUP_COLS 10

static const char *const group_head[GROUP_COLS] = {
	"GROUP", "SIDE", "PROCESSES", "TOTAL", "ESTAB", "IDLE",
	"CLOSE_WAIT", "STALLED", "DEAD", "OTHER"
};
static const enum align group_align[GROUP_COLS] = {
	LEFT, LEFT, LEFT, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT
};

/* Cells of one group row; the caller frees procs.s. */
static int group_cells(const struct sock_table *t, const struct group *g,
		       char key[64], char nums[7][16], struct buf *procs,
		       char **cells)
{
	const struct counts *n = &g->n;
	uint32_t other = n->sockets - n->states[ST_ESTABLISHED] -
			 n->close_wait - n->dead;
	uint32_t vals[6] = { n->sockets, n->states[ST_ESTABLISHED], n->idle,
			     n->close_wait, n->stalled, n->dead };
	size_t i;

	if (g->side == SIDE_SERVER)
		snprintf(key, 64, "*:%u", (unsigned)g->port);
	else if (g->side == SIDE_CLIENT)
		text_endpoint(g->family, g->raddr, g->port, key, 64);
	else
		snprintf(key, 64, "pid %d", (int)g->pid);

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

	cells[0] = key;
	cells[1] = (char *)audit_side_name(g->side);
	cells[2] = procs->s;
	for (i = 0; i < 6; i++) {
		snprintf(nums[i], 16, "%u", (unsigned)vals[i]);
		cells[3 + i] = nums[i];
	}
	snprintf(nums[6], 16, "%u", (unsigned)other);
	cells[9] = nums[6];
	return 0;
}

int render_table_groups(FILE *out, const struct sock_table *t,
			const struct audit *a, const struct render_opts *ro)
{
	size_t widths[GROUP_COLS] = { 0 };
	char key[64], nums[7][16];
	char *cells[GROUP_COLS];
	struct buf procs = { 0 };
	size_t i;
	int pass, rc = 0;

	widen(widths, (char *const *)group_head, GROUP_COLS);
	for (pass = 0; pass < 2 && !rc; pass++) {
		if (pass == 1)
			print_row(out, (char *const *)group_head, widths,
				  group_align, GROUP_COLS);
		for (i = 0; i < a->ngroups && !rc; i++) {
			rc = group_cells(t, &a->groups[i], key, nums, &procs, cells);
			if (rc)
				break;
			/* The last column is not padded, but PROCESSES is
			 * not last: size it too. */
			if (pass == 0)
				widen(widths, cells, GROUP_COLS);
			else
				print_row(out, cells, widths, group_align, GROUP_COLS);
		}
	}
	free(procs.s);
	if (rc)
		return rc;
	totals_line(out, a, ro);
	return finish(out);
}

/* ---- one row per socket ---- */

#define LIST_COLS 8

static const char *const list_head[LIST_COLS] = {
	"STATE", "RECV-Q", "SEND-Q", "LOCAL", "REMOTE", "IDLE", "FLAGS", "PROCESS"
};
static const enum align list_align[LIST_COLS] = {
	LEFT, RIGHT, RIGHT, LEFT, LEFT, RIGHT, LEFT, LEFT
};

static int list_cells(const struct sock_table *t, const struct sock_rec *s,
		      char f[6][64], struct buf *procs, char **cells)
{
	unsigned bit;
	size_t used;
	uint32_t r;

	snprintf(f[0], 64, "%u", (unsigned)s->recv_q);
	snprintf(f[1], 64, "%u", (unsigned)s->send_q);
	if (s->has_local)
		text_endpoint(s->family, s->laddr, s->lport, f[2], 64);
	else
		snprintf(f[2], 64, "*");
	if (sock_is_dead(s)) {
		snprintf(f[0], 64, "-");
		snprintf(f[1], 64, "-");
		snprintf(f[3], 64, "*");
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
	for (bit = 1, used = 0; bit <= FLAG_DEAD; bit <<= 1) {
		if (!(s->flags & bit))
			continue;
		/* Four names with commas fit in 64 bytes. */
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

	cells[0] = (char *)state_table_name(s->state);
	cells[1] = f[0];
	cells[2] = f[1];
	cells[3] = f[2];
	cells[4] = f[3];
	cells[5] = f[4];
	cells[6] = f[5];
	cells[7] = procs->s;
	return 0;
}

int render_table_list(FILE *out, const struct sock_table *t,
		      const struct audit *a, const struct render_opts *ro)
{
	size_t widths[LIST_COLS] = { 0 };
	char f[6][64];
	char *cells[LIST_COLS];
	struct buf procs = { 0 };
	size_t i;
	int pass, rc = 0;

	widen(widths, (char *const *)list_head, LIST_COLS);
	for (pass = 0; pass < 2 && !rc; pass++) {
		if (pass == 1)
			print_row(out, (char *const *)list_head, widths, list_align,
				  LIST_COLS);
		for (i = 0; i < a->nselected; i++) {
			rc = list_cells(t, &t->socks[a->selected[i]], f, &procs, cells);
			if (rc)
				break;
			if (pass == 0)
				widen(widths, cells, LIST_COLS);
			else
				print_row(out, cells, widths, list_align, LIST_COLS);
		}
	}
	free(procs.s);
	if (rc)
		return rc;
	totals_line(out, a, ro);
	return finish(out);
}
