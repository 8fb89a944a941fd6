/*
 * Collect: the sockets of every network namespace of a set, from the BPF
 * iterators, netlink or /proc, into a socket table (see collect.c).  A
 * lower stage: it knows the namespace set and the table, and returns
 * what it read.
 */
#ifndef COLLECT_H
#define COLLECT_H

#include <stdint.h>
#include <sys/types.h>

#include "netns.h"
#include "options.h"
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

/* What collect_sockets read. */
struct collect_result {
	/* The source used: SOURCE_BPF, SOURCE_NETLINK, or SOURCE_PROC when
	 * some namespace was read from /proc (never SOURCE_AUTO). */
	enum source_kind source;
	bool inconsistent; /* some dump kept changing while it was read */
	/* The middle of the dump, on both clocks: the moment the table
	 * stands for (growth rates are counts over these times). */
	struct timespec read_real, read_mono;
};

/*
 * Dump every namespace of ns into t with the given states (marking
 * those read audited); *res says how.  Returns 0 or an exit status
 * after saying why (a namespace that cannot be entered or left, a
 * source that fails).
 */
int collect_sockets(struct netns_set *ns, struct sock_table *t,
		    const struct options *o, uint32_t states,
		    struct collect_result *res);

/* Load what the sources of o need once per process (the BPF programs),
 * so that a watch's first sample is not later than its time says.
 * Errors are left to collect_sockets to report. */
void collect_prepare(const struct options *o);

/* The first port of the ephemeral range of the current namespace
 * (ip_local_port_range) into *low; 32768 when there is no such file.
 * Returns 0 or -errno (out of descriptors, ...). */
int collect_ephemeral_low(uint16_t *low);

/* collect_again: the thread could not come back to our namespace. */
#define COLLECT_FATAL 100

/*
 * A second dump, of every state, of the namespaces of ns read the first
 * time and from the source used then, into `again` (indexed), quietly.
 * Returns 0, COLLECT_FATAL (said why), or the -errno of the failure
 * (-ENOENT: a namespace is gone).
 */
int collect_again(struct netns_set *ns, const struct options *o,
		  enum source_kind used, struct sock_table *again);

#endif
