/*
 * Growth over a --watch window: per group and per process, least-squares
 * slopes of the counts against the actual sample times, first-to-last
 * change, and whether a group is "leaking" (present in at least
 * LEAK_MIN_SAMPLES samples, never fell, and rose overall).
 *
 * Memory does not grow with the number of samples: each series keeps
 * running sums, not its history.
 */
#ifndef GROWTH_H
#define GROWTH_H

#include <stdbool.h>
#include <stdint.h>

#include "hindex.h"
#include "audit.h"

#define LEAK_MIN_SAMPLES 5

/* The rates of one group, from the second sample on. */
struct group_growth {
	double sockets_per_min, close_wait_per_min, idle_per_min;
	double peer_closed_per_min, dropping_per_min; /* UNIX, UDP flags */
	int64_t delta;	    /* sockets: last sample - first sample */
	int64_t delta_prev; /* sockets: last sample - the one before */
	bool leaking;
};

/* The rates of one process, over the samples it was seen in. */
struct proc_growth {
	double fds_per_min, sockets_per_min;
	int64_t fds_delta;	/* fds: last - first sample it was seen in */
	/* The same per kind of descriptor (enum fd_type). */
	int64_t fd_types_delta[FDT_COUNT];
	double minutes_to_limit; /* at fds_per_min; < 0: not growing or no limit */
	uint64_t samples;	/* samples it was seen in */
};

/* One series: running sums for the slope, and the never-fell test. */
struct series {
	double sy, sty;	  /* sum of y, of t*y (t: minutes since sample 0) */
	uint32_t first, prev, last;
	bool fell;
	bool changed; /* some value differed from the first: else the slope
		       * is exactly 0, not a rounding residue of the sums */
};

struct growth_group; /* one tracked group, private */
struct growth_proc;  /* one tracked process, private */

struct growth {
	uint64_t samples;
	double t0;		/* time of sample 0, seconds */
	double st, stt;		/* sums of t and t*t over the samples */
	struct growth_group *groups;
	size_t ngroups, groups_cap;
	struct hindex group_index; /* of groups, by key */
	struct growth_proc *procs;
	size_t nprocs, procs_cap;
	struct hindex proc_index; /* of procs, by PID */
};

void growth_init(struct growth *g);
void growth_free(struct growth *g);

/*
 * Add one sample taken at `when` (seconds, any epoch, increasing): the
 * audit's groups and the processes holding selected sockets.  A group
 * tracked before but absent now counts 0.  Fills gg[i] for a->groups[i]
 * and pg[i] for a->procs[i] (either may be NULL).  Returns 0 or -ENOMEM.
 */
int growth_add(struct growth *g, const struct sock_table *t,
	       const struct audit *a, double when, struct group_growth *gg,
	       struct proc_growth *pg);

/*
 * The group (tracked in any sample) with the highest sockets_per_min:
 * its key fields in *fastest (side, protocol, port, pid, family/raddr,
 * netns, wl_key: no counts, no path ref) and, for a UNIX group named by
 * a path, that name's bytes in *name (len returned; 0 and NULL for any
 * other group), valid until the next growth_add or growth_free.
 * Returns false before two samples.
 */
bool growth_fastest(const struct growth *g, struct group *fastest,
		    const unsigned char **name, size_t *name_len,
		    double *per_min);

#endif
