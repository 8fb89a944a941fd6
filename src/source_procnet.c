/*
 * Source: /proc/net/tcp and /proc/net/tcp6.  The fallback when sock_diag
 * is not available; it has no tcp_info, so no idle times.
 */
#include "source_procnet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "procfile.h"

/*
 * "0100007F:1F90" (tcp) or 32 hex digits ":" port (tcp6).  The kernel
 * prints each 32-bit word of the address as the host-order value of its
 * network-order bytes, so copying the word back restores the bytes.
 */
static int endpoint(const char **p, int family, unsigned char *addr,
		    uint16_t *port)
{
	int words = family == AF_INET6 ? 4 : 1;
	uint32_t w, v;
	int i;

	for (i = 0; i < words; i++) {
		if (procfile_hex(p, 8, 1, &w))
			return -EINVAL;
		memcpy(addr + (size_t)4 * (size_t)i, &w, 4);
	}
	if (**p != ':')
		return -EINVAL;
	(*p)++;
	if (procfile_hex(p, 4, 1, &v))
		return -EINVAL;
	*port = (uint16_t)v;
	return procfile_field_end(*p);
}

int procnet_parse_line(const char *line, int family, struct sock_rec *rec)
{
	struct sock_rec r;
	const char *p = procfile_next_field(line);
	uint32_t v, tx, rx;

	if (!p)
		return -EINVAL;
	if (!strncmp(p, "sl ", 3))
		return 0;
	memset(&r, 0, sizeof(r));
	r.family = (uint8_t)family;
	r.owners = NO_INDEX;
	r.group = NO_INDEX;
	r.has_local = 1;

	/* "sl:" */
	if (procfile_dec(&p, &v) || *p++ != ':')
		return -EINVAL;
	if (!(p = procfile_next_field(p)) || endpoint(&p, family, r.laddr, &r.lport))
		return -EINVAL;
	if (!(p = procfile_next_field(p)) || endpoint(&p, family, r.raddr, &r.rport))
		return -EINVAL;
	/* state */
	if (!(p = procfile_next_field(p)) || procfile_hex(&p, 2, 1, &v) || procfile_field_end(p))
		return -EINVAL;
	if (v < ST_ESTABLISHED || v > ST_CLOSING)
		return -EINVAL;
	r.state = (uint8_t)v;
	/* tx_queue:rx_queue */
	if (!(p = procfile_next_field(p)) || procfile_hex(&p, 8, 0, &tx) || *p++ != ':' ||
	    procfile_hex(&p, 8, 0, &rx) || procfile_field_end(p))
		return -EINVAL;
	r.send_q = tx;
	r.recv_q = rx;
	/* tr:tm->when, retrnsmt: checked for shape, not used */
	if (!(p = procfile_next_field(p)) || procfile_hex(&p, 2, 0, &v) || *p++ != ':' ||
	    procfile_hex(&p, 8, 0, &v) || procfile_field_end(p))
		return -EINVAL;
	if (!(p = procfile_next_field(p)) || procfile_hex(&p, 8, 0, &v) || procfile_field_end(p))
		return -EINVAL;
	/* uid, timeout, inode */
	if (!(p = procfile_next_field(p)) || procfile_dec(&p, &r.uid) || procfile_field_end(p))
		return -EINVAL;
	if (!(p = procfile_next_field(p)) || procfile_dec(&p, &v) || procfile_field_end(p))
		return -EINVAL;
	if (!(p = procfile_next_field(p)) || procfile_dec(&p, &r.inode) || procfile_field_end(p))
		return -EINVAL;
	*rec = r;
	return 1;
}

struct read_ctx {
	int family;
	struct sock_table *t;
	uint32_t states;
	struct procnet_stats *st;
};

static int add_line(const char *line, void *arg)
{
	struct read_ctx *c = arg;
	struct sock_rec r, *slot;
	int n = procnet_parse_line(line, c->family, &r);

	if (n < 0)
		c->st->malformed++;
	if (n <= 0)
		return 0;
	c->st->lines++;
	if (r.state == ST_LISTEN && table_mark_listener(c->t, r.lport) < 0)
		return -ENOMEM;
	if (!(c->states & STATE_BIT(r.state)))
		return 0;
	slot = table_add_sock(c->t);
	if (!slot)
		return -ENOMEM;
	r.netns = c->t->cur_netns;
	*slot = r;
	return 0;
}

/* Reads of a file that listed a socket twice, after the first. */
#define READ_RETRIES 3

/*
 * Read one file into the table.  A read that raced with the kernel
 * lists some socket twice (see table_drop_repeats): it is read again,
 * up to READ_RETRIES times; the last read is kept without its repeats
 * and st->inconsistent set.  Returns 0 or -errno.
 */
static int read_family(const char *path, int family, void *arg)
{
	struct read_ctx *c = arg;
	struct sock_table *t = c->t;
	struct procnet_stats *st = c->st;
	struct procnet_stats before = *st;
	struct table_mark mark = table_mark(t);

	c->family = family;
	for (int attempt = 0;; attempt++) {
		int rc = procfile_each_line(path, add_line, c);
		ssize_t repeats;

		if (rc)
			return rc;
		repeats = table_drop_repeats(t, mark.nsocks);
		if (repeats < 0)
			return (int)repeats;
		if (!repeats)
			return 0;
		if (attempt == READ_RETRIES) {
			st->inconsistent = 1;
			return 0;
		}
		table_rollback(t, &mark);
		*st = before;
	}
}

int procnet_read(const char *proc_root, struct sock_table *t,
		 unsigned families, uint32_t states, struct procnet_stats *st)
{
	struct read_ctx c;

	/* Cleared before c points at it (cppcheck: ctuuninitvar). */
	memset(st, 0, sizeof(*st));
	c.family = 0;
	c.t = t;
	c.states = states;
	c.st = st;
	return procfile_each_family(proc_root, "tcp", families & FAMILY_INET,
				    families & FAMILY_INET6, read_family, &c);
}
