/*
 * Prometheus: the exposition (--format prometheus), the exporter
 * (--listen), the files in scripts/, and a real Prometheus server
 * scraping the exporter.
 *
 * Scenarios are real loopback sockets: tests/progs/leaker (a server and
 * a client with idle connections, a CLOSE-WAIT leak, many client peers)
 * and tests/lib/scenario.c (hostile process names).  The exposition is
 * read by tests/lib/prom.c, which is strict about the format, compared
 * with the JSON report of the same scenario and given to Debian's
 * `promtool check metrics`.  promtool and prometheus come with Debian's
 * prometheus package (scripts/deps.sh); where they are missing, the
 * tests that need them say SKIP on stderr and check nothing else.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "lib/exptest.h"
#include "lib/http.h"
#include "lib/prom.h"
#include "lib/promserver.h"
#include "lib/scenario.h"
#include "lib/testlib.h"
#include "lib/runsuite.h"

#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Under valgrind everything is slower: waits are generous. */
#define START_MS 30000
#define STOP_MS 20000
#define HTTP_MS 20000

/* ---- helpers ---- */

/* Whether an executable `name` is in PATH. */
static bool in_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	while (path && *path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name);
		if (access(buf, X_OK) == 0)
			return true;
		path = colon ? colon + 1 : NULL;
	}
	return false;
}

static bool have_tool(const char *name, const char *test)
{
	if (in_path(name))
		return true;
	fprintf(stderr, "SKIP %s: %s not found (Debian package prometheus; "
		"scripts/deps.sh installs it)\n", test, name);
	return false;
}

/* scripts/ of the source tree, found from tests/data. */
static const char *scripts_dir(void)
{
	static char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s/../../scripts",
		 test_env_dir("TEST_DATA", "tests/data"));
	return buf;
}

/* A running leaker (tests/progs/leaker.c). */
struct leak {
	struct bg_proc p;
	pid_t srv, cli;
	int port;
	char pids[32]; /* "srv,cli" */
};

static void leak_start(struct leak *l, const char *const args[])
{
	char path[PATH_MAX], line[128];
	const char *argv[16];
	int n = 0, s, c;

	snprintf(path, sizeof(path), "%s/leaker",
		 test_env_dir("TEST_PROGS", "build/tests/progs"));
	argv[n++] = path;
	while (args && *args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	ck_assert_int_eq(bg_start(&l->p, argv, true), 0);
	if (bg_read_line(&l->p, line, sizeof(line), 60000) ||
	    sscanf(line, "ready %d %d %d", &s, &c, &l->port) != 3) {
		char *err = bg_stderr(&l->p);

		ck_abort_msg("leaker did not start: %s", err);
	}
	l->srv = s;
	l->cli = c;
	snprintf(l->pids, sizeof(l->pids), "%d,%d", s, c);
}

static void leak_stop(struct leak *l)
{
	bg_stop(&l->p, SIGKILL, 5000);
	bg_free(&l->p);
}

/* Run `promtool check metrics` on an exposition; the test fails on any
 * complaint.  Returns false (after saying SKIP) without promtool. */
static bool promtool_check(const char *text, const char *test)
{
	char path[] = "/tmp/sockaudit-prom-XXXXXX";
	const char *argv[] = { "sh", "-c", "exec promtool check metrics < \"$1\"", "sh",
			       path, NULL };
	struct run_result r;
	int fd;

	if (!have_tool("promtool", test))
		return false;
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ck_assert_int_eq(run_cmd(argv, NULL, RUN_TIMEOUT_MS, &r), 0);
	unlink(path);
	ck_assert_msg(r.status == 0 && r.out_len == 0 && r.err_len == 0,
		      "promtool check metrics: %s\n--- exposition:\n%s",
		      run_describe(&r), text);
	run_result_free(&r);
	return true;
}

static void run_prom(struct run_result *r, const char *const args[])
{
	const char *argv[24];
	int n = 0;

	argv[n++] = "--format";
	argv[n++] = "prometheus";
	while (args && *args && n < 23)
		argv[n++] = *args++;
	argv[n] = NULL;
	run_sockaudit_v(r, NULL, argv);
	ck_assert_msg(r->status == 0, "%s", run_describe(r));
}

/* Entries of /proc/PID/fd, and how many of them are sockets. */
/* The value of a process series: it carries pid and comm, and the
 * workload labels (unit, container, pod) of wherever the test runs. */
static double proc_value(const struct prom_doc *d, const char *name,
			 const char *const labels[])
{
	return prom_count(d, name, labels) == 1 ? prom_sum(d, name, labels) : -1;
}

static void count_fds(pid_t pid, int *fds, int *sockets)
{
	char path[64], link[PATH_MAX], target[128];
	struct dirent *e;
	DIR *d;

	*fds = *sockets = 0;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		(*fds)++;
		snprintf(link, sizeof(link), "%s/%s", path, e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			*sockets += !strncmp(target, "socket:", 7);
		}
	}
	closedir(d);
}

/* A JSON group's labels in the exposition, into buf (a matcher list of
 * up to 6 entries + NULL; strings in store). */
static void group_matchers(const cJSON *g, const char *m[7], char store[2][80])
{
	const char *side = json_str(g, "side");

	m[0] = "side";
	m[1] = side;
	if (!strcmp(side, "server")) {
		snprintf(store[0], 80, "%lld", json_int(g, "local_port"));
		m[2] = "port";
	} else if (!strcmp(side, "client")) {
		const char *a = json_str(g, "remote_address");

		if (strchr(a, ':'))
			snprintf(store[0], 80, "[%s]:%lld", a, json_int(g, "remote_port"));
		else
			snprintf(store[0], 80, "%s:%lld", a, json_int(g, "remote_port"));
		m[2] = "peer";
	} else {
		snprintf(store[0], 80, "%lld", json_int(g, "pid"));
		m[2] = "pid";
	}
	m[3] = store[0];
	m[4] = NULL;
	m[5] = NULL;
	m[6] = NULL;
}

static const char *const all_states[] = {
	"established", "syn_sent", "syn_recv", "fin_wait_1", "fin_wait_2",
	"time_wait", "close", "close_wait", "last_ack", "listen", "closing",
};
#define NSTATES ((int)(sizeof(all_states) / sizeof(all_states[0])))

/*
 * One JSON group against the exposition: one sockaudit_sockets series
 * per state it has, with its count, and its flag counts.  With `gone`,
 * the group must have no series at all (folded into "other").
 */
