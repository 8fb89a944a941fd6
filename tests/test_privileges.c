/*
 * Unprivileged runs: sockaudit started as nobody (setpriv) while root's
 * processes hold sockets.  Every socket is still listed (the same as
 * `ss -tan` on the test's ports), the sockets of root's processes have
 * no owner ("processes": [], "-" in tables), the socket of nobody's own
 * process keeps its owner, stderr has exactly one line that says how
 * many sockets have no visible owner and why, and the exit status is 0.
 * With both sources.  (--pid of a root process as nobody, status 3, is
 * in test_cli.)  Needs root; skipped with a message otherwise.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/scenario.h"
#include "lib/testlib.h"
#include "lib/runsuite.h"

#define NOBODY 65534
#define NOBODY_COMM "priv-nobody"
#define EXTRA_CONNS 6
#define KEY_LEN 160
#define MAX_KEYS 256

/* What the test sets up: root's sockets in two scenarios and in this
 * process, and one socket of a process that runs as nobody. */
struct setup {
	struct scenario v4, v6;
	int lfd, afd;	  /* our listener and the connection it accepted */
	int port;	  /* its port */
	pid_t nobody;	  /* the process that runs as nobody */
	int nobody_fd;	  /* its socket's descriptor */
	unsigned long nobody_inode;
};

static struct setup g;

/* The reply of the nobody process: its socket's fd and inode. */
struct nobody_msg {
	int fd;
	unsigned long inode;
	char err[96];
};

/* In the child: become nobody, stay readable by nobody (a change of
 * credentials clears the dumpable flag), connect, report, wait. */
static void __attribute__((noreturn)) nobody_main(int port, int wfd, pid_t parent)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct nobody_msg m;
	struct stat st;
	int fd;

	memset(&m, 0, sizeof(m));
	m.fd = -1;
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY)) {
		snprintf(m.err, sizeof(m.err), "becoming nobody: %s", strerror(errno));
		goto out;
	}
	prctl(PR_SET_DUMPABLE, 1);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, NOBODY_COMM);
	if (getppid() != parent)
		_exit(1);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) || fstat(fd, &st)) {
		snprintf(m.err, sizeof(m.err), "connect: %s", strerror(errno));
		goto out;
	}
	m.fd = fd;
	m.inode = (unsigned long)st.st_ino;
out:
	if (write(wfd, &m, sizeof(m)) != (ssize_t)sizeof(m))
		_exit(1);
	close(wfd);
	for (;;)
		pause();
}

static void setup_start(void)
{
	struct scen_opts o = { .client_uid = -1, .extra_conns = EXTRA_CONNS };
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	struct nobody_msg m;
	pid_t self = getpid();
	int p[2];

	memset(&g, 0, sizeof(g));
	g.lfd = g.afd = -1;
	scenario_start_opts(&g.v4, SCEN_IDLE, AF_INET, "priv4", &o);
	scenario_start_opts(&g.v6, SCEN_IDLE, AF_INET6, "priv6", &o);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(g.lfd, 0);
	ck_assert_int_eq(bind(g.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(g.lfd, 8), 0);
	ck_assert_int_eq(getsockname(g.lfd, (struct sockaddr *)&a, &len), 0);
	g.port = ntohs(a.sin_port);

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	g.nobody = fork();
	ck_assert_int_ge(g.nobody, 0);
	if (g.nobody == 0) {
		close(p[0]);
		close(g.lfd);
		nobody_main(g.port, p[1], self);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &m, sizeof(m)), (ssize_t)sizeof(m));
	close(p[0]);
	ck_assert_msg(m.fd >= 0, "the nobody process: %s", m.err);
	g.nobody_fd = m.fd;
	g.nobody_inode = m.inode;
	g.afd = accept4(g.lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(g.afd, 0);
}

/* Kill by PID and reap; close our sockets.  A checked teardown, and
 * PR_SET_PDEATHSIG when the test process dies first. */
static void setup_stop(void)
{
	if (g.nobody > 0) {
		kill(g.nobody, SIGKILL);
		waitpid(g.nobody, NULL, 0);
		g.nobody = 0;
	}
	if (g.afd >= 0)
		close(g.afd);
	if (g.lfd >= 0)
		close(g.lfd);
	g.afd = g.lfd = -1;
	scenario_cleanup_all();
}

/* Whether a socket is one of the test's: a listener port on loopback at
 * either end, and not TIME-WAIT (one left by an earlier test may name a
 * port reused since). */
static bool ours(const char *state, const char *laddr, int lport, const char *raddr,
		 int rport)
{
	const int ports[] = { g.v4.port, g.v6.port, g.port };

	if (!strcmp(state, "time_wait"))
		return false;
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		if ((lport == ports[i] && (!strcmp(laddr, "127.0.0.1") || !strcmp(laddr, "::1"))) ||
		    (rport == ports[i] && (!strcmp(raddr, "127.0.0.1") || !strcmp(raddr, "::1"))))
			return true;
	}
	return false;
}

