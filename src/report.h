/*
 * One report on stdout: a snapshot rendered in the format the options
 * ask for (table, --list table, JSON, Prometheus).
 */
#ifndef REPORT_H
#define REPORT_H

#include "options.h"
#include "render.h"
#include "snapshot.h"

/* Render s (with w, one --watch sample, or NULL) to stdout.  Returns 0
 * or -errno (writing failed, no memory). */
int report_write(const struct options *o, const struct snapshot *s,
		 const struct watch_info *w);

#endif
