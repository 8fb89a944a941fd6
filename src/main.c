/*
 * sockaudit: audit TCP sockets for connection leaks.
 *
 * main parses the options, takes the audit and renders it, and maps
 * what the stages return to exit statuses:
 *
 *   options -> snapshot (sources -> table -> owners -> audit)
 *   -> report (table, JSON or Prometheus text on stdout) -> assertions
 *
 * or, with --watch, the same once per sample (watch.c); with --listen,
 * the exporter (exporter.c) takes a snapshot per scrape.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "exporter.h"
#include "options.h"
#include "report.h"
#include "snapshot.h"
#include "watch.h"

/* The --max assertion, judged after the report.  Returns an exit status. */
static int judge_max(const struct options *o, const struct audit *a)
{
	if (!o->has_max || a->nselected <= o->max)
		return EXIT_OK;
	diag_warn("assertion failed: %zu socket%s selected, more than --max %llu "
		  "(by %llu)", a->nselected, a->nselected == 1 ? "" : "s",
		  (unsigned long long)o->max,
		  (unsigned long long)(a->nselected - o->max));
	return EXIT_ASSERTION;
}

static int audit_once(const struct options *o)
{
	struct snapshot s;
	int status, rc;

	status = snapshot_take(&s, o);
	if (status)
		return status;
	rc = report_write(o, &s, NULL);
	if (rc) {
		diag_warn("writing the report: %s", strerror(-rc));
		status = EXIT_CANNOT_RUN;
	} else {
		status = judge_max(o, &s.a);
	}
	snapshot_free(&s);
	return status;
}

int main(int argc, char **argv)
{
	struct options o;
	char err[512];
	int rc;

	rc = options_parse(argc, argv, &o, err, sizeof(err));
	if (rc == -ENOMEM) {
		diag_warn("out of memory");
		return EXIT_CANNOT_RUN;
	}
	if (rc) {
		diag_warn("%s (try 'sockaudit --help')", err);
		return EXIT_USAGE;
	}
	if (o.action == ACTION_HELP) {
		options_usage(stdout);
		options_free(&o);
		return EXIT_OK;
	}
	if (o.action == ACTION_DUMP_OPTIONS) {
		options_dump(stdout);
		options_free(&o);
		return EXIT_OK;
	}
	if (o.action == ACTION_VERSION) {
		printf("sockaudit %s\n", SOCKAUDIT_VERSION);
		options_free(&o);
		return EXIT_OK;
	}
	if (o.has_listen)
		rc = exporter_run(&o);
	else
		rc = o.has_watch ? watch_run(&o) : audit_once(&o);
	options_free(&o);
	return rc;
}
