/*
 * Watch mode, growth rates and descriptor pressure with real processes
 * (tests/progs/watch_helper.c): a leaker that opens one loopback
 * connection every 200 ms and never closes it, a steady pool, a process
 * near its descriptor limit, one that exits while it is watched.
 *
 * What the report says is checked against what the helpers did (their
 * connection times, /proc/PID/fd and /proc/PID/limits read here) and
 * against the contract's definitions recomputed from the report's own
 * samples (least-squares slopes over the sample times, delta, leaking).
 *
 * Every process started here is killed by PID and reaped, also when a
 * test fails (atexit and the checked teardown).
 */
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/testlib.h"
#include "lib/runsuite.h"

extern char **environ;

/* The leaker's pace: one connection per LEAK_MS, 300 a minute. */
#define LEAK_MS 200
#define POOL_CONNS 8
#define MAX_SAMPLES 64
#define MAX_GROUPS 64

static bool under_valgrind(void)
{
	const char *p = getenv("SOCKAUDIT");

	return getenv("VALGRIND_LOGS") || (p && strstr(p, "valgrind"));
}

/* Whether this test binary is built with AddressSanitizer (make
 * check-asan builds sockaudit the same way). */
static bool under_asan(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return true;
#else
	return false;
#endif
}

/*
 * How much later than its scheduled start a sample's "time" may be read
 * (the slope uses a clock reading taken just before): microseconds
 * normally, some ms when the first sample runs code for the first time
 * under ASan, tens of ms under valgrind.
 */
static double stamp_skew_ms(void)
{
	return under_valgrind() ? 100 : under_asan() ? 50 : 25;
}

/* ---- processes started by this file, killed by PID ---- */

#define MAX_KIDS 16
static pid_t kids[MAX_KIDS];

static void kids_cleanup(void)
{
	for (int i = 0; i < MAX_KIDS; i++) {
		if (kids[i] <= 0)
			continue;
		kill(kids[i], SIGKILL);
		while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR)
			;
		kids[i] = 0;
	}
}

static void kid_add(pid_t pid)
{
	static bool registered;

	if (!registered) {
		atexit(kids_cleanup);
		registered = true;
	}
	for (int i = 0; i < MAX_KIDS; i++)
		if (kids[i] <= 0) {
			kids[i] = pid;
			return;
		}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_abort_msg("too many processes started");
}

/* pid was reaped: never signal it again (its number may be reused). */
static void kid_gone(pid_t pid)
{
	for (int i = 0; i < MAX_KIDS; i++)
		if (kids[i] == pid)
			kids[i] = 0;
}

/*
 * Fork and exec argv[0] with stdout (and stderr when errfd is given) on
 * pipes, stdin from /dev/null, no other descriptor, and `env` ("NAME=v"
 * strings, NULL-terminated, or NULL) added to the environment.  The
 * child dies with this process.
 */
static pid_t spawn(const char *const argv[], const char *const env[], int *outfd,
		   int *errfd)
{
	int op[2], ep[2] = { -1, -1 };
	pid_t self = getpid(), pid;

	ck_assert_int_eq(pipe2(op, O_CLOEXEC), 0);
	if (errfd)
		ck_assert_int_eq(pipe2(ep, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != self)
			_exit(127);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(op[1], 1) < 0 ||
		    (errfd && dup2(ep[1], 2) < 0))
			_exit(127);
		close_range(3, ~0U, 0);
		for (int i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], (char *const *)argv);
		dprintf(1, "error: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	kid_add(pid);
	close(op[1]);
	*outfd = op[0];
	if (errfd) {
		close(ep[1]);
		*errfd = ep[0];
	}
	return pid;
}

/* ---- helper processes (tests/progs/watch_helper) ---- */

struct helper {
	pid_t pid;
	int out;
	char buf[65536];
	size_t len;
};

static void helper_start(struct helper *h, const char *const args[])
{
	char path[4096];
	const char *argv[8];
	int n = 0;

	snprintf(path, sizeof(path), "%s/watch_helper",
		 test_env_dir("TEST_PROGS", "build/tests/progs"));
	argv[n++] = path;
	while (args[n - 1] && n < 7) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	memset(h, 0, sizeof(*h));
	h->pid = spawn(argv, NULL, &h->out, NULL);
}

/* The next line the helper printed, waiting at most timeout_ms.  Returns
 * false on timeout or end of output. */
static bool helper_line(struct helper *h, int timeout_ms, char *line, size_t size)
{
	long long deadline = test_now_ms() + timeout_ms;

	for (;;) {
		char *nl = memchr(h->buf, '\n', h->len);
		struct pollfd pf = { h->out, POLLIN, 0 };
		long long left;
		ssize_t got;

		if (nl) {
			size_t n = (size_t)(nl - h->buf);

			snprintf(line, size, "%.*s", (int)n, h->buf);
			memmove(h->buf, nl + 1, h->len - n - 1);
			h->len -= n + 1;
			return true;
		}
		left = deadline - test_now_ms();
		if (left < 0)
			left = 0;
		if (poll(&pf, 1, (int)left) <= 0)
			return false;
		if (h->len == sizeof(h->buf))
			return false;
		got = read(h->out, h->buf + h->len, sizeof(h->buf) - h->len);
		if (got <= 0)
			return false;
		h->len += (size_t)got;
	}
}

/* How long a helper may take to set up and speak: a deadline against a
 * hang, not a bound on speed.  A pool of 60 listeners reads
 * /proc/net/tcp 60 times (portcheck.h); beside make check-busy's churn
 * with two hogs that took more than 10 s.  Below the test case's own
 * timeout (60 s), so that a hang is reported as this one. */
#define HELPER_WAIT_MS 40000

/* The helper's next line, which must start with `prefix`; its rest. */
static const char *helper_expect(struct helper *h, const char *prefix)
{
	static char line[512];
	size_t pl = strlen(prefix);
	long long t0 = test_now_ms();

	ck_assert_msg(helper_line(h, HELPER_WAIT_MS, line, sizeof(line)),
		      "helper %d said nothing in %lld ms (waiting for \"%s\")", (int)h->pid,
		      test_now_ms() - t0, prefix);
	ck_assert_msg(!strncmp(line, prefix, pl), "helper %d: \"%s\" (expected \"%s\")",
		      (int)h->pid, line, prefix);
	return line + pl;
}

static void helper_stop(struct helper *h)
{
	if (h->pid > 0) {
		kill(h->pid, SIGKILL);
		while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
			;
		kid_gone(h->pid);
	}
	if (h->out >= 0)
		close(h->out);
	h->pid = 0;
	h->out = -1;
}

/* A leaker: its server (port *port) and a client that connects every
 * LEAK_MS; nofile > 0 lowers the client's soft descriptor limit. */
static void leaker_start(struct helper *srv, struct helper *cli, int *port, int nofile)
{
	const char *sargs[] = { "leak-server", NULL };
	char p[16], nf[16], iv[16];

	helper_start(srv, sargs);
	*port = atoi(helper_expect(srv, "port "));
	ck_assert_int_gt(*port, 0);
	snprintf(p, sizeof(p), "%d", *port);
	snprintf(iv, sizeof(iv), "%d", LEAK_MS);
	snprintf(nf, sizeof(nf), "%d", nofile);
	{
		const char *cargs[] = { "leak-client", p, iv, nofile > 0 ? nf : NULL, NULL };

		helper_start(cli, cargs);
	}
	helper_expect(cli, "ready");
}

/* A steady pool of conns connections over `listeners` ports (port: the
 * first one). */
static void pool_start_n(struct helper *pool, int *port, int conns, int listeners)
{
	char n[16], l[16];
	const char *args[] = { "pool", n, l, NULL };

	snprintf(n, sizeof(n), "%d", conns);
	snprintf(l, sizeof(l), "%d", listeners);
	helper_start(pool, args);
	*port = atoi(helper_expect(pool, "port "));
	ck_assert_int_gt(*port, 0);
	helper_expect(pool, "ready");
}

static void pool_start(struct helper *pool, int *port, int conns)
{
	pool_start_n(pool, port, conns, 1);
}

/* The leaker client's connection times so far (realtime, ms), in order. */
struct conn_times {
	int n;
	double ms[4096];
};

static void read_conns(struct helper *cli, struct conn_times *c)
{
	char line[128];

	while (helper_line(cli, 0, line, sizeof(line))) {
		long seq;
		long long us;

		ck_assert_msg(sscanf(line, "conn %ld %lld", &seq, &us) == 2,
			      "leaker said \"%s\"", line);
		ck_assert_int_eq(seq, c->n + 1);
		if (c->n < (int)(sizeof(c->ms) / sizeof(c->ms[0])))
			c->ms[c->n++] = (double)us / 1000.0;
	}
}

/* Connections made at or before t (ms). */
static int conns_before(const struct conn_times *c, double t)
{
	int n = 0;

	while (n < c->n && c->ms[n] <= t)
		n++;
	return n;
}

/* Least-squares slope of y over x (per unit of x); 0 below two points.
 * x is centred first: times since the epoch would cancel out. */
