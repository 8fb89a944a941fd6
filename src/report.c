/*
 * One report: the render options from the command line and the
 * snapshot (shared with the exporter, so both print the same series),
 * then the renderer of the chosen format on standard output (or the
 * stream --watch writes it through).
 */
#include "report.h"

#include <stdio.h>
#include <string.h>

void report_render_opts(const struct options *o, const struct snapshot *s,
			const struct watch_info *w, struct render_opts *ro)
{
	memset(ro, 0, sizeof(*ro));
	ro->source = s->source;
	ro->has_max = o->has_max;
	ro->max = o->max;
	ro->inconsistent = s->inconsistent;
	/* NDJSON under --watch: one document per line. */
	ro->one_line = w != NULL;
	ro->all_procs = o->npids > 0;
	ro->watch = w;
	ro->ns = &s->ns;
	ro->max_peers = o->max_peers;
	ro->max_processes = o->max_processes;
	ro->seconds = s->seconds;
}

int report_write(const struct options *o, const struct snapshot *s,
		 const struct watch_info *w, FILE *out)
{
	struct render_opts ro;

	report_render_opts(o, s, w, &ro);

	if (o->format == FORMAT_PROMETHEUS)
		return render_prom(out, &s->t, &s->a, &ro);
	if (o->format == FORMAT_JSON)
		return render_json(out, &s->t, &s->a, &ro);
	if (o->list)
		return render_table_list(out, &s->t, &s->a, &ro);
	return render_table_groups(out, &s->t, &s->a, &ro);
}
