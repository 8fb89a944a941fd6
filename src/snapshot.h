/*
 * One audit of the host, from the sources to the audit, without output:
 *
 *   source (netlink, else /proc/net/tcp) -> socket table
 *   -> owners (/proc/PID/fd) -> audit (flags, selection, groups)
 *
 * main takes one for a report; --watch takes one per sample.
 */
#ifndef SNAPSHOT_H
#define SNAPSHOT_H

#include <stdbool.h>
#include <time.h>

#include "audit.h"
#include "netns.h"
#include "options.h"
#include "table.h"
#include "workload.h"

struct snapshot {
	struct sock_table t;
	struct audit a;
	struct workload_set wl;	/* of the processes holding selected sockets */
	enum source_kind source; /* used: SOURCE_BPF, _NETLINK or _PROC */
	bool inconsistent;	/* the kernel's dump kept changing */
	unsigned denied;	/* processes whose fd tables were not readable */
	unsigned hidden;	/* selected sockets with no visible owner */
	struct netns_set ns;	/* the network namespaces read */
	/* CLOCK_REALTIME halfway through the socket dump: the moment the
	 * counts stand for (the audit's start until the dump is read) */
	struct timespec taken;
	struct timespec taken_mono; /* the same moment on CLOCK_MONOTONIC */
	double seconds;		/* how long it took */
};

/*
 * Take one audit as the options ask.  Returns 0 with *s filled (free it
 * with snapshot_free), or an exit status (EXIT_CANNOT_RUN) after saying
 * why on stderr, with nothing left to free.
 */
int snapshot_take(struct snapshot *s, const struct options *o);
void snapshot_free(struct snapshot *s);

#endif
