/*
 * Big dumps: with BIGDUMP_CONNECTIONS (default 50,000) idle connections
 * on loopback, i.e. twice as many sockets, held by server/client
 * process pairs (tests/progs/bigload.c; the hard RLIMIT_NOFILE is far
 * below 100,000), each source of sockaudit (-j, whole host) must return
 * every socket:
 *
 *  - on the load's ports, the sockets equal those `ss -tan` lists just
 *    before and just after, one for one (state and both endpoints), and
 *    each has the one owner that holds it; the server and client groups
 *    count them all;
 *  - on the whole host, the count is within a small tolerance of ss's
 *    (other processes open and close sockets meanwhile);
 *  - the JSON is well formed (shape, totals, groups);
 *  - peak RSS (wait4's ru_maxrss, printed) stays below 8 MiB plus
 *    BIGDUMP_RSS_PER_SOCKET (default 2048; 0: not asserted, for ASan
 *    and valgrind, where RSS is the tool's) bytes a socket.
 *
 * Then half the pairs are killed and the same is checked again, and
 * the memory growth between the two sizes must stay under the same
 * bound per socket (it grows linearly, not quadratically) and below the
 * growth of the JSON output (the report streams; it is never held whole
 * in memory).  Times are printed, never asserted.  The load is always torn down: by the test,
 * else by bigload when its stdin closes or the test process dies.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/testlib.h"
#include "lib/runsuite.h"

#define DEFAULT_CONNECTIONS 50000
#define MAX_CONNECTIONS 1000000
#define PER_PAIR_MAX 10000
#define LOAD_TIMEOUT_MS (300 * 1000)
#define AUDIT_TIMEOUT_MS (600 * 1000)
#define RSS_SLACK_KB (8 * 1024)
#define KEY_LEN 80
#define MAX_PAIRS 256
/* Below this many sockets between the two sizes, RSS noise could
 * outweigh the output's growth. */
#define STREAM_MIN_SOCKETS 20000

/*
 * Failures inside loops over 100,000 sockets: ck_assert records a
 * checkpoint on every success, which is slow at this size.
 */
#define REQUIRE(cond, ...)                         \
	do {                                       \
		if (!(cond))                       \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)

/* ---- the load ---- */

struct load_pair {
	int port;
	pid_t server, client;
	int conns;
	bool alive;
};

struct load {
	pid_t pid;		/* bigload */
	int in, out;		/* its stdin (ours to write), its stdout */
	char buf[4096];		/* unread part of its stdout */
	size_t have;
	struct load_pair pairs[MAX_PAIRS];
	int npairs;
};

static struct load g_load = { .pid = 0, .in = -1, .out = -1 };

/* The next line bigload prints, within timeout_ms; false on EOF or
 * timeout. */
