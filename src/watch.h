/*
 * --watch: re-audit every interval until interrupted or --count samples,
 * render each sample with its growth, and judge --max and --max-growth.
 */
#ifndef WATCH_H
#define WATCH_H

#include "options.h"

/* Run the watch loop.  Returns an exit status (enum exit_status). */
int watch_run(const struct options *o);

#endif
