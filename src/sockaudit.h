/*
 * Records shared by every stage of the pipeline:
 *
 *   sources (source_netlink.c, source_procnet.c)  fill a sock_table
 *   owners  (owners.c)                            join descriptors to it
 *   audit   (audit.c)                             flags, selects, groups
 *   renderers (render_table.c, render_json.c)     print the result
 */
#ifndef SOCKAUDIT_H
#define SOCKAUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The version is the top-level VERSION file's, passed by the Makefile
 * (-DSOCKAUDIT_VERSION); a build that does not pass it (lint, the
 * fuzzers) says "unknown" rather than a stale number.
 */
#ifndef SOCKAUDIT_VERSION
#define SOCKAUDIT_VERSION "unknown"
#endif

/* Kernel TCP state numbers (include/net/tcp_states.h). */
enum tcp_state_num {
	ST_ESTABLISHED = 1,
	ST_SYN_SENT,
	ST_SYN_RECV,
	ST_FIN_WAIT1,
	ST_FIN_WAIT2,
	ST_TIME_WAIT,
	ST_CLOSE,
	ST_CLOSE_WAIT,
	ST_LAST_ACK,
	ST_LISTEN,
	ST_CLOSING,
	ST_NEW_SYN_RECV,
	ST_COUNT
};

/* Every state a user can select: bits 1..11 of a state mask. */
#define STATES_ALL 0x0ffeu
#define STATE_BIT(s) (1u << (s))

/* Socket flags (contract: "Flags"). */
enum sock_flag {
	FLAG_CLOSE_WAIT = 1u << 0,
	FLAG_IDLE = 1u << 1,
	FLAG_STALLED = 1u << 2,
	FLAG_DEAD = 1u << 3,
	FLAG_PEER_CLOSED = 1u << 4, /* UNIX: connected, its peer closed */
	FLAG_DROPPING = 1u << 5,    /* UDP: datagrams dropped */
};
#define FLAG_NAMES_COUNT 6
#define FLAG_LAST FLAG_DROPPING

/* Socket kinds (contract: "Every socket kind").  PROTO_TCP is 0 so that
 * a zeroed record is a TCP socket. */
enum sock_proto {
	PROTO_TCP = 0,
	PROTO_UDP,
	PROTO_UNIX,
};
/* Kind selection bits (-t, -u, -x): PROTO_BIT(PROTO_UDP)... */
#define PROTO_BIT(p) (1u << (p))
#define PROTOS_ALL (PROTO_BIT(PROTO_TCP) | PROTO_BIT(PROTO_UDP) | PROTO_BIT(PROTO_UNIX))

/* A UNIX socket's shutdown state (UNIX_DIAG_SHUTDOWN): its own
 * sk_shutdown bits, RCV set when the peer closed or shut down writing. */
#define UNIX_SHUT_RCV 1u
#define UNIX_SHUT_SEND 2u

/* Address-family selection bits. */
#define FAMILY_INET 1u
#define FAMILY_INET6 2u
#define FAMILY_BOTH (FAMILY_INET | FAMILY_INET6)

#define NO_INDEX UINT32_MAX

/* Exit statuses (contract: "Exit status"). */
enum exit_status {
	EXIT_OK = 0,
	EXIT_ASSERTION = 1,
	EXIT_USAGE = 2,
	EXIT_CANNOT_RUN = 3,
};

/* Where a record came from. */
enum sock_origin {
	ORIGIN_KERNEL = 0, /* dumped by a source (netlink or /proc/net/tcp*) */
	ORIGIN_FD,	   /* only seen as a descriptor: the kernel dropped it */
	/* Only seen as a descriptor, and its state could not be read
	 * (pidfd_getfd refused): checked against a second dump, which
	 * makes it ORIGIN_FD or ORIGIN_LATE. */
	ORIGIN_FD_UNCHECKED,
	/* A socket opened after the dump: neither listed nor dead. */
	ORIGIN_LATE,
	/* Only seen as a descriptor, and alive: skipped by the dump (a
	 * socket removed from its hash bucket between two pieces) or
	 * opened after it.  A second dump replaces it by its record there,
	 * or makes it ORIGIN_LATE (closed since). */
	ORIGIN_MISSING,
};

/*
 * One socket.  Addresses are in network byte order, as the kernel
 * gives them: 4 bytes used for AF_INET, 16 for AF_INET6.  Ports are in
 * host order.  A UNIX socket (family AF_UNIX) has no addresses or ports:
 * the bytes of the remote address hold its peer and its name instead,
 * which keeps the record of every TCP socket small.
 */