static double ls_slope(const double *x, const double *y, int n)
{
	double mx = 0, my = 0, sxx = 0, sxy = 0;

	if (n < 2)
		return 0;
	for (int i = 0; i < n; i++) {
		mx += x[i] / n;
		my += y[i] / n;
	}
	for (int i = 0; i < n; i++) {
		sxx += (x[i] - mx) * (x[i] - mx);
		sxy += (x[i] - mx) * (y[i] - my);
	}
	return sxx > 0 ? sxy / sxx : 0;
}

/* The leaker's true rate (connections per minute) between t0 and t1
 * (ms): the least-squares slope of its connection count against its
 * own connection times in that window. */
static double true_rate(const struct conn_times *c, double t0, double t1)
{
	static double x[4096], y[4096];
	int n = 0;

	for (int i = 0; i < c->n; i++)
		if (c->ms[i] >= t0 && c->ms[i] <= t1) {
			x[n] = c->ms[i] / 60000.0;
			y[n] = i + 1;
			n++;
		}
	ck_assert_msg(n >= 3, "the leaker made only %d connections in the window", n);
	return ls_slope(x, y, n);
}

/* ---- /proc, read here ---- */

/* Descriptors of pid, and how many are sockets. */
static void proc_fds(pid_t pid, long *fds, long *sockets)
{
	char path[64], link[128];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	ck_assert_msg(d != NULL, "%s: %s", path, strerror(errno));
	*fds = *sockets = 0;
	while ((de = readdir(d)) != NULL) {
		char lp[512];
		ssize_t n;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		(*fds)++;
		snprintf(lp, sizeof(lp), "%s/%s", path, de->d_name);
		n = readlink(lp, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			*sockets += !strncmp(link, "socket:[", 8);
		}
	}
	closedir(d);
}

/* The soft "Max open files" of pid; -1 when unlimited. */
static long proc_soft_nofile(pid_t pid)
{
	char path[64], line[256];
	long soft = -2;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Max open files", 14)) {
			const char *p = line + 14;

			while (*p == ' ')
				p++;
			soft = strncmp(p, "unlimited", 9) ? strtol(p, NULL, 10) : -1;
		}
	fclose(f);
	ck_assert_msg(soft != -2, "no open-files line in %s", path);
	return soft;
}

/* ---- the NDJSON of a --watch -j run ---- */

struct samples {
	int n;
	cJSON *doc[MAX_SAMPLES];
	double t[MAX_SAMPLES]; /* "time", ms since the epoch */
};

/* "2026-11-22T19:40:01.123Z": RFC 3339, UTC, milliseconds. */
static double parse_time(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	int Y, M, D, h, m, sec, ms;
	struct tm tm = { 0 };

	ck_assert_msg(strlen(s) == strlen(pat), "time \"%s\" is not like %s", s, pat);
	for (size_t i = 0; pat[i]; i++)
		ck_assert_msg(pat[i] == 'd' ? isdigit((unsigned char)s[i]) : s[i] == pat[i],
			      "time \"%s\" is not like %s", s, pat);
	ck_assert_int_eq(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &Y, &M, &D, &h, &m,
				&sec, &ms), 7);
	ck_assert_msg(M >= 1 && M <= 12 && D >= 1 && D <= 31 && h < 24 && m < 60 &&
		      sec < 61, "time \"%s\" out of range", s);
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	return (double)timegm(&tm) * 1000.0 + ms;
}

static double realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/*
 * Split stdout into its lines: each one a complete report (shape checked
 * as for a single report) with "sample" = its index and a "time";
 * stdout ends with a newline.  When expect >= 0 there must be exactly
 * that many.  The first line is sample `first`.
 */
static void parse_ndjson_from(const char *out, size_t len, struct samples *s, int expect,
			      long long first)
{
	const char *p = out, *end = out + len;

	memset(s, 0, sizeof(*s));
	ck_assert_msg(len == 0 || out[len - 1] == '\n',
		      "stdout does not end with a newline: \"...%s\"",
		      len > 200 ? out + len - 200 : out);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line = strndup(p, (size_t)(nl - p));
		const char *parse_end = NULL;
		cJSON *doc;

		ck_assert_ptr_nonnull(line);
		doc = cJSON_ParseWithOpts(line, &parse_end, true);
		ck_assert_msg(doc != NULL, "sample line %d is not one JSON document: %.300s",
			      s->n, line);
		free(line);
		ck_assert_msg(s->n < MAX_SAMPLES, "too many samples");
		json_check_report_shape(doc);
		ck_assert_int_eq(json_int(doc, "sample"), first + s->n);
		s->t[s->n] = parse_time(json_str(doc, "time"));
		if (s->n)
			ck_assert_msg(s->t[s->n] > s->t[s->n - 1], "time of sample %d not after %d",
				      s->n, s->n - 1);
		s->doc[s->n++] = doc;
		p = nl + 1;
	}
	if (expect >= 0)
		ck_assert_msg(s->n == expect, "%d samples, expected %d", s->n, expect);
	if (s->n)
		ck_assert_msg(fabs(s->t[0] - realtime_ms()) < 120000,
			      "sample 0's time is far from now");
}

static void parse_ndjson(const char *out, size_t len, struct samples *s, int expect)
{
	parse_ndjson_from(out, len, s, expect, 0);
}

static void samples_free(struct samples *s)
{
	for (int i = 0; i < s->n; i++)
		cJSON_Delete(s->doc[i]);
	s->n = 0;
}

/* Sample k at start + k * interval: never early, and (but under
 * valgrind) not much late.  A sample's time is the middle of its socket
 * dump, so dumps of different lengths (a busy host) move it against its
 * slot: "early" allows half an interval for that and the reading of
 * sample 0's time (stamp_skew_ms), which still fails a sample taken in a
 * burst, a whole interval early.  One sample that overruns its interval moves the later ones
 * (they are never taken in a burst to catch up), so "late" allows for
 * one stall of a busy machine. */
static void check_schedule(const struct samples *s, int interval_ms)
{
	double skew = stamp_skew_ms(), late = under_asan() ? 1000 : 500;

	for (int k = 1; k < s->n; k++) {
		double off = s->t[k] - s->t[0];

		ck_assert_msg(off >= k * interval_ms - interval_ms / 2.0 - skew,
			      "sample %d came %.0f ms after sample 0 (every %d ms)", k, off,
			      interval_ms);
		if (!under_valgrind())
			ck_assert_msg(off <= k * interval_ms + late,
				      "sample %d came %.0f ms after sample 0 (every %d ms)", k,
				      off, interval_ms);
	}
}

/* A group's identity across samples: "server *:80", "client
 * 10.0.0.1:443", "process 42"; UDP groups prefixed "udp ", UNIX ones
 * "unix SIDE PATH" ("unix process 42" unnamed). */
static const char *group_key(const cJSON *g, char *buf, size_t size)
{
	const cJSON *pr = cJSON_GetObjectItemCaseSensitive(g, "protocol");
	const char *side = json_str(g, "side");
	const char *proto = cJSON_IsString(pr) ? pr->valuestring : "tcp";
	const char *pre = !strcmp(proto, "udp") ? "udp " : !strcmp(proto, "unix") ? "unix " : "";

	if (!strcmp(proto, "unix") && strcmp(side, "process"))
		snprintf(buf, size, "unix %s %.200s", side, json_str(g, "path"));
	else if (!strcmp(side, "server"))
		snprintf(buf, size, "%sserver *:%lld", pre, json_int(g, "local_port"));
	else if (!strcmp(side, "client"))
		snprintf(buf, size, "%sclient %.63s:%lld", pre, json_str(g, "remote_address"),
			 json_int(g, "remote_port"));
	else
		snprintf(buf, size, "%s%s %lld", pre, side, json_int(g, "pid"));
	return buf;
}

static cJSON *group_by_key(const cJSON *doc, const char *key)
{
	char k[256];
	cJSON *g;

	cJSON_ArrayForEach(g, json_array(doc, "groups"))
		if (!strcmp(group_key(g, k, sizeof(k)), key))
			return g;
	return NULL;
}

static double json_num(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	ck_assert_msg(cJSON_IsNumber(v), "\"%s\" missing or not a number", key);
	return cJSON_GetNumberValue(v);
}

static bool json_bool(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	ck_assert_msg(cJSON_IsBool(v), "\"%s\" missing or not a boolean", key);
	return cJSON_IsTrue(v);
}

/*
 * A rate as the report prints it (three decimals) against ours from the
 * samples' "time" values: these have millisecond precision and may be
 * read a little after the instant the slope uses (stamp_skew_ms), which
 * moves a slope over a span of span_ms by up to rate * skew / span.
 */
static void expect_rate(double got, double want, double span_ms, const char *what, int k)
{
	double tol = 0.5 + 0.03 * fabs(want) + fabs(want) * stamp_skew_ms() / span_ms;

	ck_assert_msg(fabs(got - want) <= tol, "sample %d: %s is %.3f, expected %.3f", k,
		      what, got, want);
}

/*
 * The contract's growth of every group in every sample from 1 on,
 * recomputed from the samples' own counts and times (a group absent
 * from a sample counts 0 there): least-squares slopes per minute of
 * sockets, close_wait and idle; delta = last - first; leaking = present
 * in at least 5 samples, never fell, rose overall.
 */
