/*
 * The audit: flag every socket, select the ones the user asked for,
 * group them (server by local port, client by peer, process for dead
 * sockets), total them, and judge the --max assertion.
 */
#ifndef AUDIT_H
#define AUDIT_H

#include <stdbool.h>

#include "table.h"

struct audit_opts {
	uint32_t idle_ms;	/* idle threshold */
	uint32_t states;	/* STATE_BIT mask of selected states */
	uint32_t flags;		/* selected flags; 0 = no flag selection */
	unsigned families;	/* FAMILY_* */
	const uint8_t *ports;	/* 65536-bit local port set, or NULL */
	const uint8_t *rports;	/* 65536-bit remote port set, or NULL */
	bool by_pid;		/* only sockets with an owner are selected */
	uint16_t ephemeral_low; /* first port of ip_local_port_range */
	unsigned fd_pressure;	/* percent of fd_limit that flags a process */
	/* When set, only sockets one of whose holders passes it are
	 * selected (--unit, --container, --pod); arg is holder_arg. */
	bool (*holder_ok)(const struct sock_table *t, uint32_t proc,
			  const void *arg);
	const void *holder_arg;
	/* --group-by: GROUP_BY_PORT is the grouping above; the others need
	 * proc_rec.wl of every holder (workload_resolve) before audit_run. */
	int group_by;		/* enum group_by */
};

enum group_side {
	SIDE_SERVER, SIDE_CLIENT, SIDE_PROCESS,
	SIDE_UNIT, SIDE_CONTAINER, SIDE_POD, /* --group-by a workload */
	SIDE_COUNT
};

/* --group-by: port (server/client/process sides), or one group per
 * process, unit, container or pod. */
enum group_by {
	GROUP_BY_PORT, GROUP_BY_PROCESS, GROUP_BY_UNIT, GROUP_BY_CONTAINER,
	GROUP_BY_POD
};

struct counts {
	uint32_t sockets;
	uint32_t states[ST_COUNT]; /* by enum tcp_state_num */
	uint32_t close_wait, idle, stalled, dead;
	uint32_t peer_closed, dropping; /* UNIX, UDP */
};

struct group {
	enum group_side side;
	uint8_t protocol;	/* enum sock_proto of its sockets */
	uint32_t path;		/* UNIX server, client: the name (a table path
				 * ref, see table_path_of); 0: none */
	uint32_t netns;		/* the sockets' namespace inode (0: current;
				 * GROUP_NETNS_MIXED) */
	uint8_t family;		/* client: family of the peer address */
	unsigned char raddr[16]; /* client */
	uint16_t port;		/* server: local port; client: remote port */
	pid_t pid;		/* process */
	struct counts n;
	uint32_t *procs;	/* process indices, ascending PID, unique */
	size_t nprocs;
	/* SIDE_UNIT, _CONTAINER, _POD: the key (workload_key, malloc'd;
	 * NULL: the group of sockets whose holders have none) and a
	 * process of the workload for its fields (NO_INDEX: none). */
	char *wl_key;
	uint32_t wl_proc;
};

struct audit {
	struct group *groups; /* most suspicious first */
	size_t ngroups;
	uint32_t *selected; /* socket indices, in group order */
	size_t nselected;
	uint32_t *procs; /* processes holding a selected socket, by PID */
	size_t nprocs;
	struct counts totals;
	uint32_t idle_ms;
};

/*
 * Flag, select and group the table's sockets.  Sets sock_rec.flags,
 * .selected and .group, and proc_rec.sockets and .flags of the processes
 * that hold selected sockets.  Returns 0 or -ENOMEM.
 */
int audit_run(struct sock_table *t, const struct audit_opts *o,
	      struct audit *a);
void audit_free(struct audit *a);

/* The flags a socket carries under an idle threshold (no side effect). */
unsigned audit_flags_of(const struct sock_rec *s, uint32_t idle_ms);

/* Whether a socket's idle times are reported: tcp_info was read, and it
 * is no listener, TIME-WAIT, or connection not up yet (SYN-SENT,
 * SYN-RECV), whose times are stale. */
int audit_shows_times(const struct sock_rec *s);

/* Whether a side is a workload's (unit, container, pod). */
static inline bool audit_side_is_workload(enum group_side side)
{
	return side >= SIDE_UNIT && side < SIDE_COUNT;
}

/* A group across namespaces (side process or a workload's): whose
 * sockets may be in more than one network namespace. */
static inline bool audit_side_spans_netns(enum group_side side)
{
	return side == SIDE_PROCESS || audit_side_is_workload(side);
}

/* The netns of such a group whose sockets are in more than one
 * namespace (else it is theirs). */
#define GROUP_NETNS_MIXED UINT32_MAX

/* The UNIX name of a group (server: its sockets' own, client: their
 * peers'), as table_path gives it. */
size_t audit_group_path(const struct sock_table *t, const struct group *g,
			const unsigned char **name);

/* The name of the peer of UNIX socket s (NULL, 0 when it has none or
 * its peer is not in the table); *found tells whether the peer is. */
size_t audit_peer_path(const struct sock_table *t, const struct sock_rec *s,
		       const unsigned char **name, int *found);

/* "server", "client", "process", "unit", "container", "pod". */
const char *audit_side_name(enum group_side side);

#endif