static void check_group(const struct prom_doc *d, const cJSON *g, bool gone)
{
	const char *m[7];
	char store[2][80];
	const char *side = json_str(g, "side");
	int nstates = 0;

	group_matchers(g, m, store);
	if (gone) {
		ck_assert_msg(prom_count(d, "sockaudit_sockets", m) == 0 &&
			      prom_count(d, "sockaudit_flagged_sockets", m) == 0,
			      "group %s=%s should be folded into \"other\"", m[2], m[3]);
		return;
	}
	for (int i = 0; i < NSTATES; i++) {
		long long want = json_group_state(g, all_states[i]);

		m[4] = "state";
		m[5] = all_states[i];
		if (want)
			nstates++;
		ck_assert_msg(prom_value(d, "sockaudit_sockets", m, 0) == (double)want,
			      "%s=%s state %s: exposition %g, JSON %lld", m[2], m[3],
			      all_states[i], prom_value(d, "sockaudit_sockets", m, 0), want);
	}
	m[4] = NULL;
	ck_assert_msg(prom_count(d, "sockaudit_sockets", m) == nstates,
		      "%s=%s: %d state series, JSON has %d states", m[2], m[3],
		      prom_count(d, "sockaudit_sockets", m), nstates);
	m[4] = "flag";
	if (!strcmp(side, "process")) {
		m[5] = "dead";
		ck_assert(prom_value(d, "sockaudit_flagged_sockets", m, -1) ==
			  (double)json_int(g, "dead"));
		return;
	}
	static const char *const flags[] = { "close_wait", "idle", "stalled" };
	for (int i = 0; i < 3; i++) {
		m[5] = flags[i];
		ck_assert_msg(prom_value(d, "sockaudit_flagged_sockets", m, -1) ==
			      (double)json_int(g, flags[i]),
			      "%s=%s flag %s: exposition %g, JSON %lld", m[2], m[3], flags[i],
			      prom_value(d, "sockaudit_flagged_sockets", m, -1),
			      json_int(g, flags[i]));
	}
}

/* Every group of the JSON report, one by one, and the totals. */
static void check_all_groups(const struct prom_doc *d, const cJSON *doc)
{
	const cJSON *g, *totals = json_object(doc, "totals");
	static const char *const flags[] = { "close_wait", "idle", "stalled", "dead" };

	cJSON_ArrayForEach(g, json_array(doc, "groups"))
		check_group(d, g, false);
	ck_assert_msg(prom_sum(d, "sockaudit_sockets", NULL) ==
		      (double)json_int(totals, "sockets"),
		      "sum of sockaudit_sockets %g, JSON totals %lld",
		      prom_sum(d, "sockaudit_sockets", NULL), json_int(totals, "sockets"));
	for (int i = 0; i < 4; i++) {
		const char *m[] = { "flag", flags[i], NULL };

		ck_assert(prom_sum(d, "sockaudit_flagged_sockets", m) ==
			  (double)json_int(totals, flags[i]));
	}
}

static const char *const families[] = {
	"sockaudit_sockets", "sockaudit_flagged_sockets", "sockaudit_folded_peers",
	"sockaudit_process_sockets", "sockaudit_process_open_fds",
	"sockaudit_process_socket_fds", "sockaudit_process_fd_limit",
	"sockaudit_idle_threshold_seconds", "sockaudit_dump_inconsistent",
	"sockaudit_scrape_duration_seconds", "sockaudit_source_info",
};

/* ---- the exposition ---- */

/*
 * A server with a listener, 3 idle connections and 2 connections its
 * clients hung up (CLOSE-WAIT), the client holding the 3 idle ones: the
 * exposition says what the JSON report says, group by group, and what
 * the scenario is; the process series say what /proc says.
 */
START_TEST(test_exposition_matches_json)
{
	struct leak l;
	struct run_result jr, pr;
	struct prom_doc d;
	cJSON *doc;
	char port[16], peer[32], spid[16], cpid[16];
	int fds, sfds;

	leak_start(&l, (const char *const[]){ "-i", "3", "-w", "2", "-l", "1000", NULL });
	sleep_ms(1500); /* idle past the 1s threshold */
	run_sockaudit(&jr, NULL, "-j", "--idle", "1s", "--pid", l.pids, NULL);
	ck_assert_msg(jr.status == 0 && jr.err_len == 0, "%s", run_describe(&jr));
	run_prom(&pr, (const char *const[]){ "--idle", "1s", "--pid", l.pids, NULL });
	ck_assert_msg(pr.err_len == 0, "%s", run_describe(&pr));
	doc = json_report(&jr);
	prom_parse_or_fail(pr.out, &d);

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		ck_assert_msg(prom_has_family(&d, families[i]), "no HELP/TYPE for %s",
			      families[i]);
	check_all_groups(&d, doc);

	/* The scenario itself, so that agreeing on nothing cannot pass. */
	snprintf(port, sizeof(port), "%d", l.port);
	snprintf(peer, sizeof(peer), "127.0.0.1:%d", l.port);
#define SRV(...) ((const char *const[]){ "side", "server", "port", port, __VA_ARGS__, NULL })
#define CLI(...) ((const char *const[]){ "side", "client", "peer", peer, __VA_ARGS__, NULL })
	ck_assert(prom_value(&d, "sockaudit_sockets", SRV("state", "listen"), -1) == 1);
	ck_assert(prom_value(&d, "sockaudit_sockets", SRV("state", "established"), -1) == 3);
	ck_assert(prom_value(&d, "sockaudit_sockets", SRV("state", "close_wait"), -1) == 2);
	ck_assert(prom_value(&d, "sockaudit_flagged_sockets", SRV("flag", "close_wait"), -1) == 2);
	ck_assert(prom_value(&d, "sockaudit_flagged_sockets", SRV("flag", "idle"), -1) == 3);
	ck_assert(prom_value(&d, "sockaudit_flagged_sockets", SRV("flag", "stalled"), -1) == 0);
	ck_assert(prom_value(&d, "sockaudit_sockets", CLI("state", "established"), -1) == 3);
	ck_assert(prom_value(&d, "sockaudit_flagged_sockets", CLI("flag", "idle"), -1) == 3);
	ck_assert(prom_value(&d, "sockaudit_flagged_sockets", CLI("flag", "close_wait"), -1) == 0);
	ck_assert_int_eq(prom_count(&d, "sockaudit_sockets", NULL), 4);

	/* Processes, against /proc. */
	snprintf(spid, sizeof(spid), "%d", (int)l.srv);
	snprintf(cpid, sizeof(cpid), "%d", (int)l.cli);
#define PROC(pid, comm) ((const char *const[]){ "pid", pid, "comm", comm, NULL })
	ck_assert(proc_value(&d, "sockaudit_process_sockets", PROC(spid, "leak-srv")) == 6);
	ck_assert(proc_value(&d, "sockaudit_process_sockets", PROC(cpid, "leak-cli")) == 3);
	count_fds(l.srv, &fds, &sfds);
	ck_assert(proc_value(&d, "sockaudit_process_open_fds", PROC(spid, "leak-srv")) == fds);
	ck_assert(proc_value(&d, "sockaudit_process_socket_fds", PROC(spid, "leak-srv")) == sfds);
	ck_assert_int_eq(sfds, 6);
	count_fds(l.cli, &fds, &sfds);
	ck_assert(proc_value(&d, "sockaudit_process_open_fds", PROC(cpid, "leak-cli")) == fds);
	ck_assert(proc_value(&d, "sockaudit_process_socket_fds", PROC(cpid, "leak-cli")) == sfds);
	ck_assert(proc_value(&d, "sockaudit_process_fd_limit", PROC(spid, "leak-srv")) == 1000);
	ck_assert(proc_value(&d, "sockaudit_process_fd_limit", PROC(cpid, "leak-cli")) == 1000);
	ck_assert_int_eq(prom_count(&d, "sockaudit_process_sockets", NULL), 2);

	ck_assert(prom_value(&d, "sockaudit_source_info",
			     (const char *const[]){ "source", auto_source(), NULL }, -1) == 1);
	ck_assert(prom_value(&d, "sockaudit_idle_threshold_seconds", NULL, -1) == 1);
	ck_assert(prom_value(&d, "sockaudit_folded_peers", NULL, -1) == 0);
	ck_assert(prom_value(&d, "sockaudit_scrape_duration_seconds", NULL, -1) > 0);
	ck_assert(prom_value(&d, "sockaudit_scrape_duration_seconds", NULL, -1) < 20);

	promtool_check(pr.out, "test_exposition_matches_json");
	fprintf(stderr, "--- exposition of a host with a leak (test_exposition_matches_json):\n%s",
		pr.out);
	prom_free(&d);
	cJSON_Delete(doc);
	run_result_free(&jr);
	run_result_free(&pr);
	leak_stop(&l);
}
END_TEST