#define NCOUNTS 5
static void check_group_growth(const struct samples *s)
{
	static const char *const counts[NCOUNTS] = { "sockets", "close_wait", "idle",
						     "peer_closed", "dropping" };
	static const char *const rates[NCOUNTS] = { "sockets_per_min", "close_wait_per_min",
						    "idle_per_min", "peer_closed_per_min",
						    "dropping_per_min" };

	for (int k = 1; k < s->n; k++) {
		cJSON *g;

		cJSON_ArrayForEach(g, json_array(s->doc[k], "groups")) {
			double x[MAX_SAMPLES], y[NCOUNTS][MAX_SAMPLES];
			bool fell = false, leaking;
			int present = 0;
			const cJSON *gr;
			char key[256];

			group_key(g, key, sizeof(key));
			gr = cJSON_GetObjectItemCaseSensitive(g, "growth");
			ck_assert_msg(cJSON_IsObject(gr), "sample %d: group %s has no growth", k,
				      key);
			for (int i = 0; i <= k; i++) {
				const cJSON *gi = group_by_key(s->doc[i], key);

				x[i] = (s->t[i] - s->t[0]) / 60000.0;
				present += gi != NULL;
				for (int c = 0; c < NCOUNTS; c++)
					y[c][i] = gi ? (double)json_int(gi, counts[c]) : 0;
				if (i && y[0][i] < y[0][i - 1])
					fell = true;
			}
			for (int c = 0; c < NCOUNTS; c++) {
				char what[320];

				snprintf(what, sizeof(what), "%s of %s", rates[c], key);
				expect_rate(json_num(gr, rates[c]), ls_slope(x, y[c], k + 1),
					    s->t[k] - s->t[0], what, k);
			}
			ck_assert_msg(json_int(gr, "delta") == (long long)(y[0][k] - y[0][0]),
				      "sample %d: delta of %s is %lld, counts went %.0f -> %.0f", k,
				      key, json_int(gr, "delta"), y[0][0], y[0][k]);
			leaking = present >= 5 && !fell && y[0][k] > y[0][0];
			ck_assert_msg(json_bool(g, "leaking") == leaking,
				      "sample %d: %s leaking is %d, expected %d (fell %d, %.0f -> %.0f)",
				      k, key, json_bool(g, "leaking"), leaking, fell, y[0][0],
				      y[0][k]);
		}
	}
}

static cJSON *proc_entry(const cJSON *doc, pid_t pid)
{
	cJSON *p;

	cJSON_ArrayForEach(p, json_array(doc, "processes"))
		if (json_int(p, "pid") == pid)
			return p;
	return NULL;
}

/* The process entry's keys as the contract fixes them. */
static void check_proc_shape(const cJSON *p)
{
	const cJSON *flags = json_array(p, "flags"), *f;

	ck_assert_int_gt(json_int(p, "pid"), 0);
	json_str(p, "comm");
	ck_assert_int_ge(json_int(p, "sockets"), 1);
	ck_assert_int_ge(json_int(p, "fds"), json_int(p, "socket_fds"));
	ck_assert_int_ge(json_int(p, "socket_fds"), json_int(p, "sockets"));
	if (!json_is_null(p, "fd_limit"))
		ck_assert_int_gt(json_int(p, "fd_limit"), 0);
	cJSON_ArrayForEach(f, flags)
		ck_assert_msg(cJSON_IsString(f) && !strcmp(f->valuestring, "fd_pressure"),
			      "unknown process flag");
}

static bool has_pflag(const cJSON *p, const char *flag)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, json_array(p, "flags"))
		if (cJSON_IsString(f) && !strcmp(f->valuestring, flag))
			return true;
	return false;
}

static const char *pids3(pid_t a, pid_t b, pid_t c)
{
	static char buf[64];

	if (c)
		snprintf(buf, sizeof(buf), "%d,%d,%d", (int)a, (int)b, (int)c);
	else if (b)
		snprintf(buf, sizeof(buf), "%d,%d", (int)a, (int)b);
	else
		snprintf(buf, sizeof(buf), "%d", (int)a);
	return buf;
}

/* ---- 1. a leaker and a steady pool, watched as NDJSON ---- */

START_TEST(test_json_leak_and_pool)
{
	struct helper srv, cli, pool;
	struct conn_times *ct = calloc(1, sizeof(*ct));
	struct samples s;
	struct run_result r;
	int lport, pport, last;
	char client_key[64], pool_client_key[64], key[64];
	const cJSON *gs, *gc, *ps, *pc, *e;
	double truth, rs, rc;

	ck_assert_ptr_nonnull(ct);
	leaker_start(&srv, &cli, &lport, 0);
	pool_start(&pool, &pport, POOL_CONNS);
	{
		const char *args[] = { "-j", "--watch", "250ms", "--count", "12", "--idle",
				       "500ms", "-p", pids3(srv.pid, cli.pid, pool.pid), NULL };

		run_sockaudit_v(&r, NULL, args);
	}
	ck_assert_msg(r.status == 0 && r.err_len == 0, "%s", run_describe(&r));
	parse_ndjson(r.out, r.out_len, &s, 12);
	check_schedule(&s, 250);
	check_group_growth(&s);
	last = s.n - 1;

	snprintf(client_key, sizeof(client_key), "client 127.0.0.1:%d", lport);
	snprintf(pool_client_key, sizeof(pool_client_key), "client 127.0.0.1:%d", pport);
	snprintf(key, sizeof(key), "server *:%d", lport);
	gs = group_by_key(s.doc[last], key);
	gc = group_by_key(s.doc[last], client_key);
	snprintf(key, sizeof(key), "server *:%d", pport);
	ps = group_by_key(s.doc[last], key);
	pc = group_by_key(s.doc[last], pool_client_key);
	ck_assert_msg(gs && gc && ps && pc, "a group is missing from the last sample: %.1500s",
		      r.out + (r.out_len > 1500 ? r.out_len - 1500 : 0));
	ck_assert_msg(json_group_process_entry(gs, srv.pid) &&
		      !strcmp(json_str(json_group_process_entry(gs, srv.pid), "comm"),
			      "wh-leak-srv"), "leaker server not named in its group");
	ck_assert_msg(json_group_process_entry(gc, cli.pid) &&
		      !strcmp(json_str(json_group_process_entry(gc, cli.pid), "comm"),
			      "wh-leak-cli"), "leaker client not named in its group");

	/* The leaker: both of its groups leak, at its own pace. */
	read_conns(&cli, ct);
	truth = true_rate(ct, s.t[0] - LEAK_MS, s.t[last] + LEAK_MS);
	ck_assert_msg(fabs(truth - 60000.0 / LEAK_MS) < 0.25 * 60000.0 / LEAK_MS,
		      "the leaker itself ran at %.1f/min", truth);
	ck_assert(json_bool(gs, "leaking"));
	ck_assert(json_bool(gc, "leaking"));
	rs = json_num(json_object(gs, "growth"), "sockets_per_min");
	rc = json_num(json_object(gc, "growth"), "sockets_per_min");
	ck_assert_msg(fabs(rs - truth) <= 0.25 * truth,
		      "server group grows %.3f/min, the leaker %.3f/min", rs, truth);
	ck_assert_msg(fabs(rc - truth) <= 0.25 * truth,
		      "client group grows %.3f/min, the leaker %.3f/min", rc, truth);
	/* What each group counts: the client group the leaker's connections
	 * (made by the sample's time, or during its dump), the server group
	 * the listener and the accepted ends. */
	for (int k = 0; k < s.n; k++) {
		const cJSON *c = group_by_key(s.doc[k], client_key);
		long long n = c ? json_int(c, "sockets") : 0;
		int lo = conns_before(ct, s.t[k] - 2),
		    hi = conns_before(ct, s.t[k] + (under_valgrind() ? 3000 : 1000));

		ck_assert_msg(n >= lo && n <= hi,
			      "sample %d: client group has %lld sockets, the leaker had made "
			      "%d..%d connections", k, n, lo, hi);
	}
	/* The listener and the accepted ends: as many as the client's, give
	 * or take the connections made just then (not accepted yet, so not
	 * the server's, when the server was slow to run). */
	ck_assert_int_ge(json_int(gs, "sockets") + 2, json_int(gc, "sockets"));
	ck_assert_int_le(json_int(gs, "sockets"), json_int(gc, "sockets") + 2);
	ck_assert_int_eq(json_group_state(gs, "listen"), 1);

	/* The pool: steady, so slope exactly 0 and no leak. */
	ck_assert_int_eq(json_int(ps, "sockets"), POOL_CONNS + 1);
	ck_assert_int_eq(json_int(pc, "sockets"), POOL_CONNS);
	for (int i = 0; i < 2; i++) {
		const cJSON *g = i ? pc : ps;
		const cJSON *gr = json_object(g, "growth");

		ck_assert_msg(json_num(gr, "sockets_per_min") == 0 && json_int(gr, "delta") == 0 &&
			      !json_bool(g, "leaking"),
			      "the steady pool's %s group grows", i ? "client" : "server");
	}
	/* Every process holding selected sockets is listed once. */
	e = proc_entry(s.doc[last], pool.pid);
	ck_assert_ptr_nonnull(e);
	check_proc_shape(e);
	ck_assert_int_eq(json_int(e, "sockets"), 2 * POOL_CONNS + 1);
	ck_assert_ptr_nonnull(proc_entry(s.doc[last], srv.pid));
	ck_assert_ptr_nonnull(proc_entry(s.doc[last], cli.pid));
	ck_assert_int_eq(cJSON_GetArraySize(json_array(s.doc[last], "processes")), 3);

	fprintf(stderr, "test_watch: leaker %.1f/min (%d connections); reported: server "
		"group %.3f/min, client group %.3f/min over %d samples (%.0f ms)\n",
		truth, ct->n, rs, rc, s.n, s.t[last] - s.t[0]);
	samples_free(&s);
	run_result_free(&r);
	helper_stop(&cli);
	helper_stop(&srv);
	helper_stop(&pool);
	free(ct);
}
END_TEST

