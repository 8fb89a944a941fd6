/*
 * The watch loop.  Samples are taken on a fixed schedule (CLOCK_MONOTONIC,
 * sample k at start + k * interval; a late sample starts at once), each
 * one a whole snapshot, freed before the next: only the growth sums
 * (growth.c) live across samples, so memory stays flat.
 *
 * SIGINT and SIGTERM end the loop after the sample in progress.
 */
#include "watch.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "growth.h"
#include "report.h"
#include "snapshot.h"
#include "text.h"

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* SIGINT and SIGTERM set the flag and interrupt the sleep. */
static void catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: the sleep returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static double seconds(const struct timespec *ts)
{
	return (double)ts->tv_sec + (double)ts->tv_nsec / 1e9;
}

static void add_ms(struct timespec *ts, uint32_t ms)
{
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Sleep until `when`, or until a stop signal. */
static void sleep_until(const struct timespec *when)
{
	while (!stop_requested &&
	       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, when, NULL) == EINTR)
		;
}

/* "*:8080 (server)", "10.0.0.5:443 (client)", "pid 42 (process)". */
static const char *group_name(const struct group *g, char *buf, size_t len)
{
	char key[80];

	if (g->side == SIDE_SERVER)
		snprintf(key, sizeof(key), "*:%u", (unsigned)g->port);
	else if (g->side == SIDE_CLIENT)
		text_endpoint(g->family, g->raddr, g->port, key, sizeof(key));
	else if (audit_side_is_workload(g->side))
		snprintf(key, sizeof(key), "%.*s", g->side == SIDE_CONTAINER ? 12 : 79,
			 g->wl_key ? g->wl_key : "-");
	else
		snprintf(key, sizeof(key), "pid %d", (int)g->pid);
	if (g->netns)
		snprintf(buf, len, "%s (%s, netns %u)", key, audit_side_name(g->side),
			 (unsigned)g->netns);
	else
		snprintf(buf, len, "%s (%s)", key, audit_side_name(g->side));
	return buf;
}

/* --max-growth over the whole window.  Returns an exit status. */
static int judge_growth(const struct options *o, const struct growth *g,
			double window_s)
{
	struct group fastest;
	double rate = 0;
	char name[160];

	if (!o->has_max_growth || !growth_fastest(g, &fastest, &rate) ||
	    rate <= o->max_growth)
		return EXIT_OK;
	diag_warn("assertion failed: group %s grows %.2f sockets/min over %llu "
		  "samples (%.1fs), more than --max-growth %g",
		  group_name(&fastest, name, sizeof(name)), rate,
		  (unsigned long long)g->samples, window_s, o->max_growth);
	return EXIT_ASSERTION;
}

/* One sample: take it, add it to the growth sums, render it.  Returns 0,
 * or an exit status after saying why. */
static int one_sample(const struct options *o, struct growth *g, uint64_t k,
		      size_t *worst_selected, uint64_t *worst_sample)
{
	struct group_growth *gg = NULL;
	struct proc_growth *pg = NULL;
	struct watch_info w = { 0 };
	struct snapshot s;
	int status, rc;

	status = snapshot_take(&s, o);
	if (status)
		return status;
	gg = calloc(s.a.ngroups ? s.a.ngroups : 1, sizeof(*gg));
	pg = calloc(s.a.nprocs ? s.a.nprocs : 1, sizeof(*pg));
	rc = gg && pg ? growth_add(g, &s.t, &s.a, seconds(&s.taken_mono), gg, pg) : -ENOMEM;
	if (!rc) {
		w.sample = k;
		w.time = s.taken;
		w.interval_ms = o->watch_ms;
		w.groups = k ? gg : NULL;
		w.procs = k ? pg : NULL;
		/* A terminal shows the latest sample only. */
		if (o->format == FORMAT_TABLE && isatty(STDOUT_FILENO))
			fputs("\033[H\033[2J", stdout);
		else if (o->format == FORMAT_TABLE && k)
			fputc('\n', stdout);
		rc = report_write(o, &s, &w);
	}
	if (rc) {
		diag_warn("%s: %s", rc == -ENOMEM ? "watch" : "writing the report",
			  strerror(-rc));
		status = EXIT_CANNOT_RUN;
	} else if (o->has_max && s.a.nselected > *worst_selected) {
		*worst_selected = s.a.nselected;
		*worst_sample = k;
	}
	free(gg);
	free(pg);
	snapshot_free(&s);
	return status;
}

int watch_run(const struct options *o)
{
	struct timespec start, next, now, end;
	struct growth g;
	size_t worst = 0;
	uint64_t k, worst_sample = 0;
	int status = EXIT_OK;

	catch_stop_signals();
	growth_init(&g);
	clock_gettime(CLOCK_MONOTONIC, &start);
	next = start;
	for (k = 0; !o->has_count || k < o->count; k++) {
		status = one_sample(o, &g, k, &worst, &worst_sample);
		if (status) {
			if (k)
				diag_warn("watch stopped after %llu sample%s",
					  (unsigned long long)k, k == 1 ? "" : "s");
			break;
		}
		if (stop_requested || (o->has_count && k + 1 == o->count))
			break;
		add_ms(&next, o->watch_ms);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (before(&next, &now))
			next = now; /* the audit took longer than the interval */
		sleep_until(&next);
		if (stop_requested)
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	if (!status && o->has_max && worst > o->max) {
		diag_warn("assertion failed: %zu sockets selected in sample %llu, more "
			  "than --max %llu (by %llu)", worst,
			  (unsigned long long)worst_sample, (unsigned long long)o->max,
			  (unsigned long long)(worst - o->max));
		status = EXIT_ASSERTION;
	}
	if (!status || status == EXIT_ASSERTION) {
		int judged = judge_growth(o, &g, seconds(&end) - seconds(&start));
		if (judged)
			status = judged;
	}
	growth_free(&g);
	return status;
}
