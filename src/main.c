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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "exporter.h"
#include "options.h"
#include "report.h"
#include "snapshot.h"
#include "watch.h"
#include "webconfig_files.h"

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
	rc = report_write(o, &s, NULL, stdout);
	if (rc) {
		diag_warn("writing the report: %s", strerror(-rc));
		status = EXIT_CANNOT_RUN;
	} else {
		status = judge_max(o, &s.a);
	}
	snapshot_free(&s);
	return status;
}

/*
 * Descriptors 0, 1 and 2 that are closed are held on /dev/null, so that
 * no socket or file the audit opens becomes standard output.  A closed
 * standard output is held read-only: every write to it then fails
 * (EBADF) and is reported, as a write to a closed one would be.
 */
static void hold_std_fds(void)
{
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		int held;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		held = open("/dev/null", (fd == 2 ? O_WRONLY : O_RDONLY) | O_NOCTTY);
		if (held >= 0 && held != fd) {
			dup2(held, fd);
			close(held);
		}
	}
}

/*
 * Standard output written, flushed and closed without an error?  After
 * `status`, the run's status so far: a failure is said in one line
 * (writing `what`) and turns into status 3, unless the run had already
 * failed with status 3 (which was said then).
 */
static int close_stdout(int status, const char *what)
{
	int failed = ferror(stdout);
	int err = errno;

	if (fflush(stdout) == EOF) {
		failed = 1;
		err = errno;
	}
	if (fclose(stdout) == EOF && !failed) {
		failed = 1;
		err = errno;
	}
	if (!failed || status == EXIT_CANNOT_RUN)
		return status;
	diag_warn("writing %s: %s", what, strerror(err ? err : EIO));
	return EXIT_CANNOT_RUN;
}

/*
 * --web-config, read and checked before anything listens.  Returns 0
 * (*wc zeroed without the option), or the exit status after one line:
 * EXIT_USAGE for invalid content, EXIT_CANNOT_RUN for a file that
 * cannot be read.
 */
static int read_web_config(const struct options *o, struct webconfig *wc)
{
	char err[1024];
	int rc;

	memset(wc, 0, sizeof(*wc));
	if (!o->web_config)
		return 0;
	rc = webconfig_read(o->web_config, wc, err, sizeof(err));
	if (!rc)
		return 0;
	webconfig_free(wc);
	diag_warn("web config %s: %s", o->web_config, rc == -ENOMEM ? "out of memory" : err);
	return rc == -EINVAL ? EXIT_USAGE : EXIT_CANNOT_RUN;
}

int main(int argc, char **argv)
{
	struct options o;
	char err[512];
	int rc;

	hold_std_fds();
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
		return close_stdout(EXIT_OK, "the help");
	}
	if (o.action == ACTION_DUMP_OPTIONS) {
		options_dump(stdout);
		options_free(&o);
		return EXIT_OK;
	}
	if (o.action == ACTION_VERSION) {
		printf("sockaudit %s\n", SOCKAUDIT_VERSION);
		options_free(&o);
		return close_stdout(EXIT_OK, "the version");
	}
	if (o.has_listen) {
		struct webconfig wc;

		rc = read_web_config(&o, &wc);
		if (!rc)
			rc = exporter_run(&o, &wc);
	} else
		rc = o.has_watch ? watch_run(&o) : audit_once(&o);
	options_free(&o);
	return close_stdout(rc, "the report");
}