/* ---- 1b. the same as a table (not a terminal: appended blocks) ---- */

/* Whitespace-separated fields of a line (modifies it). */
static int split(char *line, char **f, int max)
{
	int n = 0;

	for (char *t = strtok(line, " \t"); t && n < max; t = strtok(NULL, " \t"))
		f[n++] = t;
	return n;
}

START_TEST(test_table_leak_and_pool)
{
	struct helper srv, cli, pool;
	struct run_result r;
	int lport, pport, blocks = 0, nrows = 0;
	char lkey[32], pkey[32], *text, *save = NULL;
	bool leak_row = false, pool_row = false, in_groups = false;
	int col_leaking = -1, col_permin = -1, col_first = -1, ncols = 0;

	leaker_start(&srv, &cli, &lport, 0);
	pool_start(&pool, &pport, POOL_CONNS);
	{
		const char *args[] = { "--watch", "250ms", "--count", "6", "-p",
				       pids3(srv.pid, cli.pid, pool.pid), NULL };

		run_sockaudit_v(&r, NULL, args);
	}
	ck_assert_msg(r.status == 0 && r.err_len == 0, "%s", run_describe(&r));
	ck_assert_msg(!strchr(r.out, '\033'), "escape sequences when stdout is not a terminal");
	ck_assert_msg(r.out_len && r.out[r.out_len - 1] == '\n', "no final newline");
	snprintf(lkey, sizeof(lkey), "*:%d", lport);
	snprintf(pkey, sizeof(pkey), "*:%d", pport);

	text = strdup(r.out);
	ck_assert_ptr_nonnull(text);
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char copy[1024], *f[32];
		int n;

		snprintf(copy, sizeof(copy), "%s", line);
		n = split(copy, f, 32);
		if (!strncmp(line, "sample ", 7)) {
			long k = -1;
			char when[64] = "", every[32] = "";

			ck_assert_msg(sscanf(line, "sample %ld at %63s (every %31[^)])", &k, when,
					     every) == 3, "bad sample header \"%s\"", line);
			ck_assert_int_eq(k, blocks);
			parse_time(when);
			ck_assert_str_eq(every, "250ms");
			/* Blocks after the first are set apart by a blank line. */
			if (blocks)
				ck_assert_msg(line - text >= 2 && r.out[line - text - 1] == '\n' &&
					      r.out[line - text - 2] == '\n',
					      "no blank line before \"%s\"", line);
			blocks++;
			in_groups = false;
			continue;
		}
		if (n && !strcmp(f[0], "GROUP")) {
			ck_assert_msg(blocks > 0, "a table before any sample header");
			ncols = n;
			for (int i = 0; i < n; i++) {
				if (!strcmp(f[i], "LEAKING"))
					col_leaking = i;
				if (!strcmp(f[i], "PER_MIN"))
					col_permin = i;
				if (!strcmp(f[i], "+FIRST"))
					col_first = i;
			}
			ck_assert_msg(col_leaking == n - 1 && col_permin >= 0 && col_first >= 0 &&
				      strstr(line, "+PREV"), "watch columns missing: \"%s\"", line);
			in_groups = true;
			continue;
		}
		if (!in_groups || n != ncols)
			continue;
		nrows++;
		if (blocks == 1) {
			/* Sample 0: no change yet. */
			ck_assert_msg(!strcmp(f[col_first], "-") && !strcmp(f[col_leaking], "-"),
				      "sample 0 shows a change: \"%s\"", line);
		} else if (blocks == 6 && !strcmp(f[0], lkey)) {
			ck_assert_msg(!strcmp(f[col_leaking], "LEAKING") && atof(f[col_permin]) > 0,
				      "the leaker's server group is not LEAKING: \"%s\"", line);
			ck_assert_msg(strstr(line, "wh-leak-srv["), "no process in \"%s\"", line);
			leak_row = true;
		} else if (blocks == 6 && !strcmp(f[0], pkey)) {
			ck_assert_msg(!strcmp(f[col_leaking], "no") &&
				      !strcmp(f[col_permin], "0.0") && !strcmp(f[col_first], "0"),
				      "the pool's group changes: \"%s\"", line);
			pool_row = true;
		}
	}
	free(text);
	ck_assert_int_eq(blocks, 6);
	ck_assert_int_eq(count_totals_lines(r.out), 6);
	ck_assert_msg(leak_row && pool_row && nrows >= 6 * 4,
		      "group rows missing (leaker %d, pool %d, %d rows): %s", leak_row, pool_row,
		      nrows, run_describe(&r));
	/* --pid: every process is listed in the process section. */
	ck_assert_int_eq(count_lines_containing(r.out, "FDS_PER_MIN"), 6);
	ck_assert_int_eq(count_lines_containing(r.out, "wh-pool["), 6 * 3);
	run_result_free(&r);
	helper_stop(&cli);
	helper_stop(&srv);
	helper_stop(&pool);
}
END_TEST

/* ---- 2. --max-growth ---- */

/* The first number with a decimal point in s, or NAN. */
static double first_decimal(const char *s)
{
	for (const char *p = s; *p; p++) {
		char *end;
		double v;

		if (!isdigit((unsigned char)*p) || (p > s && (isdigit((unsigned char)p[-1]) ||
							       p[-1] == '.')))
			continue;
		v = strtod(p, &end);
		if (memchr(p, '.', (size_t)(end - p)))
			return v;
	}
	return NAN;
}

START_TEST(test_max_growth_leaker)
{
	struct helper srv, cli;
	struct conn_times *ct = calloc(1, sizeof(*ct));
	struct run_result r;
	struct samples s;
	char port[16], group[32];
	const cJSON *g;
	double rate, reported, truth;
	int lport;

	ck_assert_ptr_nonnull(ct);
	leaker_start(&srv, &cli, &lport, 0);
	snprintf(port, sizeof(port), "%d", lport);
	{
		const char *args[] = { "-j", "-P", port, "--watch", "250ms", "--count", "8",
				       "--max-growth", "10", NULL };

		run_sockaudit_v(&r, NULL, args);
	}
	/* Status 1, the report still printed in full. */
	ck_assert_msg(r.status == 1, "%s", run_describe(&r));
	parse_ndjson(r.out, r.out_len, &s, 8);
	check_group_growth(&s);
	ck_assert_msg(count_lines(r.err) == 1 && !strncmp(r.err, "sockaudit: ", 11),
		      "not one stderr line: %s", run_describe(&r));
	snprintf(group, sizeof(group), "*:%d", lport);
	ck_assert_msg(strstr(r.err, group), "stderr does not name the group %s: %.1000s", group,
		      r.err);
	ck_assert_msg(strstr(r.err, "--max-growth"), "stderr does not name --max-growth: %.1000s",
		      r.err);
	rate = first_decimal(r.err + 11);
	snprintf(group, sizeof(group), "server *:%d", lport);
	g = group_by_key(s.doc[s.n - 1], group);
	ck_assert_ptr_nonnull(g);
	reported = json_num(json_object(g, "growth"), "sockets_per_min");
	ck_assert_msg(fabs(rate - reported) < 0.01,
		      "stderr says %.3f/min, the last sample %.3f/min: %.1000s", rate, reported, r.err);
	read_conns(&cli, ct);
	truth = true_rate(ct, s.t[0] - LEAK_MS, s.t[s.n - 1] + LEAK_MS);
	ck_assert_msg(rate > 10 && fabs(rate - truth) <= 0.25 * truth,
		      "stderr rate %.3f/min, the leaker %.3f/min", rate, truth);
	samples_free(&s);
	run_result_free(&r);

	/* Growth under the limit passes (decimals allowed). */
	{
		const char *args[] = { "-P", port, "--watch", "250ms", "--count", "5",
				       "--max-growth", "100000.5", NULL };

		run_sockaudit_v(&r, NULL, args);
		ck_assert_msg(r.status == 0 && r.err_len == 0 && r.out_len > 0, "%s",
			      run_describe(&r));
		run_result_free(&r);
	}
	helper_stop(&cli);
	helper_stop(&srv);
	free(ct);
}
END_TEST

