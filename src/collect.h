/*
 * Collect: the sockets of every network namespace an audit reads, from
 * netlink or /proc, into the snapshot's socket table (see collect.c).
 */
#ifndef COLLECT_H
#define COLLECT_H

#include <stdint.h>
#include <sys/types.h>

#include "netns.h"
#include "options.h"
#include "snapshot.h"
#include "table.h"

/* How --pid namespaces that may not be read were handled. */
struct pid_netns {
	unsigned unknown; /* PIDs whose ns/net may not be read */
	pid_t pid;	  /* the first of them */
	int err;
};

/*
 * The namespaces to read into ns (initialised here): ours by default;
 * with --pid, the one each process is in; with --netns, each one named;
 * with --all-netns, every one found (options add up).  Returns 0 or an
 * exit status after saying why.
 */
int collect_namespaces(struct netns_set *ns, const struct options *o,
		       struct pid_netns *pn);

/*
 * Dump every namespace of s->ns into s->t with the given states; sets
 * s->source and s->inconsistent.  Returns 0 or an exit status after
 * saying why (a namespace that cannot be entered or left, a source that
 * fails).
 */
int collect_sockets(struct snapshot *s, const struct options *o, uint32_t states);

/* The first port of the ephemeral range of the current namespace
 * (ip_local_port_range) into *low; 32768 when there is no such file.
 * Returns 0 or -errno (out of descriptors, ...). */
int collect_ephemeral_low(uint16_t *low);

/* collect_again: the thread could not come back to our namespace. */
#define COLLECT_FATAL 100

/*
 * A second dump, of every state, of the namespaces read the first time
 * and from the same source, into `again` (indexed), quietly.  Returns 0,
 * COLLECT_FATAL (said why), or the -errno of the failure (-ENOENT: a
 * namespace is gone).
 */
int collect_again(struct snapshot *s, const struct options *o,
		  struct sock_table *again);

#endif
