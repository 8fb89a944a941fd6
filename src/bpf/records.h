/*
 * The binary records the BPF iterators write (src/bpf/sockaudit.bpf.c) and
 * source_bpf.c reads: one layout for both sides, fixed sizes, no
 * padding the compilers could place differently.
 */
#ifndef SOCKAUDIT_BPF_RECORDS_H
#define SOCKAUDIT_BPF_RECORDS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * One TCP socket (iter/tcp), as sock_diag would give it.  Addresses in
 * network byte order (4 bytes used for AF_INET); ports in host order;
 * state the kernel's (TCP_NEW_SYN_RECV for a request socket).
 */
struct sa_tcp_rec {
	__u8 laddr[16];
	__u8 raddr[16];
	__u32 inode;
	__u32 uid;
	__u32 recv_q; /* a listener: its accept queue */
	__u32 send_q; /* a listener: its backlog */
	__u32 last_recv_ms; /* with has_times: tcpi_last_data_recv */
	__u32 last_send_ms; /* with has_times: tcpi_last_data_sent */
	__u16 lport;
	__u16 rport;
	__u8 family;
	__u8 state;
	__u8 has_times; /* a full socket: tcp_info would have been sent */
	__u8 pad;
};

/* What a descriptor holds (sa_fd_rec.kind). */
enum sa_fd_kind {
	SA_FD_OTHER = 0,  /* not a socket */
	SA_FD_SOCKET = 1, /* a socket, not TCP */
	SA_FD_TCP = 2,	  /* a TCP socket (AF_INET or AF_INET6) */
};

/* What a descriptor that is not a socket holds, as fd_types counts it
 * (the filesystem of its inode: what /proc/PID/fd's link would say). */
enum sa_file_kind {
	SA_FILE_FILE = 0,	/* a path: files, devices, memfds */
	SA_FILE_PIPE = 1,	/* pipefs: "pipe:[N]" */
	SA_FILE_ANON_INODE = 2, /* anon_inodefs: "anon_inode:..." */
	SA_FILE_OTHER = 3,	/* nsfs: "net:[N]", "mnt:[N]", ... */
};

/* What a socket that is not TCP is (sa_fd_rec.state with SA_FD_SOCKET),
 * as /proc's sockprotoname would sort it. */
enum sa_sock_kind {
	SA_SOCK_OTHER = 0,
	SA_SOCK_UDP = 1,  /* AF_INET or AF_INET6, SOCK_DGRAM, IPPROTO_UDP */
	SA_SOCK_UNIX = 2, /* AF_UNIX, any type */
};

/* One descriptor of a process (iter/task_file). */
struct sa_fd_rec {
	__u32 tgid; /* the process, as our PID namespace numbers it */
	__s32 fd;
	__u32 inode; /* of the socket; 0 when not a socket */
	__u8 kind;   /* enum sa_fd_kind */
	__u8 state;  /* SA_FD_TCP: the socket's TCP state; SA_FD_SOCKET:
		      * enum sa_sock_kind; SA_FD_OTHER: enum sa_file_kind */
	__u8 family; /* a socket's address family */
	__u8 pad;
};

/* One process (iter/task, thread-group leaders only). */
struct sa_proc_rec {
	__u32 tgid;
	__u32 pad;
	__u64 fd_limit; /* soft RLIMIT_NOFILE; ~0: unlimited */
	char comm[16];
	/* Its css_set, the set of cgroups it is in, as an opaque key: two
	 * processes with the same key read the same /proc/PID/cgroup, so
	 * workload.c reads that file once per key.  0: unknown. */
	__u64 cgroups;
	/* Its cgroup in the default (cgroup2) hierarchy: the id, which is
	 * that cgroup directory's inode number.  workload.c checks what it
	 * read against it before the file speaks for other processes. */
	__u64 cgroup_id;
};

#endif