/* The limit is the process's own soft RLIMIT_NOFILE.  (It cannot be
 * unlimited on Linux, nr_open caps it: the unit test covers the series
 * left out for an unlimited one.) */
START_TEST(test_fd_limit_is_the_soft_limit)
{
	struct leak l;
	struct run_result pr;
	struct prom_doc d;
	char spid[16];

	leak_start(&l, (const char *const[]){ "-w", "1", "-l", "777", NULL });
	run_prom(&pr, (const char *const[]){ "--pid", l.pids, NULL });
	prom_parse_or_fail(pr.out, &d);
	snprintf(spid, sizeof(spid), "%d", (int)l.srv);
	ck_assert(proc_value(&d, "sockaudit_process_fd_limit",
			     (const char *const[]){ "pid", spid, "comm", "leak-srv", NULL })
		  == 777);
	prom_free(&d);
	run_result_free(&pr);
	leak_stop(&l);
}
END_TEST

/* Process names are untrusted: the comm label carries the name as the
 * table prints it (\xhh for control characters and stray bytes), so
 * the exposition is valid UTF-8 with no control character in it. */
START_TEST(test_hostile_names)
{
	static const struct {
		const char *tag, *label;
	} rows[] = {
		/* quote, ESC, newline, backslash, a byte that is not UTF-8 */
		{ "q\"\x1b\n\\\xff", "q\"\\x1b\\x0a\\\\\\xff-srv" },
		/* a C1 control (CSI), then valid UTF-8 that stays */
		{ "c\xc2\x9b\xc3\xa9", "c\\xc2\\x9b\xc3\xa9-srv" },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct scenario sc;
		struct run_result r;
		struct prom_doc d;
		char pid[16];
		const struct prom_sample *s = NULL;

		scenario_start(&sc, SCEN_IDLE, AF_INET, rows[i].tag);
		snprintf(pid, sizeof(pid), "%d", (int)sc.pids[PROC_SERVER]);
		run_prom(&r, (const char *const[]){ "--pid", pid, NULL });
		for (size_t k = 0; k < r.out_len; k++) {
			unsigned char c = (unsigned char)r.out[k];

			ck_assert_msg((c >= 0x20 || c == '\n') && c != 0x7f,
				      "control byte %#x in the exposition", c);
		}
		ck_assert_msg(strstr(r.out, "\xc2\x9b") == NULL, "raw C1 character");
		prom_parse_or_fail(r.out, &d);
		for (int k = 0; k < d.n && !s; k++)
			if (!strcmp(d.samples[k].name, "sockaudit_process_sockets") &&
			    !strcmp(prom_label(&d.samples[k], "pid"), pid))
				s = &d.samples[k];
		ck_assert_msg(s != NULL, "no sockaudit_process_sockets for %s:\n%s", pid, r.out);
		ck_assert_str_eq(prom_label(s, "comm"), rows[i].label);
		ck_assert(s->value == 2);
		promtool_check(r.out, "test_hostile_names");
		prom_free(&d);
		run_result_free(&r);
		scenario_stop(&sc);
	}
}
END_TEST

/*
 * 60 client peers (127.0.0.2 ... 127.0.0.61, 1 + i % 3 connections to
 * the i-th, every fourth with one in CLOSE-WAIT) and --max-peers 50: 50
 * peers keep their series -- the first 50 client groups of the JSON
 * report, most suspicious first, so every peer with a CLOSE-WAIT is
 * among them -- and the other 10 are summed into peer="other".
 */
START_TEST(test_peer_folding)
{
	static const struct {
		const char *max;
		int kept;
	} rows[] = { { "50", 50 }, { "100", 60 }, { "0", 0 }, { "59", 59 } };
	struct leak l;
	struct run_result jr;
	char cpid[16];
	cJSON *doc;

	leak_start(&l, (const char *const[]){ "-P", "60", NULL });
	snprintf(cpid, sizeof(cpid), "%d", (int)l.cli);
	run_sockaudit(&jr, NULL, "-j", "--pid", cpid, NULL);
	ck_assert_msg(jr.status == 0, "%s", run_describe(&jr));
	doc = json_report(&jr);
	ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "groups")), 60);
	ck_assert_int_eq(json_int(json_object(doc, "totals"), "sockets"), 120);
	ck_assert_int_eq(json_int(json_object(doc, "totals"), "close_wait"), 15);

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct run_result pr;
		struct prom_doc d;
		const cJSON *g;
		long long other[NSTATES] = { 0 }, other_cw = 0, other_idle = 0;
		int k = 0, folded = 60 - rows[i].kept;
		const char *om[] = { "side", "client", "peer", "other", NULL, NULL, NULL };

		run_prom(&pr, (const char *const[]){ "--pid", cpid, "--max-peers",
						     rows[i].max, NULL });
		prom_parse_or_fail(pr.out, &d);
		ck_assert_msg(prom_distinct(&d, "sockaudit_sockets", "peer") ==
			      rows[i].kept + (folded ? 1 : 0),
			      "--max-peers %s: %d peer values", rows[i].max,
			      prom_distinct(&d, "sockaudit_sockets", "peer"));
		ck_assert(prom_value(&d, "sockaudit_folded_peers", NULL, -1) == folded);
		cJSON_ArrayForEach(g, json_array(doc, "groups")) {
			bool gone = k++ >= rows[i].kept;

			check_group(&d, g, gone);
			if (!gone)
				continue;
			for (int s = 0; s < NSTATES; s++)
				other[s] += json_group_state(g, all_states[s]);
			other_cw += json_int(g, "close_wait");
			other_idle += json_int(g, "idle");
		}
		for (int s = 0; s < NSTATES; s++) {
			om[4] = "state";
			om[5] = all_states[s];
			ck_assert_msg(prom_value(&d, "sockaudit_sockets", om, 0) == other[s],
				      "--max-peers %s: other %s %g, want %lld", rows[i].max,
				      all_states[s], prom_value(&d, "sockaudit_sockets", om, 0),
				      other[s]);
		}
		om[4] = "flag";
		om[5] = "close_wait";
		ck_assert(prom_value(&d, "sockaudit_flagged_sockets", om, 0) == other_cw);
		om[5] = "idle";
		ck_assert(prom_value(&d, "sockaudit_flagged_sockets", om, 0) == other_idle);
		/* The CLOSE-WAIT peers rank first: folded only when fewer
		 * than 15 peers are kept. */
		if (rows[i].kept >= 15)
			ck_assert(other_cw == 0);
		ck_assert(prom_sum(&d, "sockaudit_sockets", NULL) == 120);
		promtool_check(pr.out, "test_peer_folding");
		prom_free(&d);
		run_result_free(&pr);
	}
	cJSON_Delete(doc);
	run_result_free(&jr);
	leak_stop(&l);
}
END_TEST

