/*
 * The exporter under test: `sockaudit --listen` started on a free
 * loopback port, for the tests that scrape it.
 */
#ifndef EXPTEST_H
#define EXPTEST_H

#include "http.h"

/*
 * Start `[PRE...] sockaudit --listen 127.0.0.1:PORT [EXTRA...]` (PRE: a
 * command prefix such as "env A=B"; both NULL-terminated or NULL) on a
 * free port (*port) and wait up to 30 s until it accepts connections.
 * A port taken meanwhile is tried again (5 times); any other failure to
 * start fails the test with its status, time and stderr.
 */
void exptest_start(struct bg_proc *p, int *port, const char *const pre[],
		   const char *const extra[]);

#endif
