/* Renderers: the audit as a table, as JSON, or in Prometheus's text format. */
#ifndef RENDER_H
#define RENDER_H

#include <stdbool.h>
#include <stdio.h>

#include "audit.h"

struct render_opts {
	const char *source; /* "netlink" or "proc" */
	bool has_max;
	uint64_t max;
	bool inconsistent; /* the kernel's dump kept changing while read */
	uint32_t max_peers; /* prometheus: client peers before peer="other" */
	double seconds;	    /* prometheus: how long the audit took */
};

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