/* ---- the exporter ---- */

/* Start `[env ENV...] sockaudit --listen 127.0.0.1:PORT extra...` on a
 * free port and wait until it accepts connections. */
static void exporter_start_env(struct bg_proc *p, int *port, const char *const env[],
			       const char *const extra[])
{
	const char *pre[10] = { "env" };
	int n = 1;

	while (env && *env && n < 9)
		pre[n++] = *env++;
	exptest_start(p, port, env ? pre : NULL, extra);
}

static void exporter_start(struct bg_proc *p, int *port, const char *const extra[])
{
	exporter_start_env(p, port, NULL, extra);
}

static void exporter_stop_ok(struct bg_proc *p, int sig)
{
	int status = bg_stop(p, sig, STOP_MS);
	char *err = bg_stderr(p);

	ck_assert_msg(status == 0, "exporter stopped by signal %d: status %d; stderr: %s",
		      sig, status, err);
	free(err);
}

static void expect_status(int port, const char *method, const char *path, int status,
			  struct http_resp *r)
{
	int rc = http_request("127.0.0.1", port, method, path, HTTP_MS, r);

	ck_assert_msg(rc == 0, "%s %s: %s", method, path, strerror(-rc));
	ck_assert_msg(r->status == status, "%s %s: status %d, want %d:\n%s%s", method,
		      path, r->status, status, r->head, r->body);
}

START_TEST(test_exporter_routes)
{
	struct leak l;
	struct bg_proc e;
	struct http_resp r;
	struct prom_doc d;
	char buf[128], port[16];
	char *err;
	int eport;

	leak_start(&l, (const char *const[]){ "-i", "2", "-w", "1", NULL });
	snprintf(port, sizeof(port), "%d", l.port);
	exporter_start(&e, &eport, (const char *const[]){ "--pid", l.pids, NULL });

	expect_status(eport, "GET", "/metrics", 200, &r);
	ck_assert_str_eq(http_header(&r, "Content-Type", buf, sizeof(buf)), METRICS_TYPE);
	prom_parse_or_fail(r.body, &d);
	ck_assert(prom_value(&d, "sockaudit_flagged_sockets",
			     (const char *const[]){ "side", "server", "port", port, "flag",
						    "close_wait", NULL }, -1) == 1);
	ck_assert(prom_value(&d, "sockaudit_sockets",
			     (const char *const[]){ "side", "server", "port", port, "state",
						    "established", NULL }, -1) == 2);
	promtool_check(r.body, "test_exporter_routes");
	prom_free(&d);
	http_free(&r);

	expect_status(eport, "HEAD", "/metrics", 200, &r);
	ck_assert_uint_eq(r.body_len, 0);
	http_free(&r);
	expect_status(eport, "GET", "/metrics?debug=1", 200, &r);
	ck_assert_ptr_nonnull(strstr(r.body, "# TYPE sockaudit_sockets gauge\n"));
	http_free(&r);

	expect_status(eport, "GET", "/", 200, &r);
	ck_assert_str_eq(http_header(&r, "Content-Type", buf, sizeof(buf)),
			 "text/html; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(r.body, "<a href=\"/metrics\">"));
	http_free(&r);

	expect_status(eport, "GET", "/nope", 404, &r);
	ck_assert_uint_gt(r.body_len, 0);
	http_free(&r);
	expect_status(eport, "GET", "/metrics/", 404, &r);
	http_free(&r);

	expect_status(eport, "POST", "/metrics", 405, &r);
	ck_assert_str_eq(http_header(&r, "Allow", buf, sizeof(buf)), "GET, HEAD");
	http_free(&r);
	expect_status(eport, "DELETE", "/", 405, &r);
	ck_assert_str_eq(http_header(&r, "Allow", buf, sizeof(buf)), "GET, HEAD");
	http_free(&r);

	/* One line per error, none for the answers that were fine. */
	err = bg_stderr(&e);
	ck_assert_msg(count_lines(err) == 4 && all_lines_start_with(err, "sockaudit: "),
		      "stderr: %s", err);
	ck_assert_int_eq(count_lines_containing(err, " 404 "), 2);
	ck_assert_int_eq(count_lines_containing(err, " 405 "), 2);
	ck_assert_int_eq(count_lines_containing(err, "DELETE /"), 1);
	free(err);
	exporter_stop_ok(&e, SIGTERM);
	bg_free(&e);
	leak_stop(&l);
}
END_TEST

/* Concurrent scrapes: every one answered in full and well formed. */
struct scraper {
	int port;
	int ok, bad;
	char why[256];
};

static void *scrape_loop(void *arg)
{
	struct scraper *s = arg;

	for (int i = 0; i < 4; i++) {
		struct http_resp r;
		struct prom_doc d;
		char err[256];
		int rc = http_request("127.0.0.1", s->port, "GET", i == 2 ? "/" : "/metrics",
				      HTTP_MS, &r);

		if (rc || r.status != 200) {
			snprintf(s->why, sizeof(s->why), "rc %d status %d", rc, r.status);
			s->bad++;
		} else if (i != 2 && prom_parse(r.body, &d, err, sizeof(err))) {
			snprintf(s->why, sizeof(s->why), "%s", err);
			s->bad++;
			prom_free(&d);
		} else {
			if (i != 2)
				prom_free(&d);
			s->ok++;
		}
		http_free(&r);
	}
	return NULL;
}