START_TEST(test_max_growth_pool)
{
	struct helper pool;
	struct run_result r;
	struct samples s;
	char port[16];
	int pport;

	pool_start(&pool, &pport, POOL_CONNS);
	snprintf(port, sizeof(port), "%d", pport);
	{
		/* The pool's own sockets: another socket of the host may have
		 * the same local port on another address (an IPv6 client of
		 * [::1], say), as bind() to 127.0.0.1 allows. */
		const char *args[] = { "-j", "-P", port, "-p", pids3(pool.pid, 0, 0),
				       "--watch", "250ms", "--count", "8", "--max-growth", "0",
				       NULL };

		run_sockaudit_v(&r, NULL, args);
	}
	ck_assert_msg(r.status == 0 && r.err_len == 0, "%s", run_describe(&r));
	parse_ndjson(r.out, r.out_len, &s, 8);
	check_group_growth(&s);
	for (int k = 0; k < s.n; k++) {
		char key[32];
		const cJSON *g;

		snprintf(key, sizeof(key), "server *:%d", pport);
		g = group_by_key(s.doc[k], key);
		ck_assert_ptr_nonnull(g);
		ck_assert_msg(json_int(g, "sockets") == POOL_CONNS + 1,
			      "sample %d: %lld sockets in the pool's group, not %d: %s", k,
			      json_int(g, "sockets"), POOL_CONNS + 1,
			      cJSON_PrintUnformatted(json_object(g, "states")));
		ck_assert_int_eq(cJSON_GetArraySize(json_array(s.doc[k], "groups")), 1);
	}
	samples_free(&s);
	run_result_free(&r);
	helper_stop(&pool);
}
END_TEST

/*
 * A group that does not change has a slope of exactly 0, so
 * `--max-growth 0` passes on it however many times it runs.  (Before
 * ed403b6 about one run in four failed with "grows 0.00 sockets/min ...
 * more than --max-growth 0": the slope from running sums was a rounding
 * residue such as 1e-14, not 0.)
 */
START_TEST(test_max_growth_zero_steady)
{
	struct helper pool;
	char port[16];
	int pport, runs = under_valgrind() ? 4 : 20;

	pool_start(&pool, &pport, POOL_CONNS);
	snprintf(port, sizeof(port), "%d", pport);
	for (int i = 0; i < runs; i++) {
		const char *args[] = { "-P", port, "-p", pids3(pool.pid, 0, 0), "-s",
				       "established,listen", "--watch", "5ms", "--count", "8",
				       "--max-growth", "0", NULL };
		struct run_result r;

		run_sockaudit_v(&r, NULL, args);
		ck_assert_msg(r.status == 0 && r.err_len == 0,
			      "run %d of a steady pool with --max-growth 0: %s", i + 1,
			      run_describe(&r));
		run_result_free(&r);
	}
	helper_stop(&pool);
}
END_TEST

/* ---- 3. descriptor pressure ---- */

#define HOG_LIMIT 64
#define HOG_PAIRS 30

START_TEST(test_fd_pressure)
{
	struct helper hog, pool;
	struct run_result r;
	char pidarg[16], thr[16], limits_line[256];
	const char *args_hog[] = { "fdhog", "64", "30", NULL };
	long fds, socks, said, limit;
	int pport, over, under;
	cJSON *doc, *e;

	helper_start(&hog, args_hog);
	said = atol(helper_expect(&hog, "ready "));
	pool_start(&pool, &pport, POOL_CONNS);
	proc_fds(hog.pid, &fds, &socks);
	limit = proc_soft_nofile(hog.pid);
	ck_assert_int_eq(limit, HOG_LIMIT);
	ck_assert_int_eq(fds, said);
	ck_assert_int_ge(socks, 2 * HOG_PAIRS);
	snprintf(pidarg, sizeof(pidarg), "%d", (int)hog.pid);

	/* Default threshold 80%: flagged. */
	{
		const char *args[] = { "-j", "-p", pids3(hog.pid, pool.pid, 0), NULL };

		run_sockaudit_v(&r, NULL, args);
	}
	ck_assert_msg(r.status == 0 && r.err_len == 0, "%s", run_describe(&r));
	doc = json_report(&r);
	json_check_report_shape(doc);
	ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "processes")), 2);
	e = proc_entry(doc, hog.pid);
	ck_assert_ptr_nonnull(e);
	check_proc_shape(e);
	ck_assert_str_eq(json_str(e, "comm"), "wh-fdhog");
	ck_assert_int_eq(json_int(e, "sockets"), 2 * HOG_PAIRS);
	ck_assert_int_eq(json_int(e, "fds"), fds);
	ck_assert_int_eq(json_int(e, "socket_fds"), socks);
	ck_assert_int_ge(json_int(e, "fds"), 60);
	ck_assert_int_eq(json_int(e, "fd_limit"), HOG_LIMIT);
	ck_assert_msg(cJSON_GetArraySize(json_array(e, "flags")) == 1 &&
		      has_pflag(e, "fd_pressure"), "the hog is not flagged fd_pressure");
	{
		char *text = cJSON_PrintUnformatted(e);

		fprintf(stderr, "test_watch: fd pressure entry %s\n", text ? text : "?");
		free(text);
	}
	/* A process with an ordinary limit is not. */
	e = proc_entry(doc, pool.pid);
	ck_assert_ptr_nonnull(e);
	check_proc_shape(e);
	proc_fds(pool.pid, &fds, &socks);
	ck_assert_int_eq(json_int(e, "fds"), fds);
	ck_assert_int_eq(json_int(e, "socket_fds"), socks);
	limit = proc_soft_nofile(pool.pid);
	if (limit < 0)
		ck_assert(json_is_null(e, "fd_limit"));
	else
		ck_assert_int_eq(json_int(e, "fd_limit"), limit);
	ck_assert_msg(cJSON_GetArraySize(json_array(e, "flags")) == 0 &&
		      fds * 100 < 80 * limit, "the pool (%ld of %ld) is flagged", fds, limit);
	cJSON_Delete(doc);
	run_result_free(&r);

	/* The threshold is a percentage of the limit, compared with >=:
	 * flagged at the highest whole percent its use reaches, not one
	 * above. */
	proc_fds(hog.pid, &fds, &socks);
	over = (int)(fds * 100 / HOG_LIMIT);
	under = over + 1;
	ck_assert_msg(under <= 100, "the hog is at its limit (%ld of %d)", fds, HOG_LIMIT);
	for (int i = 0; i < 2; i++) {
		const char *args[] = { "-j", "-p", pidarg, "--fd-pressure", thr, NULL };

		snprintf(thr, sizeof(thr), "%d", i ? under : over);
		run_sockaudit_v(&r, NULL, args);
		ck_assert_msg(r.status == 0, "%s", run_describe(&r));
		doc = json_report(&r);
		e = proc_entry(doc, hog.pid);
		ck_assert_ptr_nonnull(e);
		ck_assert_int_eq(json_int(e, "fds"), fds);
		ck_assert_msg(has_pflag(e, "fd_pressure") == (i == 0),
			      "%ld of %d descriptors with --fd-pressure %s: flags wrong", fds,
			      HOG_LIMIT, thr);
		cJSON_Delete(doc);
		run_result_free(&r);
	}

	/* The table under --pid: the process section, with the flag. */
	{
		const char *args[] = { "-p", pidarg, NULL };
		char *line, *end;
		char *f[16];
		int n;

		run_sockaudit_v(&r, NULL, args);
		ck_assert_msg(r.status == 0 && r.err_len == 0, "%s", run_describe(&r));
		ck_assert_msg(count_lines_containing(r.out, "FD_LIMIT") == 1, "no process section: %s",
			      run_describe(&r));
		line = strstr(r.out, "wh-fdhog[");
		ck_assert_ptr_nonnull(line);
		/* The last mention is the process section's row. */
		for (char *p = line; (p = strstr(p + 1, "wh-fdhog[")) != NULL;)
			line = p;
		while (line > r.out && line[-1] != '\n')
			line--;
		end = strchr(line, '\n');
		snprintf(limits_line, sizeof(limits_line), "%.*s", (int)(end - line), line);
		n = split(limits_line, f, 16);
		ck_assert_msg(n >= 8 && atol(f[3]) == fds && atol(f[5]) == HOG_LIMIT &&
			      !strcmp(f[n - 1], "fd_pressure"),
			      "process row \"%.*s\"", (int)(end - line), line);
		run_result_free(&r);
	}
	helper_stop(&hog);
	helper_stop(&pool);
}
END_TEST

/*
 * The threshold is inclusive: a process using exactly 80% of its limit
 * (80 descriptors of 100, four of them not sockets) is flagged by
 * default and with --fd-pressure 80, not with 81.
 */
START_TEST(test_fd_pressure_boundary)
{
	const char *args_hog[] = { "fdhog", "100", "38", "1", NULL };
	static const struct {
		const char *thr;
		bool flagged;
	} rows[] = { { NULL, true }, { "80", true }, { "81", false }, { "1", true },
		     { "100", false } };
	struct helper hog;
	struct run_result r;
	char pidarg[16];
	long fds, socks;

	helper_start(&hog, args_hog);
	ck_assert_int_eq(atol(helper_expect(&hog, "ready ")), 80);
	proc_fds(hog.pid, &fds, &socks);
	ck_assert_int_eq(proc_soft_nofile(hog.pid), 100);
	ck_assert_msg(fds == 80 && socks == 76, "the hog holds %ld descriptors, %ld sockets",
		      fds, socks);
	snprintf(pidarg, sizeof(pidarg), "%d", (int)hog.pid);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *args[] = { "-j", "-p", pidarg, rows[i].thr ? "--fd-pressure" : NULL,
				       rows[i].thr, NULL };
		cJSON *doc, *e;

		run_sockaudit_v(&r, NULL, args);
		ck_assert_msg(r.status == 0 && r.err_len == 0, "%s", run_describe(&r));
		doc = json_report(&r);
		e = proc_entry(doc, hog.pid);
		ck_assert_ptr_nonnull(e);
		check_proc_shape(e);
		ck_assert_int_eq(json_int(e, "fds"), 80);
		ck_assert_int_eq(json_int(e, "socket_fds"), 76);
		ck_assert_int_eq(json_int(e, "sockets"), 76);
		ck_assert_int_eq(json_int(e, "fd_limit"), 100);
		ck_assert_msg(has_pflag(e, "fd_pressure") == rows[i].flagged,
			      "80 of 100 descriptors, --fd-pressure %s: fd_pressure %s",
			      rows[i].thr ? rows[i].thr : "(default 80)",
			      rows[i].flagged ? "missing" : "set");
		cJSON_Delete(doc);
		run_result_free(&r);
	}
	helper_stop(&hog);
}
END_TEST

