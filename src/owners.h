/*
 * Owners: join the socket descriptors fdscan read from PROC_ROOT/PID/fd
 * to the table by inode, and find "dead" TCP descriptors (held by a
 * process, dumped by no source).
 */
#ifndef OWNERS_H
#define OWNERS_H

#include <sys/types.h>

#include "fdscan.h"
#include "table.h"

struct owners_opts {
	const char *proc_root; /* "/proc" outside tests */
	/* Descriptors of TCP sockets missing from the table become dead
	 * sockets, for processes whose network namespace (inode of
	 * PROC_ROOT/PID/ns/net) is one of these: namespaces whose every
	 * socket was dumped into the table.  nnetns 0 turns this off.
	 * (Socket inodes are unique on the host, so the table may hold
	 * several namespaces: a descriptor found in any of them is alive.) */
	const uint32_t *netns;
	size_t nnetns;
	/* Our own namespace: its dead sockets get sock_rec.netns 0, those
	 * of another namespace its inode. */
	uint32_t self_netns;
	unsigned families; /* which dead sockets to record */
};

struct owners_stats {
	unsigned denied;   /* fd tables not readable (EACCES, EPERM) */
	int denied_errno;
	pid_t denied_pid;  /* the first of them */
	unsigned unchecked; /* dead candidates left ORIGIN_FD_UNCHECKED */
};

/*
 * Join the descriptors fdscan read to the table (which must be indexed):
 * owners for dumped sockets, confirmed dead sockets for TCP descriptors
 * no source dumped.  Processes that exited are skipped; fd tables that
 * could not be read are counted.  Returns 0 or -ENOMEM.
 */
int owners_join(struct sock_table *t, const struct owners_opts *o,
		const struct fdscan *scan, struct owners_stats *st);

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
 * (-ENOENT: no such PID; -ESRCH: a zombie, exited but not reaped).
 */
int owners_pid_check(const char *proc_root, pid_t pid, pid_t *tgid);

/* The inode of PROC_ROOT/PID/ns/net ("self" for pid 0), or 0. */
unsigned long owners_netns_of(const char *proc_root, pid_t pid);

#endif