START_TEST(test_exporter_concurrent)
{
	enum { N = 8 };
	struct leak l;
	struct bg_proc e;
	struct scraper s[N];
	pthread_t th[N];
	char *err;
	int eport, ok = 0;

	leak_start(&l, (const char *const[]){ "-i", "5", "-w", "3", NULL });
	exporter_start(&e, &eport, (const char *const[]){ "--pid", l.pids, NULL });
	for (int i = 0; i < N; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].port = eport;
		ck_assert_int_eq(pthread_create(&th[i], NULL, scrape_loop, &s[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(s[i].bad == 0, "scraper %d: %s", i, s[i].why);
		ok += s[i].ok;
	}
	ck_assert_int_eq(ok, N * 4);
	err = bg_stderr(&e);
	ck_assert_msg(*err == '\0', "stderr: %s", err);
	free(err);
	exporter_stop_ok(&e, SIGTERM);
	bg_free(&e);
	leak_stop(&l);
}
END_TEST

/* Oversized requests are refused without harm; bodies are not read. */
START_TEST(test_exporter_oversized)
{
	struct bg_proc e;
	struct http_resp r;
	size_t big = 64 * 1024, n;
	char *req = malloc(2 * 1024 * 1024), buf[64];
	long long t0;
	char *err;
	int eport;

	ck_assert_ptr_nonnull(req);
	exporter_start(&e, &eport, (const char *const[]){ "-P", "1", NULL });

	/* A 64 KiB header. */
	n = (size_t)sprintf(req, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + n, 'a', big);
	n += big;
	n += (size_t)sprintf(req + n, "\r\n\r\n");
	ck_assert_int_eq(http_raw("127.0.0.1", eport, req, n, HTTP_MS, &r), 0);
	ck_assert_msg(r.status >= 400 && r.status < 500, "64 KiB header: status %d", r.status);
	ck_assert(r.closed || (http_header(&r, "Connection", buf, sizeof(buf)) &&
			       !strcmp(buf, "close")));
	http_free(&r);

	/* A 40 KiB URL. */
	n = (size_t)sprintf(req, "GET /");
	memset(req + n, 'u', 40 * 1024);
	n += 40 * 1024;
	n += (size_t)sprintf(req + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_int_eq(http_raw("127.0.0.1", eport, req, n, HTTP_MS, &r), 0);
	ck_assert_msg(r.status >= 400 && r.status < 500, "40 KiB URL: status %d", r.status);
	http_free(&r);

	/* A 1 MiB body on POST: 405 at once, the body never read. */
	t0 = test_now_ms();
	n = (size_t)sprintf(req, "POST /metrics HTTP/1.1\r\nHost: x\r\n"
			    "Content-Length: %d\r\n\r\n", 1024 * 1024);
	memset(req + n, 'b', 1024 * 1024);
	n += 1024 * 1024;
	ck_assert_int_eq(http_raw("127.0.0.1", eport, req, n, HTTP_MS, &r), 0);
	ck_assert_int_eq(r.status, 405);
	ck_assert(r.closed || (http_header(&r, "Connection", buf, sizeof(buf)) &&
			       !strcmp(buf, "close")));
	ck_assert_int_lt(test_now_ms() - t0, 10000);
	http_free(&r);

	/* A GET that announces a body it never sends: answered from the
	 * headers, not left waiting for the body. */
	n = (size_t)sprintf(req, "GET /metrics HTTP/1.1\r\nHost: x\r\n"
			    "Content-Length: 100000\r\n\r\nabc");
	ck_assert_int_eq(http_raw("127.0.0.1", eport, req, n, HTTP_MS, &r), 0);
	ck_assert_int_eq(r.status, 200);
	http_free(&r);

	/* Garbage instead of HTTP. */
	n = (size_t)sprintf(req, "\x16\x03\x01 not http at all\r\n\r\n");
	ck_assert_int_eq(http_raw("127.0.0.1", eport, req, n, HTTP_MS, &r), 0);
	ck_assert_msg(r.status == 0 || (r.status >= 400 && r.status < 500),
		      "garbage: status %d", r.status);
	http_free(&r);

	/* Still serving. */
	expect_status(eport, "GET", "/metrics", 200, &r);
	http_free(&r);
	err = bg_stderr(&e);
	/* The 431 and 414 are one kind of libmicrohttpd message: logged
	 * once a minute (a flood of them is one line). */
	ck_assert_msg(all_lines_start_with(err, "sockaudit: ") && count_lines(err) >= 2,
		      "stderr: %s", err);
	ck_assert_msg(strchr(err, '\x16') == NULL, "raw client bytes in the log: %s", err);
	free(err);
	free(req);
	exporter_stop_ok(&e, SIGTERM);
	bg_free(&e);
}
END_TEST

/* A connection that sends half a request is closed after the timeout
 * (10 s of silence), and does not hold the exporter. */
START_TEST(test_exporter_timeout)
{
	struct bg_proc e;
	struct http_resp r;
	const char half[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
	long long t0;
	int eport;

	exporter_start(&e, &eport, (const char *const[]){ "-P", "1", NULL });
	t0 = test_now_ms();
	ck_assert_int_eq(http_raw("127.0.0.1", eport, half, sizeof(half) - 1, 30000, &r), 0);
	ck_assert_msg(r.closed && r.status != 200, "status %d", r.status);
	ck_assert_int_ge(test_now_ms() - t0, 8000);
	ck_assert_int_lt(test_now_ms() - t0, 25000);
	http_free(&r);
	expect_status(eport, "GET", "/", 200, &r);
	http_free(&r);
	exporter_stop_ok(&e, SIGTERM);
	bg_free(&e);
}
END_TEST

/* SIGTERM and SIGINT stop it with status 0, also with a connection open. */
START_TEST(test_exporter_signals)
{
	static const int sigs[] = { SIGTERM, SIGINT };

	for (int i = 0; i < 2; i++) {
		struct bg_proc e;
		struct sockaddr_in a = { .sin_family = AF_INET };
		struct http_resp r;
		int eport, fd;
		char *err;

		exporter_start(&e, &eport, (const char *const[]){ "-P", "1", NULL });
		expect_status(eport, "GET", "/metrics", 200, &r);
		http_free(&r);
		/* An idle connection that says nothing. */
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = htons((uint16_t)eport);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
		sleep_ms(100);
		exporter_stop_ok(&e, sigs[i]);
		err = bg_stderr(&e);
		ck_assert_msg(*err == '\0', "stderr: %s", err);
		free(err);
		close(fd);
		ck_assert(!port_open("127.0.0.1", eport));
		bg_free(&e);
	}
}
END_TEST

/* SIGTERM while an audit runs and more scrapes wait for it: the audit
 * running finishes and is answered (200), the waiting ones get 503 at
 * once instead of each running an audit before the exit.  (On 401afc7
 * all four got 200 after four audits; on e29ee76 the running one was
 * closed unanswered.)  Audits are made slow with a shim. */
struct one_scrape {
	int port;
	int rc, status;
	char body[64];
};

static void *scrape_once(void *arg)
{
	struct one_scrape *s = arg;
	struct http_resp r;

	s->rc = http_request("127.0.0.1", s->port, "GET", "/metrics", HTTP_MS, &r);
	if (!s->rc) {
		s->status = r.status;
		snprintf(s->body, sizeof(s->body), "%s", r.body ? r.body : "");
		http_free(&r);
	}
	return NULL;
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (long)st.st_size;
}

/* The threads that dumped (slow_audit.c marks), but `but`: how many. */
static int audit_threads(const char *path, long but)
{
	long tids[64];
	int n = 0;
	long t;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fscanf(f, "%ld", &t) == 1) {
		bool seen = t == but;

		for (int i = 0; i < n && !seen; i++)
			seen = tids[i] == t;
		if (!seen && n < 64)
			tids[n++] = t;
	}
	fclose(f);
	return n;
}

static long first_mark(const char *path)
{
	long t = -1;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%ld", &t) != 1)
			t = -1;
		fclose(f);
	}
	return t;
}

START_TEST(test_exporter_stop_drains)
{
	enum { N = 4, DELAY_MS = 3000 };
	const char *shims = test_env_dir("TEST_SHIMS", "build/tests/shim");
	const char *old = getenv("ASAN_OPTIONS");
	char preload[4200], asan[4200], mark[64], markenv[96], delay[64];
	struct one_scrape s[N];
	pthread_t th[N];
	struct bg_proc e;
	long long deadline;
	long audits_before, main_tid;
	int eport, ok = 0, stopping = 0, status, late_rc;
	struct http_resp late;
	char *err;

	snprintf(mark, sizeof(mark), "/tmp/sockaudit-test-audits.%d", (int)getpid());
	unlink(mark);
	snprintf(markenv, sizeof(markenv), "SHIM_AUDIT_MARK=%s", mark);
	snprintf(delay, sizeof(delay), "SHIM_AUDIT_DELAY_MS=%d", DELAY_MS);
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s/slow_audit.so", shims);
	/* Under ASan its runtime must come first, which a preload breaks. */
	snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
		 old ? old : "", old && *old ? ":" : "");
	exporter_start_env(&e, &eport,
			   (const char *const[]){ preload, asan, markenv, delay, NULL },
			   (const char *const[]){ "-P", "1", NULL });
	/* The start-up audit has run, on the main thread. */
	audits_before = file_size(mark);
	ck_assert_int_ge(audits_before, 1);
	main_tid = first_mark(mark);

	for (int i = 0; i < N; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].port = eport;
		ck_assert_int_eq(pthread_create(&th[i], NULL, scrape_once, &s[i]), 0);
		if (i == 0) {
			/* The first scrape's audit has begun (its dump sleeps). */
			deadline = test_now_ms() + START_MS;
			while (file_size(mark) == audits_before) {
				ck_assert_msg(test_now_ms() < deadline, "no audit began");
				sleep_ms(10);
			}
		}
	}
	/* Time for the others to reach the audit lock, well inside the
	 * first audit's sleep. */
	sleep_ms(DELAY_MS / 3);
	ck_assert_int_eq(kill(e.pid, SIGTERM), 0);
	/* Stopping: a new connection is not served (refused, or closed
	 * unanswered), even while the audit runs on. */
	sleep_ms(DELAY_MS / 3);
	late_rc = http_request("127.0.0.1", eport, "GET", "/metrics", HTTP_MS, &late);
	if (!late_rc) {
		ck_assert_msg(late.status == 0, "a scrape after SIGTERM: status %d: %s",
			      late.status, late.body);
		http_free(&late);
	}
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	status = bg_stop(&e, SIGTERM, STOP_MS);
	err = bg_stderr(&e);
	ck_assert_msg(status == 0 && !strstr(err, "sockaudit: http:"), "status %d, stderr: %s",
		      status, err);
	free(err);
	for (int i = 0; i < N; i++) {
		if (!s[i].rc && s[i].status == 200)
			ok++;
		else if (!s[i].rc && s[i].status == 503 && strstr(s[i].body, "stopping"))
			stopping++;
		else
			/* Not yet accepted when it stopped: reset, or closed
			 * without an answer. */
			ck_assert_msg(s[i].rc != 0 || s[i].status == 0, "scrape %d: status %d: %s",
				      i, s[i].status, s[i].body);
	}
	/* The scrapes that came during the audit share its result (single
	 * flight); none waits for another audit. */
	ck_assert_msg(ok >= 1 && ok + stopping == N,
		      "%d scrapes answered 200 and %d 503 \"stopping\" (of %d)", ok, stopping, N);
	/* And only that one audit ran after the start-up one: one thread
	 * but the main one dumped. */
	ck_assert_int_eq(audit_threads(mark, main_tid), 1);
	unlink(mark);
	bg_free(&e);
}
END_TEST