static bool load_line(struct load *l, char *line, size_t len, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;

	for (;;) {
		char *nl = memchr(l->buf, '\n', l->have);
		struct pollfd pf = { l->out, POLLIN, 0 };
		long long left;
		ssize_t n;

		if (nl) {
			size_t k = (size_t)(nl - l->buf);

			snprintf(line, len, "%.*s", (int)k, l->buf);
			l->have -= k + 1;
			memmove(l->buf, nl + 1, l->have);
			return true;
		}
		left = deadline - test_now_ms();
		if (left <= 0 || l->have == sizeof(l->buf))
			return false;
		if (poll(&pf, 1, (int)left) <= 0)
			continue;
		n = read(l->out, l->buf + l->have, sizeof(l->buf) - l->have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		l->have += (size_t)n;
	}
}

/* Stop the load: end of file on its stdin makes bigload kill every
 * process by PID and reap it; then bigload is reaped (killed after
 * 60 s, which leaves its processes to PR_SET_PDEATHSIG). */
static void load_stop(void)
{
	struct load *l = &g_load;
	long long deadline = test_now_ms() + 60000;

	if (l->pid <= 0)
		return;
	if (l->in >= 0)
		close(l->in);
	for (;;) {
		pid_t w = waitpid(l->pid, NULL, WNOHANG);

		if (w == l->pid || (w < 0 && errno != EINTR))
			break;
		if (test_now_ms() > deadline) {
			kill(l->pid, SIGKILL);
			waitpid(l->pid, NULL, 0);
			break;
		}
		usleep(20000);
	}
	if (l->out >= 0)
		close(l->out);
	l->pid = 0;
	l->in = l->out = -1;
}

/* Start bigload with n connections and wait until they are all up. */
static void load_start(int n)
{
	struct load *l = &g_load;
	char prog[4096], nbuf[24], cbuf[24], line[256];
	int in[2], out[2], pairs = (n + PER_PAIR_MAX - 1) / PER_PAIR_MAX, ready = 0;
	pid_t self = getpid();

	/* At least two pairs, so that half the load can be dropped. */
	if (pairs < 2)
		pairs = 2;
	snprintf(prog, sizeof(prog), "%s/bigload", test_env_dir("TEST_PROGS", "build/tests/progs"));
	snprintf(nbuf, sizeof(nbuf), "%d", n);
	snprintf(cbuf, sizeof(cbuf), "%d", (n + pairs - 1) / pairs);
	ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	l->pid = fork();
	ck_assert_int_ge(l->pid, 0);
	if (l->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != self)
			_exit(127);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		execl(prog, prog, "-n", nbuf, "-c", cbuf, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	l->in = in[1];
	l->out = out[0];
	l->have = 0;
	l->npairs = 0;
	while (!ready) {
		struct load_pair p;
		int i, np, nc;

		ck_assert_msg(load_line(l, line, sizeof(line), LOAD_TIMEOUT_MS),
			      "bigload -n %d did not bring the load up (its stderr above)", n);
		if (sscanf(line, "PAIR %d %d %d %d %d", &i, &p.port, &p.server, &p.client,
			   &p.conns) == 5) {
			ck_assert_msg(i == l->npairs && i < MAX_PAIRS, "bigload: %s", line);
			p.alive = true;
			l->pairs[l->npairs++] = p;
		} else if (sscanf(line, "READY %d %d", &np, &nc) == 2) {
			ck_assert_msg(np == l->npairs && nc == n, "bigload: %s", line);
			ready = 1;
		} else {
			ck_abort_msg("bigload printed '%s'", line);
		}
	}
}

/* Kill pair i (bigload kills both processes by PID and reaps them). */
static void load_drop(int i)
{
	struct load *l = &g_load;
	char cmd[32], line[64], want[32];
	int len = snprintf(cmd, sizeof(cmd), "drop %d\n", i);

	ck_assert_int_eq(write(l->in, cmd, (size_t)len), len);
	snprintf(want, sizeof(want), "DROPPED %d", i);
	ck_assert_msg(load_line(l, line, sizeof(line), 60000) && !strcmp(line, want),
		      "bigload did not drop pair %d", i);
	l->pairs[i].alive = false;
}

/* The pair whose listener is 127.0.0.1:port, or -1. */
/* The pair whose port is addr:port, or -1.  TIME-WAIT sockets are never
 * the load's: one left by an earlier test may name a port that a pair
 * has reused since. */
static int load_pair_of(const struct load *l, const char *state, const char *addr,
			int port)
{
	if (strcmp(addr, "127.0.0.1") || !strcmp(state, "time_wait"))
		return -1;
	for (int i = 0; i < l->npairs; i++)
		if (l->pairs[i].alive && l->pairs[i].port == port)
			return i;
	return -1;
}

/* Connections and sockets of the live pairs. */
static long load_conns(const struct load *l)
{
	long n = 0;

	for (int i = 0; i < l->npairs; i++)
		if (l->pairs[i].alive)
			n += l->pairs[i].conns;
	return n;
}

static long load_sockets(const struct load *l)
{
	long n = 0;

	for (int i = 0; i < l->npairs; i++)
		if (l->pairs[i].alive)
			n += 2L * l->pairs[i].conns + 1;
	return n;
}

/* ---- socket keys ---- */

struct keys {
	char (*k)[KEY_LEN];
	size_t n, cap;
};

static void keys_add(struct keys *ks, const char *state, const char *laddr, int lport,
		     const char *raddr, int rport)
{
	if (ks->n == ks->cap) {
		ks->cap = ks->cap ? 2 * ks->cap : 1024;
		ks->k = realloc(ks->k, ks->cap * sizeof(*ks->k));
		REQUIRE(ks->k != NULL, "out of memory");
	}
	snprintf(ks->k[ks->n++], KEY_LEN, "%s %s:%d %s:%d", state, laddr, lport, raddr,
		 rport);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void keys_sort(struct keys *ks)
{
	qsort(ks->k, ks->n, sizeof(*ks->k), cmp_key);
}

/* NULL when equal (both sorted), else what differs (static buffer). */
static const char *keys_diff(const struct keys *a, const char *aname,
			     const struct keys *b, const char *bname)
{
	static char msg[512];
	size_t i = 0, j = 0;

	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->k[i], b->k[j]);

		if (c < 0) {
			snprintf(msg, sizeof(msg), "%zu sockets in %s, %zu in %s; first "
				 "difference: '%s' only in %s", a->n, aname, b->n, bname,
				 a->k[i], aname);
			return msg;
		}
		if (c > 0) {
			snprintf(msg, sizeof(msg), "%zu sockets in %s, %zu in %s; first "
				 "difference: '%s' only in %s", a->n, aname, b->n, bname,
				 b->k[j], bname);
			return msg;
		}
		i++;
		j++;
	}
	return NULL;
}

/* ---- ss -tan ---- */

struct ss_view {
	long host;	/* every line */
	struct keys ours; /* the load's sockets */
};

static void ss_take(const struct load *l, struct ss_view *v)
{
	const char *argv[] = { "ss", "-tanH", NULL };
	struct run_result r;
	char *line, *save = NULL;

	memset(v, 0, sizeof(*v));
	ck_assert_int_eq(run_cmd(argv, NULL, AUDIT_TIMEOUT_MS, &r), 0);
	ck_assert_msg(r.status == 0, "ss -tanH: %s", run_describe(&r));
	for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct ss_entry e;

		v->host++;
		if (ss_parse_line(line, &e))
			continue;
		if (load_pair_of(l, e.state, e.laddr, e.lport) >= 0 ||
		    load_pair_of(l, e.state, e.raddr, e.rport) >= 0)
			keys_add(&v->ours, e.state, e.laddr, e.lport, e.raddr, e.rport);
	}
	keys_sort(&v->ours);
	run_result_free(&r);
}

