/*
 * One report on stdout: the render options from the command line and
 * the snapshot, then the renderer of the chosen format.  (The exporter
 * renders the Prometheus format into its answers itself.)
 */
#include "report.h"

#include <stdio.h>

int report_write(const struct options *o, const struct snapshot *s,
		 const struct watch_info *w)
{
	struct render_opts ro = {
		.source = s->source,
		.has_max = o->has_max,
		.max = o->max,
		.inconsistent = s->inconsistent,
		/* NDJSON under --watch: one document per line. */
		.one_line = w != NULL,
		.all_procs = o->npids > 0,
		.watch = w,
		.ns = &s->ns,
		.max_peers = o->max_peers,
		.seconds = s->seconds,
	};

	if (o->format == FORMAT_PROMETHEUS)
		return render_prom(stdout, &s->t, &s->a, &ro);
	if (o->format == FORMAT_JSON)
		return render_json(stdout, &s->t, &s->a, &ro);
	if (o->list)
		return render_table_list(stdout, &s->t, &s->a, &ro);
	return render_table_groups(stdout, &s->t, &s->a, &ro);
}