/* An audit that fails (the --pid exited) answers 503 with one line on
 * stderr, and the exporter goes on. */
START_TEST(test_exporter_audit_fails)
{
	struct leak l;
	struct bg_proc e;
	struct http_resp r;
	char buf[128], spid[16], *err;
	int eport;

	leak_start(&l, (const char *const[]){ "-w", "1", NULL });
	snprintf(spid, sizeof(spid), "%d", (int)l.srv);
	exporter_start(&e, &eport, (const char *const[]){ "--pid", spid, NULL });
	expect_status(eport, "GET", "/metrics", 200, &r);
	http_free(&r);
	leak_stop(&l);

	expect_status(eport, "GET", "/metrics", 503, &r);
	ck_assert_uint_gt(r.body_len, 0);
	ck_assert_uint_lt(r.body_len, 200);
	ck_assert_str_eq(http_header(&r, "Content-Type", buf, sizeof(buf)),
			 "text/plain; charset=utf-8");
	http_free(&r);
	err = bg_stderr(&e);
	ck_assert_msg(count_lines(err) == 1 && all_lines_start_with(err, "sockaudit: ") &&
		      strstr(err, spid) && strstr(err, "no such process"), "stderr: %s", err);
	free(err);
	expect_status(eport, "GET", "/", 200, &r);
	http_free(&r);
	exporter_stop_ok(&e, SIGTERM);
	bg_free(&e);
}
END_TEST

/* The exporter labels series as --format prometheus does: with
 * --all-netns, our own namespace's groups carry netns too. */
START_TEST(test_exporter_netns_labels)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	char port[16], want[160], self[64] = "", ino[32];
	struct bg_proc e;
	struct http_resp r;
	struct run_result cli;
	int eport, lfd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
	snprintf(port, sizeof(port), "%d", ntohs(a.sin_port));
	ck_assert_int_gt(readlink("/proc/self/ns/net", self, sizeof(self) - 1), 0);
	ck_assert(sscanf(self, "net:[%31[0-9]]", ino) == 1);
	snprintf(want, sizeof(want),
		 "sockaudit_sockets{side=\"server\",port=\"%s\",netns=\"%s\",state=\"listen\"} 1\n",
		 port, ino);

	run_sockaudit(&cli, NULL, "--all-netns", "-P", port, "-f", "prometheus", NULL);
	ck_assert_msg(strstr(cli.out, want), "--format prometheus lacks %s:\n%s", want, cli.out);
	run_result_free(&cli);
	exporter_start(&e, &eport, (const char *const[]){ "--all-netns", "-P", port, NULL });
	expect_status(eport, "GET", "/metrics", 200, &r);
	ck_assert_msg(strstr(r.body, want), "/metrics lacks %s:\n%s", want, r.body);
	http_free(&r);
	exporter_stop_ok(&e, SIGTERM);
	bg_free(&e);
	close(lfd);
}
END_TEST

/*
 * A thread that cannot come back from another network namespace would
 * serve that namespace as ours from then on: the exporter stops with
 * status 3.  An LD_PRELOAD shim fails the 4th setns: the start-up
 * audit enters and returns (calls 1, 2), the first scrape enters (3)
 * and cannot return (4).
 */