/* ---- 4. descriptors growing under --watch ---- */

#define LEAK_NOFILE 1024

START_TEST(test_fd_growth)
{
	struct helper srv, cli;
	struct conn_times *ct = calloc(1, sizeof(*ct));
	struct run_result r;
	struct samples s;
	double x[MAX_SAMPLES], y[MAX_SAMPLES], truth, per_min, minutes;
	const cJSON *e, *g;
	long fds_now, socks_now;
	int lport, last;

	ck_assert_ptr_nonnull(ct);
	leaker_start(&srv, &cli, &lport, LEAK_NOFILE);
	ck_assert_int_eq(proc_soft_nofile(cli.pid), LEAK_NOFILE);
	{
		const char *args[] = { "-j", "--watch", "250ms", "--count", "6", "-p",
				       pids3(cli.pid, srv.pid, 0), NULL };

		run_sockaudit_v(&r, NULL, args);
	}
	ck_assert_msg(r.status == 0 && r.err_len == 0, "%s", run_describe(&r));
	parse_ndjson(r.out, r.out_len, &s, 6);
	last = s.n - 1;
	/* Every process's growth, recomputed from its fds in each sample. */
	for (int k = 1; k < s.n; k++) {
		cJSON *p;

		cJSON_ArrayForEach(p, json_array(s.doc[k], "processes")) {
			pid_t pid = (pid_t)json_int(p, "pid");
			int n = 0;

			check_proc_shape(p);
			g = json_object(p, "growth");
			for (int i = 0; i <= k; i++) {
				const cJSON *pi = proc_entry(s.doc[i], pid);

				if (!pi)
					continue;
				x[n] = (s.t[i] - s.t[0]) / 60000.0;
				y[n] = (double)json_int(pi, "fds");
				n++;
			}
			expect_rate(json_num(g, "fds_per_min"), ls_slope(x, y, n),
				    s.t[k] - s.t[0], "fds_per_min", k);
		}
	}
	e = proc_entry(s.doc[last], cli.pid);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(json_str(e, "comm"), "wh-leak-cli");
	ck_assert_int_eq(json_int(e, "fd_limit"), LEAK_NOFILE);
	ck_assert_int_eq(cJSON_GetArraySize(json_array(e, "flags")), 0);
	g = json_object(e, "growth");
	per_min = json_num(g, "fds_per_min");
	read_conns(&cli, ct);
	truth = true_rate(ct, s.t[0] - LEAK_MS, s.t[last] + LEAK_MS);
	ck_assert_msg(per_min > 0 && fabs(per_min - truth) <= 0.25 * truth,
		      "the client's descriptors grow %.3f/min, it leaks %.3f/min", per_min, truth);
	/* Time to the limit at that rate, from the same sample's values. */
	minutes = json_num(g, "minutes_to_fd_limit");
	{
		double want = (double)(LEAK_NOFILE - json_int(e, "fds")) / per_min;

		ck_assert_msg(isfinite(minutes) && fabs(minutes - want) <= 0.01 * want + 0.002,
			      "minutes_to_fd_limit %.3f, (limit - fds) / fds_per_min = %.3f",
			      minutes, want);
		fprintf(stderr, "test_watch: leaker client fds %lld of %d, +%.3f/min, "
			"%.3f min to its limit\n", json_int(e, "fds"), LEAK_NOFILE, per_min,
			minutes);
	}
	/* Its descriptors now are at least those of the last sample. */
	proc_fds(cli.pid, &fds_now, &socks_now);
	ck_assert_int_ge(fds_now, json_int(e, "fds"));
	samples_free(&s);
	run_result_free(&r);
	helper_stop(&cli);
	helper_stop(&srv);
	free(ct);
}
END_TEST

/* ---- running sockaudit by hand (signals, peak RSS, a PID that exits) ---- */

struct sa_run {
	pid_t pid;
	int out, err;
	bool keep_out; /* else stdout is only counted */
	char *obuf, *ebuf;
	size_t olen, ocap, elen, ecap;
	size_t lines; /* newlines seen on stdout */
	char tail[262144]; /* the last bytes of stdout when not kept */
	size_t tail_len;
	int status, sig;
};

static void append(char **b, size_t *len, size_t *cap, const char *p, size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*b = realloc(*b, *cap);
		ck_assert_ptr_nonnull(*b);
	}
	memcpy(*b + *len, p, n);
	*len += n;
	(*b)[*len] = '\0';
}

/* Start sockaudit with args (NULL-terminated), under `wrapper` (a
 * program that runs its arguments) when not NULL. */
static void sa_start(struct sa_run *r, const char *wrapper, const char *const args[],
		     const char *const env[], bool keep_out)
{
	const char *argv[32];
	int n = 0, first;

	memset(r, 0, sizeof(*r));
	if (wrapper)
		argv[n++] = wrapper;
	first = n;
	argv[n++] = sockaudit_path();
	while (args[n - first - 1] && n < 31) {
		argv[n] = args[n - first - 1];
		n++;
	}
	argv[n] = NULL;
	r->keep_out = keep_out;
	r->status = -1;
	append(&r->obuf, &r->olen, &r->ocap, "", 0);
	append(&r->ebuf, &r->elen, &r->ecap, "", 0);
	r->pid = spawn(argv, env, &r->out, &r->err);
}

/* Read what is there within wait_ms.  Returns false once both pipes are
 * closed. */
static bool sa_pump(struct sa_run *r, int wait_ms)
{
	struct pollfd pf[2] = { { r->out, POLLIN, 0 }, { r->err, POLLIN, 0 } };
	char chunk[65536];

	if (r->out < 0 && r->err < 0)
		return false;
	if (poll(pf, 2, wait_ms) <= 0)
		return true;
	for (int i = 0; i < 2; i++) {
		ssize_t got;

		if (pf[i].fd < 0 || !pf[i].revents)
			continue;
		got = read(pf[i].fd, chunk, sizeof(chunk));
		if (got <= 0) {
			close(pf[i].fd);
			*(i ? &r->err : &r->out) = -1;
			continue;
		}
		if (i) {
			append(&r->ebuf, &r->elen, &r->ecap, chunk, (size_t)got);
			continue;
		}
		for (ssize_t j = 0; j < got; j++)
			r->lines += chunk[j] == '\n';
		if (r->keep_out) {
			append(&r->obuf, &r->olen, &r->ocap, chunk, (size_t)got);
		} else {
			size_t keep = (size_t)got < sizeof(r->tail) ? (size_t)got : sizeof(r->tail);
			size_t old = r->tail_len + keep > sizeof(r->tail) ?
					     sizeof(r->tail) - keep : r->tail_len;

			memmove(r->tail, r->tail + r->tail_len - old, old);
			memcpy(r->tail + old, chunk + got - keep, keep);
			r->tail_len = old + keep;
		}
	}
	return r->out >= 0 || r->err >= 0;
}

/* Read until both pipes close, then reap it.  Fails the test after
 * timeout_ms. */