/* ---- one audit ---- */

struct measure {
	long sockets;	/* reported, dead ones included */
	long live;	/* reported, not dead */
	long ours;	/* on the load's ports */
	long maxrss_kb;
	double cpu_s, wall_s;
	size_t out_bytes;
};

static long rss_per_socket(void)
{
	const char *s = getenv("BIGDUMP_RSS_PER_SOCKET");
	char *end;
	long v;

	if (!s || !*s)
		return 2048;
	v = strtol(s, &end, 10);
	ck_assert_msg(!*end && v >= 0, "BIGDUMP_RSS_PER_SOCKET='%s': expected bytes >= 0", s);
	return v;
}

/* The owner a socket of the load must have: the pair's server for the
 * listener and the accepted ends, its client for the others. */
static void check_owner(const struct load *l, const cJSON *s, int pair, bool server_side)
{
	const cJSON *procs = json_array(s, "processes");
	pid_t want = server_side ? l->pairs[pair].server : l->pairs[pair].client;
	const cJSON *p = cJSON_GetArrayItem(procs, 0);
	char *got;

	if (cJSON_GetArraySize(procs) == 1 && json_int(p, "pid") == want)
		return;
	got = cJSON_PrintUnformatted(s);
	ck_abort_msg("socket %s:%lld -> %s:%lld: owners are not [%d]: %s",
		     json_str(s, "local_address"), json_int(s, "local_port"),
		     json_str(s, "remote_address"), json_int(s, "remote_port"), (int)want,
		     got ? got : "?");
}

/*
 * Audit the whole host with one source and compare with ss taken just
 * before and just after.
 */
/*
 * Run argv under tests/progs/maxrss (see there why), and take its
 * report line off the end of r->err into m.
 */
static void run_measured(const char *const *args, struct run_result *r, struct measure *m)
{
	const char *argv[16];
	char prog[4096];
	char *line;
	int n = 0;

	snprintf(prog, sizeof(prog), "%s/maxrss", test_env_dir("TEST_PROGS", "build/tests/progs"));
	argv[n++] = prog;
	while (*args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	ck_assert_int_eq(run_cmd(argv, NULL, AUDIT_TIMEOUT_MS, r), 0);
	ck_assert_msg(!r->timed_out, "%s timed out: %s", argv[1], run_describe(r));
	line = r->err_len ? memrchr(r->err, '\n', r->err_len - 1) : NULL;
	line = line ? line + 1 : r->err;
	ck_assert_msg(sscanf(line, "maxrss: %ld %lf %lf", &m->maxrss_kb, &m->cpu_s,
			     &m->wall_s) == 3, "no report from maxrss: %s", run_describe(r));
	*line = '\0';
	r->err_len = (size_t)(line - r->err);
}

/* A group's sockets but those in TIME-WAIT (see load_pair_of). */
static long long group_not_time_wait(const cJSON *g)
{
	const cJSON *tw = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(g, "states"),
							    "time_wait");

	return json_int(g, "sockets") - (cJSON_IsNumber(tw) ? (long long)tw->valuedouble : 0);
}

