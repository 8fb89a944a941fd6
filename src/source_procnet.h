/* Source: TCP sockets read from /proc/net/tcp and /proc/net/tcp6. */
#ifndef SOURCE_PROCNET_H
#define SOURCE_PROCNET_H

#include <stdint.h>

#include "table.h"

struct procnet_stats {
	unsigned lines;	    /* records read */
	unsigned malformed; /* lines skipped as malformed */
	int inconsistent;   /* a file still listed a socket twice after
			     * the last retry (the repeats are dropped) */
};

/*
 * Parse one line of /proc/net/tcp (family AF_INET) or /proc/net/tcp6
 * (AF_INET6) into *rec.  No I/O.  Returns 1 for a record, 0 for the
 * header line, -EINVAL for a malformed line.  has_times is never set:
 * the file has no tcp_info.
 */
int procnet_parse_line(const char *line, int family, struct sock_rec *rec);

/*
 * Read PROC_ROOT/net/tcp and/or PROC_ROOT/net/tcp6 (as `families` asks)
 * and add the sockets whose state is in `states` to the table; every
 * listener is recorded with table_mark_listener whatever `states` says.
 * Returns 0, or -errno when a file that was asked for cannot be read; a
 * missing tcp6 (a kernel without IPv6) is not an error when FAMILY_INET
 * is asked for too.  A read that lists a socket twice is done again
 * (see read_family in source_procnet.c).
 */
int procnet_read(const char *proc_root, struct sock_table *t,
		 unsigned families, uint32_t states, struct procnet_stats *st);

#endif
