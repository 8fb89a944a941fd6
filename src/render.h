/* Renderers: the audit as a table, as JSON, or in Prometheus's text format. */
#ifndef RENDER_H
#define RENDER_H

#include <stdbool.h>
#include <stdio.h>

#include <time.h>

#include "audit.h"
#include "growth.h"
#include "netns.h"
#include "options.h"

/* One sample of --watch. */
struct watch_info {
	uint64_t sample;	 /* 0, 1, ... */
	struct timespec time;	 /* CLOCK_REALTIME when it was taken */
	uint32_t interval_ms;
	/* From sample 1 on: aligned with audit.groups and audit.procs. */
	const struct group_growth *groups;
	const struct proc_growth *procs;
};

/* The name of a source used, as reports give it. */
static inline const char *render_source_name(enum source_kind k)
{
	return k == SOURCE_BPF ? "bpf" : k == SOURCE_PROC ? "proc" : "netlink";
}

struct render_opts {
	enum source_kind source; /* the source used (never SOURCE_AUTO) */
	bool has_max;
	uint64_t max;
	bool inconsistent; /* the kernel's dump kept changing while read */
	bool one_line;	   /* JSON: the whole document on one line (NDJSON) */
	bool all_procs;	   /* table: list every process (--pid), not only
			    * those near their descriptor limit */
	const struct watch_info *watch; /* NULL outside --watch */
	/* The namespaces read.  When NULL or not ns->shown, the report
	 * names none (one namespace, ours).  Otherwise JSON gives each
	 * socket and group "netns" and "netns_name", and the table a NETNS
	 * column when more than one namespace was read. */
	const struct netns_set *ns;
	uint32_t max_peers; /* prometheus: client peers before peer="other" */
	uint32_t max_processes; /* prometheus: processes before pid="other" */
	double seconds;	    /* prometheus: how long the audit took */
};

/* Whether the report names namespaces. */
static inline bool render_shows_netns(const struct render_opts *ro)
{
	return ro->ns && ro->ns->shown;
}

/*
 * Each writes the whole report to `out` and returns 0, or -errno when
 * writing failed or memory ran out.
 */
int render_table_groups(FILE *out, const struct sock_table *t,
			const struct audit *a, const struct render_opts *ro);
int render_table_list(FILE *out, const struct sock_table *t,
		      const struct audit *a, const struct render_opts *ro);
int render_json(FILE *out, const struct sock_table *t, const struct audit *a,
		const struct render_opts *ro);
int render_prom(FILE *out, const struct sock_table *t, const struct audit *a,
		const struct render_opts *ro);

#endif