static void sa_finish(struct sa_run *r, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	int st;

	while (sa_pump(r, 50))
		ck_assert_msg(test_now_ms() < deadline, "sockaudit still running after %d ms",
			      timeout_ms);
	for (;;) {
		pid_t w = waitpid(r->pid, &st, WNOHANG);

		if (w == r->pid)
			break;
		ck_assert_msg(w == 0 || errno == EINTR, "waitpid: %s", strerror(errno));
		ck_assert_msg(test_now_ms() < deadline, "sockaudit did not exit");
		usleep(5000);
	}
	kid_gone(r->pid);
	r->pid = 0;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

static void sa_free(struct sa_run *r)
{
	if (r->out >= 0)
		close(r->out);
	if (r->err >= 0)
		close(r->err);
	free(r->obuf);
	free(r->ebuf);
	memset(r, 0, sizeof(*r));
}

/* ---- 5. memory stays flat over many samples ---- */

START_TEST(test_memory_flat)
{
	/* ASan keeps freed memory in quarantine (256 MiB by default), which
	 * would look like growth; this binary-agnostic setting turns it off
	 * for the measured runs only. */
	static const char *const env[] = { "ASAN_OPTIONS=quarantine_size_mb=0:detect_leaks=1",
					   NULL };
	struct helper pool;
	struct sa_run r;
	long rss[2];
	int counts[2] = { 100, 1000 }, pport;
	char count[16], maxrss[4096];

	/* The peak RSS a process inherits from its parent's copy survives
	 * its exec: measured from this test process, the figure would be
	 * ours.  tests/progs/maxrss forks it from a small process. */
	snprintf(maxrss, sizeof(maxrss), "%s/maxrss",
		 test_env_dir("TEST_PROGS", "build/tests/progs"));

	/* Under valgrind a sample takes ~100 times longer: ten times fewer
	 * (valgrind checks for leaks itself). */
	if (under_valgrind()) {
		counts[0] = 10;
		counts[1] = 100;
	}
	/* 120 groups, each with a growth series. */
	pool_start_n(&pool, &pport, 60, 60);
	for (int i = 0; i < 2; i++) {
		const char *args[] = { "-j", "-p", pids3(pool.pid, 0, 0), "-s",
				       "established,listen", "--watch", "1ms", "--count", count,
				       NULL };
		struct samples s;
		char *line;

		snprintf(count, sizeof(count), "%d", counts[i]);
		sa_start(&r, maxrss, args, env, false);
		sa_finish(&r, under_valgrind() ? 300000 : 120000);
		/* maxrss's line ends stderr; nothing else is there. */
		line = r.elen > 1 ? memrchr(r.ebuf, '\n', r.elen - 1) : NULL;
		line = line ? line + 1 : r.ebuf;
		ck_assert_msg(sscanf(line, "maxrss: %ld", &rss[i]) == 1 && rss[i] > 0,
			      "no peak RSS from maxrss: %.1000s", r.ebuf);
		*line = '\0';
		ck_assert_msg(r.status == 0 && !*r.ebuf, "--count %d: status %d, stderr %.1000s",
			      counts[i], r.status, r.ebuf);
		ck_assert_int_eq((long)r.lines, counts[i]);
		/* The last sample is complete. */
		{
			const char *last = r.tail + r.tail_len - 1, *p = last;

			ck_assert_msg(r.tail_len > 0 && *last == '\n', "no final newline");
			while (p > r.tail && p[-1] != '\n')
				p--;
			ck_assert_msg(p > r.tail, "the last sample is longer than %zu bytes",
				      sizeof(r.tail));
			parse_ndjson_from(p, (size_t)(last - p + 1), &s, 1, counts[i] - 1);
			samples_free(&s);
		}
		sa_free(&r);
	}
	fprintf(stderr, "test_watch: peak RSS %ld KiB after %d samples, %ld KiB after %d\n",
		rss[0], counts[0], rss[1], counts[1]);
	/* valgrind's own memory grows as it runs: its figures say nothing
	 * about ours (it checks for leaks itself). */
	if (!under_valgrind())
		ck_assert_msg(rss[1] - rss[0] < 2048,
			      "peak RSS grew from %ld KiB (%d samples) to %ld KiB (%d samples)",
			      rss[0], counts[0], rss[1], counts[1]);
	helper_stop(&pool);
}
END_TEST

/* ---- 6. SIGINT / SIGTERM end an endless watch after the sample ---- */

struct sig_row {
	int sig;
	int delay_ms; /* after a sample was printed */
	bool json;
};

static const struct sig_row sig_rows[] = {
	{ SIGINT, 0, true },
	{ SIGTERM, 0, true },
	{ SIGINT, 90, true },
	{ SIGTERM, 150, true },
	{ SIGINT, 50, false },
};

START_TEST(test_stop_signal)
{
	const struct sig_row *row = &sig_rows[_i];
	struct helper pool;
	struct sa_run r;
	size_t before;
	long long sent, deadline;
	int pport, slow = under_valgrind() ? 5 : 1;

	pool_start(&pool, &pport, 2);
	{
		const char *args[] = { "-p", pids3(pool.pid, 0, 0), "--watch", "200ms",
				       row->json ? "-j" : NULL, NULL };

		sa_start(&r, NULL, args, NULL, true);
	}
	/* Two whole samples printed (JSON: lines; table: totals lines). */
	deadline = test_now_ms() + 10000 * slow;
	while (row->json ? r.lines < 2 : count_totals_lines(r.obuf) < 2) {
		ck_assert_msg(sa_pump(&r, 20), "sockaudit ended early: %.1000s", r.ebuf);
		ck_assert_msg(test_now_ms() < deadline, "no samples from sockaudit");
	}
	usleep((useconds_t)row->delay_ms * 1000);
	sa_pump(&r, 0);
	before = row->json ? r.lines : (size_t)count_totals_lines(r.obuf);
	sent = test_now_ms();
	ck_assert_int_eq(kill(r.pid, row->sig), 0);
	sa_finish(&r, 5000 * slow);
	ck_assert_msg(r.sig == 0 && r.status == 0, "signal %d: status %d, died of %d, stderr %.1000s",
		      row->sig, r.status, r.sig, r.ebuf);
	ck_assert_msg(test_now_ms() - sent < 1000 * slow, "took %lld ms to stop",
		      test_now_ms() - sent);
	ck_assert_msg(r.elen == 0, "stderr: %.1000s", r.ebuf);
	if (row->json) {
		struct samples s;

		/* Every line a whole sample, at most the one in progress
		 * added. */
		parse_ndjson(r.obuf, r.olen, &s, -1);
		ck_assert_msg((size_t)s.n >= before && (size_t)s.n <= before + 1,
			      "%d samples, %zu before the signal", s.n, before);
		samples_free(&s);
	} else {
		int headers = count_lines_containing(r.obuf, "sample ");
		int totals = count_totals_lines(r.obuf);

		ck_assert_msg(r.olen && r.obuf[r.olen - 1] == '\n', "no final newline");
		ck_assert_msg(headers == totals && (size_t)totals >= before &&
			      (size_t)totals <= before + 1,
			      "%d sample headers, %d totals lines, %zu before the signal", headers,
			      totals, before);
	}
	sa_free(&r);
	helper_stop(&pool);
}
END_TEST

/* ---- 7. a watched PID that exits ---- */

/*
 * reap: the test reaps the exited helper at once (as a shell or a
 * supervisor would) or leaves it a zombie until sockaudit is done.
 */
static void watch_exiting_pid(bool json, bool reap)
{
	/* It is told to exit (SIGTERM) once sockaudit has written 2 whole
	 * samples: a timer would race valgrind's start-up on a slow machine. */
	int slow = under_valgrind() ? 5 : 1, seen = 0, at_kill = -1;
	const char *hargs[] = { "exit-after", "600000", NULL };
	struct helper ex;
	struct sa_run r;
	char pid[16];
	long long deadline, exited_at = 0;

	helper_start(&ex, hargs);
	helper_expect(&ex, "port ");
	helper_expect(&ex, "ready");
	snprintf(pid, sizeof(pid), "%d", (int)ex.pid);
	{
		/* 50 samples, as a CI job would run; a watch that misses the
		 * exit runs them all and ends 0. */
		const char *args[] = { "--pid", pid, "--watch", "200ms", "--count", "50",
				       json ? "-j" : NULL, NULL };

		sa_start(&r, NULL, args, NULL, true);
	}
	deadline = test_now_ms() + 30000 * slow;
	while (sa_pump(&r, 20)) {
		siginfo_t si;

		seen = json ? (int)r.lines : count_totals_lines(r.obuf);
		if (at_kill < 0 && seen >= 2) {
			at_kill = seen;
			ck_assert_int_eq(kill(ex.pid, SIGTERM), 0);
		}
		memset(&si, 0, sizeof(si));
		if (at_kill >= 0 && !exited_at &&
		    waitid(P_PID, (id_t)ex.pid, &si, WEXITED | WNOHANG | (reap ? 0 : WNOWAIT)) ==
			    0 && si.si_pid == ex.pid) {
			exited_at = test_now_ms();
			if (reap) {
				kid_gone(ex.pid);
				ex.pid = 0;
			}
		}
		ck_assert_msg(test_now_ms() < deadline,
			      "sockaudit still watching PID %s %lld ms after it exited%s", pid,
			      exited_at ? test_now_ms() - exited_at : 0,
			      reap ? "" : " (a zombie: exited, not yet reaped)");
	}
	sa_finish(&r, 5000 * slow);
	ck_assert_msg(at_kill >= 0, "sockaudit ended after %d samples, before the helper "
		      "was told to exit: status %d, stderr %.1000s", seen, r.status, r.ebuf);
	ck_assert_msg(exited_at, "the helper did not exit");
	ck_assert_msg(r.status == 3, "PID %s exited%s during the watch: status %d, stderr %.1000s",
		      pid, reap ? "" : " (zombie)", r.status, r.ebuf);
	ck_assert_msg(r.elen > 0 && all_lines_start_with(r.ebuf, "sockaudit: ") &&
		      count_lines_containing(r.ebuf, pid) >= 1, "stderr: %.1000s", r.ebuf);
	/* Only whole samples on stdout, and few after the exit: the first
	 * sample that finds the PID gone ends the watch. */
	if (json) {
		struct samples s;

		parse_ndjson(r.obuf, r.olen, &s, -1);
		ck_assert_msg(s.n >= at_kill && s.n <= at_kill + 6,
			      "%d samples, %d of them before the helper was told to exit",
			      s.n, at_kill);
		samples_free(&s);
	} else {
		int headers = count_lines_containing(r.obuf, "sample ");

		ck_assert_msg(r.olen && r.obuf[r.olen - 1] == '\n', "no final newline");
		ck_assert_msg(headers >= at_kill && headers <= at_kill + 6 &&
			      headers == count_totals_lines(r.obuf),
			      "%d sample headers, %d totals lines (%d before the helper was "
			      "told to exit); the last samples: %s",
			      headers, count_totals_lines(r.obuf), at_kill,
			      r.obuf + (r.olen > 1500 ? r.olen - 1500 : 0));
	}
	sa_free(&r);
	helper_stop(&ex);
}

START_TEST(test_pid_exits_json)
{
	watch_exiting_pid(true, true);
}
END_TEST

START_TEST(test_pid_exits_table)
{
	watch_exiting_pid(false, true);
}
END_TEST

/* A process that exited but whose parent has not reaped it yet (a
 * zombie) holds no descriptors any more: it has exited too.  (On
 * d18b785 the watch went on with empty samples and exited 0.) */
START_TEST(test_pid_exits_zombie)
{
	watch_exiting_pid(true, false);
}
END_TEST

/* ---- 3. UNIX and UDP leaks ---- */

/* The rate an assertion line states ("... grows 285.70 sockets/min"). */
static double stated_rate(const char *err)
{
	const char *p = strstr(err, " grows ");

	ck_assert_msg(p != NULL, "no rate in \"%s\"", err);
	return strtod(p + 7, NULL);
}

/*
 * One leak of another kind watched with --max-growth 10: helper `cli`
 * (already started, its connections read into ct) watched by its PID
 * with `kind` (-x, -u).  Status 1; one stderr line naming the group as
 * `named` at the leaker's true rate; the JSON group `key` of the last
 * sample grows as fast, and its flag `flag_rate` (NULL: none) grows as
 * fast too.  Returns nothing; frees what it made.
 */
static void max_growth_kind(struct helper *cli, struct conn_times *ct, const char *kind,
			    const char *named, const char *key, const char *flag_rate)
{
	const char *other = flag_rate && !strcmp(flag_rate, "peer_closed_per_min") ?
				    "dropping_per_min" : "peer_closed_per_min";
	struct run_result r;
	struct samples s;
	const cJSON *g, *gr;
	double rate, truth;
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", (int)cli->pid);
	{
		const char *args[] = { kind, "-j", "-p", pid, "--watch", "250ms", "--count", "8",
				       "--max-growth", "10", NULL };

		run_sockaudit_v(&r, NULL, args);
	}
	ck_assert_msg(r.status == 1, "%s", run_describe(&r));
	parse_ndjson(r.out, r.out_len, &s, 8);
	check_group_growth(&s);
	ck_assert_msg(count_lines(r.err) == 1 && !strncmp(r.err, "sockaudit: ", 11),
		      "not one stderr line: %s", run_describe(&r));
	ck_assert_msg(strstr(r.err, named), "stderr does not name the group %s: %.1000s", named,
		      r.err);
	rate = stated_rate(r.err);
	g = group_by_key(s.doc[s.n - 1], key);
	ck_assert_msg(g != NULL, "no group %s in the last sample", key);
	gr = json_object(g, "growth");
	ck_assert_msg(fabs(rate - json_num(gr, "sockets_per_min")) < 0.01,
		      "stderr says %.3f/min, the last sample %.3f/min", rate,
		      json_num(gr, "sockets_per_min"));
	read_conns(cli, ct);
	truth = true_rate(ct, s.t[0] - LEAK_MS, s.t[s.n - 1] + LEAK_MS);
	ck_assert_msg(rate > 10 && fabs(rate - truth) <= 0.25 * truth,
		      "%s: stderr rate %.3f/min, the leaker %.3f/min", key, rate, truth);
	if (flag_rate)
		ck_assert_msg(fabs(json_num(gr, flag_rate) - truth) <= 0.25 * truth,
			      "%s: %s %.3f/min, the leaker %.3f/min", key, flag_rate,
			      json_num(gr, flag_rate), truth);
	ck_assert_msg(json_num(gr, other) == 0, "%s: %s is %.3f", key, other,
		      json_num(gr, other));
	fprintf(stderr, "%s: --max-growth names \"%s\" at %.1f/min (%s %.1f/min), "
		"the leaker %.1f/min\n", kind, named, rate, flag_rate ? flag_rate : "-",
		flag_rate ? json_num(gr, flag_rate) : 0.0, truth);
	samples_free(&s);
	run_result_free(&r);
}

/*
 * A client leaking UNIX connections to a path whose server shuts down
 * each one at once (the client's ends all peer_closed): watched by the
 * client's PID with -x, --max-growth names the group by its path, with
 * the control byte in it escaped as in the table, and peer_closed grows
 * at the leaker's rate.  The table's watch columns show that rate, and
 * no DROPPING_PER_MIN without UDP.  (Before, the message read "*:0
 * (server)" and the growth had no peer_closed_per_min.)
 */
START_TEST(test_max_growth_unix)
{
	char dir[] = "/tmp/sockaudit-watch-XXXXXX", path[96], named[160], key[160];
	char iv[16], pid[16];
	struct conn_times *ct = calloc(1, sizeof(*ct));
	struct helper srv, cli;
	struct run_result r;

	ck_assert_ptr_nonnull(ct);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/leak\001.sock", dir);
	snprintf(named, sizeof(named), "unix %s/leak\\x01.sock (client)", dir);
	snprintf(key, sizeof(key), "unix client %s", path);
	snprintf(iv, sizeof(iv), "%d", LEAK_MS);
	{
		const char *sargs[] = { "unix-server", path, NULL };
		const char *cargs[] = { "unix-client", path, iv, NULL };

		helper_start(&srv, sargs);
		helper_expect(&srv, "ready");
		helper_start(&cli, cargs);
		helper_expect(&cli, "ready");
	}
	max_growth_kind(&cli, ct, "-x", named, key, "peer_closed_per_min");

	snprintf(pid, sizeof(pid), "%d", (int)cli.pid);
	{
		const char *args[] = { "-x", "-p", pid, "--watch", "250ms", "--count", "2", NULL };

		run_sockaudit_v(&r, NULL, args);
	}
	ck_assert_msg(r.status == 0 && r.err_len == 0, "%s", run_describe(&r));
	ck_assert_int_eq(count_lines_containing(r.out, "PEER_CLOSED_PER_MIN"), 2);
	ck_assert_int_eq(count_lines_containing(r.out, "DROPPING_PER_MIN"), 0);
	snprintf(named, sizeof(named), "unix %s/leak\\x01.sock ", dir);
	ck_assert_int_eq(count_lines_containing(r.out, named), 2);
	run_result_free(&r);
	helper_stop(&cli);
	helper_stop(&srv);
	unlink(path);
	rmdir(dir);
	free(ct);
}
END_TEST

/*
 * A client opening a connected UDP socket to 127.0.0.1:9 every LEAK_MS
 * (a resolver that never closes its query sockets): watched with -u,
 * --max-growth names the group "udp 127.0.0.1:9 (client)".
 */
START_TEST(test_max_growth_udp)
{
	struct conn_times *ct = calloc(1, sizeof(*ct));
	char iv[16];
	struct helper cli;

	ck_assert_ptr_nonnull(ct);
	snprintf(iv, sizeof(iv), "%d", LEAK_MS);
	{
		const char *cargs[] = { "udp-client", "9", iv, NULL };

		helper_start(&cli, cargs);
		helper_expect(&cli, "ready");
	}
	max_growth_kind(&cli, ct, "-u", "udp 127.0.0.1:9 (client)", "udp client 127.0.0.1:9",
			NULL);
	helper_stop(&cli);
	free(ct);
}
END_TEST

static Suite *watch_suite(void)
{
	Suite *s = suite_create("watch");
	TCase *tc = tcase_create("watch");

	tcase_set_timeout(tc, under_valgrind() ? 240 : 60);
	tcase_add_checked_fixture(tc, NULL, kids_cleanup);
	tcase_add_test(tc, test_json_leak_and_pool);
	tcase_add_test(tc, test_table_leak_and_pool);
	tcase_add_test(tc, test_max_growth_leaker);
	tcase_add_test(tc, test_max_growth_pool);
	tcase_add_test(tc, test_max_growth_zero_steady);
	tcase_add_test(tc, test_max_growth_unix);
	tcase_add_test(tc, test_max_growth_udp);
	tcase_add_test(tc, test_fd_pressure);
	tcase_add_test(tc, test_fd_pressure_boundary);
	tcase_add_test(tc, test_fd_growth);
	tcase_add_loop_test(tc, test_stop_signal, 0,
			    (int)(sizeof(sig_rows) / sizeof(sig_rows[0])));
	tcase_add_test(tc, test_pid_exits_json);
	tcase_add_test(tc, test_pid_exits_table);
	tcase_add_test(tc, test_pid_exits_zombie);
	suite_add_tcase(s, tc);
	/* 1,100 samples: a bound for a slow host, not a timing check (the
	 * runs inside are bounded by sa_finish). */
	tc = tcase_create("memory");
	tcase_set_timeout(tc, under_valgrind() ? 700 : 300);
	tcase_add_checked_fixture(tc, NULL, kids_cleanup);
	tcase_add_test(tc, test_memory_flat);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(watch_suite());
}