START_TEST(test_exporter_netns_lost)
{
	const char *shims = test_env_dir("TEST_SHIMS", "build/tests/shim");
	const char *old = getenv("ASAN_OPTIONS");
	char preload[4200], asan[4200], addr[32], npid[16];
	struct bg_proc ns, e;
	struct http_resp r;
	long long deadline;
	int eport = free_port(), status;
	char *err;

	/* A process in a network namespace of its own. */
	ck_assert_int_eq(bg_start(&ns, (const char *const[]){ "unshare", "-n", "sleep",
							      "60", NULL }, false), 0);
	snprintf(npid, sizeof(npid), "%d", (int)ns.pid);
	deadline = test_now_ms() + START_MS;
	for (;;) {
		char a[64] = "", b[64] = "", p1[64], p2[64];

		snprintf(p1, sizeof(p1), "/proc/%d/ns/net", (int)ns.pid);
		snprintf(p2, sizeof(p2), "/proc/%d/ns/net", (int)getpid());
		if (readlink(p1, a, sizeof(a) - 1) > 0 && readlink(p2, b, sizeof(b) - 1) > 0 &&
		    strcmp(a, b) != 0)
			break; /* unshare has exec'd sleep in the new namespace */
		ck_assert_msg(test_now_ms() < deadline, "unshare -n did not start");
		sleep_ms(20);
	}
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s/fail_setns.so", shims);
	/* Under ASan its runtime must come first, which a preload breaks. */
	snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
		 old ? old : "", old && *old ? ":" : "");
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", eport);
	ck_assert_int_eq(bg_start(&e, (const char *const[]){ "env", preload, asan,
			 "SHIM_SETNS_FAIL_CALL=4", sockaudit_path(), "--pid", npid,
			 "--listen", addr, NULL }, false), 0);
	deadline = test_now_ms() + START_MS;
	while (!port_open("127.0.0.1", eport)) {
		if (bg_exited(&e) || test_now_ms() >= deadline) {
			char *why = bg_stderr(&e);

			ck_abort_msg("exporter did not start (status %d): %s", e.status, why);
		}
		sleep_ms(20);
	}
	/* The scrape fails (a 503, or the connection closes as it stops). */
	if (http_request("127.0.0.1", eport, "GET", "/metrics", HTTP_MS, &r) == 0) {
		ck_assert_int_ne(r.status, 200);
		http_free(&r);
	}
	deadline = test_now_ms() + STOP_MS;
	while (!bg_exited(&e) && test_now_ms() < deadline)
		sleep_ms(20);
	ck_assert_msg(bg_exited(&e), "the exporter went on after losing its namespace");
	status = e.status;
	err = bg_stderr(&e);
	ck_assert_msg(status == 3, "status %d, stderr: %s", status, err);
	ck_assert_msg(strstr(err, "could not be left") != NULL, "stderr: %s", err);
	free(err);
	bg_free(&e);
	bg_stop(&ns, SIGKILL, STOP_MS);
	bg_free(&ns);
}
END_TEST

/* What cannot be served is status 3 at once, one line; wrong
 * combinations are usage errors. */
START_TEST(test_exporter_startup_errors)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	struct run_result r;
	char addr[32];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(a.sin_port));

	run_sockaudit(&r, NULL, "--listen", addr, NULL);
	ck_assert_msg(r.status == 3 && r.out_len == 0 && count_lines(r.err) == 1 &&
		      strstr(r.err, addr) && strstr(r.err, "Address already in use"),
		      "%s", run_describe(&r));
	run_result_free(&r);
	close(fd);

	/* A --pid that does not exist fails before serving. */
	run_sockaudit(&r, NULL, "--listen", addr, "--pid", "4194304", NULL);
	ck_assert_msg(r.status == 3 && r.out_len == 0 && strstr(r.err, "4194304"), "%s",
		      run_describe(&r));
	run_result_free(&r);

	run_sockaudit(&r, NULL, "--listen", addr, "-j", NULL);
	ck_assert_msg(r.status == 2 && strstr(r.err, "--listen"), "%s", run_describe(&r));
	run_result_free(&r);
	run_sockaudit(&r, NULL, "--listen", addr, "--max", "0", NULL);
	ck_assert_msg(r.status == 2 && strstr(r.err, "--max"), "%s", run_describe(&r));
	run_result_free(&r);
}
END_TEST

/* A bare port binds loopback only; [::1] works too. */
START_TEST(test_exporter_addresses)
{
	struct bg_proc e;
	struct http_resp r;
	struct run_result jr;
	char port[16], addr[32];
	cJSON *doc, *s;
	int p = free_port();

	snprintf(port, sizeof(port), "%d", p);
	{
		const char *argv[] = { sockaudit_path(), "--listen", port, "-P", "1", NULL };

		ck_assert_int_eq(bg_start(&e, argv, false), 0);
	}
	for (long long dl = test_now_ms() + START_MS;
	     !port_open("127.0.0.1", p) && test_now_ms() < dl;)
		sleep_ms(20);
	run_sockaudit(&jr, NULL, "-j", "-P", port, "-s", "listen", NULL);
	doc = json_report(&jr);
	ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 1);
	s = cJSON_GetArrayItem(json_array(doc, "sockets"), 0);
	ck_assert_str_eq(json_str(s, "local_address"), "127.0.0.1");
	cJSON_Delete(doc);
	run_result_free(&jr);
	exporter_stop_ok(&e, SIGTERM);
	bg_free(&e);

	p = free_port();
	snprintf(addr, sizeof(addr), "[::1]:%d", p);
	{
		const char *argv[] = { sockaudit_path(), "--listen", addr, "-P", "1", NULL };

		ck_assert_int_eq(bg_start(&e, argv, false), 0);
	}
	for (long long dl = test_now_ms() + START_MS;
	     !port_open("::1", p) && test_now_ms() < dl;)
		sleep_ms(20);
	ck_assert_int_eq(http_request("::1", p, "GET", "/metrics", HTTP_MS, &r), 0);
	ck_assert_int_eq(r.status, 200);
	http_free(&r);
	exporter_stop_ok(&e, SIGTERM);
	bg_free(&e);
}
END_TEST

/* ---- scripts/ ---- */

/* The alerting rules load, and their unit tests (promtool test rules,
 * tests/data/prometheus/alerts_test.yml) pass: each alert fires when it
 * should and only then. */
START_TEST(test_alert_rules)
{
	char rules[PATH_MAX + 64], tests[PATH_MAX + 64];
	struct run_result r;

	if (!have_tool("promtool", "test_alert_rules"))
		return;
	snprintf(rules, sizeof(rules), "%s/sockaudit-alerts.yml", scripts_dir());
	snprintf(tests, sizeof(tests), "%s/prometheus/alerts_test.yml",
		 test_env_dir("TEST_DATA", "tests/data"));
	{
		const char *argv[] = { "promtool", "check", "rules", rules, NULL };

		ck_assert_int_eq(run_cmd(argv, NULL, RUN_TIMEOUT_MS, &r), 0);
		ck_assert_msg(r.status == 0 && strstr(r.out, "SUCCESS: 3 rules found"),
			      "%s", run_describe(&r));
		run_result_free(&r);
	}
	{
		const char *argv[] = { "promtool", "test", "rules", tests, NULL };

		ck_assert_int_eq(run_cmd(argv, NULL, 60000, &r), 0);
		ck_assert_msg(r.status == 0 && strstr(r.out, "SUCCESS"), "%s",
			      run_describe(&r));
		run_result_free(&r);
	}
}
END_TEST

/* The textfile recipe writes DIR/sockaudit.prom atomically and keeps the
 * last good file when sockaudit fails. */