struct keys {
	char k[MAX_KEYS][KEY_LEN];
	int n;
};

static void keys_add(struct keys *ks, const char *state, const char *laddr, int lport,
		     const char *raddr, int rport)
{
	ck_assert_int_lt(ks->n, MAX_KEYS);
	snprintf(ks->k[ks->n++], KEY_LEN, "%s %s:%d %s:%d", state, laddr, lport, raddr, rport);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* What only one of two sorted key sets holds, as text ("" when equal). */
static void keys_diff(const struct keys *a, const struct keys *b, char *buf, size_t len)
{
	size_t n = 0;
	int i = 0, j = 0;

	buf[0] = '\0';
	while ((i < a->n || j < b->n) && n < len) {
		int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->k[i], b->k[j]);

		if (c < 0)
			n += (size_t)snprintf(buf + n, len - n, "[only sockaudit: %s] ", a->k[i++]);
		else if (c > 0)
			n += (size_t)snprintf(buf + n, len - n, "[only ss: %s] ", b->k[j++]);
		else
			i++, j++;
	}
}

/* The test's sockets as `ss -tan` lists them. */
static void ss_ours(struct keys *ks)
{
	const char *argv[] = { "ss", "-tanH", NULL };
	char *line, *save = NULL;
	struct run_result r;

	ck_assert_int_eq(run_cmd(argv, NULL, RUN_TIMEOUT_MS, &r), 0);
	ck_assert_msg(r.status == 0, "ss -tanH: %s", run_describe(&r));
	ks->n = 0;
	for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct ss_entry e;

		if (!ss_parse_line(line, &e) && ours(e.state, e.laddr, e.lport, e.raddr, e.rport))
			keys_add(ks, e.state, e.laddr, e.lport, e.raddr, e.rport);
	}
	run_result_free(&r);
	qsort(ks->k, (size_t)ks->n, KEY_LEN, cmp_key);
}


/*
 * The one warning about owners: "sockaudit: descriptors of N processes
 * not readable (REASON): owners of M sockets not visible; run as root".
 * Fills N and M; fails the test unless stderr holds it exactly once, and
 * nothing else but, with the proc source, its note on tcp_info.
 */
static void owner_warning(const struct run_result *r, bool proc, unsigned *nproc,
			  unsigned *nsock)
{
	const char *line = strstr(r->err, "sockaudit: descriptors of ");
	char reason[64];

	ck_assert_msg(count_lines(r->err) == 1 + proc, "stderr is not %d line%s: %s",
		      1 + proc, proc ? "s" : "", run_describe(r));
	ck_assert_msg(all_lines_start_with(r->err, "sockaudit: "), "%s", run_describe(r));
	if (proc)
		ck_assert_msg(count_lines_containing(r->err, "tcp_info") == 1, "%s",
			      run_describe(r));
	ck_assert_msg(line && count_lines_containing(r->err, "not visible") == 1,
		      "no warning about owners: %s", run_describe(r));
	ck_assert_msg(sscanf(line, "sockaudit: descriptors of %u process%*[es] not readable "
				   "(%63[^)]): owners of %u socket", nproc, reason, nsock) == 3,
		      "unexpected warning: %s", run_describe(r));
	ck_assert_msg(!strcmp(reason, "Permission denied") && strstr(line, "; run as root"),
		      "the warning does not say why: %s", run_describe(r));
}