static void audit_once(const struct load *l, const char *source, struct measure *m)
{
	const char *argv[] = { sockaudit_path(), "-j", "--source", source, NULL };
	struct ss_view before, after;
	struct keys ours = { 0 };
	struct run_result r;
	const char *diff;
	const cJSON *s;
	cJSON *doc;
	long expect = load_sockets(l), lo, hi, tol;

	memset(m, 0, sizeof(*m));

	ss_take(l, &before);
	run_measured(argv, &r, m);
	ss_take(l, &after);

	ck_assert_msg(r.status == 0, "--source %s: %s", source, run_describe(&r));
	ck_assert_msg(all_lines_start_with(r.err, "sockaudit: "), "--source %s: %s", source,
		      run_describe(&r));
	if (r.err_len)
		fprintf(stderr, "bigdump: --source %s said: %s", source, r.err);
	m->out_bytes = r.out_len;

	doc = json_report(&r);
	json_check_report_shape(doc);
	ck_assert_str_eq(json_str(doc, "source"), source);
	cJSON_ArrayForEach(s, json_array(doc, "sockets")) {
		const char *laddr, *raddr;
		int lport, rport, lp, rp;

		m->sockets++;
		/* A dead descriptor's ends may be null; ss never lists it. */
		if (json_has_flag(s, "dead"))
			continue;
		m->live++;
		laddr = json_str(s, "local_address");
		raddr = json_str(s, "remote_address");
		lport = (int)json_int(s, "local_port");
		rport = (int)json_int(s, "remote_port");
		lp = load_pair_of(l, json_str(s, "state"), laddr, lport);
		rp = load_pair_of(l, json_str(s, "state"), raddr, rport);
		if (lp < 0 && rp < 0)
			continue;
		keys_add(&ours, json_str(s, "state"), laddr, lport, raddr, rport);
		check_owner(l, s, lp >= 0 ? lp : rp, lp >= 0);
	}
	m->ours = (long)ours.n;
	keys_sort(&ours);

	/* The load's groups: listener and accepted ends, client ends. */
	for (int i = 0; i < l->npairs; i++) {
		const struct load_pair *p = &l->pairs[i];
		const cJSON *g;

		if (!p->alive)
			continue;
		g = json_group_server(doc, p->port);
		ck_assert_msg(g && group_not_time_wait(g) == p->conns + 1,
			      "--source %s: server group *:%d does not hold %d sockets", source,
			      p->port, p->conns + 1);
		g = json_group_client(doc, "127.0.0.1", p->port);
		ck_assert_msg(g && group_not_time_wait(g) == p->conns,
			      "--source %s: client group 127.0.0.1:%d does not hold %d sockets",
			      source, p->port, p->conns);
	}
	cJSON_Delete(doc);
	run_result_free(&r);

	/* The load is static: ss must see all of it, both times. */
	ck_assert_msg(before.ours.n == (size_t)expect && after.ours.n == (size_t)expect,
		      "ss lists %zu and %zu sockets on the load's ports, not %ld",
		      before.ours.n, after.ours.n, expect);
	diff = keys_diff(&ours, "sockaudit", &after.ours, "ss");
	ck_assert_msg(!diff, "--source %s: %s", source, diff);
	diff = keys_diff(&before.ours, "ss before", &after.ours, "ss after");
	ck_assert_msg(!diff, "the load changed: %s", diff);

	/* The whole host moves meanwhile: between the two ss counts, give
	 * or take 0.5% and 100. */
	lo = before.host < after.host ? before.host : after.host;
	hi = before.host > after.host ? before.host : after.host;
	tol = 100 + hi / 200;
	fprintf(stderr, "bigdump: --source %-7s %ld sockets on the load's ports (ss: %zu, %zu); "
		"host %ld live + %ld dead (ss: %ld, %ld)\n", source, m->ours, before.ours.n,
		after.ours.n, m->live, m->sockets - m->live, before.host, after.host);
	ck_assert_msg(m->live >= lo - tol && m->live <= hi + tol,
		      "--source %s: %ld live sockets on the host, ss: %ld and %ld (tolerance %ld)",
		      source, m->live, before.host, after.host, tol);
	fprintf(stderr, "bigdump: --source %-7s peak RSS %.1f MiB (%.0f B/socket), "
		"%.1f MiB of JSON, %.2f s CPU, %.2f s wall\n", source,
		(double)m->maxrss_kb / 1024, 1024.0 * (double)m->maxrss_kb / (double)m->sockets,
		(double)m->out_bytes / 1048576, m->cpu_s, m->wall_s);
	if (rss_per_socket())
		ck_assert_msg(m->maxrss_kb <= RSS_SLACK_KB + rss_per_socket() * m->sockets / 1024,
			      "--source %s: peak RSS %ld KiB for %ld sockets, above %d KiB + "
			      "%ld B/socket", source, m->maxrss_kb, m->sockets, RSS_SLACK_KB,
			      rss_per_socket());
	free(before.ours.k);
	free(after.ours.k);
	free(ours.k);
}