START_TEST(test_textfile_script)
{
	char dir[] = "/tmp/sockaudit-textfile-XXXXXX", script[PATH_MAX + 64], file[PATH_MAX];
	char env[PATH_MAX + 16], *text;
	const char *envv[] = { env, NULL };
	struct run_result r;
	struct prom_doc d;
	struct stat st;
	struct dirent *de;
	DIR *dd;
	FILE *f;
	long n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(script, sizeof(script), "%s/sockaudit-textfile", scripts_dir());
	snprintf(file, sizeof(file), "%s/sockaudit.prom", dir);
	snprintf(env, sizeof(env), "SOCKAUDIT=%s", sockaudit_path());
	{
		const char *argv[] = { "sh", script, dir, "--idle", "5s", "-P", "1", NULL };

		ck_assert_int_eq(run_cmd(argv, envv, RUN_TIMEOUT_MS, &r), 0);
		ck_assert_msg(r.status == 0 && r.err_len == 0, "%s", run_describe(&r));
		run_result_free(&r);
	}
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);
	f = fopen(file, "r");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	ck_assert_int_eq(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	prom_parse_or_fail(text, &d);
	ck_assert(prom_value(&d, "sockaudit_idle_threshold_seconds", NULL, -1) == 5);
	prom_free(&d);
	promtool_check(text, "test_textfile_script");

	/* A failing run: status passed on, the last file kept, no temp left. */
	{
		const char *argv[] = { "sh", script, dir, "--port", "0", NULL };

		ck_assert_int_eq(run_cmd(argv, envv, RUN_TIMEOUT_MS, &r), 0);
		ck_assert_msg(r.status == 2, "%s", run_describe(&r));
		run_result_free(&r);
	}
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_eq(st.st_size, n);
	dd = opendir(dir);
	while ((de = readdir(dd)))
		ck_assert_msg(de->d_name[0] == '.' ? !strcmp(de->d_name, ".") ||
			      !strcmp(de->d_name, "..") : !strcmp(de->d_name, "sockaudit.prom"),
			      "left in the directory: %s", de->d_name);
	closedir(dd);
	free(text);
	unlink(file);
	rmdir(dir);
}
END_TEST

/* ---- a real Prometheus ---- */

/*
 * Debian's prometheus on a free loopback port scrapes `sockaudit
 * --listen` every second; the leaker's client hangs up 3 connections
 * its server never closes; the query API must show
 * sockaudit_flagged_sockets{flag="close_wait"} = 3 for the server's
 * port within 60 s (it showed 0 before).
 */
START_TEST(test_real_prometheus)
{
	char dir[] = "/tmp/sockaudit-prometheus-XXXXXX", cfg[PATH_MAX], data[PATH_MAX];
	char port[16];
	char line[64], *raw = NULL;
	struct bg_proc prom, e;
	struct leak l;
	long long deadline;
	cJSON *doc = NULL, *res;
	double v = -1;
	int eport, pport = 0;
	FILE *f;

	if (!have_tool("prometheus", "test_real_prometheus"))
		return;
	leak_start(&l, (const char *const[]){ "-i", "2", "-w", "3", "-W", "-c", "prom-leak",
					      NULL });
	snprintf(port, sizeof(port), "%d", l.port);
	exporter_start(&e, &eport, (const char *const[]){ "--pid", l.pids, NULL });

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cfg, sizeof(cfg), "%s/prometheus.yml", dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	f = fopen(cfg, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
		"  evaluation_interval: 1s\n"
		"scrape_configs:\n  - job_name: sockaudit\n    static_configs:\n"
		"      - targets: ['127.0.0.1:%d']\n", eport);
	fclose(f);
	promserver_start(&prom, &pport, cfg, data);

	/* The target is up and the leak's connections are there, not yet
	 * in CLOSE-WAIT. */
	deadline = test_now_ms() + 60000;
	do {
		sleep_ms(500);
		cJSON_Delete(doc);
		res = promserver_query(pport, "sockaudit_flagged_sockets{flag=\"close_wait\"}", &doc,
				 NULL);
		v = res ? promserver_result_value(res, "port", port) : -1;
	} while (v != 0 && test_now_ms() < deadline);
	ck_assert_msg(v == 0, "before the leak: close_wait for port %s is %g", port, v);
	cJSON_Delete(doc);
	doc = NULL;

	ck_assert_int_eq(kill(l.cli, SIGUSR1), 0);
	ck_assert_int_eq(bg_read_line(&l.p, line, sizeof(line), 60000), 0);
	ck_assert_str_eq(line, "leaked");
	deadline = test_now_ms() + 60000;
	do {
		sleep_ms(500);
		cJSON_Delete(doc);
		free(raw);
		raw = NULL;
		res = promserver_query(pport, "sockaudit_flagged_sockets{flag=\"close_wait\"}", &doc,
				 &raw);
		v = res ? promserver_result_value(res, "port", port) : -1;
	} while (v != 3 && test_now_ms() < deadline);
	ck_assert_msg(v == 3, "Prometheus never showed the 3 CLOSE-WAIT sockets: %s",
		      raw ? raw : "(no answer)");
	fprintf(stderr, "--- Prometheus /api/v1/query?query=sockaudit_flagged_sockets"
		"{flag=\"close_wait\"} (test_real_prometheus):\n%s\n", raw);
	cJSON_Delete(doc);
	free(raw);

	ck_assert_int_ge(bg_stop(&prom, SIGTERM, 30000), 0);
	bg_free(&prom);
	exporter_stop_ok(&e, SIGTERM);
	bg_free(&e);
	leak_stop(&l);
	{
		const char *argv[] = { "rm", "-rf", "--", dir, NULL };
		struct run_result r;

		ck_assert_int_eq(run_cmd(argv, NULL, RUN_TIMEOUT_MS, &r), 0);
		run_result_free(&r);
	}
}
END_TEST

static void teardown(void)
{
	bg_cleanup_all();
	scenario_cleanup_all();
}

static Suite *prom_suite(void)
{
	Suite *s = suite_create("prometheus");
	TCase *tc = tcase_create("exposition");

	/* Hang bounds: a leaker with 60 listeners reads /proc/net/tcp once
	 * per listener (portcheck.h), slow on a host with many sockets. */
	tcase_set_timeout(tc, 180);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_exposition_matches_json);
	tcase_add_test(tc, test_fd_limit_is_the_soft_limit);
	tcase_add_test(tc, test_hostile_names);
	tcase_add_test(tc, test_peer_folding);
	suite_add_tcase(s, tc);

	tc = tcase_create("exporter");
	tcase_set_timeout(tc, 180);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_exporter_routes);
	tcase_add_test(tc, test_exporter_concurrent);
	tcase_add_test(tc, test_exporter_oversized);
	tcase_add_test(tc, test_exporter_timeout);
	tcase_add_test(tc, test_exporter_signals);
	tcase_add_test(tc, test_exporter_audit_fails);
	tcase_add_test(tc, test_exporter_startup_errors);
	tcase_add_test(tc, test_exporter_netns_lost);
	tcase_add_test(tc, test_exporter_stop_drains);
	tcase_add_test(tc, test_exporter_netns_labels);
	tcase_add_test(tc, test_exporter_addresses);
	suite_add_tcase(s, tc);

	tc = tcase_create("scripts");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_alert_rules);
	tcase_add_test(tc, test_textfile_script);
	suite_add_tcase(s, tc);

	tc = tcase_create("prometheus_server");
	tcase_set_timeout(tc, 240);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_real_prometheus);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(prom_suite());
}