struct sock_rec {
	unsigned char laddr[16];
	union {
		unsigned char raddr[16]; /* TCP, UDP */
		struct {		 /* UNIX */
			uint32_t peer_inode; /* 0: no peer (or not known) */
			uint32_t path; /* name in the table's pool, 0: unbound */
		} ux;
	};
	uint32_t inode;
	uint32_t uid;
	uint32_t recv_q;
	uint32_t send_q;
	uint32_t last_recv_ms; /* valid only with has_times */
	uint32_t last_send_ms;
	uint32_t owners; /* first owner_ref index, NO_INDEX when none */
	uint32_t group;	 /* set by the audit */
	uint32_t netns;	 /* inode of its network namespace; 0: the current one */
	uint16_t lport;
	uint16_t rport;
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t state;	/* enum tcp_state_num */
	uint8_t origin; /* enum sock_origin */
	uint8_t has_times; /* tcp_info was read */
	uint8_t has_local; /* local address known (always, but for ORIGIN_FD) */
	/* ORIGIN_FD: laddr/lport are the local end the socket had before
	 * the kernel released its port (getsockname still says it); another
	 * socket may hold that port now, so it is never shown or selected
	 * as held (has_local stays 0). */
	uint8_t released;
	uint8_t flags;	   /* enum sock_flag bits, set by the audit */
	uint8_t selected;  /* set by the audit */
	uint8_t protocol;  /* enum sock_proto */
	uint8_t utype;	   /* UNIX: SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	uint8_t shutdown;  /* UNIX: UNIX_SHUT_* bits, valid with has_shutdown */
	uint8_t has_shutdown; /* UNIX: the source gave the peer and shutdown */
	/* SOCK_UNKNOWN_* bits: values the source did not give (0 for every
	 * TCP and UDP source, so that a zeroed record has them all). */
	uint8_t unknown;
	uint32_t drops;	   /* UDP: datagrams dropped (SK_MEMINFO_DROPS) */
};

/* Bits of sock_rec.unknown: /proc/net/unix has no uid or queues, and
 * a kernel before 5.3 sends no UNIX_DIAG_UID. */
#define SOCK_UNKNOWN_UID 1u
#define SOCK_UNKNOWN_QUEUES 2u

/* A descriptor whose socket the kernel no longer has (flag dead). */
static inline int sock_is_dead(const struct sock_rec *s)
{
	return s->origin == ORIGIN_FD || s->origin == ORIGIN_FD_UNCHECKED;
}

/* Whether the source gave the socket's owner uid. */
static inline int sock_has_uid(const struct sock_rec *s)
{
	return !(s->unknown & SOCK_UNKNOWN_UID);
}

/* Whether the socket's queues are known: a dead socket has none, and
 * /proc/net/unix does not give them. */
static inline int sock_has_queues(const struct sock_rec *s)
{
	return !sock_is_dead(s) && !(s->unknown & SOCK_UNKNOWN_QUEUES);
}

/* Process flags, set by the audit. */
enum proc_flag {
	PFLAG_FD_PRESSURE = 1u << 0, /* fds >= --fd-pressure % of fd_limit */
};

#define FD_LIMIT_NONE UINT64_MAX /* RLIMIT_NOFILE unlimited */

struct workload;
/* Descriptors by kind (contract: "fd_types"), in output order. */
enum fd_type {
	FDT_TCP,
	FDT_UDP,
	FDT_UNIX,
	FDT_OTHER_SOCKET,
	FDT_PIPE,
	FDT_ANON_INODE,
	FDT_FILE,
	FDT_OTHER,
	FDT_COUNT
};

/* A process that holds at least one socket of interest. */
struct proc_rec {
	pid_t pid;
	uint32_t comm_len;
	char comm[64]; /* raw bytes from /proc/PID/comm, untrusted */
	uint32_t fds;	     /* entries of /proc/PID/fd */
	uint32_t socket_fds; /* of them, sockets of any kind */
	uint64_t fd_limit;   /* soft RLIMIT_NOFILE, FD_LIMIT_NONE: unlimited */
	uint8_t has_fd_limit; /* fd_limit was read from /proc/PID/limits */
	uint8_t flags;	      /* enum proc_flag bits */
	/* Processes with the same key non-zero are in the same cgroups
	 * (the BPF source's css_set): their workload is resolved once. */
	uint64_t cgroup_key;
	/* With cgroup_key: the id of its cgroup2 cgroup (the inode number
	 * of that directory), to check the file read for the key. */
	uint64_t cgroup_id;
	uint32_t sockets;     /* selected sockets it holds, set by the audit */
	/* Its cgroup, unit, container and pod (workload.h), set after the
	 * audit for processes holding selected sockets; NULL otherwise. */
	const struct workload *wl;
	uint32_t fd_types[FDT_COUNT]; /* its descriptors by kind (fdtypes.c) */
};

/* One descriptor: process `proc` holds the socket on `fd`. */
struct owner_ref {
	uint32_t proc; /* index into sock_table.procs */
	int32_t fd;
	uint32_t next; /* next owner_ref of the same socket, NO_INDEX ends */
};

#endif
