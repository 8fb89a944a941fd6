/*
 * A real Prometheus server for the tests (Debian's prometheus package):
 * started on a free loopback port with a given configuration, queried
 * through its HTTP API.
 */
#ifndef PROMSERVER_H
#define PROMSERVER_H

#include <cjson/cJSON.h>

#include "http.h"

/*
 * Start `prometheus --config.file=CFG --storage.tsdb.path=DATA` on a free
 * 127.0.0.1 port (*port) and wait up to 60 s until /-/ready answers 200.
 * Fails the test (ck_abort) when it cannot start.
 */
void promserver_start(struct bg_proc *p, int *port, const char *cfg, const char *data);

/*
 * An instant query against the server on port: the "result" array of a
 * successful answer (inside *doc, to cJSON_Delete), or NULL.  *raw, when
 * given, receives the whole answer (malloc'd).
 */
cJSON *promserver_query(int port, const char *query, cJSON **doc, char **raw);

/* The value of the result's series whose `label` is `value`, or -1. */
double promserver_result_value(const cJSON *result, const char *label, const char *value);

#endif
