/*
 * Leak reproducers: small servers and clients on loopback, run as forked
 * processes that report their sockets back over a pipe and then wait
 * until they are killed.
 *
 * The test process creates the listener (kernel-chosen port), forks the
 * server (which inherits it) and closes its own copy, then forks the
 * client.  Every process of a scenario is in one process group, dies
 * with its parent (PR_SET_PDEATHSIG), and is killed and reaped by
 * scenario_stop / scenario_cleanup_all (use the latter as a Check
 * teardown; it also runs atexit).
 */
#ifndef SCENARIO_H
#define SCENARIO_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/types.h>

enum scen_kind {
	/* Server accepts and never reads; the client never writes.  Both
	 * ends stay ESTABLISHED and go idle. */
	SCEN_IDLE,
	/* Server accepts and closes; the client keeps its descriptor: the
	 * client's socket is CLOSE-WAIT (the server's an orphan in
	 * FIN-WAIT-2). */
	SCEN_CLOSE_WAIT,
	/* Server writes SCEN_STALL_BYTES; the client never reads. */
	SCEN_STALLED,
	/* Server resets the connection (SO_LINGER {1, 0} and close); the
	 * client keeps the descriptor of a socket the kernel dropped. */
	SCEN_RESET,
	/* Server accepts, then forks: the accepted socket (and the
	 * listener) are held by two processes. */
	SCEN_SHARED,
};

#define SCEN_STALL_BYTES (256 * 1024)

/* The role of a reported socket. */
enum scen_role {
	ROLE_LISTENER,	  /* the server's listening socket */
	ROLE_SERVER_CONN, /* the server's accepted connection */
	ROLE_CLIENT_CONN, /* the client's connection */
};

/* Which process of the scenario. */
enum scen_proc_id {
	PROC_SERVER,
	PROC_CLIENT,
	PROC_SERVER2, /* SCEN_SHARED: the server's child */
	PROC_CLIENT2, /* scen_opts.client_fork: the client's child */
	PROC_COUNT
};

struct scen_sock {
	enum scen_role role;
	enum scen_proc_id proc;
	pid_t pid;
	int fd;
	unsigned long inode; /* fstat(fd).st_ino */
	unsigned long uid;   /* fstat(fd).st_uid: the socket inode's owner */
	int family;
	char laddr[INET6_ADDRSTRLEN];
	int lport;
	char raddr[INET6_ADDRSTRLEN]; /* "" when not connected */
	int rport;
	/* SCEN_RESET: what getsockname said after the reset. */
	char laddr_after[INET6_ADDRSTRLEN];
	int lport_after;
	/* SCEN_STALLED, server: bytes written. */
	long written;
};

#define SCEN_MAX_SOCKS 8

/* Variations (scenario_start_opts). */
struct scen_opts {
	/* The server listens on AF_INET6 ::ffff:127.0.0.1 (not v6-only)
	 * and the client connects over AF_INET to 127.0.0.1: the server's
	 * sockets are IPv4-mapped IPv6. */
	bool v4mapped;
	/* When >= 0, the client creates its socket with this uid (needs
	 * root). */
	int client_uid;
	/* SCEN_CLOSE_WAIT: the server writes this many bytes before it
	 * hangs up (unread data in CLOSE-WAIT). */
	int close_wait_bytes;
	/* The client forks once its socket is ready (after the reset for
	 * SCEN_RESET): the child holds the same descriptor. */
	bool client_fork;
	/* The server closes its listener after the accept. */
	bool close_listener;
	/* Listen on a free port below the ephemeral range (tried at
	 * random; bind fails on a port in use, so nothing collides)
	 * instead of a kernel-chosen one. */
	bool low_port;
	/* When > 0, the client binds to this local port (on its own
	 * address) before it connects. */
	int client_local_port;
	/* When > 0, the listener's port (bind fails if it is taken: for a
	 * namespace of the test's own, where every port is free). */
	int listen_port;
	/* SCEN_IDLE: the client opens this many more connections, which
	 * the server accepts and holds (a big dump) ... */
	int extra_conns;
	/* ... and then this many (at most 64) that the server never
	 * accepts: they wait in the listener's accept queue. */
	int pending_conns;
};

struct scenario {
	enum scen_kind kind;
	int family;		/* the listener's: AF_INET (127.0.0.1) or
				 * AF_INET6 (::1 or ::ffff:127.0.0.1) */
	int port;		/* the listener's port */
	const char *addr;	/* the listener's address */
	int client_family;	/* the client's */
	const char *client_addr; /* where the client connects */
	int client_uid;		/* -1: ours */
	struct scen_opts opts;
	pid_t pgid;
	pid_t pids[PROC_COUNT]; /* 0 when the scenario has no such process */
	char comms[PROC_COUNT][16];
	struct scen_sock socks[SCEN_MAX_SOCKS];
	int nsocks;
	bool running;
};

/*
 * Start a scenario and wait (at most a few seconds) until every process
 * has reported.  `tag` (at most 6 characters) names the processes:
 * "<tag>-srv", "<tag>-cli", "<tag>-sr2", "<tag>-cl2" (their comm).  Fails the test
 * (ck_assert) when the scenario cannot be set up.  The struct must stay
 * valid until scenario_stop or the end of the test.
 */
void scenario_start(struct scenario *sc, enum scen_kind kind, int family,
		    const char *tag);
/* The same with variations; family is ignored with o->v4mapped. */
void scenario_start_opts(struct scenario *sc, enum scen_kind kind, int family,
			 const char *tag, const struct scen_opts *o);

/* The socket of a role (the first one reported), or NULL. */
const struct scen_sock *scenario_sock(const struct scenario *sc,
				      enum scen_role role);

/* Kill one process of the scenario (SIGKILL) and wait until it is gone
 * (reaped, its descriptors closed). */
void scenario_kill(struct scenario *sc, enum scen_proc_id proc);

/* Kill every process of the scenario and reap them. */
void scenario_stop(struct scenario *sc);

/* Stop every scenario still running (a Check teardown). */
void scenario_cleanup_all(void);

/* Sleep for ms milliseconds. */
void sleep_ms(long ms);

/* "pid" as a string in a static ring of buffers (for argv). */
const char *itoa_tmp(long v);

#endif