static int connections(void)
{
	const char *s = getenv("BIGDUMP_CONNECTIONS");
	char *end;
	long v;

	if (!s || !*s)
		return DEFAULT_CONNECTIONS;
	v = strtol(s, &end, 10);
	ck_assert_msg(!*end && v >= 1 && v <= MAX_CONNECTIONS,
		      "BIGDUMP_CONNECTIONS='%s': expected 1-%d", s, MAX_CONNECTIONS);
	return (int)v;
}

static const char *const sources[] = { "netlink", "proc" };
#define NSOURCES 2

START_TEST(test_big_dump)
{
	int n = connections();
	struct measure full[NSOURCES], half[NSOURCES];
	long long t0 = test_now_ms();

	load_start(n);
	fprintf(stderr, "bigdump: %d connections (%ld sockets) in %d server/client pairs, "
		"up in %.1f s\n", n, load_sockets(&g_load), g_load.npairs,
		(double)(test_now_ms() - t0) / 1000);
	for (int k = 0; k < NSOURCES; k++)
		audit_once(&g_load, sources[k], &full[k]);

	/* Half the load: memory must shrink with it, roughly in proportion. */
	for (int i = 0; i < g_load.npairs / 2; i++)
		load_drop(i);
	fprintf(stderr, "bigdump: %ld connections left\n", load_conns(&g_load));
	for (int k = 0; k < NSOURCES; k++)
		audit_once(&g_load, sources[k], &half[k]);
	load_stop();

	for (int k = 0; k < NSOURCES; k++) {
		long dsock = full[k].sockets - half[k].sockets;
		long drss = full[k].maxrss_kb - half[k].maxrss_kb;

		fprintf(stderr, "bigdump: --source %-7s %ld -> %ld sockets: peak RSS %ld -> %ld KiB "
			"(%.0f B per extra socket), CPU %.2f -> %.2f s\n", sources[k],
			half[k].sockets, full[k].sockets, half[k].maxrss_kb, full[k].maxrss_kb,
			dsock > 0 ? 1024.0 * (double)drss / (double)dsock : 0.0, half[k].cpu_s,
			full[k].cpu_s);
		if (!rss_per_socket() || dsock <= 0)
			continue;
		ck_assert_msg(drss <= RSS_SLACK_KB / 2 + rss_per_socket() * dsock / 1024,
			      "--source %s: %ld more sockets took %ld KiB more peak RSS, "
			      "above %ld B/socket", sources[k], dsock, drss, rss_per_socket());
		/* The JSON is written as it is made: the extra sockets cost
		 * less memory than the text they add to the output. */
		if (dsock >= STREAM_MIN_SOCKETS)
			ck_assert_msg((size_t)drss * 1024 < full[k].out_bytes - half[k].out_bytes,
				      "--source %s: %ld more sockets took %ld KiB more peak RSS, "
				      "more than the %zu KiB of JSON they add: is the report "
				      "held whole in memory?", sources[k], dsock, drss,
				      (full[k].out_bytes - half[k].out_bytes) / 1024);
	}
}
END_TEST

int main(void)
{
	Suite *su = suite_create("bigdump");
	TCase *tc = tcase_create("load");
	int failed;

	/* Set-up, eight audits and sixteen ss runs; generous for ASan and
	 * valgrind, which run it with fewer connections. */
	tcase_set_timeout(tc, 1200);
	tcase_add_checked_fixture(tc, NULL, load_stop);
	tcase_add_test(tc, test_big_dump);
	suite_add_tcase(su, tc);
	failed = run_suite(su);
	return failed != 0;
}