/* Sockets with an inode and no owner: what the warning counts. */
static unsigned count_ownerless(const cJSON *doc)
{
	const cJSON *s;
	unsigned n = 0;

	cJSON_ArrayForEach(s, json_array(doc, "sockets"))
		if (cJSON_GetArraySize(json_array(s, "processes")) == 0 && json_int(s, "inode"))
			n++;
	return n;
}

static const char *const sources[] = { "netlink", "proc" };

START_TEST(test_unprivileged_whole_host)
{
	const char *source = sources[_i];
	bool proc = !strcmp(source, "proc");
	const char *args[] = { "-j", "--source", source, NULL };
	struct keys *got = calloc(1, sizeof(*got)), *want = calloc(1, sizeof(*want));
	char diff[2048];
	unsigned nproc, nsock, root_socks = 0;
	struct run_result r;
	const cJSON *s;
	bool seen_nobody = false;
	cJSON *doc;

	if (geteuid() != 0) {
		fprintf(stderr, "test_unprivileged_whole_host: skipped, needs root\n");
		free(got);
		free(want);
		return;
	}
	ck_assert_ptr_nonnull(got);
	ck_assert_ptr_nonnull(want);
	setup_start();
	run_sockaudit_as_nobody(&r, args);
	ss_ours(want);

	ck_assert_msg(r.status == 0, "--source %s as nobody: %s", source, run_describe(&r));
	doc = json_report(&r);
	json_check_report_shape(doc);
	owner_warning(&r, proc, &nproc, &nsock);
	cJSON_ArrayForEach(s, json_array(doc, "sockets")) {
		const cJSON *procs;
		const char *laddr, *raddr;
		int lport, rport;

		if (json_has_flag(s, "dead"))
			continue;
		laddr = json_str(s, "local_address");
		raddr = json_str(s, "remote_address");
		lport = (int)json_int(s, "local_port");
		rport = (int)json_int(s, "remote_port");
		if (!ours(json_str(s, "state"), laddr, lport, raddr, rport))
			continue;
		keys_add(got, json_str(s, "state"), laddr, lport, raddr, rport);
		procs = json_array(s, "processes");
		if ((unsigned long)json_int(s, "inode") == g.nobody_inode) {
			const cJSON *p = cJSON_GetArrayItem(procs, 0);

			/* nobody's own process: its owner is visible. */
			ck_assert_msg(cJSON_GetArraySize(procs) == 1 &&
				      json_int(p, "pid") == g.nobody &&
				      json_int(p, "fd") == g.nobody_fd &&
				      !strcmp(json_str(p, "comm"), NOBODY_COMM),
				      "--source %s: nobody's socket %s:%d does not show its "
				      "owner %d/%d", source, laddr, lport, (int)g.nobody,
				      g.nobody_fd);
			seen_nobody = true;
		} else {
			ck_assert_msg(cJSON_GetArraySize(procs) == 0,
				      "--source %s: a socket of root's (%s:%d -> %s:%d) shows an "
				      "owner to nobody", source, laddr, lport, raddr, rport);
			root_socks++;
		}
	}
	qsort(got->k, (size_t)got->n, KEY_LEN, cmp_key);
	keys_diff(got, want, diff, sizeof(diff));
	ck_assert_msg(!diff[0], "--source %s as nobody: %d sockets on the test's ports, ss: "
		      "%d: %s", source, got->n, want->n, diff);
	/* Two scenarios (listener, 1 + EXTRA_CONNS connections, both ends)
	 * and our listener and accepted end; the check above is not
	 * vacuous. */
	ck_assert_int_eq(root_socks, 2 * (1 + 2 * (1 + EXTRA_CONNS)) + 2);
	ck_assert_msg(seen_nobody, "--source %s: nobody's socket is not listed", source);
	/* The count in the warning is the report's: the sockets that have
	 * an inode (TIME-WAIT and request sockets have none) and no owner.
	 * At least this process and the scenarios' are unreadable. */
	ck_assert_uint_eq(nsock, count_ownerless(doc));
	ck_assert_uint_ge(nsock, root_socks);
	ck_assert_uint_ge(nproc, 5);
	fprintf(stderr, "privileges: --source %s as nobody: exit %d, %d sockets on the test's "
		"ports as in ss, stderr: %s", source, r.status, got->n, r.err);
	cJSON_Delete(doc);
	run_result_free(&r);
	free(got);
	free(want);
	setup_stop();
}
END_TEST

