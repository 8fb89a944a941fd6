/* Source: UNIX domain sockets, from sock_diag (AF_UNIX) or /proc/net/unix. */
#ifndef SOURCE_UNIX_H
#define SOURCE_UNIX_H

#include <stddef.h>
#include <stdint.h>

#include "table.h"

/*
 * Decode the payload of one SOCK_DIAG_BY_FAMILY message of an AF_UNIX
 * dump (struct unix_diag_msg and its attributes) into a new record of
 * the table: type, state (listen, established, else close: unconnected),
 * inode, name, peer, queues (UNIX_DIAG_RQLEN), shutdown, uid; the uid
 * and queues marked unknown when their attribute is missing.  No I/O.
 * Returns 0, or -EBADMSG (short payload, malformed attributes, family
 * not AF_UNIX), -ENOMEM.
 */
int unix_diag_decode(const void *payload, size_t len, struct sock_table *t);

/*
 * Parse one line of /proc/net/unix into *rec and its name into
 * name[0..*name_len) (an abstract "@x" as "\0x", as the kernel holds
 * it).  No I/O.  Returns 1 for a record, 0 for the header line,
 * -EINVAL for a malformed one.  The file has no peer, queues, shutdown
 * or uid: has_shutdown stays 0, the uid and queues are marked unknown.
 */
int unix_parse_line(const char *line, struct sock_rec *rec,
		    unsigned char name[256], size_t *name_len);

struct unix_stats {
	unsigned lines;	    /* records read */
	unsigned malformed; /* lines skipped as malformed */
};

/*
 * Read PROC_ROOT/net/unix and add the sockets whose state is in
 * `states` to the table.  Returns 0 or -errno.
 */
int unix_proc_read(const char *proc_root, struct sock_table *t,
		   uint32_t states, struct unix_stats *st);

#endif
