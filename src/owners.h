/*
 * Owners: join socket inodes to the processes that hold them, through
 * PROC_ROOT/[0-9]*\/fd, and find "dead" TCP descriptors (held by a
 * process, dumped by no source).
 */
#ifndef OWNERS_H
#define OWNERS_H

#include <sys/types.h>

#include "table.h"

struct owners_opts {
	const char *proc_root; /* "/proc" outside tests */
	const pid_t *pids;     /* only these processes; all when npids == 0 */
	size_t npids;
	/* Descriptors of TCP sockets missing from the table become
	 * ORIGIN_FD records, for processes in this network namespace
	 * (inode of PROC_ROOT/PID/ns/net); 0 turns this off. */
	unsigned long netns;
	unsigned families; /* which dead sockets to record */
};

struct owners_stats {
	unsigned denied;   /* fd tables not readable (EACCES, EPERM) */
	int denied_errno;
	pid_t denied_pid;  /* the first of them */
	unsigned unchecked; /* dead candidates left ORIGIN_FD_UNCHECKED */
};

/*
 * Scan descriptors and add owners (and dead sockets) to the table, which
 * must be indexed (table_index).  Races with exiting processes are
 * expected and counted, not errors.  Returns 0, -ENOMEM, or -errno when
 * PROC_ROOT itself cannot be read.
 */
int owners_scan(struct sock_table *t, const struct owners_opts *o,
		struct owners_stats *st);

/*
 * Settle the dead candidates left ORIGIN_FD_UNCHECKED by owners_scan,
 * given a second dump of the same source (indexed): a socket found in it,
 * or whose descriptor no longer holds it, was opened or closed during
 * the scan (ORIGIN_LATE); any other is dead (ORIGIN_FD).
 */
void owners_recheck(struct sock_table *t, const struct sock_table *again,
		    const char *proc_root);

/*
 * Is PID a process?  Returns 0 and its thread-group id in *tgid (equal
 * to pid for a process, another PID for one of its threads), or -errno
 * (-ENOENT: no such PID).
 */
int owners_pid_check(const char *proc_root, pid_t pid, pid_t *tgid);

/* The inode of PROC_ROOT/PID/ns/net ("self" for pid 0), or 0. */
unsigned long owners_netns_of(const char *proc_root, pid_t pid);

#endif
