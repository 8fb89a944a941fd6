/* Source: UDP sockets from /proc/net/udp and /proc/net/udp6 (the
 * fallback; sock_diag dumps them in source_netlink.c). */
#ifndef SOURCE_UDP_H
#define SOURCE_UDP_H

#include <stdint.h>

#include "table.h"

struct udp_stats {
	unsigned lines;	    /* records read */
	unsigned malformed; /* lines skipped as malformed */
};

/*
 * Parse one line of /proc/net/udp (AF_INET) or /proc/net/udp6 (AF_INET6)
 * into *rec: the columns of /proc/net/tcp, then ref, pointer and drops.
 * No I/O.  Returns 1 for a record, 0 for the header, -EINVAL for a
 * malformed line.
 */
int udp_parse_line(const char *line, int family, struct sock_rec *rec);

/*
 * Read PROC_ROOT/net/udp and/or udp6 (as `families` asks) and add the
 * sockets whose state is in `states`.  Returns 0 or -errno; a missing
 * udp6 is not an error when FAMILY_INET is asked for too.
 */
int udp_proc_read(const char *proc_root, struct sock_table *t,
		  unsigned families, uint32_t states, struct udp_stats *st);

#endif
