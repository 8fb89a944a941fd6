/*
 * The watch loop.  Samples are taken on a fixed schedule (CLOCK_MONOTONIC,
 * sample k at start + k * interval; a late sample starts at once), each
 * one a whole snapshot, freed before the next: only the growth sums
 * (growth.c) live across samples, so memory stays flat.
 *
 * SIGINT and SIGTERM end the loop after the sample in progress.  That
 * sample is written through a stream of our own (sample_write) that
 * gives up when standard output does not take it within STOP_GRACE_MS
 * of the signal (a reader that stopped reading): the watch then ends at
 * once with status 3 and one line saying how much of it was written.
 */
#include "watch.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "collect.h"
#include "diag.h"
#include "growth.h"
#include "report.h"
#include "snapshot.h"
#include "text.h"

/* After a stop signal, how long the sample in progress may take to be
 * written, and how often a blocked write is interrupted meanwhile. */
#define STOP_GRACE_MS 1000
#define STOP_TICK_MS 100

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t stop_signal;
/* A sample is being written: a stop must interrupt a blocked write. */
static volatile sig_atomic_t writing;

/* SIGALRM every STOP_TICK_MS (0: none).  setitimer is one system call
 * (alarm(3), async-signal-safe, is built on it), so the handler may
 * call it too. */
static void stop_ticks(long ms)
{
	struct itimerval it = {
		.it_interval = { .tv_sec = 0, .tv_usec = ms * 1000 },
		.it_value = { .tv_sec = 0, .tv_usec = ms * 1000 },
	};

	setitimer(ITIMER_REAL, &it, NULL);
}

static void on_stop(int sig)
{
	int saved = errno;

	stop_signal = sig;
	stop_requested = 1;
	/* The write may not have begun yet: then nothing interrupts it but
	 * the ticks. */
	if (writing)
		stop_ticks(STOP_TICK_MS);
	errno = saved;
}

/* A tick only interrupts a blocked write (EINTR or a short count). */
static void on_tick(int sig)
{
	(void)sig;
}

/* SIGINT and SIGTERM set the flag and interrupt the sleep or the write;
 * SIGALRM interrupts a write after them.  No SA_RESTART: a blocked
 * system call returns EINTR. */
static void catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_tick;
	sigaction(SIGALRM, &sa, NULL);
}

/* Where the samples go: standard output, and what happened to the
 * current sample. */
struct sample_out {
	int fd;
	unsigned long long written; /* bytes of the current sample written */
	int err;		    /* the first write error (errno), sticky */
	bool gave_up;		    /* stopped by a signal before it was all out */
	bool stop_seen;		    /* a stop signal came while writing */
	struct timespec give_up_at; /* when a stop was seen, plus the grace */
};

static long long ms_until(const struct timespec *when)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(when->tv_sec - now.tv_sec) * 1000 +
	       (when->tv_nsec - now.tv_nsec) / 1000000;
}

/* Whether writing must stop now: a stop signal came, and STOP_GRACE_MS
 * have gone by since it was first seen here (the ticks are started
 * then, so a blocked write returns at least every STOP_TICK_MS). */
static bool grace_over(struct sample_out *so)
{
	if (!stop_requested)
		return false;
	if (!so->stop_seen) {
		so->stop_seen = true;
		clock_gettime(CLOCK_MONOTONIC, &so->give_up_at);
		so->give_up_at.tv_sec += STOP_GRACE_MS / 1000;
		so->give_up_at.tv_nsec += (long)(STOP_GRACE_MS % 1000) * 1000000L;
		if (so->give_up_at.tv_nsec >= 1000000000L) {
			so->give_up_at.tv_sec++;
			so->give_up_at.tv_nsec -= 1000000000L;
		}
		stop_ticks(STOP_TICK_MS);
	}
	return ms_until(&so->give_up_at) <= 0;
}

/*
 * The stream's write function: all of buf to so->fd, retried after
 * interruptions and short counts until done, a write error, or
 * grace_over.  Returns len, or 0 with errno set (EINTR when it gave
 * up): fopencookie(3) wants 0 for an error, and glibc's fwrite, which
 * hands a large write to this function directly, miscounts a -1 and
 * then reads past the caller's buffer.  After a failure every call
 * fails at once, so that the rest of the sample is formatted without
 * blocking again.
 */
static ssize_t sample_write(void *cookie, const char *buf, size_t len)
{
	struct sample_out *so = cookie;
	size_t done = 0;

	writing = 1;
	while (!so->err && done < len) {
		ssize_t n;

		if (grace_over(so)) {
			so->gave_up = true;
			so->err = EINTR;
			break;
		}
		n = write(so->fd, buf + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			so->written += (unsigned long long)n;
		} else if (n == 0 || errno != EINTR) {
			so->err = n == 0 ? EIO : errno;
		}
	}
	writing = 0;
	/* The stop handler may have started the ticks after the last check. */
	if (stop_requested)
		stop_ticks(0);
	if (so->err) {
		errno = so->err;
		return 0;
	}
	return (ssize_t)len;
}

/* A stream on standard output through sample_write, or NULL. */
static FILE *open_samples(struct sample_out *so)
{
	cookie_io_functions_t io = { .write = sample_write };

	memset(so, 0, sizeof(*so));
	so->fd = STDOUT_FILENO;
	return fopencookie(so, "w", io);
}

