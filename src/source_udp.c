/*
 * Source: /proc/net/udp and /proc/net/udp6.  Their lines are those of
 * /proc/net/tcp (source_procnet.c parses that part) plus three columns:
 * ref, pointer and drops.
 */
#include "source_udp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "procfile.h"
#include "source_procnet.h"

/* The drops column: the 13th field of a line. */
#define UDP_DROPS_FIELD 12

/* The start of field `n` (from 0) of a line, or NULL. */
static const char *field_at(const char *line, unsigned n)
{
	const char *p = line;
	unsigned i;

	for (i = 0;; i++) {
		p += strspn(p, " \t");
		if (!*p || *p == '\n')
			return NULL;
		if (i == n)
			return p;
		p += strcspn(p, " \t\n");
	}
}

int udp_parse_line(const char *line, int family, struct sock_rec *rec)
{
	struct sock_rec r;
	const char *p;
	char *end;
	unsigned long drops;
	int rc = procnet_parse_line(line, family, &r);

	if (rc <= 0)
		return rc;
	/* UDP is established (connected) or close (unconnected). */
	if (r.state != ST_ESTABLISHED && r.state != ST_CLOSE)
		return -EINVAL;
	p = field_at(line, UDP_DROPS_FIELD);
	if (!p || *p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	drops = strtoul(p, &end, 10);
	if (errno || drops > UINT32_MAX || (*end && *end != ' ' && *end != '\n'))
		return -EINVAL;
	r.protocol = PROTO_UDP;
	r.drops = (uint32_t)drops;
	*rec = r;
	return 1;
}

struct read_ctx {
	int family;
	struct sock_table *t;
	uint32_t states;
	struct udp_stats *st;
};

static int add_line(const char *line, void *arg)
{
	struct read_ctx *c = arg;
	struct sock_rec r, *slot;
	int n = udp_parse_line(line, c->family, &r);

	if (n < 0)
		c->st->malformed++;
	if (n <= 0)
		return 0;
	c->st->lines++;
	if (!(c->states & STATE_BIT(r.state)))
		return 0;
	slot = table_add_sock(c->t);
	if (!slot)
		return -ENOMEM;
	r.netns = c->t->cur_netns;
	*slot = r;
	return 0;
}

/* One file into the table.  Returns 0 or -errno. */
static int read_file(const char *path, int family, void *arg)
{
	struct read_ctx *c = arg;

	c->family = family;
	return procfile_each_line(path, add_line, c);
}

int udp_proc_read(const char *proc_root, struct sock_table *t,
		  unsigned families, uint32_t states, struct udp_stats *st)
{
	struct read_ctx c;

	/* Cleared before c points at it (cppcheck: ctuuninitvar). */
	memset(st, 0, sizeof(*st));
	c.family = 0;
	c.t = t;
	c.states = states;
	c.st = st;
	return procfile_each_family(proc_root, "udp", families & FAMILY_INET,
				    families & FAMILY_INET6, read_file, &c);
}
