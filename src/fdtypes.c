/*
 * fd_types of the processes in a report.  fdscan has counted the
 * descriptors that are not sockets by their links; a socket's kind is
 * the protocol of its record when a source dumped it, which saves a
 * system call for every socket of a selected kind, and otherwise its
 * system.sockprotoname.
 */
#include "fdtypes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

enum fd_type fdtypes_of_protoname(const char *name)
{
	static const struct {
		const char *name;
		enum fd_type type;
	} names[] = {
		{ "TCP", FDT_TCP },	    { "TCPv6", FDT_TCP },
		{ "UDP", FDT_UDP },	    { "UDPv6", FDT_UDP },
		{ "UNIX", FDT_UNIX },	    { "UNIX-STREAM", FDT_UNIX },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i].name))
			return names[i].type;
	return FDT_OTHER_SOCKET;
}

/* The fdscan record of `pid` (procs are in ascending PID), or NULL. */
static const struct proc_fds *scan_find(const struct fdscan *scan, pid_t pid)
{
	size_t lo = 0, hi = scan->nprocs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (scan->procs[mid].pid == pid)
			return &scan->procs[mid];
		if (scan->procs[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Whether an errno says the process or descriptor is gone, or not ours
 * to look at: the descriptor is then "other". */
static int skippable(int err)
{
	return err == ENOENT || err == ESRCH || err == ENODATA ||
	       err == EOPNOTSUPP || err == ERANGE || err == EACCES || err == EPERM;
}

/* The kind of socket descriptor fs of process pid not in the table.
 * Returns the kind, or -errno. */
static int unknown_socket(const char *proc_root, pid_t pid,
			  const struct fd_sock *fs)
{
	char path[4096], proto[32];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%d/fd/%d", proc_root, (int)pid, (int)fs->fd);
	n = getxattr(path, "system.sockprotoname", proto, sizeof(proto) - 1);
	if (n < 0)
		return skippable(errno) ? FDT_OTHER : -errno;
	proto[n] = '\0';
	return (int)fdtypes_of_protoname(proto);
}

/* The kind the BPF iterator read of a socket descriptor, or -1 when it
 * is not known (the /proc scan). */
static int of_fd_sock(const struct fd_sock *fs)
{
	switch (fs->kind) {
	case FDS_TCP:
		return FDT_TCP;
	case FDS_UDP:
		return FDT_UDP;
	case FDS_UNIX:
		return FDT_UNIX;
	case FDS_OTHER:
		return FDT_OTHER_SOCKET;
	}
	return -1;
}

/* The kind of a socket of the table. */
static enum fd_type of_record(const struct sock_rec *s)
{
	switch (s->protocol) {
	case PROTO_TCP:
		return FDT_TCP;
	case PROTO_UDP:
		return FDT_UDP;
	case PROTO_UNIX:
		return FDT_UNIX;
	}
	return FDT_OTHER_SOCKET;
}

/* One process: its socket descriptors sorted, the rest from fdscan.
 * Returns 0 or -errno. */
static int fill_one(struct sock_table *t, const struct proc_fds *p,
		    const char *proc_root, struct proc_rec *r)
{
	size_t i;

	memcpy(r->fd_types, p->fd_types, sizeof(r->fd_types));
	for (i = 0; i < p->nsocks; i++) {
		uint32_t s = table_find(t, p->socks[i].inode);
		int type;

		if (s != NO_INDEX) {
			r->fd_types[of_record(&t->socks[s])]++;
			continue;
		}
		type = of_fd_sock(&p->socks[i]);
		if (type < 0)
			type = unknown_socket(proc_root, p->pid, &p->socks[i]);
		if (type < 0)
			return type;
		r->fd_types[type]++;
	}
	/* Socket links without an inode fdscan could keep (malformed):
	 * sockets of some kind all the same. */
	if (p->socket_fds > p->nsocks)
		r->fd_types[FDT_OTHER_SOCKET] += p->socket_fds - (uint32_t)p->nsocks;
	return 0;
}

/* fill_one for process r of the table, when the scan lists it. */
static int fill_proc(struct sock_table *t, const struct fdscan *scan,
		     const char *proc_root, struct proc_rec *r)
{
	const struct proc_fds *p = scan_find(scan, r->pid);

	return p ? fill_one(t, p, proc_root, r) : 0;
}

int fdtypes_fill(struct sock_table *t, const struct fdscan *scan,
		 const char *proc_root, const uint32_t *procs, size_t nprocs)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < nprocs && !rc; i++)
		rc = fill_proc(t, scan, proc_root, &t->procs[procs[i]]);
	return rc;
}

int fdtypes_fill_all(struct sock_table *t, const struct fdscan *scan,
		     const char *proc_root)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < t->nprocs && !rc; i++)
		rc = fill_proc(t, scan, proc_root, &t->procs[i]);
	return rc;
}