/* The one line for a sample the stop left unwritten or incomplete. */
static void say_gave_up(const struct sample_out *so, uint64_t k)
{
	const char *sig = stop_signal == SIGINT ? "SIGINT" : "SIGTERM";

	if (!so->written)
		diag_warn("%s: standard output took nothing of sample %llu in %ds; "
			  "watch stopped without it", sig, (unsigned long long)k,
			  STOP_GRACE_MS / 1000);
	else
		diag_warn("%s: standard output took %llu bytes of sample %llu in %ds "
			  "and no more; watch stopped with it incomplete (no final "
			  "newline)", sig, so->written, (unsigned long long)k,
			  STOP_GRACE_MS / 1000);
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

/*
 * The key of a group for a message: "*:8080", "10.0.0.5:443", "pid 42",
 * a workload; a UDP group's prefixed "udp ", a UNIX group's "unix " and
 * its name (name[0..len), untrusted bytes escaped as in the table).
 */
static void group_key_text(const struct group *g, const unsigned char *name,
			   size_t len, char *key, size_t size)
{
	char ep[64];
	const char *proto = g->protocol == PROTO_UDP ? "udp " :
			    g->protocol == PROTO_UNIX ? "unix " : "";

	if (g->protocol == PROTO_UNIX && len) {
		char shown[256], esc[4 * 255 + 1];

		len = len < sizeof(shown) ? len : sizeof(shown) - 1;
		text_unix_name(name, len, shown);
		text_escape_name(shown, len, esc, sizeof(esc));
		snprintf(key, size, "unix %s", esc);
	} else if (g->side == SIDE_SERVER)
		snprintf(key, size, "%s*:%u", proto, (unsigned)g->port);
	else if (g->side == SIDE_CLIENT)
		snprintf(key, size, "%s%s", proto,
			 text_endpoint(g->family, g->raddr, g->port, ep, sizeof(ep)));
	else if (audit_side_is_workload(g->side))
		snprintf(key, size, "%s%.*s", proto, g->side == SIDE_CONTAINER ? 12 : 79,
			 g->wl_key ? g->wl_key : "-");
	else
		snprintf(key, size, "%spid %d", proto, (int)g->pid);
}

/* "*:8080 (server)", "udp 10.0.0.5:53 (client)", "unix /run/x.sock
 * (server)", "pid 42 (process)", with the namespace when not ours. */
static const char *group_name(const struct group *g, const unsigned char *name,
			      size_t len, char *buf, size_t size)
{
	char key[4 * 255 + 64];

	group_key_text(g, name, len, key, sizeof(key));
	if (g->netns && g->netns != GROUP_NETNS_MIXED)
		snprintf(buf, size, "%s (%s, netns %u)", key, audit_side_name(g->side),
			 (unsigned)g->netns);
	else
		snprintf(buf, size, "%s (%s)", key, audit_side_name(g->side));
	return buf;
}

/* --max-growth over the whole window.  Returns an exit status. */
static int judge_growth(const struct options *o, const struct growth *g,
			double window_s)
{
	struct group fastest;
	const unsigned char *path = NULL;
	size_t path_len = 0;
	double rate = 0;
	char name[4 * 255 + 128];

	if (!o->has_max_growth ||
	    !growth_fastest(g, &fastest, &path, &path_len, &rate) ||
	    rate <= o->max_growth)
		return EXIT_OK;
	diag_warn("assertion failed: group %s grows %.2f sockets/min over %llu "
		  "samples (%.1fs), more than --max-growth %g",
		  group_name(&fastest, path, path_len, name, sizeof(name)), rate,
		  (unsigned long long)g->samples, window_s, o->max_growth);
	return EXIT_ASSERTION;
}

/* One sample: take it, add it to the growth sums, render it to out.
 * Returns 0, or an exit status after saying why. */
static int one_sample(const struct options *o, struct growth *g, uint64_t k,
		      FILE *out, struct sample_out *so, size_t *worst_selected,
		      uint64_t *worst_sample)
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
		so->written = 0;
		/* A terminal shows the latest sample only. */
		if (o->format == FORMAT_TABLE && isatty(STDOUT_FILENO))
			fputs("\033[H\033[2J", out);
		else if (o->format == FORMAT_TABLE && k)
			fputc('\n', out);
		rc = report_write(o, &s, &w, out);
	}
	if (rc && so->gave_up) {
		say_gave_up(so, k);
		status = EXIT_CANNOT_RUN;
	} else if (rc) {
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
	struct sample_out so;
	struct growth g;
	size_t worst = 0;
	uint64_t k, worst_sample = 0;
	int status = EXIT_OK;
	FILE *out;

	out = open_samples(&so);
	if (!out) {
		diag_warn("watch: %s", strerror(errno));
		return EXIT_CANNOT_RUN;
	}
	catch_stop_signals();
	growth_init(&g);
	/* What loads once (BPF programs) loads before the schedule starts. */
	collect_prepare(o);
	clock_gettime(CLOCK_MONOTONIC, &start);
	next = start;
	for (k = 0; !o->has_count || k < o->count; k++) {
		status = one_sample(o, &g, k, out, &so, &worst, &worst_sample);
		if (status) {
			if (k && !so.gave_up)
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
	/* Every sample was flushed: nothing is left to write (or to fail). */
	fclose(out);
	return status;
}
