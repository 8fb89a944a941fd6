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
	/* Processes whose fd directory lists descriptors whose links may
	 * not be read (as before, not counted in denied: their sockets
	 * have no owner shown). */
	unsigned links_denied;
	pid_t links_denied_pid; /* the first of them */
	unsigned gone;	   /* processes that exited during the scan */
	pid_t gone_pid;	   /* the first of them */
	unsigned unchecked; /* dead candidates left ORIGIN_FD_UNCHECKED */
	/* When owners_join fails reading /proc: the process, and what of
	 * it ("fd", "comm", "limits", "ns/net"); fail_what NULL otherwise. */
	pid_t fail_pid;
	const char *fail_what;
};

/*
 * Join the descriptors fdscan read to the table (which must be indexed):
 * owners for dumped sockets, confirmed dead sockets for TCP descriptors
 * no source dumped.  Processes that exited are skipped and counted; fd
 * tables that may not be read are counted.  Returns 0, or -errno: no
 * memory, or a read of /proc that failed for another reason than a
 * process gone or denied (EMFILE, ENOMEM, ...: st->fail_pid and
 * st->fail_what say which).  The answer would be incomplete: it is an
 * error of the audit.
 */
int owners_join(struct sock_table *t, const struct owners_opts *o,
		const struct fdscan *scan, struct owners_stats *st);

/*
 * Settle the dead candidates left ORIGIN_FD_UNCHECKED by owners_scan,
 * given a second dump of the same source (indexed): a socket found in it,
 * or whose descriptor no longer holds it, was opened or closed during
 * the scan (ORIGIN_LATE); any other is dead (ORIGIN_FD).  Returns 0, or
 * -errno when a descriptor could not be read (*fail_pid: whose).
 */
int owners_recheck(struct sock_table *t, const struct sock_table *again,
		   const char *proc_root, pid_t *fail_pid);

/*
 * Is PID a process?  Returns 0 and its thread-group id in *tgid (equal
 * to pid for a process, another PID for one of its threads), or -errno
 * (-ENOENT: no such PID; -ESRCH: a zombie, exited but not reaped).
 */
int owners_pid_check(const char *proc_root, pid_t pid, pid_t *tgid);

/* The inode of PROC_ROOT/PID/ns/net ("self" for pid 0) into *ino.
 * Returns 0 or -errno. */
int owners_netns_of(const char *proc_root, pid_t pid, unsigned long *ino);

/*
 * A process held for the length of an audit: a pidfd (which names that
 * process, not its PID) and its start time.
 */
struct owners_hold {
	pid_t pid;
	int pidfd;		  /* -1 without pidfd_open */
	unsigned long long start; /* from PROC_ROOT/PID/stat */
};

/* Hold process pid.  Returns 0, or -errno (-ENOENT: no such process),
 * with nothing to release. */
int owners_hold(const char *proc_root, pid_t pid, struct owners_hold *h);

/*
 * Is the held process still there and not exiting?  Returns 0, -ESRCH
 * when it has exited or begun to exit (its descriptors may be partly
 * closed; its PID may name another process), or another -errno when
 * that cannot be told.
 */
int owners_held(const char *proc_root, const struct owners_hold *h);
void owners_release(struct owners_hold *h);

#endif
