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

/* Skip spaces; return the start of the next field or NULL at the end. */
static const char *next_field(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return (*p && *p != '\n') ? p : NULL;
}

/*
 * Read exactly `digits` hex digits (or 1..digits when exact is 0) at *p,
 * advancing *p.  Returns 0 or -EINVAL.
 */
static int hex_run(const char **p, size_t digits, int exact, uint32_t *v)
{
	size_t i;
	uint32_t x = 0;

	for (i = 0; i < digits; i++) {
		char c = (*p)[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			break;
		x = x << 4 | d;
	}
	if (i == 0 || (exact && i != digits))
		return -EINVAL;
	*p += i;
	*v = x;
	return 0;
}

/* A decimal field of at most 10 digits fitting in 32 bits. */
static int dec_run(const char **p, uint32_t *v)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; (*p)[i] >= '0' && (*p)[i] <= '9'; i++) {
		x = x * 10 + (unsigned)((*p)[i] - '0');
		if (x > UINT32_MAX)
			return -EINVAL;
	}
	if (i == 0)
		return -EINVAL;
	*p += i;
	*v = (uint32_t)x;
	return 0;
}

/* The field must end here (space or end of line). */
static int field_end(const char *p)
{
	return (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\0') ? 0 : -EINVAL;
}

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
		if (hex_run(p, 8, 1, &w))
			return -EINVAL;
		memcpy(addr + (size_t)4 * (size_t)i, &w, 4);
	}
	if (**p != ':')
		return -EINVAL;
	(*p)++;
	if (hex_run(p, 4, 1, &v))
		return -EINVAL;
	*port = (uint16_t)v;
	return field_end(*p);
}

int procnet_parse_line(const char *line, int family, struct sock_rec *rec)
{
	struct sock_rec r;
	const char *p = next_field(line);
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
	if (dec_run(&p, &v) || *p++ != ':')
		return -EINVAL;
	if (!(p = next_field(p)) || endpoint(&p, family, r.laddr, &r.lport))
		return -EINVAL;
	if (!(p = next_field(p)) || endpoint(&p, family, r.raddr, &r.rport))
		return -EINVAL;
	/* state */
	if (!(p = next_field(p)) || hex_run(&p, 2, 1, &v) || field_end(p))
		return -EINVAL;
	if (v < ST_ESTABLISHED || v > ST_CLOSING)
		return -EINVAL;
	r.state = (uint8_t)v;
	/* tx_queue:rx_queue */
	if (!(p = next_field(p)) || hex_run(&p, 8, 0, &tx) || *p++ != ':' ||
	    hex_run(&p, 8, 0, &rx) || field_end(p))
		return -EINVAL;
	r.send_q = tx;
	r.recv_q = rx;
	/* tr:tm->when, retrnsmt: checked for shape, not used */
	if (!(p = next_field(p)) || hex_run(&p, 2, 0, &v) || *p++ != ':' ||
	    hex_run(&p, 8, 0, &v) || field_end(p))
		return -EINVAL;
	if (!(p = next_field(p)) || hex_run(&p, 8, 0, &v) || field_end(p))
		return -EINVAL;
	/* uid, timeout, inode */
	if (!(p = next_field(p)) || dec_run(&p, &r.uid) || field_end(p))
		return -EINVAL;
	if (!(p = next_field(p)) || dec_run(&p, &v) || field_end(p))
		return -EINVAL;
	if (!(p = next_field(p)) || dec_run(&p, &r.inode) || field_end(p))
		return -EINVAL;
	*rec = r;
	return 1;
}

static int read_file(const char *path, int family, struct sock_table *t,
		     uint32_t states, struct procnet_stats *st)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	if (!f)
		return -errno;
	for (;;) {
		struct sock_rec r, *slot;
		int n;

		errno = 0;
		if (getline(&line, &cap, f) <= 0) {
			/* Not the end of the file: a read or an allocation
			 * failed, and the rest of the sockets with it. */
			if (!feof(f))
				rc = errno ? -errno : -EIO;
			break;
		}
		n = procnet_parse_line(line, family, &r);

		if (n < 0) {
			st->malformed++;
			continue;
		}
		if (n == 0)
			continue;
		st->lines++;
		if (r.state == ST_LISTEN && table_mark_listener(t, r.lport) < 0) {
			rc = -ENOMEM;
			break;
		}
		if (!(states & STATE_BIT(r.state)))
			continue;
		slot = table_add_sock(t);
		if (!slot) {
			rc = -ENOMEM;
			break;
		}
		r.netns = t->cur_netns;
		*slot = r;
	}
	if (!rc && ferror(f))
		rc = -EIO;
	free(line);
	fclose(f);
	return rc;
}

/* Reads of a file that listed a socket twice, after the first. */
#define READ_RETRIES 3

/*
 * Read one file into the table.  A read that raced with the kernel
 * lists some socket twice (see table_drop_repeats): it is read again,
 * up to READ_RETRIES times; the last read is kept without its repeats
 * and st->inconsistent set.  Returns 0 or -errno.
 */
static int read_family(const char *path, int family, struct sock_table *t,
		       uint32_t states, struct procnet_stats *st)
{
	struct procnet_stats before = *st;
	size_t mark = t->nsocks;

	for (int attempt = 0;; attempt++) {
		int rc = read_file(path, family, t, states, st);
		ssize_t repeats;

		if (rc)
			return rc;
		repeats = table_drop_repeats(t, mark);
		if (repeats < 0)
			return (int)repeats;
		if (!repeats)
			return 0;
		if (attempt == READ_RETRIES) {
			st->inconsistent = 1;
			return 0;
		}
		t->nsocks = mark;
		*st = before;
	}
}

int procnet_read(const char *proc_root, struct sock_table *t,
		 unsigned families, uint32_t states, struct procnet_stats *st)
{
	char path[4096];
	int rc;

	memset(st, 0, sizeof(*st));
	if (families & FAMILY_INET) {
		snprintf(path, sizeof(path), "%s/net/tcp", proc_root);
		rc = read_family(path, AF_INET, t, states, st);
		if (rc)
			return rc;
	}
	if (families & FAMILY_INET6) {
		snprintf(path, sizeof(path), "%s/net/tcp6", proc_root);
		rc = read_family(path, AF_INET6, t, states, st);
		/* A kernel without IPv6 has no tcp6: nothing to read. */
		if (rc && !(rc == -ENOENT && (families & FAMILY_INET)))
			return rc;
	}
	return 0;
}
