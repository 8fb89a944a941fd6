/*
 * fdscan: read the socket descriptors of processes from PROC_ROOT/PID/fd,
 * on worker threads, while the caller does something else (the socket
 * dump).  It needs nothing from the socket table: owners.c joins the two.
 */
#ifndef FDSCAN_H
#define FDSCAN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "sockaudit.h"

/* What the BPF iterator said of a socket descriptor's socket; the
 * /proc scan cannot tell and leaves FDS_UNKNOWN. */
enum fd_sock_kind {
	FDS_UNKNOWN = 0,
	FDS_OTHER = 1, /* a socket of another kind than these */
	FDS_TCP = 2,   /* TCP: family and state are the socket's */
	FDS_UDP = 3,
	FDS_UNIX = 4,
};

/* One socket descriptor: fd holds socket inode `inode`. */
struct fd_sock {
	int32_t fd;
	uint32_t inode;
	uint8_t kind;	/* enum fd_sock_kind */
	uint8_t family; /* FDS_TCP: AF_INET or AF_INET6 */
	uint8_t state;	/* FDS_TCP: its TCP state when it was read */
};

/* What was read of one process. */
struct proc_fds {
	pid_t pid;
	int err; /* 0, or -errno: it could not be read whole (ENOENT and
		  * ESRCH: it exited; EACCES, EPERM: not ours; any other, such
		  * as EMFILE or ENOMEM: an error of the audit) */
	const char *err_what; /* with err: what failed, "fd", "comm", ... */
	uint32_t comm_len;
	char comm[64]; /* raw bytes of PID/comm, read when it holds sockets */
	/* Descriptors listed whose link may not be read (EACCES, EPERM:
	 * some init processes refuse even root): left out of socks. */
	uint32_t denied_links;
	uint32_t fds;	     /* every descriptor listed */
	uint32_t socket_fds; /* of them, sockets of any kind */
	/* The others by kind: FDT_PIPE, FDT_ANON_INODE, FDT_FILE,
	 * FDT_OTHER (the socket slots stay 0: fdtypes.c sorts those). */
	uint32_t fd_types[FDT_COUNT];
	uint64_t fd_limit;   /* soft "Max open files", when it holds sockets */
	int has_fd_limit;    /* fd_limit read (FD_LIMIT_NONE: unlimited) */
	uint64_t cgroup_key; /* see proc_rec.cgroup_key; 0 from /proc */
	uint64_t cgroup_id;  /* see proc_rec.cgroup_id */
	struct fd_sock *socks; /* in the order the directory lists them */
	size_t nsocks, cap; /* cap 0: socks is in fdscan.socks_pool */
};

struct fdscan {
	int procfd;
	struct proc_fds *procs; /* ascending PID */
	size_t nprocs;
	/* The socks of every process in one array (the BPF scan), or NULL
	 * (the /proc scan: each its own). */
	struct fd_sock *socks_pool;
	int from_bpf; /* read with the BPF iterators: every socket's kind known */
	atomic_size_t next; /* the next process a worker takes */
	pthread_t threads[8];
	unsigned nthreads;
};

/*
 * List the processes (only `pids` when npids > 0, else every numeric
 * entry of PROC_ROOT) and start reading their fd tables on worker
 * threads.  Returns 0, or -errno (PROC_ROOT unreadable, no memory, no
 * thread) with nothing left running.
 */
int fdscan_start(struct fdscan *s, const char *proc_root, const pid_t *pids,
		 size_t npids);

/* Wait for the workers.  Returns 0 or -ENOMEM (a process's list could
 * not grow; its err says so too). */
int fdscan_wait(struct fdscan *s);

/* The kind of a descriptor by the target of its /proc link: pipe:[N],
 * anon_inode:..., a path (file), socket:[N] (FDT_OTHER_SOCKET: its
 * protocol is not in the link), anything else (other).  No I/O. */
enum fd_type fdscan_link_type(const char *link);

/* Free what fdscan_start made (only after it returned 0). */
void fdscan_free(struct fdscan *s);

#endif
