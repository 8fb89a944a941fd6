/*
 * One report on stdout: a snapshot rendered in the format the options
 * ask for (table, --list table, JSON, Prometheus).
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdio.h>

#include "options.h"
#include "render.h"
#include "snapshot.h"

/* The render options for s under the command line's options (w: one
 * --watch sample, or NULL). */
void report_render_opts(const struct options *o, const struct snapshot *s,
			const struct watch_info *w, struct render_opts *ro);

/* Render s (with w, one --watch sample, or NULL) to out (standard
 * output, or the stream --watch writes it through), flushed.  Returns 0
 * or -errno (writing failed, no memory). */
int report_write(const struct options *o, const struct snapshot *s,
		 const struct watch_info *w, FILE *out);

#endif