/* A selection: the count in the warning is exactly the sockets of
 * root's selected (our listener and the connection it accepted), and the
 * table shows them without an owner. */
START_TEST(test_unprivileged_selection)
{
	const char *jargs[] = { "-j", "-P", NULL, NULL };
	const char *largs[] = { "--list", "-P", NULL, NULL };
	unsigned nproc, nsock;
	struct run_result r;
	const cJSON *s;
	cJSON *doc;
	int n = 0;

	if (geteuid() != 0) {
		fprintf(stderr, "test_unprivileged_selection: skipped, needs root\n");
		return;
	}
	setup_start();
	jargs[2] = largs[2] = itoa_tmp(g.port);
	run_sockaudit_as_nobody(&r, jargs);
	ck_assert_msg(r.status == 0, "-P %d as nobody: %s", g.port, run_describe(&r));
	owner_warning(&r, false, &nproc, &nsock);
	ck_assert_msg(nsock == 2, "-P %d: the warning counts %u sockets, not 2: %s", g.port,
		      nsock, run_describe(&r));
	doc = json_report(&r);
	cJSON_ArrayForEach(s, json_array(doc, "sockets")) {
		ck_assert_int_eq(json_int(s, "local_port"), g.port);
		ck_assert_int_eq(cJSON_GetArraySize(json_array(s, "processes")), 0);
		n++;
	}
	ck_assert_int_eq(n, 2);
	cJSON_Delete(doc);
	run_result_free(&r);

	/* The same as a table: a header, two sockets whose PROCESS is "-",
	 * the totals line. */
	run_sockaudit_as_nobody(&r, largs);
	ck_assert_msg(r.status == 0, "--list -P %d as nobody: %s", g.port, run_describe(&r));
	owner_warning(&r, false, &nproc, &nsock);
	ck_assert_msg(count_lines(r.out) == 4, "%s", run_describe(&r));
	{
		char *save = NULL, *out = strdup(r.out), *line;
		int i = 0;

		ck_assert_ptr_nonnull(out);
		for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
			size_t len = strlen(line);

			if (i == 1 || i == 2)
				ck_assert_msg(len > 2 && !strcmp(line + len - 2, " -"),
					      "PROCESS is not '-': %s", line);
		}
		free(out);
	}
	run_result_free(&r);

	/* nobody's own process, named with --pid: readable, no warning. */
	jargs[1] = "-p";
	jargs[2] = itoa_tmp(g.nobody);
	run_sockaudit_as_nobody(&r, jargs);
	ck_assert_msg(r.status == 0 && r.err_len == 0, "-p %d (nobody's) as nobody: %s",
		      (int)g.nobody, run_describe(&r));
	doc = json_report(&r);
	ck_assert_ptr_nonnull(json_socket_by_inode(doc, g.nobody_inode));
	ck_assert_ptr_nonnull(json_socket_process(json_socket_by_inode(doc, g.nobody_inode),
						  g.nobody));
	cJSON_Delete(doc);
	run_result_free(&r);
	setup_stop();
}
END_TEST

int main(void)
{
	Suite *su = suite_create("privileges");
	TCase *tc = tcase_create("nobody");
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, NULL, setup_stop);
	tcase_add_loop_test(tc, test_unprivileged_whole_host, 0, 2);
	tcase_add_test(tc, test_unprivileged_selection);
	suite_add_tcase(su, tc);
	failed = run_suite(su);
	return failed != 0;
}
