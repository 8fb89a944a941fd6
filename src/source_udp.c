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

/* One file into the table.  Returns 0 or -errno. */
static int read_file(const char *path, int family, struct sock_table *t,
		     uint32_t states, struct udp_stats *st)
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
			if (!feof(f))
				rc = errno ? -errno : -EIO;
			break;
		}
		n = udp_parse_line(line, family, &r);
		if (n < 0)
			st->malformed++;
		if (n <= 0)
			continue;
		st->lines++;
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

int udp_proc_read(const char *proc_root, struct sock_table *t,
		  unsigned families, uint32_t states, struct udp_stats *st)
{
	char path[4096];
	int rc;

	memset(st, 0, sizeof(*st));
	if (families & FAMILY_INET) {
		snprintf(path, sizeof(path), "%s/net/udp", proc_root);
		rc = read_file(path, AF_INET, t, states, st);
		if (rc)
			return rc;
	}
	if (families & FAMILY_INET6) {
		snprintf(path, sizeof(path), "%s/net/udp6", proc_root);
		rc = read_file(path, AF_INET6, t, states, st);
		if (rc && !(rc == -ENOENT && (families & FAMILY_INET)))
			return rc;
	}
	return 0;
}
