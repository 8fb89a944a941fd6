/*
 * --listen: a Prometheus exporter.  Each GET /metrics takes a fresh
 * snapshot with the options' selections and answers with render_prom's
 * exposition; GET / is a short HTML page.  Built on libmicrohttpd.
 */
#ifndef EXPORTER_H
#define EXPORTER_H

#include "options.h"
#include "webconfig.h"

/*
 * Serve on o->listen_addr until SIGTERM or SIGINT, with the web config
 * *wc (read from o->web_config by the caller, taken and zeroed here;
 * zeroed: plain HTTP, no authentication): one thread polls
 * every connection (epoll), one thread audits.  Scrapes wait for the
 * audit suspended, at most o->max_requests of them (more get 503), and
 * those that arrive while an audit runs share its result.  Returns the exit
 * status: 0 after a clean stop, EXIT_CANNOT_RUN (after one line on
 * stderr) when the first audit fails or the address cannot be served.
 */
int exporter_run(const struct options *o, struct webconfig *wc);

#endif
